"""A skipped freqtrade test fails the session: CI must not pass with the freqtrade layer untested.

Loaded by tests/conftest.py (and as a plugin, ``-p freqtrade_skips``, by its own test). A test marked
``freqtrade``, or any test or module skipped for a reason that names freqtrade (``importorskip("freqtrade")``),
counts. ``BINGX_TEST_ALLOW_FREQTRADE_SKIPS=1`` opts out, for a machine that deliberately runs without the extra.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

ALLOW_ENV = "BINGX_TEST_ALLOW_FREQTRADE_SKIPS"

_skipped: list[str] = []


def _allowed() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    return str(longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else longrepr)


def _note(report: Any) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    if "freqtrade" in getattr(report, "keywords", {}) or "freqtrade" in _reason(report):
        _skipped.append(f"{report.nodeid}: {_reason(report)}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and not _allowed() and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _skipped:
        return
    verdict = f"allowed by {ALLOW_ENV}" if _allowed() else f"the session FAILS (set {ALLOW_ENV}=1 to allow it)"
    terminalreporter.write_sep("=", f"{len(_skipped)} freqtrade test(s) skipped: {verdict}", red=not _allowed())
    for line in _skipped:
        terminalreporter.write_line(line)
