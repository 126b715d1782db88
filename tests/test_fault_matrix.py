"""The fault matrix's ``close_all_positions`` and CLI columns, and the CLI's reports of what a fault left.

The rows, the seeded account and the checks are in tests/fault_matrix.py; the ``flatten`` column is
tests/test_fault_matrix_flatten.py.
"""

from __future__ import annotations

import json

import pytest

from bingx_closeall_plugin import close_all_positions, flatten
from bingx_closeall_plugin.core import errors
from bingx_closeall_plugin.simulator import Fault

from conftest import run_cli
from fault_matrix import (
    CLOSE,
    ROWS,
    UNBLOCK,
    api_client,
    assert_end_state,
    assert_orders,
    assert_said_so,
    seed,
    skew,
)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
def test_close_all_positions(sim, row, refused_url):
    orders = seed(sim)
    row.arm(sim)
    client = api_client(sim, row, refused_url)

    if row.close_all.raises is not None:
        with pytest.raises(row.close_all.raises):
            close_all_positions(client)
    else:
        result = close_all_positions(client)
        assert result.requests == row.close_all.closes
        assert bool(result.failed) == row.id.startswith(("failed-entry", "rate-limit-between"))

    assert_end_state(sim, row.close_all)
    assert_orders(sim, orders, row.close_all, row, cancels=False)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
def test_cli(sim, cli_env, row, refused_url):
    orders = seed(sim)
    row.arm(sim)
    env = {**cli_env, "BINGX_BASE_URL": refused_url} if row.refused else cli_env

    done = run_cli(["--yes", "--json"], env)

    assert done.returncode == row.cli.exit_code, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["exit_code"] == row.cli.exit_code
    if row.cli.exit_code == 0:
        assert document["remaining_positions"] == [] and document["close_requests"] == row.cli.closes
    elif document.get("remaining_positions") is not None:  # a report came back: it says exactly what is open
        assert sorted(p["symbol"] for p in document["remaining_positions"]) == sorted(row.cli.remaining)
    else:
        assert document["error"]
    if row.cli.exit_code == 4:
        assert "retry" in document["error"]  # when BingX gave a time, the time too (test_error_table)
    if "kept_orders" in document:
        assert_said_so(document, orders, row.cli, row)
    else:  # no report: only a failure before anything reached BingX
        assert row.refused
    if row.flatten.raises is not None:
        # The close did not go through: the words say what it left, stops kept, entries cancelled.
        kept = len(row.cli.remaining) if not row.refused else 0
        said = (f"their {kept} stop/take-profit order(s) were kept" if kept
                else "no stop/take-profit order was cancelled")
        assert said in document["error"]
        assert f"{0 if row.refused else 1} entry order(s) were cancelled" in document["error"]
    assert_end_state(sim, row.cli)
    assert_orders(sim, orders, row.cli, row, cancels=True)


def test_cli_reports_what_a_failed_entry_left_when_rounds_run_out(sim, cli_env):
    seed(sim)
    sim.inject(CLOSE, Fault.failed("ETH-USDT"), times=10)

    done = run_cli(["--yes", "--json"], cli_env)

    document = json.loads(done.stdout)
    assert done.returncode == 1 and document["flat"] is False
    assert [(p["symbol"], p["positionSide"]) for p in document["remaining_positions"]] == [("ETH-USDT", "BOTH")]
    assert float(document["remaining_positions"][0]["positionAmt"]) == -0.2
    assert len(document["failed"]) == 3  # one `failed` entry per round, all kept


def test_clock_skew_does_not_leave_open_orders_behind_a_flat_exit(sim, cli_env):
    """Was a bug (fixed in 6cdd363): the cancel refused for its timestamp was never retried, yet the CLI said FLAT.

    The order read beside the close is refused for its timestamp too; it is read again once the close has
    resynchronised the clock, and the entries cancelled."""
    seed(sim)
    # A plain (not reduce-only) stop order: left resting, it opens a new position when the price crosses it.
    sim.seed_order("BTC-USDT", side="BUY", type="STOP_MARKET", quantity=0.01, stop_price=90000.0, reduce_only=False)
    skew(sim)
    # The close's refusal takes this long to come back, so the read beside it has left with the stale clock before
    # the close resynchronises it, however late its thread starts on a busy machine (else this path is not taken).
    sim.latency_ms = 200

    done = run_cli(["--yes", "--json"], cli_env)

    assert done.returncode == 0, done.stderr
    assert sim.positions() == [] and sim.open_orders() == []
    assert len(sim.requests_to("trade/openOrders")) == 2 and len(sim.requests_to(CLOSE)) == 2
    assert len(json.loads(done.stdout)["cancelled_openers"]) == 2


def test_a_cancel_that_keeps_failing_is_not_a_flat_exit(sim, cli_env):
    """The entries' cancel (by id: BTC-USDT also holds a stop) and the cancel-all after flat both fail."""
    seed(sim)
    sim.inject("trade/order", Fault.http_error(502), times=5)
    sim.inject("trade/allOpenOrders", Fault.http_error(502), times=5)

    done = run_cli(["--yes", "--json"], cli_env)

    assert done.returncode == 1 and sim.positions() == [] and len(sim.open_orders()) == 3
    assert len(sim.requests_to("trade/order")) == 2 and len(sim.requests_to("allOpenOrders")) == 2
    assert len(sim.requests_to(CLOSE)) == 1 and json.loads(done.stdout)["cancel_error"]


def test_flatten_counts_a_rate_limited_re_close_among_the_requests_sent(sim, exchange):
    """Was a bug (fixed in 6cdd363): the refused re-close was sent but missing from close_requests."""
    seed(sim)
    sim.inject(CLOSE, Fault.failed("ETH-USDT"))
    sim.inject(CLOSE, Fault.error(100410, UNBLOCK))

    report = flatten(exchange)

    assert isinstance(report.error, errors.RateLimited)
    assert report.close_requests == len(sim.requests_to(CLOSE)) == 2
