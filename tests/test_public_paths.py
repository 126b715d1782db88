"""Every import path the docs give, and every console script, still work: the tree may move, these may not.

Each runs in a fresh interpreter, so one import cannot hide another's failure (a module imported by an
earlier test would be found in ``sys.modules`` whatever its path now is).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BOUND_S = 120.0  # every child is bounded; none is an assertion on speed

# What README.md and docs/*.md import, as they write it.
DOCUMENTED = {
    "README.md": "from bingx_closeall_plugin import close_all_positions",
    "docs/ccxt.md": "from bingx_closeall_plugin import close_all_positions, RateLimited, BingX",
    "the package's whole API": "import bingx_closeall_plugin as p; [getattr(p, n) for n in p.__all__]",
    "docs/ccxt.md, async": "from bingx_closeall_plugin import AsyncBingX; AsyncBingX.close_all_positions",
    "docs/cli.md, the simulator": "from bingx_closeall_plugin.simulator import BingXSimulator, Fault",
    "bingx-closeall": "from bingx_closeall_plugin.cli import main, entry",
    "bingx-closeall guard": "from bingx_closeall_plugin.guard import main",
}


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args, "-c", code] if not args else [sys.executable, *args],
                          capture_output=True, text=True, timeout=BOUND_S, cwd=ROOT, check=False)


@pytest.mark.parametrize("where", sorted(DOCUMENTED))
def test_a_documented_import_works(where):
    result = run_python(DOCUMENTED[where])
    assert result.returncode == 0, result.stderr


def test_freqtrade_bingx_imports_without_freqtrade():
    # The entry point says what is missing when freqtrade is not installed: it must import without it.
    code = ("import sys; sys.modules['freqtrade'] = None; import bingx_closeall_plugin.freqtrade_bingx as m; "
            "assert callable(m.main)")
    result = run_python(code)
    assert result.returncode == 0, result.stderr


@pytest.mark.freqtrade
def test_the_documented_freqtrade_paths_import():
    pytest.importorskip("freqtrade")
    code = "from bingx_closeall_plugin.freqtrade import request_flatten; import bingx_closeall_plugin.freqtrade.install"
    result = run_python(code)
    assert result.returncode == 0, result.stderr


SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


@pytest.mark.parametrize("name", [pytest.param(name, marks=[pytest.mark.freqtrade] if "freqtrade" in name else [])
                                  for name in sorted(SCRIPTS)])
def test_each_console_script_answers_help(name):
    """The entry point as pyproject.toml names it (module:function), called as the script would call it."""
    if "freqtrade" in name:
        pytest.importorskip("freqtrade")
    module, function = SCRIPTS[name].split(":")
    code = f"import sys; sys.argv = [{name!r}, '--help']; from {module} import {function}; sys.exit({function}())"
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout.lower(), result.stdout[:500]


@pytest.mark.parametrize("module", ["bingx_closeall_plugin.cli", "bingx_closeall_plugin.simulator"])
def test_python_dash_m_answers_help(module):
    result = run_python("", "-m", module, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout.lower(), result.stdout[:500]
