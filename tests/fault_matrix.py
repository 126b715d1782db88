"""The fault matrix: the close path under every fault, through every front end (its table and checks).

Rows are faults (every code of BingX's error table, lost and slow replies, refused connections, HTML 5xx,
``failed`` entries, a position that reappears, clock skew, a rate limit between re-close rounds); columns
are the three ways in: ``close_all_positions``, ``flatten`` (both with the plugin's ``BingX`` client) and
``bingx-closeall --yes --json`` in a child process. Each cell checks, on the simulator, which positions
are left, what the caller was told, and exactly how many closeAllPositions requests went out, and that no
fill ever reversed or over-closed a position. Each position carries a resting reduce-only stop and BTC-USDT
an entry order beside it: wherever a position is left open (a refused close above all) its stop must
still rest, and the front end must say it was kept; the entry is cancelled whenever BingX could be
reached. tests/test_error_table.py checks each code's exception class and message; the matrix checks
where each fault leaves the account. Its columns are tests/test_fault_matrix.py (``close_all_positions``
and the CLI) and tests/test_fault_matrix_flatten.py (``flatten``, the slowest column: its verification
rounds back off), two modules so that two test workers share the matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ccxt

from bingx_closeall_plugin import BingX
from bingx_closeall_plugin.core import errors
from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator, Fault

from conftest import make_client

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
