"""Every import path the docs give, every console script, and every path a docstring names still work: the tree
may move, these may not.

Each runs in a fresh interpreter, so one import cannot hide another's failure (a module imported by an
earlier test would be found in ``sys.modules`` whatever its path now is).
"""

from __future__ import annotations

import json
import re
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


# A docstring's or a doc's Sphinx role (:mod:`...`, :func:`...`, ...) names a path that must exist: a module that
# moved leaves the old name behind in prose, where no import fails. Relative names read as Python's relative
# imports from the module they are written in; a bare name is looked up in that module, or in one of its classes.
ROLE = re.compile(r":(?:mod|func|class|data|attr|meth|exc|obj):`~?([\w.]+)`")
PACKAGE = ROOT / "bingx_closeall_plugin"

RESOLVE = r"""
import importlib, inspect, json, sys

def found(path):
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError:
            return False
        return True
    return False

def resolves(module, is_package, target):
    if target.startswith("."):
        dots = len(target) - len(target.lstrip("."))
        base = module.split(".") if is_package else module.split(".")[:-1]
        return found(".".join(base[:len(base) - dots + 1] + [target.lstrip(".")]))
    if found(target) or (module and found(module + "." + target)):
        return True
    if not module:
        return False
    classes = inspect.getmembers(importlib.import_module(module), inspect.isclass)
    return any(hasattr(cls, target.split(".")[0]) for _, cls in classes)

refs = json.loads(sys.stdin.read())
print(json.dumps([where for where, module, is_package, target in refs if not resolves(module, is_package, target)]))
"""


def role_references(files: list[Path]) -> list[tuple[str, str, bool, str]]:
    """(where, module it is written in or "", whether that module is a package, the named path) for each role."""
    refs = []
    for path in files:
        module, is_package = "", False
        if path.suffix == ".py":
            is_package = path.name == "__init__.py"
            parts = path.relative_to(ROOT).with_suffix("").parts
            module = ".".join(parts[:-1] if is_package else parts)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in ROLE.finditer(line):
                where = f"{path.relative_to(ROOT)}:{number}: {match.group(0)}"
                refs.append((where, module, is_package, match.group(1).strip()))
    return refs


def unresolved(refs: list[tuple[str, str, bool, str]]) -> list[str]:
    result = subprocess.run([sys.executable, "-c", RESOLVE], input=json.dumps(refs), capture_output=True,
                            text=True, timeout=BOUND_S, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


@pytest.mark.freqtrade
def test_every_path_a_docstring_or_doc_names_exists():
    pytest.importorskip("freqtrade")  # freqtrade/'s modules import it
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
    refs = role_references(files)
    assert len(refs) > 100  # the package's docstrings do use roles: a regex that finds none checks nothing
    assert unresolved(refs) == []


def test_the_path_checker_sees_a_moved_name():
    module = "bingx_closeall_plugin.core.flatten"
    refs = [("moved module", module, False, "bingx_closeall_plugin.closeall"),
            ("moved function", module, False, "bingx_closeall_plugin.core.closeall.StopSignal"),
            ("relative, a name not there", module, False, ".limits.nowhere"),
            ("relative, the right level", module, False, ".plans.StopSignal"),
            ("bare name in the module", module, False, "flatten"),
            ("relative, parent package", "bingx_closeall_plugin.freqtrade.exits", False, "..core.limits")]
    assert unresolved(refs) == ["moved module", "moved function", "relative, a name not there"]
