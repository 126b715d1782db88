"""Flatten from inside freqtrade: ``/forceexit all``, ``/closeall`` and the strategy hook, one BingX request.

freqtrade's own ``/forceexit all`` exits trade by trade under the exit lock (six to eight signed requests
each; one exception ends the loop). On the plugin's BingX futures exchange, live, the :class:`Flattener`
replaces that loop:

``/forceexit all`` (bot-owned positions only)
    ask ``confirm_trade_exit`` per trade -> read positions and open orders (one round trip) -> persist the
    intent -> at the same moment: ONE closeAllPositions when the account holds only the bot's positions, else
    one per bot symbol (:mod:`.exits`: within BingX's 5/s, reduce-only market orders beyond it), and the cancel
    of the bot's entry orders -> read positions -> cancel the stoplosses of the positions that are flat ->
    attach BingX's fills to the trades (:mod:`.reconcile`) -> per-trade force exit, freqtrade's own, for
    anything BingX could not close.
``/closeall`` (the account-wide kill switch)
    pause entries -> the core's :func:`~bingx_closeall_plugin.flatten.flatten` (close everything or one
    symbol, entries cancelled beside it, stops and take-profits only once their position is flat) ->
    reconcile the bot's trades.

Everything up to the close goes out at once, on the flatten's own ccxt client with no throttle (the bot's
client and its throttle are left alone); the bookkeeping (order records, fills, fallbacks) then waits for the
bot's exit lock, which its loop holds while it checks every trade's stoploss. No entry is executed while a
flatten runs. Two flattens at once make one exchange call: the second is told one is in progress. In
dry-run, and on any other exchange or trading mode, ``/forceexit all`` is freqtrade's own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import ccxt
from freqtrade.enums import ExitCheckTuple, ExitType, RPCMessageType, State, TradingMode
from freqtrade.persistence import Trade
from freqtrade.strategy.strategy_wrapper import strategy_safe_wrapper

from ..closeall import open_positions, with_resync
from ..errors import failure_text
from ..flatten import DEFAULT_RATE_LIMIT_WAIT, FlattenReport, flatten, read_account
from ..methods import POSITIONS
from ..redaction import error_text
from ..symbols import to_native, unified_name
from . import exits, reconcile
from .install import attach

logger = logging.getLogger(__name__)

__all__ = ["Flattener", "get_flattener", "register_bot", "request_flatten"]

CANCEL_REASON = "BingX flatten"
# How long a flatten waits for an entry already under way to finish before it reads the account.
ENTRY_WAIT_S = 10.0
# How often a rate-limit wait is announced while it runs.
WAIT_SAID_EVERY_S = 5.0

_registry_lock = threading.Lock()
_bot: Any = None  # the FreqtradeBot of this process, for the strategy hook


def register_bot(freqtrade: Any) -> None:
    """Remember this process's bot (called from the start-up hook) so strategies can reach it."""
    global _bot
    with _registry_lock:
        _bot = freqtrade


def get_flattener(freqtrade: Any) -> Flattener:
    with _registry_lock:
        flattener = getattr(freqtrade, "_bingx_flattener", None)
        if flattener is None:
            flattener = Flattener(freqtrade)
            attach(freqtrade, "_bingx_flattener", flattener, "the bot's one flatten path (at most one runs at a time)")
        return flattener


