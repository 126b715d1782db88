"""``/forceexit all`` on BingX: the bot's positions, one closeAllPositions when the account holds only them.

ask ``confirm_trade_exit`` per trade and persist the intent, while positions and open orders are read (one round
trip) -> at the same moment: ONE closeAllPositions when the account holds only the bot's positions, else one per
bot symbol (:mod:`.exits`: within BingX's 5/s, reduce-only market orders beyond it), and the cancel of the bot's
entry orders -> read positions -> cancel the stoplosses of the positions that are flat -> attach BingX's fills
to the trades (:mod:`.books`, :mod:`.reconcile`) -> per-trade force exit, freqtrade's own, for anything BingX
could not close. Run by :meth:`.flatten.Flattener.force_exit_all`, which makes it the only flatten running.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import ccxt
from freqtrade.enums import ExitType
from freqtrade.persistence import Trade
from freqtrade.strategy.strategy_wrapper import strategy_safe_wrapper

from ..core.clock import with_resync
from ..core.errors import failure_text
from ..core.flatten import read_account
from ..core.redaction import error_text
from ..core.symbols import to_native
from . import books, exits, reconcile
from .answers import answer, closed_trade
from .running import RunningFlatten

logger = logging.getLogger(__name__)

__all__ = ["run"]


def run(flattener: RunningFlatten) -> dict[str, Any]:
    """Close the bot's confirmed trades at BingX, then book what BingX did; the answer says both."""
    api = flattener.api
    # The account is read while the trades are read, confirmed by the strategy and marked with the intent: the
    # read sends nothing that trades, and at 200 trades that work is longer than its round trip, which the press
    # then no longer waits for.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bingx-read") as pool:
        account = pool.submit(_read_account, flattener)
        trades = Trade.get_open_trades()
        if not trades:
            return answer("No open trades to exit.", status="done")
        confirmed, vetoed = _confirm(flattener.ft, trades)
        if not confirmed:
            return answer(f"Every open trade's exit was denied by the strategy ({len(vetoed)}).",
                          vetoed=[t.id for t in vetoed], status="done")
        flattener.claim(confirmed)  # from here until the books are written, nobody else books or touches them
        intent = reconcile.persist_intent(confirmed, api)
    try:
        positions, orders = account.result()
    except ccxt.BaseError as e:
        reconcile.clear_intent(confirmed)  # nothing was sent: no flatten for a start-up to finish
        text = failure_text("Reading BingX positions and open orders", e,
                            "Nothing was sent; every trade stays open with its stoploss.")
        logger.error(f"BingX /forceexit all: {text}")
        return answer(text, status="failed", error=text, step="read_account", close_requests=0)
    bot_symbols = {to_native(t.pair, api) for t in confirmed}
    account_symbols = {p["symbol"] for p in positions}
    # One request only when it cannot touch anything the bot does not own (or a trade the strategy kept).
    single = account_symbols <= bot_symbols
    symbols: list[str | None] = [None] if single else [*sorted(bot_symbols & account_symbols)]
    # The close and the cancel of the bot's entries go out at the same moment; its stoplosses stay until
    # their position is flat (a refused close must not leave a position without its stop).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bingx-cancel") as pool:
        openers = pool.submit(exits.cancel_openers, api, confirmed, orders)
        sent = exits.send_closes(api, symbols, positions, flattener.rate_limit_wait, flattener.on_wait)
        cancelled = _result_or_empty(openers, "the cancel of the bot's entry orders")
    still = _open_symbols(flattener)
    if still is not None:
        flat = bot_symbols - still
        cancelled.update(exits.cancel_protective(api, confirmed, orders, flat, single and not still))
    with flattener.bookkeeping(confirmed) as confirmed:
        return _bookkeeping(flattener, confirmed, vetoed, cancelled, intent, sent)


