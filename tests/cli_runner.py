"""Run ``python -m bingx_closeall_plugin.cli`` as a real child process, without paying for its imports each time.

Importing ccxt costs about a second of CPU, and the suite runs the CLI (the guard's commands that end by
themselves among them) some hundred times. The CLI's zygote (tests/zygote.py; one per test worker, started on
first use) imports ccxt and the package (the CLI's and the guard's modules too) once; each child runs the
CLI's ``__main__`` exactly as ``python -m`` does: a process of its own with the given environment, working
directory, stdin and fresh stdout/stderr; its exit code, stdout and stderr are what a user sees. Where forking
is not available, or ``BINGX_TEST_FORK=0``, every run is a plain subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import zygote

MODULE = "bingx_closeall_plugin.cli"
# The expensive imports (ccxt, the package, the CLI's and the guard's modules, which a fresh clone has no
# bytecode for), once; not the CLI's __main__, which each child runs as ``python -m`` does.
PRELOAD = ["bingx_closeall_plugin", "bingx_closeall_plugin.core.redaction", "bingx_closeall_plugin.core.urls",
           "bingx_closeall_plugin.cli.command", "bingx_closeall_plugin.guard.command"]

CLI = zygote.Kind(("module", MODULE), lambda: [sys.executable, "-m", MODULE], PRELOAD)


def start_cli(args: list[str], env: dict[str, str], cwd: Path, output: Path,
              new_session: bool = False) -> zygote.Child | subprocess.Popen[bytes]:
    """The CLI started in the background, stdout and stderr in ``output``."""
    return CLI.start(args, env=env, cwd=cwd, log=output, new_session=new_session)


def run_cli(args: list[str], env: dict[str, str], stdin: str | None = None,
            timeout: float = 60, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI's exit code, stdout and stderr, run as a child process in ``cwd`` (default: tests/); see the
    module docstring."""
    return CLI.run(args, env=env, cwd=cwd or Path(__file__).parent, stdin=stdin or "", timeout=timeout)
