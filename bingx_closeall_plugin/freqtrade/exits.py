"""The requests a bot flatten sends: the closes, and the cancels of the bot's orders, each at its moment.

- **Closes.** One closeAllPositions for the whole account when it holds only the bot's positions, else one
  per bot symbol, all sent at once. BingX allows 5 closeAllPositions per second per key (:mod:`..core.limits`);
  the symbols beyond that are exited at the same moment with a reduce-only market order for the position's
  amount, rather than paced to the next second: the account is flat one round trip after the press either
  way, and a refused close would count toward BingX's error penalty. Reduce-only cannot reverse a position.
- **Orders that can open or add to a position** (the bot's entries) are cancelled together with the close.
- **Protective orders** (stoplosses and reduce-only exits) are cancelled only once their position is flat:
  one cancel-all when everything is flat and every open order is the bot's, else per symbol. A refused or
  partial close leaves the stops of every position still open resting.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import ccxt
from freqtrade.persistence import Order, Trade

from ..core.closeall import CloseAllResult, close_all_positions
from ..core.limits import close_all_window
from ..core.methods import CANCEL_ALL, ORDER
from ..core.redaction import error_text
from ..core.symbols import to_native

logger = logging.getLogger(__name__)

__all__ = ["Sent", "cancel_openers", "cancel_protective", "is_opener", "send_closes"]

# Threads for the requests of one flatten sent at once: closes and cancels are independent of each other.
MAX_PARALLEL = 16


@dataclass
class Sent:
    """What the closes of one flatten did."""

    closes: list[CloseAllResult] = field(default_factory=list)
    market_exits: dict[str, str] = field(default_factory=dict)  #: native symbol -> reduce-only order id
    errors: dict[str, BaseException] = field(default_factory=dict)  #: native symbol ('' for all) -> error
    refused_close_requests: int = 0  #: close requests that went out for a close that ended in an error

    @property
    def close_requests(self) -> int:
        return sum(close.requests for close in self.closes) + self.refused_close_requests

    @property
    def error(self) -> BaseException | None:
        return next(iter(self.errors.values()), None)


def is_opener(order_obj: Order, trade: Trade) -> bool:
    """An entry order: it opens a position or adds to one (freqtrade's futures exits are reduce-only)."""
    return order_obj.ft_order_side == trade.entry_side


def send_closes(api: Any, symbols: list[str | None], positions: list[dict[str, Any]],
                rate_limit_wait: float = 0.0, on_wait: Any = None) -> Sent:
    """Close ``symbols`` (``[None]``: the whole account) at once; see the module docstring for the limit."""
    sent = Sent()
    if not symbols:
        return sent
    granted = close_all_window(api.apiKey).take(len(symbols))
    by_close, by_order = symbols[:granted], symbols[granted:]
    if by_order:
        logger.warning(f"BingX allows {granted} more closeAllPositions this second; exiting "
                       f"{', '.join(s or 'all' for s in by_order)} with reduce-only market orders at the same moment.")
    amounts = {p["symbol"]: p.get("positionAmt") for p in positions}

    def close(symbol: str | None) -> tuple[str | None, Any]:
        try:
            return symbol, close_all_positions(api, symbol, rate_limit_wait=rate_limit_wait, on_wait=on_wait)
        except ccxt.BaseError as e:
            logger.error(f"BingX closeAllPositions{' for ' + symbol if symbol else ''} failed: {error_text(e)}")
            return symbol, e

    def market_exit(symbol: str | None) -> tuple[str | None, Any]:
        try:
            return symbol, _reduce_only_exit(api, str(symbol), amounts.get(symbol))
        except ccxt.BaseError as e:
            logger.error(f"BingX reduce-only exit of {symbol} failed: {error_text(e)}")
            return symbol, e

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(symbols))) as pool:
        futures = [pool.submit(close, s) for s in by_close] + [pool.submit(market_exit, s) for s in by_order]
        for future, via_close in zip(futures, [True] * len(by_close) + [False] * len(by_order), strict=True):
            symbol, outcome = future.result()
            if isinstance(outcome, BaseException):
                sent.errors[symbol or ""] = outcome
                if via_close:
                    # The refused close went out too (once, or more after a resync or a verified re-send).
                    sent.refused_close_requests += getattr(outcome, "close_requests", 1)
            elif via_close:
                sent.closes.append(outcome)
            else:
                sent.market_exits[str(symbol)] = outcome
    return sent


