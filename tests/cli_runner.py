"""Run ``python -m bingx_closeall_plugin.cli`` as a real child process, without paying for its imports each time.

Importing ccxt costs about a second of CPU, and the suite runs the CLI (the guard's commands that end by
themselves among them) some hundred times. A "zygote" process (one per test worker, started on first use)
imports the CLI once, then forks one child per run. The child
is what ``python -m`` would be: a process of its own with the given environment, working directory, stdin,
argv and fresh stdout/stderr, running the module as ``__main__``; its exit code, stdout and stderr are what
a user sees. The zygote has no threads, so forking it is safe (the test worker, with its simulator thread,
never forks). Where ``fork`` is missing, or ``BINGX_TEST_CLI_FORK=0``, every run is a plain subprocess.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

MODULE = "bingx_closeall_plugin.cli"

# The zygote's own code: read one JSON request per line on stdin, answer one JSON line on stdout.
_ZYGOTE = r'''
import atexit, importlib.util, json, os, runpy, signal, sys
# The expensive imports (ccxt, the package), once; not the CLI module itself, which runpy runs as __main__
# in each child exactly as ``python -m`` does.
import bingx_closeall_plugin, bingx_closeall_plugin.core.redaction, bingx_closeall_plugin.core.urls

MODULE = sys.argv[1]
ORIGIN = importlib.util.find_spec(MODULE).origin
protocol_out = os.fdopen(os.dup(1), "w", buffering=1)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(protocol_out.fileno())
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            for fd, path, mode in ((0, request["stdin"], os.O_RDONLY), (1, request["stdout"], os.O_WRONLY),
                                   (2, request["stderr"], os.O_WRONLY)):
                opened = os.open(path, mode)
                os.dup2(opened, fd)
                os.close(opened)
            sys.stdin = open(0, encoding="utf-8", closefd=False)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            sys.argv = [ORIGIN, *request["args"]]
            runpy.run_module(MODULE, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            try:
                atexit._run_exitfuncs()  # what an interpreter's exit runs (logging's flush among them)
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    protocol_out.write(json.dumps({"pid": pid}) + "\n")
    _, status = os.waitpid(pid, 0)
    protocol_out.write(json.dumps({"status": os.waitstatus_to_exitcode(status)}) + "\n")
'''


class _Zygote:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _ZYGOTE, MODULE], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests, self.answers = self.process.stdin, self.process.stdout.fileno()
        self.buffer = b""
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def _read(self, timeout: float) -> dict[str, Any]:
        """The zygote's next answer line, waiting at most ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.answers], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(self.answers, 4096)
            if not chunk:
                raise RuntimeError("the CLI zygote exited")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def run(self, args: list[str], env: dict[str, str], stdin: str, timeout: float,
            cwd: Path) -> subprocess.CompletedProcess[str]:
        with self.lock, tempfile.TemporaryDirectory(prefix="bingx-cli-") as tmp:
            paths = {name: Path(tmp) / name for name in ("stdin", "stdout", "stderr")}
            paths["stdin"].write_text(stdin, encoding="utf-8")
            paths["stdout"].touch()
            paths["stderr"].touch()
            request = {"args": args, "env": env, "cwd": str(cwd), **{k: str(v) for k, v in paths.items()}}
            self.requests.write(json.dumps(request).encode() + b"\n")
            self.requests.flush()
            pid = self._read(10)["pid"]
            try:
                status = self._read(timeout)["status"]
            except TimeoutError:
                os.kill(pid, 9)
                self._read(10)
                raise subprocess.TimeoutExpired([MODULE, *args], timeout) from None
            return subprocess.CompletedProcess([sys.executable, "-m", MODULE, *args], status,
                                               paths["stdout"].read_text(encoding="utf-8"),
                                               paths["stderr"].read_text(encoding="utf-8"))

    def stop(self) -> None:
        if self.alive():
            self.requests.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


_zygote: _Zygote | None = None


def _forking() -> bool:
    return hasattr(os, "fork") and os.environ.get("BINGX_TEST_CLI_FORK", "1") != "0"


def run_cli(args: list[str], env: dict[str, str], stdin: str | None = None,
            timeout: float = 60, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI's exit code, stdout and stderr, run as a child process in ``cwd`` (default: tests/); see the
    module docstring."""
    global _zygote
    cwd = cwd or Path(__file__).parent
    if not _forking():
        return subprocess.run([sys.executable, "-m", MODULE, *args], env=env, input=stdin or "",
                              capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False)
    if _zygote is None or not _zygote.alive():
        _zygote = _Zygote()
    return _zygote.run(args, env, stdin or "", timeout, cwd)


@atexit.register
def stop() -> None:
    """End this worker's zygote (at the worker's exit; it also ends when its stdin closes)."""
    global _zygote
    if _zygote is not None:
        _zygote.stop()
        _zygote = None
