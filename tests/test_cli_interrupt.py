"""Ctrl-C in bingx-closeall: a real child process, a real SIGINT, the close in flight on the simulator.

A first Ctrl-C after the close was sent lets the answer in flight arrive, sends nothing more, prints
what happened and exits 1 (0 if the account was verified flat); a second abandons at once; before
anything was sent it says so. Never a traceback.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bingx_closeall_plugin.simulator import Fault

CLOSE = "trade/closeAllPositions"
BOUND_S = 30.0  # every wait here is bounded; none is an assertion on speed


def seed(sim):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "SHORT", 0.2)
    return str(sim.seed_order("BTC-USDT", side="SELL", type="STOP_MARKET", quantity=0.01, stop_price=50000.0))


def start(args, env, **popen):
    return subprocess.Popen([sys.executable, "-m", "bingx_closeall_plugin.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parent, **popen)


def wait_for(sim, suffix):
    """Until the simulator has received a request to ``suffix`` (the child is then waiting for its answer)."""
    deadline = time.monotonic() + BOUND_S
    while not sim.requests_to(suffix):
        assert time.monotonic() < deadline, f"no request to {suffix} arrived"
        time.sleep(0.02)


def finish(process):
    try:
        out, err = process.communicate(timeout=BOUND_S)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"bingx-closeall did not end after Ctrl-C: {err[-2000:]}")
    assert "Traceback" not in out + err, err
    return process.returncode, out, err


def test_a_first_ctrl_c_during_the_close_reports_it_and_sends_nothing_more(sim, cli_env):
    stop_id = seed(sim)
    sim.latency_ms = 1500  # every answer takes 1.5 s: the close is in flight when Ctrl-C comes
    process = start(["--yes", "--json"], cli_env)
    wait_for(sim, CLOSE)

    process.send_signal(signal.SIGINT)
    code, out, err = finish(process)

    assert code == 1, err
    document = json.loads(out)
    assert len(document["success"]) == 2 and sim.positions() == []  # the close went through, and says so
    assert document["remaining_positions"] is None and document["flat"] is False  # never verified
    assert "interrupted (Ctrl-C) before the account was verified flat" in document["error"]
    assert "sending nothing more" in err
    # Nothing after the answers in flight: no positions read, no cancel, no second close.
    assert sorted(r.path.rsplit("/", 1)[-1] for r in sim.requests) == ["closeAllPositions", "openOrders"]
    assert [str(o["orderId"]) for o in sim.open_orders()] == [stop_id]
    assert [o["orderId"] for o in document["kept_orders"]] == [stop_id]


def test_a_second_ctrl_c_abandons_at_once_with_what_is_known(sim, cli_env):
    seed(sim)
    sim.latency_ms = 3000
    process = start(["--yes"], cli_env)
    wait_for(sim, CLOSE)

    process.send_signal(signal.SIGINT)
    time.sleep(0.3)  # sequencing only: two separate presses
    process.send_signal(signal.SIGINT)
    code, out, err = finish(process)

    assert code == 1
    # Abandoned before the close's answer (3 s away) arrived: it says it does not know.
    assert "abandoned (second Ctrl-C): the close was sent, its answer had not arrived" in err
    assert "check with --dry-run" in err and "NOT FLAT" in out


def test_ctrl_c_after_the_account_was_verified_flat_exits_0(sim, cli_env):
    seed(sim)
    sim.inject("trade/allOrders", Fault.delay(3.0))  # the order-history read, the flatten's last step
    process = start(["--yes", "--json"], cli_env)
    wait_for(sim, "trade/allOrders")

    process.send_signal(signal.SIGINT)
    code, out, _ = finish(process)

    document = json.loads(out)
    assert code == 0 and document["flat"] is True and sim.positions() == [] and sim.open_orders() == []
    assert len(document["closed_orders"]) == 2  # the answer in flight was waited for and used


def test_ctrl_c_before_anything_was_sent_says_so(sim, cli_env):
    seed(sim)
    sim.latency_ms = 1500  # the confirmation's read of the account is in flight
    primary, secondary = os.openpty()  # a terminal on stdin: bingx-closeall asks before closing
    try:
        process = start([], cli_env, stdin=secondary)
        wait_for(sim, "user/positions")
        process.send_signal(signal.SIGINT)
        code, _, err = finish(process)
    finally:
        os.close(primary)
        os.close(secondary)

    assert code == 1 and "interrupted; nothing was sent" in err
    assert {r.method for r in sim.requests} == {"GET"} and len(sim.positions()) == 2


# The CLI with a Ctrl-C of its own right after the confirmation's read answered, before the question: a real
# SIGINT to the process at that exact moment, no timing involved.
CTRL_C_AFTER_THE_READ = """
import os, signal, sys
from bingx_closeall_plugin.cli import command as cli
shown = cli.print_positions
def then_ctrl_c(outcome, stream):
    shown(outcome, stream)
    os.kill(os.getpid(), signal.SIGINT)
cli.print_positions = then_ctrl_c
sys.argv = ["bingx-closeall"]
cli.entry()
"""


def on_a_terminal(sim, cli_env, run):
    """``run(stdin, stdout_fd)`` -> the child process; returns (code, stdout, stderr), stdin a terminal."""
    primary, secondary = os.openpty()
    try:
        process = run(secondary)
        code, out, err = finish(process)
    finally:
        os.close(primary)
        os.close(secondary)
    assert {r.method for r in sim.requests} == {"GET"} and len(sim.positions()) == 2  # nothing was sent
    return code, out, err


def test_ctrl_c_after_the_read_answered_and_before_the_question_says_nothing_was_sent(sim, cli_env):
    seed(sim)

    def run(stdin):
        return subprocess.Popen([sys.executable, "-c", CTRL_C_AFTER_THE_READ], env=cli_env, text=True, stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parent)

    code, out, err = on_a_terminal(sim, cli_env, run)
    assert code == 1 and "interrupted; nothing was sent" in err, err
    assert "[y/N]" not in out  # not asked


def test_ctrl_c_at_the_question_says_nothing_was_sent(sim, cli_env):
    seed(sim)

    def run(stdin):
        process = start([], cli_env, stdin=stdin)
        shown = b""
        deadline = time.monotonic() + BOUND_S
        while not shown.endswith(b"[y/N] "):  # the question is on the screen: the CLI waits for its answer
            assert time.monotonic() < deadline and process.poll() is None, f"no question: {shown!r}"
            ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if ready:
                shown += os.read(process.stdout.fileno(), 4096)
        process.send_signal(signal.SIGINT)
        return process

    code, _, err = on_a_terminal(sim, cli_env, run)
    assert code == 1 and "interrupted; nothing was sent" in err and "declined" not in err, err


def test_ctrl_c_during_a_rate_limit_wait_stops_waiting_and_sends_no_second_close(sim, cli_env):
    stop_id = seed(sim)
    sim.inject(CLOSE, Fault.error(100410, f"will be unblocked after {sim.server_time_ms() + 20_000}"))
    process = start(["--yes", "--json"], cli_env)
    wait_for(sim, "server/time")  # read just before the wait starts (it is measured on BingX's clock)

    process.send_signal(signal.SIGINT)
    code, out, err = finish(process)

    assert code == 1 and len(sim.requests_to(CLOSE)) == 1 and len(sim.positions()) == 2
    document = json.loads(out)
    assert "interrupted (Ctrl-C) before a close went through: nothing was closed" in document["error"]
    assert [str(o["orderId"]) for o in sim.open_orders()] == [stop_id]
