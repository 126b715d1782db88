"""The trade bookkeeping both bot flattens share, once BingX has answered the close.

freqtrade's order records for the orders the flatten cancelled, BingX's fills attached to the trades
(:mod:`.reconcile`), freqtrade's own per-trade exit for whatever BingX did not close, and the stoplosses kept
for the trades still open. Callers hold the bot's exit lock (:meth:`.flatten.Flattener.bookkeeping`).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ccxt
from freqtrade.enums import ExitCheckTuple, ExitType
from freqtrade.persistence import Trade

from ..core.closeall import open_positions
from ..core.methods import POSITIONS
from ..core.redaction import error_text
from ..core.symbols import to_native
from . import reconcile
from .running import RunningFlatten

logger = logging.getLogger(__name__)

__all__ = ["CANCEL_REASON", "fall_back", "kept_stops", "positions", "record_and_attach", "record_cancelled"]

CANCEL_REASON = "BingX flatten"


def positions(api: Any) -> list[dict[str, Any]]:
    """The open positions on the account (one signed request)."""
    return open_positions(getattr(api, POSITIONS.linear)({}))


def record_cancelled(flattener: RunningFlatten, trades: list[Trade], cancelled: dict[str, Any]) -> list[Trade]:
    """freqtrade's order records for orders the flatten cancelled; returns the trades still open.

    ``cancelled`` maps order id -> BingX's answer, or None where only the id is known (then it is read).
    An entry cancelled with no fill ends its trade, as freqtrade's own cancel does; an entry still open in the
    books that the flatten did not cancel (BingX filled it) is brought up to date first.
    """
    ft = flattener.ft
    remaining = []
    for trade in trades:
        for order_obj in [o for o in trade.orders if o.ft_is_open and o.ft_order_side == trade.entry_side
                          and o.order_id not in cancelled]:
            # An entry BingX filled before the flatten claimed the trade, not booked yet (the loop books fills and
            # leaves claimed trades alone): booked now, freqtrade's own way, so the close's fills are attached to
            # the trade's real amount rather than missed (a trade of amount 0 needs no close order).
            ft.update_trade_state(trade, order_obj.order_id)
        for order_obj in [o for o in trade.orders if o.ft_is_open and o.order_id in cancelled]:
            stop = order_obj.ft_order_side == "stoploss"
            order = cancelled[order_obj.order_id] or ft.exchange.fetch_order_or_stoploss_order(
                order_obj.order_id, trade.pair, stop)
            if stop and ft.exchange.check_order_canceled_empty(order):
                # All update_trade_state does with a stop cancelled unfilled (Trade.update_order), without its
                # commit per order: at 50 trades one commit below instead of 50 before the books can close.
                order_obj.update_from_ccxt_object(order)
            elif stop:
                ft.update_trade_state(trade, order_obj.order_id, order, stoploss_order=True)
            elif order_obj.ft_order_side == trade.entry_side:
                if ft.handle_cancel_enter(trade, order, order_obj, CANCEL_REASON):
                    logger.info(f"Trade {trade.id} had no fill before its entry was cancelled.")
                Trade.commit()  # freqtrade's cancel may delete the trade: committed before it is looked up
            else:
                ft.handle_cancel_exit(trade, order, order_obj, CANCEL_REASON)
        if trade.is_open and Trade.session.get(Trade, trade.id) is not None:
            remaining.append(trade)
    Trade.commit()
    return remaining


def record_and_attach(flattener: RunningFlatten, trades: list[Trade], cancelled: dict[str, Any], since_ms: int,
                      ) -> tuple[list[Trade], dict[int, list[str]], BaseException | None]:
    """The orders the flatten cancelled recorded (:func:`record_cancelled`), then BingX's fills attached.

    Returns the trades still open after the records, the attached order ids per trade id, and the error of an
    unreadable order history (reported, not raised after the close went out). The history is read while the
    cancelled orders are recorded: the read does not depend on them, and the close's fills are in it (the
    positions already read flat). The trades it leaves open whose position is gone keep their intent: the next
    start-up finishes them from the history (:func:`.reconcile.recover_interrupted`), unless freqtrade's own
    loop does first.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bingx-history") as pool:
        history = pool.submit(reconcile.read_history, flattener.api, since_ms)
        trades = record_cancelled(flattener, trades, cancelled)
        try:
            rows = history.result()
        except ccxt.BaseError as e:
            logger.error(f"Could not read BingX's order history to reconcile the trades: {error_text(e)}")
            return trades, {}, e
    return trades, reconcile.attach_exit_orders(flattener.ft, trades, since_ms, rows), None


