"""Which open orders a flatten cancels, and when.

An order that can open a position or add to one (an entry, a plain stop) is cancelled at once, beside
the close: left resting, it can reopen what the close just closed. A position's protection (its
reduce-only and close-position orders, and in hedge mode the closing legs LONG+SELL / SHORT+BUY: its
stop-losses and take-profits) is cancelled only once that position is flat, so a close that BingX
refuses, or that leaves a position open, never leaves that position without its stop.

Cancelling is idempotent, so a cancel lost in transit or refused for its timestamp (before the close
resynchronised the clock) is tried once more by the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import ccxt

from .closeall import exact_id
from .methods import CANCEL_ALL, CANCEL_ONE, OPEN_ORDERS
from .plans import Call, Interrupted, Plan, Together

logger = logging.getLogger(__name__)



def _truthy(value: Any) -> bool:
    # BingX sends booleans; some answers carry them as strings.
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def is_protective(order: dict[str, Any]) -> bool:
    """Can this order only reduce or close a position (a stop-loss, a take-profit)?"""
    if _truthy(order.get("reduceOnly")) or _truthy(order.get("closePosition")):
        return True
    side, position_side = str(order.get("side") or "").upper(), str(order.get("positionSide") or "").upper()
    # Hedge mode: BingX's reduceOnly cannot be set there; the closing leg of a side is the opposite trade.
    return (position_side, side) in (("LONG", "SELL"), ("SHORT", "BUY"))


def order_id(order: dict[str, Any]) -> str:
    return str(exact_id(order.get("orderId")))


def summary(order: dict[str, Any]) -> dict[str, Any]:
    """What a report shows of an order."""
    return {
        "orderId": order_id(order),
        "symbol": order.get("symbol"),
        "type": order.get("type"),
        "side": order.get("side"),
        "positionSide": order.get("positionSide"),
        "stopPrice": str(order.get("stopPrice") or ""),
    }


def orders_in(answer: Any) -> list[dict[str, Any]]:
    """The order objects in an openOrders answer (``data.orders``) or a cancel answer (``data.success``)."""
    data = answer.get("data") if isinstance(answer, dict) else None
    orders = data.get("orders", data.get("success")) if isinstance(data, dict) else data
    if orders is None:
        return []
    if not isinstance(orders, list):
        raise ccxt.BadResponse(f"bingx answered orders that are not a list: {answer!r:.200}")
    return [o for o in orders if isinstance(o, dict)]


def retryable(error: BaseException | None) -> bool:
    """Refused for its timestamp or lost on the way: worth sending once more (cancels are idempotent)."""
    return isinstance(error, (ccxt.InvalidNonce, ccxt.NetworkError)) and not isinstance(
        error, (ccxt.RateLimitExceeded, ccxt.DDoSProtection))


@dataclass
class Cancelled:
    """What one cancelling step did: the open orders it read (None if unread), what it cancelled, its error."""

    orders: list[dict[str, Any]] | None = None
    cancelled: list[dict[str, Any]] = field(default_factory=list)  #: summaries of the orders cancelled
    error: BaseException | None = None


def _cancel_all(inverse: bool, scope: dict[str, Any]) -> Plan:
    answer = yield Call(CANCEL_ALL.method(inverse), dict(scope))
    return [summary(o) for o in orders_in(answer)]


def _cancel_one(inverse: bool, order: dict[str, Any]) -> Plan:
    try:
        yield Call(CANCEL_ONE.method(inverse), {"symbol": order.get("symbol"), "orderId": order_id(order)})
    except ccxt.OrderNotFound:
        # Filled or cancelled since it was read: it is not resting any more, and not ours to report.
        logger.info("order %s was no longer open when cancelled", order_id(order))
        return []
    return [summary(order)]


def _run_cancels(plans: list[Plan], into: Cancelled) -> Plan:
    """Every cancel at once; each one's cancelled orders kept, the first error remembered."""
    for done, error in (yield Together(tuple(plans))) if plans else []:
        if error is not None:
            into.error = into.error or error
        else:
            into.cancelled.extend(done)


def cancel_openers(inverse: bool, scope: dict[str, Any]) -> Plan:
    """Read the open orders, then cancel at once those that can open or add to a position.

    Per symbol: one cancel-all when every open order on it is an opener, else each opener by id.
    Never raises: what it read, cancelled and failed with comes back as :class:`Cancelled`.
    """
    result = Cancelled()
    try:
        result.orders = orders_in((yield Call(OPEN_ORDERS.method(inverse), dict(scope))))
        plans: list[Plan] = []
        for symbol, orders in _by_symbol(result.orders).items():
            openers = [o for o in orders if not is_protective(o)]
            if openers and len(openers) == len(orders):
                plans.append(_cancel_all(inverse, {"symbol": symbol}))
            else:
                plans.extend(_cancel_one(inverse, o) for o in openers)
        yield from _run_cancels(plans, result)
    except (ccxt.BaseError, Interrupted) as e:
        result.error = e
    return result


def cancel_protection(inverse: bool, scope: dict[str, Any], orders: list[dict[str, Any]] | None,
                      open_symbols: Iterable[str]) -> Plan:
    """Cancel the orders of every flat position: one cancel-all over ``scope`` when nothing is open,
    else one cancel-all per symbol that is flat now and still had orders (``orders``, read before the
    close; read again here if that read failed). Orders on ``open_symbols`` stay resting."""
    result = Cancelled(orders=orders)
    open_symbols = set(open_symbols)
    try:
        if not open_symbols:
            result.cancelled = yield from _cancel_all(inverse, scope)
            return result
        if result.orders is None:
            result.orders = orders_in((yield Call(OPEN_ORDERS.method(inverse), dict(scope))))
        flat = [symbol for symbol in _by_symbol(result.orders) if symbol not in open_symbols]
        yield from _run_cancels([_cancel_all(inverse, {"symbol": symbol}) for symbol in flat], result)
    except (ccxt.BaseError, Interrupted) as e:
        result.error = e
    return result


def _by_symbol(orders: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for order in orders:
        grouped.setdefault(str(order.get("symbol")), []).append(order)
    return grouped
