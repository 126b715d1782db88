"""The close path under every fault, through every front end: the end state, not just the exception.

Rows are faults (every code of BingX's error table, lost and slow replies, refused connections, HTML 5xx,
``failed`` entries, a position that reappears, clock skew, a rate limit between re-close rounds); columns
are the three ways in: ``close_all_positions``, ``flatten`` (both with the plugin's ``BingX`` client) and
``bingx-closeall --yes --json`` in a child process. Each cell checks, on the simulator, which positions
are left, what the caller was told, and exactly how many closeAllPositions requests went out, and that no
fill ever reversed or over-closed a position. Each position carries a resting reduce-only stop and BTC-USDT
an entry order beside it: wherever a position is left open (a refused close above all) its stop must
still rest, and the front end must say it was kept; the entry is cancelled whenever BingX could be
reached. tests/test_error_table.py checks each code's exception class and message; this file checks
where each fault leaves the account.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import ccxt
import pytest

from bingx_closeall_plugin import BingX, close_all_positions, errors, flatten
from bingx_closeall_plugin.simulator import BingXSimulator, Fault
from bingx_closeall_plugin.urls import api_urls

from conftest import make_client, run_cli

CLOSE = "trade/closeAllPositions"
SEEDED = {"BTC-USDT": ("LONG", 0.01), "ETH-USDT": ("SHORT", 0.2)}
BOTH = ("BTC-USDT", "ETH-USDT")
FLAT: tuple[str, ...] = ()
SLOW_S = 1.0  # past the API clients' 300 ms timeout, well inside the CLI's 10 s one
# 2100-01-01: far beyond any wait a front end allows, so the rate limit is refused at once.
UNBLOCK = ("The endpoint trigger frequency limit rule is currently in the disabled period "
           "and will be unblocked after 4102444800000")


@dataclass(frozen=True)
class Cell:
    """Where one front end ends under one fault."""

    remaining: tuple[str, ...]  # symbols still open on the simulator
    closes: int  # closeAllPositions requests the simulator received
    raises: type[BaseException] | None = None  # API: the exception; None when a result or report came back
    exit_code: int = 0  # CLI only
    report_error: type[BaseException] | None = None  # flatten only: FlattenReport.error


@dataclass(frozen=True)
class Row:
    id: str
    arm: Callable[[BingXSimulator], None]
    close_all: Cell
    flatten: Cell
    cli: Cell
    refused: bool = False  # the client is pointed at a port nobody listens on
    api_timeout_ms: int = 3000


def inject(fault: Fault, times: int = 1) -> Callable[[BingXSimulator], None]:
    return lambda sim: sim.inject(CLOSE, fault, times=times)


def then(*arms: Callable[[BingXSimulator], None]) -> Callable[[BingXSimulator], None]:
    def arm(sim: BingXSimulator) -> None:
        for one in arms:
            one(sim)
    return arm


def rate_limited_for(ms: int) -> Callable[[BingXSimulator], None]:
    """100410 ending ``ms`` from now on BingX's clock (inside flatten's and the CLI's 30 s deadline)."""
    return lambda sim: sim.inject(
        CLOSE, Fault.error(100410, UNBLOCK.replace("4102444800000", str(sim.server_time_ms() + ms))))


def skew(sim: BingXSimulator) -> None:
    sim.clock_offset_ms = 90_000  # beyond the largest recvWindow BingX accepts (60 s)


def message_for(rule: errors.ErrorRule) -> str:
    return {"symbol not exist": "BTC-USDT,symbol not exist, please verify it in api: /openApi/swap/v2/quote/contracts",
            "timestamp": "Invalid parameters, timestamp is invalid"}.get(rule.pattern or "", rule.meaning)