def fall_back(flattener: RunningFlatten, trades: list[Trade], leftovers: list[str] | None = None,
              unreconciled: list[Trade] | None = None, flatten_ids: set[int] | None = None,
              close_ids: set[str] | frozenset[str] = frozenset()) -> list[int]:
    """freqtrade's own per-trade exit for every trade whose position BingX did not close.

    ``leftovers``, when given, receives the trades' symbols that hold a position although every trade on
    them is closed now and no other open trade holds the symbol (read from the same positions answer).
    ``unreconciled``, when given (the history could not be read), receives the trades whose position is
    gone, instead of handing them to freqtrade's ``handle_onexchange_order``, which reads the same history
    per pair. ``flatten_ids``: the trades this flatten handles; an open trade outside them owns its symbol.
    ``close_ids``: the order ids BingX answered the flatten's closes with.
    """
    ft = flattener.ft
    api = flattener.api
    open_trades = [t for t in trades if t.is_open]
    if not open_trades and leftovers is None:
        return []
    still = {p["symbol"] for p in positions(flattener.api)}
    if leftovers is not None:
        # Never take another trade's position for a leftover: a trade the flatten does not handle (kept by
        # the strategy, or opened after it started) owns what is open on its symbol.
        others = {to_native(t.pair, api) for t in Trade.get_open_trades() if t.id not in (flatten_ids or set())}
        leftovers.extend(sorted(still & {to_native(t.pair, api) for t in trades}
                                - {to_native(t.pair, api) for t in open_trades} - others))
    fallbacks = []
    for trade in open_trades:
        if to_native(trade.pair, api) not in still:
            if unreconciled is not None:
                unreconciled.append(trade)
                continue
            # The position is gone but no close order was found for it: freqtrade's own recovery.
            ft.handle_onexchange_order(trade)
            _keep_the_flattens_reason(trade, close_ids)
            continue
        logger.warning(f"Trade {trade.id} ({trade.pair}) is still open at BingX; exiting it one by one.")
        rate = ft.exchange.get_rate(trade.pair, side="exit", is_short=trade.is_short, refresh=True)
        if ft.execute_trade_exit(trade, rate, ExitCheckTuple(exit_type=ExitType.FORCE_EXIT), ordertype="market"):
            fallbacks.append(trade.id)
    Trade.commit()
    return fallbacks


def _keep_the_flattens_reason(trade: Trade, close_ids: set[str] | frozenset[str]) -> None:
    """freqtrade's recovery books an order it did not know as ``sold_on_exchange``; when that order is one of the
    flatten's own closes (BingX's history did not list it yet, the pair's order list did), it is a ``force_exit``."""
    closes = [o for o in trade.orders if o.order_id in close_ids and o.ft_order_side == trade.exit_side]
    if trade.is_open or not closes:
        return
    for order_obj in closes:
        order_obj.ft_order_tag = ExitType.FORCE_EXIT.value
    trade.exit_reason = ExitType.FORCE_EXIT.value


def kept_stops(trades: list[Trade]) -> list[dict[str, Any]]:
    """The stoplosses still resting for trades still open: said in every answer, so nobody wonders."""
    return [{"trade_id": t.id, "pair": t.pair, "order_id": o.order_id}
            for t in trades if t.is_open for o in t.orders if o.ft_is_open and o.ft_order_side == "stoploss"]
