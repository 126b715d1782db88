"""Flatten from inside freqtrade: ``/forceexit all``, ``/closeall`` and the strategy hook, one BingX request.

freqtrade's own ``/forceexit all`` exits trade by trade under the exit lock (six to eight signed requests
each; one exception ends the loop). On the plugin's BingX futures exchange, live, the :class:`Flattener`
replaces that loop:

``/forceexit all`` (bot-owned positions only)
    ask ``confirm_trade_exit`` per trade -> read positions and open orders (one round trip) -> cancel the
    bot's open orders, stoploss included (one cancel-all request when every open order is the bot's) ->
    persist the intent -> ONE closeAllPositions when the account holds only the bot's positions, else one
    per bot symbol -> attach BingX's fills to the trades (:mod:`.reconcile`) -> per-trade force exit,
    freqtrade's own, for anything BingX could not close.
``/closeall`` (the account-wide kill switch)
    pause entries -> close every position on the account (or one symbol) with the cancel of every open
    order beside it (the core's :func:`~bingx_closeall_plugin.flatten.flatten`) -> reconcile the bot's trades.

Everything up to the close goes out at once, with ccxt's throttle off; the bookkeeping (order records,
fills, fallbacks) then waits for the bot's exit lock, which its loop holds while it checks every trade's
stoploss. Two flattens at once make one exchange call: the second is told one is in progress. In dry-run,
and on any other exchange or trading mode, ``/forceexit all`` is freqtrade's own.
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
from freqtrade.enums import ExitCheckTuple, ExitType, State, TradingMode
from freqtrade.persistence import Trade
from freqtrade.strategy.strategy_wrapper import strategy_safe_wrapper

from ..closeall import close_all_positions, open_positions, set_clock_offset
from ..errors import ClockSkew
from ..flatten import FlattenReport, flatten, read_account
from ..redaction import error_text
from ..symbols import to_native, unified_name
from . import reconcile
from .install import attach

logger = logging.getLogger(__name__)

__all__ = ["Flattener", "get_flattener", "register_bot", "request_flatten"]

CANCEL_REASON = "BingX flatten"
POSITIONS_METHOD = "swapV2PrivateGetUserPositions"
CANCEL_ALL_METHOD = "swapV2PrivateDeleteTradeAllOpenOrders"

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

    # ------------------------------------------------------------------ entry points
    def force_exit_all(self) -> dict[str, Any]:
        """``/forceexit all``: the bot's positions, one request when the account holds only them."""
        return self._exclusive(self._force_exit_all)

    def close_all(self, symbol: str | None = None) -> dict[str, Any]:
        """``/closeall [symbol]``: stop entries, cancel all orders, close every position on the account."""
        native = to_native(symbol, self.ft.exchange._api) if symbol else None  # bad input refused before anything happens
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
        # Most of the time the bot's loop is idle and the exit lock free: then it is held throughout and the
        # loop cannot touch a trade mid-flatten. Otherwise the close goes out without waiting for it.
        self._holding_exit_lock = self.ft._exit_lock.acquire(blocking=False)
        try:
            with unthrottled(self.ft.exchange._api):
                return work()
        finally:
            if self._holding_exit_lock:
                self._holding_exit_lock = False
                self.ft._exit_lock.release()
            self._busy.release()

    @contextmanager
    def _bookkeeping(self, trades: list[Trade]) -> Iterator[list[Trade]]:
        """The bot's exit lock, for everything that writes trades and orders, with the trades read afresh.

        The close itself goes out before this lock is taken: the bot's loop holds it while it checks every
        trade's stoploss (a signed request each), which would put seconds between the panic button and
        BingX. Meanwhile the bot can only reduce (freqtrade's futures exits are reduce-only), so nothing it
        does can reverse a position; what it closed on its own is read back here and left alone.
        """
        ids = [trade.id for trade in trades]
        if self._holding_exit_lock:
            yield trades
            return
        with self.ft._exit_lock:
            Trade.session.expire_all()
            fresh = Trade.get_trades([Trade.id.in_(ids)]).all() if ids else []
            yield fresh
            reconcile.cancel_orphan_stops(self.ft, fresh)

    # ------------------------------------------------------------------ /forceexit all
    def _force_exit_all(self) -> dict[str, Any]:
        api = self.ft.exchange._api
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
            logger.error(f"BingX /forceexit all: could not read positions and open orders: {error_text(e)}")
            return _answer(f"Could not read BingX positions and open orders ({error_text(e)}); nothing was sent, "
                           "every trade stays open.", status="failed", error=error_text(e), close_requests=0)
        bot_symbols = {to_native(t.pair, api) for t in confirmed}
        account_symbols = {p["symbol"] for p in positions}
        # One request only when it cannot touch anything the bot does not own (or a trade the strategy kept).
        single = account_symbols <= bot_symbols
        # Holding the exit lock, every bot order goes in one cancel-all before the close. Without it the bot's
        # loop is mid-way through its stoploss checks and would re-place each stop it finds cancelled: the stops
        # (reduce-only, they cannot reopen a position) then stay until the trades are closed, and only the
        # orders that could reopen one (entries) are cancelled first.
        cancelled = self._cancel_bot_orders(confirmed, orders, single, stops=self._holding_exit_lock)
        intent = reconcile.persist_intent(confirmed, api)
        symbols = [None] if single else sorted(bot_symbols & account_symbols)
        closes, error, refused = self._close(symbols)
        with self._bookkeeping(confirmed) as confirmed:
            return self._force_exit_bookkeeping(confirmed, vetoed, cancelled, intent, closes, error, refused)

    def _force_exit_bookkeeping(self, confirmed: list[Trade], vetoed: list[Trade], cancelled: dict[str, Any],
                                intent: Any, closes: list[Any], error: BaseException | None,
                                refused: int) -> dict[str, Any]:
        confirmed = self._record_cancelled(confirmed, cancelled)
        close_requests = sum(c.requests for c in closes) + refused
        attached, history_error = self._attach(confirmed, intent.started_ms)
        error = error or history_error
        leftovers: list[str] = []
        unreconciled: list[Trade] = []
        fallbacks = self._fall_back(confirmed, leftovers, unreconciled if history_error else None)
        if leftovers:
            # A late fill (a stop or an entry that raced the cancel) reopened a position the close had just closed:
            # no trade owns it any more, so the bot would never manage or exit it. Close it (bounded: once).
            logger.warning(f"Position(s) on {', '.join(leftovers)} reappeared after the close and belong to no "
                           "open trade; closing them.")
            more, leftover_error, more_refused = self._close(leftovers)
            closes += more
            close_requests += sum(c.requests for c in more) + more_refused
            error = error or leftover_error
        # the wallets were refreshed once by attach_exit_orders; an unreconciled trade keeps its intent
        reconcile.clear_intent([t for t in confirmed if t not in unreconciled])
        if unreconciled:
            logger.error(f"Trades {[t.id for t in unreconciled]}: their positions are closed at BingX but the order "
                         "history could not be read; they will be reconciled from it at the next start-up.")
        failed = [entry for close in closes for entry in close.failed]
        closed = [_closed(t, attached) for t in confirmed if t.id in attached]
        result = (f"Closed {len(closed)} trade(s) with {close_requests} BingX closeAllPositions "
                  f"request(s); {len(failed)} failed at BingX; {len(fallbacks)} exited one by one; "
                  f"{len(vetoed)} kept by the strategy.")
        if error is not None:
            result += f" BingX refused the close: {error}."
        return _answer(result, closed=closed, failed=failed, fallbacks=fallbacks, vetoed=[t.id for t in vetoed],
                       close_requests=close_requests, error=str(error) if error else None,
                       status="done" if not error else "partial")

    def _read_account(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Positions and open orders; a read refused for its timestamp resynchronises with BingX's clock once."""
        api = self.ft.exchange._api
        try:
            return read_account(api)
        except ClockSkew:
            logger.warning("BingX refused the account read's timestamp; resynchronising the clock and reading again")
            set_clock_offset(api, api.swapV2PublicGetServerTime({}))
            return read_account(api)

    def _confirm(self, trades: list[Trade]) -> tuple[list[Trade], list[Trade]]:
        """freqtrade asks ``confirm_trade_exit`` before every force exit; so does the flatten."""
        confirmed, vetoed = [], []
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

    def _cancel_bot_orders(self, trades: list[Trade], account_orders: list[dict[str, Any]],
                           single: bool, stops: bool = True) -> dict[str, Any]:
        """Cancel the trades' open orders (stoplosses too, unless ``stops`` is False) before the close, so none
        reopens a position.

        Returns order id -> the cancelled order as BingX answered it, for :meth:`_record_cancelled`.
        """
        bot_orders = {o.order_id: (t, o) for t in trades for o in t.orders
                      if o.ft_is_open and (stops or o.ft_order_side != "stoploss")}
        on_exchange = {str(o.get("orderId")) for o in account_orders}
        cancelled: dict[str, Any] = {}
        if not bot_orders:
            return cancelled
        api = self.ft.exchange._api
        if single and on_exchange and on_exchange <= set(bot_orders):
            answer = api.swapV2PrivateDeleteTradeAllOpenOrders({})  # every open order is the bot's: one request
            data = answer.get("data") if isinstance(answer, dict) else None
            for row in (data or {}).get("success") or []:
                order = api.parse_order(row)
                cancelled[str(order["id"])] = order
            return cancelled
        for order_id, (trade, order_obj) in bot_orders.items():
            if order_id not in on_exchange:
                continue
            try:
                if order_obj.ft_order_side == "stoploss":
                    cancelled[order_id] = self.ft.exchange.cancel_stoploss_order_with_result(
                        order_id, trade.pair, trade.amount)
                else:
                    cancelled[order_id] = self.ft.exchange.cancel_order_with_result(order_id, trade.pair, trade.amount)
            except Exception as e:  # noqa: BLE001 - reported, and the close still goes out
                logger.warning(f"Could not cancel order {order_id} of trade {trade.id}: {error_text(e)}")
        return cancelled

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
                if stop:
                    self.ft.update_trade_state(trade, order_obj.order_id, order, stoploss_order=True)
                elif order_obj.ft_order_side == trade.entry_side:
                    if self.ft.handle_cancel_enter(trade, order, order_obj, CANCEL_REASON):
                        logger.info(f"Trade {trade.id} had no fill before its entry was cancelled.")
                else:
                    self.ft.handle_cancel_exit(trade, order, order_obj, CANCEL_REASON)
            Trade.commit()
            if trade.is_open and Trade.session.get(Trade, trade.id) is not None:
                remaining.append(trade)
        return remaining

    def _close(self, symbols: list[str | None]) -> tuple[list[Any], BaseException | None, int]:
        """(closes answered, the error that stopped them, close requests sent for the refused one)."""
        api = self.ft.exchange._api
        closes = []
        for symbol in symbols:
            try:
                closes.append(close_all_positions(api, symbol))
            except ccxt.BaseError as e:
                # Nothing is retried blindly: what stays open is found below and exited one by one.
                logger.error(f"BingX closeAllPositions{' for ' + symbol if symbol else ''} failed: "
                             f"{e.__class__.__name__}: {e}")
                # The refused close went out too (once, or more after a resync or a verified re-send).
                return closes, e, getattr(e, "close_requests", 1)
        return closes, None, 0

    def _attach(self, trades: list[Trade], since_ms: int) -> tuple[dict[int, list[str]], BaseException | None]:
        """BingX's fills onto the trades; an unreadable history is reported, not raised after the close went out.

        The trades it leaves open whose position is gone keep their intent: the next start-up finishes them
        from the history (:func:`.reconcile.recover_interrupted`), unless freqtrade's own loop does first.
        """
        try:
            return reconcile.attach_exit_orders(self.ft, trades, since_ms), None
        except ccxt.BaseError as e:
            logger.error(f"Could not read BingX's order history to reconcile the trades: {error_text(e)}")
            return {}, e

    def _fall_back(self, trades: list[Trade], leftovers: list[str] | None = None,
                   unreconciled: list[Trade] | None = None) -> list[int]:
        """freqtrade's own per-trade exit for every trade whose position BingX did not close.

        ``leftovers``, when given, receives the trades' symbols that hold a position although every trade on
        them is closed now (read from the same positions answer). ``unreconciled``, when given (the history
        could not be read), receives the trades whose position is gone, instead of handing them to
        freqtrade's ``handle_onexchange_order``, which reads the same history per pair.
        """
        open_trades = [t for t in trades if t.is_open]
        if not open_trades and leftovers is None:
            return []
        still = {p["symbol"] for p in open_positions(self.ft.exchange._api.swapV2PrivateGetUserPositions({}))}
        if leftovers is not None:
            leftovers.extend(sorted(still & {to_native(t.pair, self.ft.exchange._api) for t in trades} - {to_native(t.pair, self.ft.exchange._api) for t in open_trades}))
        fallbacks = []
        for trade in open_trades:
            if to_native(trade.pair, self.ft.exchange._api) not in still:
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
        api = self.ft.exchange._api
        trades = [t for t in Trade.get_open_trades() if symbol is None or to_native(t.pair, api) == symbol]
        intent = reconcile.persist_intent(trades, api)
        try:
            report = flatten(api, symbol)
        except ccxt.BaseError as e:
            reconcile.clear_intent(trades)
            logger.error(f"BingX /closeall failed: {error_text(e)}")
            return _answer(f"BingX refused the close-all: {error_text(e)}. Nothing was closed; entries stay paused.",
                           status="failed", error=error_text(e), close_requests=getattr(e, "close_requests", 1))
        with self._bookkeeping(trades) as trades:
            # The cancel-all beside the close answered with ids only: each bot order is read back once.
            trades = self._record_cancelled(trades, dict.fromkeys(report.cancelled_orders or []))
            attached, history_error = self._attach(trades, intent.started_ms)
            fallbacks = self._fall_back(trades)
            reconcile.clear_intent(trades)  # the wallets were refreshed once by attach_exit_orders
            per_symbol = _per_symbol(report, trades, attached)
            closed = [_closed(t, attached) for t in trades if t.id in attached]
        result = (f"Closed {len(report.closed_orders)} position(s) in {report.close_requests} BingX request(s); "
                  f"{len(report.failed)} failed; {len(report.remaining_positions)} still open; "
                  f"{len(attached)} bot trade(s) closed; entries paused.")
        error = report.error or history_error
        return _answer(result, per_symbol=per_symbol, failed=report.failed, fallbacks=fallbacks,
                       remaining_positions=report.to_dict()["remaining_positions"],
                       cancelled_orders=report.cancelled_orders, close_requests=report.close_requests, closed=closed,
                       status="done" if report.flat and not report.orders_left and not history_error else "partial",
                       error=error_text(error) if error else report.cancel_error)


@contextmanager
def unthrottled(api: Any) -> Iterator[None]:
    """ccxt's own throttle off while a flatten runs: it spaces BingX requests 100-200 ms apart, and the
    flatten's handful of requests (about six) is far inside BingX's limits (closeAllPositions: 5/s per UID)."""
    previous = api.enableRateLimit
    api.enableRateLimit = False
    try:
        yield
    finally:
        api.enableRateLimit = previous


def _closed(trade: Trade, attached: dict[int, list[str]]) -> dict[str, Any]:
    return {"trade_id": trade.id, "pair": trade.pair, "order_ids": attached.get(trade.id, []),
            "close_rate": trade.close_rate, "is_open": trade.is_open}


def _per_symbol(report: FlattenReport, trades: list[Trade], attached: dict[int, list[str]]) -> dict[str, Any]:
    by_symbol: dict[str, Any] = {}
    trade_by_symbol = {to_native(t.pair, report.currencies): t for t in trades}
    for order in report.closed_orders:
        entry = by_symbol.setdefault(order["symbol"], {"orders": [], "trade_id": None, "unified_symbol": order.get("unified_symbol")})
        entry["orders"].append(order)
        trade = trade_by_symbol.get(order["symbol"])
        if trade is not None and trade.id in attached:
            entry["trade_id"] = trade.id
    for position in report.remaining_positions:
        by_symbol.setdefault(position.get("symbol"), {"orders": [], "trade_id": None, "unified_symbol": unified_name(position.get("symbol"), report.currencies)})["still_open"] = True
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
