"""Flatten an account: the kill switch's routine around the one close path.

close (and, unless told to keep them, cancel every open order at the same moment: a take-profit or stop
left behind can reopen a position) -> read positions -> close what remains, a bounded number of rounds ->
describe the close's orders from one order-history read. Used by the CLI and the freqtrade layer; the
close itself is always :func:`~bingx_closeall_plugin.closeall.close_plan`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import ccxt

from .redaction import error_text
from .symbols import CurrencyMap, currency_map, unified_name
from .closeall import (
    POSITIONS_METHOD,
    Call,
    CloseAllResult,
    Plan,
    Together,
    check_arguments,
    close_plan,
    exact_id,
    open_positions,
    run_async,
    run_sync,
)

logger = logging.getLogger(__name__)

__all__ = ["FlattenReport", "flatten", "flatten_async"]

CANCEL_ALL_METHOD = {False: "swapV2PrivateDeleteTradeAllOpenOrders", True: "cswapV1PrivateDeleteTradeAllOpenOrders"}
OPEN_ORDERS_METHOD = {False: "swapV2PrivateGetTradeOpenOrders", True: "cswapV1PrivateGetTradeOpenOrders"}
ORDER_HISTORY_METHOD = {False: "swapV2PrivateGetTradeAllOrders", True: "cswapV1PrivateGetTradeOrderHistory"}
# The first close plus up to two more for what a `failed` entry or a late fill left open.
DEFAULT_ROUNDS = 3


@dataclass
class FlattenReport:
    """What a flatten did: every close, the cancelled orders, and what is still open."""

    symbol: str | None
    closes: list[CloseAllResult] = field(default_factory=list)
    cancelled_orders: list[str] | None = None  #: ids cancelled; None when orders were kept
    cancel_error: str | None = None
    remaining_positions: list[dict[str, Any]] = field(default_factory=list)
    closed_orders: list[dict[str, Any]] = field(default_factory=list)  #: the close's orders, as BingX's history has them
    error: BaseException | None = None  #: what stopped the re-close rounds early (e.g. a rate limit)
    refused_close_requests: int = 0  #: close requests sent whose round ended in ``error``
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
        """Open orders were to be cancelled and the cancel did not go through: they may reopen positions."""
        return self.cancel_error is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "failed": self.failed,
            "symbol": self.symbol,
            "unified_symbol": self.unified_symbol,
            "remaining_positions": [_position_summary(p, self.currencies) for p in self.remaining_positions],
            "closed_orders": self.closed_orders,
            "cancelled_orders": self.cancelled_orders,
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


def _cancelled_ids(answer: Any) -> list[str]:
    data = answer.get("data") if isinstance(answer, dict) else None
    orders = data.get("success") if isinstance(data, dict) else None
    ids = []
    for order in orders or []:
        order_id = order.get("orderId") if isinstance(order, dict) else order
        if order_id is not None:
            ids.append(str(exact_id(order_id)))
    return ids


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
                 cancel_orders: bool, rounds: int) -> Plan:
    report = FlattenReport(symbol=symbol, currencies=currency_map(exchange))
    scope = {"symbol": symbol} if symbol else {}
    if cancel_orders:
        # Sent together with the close, so cancelling costs no extra round trip before it.
        (closed, close_error), (cancel_answer, cancel_error) = yield Together(
            (close_plan(exchange, symbol, recv_window, inverse), _call(Call(CANCEL_ALL_METHOD[inverse], scope)))
        )
        if close_error is not None:
            raise close_error
        if isinstance(cancel_error, (ccxt.InvalidNonce, ccxt.NetworkError)) and not isinstance(
            cancel_error, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)
        ):
            # Refused for its timestamp (the close has resynchronised the clock since) or lost: cancelling
            # is idempotent, so once more, now that the close is out.
            logger.warning("cancelling open orders failed (%s); trying once more", type(cancel_error).__name__)
            try:
                cancel_answer, cancel_error = (yield Call(CANCEL_ALL_METHOD[inverse], scope)), None
            except ccxt.BaseError as e:
                cancel_error = e
        if cancel_error is not None:
            report.cancel_error = error_text(cancel_error)
            logger.warning("cancelling open orders failed: %s", report.cancel_error)
        else:
            report.cancelled_orders = _cancelled_ids(cancel_answer)
    else:
        closed = yield from close_plan(exchange, symbol, recv_window, inverse)
    report.closes.append(closed)
    try:
        for round_number in range(1, rounds + 1):
            report.remaining_positions = open_positions((yield Call(POSITIONS_METHOD[inverse], scope)), symbol)
            if not report.remaining_positions or round_number == rounds:
                break
            logger.warning("%d position(s) still open after close round %d; closing what remains",
                           len(report.remaining_positions), round_number)
            report.closes.append((yield from close_plan(exchange, symbol, recv_window, inverse)))
    except (ccxt.RateLimitExceeded, ccxt.DDoSProtection, ccxt.NetworkError) as e:
        # The first close went out; report what is known rather than lose it.
        report.error = e
        report.refused_close_requests = getattr(e, "close_requests", 0)
        logger.warning("re-close rounds stopped: %s", error_text(e))
    if report.success:
        try:
            history = yield Call(ORDER_HISTORY_METHOD[inverse], {**scope, "limit": 1000})
            report.closed_orders = _describe_orders(history, report.success, report.currencies)
        except ccxt.BaseError as e:
            logger.warning("could not read the close's orders for the report: %s", error_text(e))
    return report


def flatten(exchange: Any, symbol: str | None = None, *, recv_window: int | None = None, inverse: bool = False,
            cancel_orders: bool = True, rounds: int = DEFAULT_ROUNDS) -> FlattenReport:
    """Close everything (or ``symbol``), cancel open orders, re-close leftovers; sync ``ccxt.bingx``."""
    native, inverse = check_arguments(symbol, recv_window, inverse, exchange)
    return run_sync(exchange, flatten_plan(exchange, native, recv_window, inverse, cancel_orders, rounds))


async def flatten_async(exchange: Any, symbol: str | None = None, *, recv_window: int | None = None,
                        inverse: bool = False, cancel_orders: bool = True, rounds: int = DEFAULT_ROUNDS) -> FlattenReport:
    """The awaitable twin of :func:`flatten`."""
    native, inverse = check_arguments(symbol, recv_window, inverse, exchange)
    return await run_async(exchange, flatten_plan(exchange, native, recv_window, inverse, cancel_orders, rounds))


def read_account(exchange: Any, symbol: str | None = None, *, inverse: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(open positions, open orders), read concurrently; sends nothing that trades."""
    native, inverse = check_arguments(symbol, None, inverse, exchange)
    scope = {"symbol": native} if native else {}

    def plan() -> Plan:
        (positions, p_error), (orders, o_error) = yield Together(
            (_call(Call(POSITIONS_METHOD[inverse], scope)), _call(Call(OPEN_ORDERS_METHOD[inverse], scope)))
        )
        for error in (p_error, o_error):
            if error is not None:
                raise error
        data = orders.get("data") if isinstance(orders, dict) else None
        order_list = data.get("orders") if isinstance(data, dict) else data
        return open_positions(positions, native), [o for o in order_list or [] if isinstance(o, dict)]

    return run_sync(exchange, plan())
