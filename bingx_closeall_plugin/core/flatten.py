"""Flatten an account: the kill switch's routine around the one close path.

At once, together: the close, and a read of the open orders followed by the cancel of those that can
open or add to a position. Then: read positions -> close what remains, a bounded number of rounds ->
cancel the stops and take-profits of every position now flat (one cancel-all when all are) -> describe
the close's orders from one order-history read. A position still open keeps its protective orders; a
close BingX refuses raises with the partial report as ``flatten_report``. Used by the CLI and the
freqtrade layer; the close itself is always :func:`~bingx_closeall_plugin.core.closeall.close_plan`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ccxt

from .closeall import CloseAllResult, OnWait, check_arguments, check_wait, close_plan, exact_id, open_positions
from .methods import OPEN_ORDERS, ORDER_HISTORY, POSITIONS
from .plans import Call, Interrupted, Plan, StopSignal, Together, run_async, run_sync
from .protection import (
    Cancelled,
    cancel_openers,
    cancel_protection,
    is_protective,
    order_id,
    retryable,
    summary,
)
from .redaction import error_text
from .symbols import CurrencyMap, currency_map, unified_name

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_RATE_LIMIT_WAIT", "FlattenReport", "flatten", "flatten_async"]

# The first close plus up to two more for what a `failed` entry or a late fill left open.
DEFAULT_ROUNDS = 3
# The operator asked for flat: a rate limit BingX says ends within this many seconds is waited out.
DEFAULT_RATE_LIMIT_WAIT = 30.0


@dataclass
class FlattenReport:
    """What a flatten did: every close, the cancelled orders, and what is still open (and protected)."""

    symbol: str | None
    closes: list[CloseAllResult] = field(default_factory=list)
    cancelled_orders: list[str] | None = None  #: every id cancelled; None when orders were kept
    cancel_error: str | None = None
    remaining_positions: list[dict[str, Any]] = field(default_factory=list)
    #: the close's orders, as BingX's history has them
    closed_orders: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None  #: what stopped the flatten early (a refused close, a rate limit, Ctrl-C)
    refused_close_requests: int = 0  #: close requests sent whose round ended in ``error``
    #: ids of orders that could open a position, cancelled at once
    cancelled_openers: list[str] = field(default_factory=list)
    cancelled_protective: list[str] = field(default_factory=list)  #: ids cancelled once their position was flat
    #: protective orders left resting: their position is open
    kept_orders: list[dict[str, Any]] = field(default_factory=list)
    unprotected: list[dict[str, Any]] = field(default_factory=list)  #: orders cancelled on a symbol still open
    positions_read: bool = False  #: remaining_positions comes from a read after the close; else it is unknown
    #: the exchange's currency names, for ccxt's name of each BingX symbol in the report
    currencies: CurrencyMap = field(default_factory=currency_map, repr=False, compare=False)

    @property
    def unified_symbol(self) -> str | None:
        """ccxt's name for ``symbol`` (``TRUMP/USDT:USDT`` for ``TRUMPSOL-USDT``)."""
        return unified_name(self.symbol, self.currencies) if self.symbol else None

    @property
    def success(self) -> list[str]:
        return [order_id for close in self.closes for order_id in close.success]

    @property
    def failed(self) -> list[Any]:
        return [entry for close in self.closes for entry in close.failed]

    @property
    def flat(self) -> bool:
        return not self.remaining_positions and self.error is None

    @property
    def close_requests(self) -> int:
        return sum(close.requests for close in self.closes) + self.refused_close_requests

    @property
    def orders_left(self) -> bool:
        """Open orders were to be cancelled and a cancel did not go through: they may reopen positions."""
        return self.cancel_error is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "failed": self.failed,
            "symbol": self.symbol,
            "unified_symbol": self.unified_symbol,
            "remaining_positions": ([_position_summary(p, self.currencies) for p in self.remaining_positions]
                                    if self.positions_read else None),  # None: unknown, no read after the close
            "closed_orders": self.closed_orders,
            "cancelled_orders": self.cancelled_orders,
            "cancelled_openers": self.cancelled_openers,
            "cancelled_protective": self.cancelled_protective,
            "kept_orders": self.kept_orders,
            "unprotected": self.unprotected,
            "close_requests": self.close_requests,
            "cancel_error": self.cancel_error,
            "flat": self.flat,
        }