class Flattener:
    """The one flatten path of a bot; at most one runs at a time."""

    def __init__(self, freqtrade: Any) -> None:
        self.ft = freqtrade
        self._busy = threading.Lock()
        self._holding_exit_lock = False  # taken at once when free; see _exclusive
        self._worker: ThreadPoolExecutor | None = None
        # Entries wait for no flatten and no flatten for entries: see entry() and _exclusive()
        self._entries = threading.Condition()
        self._entries_in_flight = 0
        self._flattening = False
        self._wait_said: float | None = None  # seconds left when a rate-limit wait was last announced
        self._closing: frozenset[int] = frozenset()  # trades whose close is out; see leaves_alone()

    def applies(self) -> bool:
        """Live futures on the plugin's BingX class: the only case the one-request path replaces.

        ``BINGX_ONE_REQUEST_FLATTEN=0`` in the bot's environment switches the override off (freqtrade's own
        per-trade loop, e.g. to compare the two).
        """
        from .exchange import Bingx

        return (
            os.environ.get("BINGX_ONE_REQUEST_FLATTEN", "1").strip().lower() not in ("0", "false", "no", "off")
            and isinstance(self.ft.exchange, Bingx)
            and self.ft.trading_mode == TradingMode.FUTURES
            and not self.ft.config.get("dry_run", True)
        )

    @property
    def api(self) -> Any:
        """The flatten's own ccxt client: the bot's throttle and requests are left alone while it runs."""
        return self.ft.exchange.flatten_api()

    @property
    def rate_limit_wait(self) -> float:
        """Seconds a rate-limited close may wait for BingX's unblock time (``exchange.bingx_rate_limit_wait``)."""
        value = self.ft.config.get("exchange", {}).get("bingx_rate_limit_wait", DEFAULT_RATE_LIMIT_WAIT)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 \
            else DEFAULT_RATE_LIMIT_WAIT

    def _on_wait(self, seconds_left: float, retry_after_ms: int) -> None:
        """A rate-limited close is being waited out: said in the log and to the operator's chat as it runs
        (at its start, then every 5 s), so a silent pause is never mistaken for a hung bot."""
        with self._entries:
            last = self._wait_said
            if last is not None and 0 <= last - seconds_left < WAIT_SAID_EVERY_S:
                return
            self._wait_said = seconds_left
        at = datetime.fromtimestamp(retry_after_ms / 1000, UTC).strftime("%H:%M:%S UTC")
        text = (f"BingX rate limited the close until {at}: sending it again in {seconds_left:.0f} s "
                f"(waits up to {self.rate_limit_wait:g} s, exchange.bingx_rate_limit_wait).")
        logger.warning(text)
        try:
            self.ft.rpc.send_msg({"type": RPCMessageType.WARNING, "status": text})
        except Exception as e:  # noqa: BLE001 - a chat that cannot be told must not stop the close
            logger.warning(f"Could not send the rate-limit notice: {error_text(e)}")

    # ------------------------------------------------------------------ entries during a flatten
    @contextmanager
    def entry(self) -> Iterator[bool]:
        """Around every entry the bot executes: yields False (skip it) while a flatten runs.

        No trade may be opened while a flatten runs: a position it opens between the account read and the
        close would be closed by it and owned by no trade the flatten handles, or taken for a position that
        reappeared. Skipping never blocks, so a force entry holding the exit lock cannot deadlock a flatten
        waiting for that lock; the bot's loop simply tries again on its next iteration.
        """
        with self._entries:
            if self._flattening:
                yield False
                return
            self._entries_in_flight += 1
        try:
            yield True
        finally:
            with self._entries:
                self._entries_in_flight -= 1
                self._entries.notify_all()

    def _stop_entries(self) -> None:
        with self._entries:
            self._flattening = True
            # An entry already under way finishes first (bounded), so its trade is one the flatten sees.
            if not self._entries.wait_for(lambda: self._entries_in_flight == 0, timeout=ENTRY_WAIT_S):
                logger.warning("An entry is still under way after %s s; flattening without waiting for it.",
                               ENTRY_WAIT_S)

    # ------------------------------------------------------------------ the loop during a flatten
    def leaves_alone(self, trade: Trade) -> bool:
        """True for a trade whose close this flatten has sent: the bot's loop skips its stop and exit handling.

        Once the close is out the flatten owns these trades until its bookkeeping is done: what the loop would
        do with them is act on a stop the flatten just cancelled (re-place it: a request BingX refuses for a
        closed position) or price an exit that is already filled. Skipping them lets a loop iteration the press
        landed in give up the exit lock, which the bookkeeping waits for, within milliseconds instead of after
        its per-trade work (about 0.2 s at 50 trades). Before the close is out (a rate-limited close being
        waited out included), and for trades the flatten does not close, the loop goes on as usual.
        """
        return trade.id in self._closing

    def _resume_entries(self) -> None:
        with self._entries:
            self._flattening = False
            self._wait_said = None

    # ------------------------------------------------------------------ entry points
    def force_exit_all(self) -> dict[str, Any]:
        """``/forceexit all``: the bot's positions, one request when the account holds only them."""
        return self._exclusive(self._force_exit_all)

    def close_all(self, symbol: str | None = None) -> dict[str, Any]:
        """``/closeall [symbol]``: stop entries, cancel all orders, close every position on the account."""
        native = to_native(symbol, self.ft.exchange._api) if symbol else None  # bad input refused first
        return self._exclusive(lambda: self._close_all(native))

    def submit(self, *, account_wide: bool = False, symbol: str | None = None) -> Future:
        """Run a flatten on the plugin's worker thread: safe from any strategy callback, locked or not."""
        with _registry_lock:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bingx-flatten")
        return self._worker.submit(self._in_worker, account_wide, symbol)

    def _in_worker(self, account_wide: bool, symbol: str | None) -> dict[str, Any]:
        try:
            if not self.applies():
                from freqtrade.rpc import RPC

                # dry-run or another mode: freqtrade's own per-trade force exit, as /forceexit all does there.
                return RPC(self.ft)._rpc_force_exit("all")
            return self.close_all(symbol) if account_wide else self.force_exit_all()
        except Exception:
            logger.exception("BingX flatten requested by the strategy failed")
            raise
        finally:
            Trade.session.remove()

    def _exclusive(self, work: Any) -> dict[str, Any]:
        if not self._busy.acquire(blocking=False):
            logger.warning("A BingX flatten is already in progress; not sending another.")
            return {"result": "A BingX flatten is already in progress; its report follows when it is done.",
                    "status": "in_progress"}
        self._stop_entries()
        # Most of the time the bot's loop is idle and the exit lock free: then it is held throughout and the
        # loop cannot touch a trade mid-flatten. Otherwise the close goes out without waiting for it.
        self._holding_exit_lock = self.ft._exit_lock.acquire(blocking=False)
        try:
            # While it runs, the loop's per-trade price refreshes under the exit lock wait (exchange.get_rate)
            with self.ft.exchange.flatten_running():
                return work()
        finally:
            self._closing = frozenset()
            if self._holding_exit_lock:
                self._holding_exit_lock = False
                self.ft._exit_lock.release()
            self._resume_entries()
            self._busy.release()

    @contextmanager
    def _bookkeeping(self, trades: list[Trade]) -> Iterator[list[Trade]]:
        """The bot's exit lock, for everything that writes trades and orders, with the trades read afresh.

        The close itself goes out before this lock is taken: the bot's loop holds it while it checks every
        trade's stoploss (a signed request each), which would put seconds between the panic button and
        BingX. Once the close is out the loop skips these trades (:meth:`leaves_alone`), so an iteration the
        press landed in lets go of the lock quickly. Meanwhile the bot can only reduce (freqtrade's futures exits
        are reduce-only), so nothing it does can reverse a position; what it closed on its own is read back here
        and left alone.
        """
        ids = [trade.id for trade in trades]
        if self._holding_exit_lock:
            with reconcile.loaded_between_commits():
                yield trades
            return
        with self.ft._exit_lock:
            Trade.session.expire_all()
            fresh = Trade.get_trades([Trade.id.in_(ids)]).all() if ids else []
            with reconcile.loaded_between_commits():
                yield fresh
            reconcile.cancel_orphan_stops(self.ft, fresh)

    # ------------------------------------------------------------------ /forceexit all
    def _force_exit_all(self) -> dict[str, Any]:
        api = self.api
        trades = Trade.get_open_trades()
        if not trades:
            return _answer("No open trades to exit.", status="done")
        confirmed, vetoed = self._confirm(trades)
        if not confirmed:
            return _answer(f"Every open trade's exit was denied by the strategy ({len(vetoed)}).",
                           vetoed=[t.id for t in vetoed], status="done")
        try:
            positions, orders = self._read_account()
        except ccxt.BaseError as e:
            text = failure_text("Reading BingX positions and open orders", e,
                                "Nothing was sent; every trade stays open with its stoploss.")
            logger.error(f"BingX /forceexit all: {text}")
            return _answer(text, status="failed", error=text, step="read_account", close_requests=0)
        bot_symbols = {to_native(t.pair, api) for t in confirmed}
        account_symbols = {p["symbol"] for p in positions}
        # One request only when it cannot touch anything the bot does not own (or a trade the strategy kept).
        single = account_symbols <= bot_symbols
        intent = reconcile.persist_intent(confirmed, api)
        symbols: list[str | None] = [None] if single else [*sorted(bot_symbols & account_symbols)]
        # The close and the cancel of the bot's entries go out at the same moment; its stoplosses stay until
        # their position is flat (a refused close must not leave a position without its stop).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bingx-cancel") as pool:
            openers = pool.submit(exits.cancel_openers, api, confirmed, orders)
            sent = exits.send_closes(api, symbols, positions, self.rate_limit_wait, self._on_wait)
            self._closing = frozenset(t.id for t in confirmed)
            cancelled = _result_or_empty(openers, "the cancel of the bot's entry orders")
        still = self._open_symbols()
        if still is not None:
            flat = bot_symbols - still
            cancelled.update(exits.cancel_protective(api, confirmed, orders, flat, single and not still))
        with self._bookkeeping(confirmed) as confirmed:
            return self._force_exit_bookkeeping(confirmed, vetoed, cancelled, intent, sent)

    def _force_exit_bookkeeping(self, confirmed: list[Trade], vetoed: list[Trade], cancelled: dict[str, Any],
                                intent: Any, sent: exits.Sent) -> dict[str, Any]:
        api = self.api
        flatten_ids = {t.id for t in confirmed}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bingx-history") as pool:
            # The history is read while the cancelled stops are recorded (the positions read already showed flat).
            history = pool.submit(reconcile.read_history, api, intent.started_ms)
            confirmed = self._record_cancelled(confirmed, cancelled)
            attached, history_error = self._attach(confirmed, intent.started_ms, history)
        leftovers: list[str] = []
        unreconciled: list[Trade] = []
        fallbacks = self._fall_back(confirmed, leftovers, unreconciled if history_error else None, flatten_ids)
        leftover_error = None
        if leftovers:
            # A late fill (a stop or an entry that raced the cancel) reopened a position the close had just closed:
            # no trade owns it any more, so the bot would never manage or exit it. Close it (bounded: once).
            logger.warning(f"Position(s) on {', '.join(leftovers)} reappeared after the close and belong to no "
                           "open trade; closing them.")
            more = exits.send_closes(api, list(leftovers), self._positions(), self.rate_limit_wait,
                                     self._on_wait)
            sent.closes += more.closes
            sent.market_exits.update(more.market_exits)
            sent.refused_close_requests += more.refused_close_requests
            leftover_error = more.error
        # the wallets were refreshed once by attach_exit_orders; an unreconciled trade keeps its intent
        reconcile.clear_intent([t for t in confirmed if t not in unreconciled])
        failed = [entry for close in sent.closes for entry in close.failed]
        closed = [_closed(t, attached) for t in confirmed if t.id in attached]
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
        return _answer(result, closed=closed, failed=failed, fallbacks=fallbacks, vetoed=[t.id for t in vetoed],
                       close_requests=sent.close_requests, market_exits=sent.market_exits or None,
                       kept_stoplosses=self._kept_stops(confirmed) or None,
                       error=" ".join(problems) or None, status="done" if not problems else "partial")

    def _read_account(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Positions and open orders; a read refused for its timestamp resynchronises with BingX's clock once."""
        return with_resync(self.api, lambda: read_account(self.api))

    def _positions(self) -> list[dict[str, Any]]:
        return open_positions(getattr(self.api, POSITIONS.linear)({}))

    def _open_symbols(self) -> set[str] | None:
        """The symbols with a position now, or None (logged) when BingX cannot be read."""
        try:
            return {p["symbol"] for p in self._positions()}
        except ccxt.BaseError as e:
            logger.warning(f"Could not read positions after the close; stoplosses are kept: {error_text(e)}")
            return None

    def _kept_stops(self, trades: list[Trade]) -> list[dict[str, Any]]:
        """The stoplosses still resting for trades still open: said in every answer, so nobody wonders."""
        return [{"trade_id": t.id, "pair": t.pair, "order_id": o.order_id}
                for t in trades if t.is_open for o in t.orders if o.ft_is_open and o.ft_order_side == "stoploss"]

    def _confirm(self, trades: list[Trade]) -> tuple[list[Trade], list[Trade]]:
        """freqtrade asks ``confirm_trade_exit`` before every force exit; so does the flatten."""
        confirmed: list[Trade] = []
        vetoed: list[Trade] = []
        now = datetime.now(UTC)
        for trade in trades:
            try:
                rate = self.ft.exchange.get_rate(trade.pair, side="exit", is_short=trade.is_short, refresh=False)
            except Exception:  # noqa: BLE001 - a missing rate must not stop the panic button
                rate = trade.open_rate
            allowed = strategy_safe_wrapper(self.ft.strategy.confirm_trade_exit, default_retval=True)(
                pair=trade.pair, trade=trade, order_type="market", amount=trade.amount, rate=rate,
                time_in_force="GTC", exit_reason=ExitType.FORCE_EXIT.value,
                sell_reason=ExitType.FORCE_EXIT.value, current_time=now,
            )
            (confirmed if allowed else vetoed).append(trade)
            if not allowed:
                logger.info(f"Strategy denied the force exit of trade {trade.id} ({trade.pair}); leaving it open.")
        return confirmed, vetoed

    def _record_cancelled(self, trades: list[Trade], cancelled: dict[str, Any]) -> list[Trade]:
        """freqtrade's order records for orders the flatten cancelled; returns the trades still open.

        ``cancelled`` maps order id -> BingX's answer, or None where only the id is known (then it is read).
        An entry cancelled with no fill ends its trade, as freqtrade's own cancel does.
        """
        remaining = []
        for trade in trades:
            for order_obj in [o for o in trade.orders if o.ft_is_open and o.order_id in cancelled]:
                stop = order_obj.ft_order_side == "stoploss"
                order = cancelled[order_obj.order_id] or self.ft.exchange.fetch_order_or_stoploss_order(
                    order_obj.order_id, trade.pair, stop)
                if stop and self.ft.exchange.check_order_canceled_empty(order):
                    # All update_trade_state does with a stop cancelled unfilled (Trade.update_order), without its
                    # commit per order: at 50 trades one commit below instead of 50 before the books can close.
                    order_obj.update_from_ccxt_object(order)
                elif stop:
                    self.ft.update_trade_state(trade, order_obj.order_id, order, stoploss_order=True)
                elif order_obj.ft_order_side == trade.entry_side:
                    if self.ft.handle_cancel_enter(trade, order, order_obj, CANCEL_REASON):
                        logger.info(f"Trade {trade.id} had no fill before its entry was cancelled.")
                    Trade.commit()  # freqtrade's cancel may delete the trade: committed before it is looked up
                else:
                    self.ft.handle_cancel_exit(trade, order, order_obj, CANCEL_REASON)
            if trade.is_open and Trade.session.get(Trade, trade.id) is not None:
                remaining.append(trade)
        Trade.commit()
        return remaining

    def _attach(self, trades: list[Trade], since_ms: int,
                history: Future) -> tuple[dict[int, list[str]], BaseException | None]:
        """BingX's fills onto the trades; an unreadable history is reported, not raised after the close went out.

        ``history`` is the order-history read (:func:`.reconcile.read_history`), already on its way. The trades it
        leaves open whose position is gone keep their intent: the next start-up finishes them from the history
        (:func:`.reconcile.recover_interrupted`), unless freqtrade's own loop does first.
        """
        try:
            rows = history.result()
        except ccxt.BaseError as e:
            logger.error(f"Could not read BingX's order history to reconcile the trades: {error_text(e)}")
            return {}, e
        return reconcile.attach_exit_orders(self.ft, trades, since_ms, rows), None

    def _fall_back(self, trades: list[Trade], leftovers: list[str] | None = None,
                   unreconciled: list[Trade] | None = None, flatten_ids: set[int] | None = None) -> list[int]:
        """freqtrade's own per-trade exit for every trade whose position BingX did not close.

        ``leftovers``, when given, receives the trades' symbols that hold a position although every trade on
        them is closed now and no other open trade holds the symbol (read from the same positions answer).
        ``unreconciled``, when given (the history could not be read), receives the trades whose position is
        gone, instead of handing them to freqtrade's ``handle_onexchange_order``, which reads the same history
        per pair. ``flatten_ids``: the trades this flatten handles; an open trade outside them owns its symbol.
        """
        api = self.api
        open_trades = [t for t in trades if t.is_open]
        if not open_trades and leftovers is None:
            return []
        still = {p["symbol"] for p in self._positions()}
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
                self.ft.handle_onexchange_order(trade)
                continue
            logger.warning(f"Trade {trade.id} ({trade.pair}) is still open at BingX; exiting it one by one.")
            rate = self.ft.exchange.get_rate(trade.pair, side="exit", is_short=trade.is_short, refresh=True)
            if self.ft.execute_trade_exit(trade, rate, ExitCheckTuple(exit_type=ExitType.FORCE_EXIT),
                                          ordertype="market"):
                fallbacks.append(trade.id)
        Trade.commit()
        return fallbacks

    # ------------------------------------------------------------------ /closeall
    def _close_all(self, symbol: str | None) -> dict[str, Any]:
        if self.ft.state == State.RUNNING:
            self.ft.state = State.PAUSED  # no new entries: the bot must not re-enter on its next loop
            logger.warning("BingX /closeall: entries paused (use /start to resume).")
        api = self.api
        trades = [t for t in Trade.get_open_trades() if symbol is None or to_native(t.pair, api) == symbol]
        intent = reconcile.persist_intent(trades, api)
        try:
            report = flatten(api, symbol, rate_limit_wait=self.rate_limit_wait, on_wait=self._on_wait)
        except ccxt.BaseError as e:
            return self._close_all_refused(trades, e)
        self._closing = frozenset(t.id for t in trades)
        with self._bookkeeping(trades) as trades:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bingx-history") as pool:
                history = pool.submit(reconcile.read_history, api, intent.started_ms)
                # The cancels answered with ids only: each bot order is read back once.
                trades = self._record_cancelled(trades, dict.fromkeys(report.cancelled_orders or []))
                attached, history_error = self._attach(trades, intent.started_ms, history)
            fallbacks = self._fall_back(trades)
            reconcile.clear_intent(trades)  # the wallets were refreshed once by attach_exit_orders
            per_symbol = _per_symbol(report, trades, attached)
            closed = [_closed(t, attached) for t in trades if t.id in attached]
            kept = self._kept_stops(trades)
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
        return _answer(result, per_symbol=per_symbol, failed=report.failed, fallbacks=fallbacks,
                       remaining_positions=details["remaining_positions"],
                       cancelled_orders=report.cancelled_orders, kept_orders=details.get("kept_orders") or None,
                       kept_stoplosses=kept or None, close_requests=report.close_requests, closed=closed,
                       status="done" if report.flat and not problems else "partial",
                       error=" ".join(problems) or None)

    def _close_all_refused(self, trades: list[Trade], error: BaseException) -> dict[str, Any]:
        """The close was refused (after any wait for a rate limit): say what was and was not done."""
        report = getattr(error, "flatten_report", None)
        cancelled = list(getattr(report, "cancelled_orders", None) or [])
        kept = list(getattr(report, "kept_orders", None) or [])
        with self._bookkeeping(trades) as trades:
            if cancelled:
                self._record_cancelled(trades, dict.fromkeys(cancelled))
        reconcile.clear_intent(trades)
        state = "Nothing was closed; entries stay paused."
        if cancelled:
            state += f" {len(cancelled)} order(s) that could open a position were cancelled."
        state += (f" {len(kept)} stop/take-profit order(s) of the open positions were kept." if kept
                  else " Stops and take-profits were kept.")
        text = failure_text("The close-all", error, state)
        logger.error(f"BingX /closeall failed: {text}")
        return _answer(text, status="failed", error=text, cancelled_orders=cancelled or None, kept_orders=kept or None,
                       close_requests=getattr(error, "close_requests", 1))


def _result_or_empty(future: Future, what: str) -> dict[str, Any]:
    try:
        return future.result()
    except Exception as e:  # noqa: BLE001 - reported; the close's outcome must still be booked
        logger.warning(f"{what} failed: {error_text(e)}")
        return {}


def _closed(trade: Trade, attached: dict[int, list[str]]) -> dict[str, Any]:
    return {"trade_id": trade.id, "pair": trade.pair, "order_ids": attached.get(trade.id, []),
            "close_rate": trade.close_rate, "is_open": trade.is_open}


def _per_symbol(report: FlattenReport, trades: list[Trade], attached: dict[int, list[str]]) -> dict[str, Any]:
    by_symbol: dict[str, Any] = {}
    trade_by_symbol = {to_native(t.pair, report.currencies): t for t in trades}

    def entry_for(symbol: Any) -> dict[str, Any]:
        return by_symbol.setdefault(symbol, {"orders": [], "trade_id": None,
                                             "unified_symbol": unified_name(symbol, report.currencies)})

    for order in report.closed_orders:
        entry = entry_for(order["symbol"])
        entry["orders"].append(order)
        trade = trade_by_symbol.get(order["symbol"])
        if trade is not None and trade.id in attached:
            entry["trade_id"] = trade.id
    for position in report.remaining_positions:
        entry_for(position.get("symbol"))["still_open"] = True
    return by_symbol


def _answer(result: str, **details: Any) -> dict[str, Any]:
    """freqtrade's ``{"result": ...}`` shape (FreqUI, freqtrade-client), the details as extra keys."""
    return {"result": result, **{k: v for k, v in details.items() if v is not None}}


def request_flatten(strategy: Any = None, *, account_wide: bool = False, symbol: str | None = None) -> Future | None:
    """Flatten from a strategy callback, e.g. a drawdown kill switch in ``bot_loop_start``.

    Runs on the plugin's worker thread, so it is safe whether or not the caller holds the bot's exit lock
    (it waits for it). Returns a Future with the same answer as ``/forceexit all`` (``account_wide=False``)
    or ``/closeall`` (``account_wide=True``), or None outside a running bot (backtesting, hyperopt).
    """
    with _registry_lock:
        bot = _bot
    if bot is None:
        logger.warning("request_flatten() outside a running freqtrade-bingx bot (backtesting?): ignored.")
        return None
    return get_flattener(bot).submit(account_wide=account_wide, symbol=symbol)