def _bookkeeping(flattener: RunningFlatten, confirmed: list[Trade], vetoed: list[Trade], cancelled: dict[str, Any],
                 intent: Any, sent: exits.Sent) -> dict[str, Any]:
    api = flattener.api
    flatten_ids = {t.id for t in confirmed}
    confirmed, attached, history_error = books.record_and_attach(flattener, confirmed, cancelled, intent.started_ms)
    leftovers: list[str] = []
    unreconciled: list[Trade] = []
    fallbacks = books.fall_back(flattener, confirmed, leftovers, unreconciled if history_error else None,
                                flatten_ids, {str(i) for close in sent.closes for i in close.success})
    leftover_error = None
    if leftovers:
        # A late fill (a stop or an entry that raced the cancel) reopened a position the close had just closed:
        # no trade owns it any more, so the bot would never manage or exit it. Close it (bounded: once).
        logger.warning(f"Position(s) on {', '.join(leftovers)} reappeared after the close and belong to no "
                       "open trade; closing them.")
        more = exits.send_closes(api, list(leftovers), books.positions(flattener.api), flattener.rate_limit_wait,
                                 flattener.on_wait)
        sent.closes += more.closes
        sent.market_exits.update(more.market_exits)
        sent.refused_close_requests += more.refused_close_requests
        leftover_error = more.error
    # the wallets were refreshed once by attach_exit_orders; an unreconciled trade keeps its intent
    reconcile.clear_intent([t for t in confirmed if t not in unreconciled])
    failed = [entry for close in sent.closes for entry in close.failed]
    closed = [closed_trade(t, attached) for t in confirmed if t.id in attached]
    result = (f"Closed {len(closed)} trade(s) with {sent.close_requests} BingX closeAllPositions "
              f"request(s); {len(failed)} failed at BingX; {len(fallbacks)} exited one by one; "
              f"{len(vetoed)} kept by the strategy.")
    if sent.market_exits:
        result += (f" {len(sent.market_exits)} symbol(s) beyond BingX's close-all limit of 5/s exited with "
                   f"reduce-only market orders.")
    problems = []
    if sent.error is not None:
        state = (f"{len(fallbacks)} trade(s) exited one by one instead; their stoplosses stayed on BingX until "
                 "then." if fallbacks else "The trades whose position is still open keep their stoplosses.")
        problems.append(failure_text("The close", sent.error, state))
    if history_error is not None:
        problems.append(failure_text(
            "Reading BingX's order history after the close", history_error,
            f"The positions are closed at BingX; trade(s) {[t.id for t in unreconciled]} stay open in the "
            "database until the next start-up reconciles them from the history." if unreconciled else
            "The trades could not be reconciled from it."))
    if leftover_error is not None:
        problems.append(failure_text(f"The close of the reappeared position(s) on {', '.join(leftovers)}",
                                     leftover_error, "They may still be open at BingX."))
    if unreconciled:
        logger.error(f"Trades {[t.id for t in unreconciled]}: their positions are closed at BingX but the order "
                     "history could not be read; they will be reconciled from it at the next start-up.")
    for text in problems:
        result += " " + text
    return answer(result, closed=closed, failed=failed, fallbacks=fallbacks, vetoed=[t.id for t in vetoed],
                  close_requests=sent.close_requests, market_exits=sent.market_exits or None,
                  kept_stoplosses=books.kept_stops(confirmed) or None,
                  error=" ".join(problems) or None, status="done" if not problems else "partial")


def _confirm(ft: Any, trades: list[Trade]) -> tuple[list[Trade], list[Trade]]:
    """freqtrade asks ``confirm_trade_exit`` before every force exit; so does the flatten."""
    confirmed: list[Trade] = []
    vetoed: list[Trade] = []
    now = datetime.now(UTC)
    for trade in trades:
        try:
            rate = ft.exchange.get_rate(trade.pair, side="exit", is_short=trade.is_short, refresh=False)
        except Exception:  # noqa: BLE001 - a missing rate must not stop the panic button
            rate = trade.open_rate
        allowed = strategy_safe_wrapper(ft.strategy.confirm_trade_exit, default_retval=True)(
            pair=trade.pair, trade=trade, order_type="market", amount=trade.amount, rate=rate,
            time_in_force="GTC", exit_reason=ExitType.FORCE_EXIT.value,
            sell_reason=ExitType.FORCE_EXIT.value, current_time=now,
        )
        (confirmed if allowed else vetoed).append(trade)
        if not allowed:
            logger.info(f"Strategy denied the force exit of trade {trade.id} ({trade.pair}); leaving it open.")
    return confirmed, vetoed


def _read_account(flattener: RunningFlatten) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Positions and open orders; a read refused for its timestamp resynchronises with BingX's clock once."""
    return with_resync(flattener.api, lambda: read_account(flattener.api))


def _open_symbols(flattener: RunningFlatten) -> set[str] | None:
    """The symbols with a position now, or None (logged) when BingX cannot be read."""
    try:
        return {p["symbol"] for p in books.positions(flattener.api)}
    except ccxt.BaseError as e:
        logger.warning(f"Could not read positions after the close; stoplosses are kept: {error_text(e)}")
        return None


def _result_or_empty(future: Future, what: str) -> dict[str, Any]:
    try:
        return future.result()
    except Exception as e:  # noqa: BLE001 - reported; the close's outcome must still be booked
        logger.warning(f"{what} failed: {error_text(e)}")
        return {}
