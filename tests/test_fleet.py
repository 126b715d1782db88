"""One press over many accounts: 100 sub-accounts, each with its own key and its own BingX double.

Behaviour at that size, on simulators without latency (cheap); how fast it is, at 50 ms, is
benchmarks/scale.py's and docs/performance.md's.
"""

from __future__ import annotations

import argparse
import json
import os

import pytest

from bingx_closeall_plugin.cli import run
from bingx_closeall_plugin.cli.accounts import account_from_config
from bingx_closeall_plugin.cli.gate import AccountSignal
from bingx_closeall_plugin.cli.press import run_all

from conftest import run_cli
from fleet import ORDERS, POSITIONS, Fleet

ACCOUNTS = 100
BAD = 37  # the account whose config carries a wrong secret


@pytest.fixture(scope="module")
def fleet():
    fleet = Fleet(ACCOUNTS)
    yield fleet
    fleet.stop()


def press(fleet, tmp_path, accounts_env, *flags):
    fleet.seed()
    accounts = [arg for path in fleet.configs(tmp_path, wrong_secret={BAD}) for arg in ("--account", path)]
    return run_cli(["--yes", *flags, *accounts], accounts_env, timeout=120)


def test_a_hundred_accounts_flatten_in_one_press_and_the_one_with_a_bad_key_is_named_alone(fleet, tmp_path,
                                                                                           accounts_env):
    done = press(fleet, tmp_path, accounts_env, "--json")

    document = json.loads(done.stdout)
    assert done.returncode == 3 and document["exit_code"] == 3, done.stderr
    codes = [account["exit_code"] for account in document["accounts"]]
    assert codes == [3 if i == BAD else 0 for i in range(ACCOUNTS)]
    assert "100001" in document["accounts"][BAD]["error"]  # BingX's "Signature verification failed"
    assert all(fleet.flat(i) for i in range(ACCOUNTS) if i != BAD)
    bad = fleet.sims[BAD]
    assert len(bad.positions()) == POSITIONS and len(bad.open_orders()) == ORDERS  # refused: nothing touched
    for index, sim in enumerate(fleet.sims):
        paths = [r.path for r in sim.requests]
        # one close each and no market data: markets are never loaded. (That every close is handed out before any
        # other request is the handoff test below; the order requests *arrive* in is the scheduler's on a busy
        # machine: 100 threads on 2 cores, one account's read and cancel once reached its double before its close.)
        assert sum(p.endswith("/closeAllPositions") for p in paths) == 1, index
        assert not any("/market/" in p or "/quote/" in p for p in paths), index
        assert all(r.api_key_ok for r in sim.requests)  # each account's own key, at its own BingX
    assert len(document["accounts"][0]["success"]) == POSITIONS


def test_the_terminal_shows_one_line_per_account_and_the_summary(fleet, tmp_path, accounts_env):
    done = press(fleet, tmp_path, accounts_env)

    lines = done.stdout.splitlines()
    assert done.returncode == 3
    assert len(lines) == ACCOUNTS + 1, done.stdout
    assert all(line.startswith("[") and "account-" in line for line in lines[:-1])
    assert sum(" FLAT: 5 close order(s) in 1 request(s), 2 order(s) cancelled" in line for line in lines) == 99
    assert "NOT FLAT (exit 3)" in lines[BAD] and f"account-{BAD:03d}" in lines[BAD]
    assert lines[-1].startswith("NOT FLAT") and lines[-1].count("account-") == 1
    assert done.stderr.count("sending closeAllPositions") == 1  # one line for all, not one per account
    assert done.stderr.count(f"account-{BAD:03d}.json] ") == 1  # its error, once


@pytest.mark.parametrize("processes", [1, 2], ids=["threads", "two-processes"])
def test_every_account_hands_its_close_to_its_client_before_any_other_request_of_any_account(fleet, tmp_path,
                                                                                              monkeypatch, processes):
    fleet.seed()
    accounts = [account_from_config([path], None, False) for path in fleet.configs(tmp_path)]
    # Appended by every thread of every process: the kernel orders O_APPEND writes, so the file's order is the
    # order in which the accounts handed their requests over, across processes too.
    log = tmp_path / "handed.log"
    sending = AccountSignal.sending

    def note(kind: str) -> None:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{kind} {os.getpid()}\n".encode())
        finally:
            os.close(fd)

    def recorded(self, method):
        if "CloseAllPositions" in method:
            note("close")  # handed over as soon as the gate counts it
            sending(self, method)
        else:
            sending(self, method)  # held until every close is out
            note("other")

    monkeypatch.setattr(AccountSignal, "sending", recorded)
    args = argparse.Namespace(symbol=None, dry_run=False, recv_window=None, keep_orders=False, max_wait=0.0,
                              verbose=False, coin_m=False, processes=processes)

    outcomes = run_all(accounts, args, None, False, run.Interrupts())

    assert [o.code for o in outcomes] == [0] * ACCOUNTS
    assert [o.account for o in outcomes] == accounts
    lines = [line.split() for line in log.read_text().splitlines()]
    kinds = [kind for kind, _ in lines]
    assert kinds[:ACCOUNTS] == ["close"] * ACCOUNTS and "close" not in kinds[ACCOUNTS:]
    pids = {pid for _, pid in lines}
    assert len(pids) == processes and (processes == 1) == (pids == {str(os.getpid())})
    assert len(kinds) == ACCOUNTS * 6  # close, order read, the entry's cancel, positions, cancel-all, history
