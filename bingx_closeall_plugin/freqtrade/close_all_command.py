"""``/closeall [symbol]`` from inside the bot: the account-wide kill switch.

pause entries -> the core's :func:`~bingx_closeall_plugin.core.flatten.flatten` (close everything or one symbol,
entries cancelled beside it, stops and take-profits only once their position is flat) -> reconcile the bot's
trades (:mod:`.books`, :mod:`.reconcile`). Run by :meth:`.flatten.Flattener.close_all`, which makes it the only
flatten running. (The core's ``closeall.py`` and ``flatten.py`` are the close itself; this is the bot's command.)
"""

from __future__ import annotations

import logging
from typing import Any

import ccxt
from freqtrade.enums import State
from freqtrade.persistence import Trade

from ..core.errors import failure_text
from ..core.flatten import flatten
from ..core.symbols import to_native
from . import books, reconcile
from .answers import answer, closed_trade, per_symbol
from .running import RunningFlatten

logger = logging.getLogger(__name__)

__all__ = ["run"]


def run(flattener: RunningFlatten, symbol: str | None) -> dict[str, Any]:
    """Close every position on the account (or on ``symbol``, BingX's name), then book the bot's trades."""
    ft = flattener.ft
    if ft.state == State.RUNNING:
        ft.state = State.PAUSED  # no new entries: the bot must not re-enter on its next loop
        logger.warning("BingX /closeall: entries paused (use /start to resume).")
    api = flattener.api
    trades = [t for t in Trade.get_open_trades() if symbol is None or to_native(t.pair, api) == symbol]
    flattener.claim(trades)  # from here until the books are written, nobody else books or touches them
    intent = reconcile.persist_intent(trades, api)
    try:
        report = flatten(api, symbol, rate_limit_wait=flattener.rate_limit_wait, on_wait=flattener.on_wait)
    except ccxt.BaseError as e:
        return _refused(flattener, trades, e)
    with flattener.bookkeeping(trades) as trades:
        # The cancels answered with ids only: each bot order is read back once.
        trades, attached, history_error = books.record_and_attach(
            flattener, trades, dict.fromkeys(report.cancelled_orders or []), intent.started_ms)
        fallbacks = books.fall_back(flattener, trades, close_ids={str(i) for i in report.success})
        reconcile.clear_intent(trades)  # the wallets were refreshed once by attach_exit_orders
        by_symbol = per_symbol(report, trades, attached)
        closed = [closed_trade(t, attached) for t in trades if t.id in attached]
        kept = books.kept_stops(trades)
    result = (f"Closed {len(report.closed_orders)} position(s) in {report.close_requests} BingX request(s); "
              f"{len(report.failed)} failed; {len(report.remaining_positions)} still open; "
              f"{len(attached)} bot trade(s) closed; entries paused.")
    problems = []
    if report.error is not None:
        problems.append(failure_text("A further close round", report.error,
                                     f"{len(report.remaining_positions)} position(s) may still be open; "
                                     "their stops and take-profits were kept."))
    if report.orders_left:
        problems.append(f"Cancelling open orders failed: {report.cancel_error}. Orders may still rest at BingX.")
    if history_error is not None:
        problems.append(failure_text("Reading BingX's order history after the close", history_error,
                                     "The positions are closed at BingX; the bot's trades stay open in the "
                                     "database until freqtrade's loop or the next start-up reconciles them."))
    for text in problems:
        result += " " + text
    details = report.to_dict()
    return answer(result, per_symbol=by_symbol, failed=report.failed, fallbacks=fallbacks,
                  remaining_positions=details["remaining_positions"],
                  cancelled_orders=report.cancelled_orders, kept_orders=details.get("kept_orders") or None,
                  kept_stoplosses=kept or None, close_requests=report.close_requests, closed=closed,
                  status="done" if report.flat and not problems else "partial",
                  error=" ".join(problems) or None)


def _refused(flattener: RunningFlatten, trades: list[Trade], error: BaseException) -> dict[str, Any]:
    """The close was refused (after any wait for a rate limit): say what was and was not done."""
    report = getattr(error, "flatten_report", None)
    cancelled = list(getattr(report, "cancelled_orders", None) or [])
    kept = list(getattr(report, "kept_orders", None) or [])
    with flattener.bookkeeping(trades) as trades:
        if cancelled:
            books.record_cancelled(flattener, trades, dict.fromkeys(cancelled))
    reconcile.clear_intent(trades)
    state = "Nothing was closed; entries stay paused."
    if cancelled:
        state += f" {len(cancelled)} order(s) that could open a position were cancelled."
    state += (f" {len(kept)} stop/take-profit order(s) of the open positions were kept." if kept
              else " Stops and take-profits were kept.")
    text = failure_text("The close-all", error, state)
    logger.error(f"BingX /closeall failed: {text}")
    return answer(text, status="failed", error=text, cancelled_orders=cancelled or None, kept_orders=kept or None,
                  close_requests=getattr(error, "close_requests", 1))