def _position_summary(position: dict[str, Any], currencies: CurrencyMap | None = None) -> dict[str, Any]:
    return {
        "symbol": position.get("symbol"),
        "unified_symbol": unified_name(position.get("symbol"), currencies),
        "positionSide": position.get("positionSide"),
        "positionAmt": str(position.get("positionAmt")),
        "positionId": exact_id(position.get("positionId")),
    }


def _call(effect: Call) -> Plan:
    return (yield effect)


def _describe_orders(history: Any, ids: list[str], currencies: CurrencyMap | None = None) -> list[dict[str, Any]]:
    data = history.get("data") if isinstance(history, dict) else None
    orders = data.get("orders") if isinstance(data, dict) else data
    wanted = set(ids)
    described = []
    for order in orders if isinstance(orders, list) else []:
        if isinstance(order, dict) and str(exact_id(order.get("orderId"))) in wanted:
            described.append({
                "orderId": str(exact_id(order.get("orderId"))),
                "symbol": order.get("symbol"),
                "unified_symbol": unified_name(order.get("symbol"), currencies),
                "side": order.get("side"),
                "positionSide": order.get("positionSide"),
                "executedQty": str(order.get("executedQty")),
                "avgPrice": str(order.get("avgPrice")),
                "status": order.get("status"),
            })
    return described


def flatten_plan(exchange: Any, symbol: str | None, recv_window: int | None, inverse: bool,
                 cancel_orders: bool, rounds: int, rate_limit_wait: float = 0.0, on_wait: OnWait | None = None,
                 stop: StopSignal | None = None) -> Plan:
    report = FlattenReport(symbol=symbol, currencies=currency_map(exchange))
    if stop is not None:
        stop.report = report  # the CLI shows it if a second Ctrl-C abandons the flatten
    scope = {"symbol": symbol} if symbol else {}
    deadline = time.monotonic() + rate_limit_wait

    def close() -> Plan:
        return close_plan(exchange, symbol, recv_window, inverse, max(0.0, deadline - time.monotonic()), on_wait)

    details: list[dict[str, Any]] = []  # summaries of every order cancelled, for `unprotected`
    closed, close_error, openers = yield from _first_close(report, close, cancel_orders, inverse, scope, details)
    if close_error is not None:
        yield from _refused(report, close_error, openers, inverse, scope, details)
    report.closes.append(closed)
    yield from _close_rounds_left(report, close, rounds, inverse, scope)
    if cancel_orders and report.positions_read and not isinstance(report.error, Interrupted):
        yield from _cancel_flat_protection(report, openers, inverse, scope, details)
    if cancel_orders:
        _protection_report(report, openers.orders, details,
                           report.positions_read and not isinstance(report.error, Interrupted))
    if report.success and not isinstance(report.error, Interrupted):
        yield from _read_closed_orders(report, inverse, scope)
    return report


def _first_close(report: FlattenReport, close: Callable[[], Plan], cancel_orders: bool, inverse: bool,
                 scope: dict[str, str], details: list[dict[str, Any]]) -> Plan:
    """The close, with the openers' cancel beside it when orders are cancelled: (result, error, openers)."""
    openers = Cancelled()
    if cancel_orders:
        report.cancelled_orders = []
        # The close is never behind anything: the order read and the openers' cancel run beside it.
        (closed, close_error), (openers, _) = yield Together((close(), cancel_openers(inverse, scope)))
        if retryable(openers.error):
            # Lost, or refused for its timestamp (the close has resynchronised the clock since): once more.
            logger.warning("cancelling the entry orders failed (%s); trying once more", type(openers.error).__name__)
            again = yield from cancel_openers(inverse, scope)
            again.cancelled[:0] = openers.cancelled
            openers = again
        _record(report, openers, False, details)
    else:
        try:
            closed, close_error = (yield from close()), None
        except Exception as e:  # noqa: BLE001 - raised by flatten_plan, with the report
            closed, close_error = None, e
    return closed, close_error, openers


