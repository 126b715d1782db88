"""The session fails when a freqtrade test is skipped, unless the opt-out is set: a real inner pytest run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from freqtrade_skips import ALLOW_ENV

TESTS = Path(__file__).parent

MARKED_SKIP = """
import pytest

@pytest.mark.freqtrade
def test_bot():
    pytest.skip("no bot today")

def test_other():
    assert True
"""
MODULE_SKIP = """
import pytest
pytest.importorskip("freqtrade_that_is_not_installed")

def test_bot():
    assert True
"""
UNRELATED_SKIP = """
import pytest

@pytest.mark.skip(reason="not on this platform")
def test_other():
    assert True

def test_runs():
    assert True
"""


def run_inner(tmp_path: Path, source: str, allow: bool = False) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != ALLOW_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    if allow:
        env[ALLOW_ENV] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "freqtrade_skips", "-q", "-p", "no:cacheprovider",
                           "test_inner.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize("source", [MARKED_SKIP, MODULE_SKIP], ids=["marked freqtrade", "importorskip freqtrade"])
def test_a_skipped_freqtrade_test_fails_the_session(tmp_path, source):
    done = run_inner(tmp_path, source)
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "freqtrade test(s) skipped" in done.stdout and "FAILS" in done.stdout


def test_the_opt_out_lets_it_pass_and_still_says_so(tmp_path):
    done = run_inner(tmp_path, MARKED_SKIP, allow=True)
    assert done.returncode == pytest.ExitCode.OK, done.stdout
    assert f"allowed by {ALLOW_ENV}" in done.stdout


def test_other_skips_do_not_fail_the_session(tmp_path):
    done = run_inner(tmp_path, UNRELATED_SKIP)
    assert done.returncode == pytest.ExitCode.OK, done.stdout
    assert "freqtrade test(s) skipped" not in done.stdout
