"""A press of several accounts across processes (``--processes``, or by itself past 20 accounts a CPU).

The real CLI, forked workers, real SIGINTs (to the process group as a terminal sends them, and to the CLI's
process alone as ``kill -INT`` does), a worker killed mid-press; each account its own simulator.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bingx_closeall_plugin.cli import press
from bingx_closeall_plugin.cli.accounts import account_from_config
from bingx_closeall_plugin.cli.run import Interrupts
from bingx_closeall_plugin.simulator import Fault

from fleet import ORDERS, POSITIONS, Fleet

ACCOUNTS = 4  # two workers of two accounts each
CLOSE = "trade/closeAllPositions"
CANCEL_ALL = "trade/allOpenOrders"
BOUND_S = 30.0  # every wait here is bounded; none is an assertion on speed

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="the press forks its workers")


@pytest.fixture(scope="module")
def fleet():
    fleet = Fleet(ACCOUNTS)
    yield fleet
    fleet.stop()


@pytest.fixture
def configs(fleet, tmp_path):
    fleet.seed()
    return [arg for path in fleet.configs(tmp_path) for arg in ("--account", path)]


class Cli:
    """bingx-closeall in its own process group (as a terminal runs it); stderr read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bingx_closeall_plugin.cli", *args], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        cwd=Path(__file__).parent, start_new_session=True)
        self.err = b""

    def workers(self) -> list[int]:
        """The CLI's child processes, once it has forked them all (bounded)."""
        deadline = time.monotonic() + BOUND_S
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        while True:
            children = [int(pid) for pid in path.read_text().split()] if path.exists() else []
            if len(children) == 2:
                return children
            assert time.monotonic() < deadline, f"the CLI has {len(children)} worker(s), not 2"
            time.sleep(0.02)

    def wait_for_err(self, text: str) -> None:
        deadline = time.monotonic() + BOUND_S
        fd = self.process.stderr.fileno()  # type: ignore[union-attr]
        while text.encode() not in self.err:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never came on stderr: {self.err.decode()[-2000:]}"
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 65536)
                assert chunk, f"stderr ended before {text!r}: {self.err.decode()[-2000:]}"
                self.err += chunk

    def ctrl_c(self, group: bool = True) -> None:
        if group:
            os.killpg(self.process.pid, signal.SIGINT)  # as a terminal does: every process of the group
        else:
            self.process.send_signal(signal.SIGINT)  # as kill -INT does: the CLI's process alone

    def finish(self) -> tuple[int, str, str]:
        try:
            out, err = self.process.communicate(timeout=BOUND_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            out, err = self.process.communicate()
            pytest.fail(f"bingx-closeall did not end: {err.decode()[-2000:]}")
        text = (self.err + err).decode()
        assert "Traceback" not in out.decode() + text, text
        return self.process.returncode, out.decode(), text


def wait_for_closes(fleet, *more: str) -> None:
    """Until every account's close (and each of ``more``) has reached its simulator."""
    deadline = time.monotonic() + BOUND_S
    while not all(sim.requests_to(path) for sim in fleet.sims for path in (CLOSE, *more)):
        assert time.monotonic() < deadline, f"not every account's {CLOSE} and {more} arrived"
        time.sleep(0.02)


def gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + BOUND_S
    while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_accounts_pressed_in_two_processes_are_each_flattened_once_and_reported_in_their_order(fleet, configs,
                                                                                               accounts_env):
    cli = Cli(["--yes", "--json", "--processes", "2", *configs], accounts_env)
    code, out, err = cli.finish()

    document = json.loads(out)
    assert code == 0 and document["flat"] is True, err
    assert [a["config"] for a in document["accounts"]] == configs[1::2]
    assert all(len(a["success"]) == POSITIONS and a["exit_code"] == 0 for a in document["accounts"])
    for index, sim in enumerate(fleet.sims):
        assert fleet.flat(index)
        assert len(sim.requests_to(CLOSE)) == 1 and all(r.api_key_ok for r in sim.requests), index


def test_an_account_with_a_bad_key_is_named_alone_and_the_other_processes_accounts_are_flat(fleet, tmp_path,
                                                                                            accounts_env):
    fleet.seed()
    configs = [arg for path in fleet.configs(tmp_path, wrong_secret={3}) for arg in ("--account", path)]

    code, out, err = Cli(["--yes", "--json", "--processes", "2", *configs], accounts_env).finish()

    document = json.loads(out)
    assert code == 3 and document["exit_code"] == 3, err
    assert [a["exit_code"] for a in document["accounts"]] == [0, 0, 0, 3]
    assert "100001" in document["accounts"][3]["error"]  # BingX's "Signature verification failed"
    assert [fleet.flat(i) for i in range(ACCOUNTS)] == [True, True, True, False]
    assert "fleet-secret-003" not in out + err  # the wrong secret is masked, from the worker too


def test_a_dry_run_across_processes_reads_every_account_and_sends_nothing_that_trades(fleet, configs, accounts_env):
    code, out, err = Cli(["--dry-run", "--processes", "2", *configs], accounts_env).finish()

    assert code == 0, err
    lines = out.splitlines()
    assert lines[:ACCOUNTS] == [f"[{config}] {POSITIONS} position(s), {ORDERS} open order(s)"
                                for config in configs[1::2]]  # each account's read, in the order given
    assert f"{POSITIONS * ACCOUNTS} position(s) and {ORDERS * ACCOUNTS} open order(s) on all {ACCOUNTS}" in out
    for sim in fleet.sims:
        assert len(sim.positions()) == POSITIONS and len(sim.open_orders()) == ORDERS
        assert {r.method for r in sim.requests} == {"GET"}


def test_a_first_ctrl_c_to_the_terminal_stops_every_worker_after_the_answers_in_flight(fleet, configs, accounts_env):
    for sim in fleet.sims:
        sim.inject(CLOSE, Fault.delay(1.5))  # each close in flight when the Ctrl-C comes
    cli = Cli(["--yes", "--json", "--processes", "2", *configs], accounts_env)
    wait_for_closes(fleet, CANCEL_ALL)  # the entry order's cancel goes out beside the close, at once

    cli.ctrl_c()
    code, out, err = cli.finish()

    assert code == 1, err
    assert err.count("interrupted; sending nothing more") == 1  # said once, by the process the operator started
    for account, sim in zip(json.loads(out)["accounts"], fleet.sims, strict=True):
        assert len(account["success"]) == POSITIONS and sim.positions() == []  # the answer in flight was used
        assert "interrupted (Ctrl-C) before the account was verified flat" in account["error"]
        # nothing after the answers in flight: no positions read, no cancel, no second close
        assert sorted(r.path.rsplit("/", 1)[-1] for r in sim.requests) == ["allOpenOrders", "closeAllPositions",
                                                                            "openOrders"]
        assert len(sim.open_orders()) == ORDERS - 1  # the stop kept: its position was never read as flat


def test_a_ctrl_c_to_the_cli_alone_is_relayed_to_its_workers(fleet, configs, accounts_env):
    for sim in fleet.sims:
        sim.inject(CLOSE, Fault.delay(1.5))
    cli = Cli(["--yes", "--json", "--processes", "2", *configs], accounts_env)
    wait_for_closes(fleet, CANCEL_ALL)

    cli.ctrl_c(group=False)
    code, out, err = cli.finish()

    assert code == 1, err
    for account, sim in zip(json.loads(out)["accounts"], fleet.sims, strict=True):
        assert "interrupted (Ctrl-C) before the account was verified flat" in account["error"]
        assert sorted(r.path.rsplit("/", 1)[-1] for r in sim.requests) == ["allOpenOrders", "closeAllPositions",
                                                                            "openOrders"]


def test_a_second_ctrl_c_abandons_every_worker_at_once_and_leaves_none_running(fleet, configs, accounts_env):
    for sim in fleet.sims:
        sim.inject(CLOSE, Fault.delay(20.0))  # far longer than the test waits for anything
    cli = Cli(["--yes", "--processes", "2", *configs], accounts_env)
    workers = cli.workers()
    wait_for_closes(fleet)

    cli.ctrl_c()
    cli.wait_for_err("interrupted; sending nothing more")
    cli.ctrl_c()
    code, out, err = cli.finish()

    assert code == 1
    assert err.count("abandoned (second Ctrl-C): the close was sent, its answer had not arrived") == ACCOUNTS, err
    assert "check with --dry-run" in err and "NOT FLAT" in out
    assert gone(workers), "a worker outlived the press"


def test_a_worker_that_dies_mid_press_is_reported_for_its_accounts_and_the_others_are_flat(fleet, configs,
                                                                                           accounts_env):
    for sim in fleet.sims:
        sim.inject(CLOSE, Fault.delay(2.0))
    cli = Cli(["--yes", "--json", "--processes", "2", *configs], accounts_env)
    workers = cli.workers()
    wait_for_closes(fleet)

    os.kill(workers[0], signal.SIGKILL)
    code, out, err = cli.finish()

    accounts = json.loads(out)["accounts"]
    lost = [i for i, a in enumerate(accounts) if "its process ended without a report (exit code -9)" in
            (a.get("error") or "")]
    assert lost in ([0, 1], [2, 3]), err  # one worker's share, and only it
    assert code == 1
    for index, account in enumerate(accounts):
        if index in lost:
            assert account["exit_code"] == 1 and "check with --dry-run" in account["error"]
        else:
            assert account["exit_code"] == 0 and fleet.flat(index)


def test_a_share_whose_process_cannot_be_forked_is_pressed_from_the_cli_itself(fleet, tmp_path, monkeypatch):
    fleet.seed()
    accounts = [account_from_config([path], None, False) for path in fleet.configs(tmp_path)]
    start, started = multiprocessing.context.ForkProcess.start, []

    def start_once(self):
        if started:
            raise BlockingIOError(11, "Resource temporarily unavailable")  # fork(2)'s EAGAIN: a process limit
        started.append(self)
        start(self)

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", start_once)
    args = argparse.Namespace(symbol=None, dry_run=False, recv_window=None, keep_orders=False, max_wait=0.0,
                              verbose=False, coin_m=False, processes=2)

    outcomes = press.run_all(accounts, args, None, False, Interrupts())

    assert len(started) == 1  # one worker forked, the other share refused
    assert [o.code for o in outcomes] == [0] * ACCOUNTS and [o.account for o in outcomes] == accounts
    assert all(fleet.flat(i) and len(sim.requests_to(CLOSE)) == 1 for i, sim in enumerate(fleet.sims))


def test_processes_below_one_is_a_usage_error_and_nothing_is_sent(fleet, configs, accounts_env):
    code, out, err = Cli(["--yes", "--processes", "0", *configs], accounts_env).finish()

    assert code == 2 and "--processes must be at least 1, got 0" in err
    assert not any(sim.requests for sim in fleet.sims)


def test_the_press_takes_one_process_a_cpu_and_twenty_accounts_each_unless_told(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert [press.worker_count(n) for n in (1, 19, 20, 39, 40, 100, 1000)] == [1, 1, 1, 1, 2, 4, 4]
    assert press.worker_count(3, requested=2) == 2 and press.worker_count(3, requested=8) == 3
    assert press.worker_count(100, requested=1) == 1
    monkeypatch.setattr(sys, "platform", "darwin")
    assert press.worker_count(100) == 1 and press.worker_count(100, requested=2) == 2  # fork there: if asked
    monkeypatch.setattr(press.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert press.worker_count(100) == 1 and press.worker_count(100, requested=4) == 1  # no fork: threads