def _reduce_only_exit(api: Any, symbol: str, amount: Any) -> str:
    """A reduce-only market order for a one-way position's whole amount; returns its order id."""
    try:
        signed = float(amount)
    except (TypeError, ValueError):
        raise ccxt.BadResponse(f"bingx position {symbol} has no readable amount: {amount!r}") from None
    if signed == 0:
        raise ccxt.InvalidOrder(f"bingx position {symbol} is already flat")
    answer = getattr(api, ORDER.linear)({
        "symbol": symbol, "type": "MARKET", "side": "SELL" if signed > 0 else "BUY", "positionSide": "BOTH",
        # the amount exactly as BingX wrote it: no float rounding between its answer and this order
        "quantity": str(amount).lstrip("-"), "reduceOnly": "true",
    })
    order = (answer.get("data") or {}).get("order") if isinstance(answer, dict) else None
    if not isinstance(order, dict) or order.get("orderId") is None:
        raise ccxt.BadResponse(f"bingx order answer has no order id: {answer!r:.200}")
    return str(order["orderId"])


def _cancel_all(api: Any, symbol: str | None) -> dict[str, Any]:
    answer = getattr(api, CANCEL_ALL.linear)({"symbol": symbol} if symbol else {})
    data = answer.get("data") if isinstance(answer, dict) else None
    cancelled = {}
    for row in (data or {}).get("success") or []:
        order = api.parse_order(row)
        cancelled[str(order["id"])] = order
    return cancelled


def _cancel(api: Any, groups: dict[Any, list[tuple[Trade, Order]]], whole: set[Any]) -> dict[str, Any]:
    """Cancel each group: one cancel-all where ``whole`` says every open order in its scope is in the group,
    else one cancel per order; all at once. Returns order id -> the cancelled order as BingX answered it."""
    jobs: list[tuple[Any, ...]] = []
    for scope, members in groups.items():
        if scope in whole:
            jobs.append((_cancel_all, api, scope))
        else:
            jobs.extend((api.cancel_order, order_obj.order_id, trade.pair) for trade, order_obj in members)
    cancelled: dict[str, Any] = {}
    if not jobs:
        return cancelled
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(jobs))) as pool:
        futures = [(job, pool.submit(*job)) for job in jobs]
        for job, future in futures:
            try:
                outcome = future.result()
            except ccxt.BaseError as e:  # reported; a cancel that failed leaves the order to freqtrade's loop
                logger.warning(f"Could not cancel {job[1] if job[0] is not _cancel_all else 'orders'}: {error_text(e)}")
                continue
            if job[0] is _cancel_all:
                cancelled.update(outcome)
            else:
                cancelled[str(job[1])] = outcome
    return cancelled


def _open_bot_orders(trades: list[Trade], account_orders: list[dict[str, Any]], api: Any,
                     wanted: Any) -> tuple[dict[str, list[tuple[Trade, Order]]], dict[str, set[str]]]:
    on_exchange = {str(o.get("orderId")) for o in account_orders}
    by_symbol: dict[str, list[tuple[Trade, Order]]] = {}
    for trade in trades:
        for order_obj in trade.orders:
            if order_obj.ft_is_open and order_obj.order_id in on_exchange and wanted(order_obj, trade):
                by_symbol.setdefault(to_native(trade.pair, api), []).append((trade, order_obj))
    account_by_symbol: dict[str, set[str]] = {}
    for order in account_orders:
        account_by_symbol.setdefault(str(order.get("symbol")), set()).add(str(order.get("orderId")))
    return by_symbol, account_by_symbol


def cancel_openers(api: Any, trades: list[Trade], account_orders: list[dict[str, Any]]) -> dict[str, Any]:
    """Cancel the trades' open entry orders: per symbol one cancel-all when every open order on it is such an
    entry, else one cancel each."""
    groups, on_symbol = _open_bot_orders(trades, account_orders, api, is_opener)
    whole = {s for s, members in groups.items() if on_symbol.get(s, set()) == {o.order_id for _, o in members}}
    return _cancel(api, dict(groups), whole)


def cancel_protective(api: Any, trades: list[Trade], account_orders: list[dict[str, Any]],
                      flat_symbols: set[str], account_flat: bool) -> dict[str, Any]:
    """Cancel the trades' stoplosses and exits on ``flat_symbols`` only: their positions are gone.

    ``account_flat`` with every open order on the account the bot's: one cancel-all for the account.
    """
    groups, on_symbol = _open_bot_orders(trades, account_orders, api, lambda o, t: not is_opener(o, t))
    groups = {s: m for s, m in groups.items() if s in flat_symbols}
    if not groups:
        return {}
    ours = {o.order_id for members in groups.values() for _, o in members}
    every_order = set().union(*on_symbol.values()) if on_symbol else set()
    if account_flat and every_order <= ours:
        return _cancel(api, {None: [m for members in groups.values() for m in members]}, {None})
    whole = {s for s, members in groups.items() if on_symbol.get(s, set()) == {o.order_id for _, o in members}}
    return _cancel(api, dict(groups), whole)