def _refused(report: FlattenReport, close_error: BaseException, openers: Cancelled, inverse: bool,
             scope: dict[str, str], details: list[dict[str, Any]]) -> Plan:
    """Refused (or stopped) before anything closed: every protective order stays; say what is open, then raise
    the close's error with the report."""
    report.error = close_error
    report.refused_close_requests = getattr(close_error, "close_requests", 0)
    if openers.orders is not None and not isinstance(close_error, Interrupted):
        try:  # the order read went through, so reads work: one positions read for the report
            positions = yield Call(POSITIONS.method(inverse), scope)
            report.remaining_positions = open_positions(positions, report.symbol)
            report.positions_read = True
        except (ccxt.BaseError, Interrupted) as e:
            logger.warning("could not read positions after the refused close: %s", error_text(e))
    _protection_report(report, openers.orders, details, report.positions_read)
    close_error.flatten_report = report  # type: ignore[attr-defined]
    raise close_error


def _close_rounds_left(report: FlattenReport, close: Callable[[], Plan], rounds: int, inverse: bool,
                       scope: dict[str, str]) -> Plan:
    """Read positions after the close and close what remains, up to ``rounds`` reads in all."""
    try:
        for round_number in range(1, rounds + 1):
            positions = yield Call(POSITIONS.method(inverse), scope)
            report.remaining_positions = open_positions(positions, report.symbol)
            report.positions_read = True
            if not report.remaining_positions or round_number == rounds:
                break
            logger.warning("%d position(s) still open after close round %d; closing what remains",
                           len(report.remaining_positions), round_number)
            report.closes.append((yield from close()))
    except (ccxt.RateLimitExceeded, ccxt.DDoSProtection, ccxt.NetworkError, Interrupted) as e:
        # The first close went out; report what is known rather than lose it.
        report.error = e
        report.refused_close_requests = getattr(e, "close_requests", 0)
        logger.warning("re-close rounds stopped: %s", error_text(e))


def _cancel_flat_protection(report: FlattenReport, openers: Cancelled, inverse: bool, scope: dict[str, str],
                            details: list[dict[str, Any]]) -> Plan:
    """Cancel the orders still resting on symbols that are now flat (once more if that was lost)."""
    cancelled = {order_id(o) for o in openers.cancelled}
    resting = None if openers.orders is None else [o for o in openers.orders if order_id(o) not in cancelled]
    open_symbols = {str(p.get("symbol")) for p in report.remaining_positions}
    protection = yield from cancel_protection(inverse, scope, resting, open_symbols)
    if retryable(protection.error):
        logger.warning("cancelling the orders of flat positions failed (%s); trying once more",
                       type(protection.error).__name__)
        again = yield from cancel_protection(inverse, scope, protection.orders, open_symbols)
        again.cancelled[:0] = protection.cancelled  # a symbol's cancel-all that went through stays counted
        protection = again
    if protection.error is None and not open_symbols:
        report.cancel_error = None  # one cancel-all over the whole scope: nothing rests, openers included
    _record(report, protection, True, details)
    openers.orders = protection.orders if openers.orders is None else openers.orders


def _read_closed_orders(report: FlattenReport, inverse: bool, scope: dict[str, str]) -> Plan:
    """Describe the orders the closes created, from one order-history read (a failed read is only logged)."""
    try:
        history = yield Call(ORDER_HISTORY.method(inverse), {**scope, "limit": 1000})
        report.closed_orders = _describe_orders(history, report.success, report.currencies)
    except (ccxt.BaseError, Interrupted) as e:
        logger.warning("could not read the close's orders for the report: %s", error_text(e))