def error_row(rule: errors.ErrorRule) -> Row:
    """Expected end state for one row of the error table, injected once on the close."""
    fault = inject(Fault.error(rule.code, message_for(rule)))
    name = f"{rule.code}-{rule.exception.__name__}"
    if rule.exception is errors.ClockSkew:  # resync with BingX's clock, send the close once more
        return Row(name, fault, Cell(FLAT, 2), Cell(FLAT, 2), Cell(FLAT, 2))
    if rule.exception in (errors.AlreadySubmitted, errors.ServiceUnavailable):  # verify, close what remains
        return Row(name, fault, Cell(FLAT, 2), Cell(FLAT, 2), Cell(FLAT, 2))
    if rule.exception is errors.NoPositionToClose:
        # close_all_positions trusts BingX's "nothing to close"; flatten's position read finds the lie and re-closes.
        return Row(name, fault, Cell(BOTH, 1), Cell(FLAT, 2), Cell(FLAT, 2))
    exit_code = {errors.RateLimited: 4, errors.UnknownSymbol: 2, errors.InvalidParameter: 2,
                 errors.OrderMissing: 1}.get(rule.exception, 3)
    refused = Cell(BOTH, 1, raises=rule.exception, exit_code=exit_code)
    return Row(name, fault, refused, refused, refused)


ROWS = [error_row(rule) for rule in errors.ERROR_TABLE] + [
    Row("lost-reply-after-execution", inject(Fault.lost_reply(executed=True)),
        Cell(FLAT, 1), Cell(FLAT, 1), Cell(FLAT, 1)),
    Row("lost-reply-before-execution", inject(Fault.lost_reply(executed=False)),
        Cell(FLAT, 2), Cell(FLAT, 2), Cell(FLAT, 2)),
    # The API clients time out after 300 ms and verify; the CLI's 10 s timeout simply waits for the slow answer.
    Row("slow-reply-past-timeout", inject(Fault.delay(SLOW_S)), Cell(FLAT, 1), Cell(FLAT, 1), Cell(FLAT, 1),
        api_timeout_ms=300),
    Row("connection-refused", lambda sim: None,
        Cell(BOTH, 0, raises=ccxt.NetworkError), Cell(BOTH, 0, raises=ccxt.NetworkError),
        Cell(BOTH, 0, exit_code=5), refused=True),
    Row("html-502-executed", inject(Fault.http_error(502, executed=True)), Cell(FLAT, 1), Cell(FLAT, 1), Cell(FLAT, 1)),
    Row("html-502-not-executed", inject(Fault.http_error(502)), Cell(FLAT, 2), Cell(FLAT, 2), Cell(FLAT, 2)),
    Row("html-503-not-executed", inject(Fault.http_error(503, "<html>503 Service Unavailable</html>")),
        Cell(FLAT, 2), Cell(FLAT, 2), Cell(FLAT, 2)),
    Row("html-504-executed", inject(Fault.http_error(504, "<html>504 Gateway Time-out</html>", executed=True)),
        Cell(FLAT, 1), Cell(FLAT, 1), Cell(FLAT, 1)),
    # Three closes answered, then verification rounds exhausted: the bound, not a loop.
    Row("html-502-every-attempt", inject(Fault.http_error(502), times=10),
        Cell(BOTH, 4, raises=ccxt.ExchangeNotAvailable), Cell(BOTH, 4, raises=ccxt.ExchangeNotAvailable),
        Cell(BOTH, 4, exit_code=5)),
    Row("failed-entry-once", inject(Fault.failed("ETH-USDT")), Cell(("ETH-USDT",), 1), Cell(FLAT, 2), Cell(FLAT, 2)),
    Row("failed-entry-every-round", inject(Fault.failed("ETH-USDT"), times=10),
        Cell(("ETH-USDT",), 1), Cell(("ETH-USDT",), 3), Cell(("ETH-USDT",), 3, exit_code=1)),
    Row("position-reappears", inject(Fault.reopen("BTC-USDT", "LONG", 0.01)),
        Cell(("BTC-USDT",), 1), Cell(FLAT, 2), Cell(FLAT, 2)),
    Row("clock-skew-beyond-recv-window", skew, Cell(FLAT, 2), Cell(FLAT, 2), Cell(FLAT, 2)),
    Row("rate-limit-between-rounds", then(inject(Fault.failed("ETH-USDT")), inject(Fault.error(100410, UNBLOCK))),
        Cell(("ETH-USDT",), 1), Cell(("ETH-USDT",), 2, report_error=errors.RateLimited),
        Cell(("ETH-USDT",), 2, exit_code=4)),
    # BingX says it ends in 1.5 s: close_all_positions (no wait by default) raises; the kill switch waits.
    Row("rate-limit-within-deadline", rate_limited_for(1500), Cell(BOTH, 1, raises=errors.RateLimited),
        Cell(FLAT, 2), Cell(FLAT, 2)),
]


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback port with a bound socket that never listens: connecting is refused at once."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"


