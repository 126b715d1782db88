"""freqtrade-bingx as an operator meets it (issue 11 §4, §5): real processes.

Without freqtrade: one line, exit 2. A newer freqtrade: refused unless the operator opts in, and then only
when every hooked method still has its tested signature. Such a release is played by the test process
itself: it sets freqtrade's version string (and, for a changed seam, one method) before the launcher runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import zygote

ROOT = Path(__file__).resolve().parent.parent


def run_launcher(prelude: str, args: list[str], env: dict[str, str] | None = None,
                 path: list[str] | None = None, no_site: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -c PRELUDE; main(ARGS)`` in a process of its own. With freqtrade installed and nothing else to
    change, it is forked from the bots' zygote (tests/zygote.py: freqtrade imported, the plugin not, so every
    launcher check runs afresh in the child); a changed ``sys.path`` needs an interpreter of its own."""
    code = f"{prelude}\nfrom bingx_closeall_plugin.freqtrade_bingx import main\nmain({args!r})"
    environment = {k: v for k, v in os.environ.items() if k != "BINGX_FREQTRADE_UNTESTED"}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), *(path or [])])
    environment.update(env or {})
    if not path and not no_site and zygote.forking():
        from freqtrade_bot import BOT

        return BOT.zygote().run(("code", code), "-c", [], env=environment, cwd=str(ROOT), timeout=120)
    return subprocess.run([sys.executable, *(["-S"] if no_site else []), "-c", code], env=environment, check=False,
                          capture_output=True, text=True, timeout=120)


def test_without_freqtrade_one_line_says_how_to_install_it(tmp_path):
    """An environment holding every installed package except freqtrade (links to them, site-packages off)."""
    import ccxt

    site_packages = Path(ccxt.__file__).resolve().parent.parent
    packages = tmp_path / "site"
    packages.mkdir()
    for entry in site_packages.iterdir():
        if not entry.name.lower().startswith("freqtrade") and entry.name != "bingx_closeall_plugin":
            (packages / entry.name).symlink_to(entry)

    done = run_launcher("", ["trade"], path=[str(packages)], no_site=True)

    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line
    assert "pip install '.[freqtrade]'" in done.stderr and "Traceback" not in done.stderr


pytest.importorskip("freqtrade")

NEWER = "import freqtrade; freqtrade.__version__ = '2026.10.0'"
CHANGED = ("import freqtrade.freqtradebot as m\n"
           "def handle_onexchange_order(self, trade, now): pass\n"
           "m.FreqtradeBot.handle_onexchange_order = handle_onexchange_order")


@pytest.mark.freqtrade  # a freqtrade process: the freqtrade lane, not the core's fast lane
@pytest.mark.contract
def test_the_installed_release_starts_naming_every_version():
    """Any supported release: no opt-in, no warning; --version names the plugin's, freqtrade's and ccxt's."""
    import ccxt
    import freqtrade

    from bingx_closeall_plugin.freqtrade.compat import plugin_version

    done = run_launcher("", ["--version"])

    assert done.returncode == 0, done.stderr
    assert f"freqtrade {freqtrade.__version__}" in done.stdout.lower()
    assert f"bingx-closeall-plugin {plugin_version()}" in done.stdout and f"ccxt {ccxt.__version__}" in done.stdout
    assert "newer than" not in done.stdout + done.stderr and "BINGX_FREQTRADE_UNTESTED" not in done.stderr


@pytest.mark.freqtrade
@pytest.mark.contract
def test_an_older_release_is_refused_naming_the_range_and_the_version_found():
    done = run_launcher("import freqtrade; freqtrade.__version__ = '2026.2'", ["trade"])

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line
    assert "supports freqtrade 2026.3 to 2026.9; found freqtrade 2026.2, an older release" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.freqtrade  # a freqtrade process: the freqtrade lane, not the core's fast lane
def test_a_newer_release_is_refused_without_the_opt_in():
    done = run_launcher(NEWER, ["--version"])

    assert done.returncode == 2
    assert "found freqtrade 2026.10.0, a newer release" in done.stderr and "BINGX_FREQTRADE_UNTESTED=1" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.freqtrade  # a freqtrade process: the freqtrade lane, not the core's fast lane
def test_a_newer_release_runs_when_opted_in_and_every_signature_matches():
    done = run_launcher(NEWER, ["--version"], env={"BINGX_FREQTRADE_UNTESTED": "1"})

    assert done.returncode == 0, done.stderr


@pytest.mark.freqtrade
@pytest.mark.parametrize("opt_in", ["0", "1"])
def test_a_changed_signature_is_caught_opted_in_or_not(opt_in):
    done = run_launcher(f"{NEWER if opt_in == '1' else ''}\n{CHANGED}", ["--version"],
                        env={"BINGX_FREQTRADE_UNTESTED": opt_in})

    assert done.returncode == 2
    assert ("FreqtradeBot.handle_onexchange_order: expected parameters ('self', 'trade'), "
            "found ('self', 'trade', 'now')" in done.stderr)
    assert "Traceback" not in done.stderr