def _record(report: FlattenReport, step: Cancelled, protective: bool, details: list[dict[str, Any]]) -> None:
    ids = [o["orderId"] for o in step.cancelled]
    (report.cancelled_protective if protective else report.cancelled_openers).extend(ids)
    report.cancelled_orders = list(dict.fromkeys([*(report.cancelled_orders or []), *ids]))
    details.extend(step.cancelled)
    if step.error is not None:
        report.cancel_error = error_text(step.error)
        logger.warning("cancelling open orders failed: %s", report.cancel_error)


def _protection_report(report: FlattenReport, orders: list[dict[str, Any]] | None,
                       details: list[dict[str, Any]], known: bool) -> None:
    """kept_orders and unprotected, from the orders read, those cancelled, and the positions still open.

    ``known`` False (no positions read since the close, or stopped before the flat ones' orders were
    cancelled): every symbol counts as still open.
    """
    open_symbols = {str(p.get("symbol")) for p in report.remaining_positions}
    still_open = (lambda s: s in open_symbols) if known else (lambda s: True)
    cancelled = set(report.cancelled_orders or [])
    report.kept_orders = [summary(o) for o in orders or []
                          if is_protective(o) and order_id(o) not in cancelled and still_open(str(o.get("symbol")))]
    seen: set[str] = set()
    report.unprotected = []
    for order in details:
        if order["orderId"] not in seen and still_open(str(order.get("symbol"))):
            seen.add(order["orderId"])
            report.unprotected.append(order)


def flatten(exchange: Any, symbol: str | None = None, *, recv_window: int | None = None, inverse: bool = False,
            cancel_orders: bool = True, rounds: int = DEFAULT_ROUNDS, rate_limit_wait: float = DEFAULT_RATE_LIMIT_WAIT,
            on_wait: OnWait | None = None, stop: StopSignal | None = None) -> FlattenReport:
    """Close everything (or ``symbol``), cancel what could reopen a position at once, re-close leftovers,
    then cancel the stops of what is flat; sync ``ccxt.bingx``.

    A rate limit that BingX says ends within ``rate_limit_wait`` seconds is waited out (``on_wait`` told
    about once a second). A close BingX refuses raises, with the partial report as ``flatten_report``.
    ``stop`` (a :class:`~bingx_closeall_plugin.core.plans.StopSignal`) stops it at its next step.
    """
    native, inverse = check_arguments(symbol, recv_window, inverse, exchange)
    check_wait(rate_limit_wait)
    plan = flatten_plan(exchange, native, recv_window, inverse, cancel_orders, rounds, rate_limit_wait, on_wait, stop)
    return run_sync(exchange, plan, stop)


async def flatten_async(exchange: Any, symbol: str | None = None, *, recv_window: int | None = None,
                        inverse: bool = False, cancel_orders: bool = True, rounds: int = DEFAULT_ROUNDS,
                        rate_limit_wait: float = DEFAULT_RATE_LIMIT_WAIT, on_wait: OnWait | None = None,
                        stop: StopSignal | None = None) -> FlattenReport:
    """The awaitable twin of :func:`flatten`."""
    native, inverse = check_arguments(symbol, recv_window, inverse, exchange)
    check_wait(rate_limit_wait)
    plan = flatten_plan(exchange, native, recv_window, inverse, cancel_orders, rounds, rate_limit_wait, on_wait, stop)
    return await run_async(exchange, plan, stop)


def read_account(exchange: Any, symbol: str | None = None, *,
                 inverse: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(open positions, open orders), read concurrently; sends nothing that trades."""
    native, inverse = check_arguments(symbol, None, inverse, exchange)
    scope = {"symbol": native} if native else {}

    def plan() -> Plan:
        (positions, p_error), (orders, o_error) = yield Together(
            (_call(Call(POSITIONS.method(inverse), scope)), _call(Call(OPEN_ORDERS.method(inverse), scope)))
        )
        for error in (p_error, o_error):
            if error is not None:
                raise error
        data = orders.get("data") if isinstance(orders, dict) else None
        order_list = data.get("orders") if isinstance(data, dict) else data
        return open_positions(positions, native), [o for o in order_list or [] if isinstance(o, dict)]

    return run_sync(exchange, plan())