def seed(sim: BingXSimulator) -> dict[str, str]:
    """The positions, a reduce-only stop on each (keyed by symbol) and an entry beside BTC's (key "entry")."""
    orders = {}
    for symbol, (side, qty) in SEEDED.items():
        sim.seed_position(symbol, side, qty)
        stop_side, stop_price = ("SELL", 50000.0) if side == "LONG" else ("BUY", 5000.0)
        orders[symbol] = str(sim.seed_order(symbol, side=stop_side, type="STOP_MARKET", quantity=qty,
                                            stop_price=stop_price))
    orders["entry"] = str(sim.seed_order("BTC-USDT", side="BUY", type="LIMIT", quantity=0.01, price=60000.0,
                                         reduce_only=False))
    return orders


def assert_orders(sim: BingXSimulator, orders: dict[str, str], cell: Cell, row: Row, cancels: bool) -> None:
    """Every open position's stop still rests; a flat one's is gone; the entry goes whenever BingX was reached."""
    if not cancels:  # close_all_positions never touches orders
        assert {str(o["orderId"]) for o in sim.open_orders()} == set(orders.values())
        return
    kept = {orders[symbol] for symbol in cell.remaining} | ({orders["entry"]} if row.refused else set())
    assert {str(o["orderId"]) for o in sim.open_orders()} == kept


def assert_said_so(document: dict, orders: dict[str, str], cell: Cell, row: Row) -> None:
    """A report (FlattenReport.to_dict() or the CLI's JSON) names the stops it kept and the entry it cancelled."""
    reached = not row.refused
    assert sorted(o["orderId"] for o in document["kept_orders"]) == sorted(orders[s] for s in cell.remaining if reached)
    assert document["cancelled_openers"] == ([orders["entry"]] if reached else [])
    assert document["unprotected"] == [] or [o["orderId"] for o in document["unprotected"]] == [orders["entry"]]


def assert_end_state(sim: BingXSimulator, cell: Cell) -> None:
    positions = sim.positions()
    assert sorted(p["symbol"] for p in positions) == sorted(cell.remaining)
    for position in positions:  # never a reverse position: whatever is left is on the side it was seeded
        amount = float(position["positionAmt"])
        assert amount > 0 if SEEDED[position["symbol"]][0] == "LONG" else amount < 0
    assert sim.reversals() == []
    assert len(sim.requests_to(CLOSE)) == cell.closes
    # Nothing else that trades: every POST is a close, every DELETE a cancel (the entry's, then the stops of
    # what is flat, one per flat symbol at most, each retried once at most).
    assert {r.path.rsplit("/", 1)[-1] for r in sim.requests if r.method == "POST"} <= {"closeAllPositions"}
    assert {r.path.rsplit("/", 1)[-1] for r in sim.requests if r.method == "DELETE"} <= {"order", "allOpenOrders"}
    assert len([r for r in sim.requests if r.method == "DELETE"]) <= 2 * (1 + len(SEEDED))


def api_client(sim: BingXSimulator, row: Row, refused_url: str) -> BingX:
    client = make_client(BingX, sim, timeout=row.api_timeout_ms)
    if row.refused:
        client.urls["api"] = api_urls(refused_url)
    return client


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
def test_flatten(sim, row, refused_url):
    orders = seed(sim)
    row.arm(sim)
    client = api_client(sim, row, refused_url)

    if row.flatten.raises is not None:
        with pytest.raises(row.flatten.raises) as caught:
            flatten(client)
        report = caught.value.flatten_report  # what the refused close left: stops kept, entries cancelled
        assert report.error is caught.value and not report.flat
        assert_said_so(report.to_dict(), orders, row.flatten, row)
    else:
        report = flatten(client)
        assert report.close_requests == row.flatten.closes  # refused re-closes counted too
        assert sorted(p["symbol"] for p in report.remaining_positions) == sorted(row.flatten.remaining)
        assert report.flat == (not row.flatten.remaining and row.flatten.report_error is None)
        if row.flatten.report_error is None:
            assert report.error is None
        else:
            assert isinstance(report.error, row.flatten.report_error)
        assert_said_so(report.to_dict(), orders, row.flatten, row)

    assert_end_state(sim, row.flatten)
    assert_orders(sim, orders, row.flatten, row, cancels=True)


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
