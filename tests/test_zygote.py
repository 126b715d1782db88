"""The suite's zygote (tests/zygote.py) gives a child what a plain subprocess would have: its argv, environment,
working directory, files, session and exit code, as :class:`subprocess.Popen` reports them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import zygote

pytestmark = pytest.mark.skipif(not zygote.forking(), reason="forking is off (BINGX_TEST_FORK=0) or unavailable")

# A child that reports what it was given, then exits with the code it was asked for (or waits to be killed).
REPORT = """
import json, os, signal, sys, time
print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "env": os.environ.get("ZYGOTE_TEST"),
                  "session": os.getsid(0) == os.getpid(), "stdin": sys.stdin.read(),
                  "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
                  "sigpipe": signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN}), flush=True)
if sys.argv[1] == "wait":
    time.sleep(60)
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture(scope="module")
def child_zygote() -> Iterator[zygote.Zygote]:
    made = zygote.Zygote(["json"])
    yield made
    made.stop()


def spawn(made: zygote.Zygote, tmp_path: Path, code: str, new_session: bool) -> tuple[zygote.Child, Path]:
    (tmp_path / "report.py").write_text(REPORT)
    (tmp_path / "in.txt").write_text("typed")
    out = tmp_path / "out.txt"
    out.touch()
    env = {"ZYGOTE_TEST": "given", "PYTHONPATH": str(tmp_path)}
    child = made.spawn(("module", "report"), "report", [code], env=env, cwd=str(tmp_path),
                       stdin=str(tmp_path / "in.txt"), stdout=str(out), stderr=str(out), new_session=new_session)
    return child, out


def report(out: Path) -> dict:
    return json.loads(out.read_text().splitlines()[0])


def test_a_child_has_what_a_subprocess_would_and_its_exit_code(child_zygote: zygote.Zygote, tmp_path: Path) -> None:
    child, out = spawn(child_zygote, tmp_path, "3", new_session=False)
    assert child.wait(30) == 3 and child.returncode == 3
    seen = report(out)
    assert seen["argv"][1:] == ["3"] and seen["cwd"] == str(tmp_path) and seen["env"] == "given"
    assert seen["stdin"] == "typed" and seen["sigint"] and seen["sigpipe"] and not seen["session"]
    plain = subprocess.run([sys.executable, str(tmp_path / "report.py"), "3"], input="typed", capture_output=True,
                           text=True, env={"ZYGOTE_TEST": "given"}, cwd=tmp_path, check=False, timeout=30)
    assert plain.returncode == 3
    assert {k: v for k, v in json.loads(plain.stdout).items() if k != "argv"} == \
        {k: v for k, v in seen.items() if k != "argv"}


def test_a_killed_child_reports_the_signal_as_popen_does(child_zygote: zygote.Zygote, tmp_path: Path) -> None:
    child, out = spawn(child_zygote, tmp_path, "wait", new_session=True)
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(0.2)
    assert child.poll() is None
    assert child_zygote.wait_for(lambda: out.read_text().strip() != "", 30), "the child never reported"
    assert report(out)["session"]
    os.killpg(child.pid, signal.SIGKILL)  # its own session: the process group a test kills
    assert child.wait(30) == -signal.SIGKILL
