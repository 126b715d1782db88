"""Flatten from inside freqtrade: ``/forceexit all``, ``/closeall`` and the strategy hook, one BingX request.

freqtrade's own ``/forceexit all`` exits trade by trade under the exit lock (six to eight signed requests
each; one exception ends the loop). On the plugin's BingX futures exchange, live, the bot's one
:class:`Flattener` replaces that loop; this module is that Flattener (the registry, the locks, the entry gate,
the entry points), and the paths it runs are their own modules:

``/forceexit all`` (bot-owned positions only): :mod:`.force_exit_all`
    ask ``confirm_trade_exit`` per trade and persist the intent, while positions and open orders are read (one
    round trip) -> at the same moment: ONE closeAllPositions when the account holds only the bot's positions, else
    one per bot symbol (:mod:`.exits`: within BingX's 5/s, reduce-only market orders beyond it), and the cancel
    of the bot's entry orders -> read positions -> cancel the stoplosses of the positions that are flat ->
    attach BingX's fills to the trades (:mod:`.reconcile`) -> per-trade force exit, freqtrade's own, for
    anything BingX could not close.
``/closeall`` (the account-wide kill switch): :mod:`.close_all_command`
    pause entries -> the core's :func:`~bingx_closeall_plugin.core.flatten.flatten` (close everything or one
    symbol, entries cancelled beside it, stops and take-profits only once their position is flat) ->
    reconcile the bot's trades.

Both book what BingX did with :mod:`.books` (cancelled orders, fills, fallbacks, kept stops) and answer in the
shape of :mod:`.answers`.

Everything up to the close goes out at once, on the flatten's own ccxt client with no throttle (the bot's
client and its throttle are left alone); the bookkeeping (order records, fills, fallbacks) then waits for the
bot's exit lock, which its loop holds while it checks every trade's stoploss. No entry is executed while a
flatten runs. From the moment a flatten marks its trades (just before the close goes out) until their books
are written, it alone books or touches them (:meth:`Flattener.leaves_alone`): the bot's loop, a reload or a
per-trade force exit leaves them to it.

Presses race (operators press twice, the guard and a strategy kill switch fire at once): at most one flatten
runs, and every other press waits for it (bounded by :data:`JOIN_WAIT_S`) and answers the running flatten's own
result (``joined``), so there is never a second close for the same trades and never an error answer. A
``/closeall`` pressed while a ``/forceexit all`` runs asks for more (the whole account, entries paused): it waits
for that flatten, then runs. In dry-run, and on any other exchange or trading mode, ``/forceexit all`` is
freqtrade's own.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from freqtrade.enums import RPCMessageType, TradingMode
from freqtrade.persistence import Trade

from ..core.flatten import DEFAULT_RATE_LIMIT_WAIT
from ..core.redaction import error_text
from ..core.symbols import to_native
from . import after_books, close_all_command, force_exit_all, reconcile, switches
from .patches import attach
from .settle import settle

logger = logging.getLogger(__name__)

__all__ = ["Flattener", "get_flattener", "register_bot", "request_flatten"]

# How long a flatten waits for an entry already under way to finish before it reads the account.
ENTRY_WAIT_S = 10.0
# How long a flatten asked for during the bot's start-up waits for it: beyond the start-up's own bounds (its three
# reads of BingX, ccxt's 10 s timeout each, and the history read's retries).
START_WAIT_S = 60.0
# How often a rate-limit wait is announced while it runs.
WAIT_SAID_EVERY_S = 5.0
# How long a press waits for the flatten already running before it answers "still running": longer than a
# flatten's own bounds (a rate limit waited out, 30 s by default, plus the history read's retries, about 7 s).
JOIN_WAIT_S = 120.0
# What a flatten covers: "bot" (/forceexit all: the bot's trades), "account" (/closeall: everything),
# "account:<symbol>" (/closeall <symbol>). A press joins a running flatten that covers what it asks for.
BOT, ACCOUNT = "bot", "account"


@dataclass
class _Run:
    """The flatten running now: what it covers, and its answer once it is done (for the presses that join it)."""

    scope: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    done: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    answer: dict[str, Any] | None = None
    error: str | None = None

    def covers(self, scope: str) -> bool:
        return self.scope in (scope, ACCOUNT)

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
        self._runs = threading.Lock()  # guards _run
        self._run: _Run | None = None  # the flatten running now; see _exclusive
        self._last: _Run | None = None  # the last one done: a press that waited through its whole run joins it
        self._owner: int | None = None  # the thread that runs it: the only one that books its trades
        self._holding_exit_lock = False  # taken at once when free; see _exclusive
        self._worker: ThreadPoolExecutor | None = None
        # Entries wait for no flatten and no flatten for entries: see entry() and _exclusive()
        self._entries = threading.Condition()
        self._entries_in_flight = 0
        self._flattening = False
        self._wait_said: float | None = None  # seconds left when a rate-limit wait was last announced
        self._claimed: frozenset[int] = frozenset()  # trades the running flatten closes; see leaves_alone()
        self._started = threading.Event()  # the bot's start-up is done; see starting()

    def applies(self) -> bool:
        """Live futures on the plugin's BingX class: the only case the one-request path replaces.

        ``BINGX_ONE_REQUEST_FLATTEN=0`` in the bot's environment switches the override off (freqtrade's own
        per-trade loop, e.g. to compare the two).
        """
        from .exchange import Bingx

        return (
            switches.on(switches.ONE_REQUEST_FLATTEN)
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

    def on_wait(self, seconds_left: float, retry_after_ms: int) -> None:
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
        """True for a trade the running flatten closes, on every thread but the flatten's own.

        From just before its close goes out until its bookkeeping is done the flatten owns these trades. What
        anyone else would do with them in that window is book or act on the close half-seen: freqtrade's loop
        finds the position gone and books BingX's fill itself as ``sold_on_exchange`` (``handle_onexchange_order``,
        reached when the wallet no longer holds the position), re-places a stop the flatten just cancelled (a
        request BingX refuses for a closed position), prices an exit that is already filled, or books the cancel
        of an entry the flatten sent. Skipping them also lets a loop iteration the press landed in give up the exit
        lock, which the bookkeeping waits for, within milliseconds (about 0.2 s of per-trade work at 50 trades).
        The flatten's own thread books them (its fallbacks use freqtrade's own handling); trades it does not
        close are handled as usual.
        """
        return trade.id in self._claimed and threading.get_ident() != self._owner

    def before_loop_pass(self) -> None:
        """Called as the bot's loop starts a pass: while a flatten runs, the pass waits for it (bounded).

        A pass at 200 trades is about half a second of CPU before it reaches the exit lock (the strategy's analysis
        of every pair, freqtrade's per-trade checks), in the same interpreter as the flatten: begun beside a press,
        it takes about half of the CPU the press needs to close and book. The pass would wait at the exit lock
        anyway, which a flatten holds whenever it found it free; at its start the loop holds no lock and no open
        transaction, so nothing the flatten needs waits for it. A pass already under way when the press came goes
        on (:meth:`leaves_alone` lets it pass the flatten's trades quickly).
        """
        with self._runs:
            running = self._run
        if running is None or threading.get_ident() == self._owner:
            return
        if not running.done.wait(JOIN_WAIT_S):
            logger.warning(f"The BingX flatten ({running.id}) is still running after {JOIN_WAIT_S:g} s; the bot's loop "
                           "goes on beside it.")

    def busy(self) -> bool:
        """A flatten has marked its trades and not yet written their books (the loop's open-order pass waits)."""
        return bool(self._claimed)

    def claim(self, trades: list[Trade]) -> None:
        """These trades are the flatten's until it is done: called just before their close goes out."""
        self._claimed = frozenset(t.id for t in trades)

    def _resume_entries(self) -> None:
        with self._entries:
            self._flattening = False
            self._wait_said = None

    # ------------------------------------------------------------------ the bot's start-up
    @contextmanager
    def starting(self) -> Iterator[None]:
        """Around the bot's start-up (freqtrade's, then the plugin's recovery and sync with BingX): a flatten waits.

        freqtrade's REST API and Telegram answer before the worker has run ``startup()``, and the start-up books
        trades on the worker thread: it closes trades BingX closed, adopts an entry or a stop the bot never saved.
        A press booking the same trades meanwhile is the chaos soak's seed-11 violation: the start-up adopted a
        killed bot's unsaved stop as the trade's stop while the press, which had read the account before, closed
        the trade, so the stop stayed open in the books and rested for a flat position. The flatten waits for the
        start-up (bounded, :data:`START_WAIT_S`), then reads an account the books agree with. freqtrade calls
        ``startup()`` again on every start after a stop (``/stop``, ``/start``): the same wait then.
        """
        self._started.clear()
        try:
            yield
        finally:
            self._started.set()

    def _wait_for_startup(self) -> None:
        if self._started.is_set():
            return
        logger.warning(f"A BingX flatten was asked for during the bot's start-up: it waits for the start-up's check "
                       f"of the books against BingX (at most {START_WAIT_S:g} s).")
        if not self._started.wait(START_WAIT_S):
            logger.warning(f"The bot's start-up is still running after {START_WAIT_S:g} s; flattening without it.")

    # ------------------------------------------------------------------ entry points
    def force_exit_all(self) -> dict[str, Any]:
        """``/forceexit all``: the bot's positions, one request when the account holds only them."""
        return self._exclusive(BOT, lambda: force_exit_all.run(self))

    def close_all(self, symbol: str | None = None) -> dict[str, Any]:
        """``/closeall [symbol]``: stop entries, cancel all orders, close every position on the account."""
        native = to_native(symbol, self.ft.exchange._api) if symbol else None  # bad input refused first
        scope = f"{ACCOUNT}:{native}" if native else ACCOUNT
        return self._exclusive(scope, lambda: close_all_command.run(self, native))

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

    def _exclusive(self, scope: str, work: Any) -> dict[str, Any]:
        """Run ``work`` as the one flatten, or answer with the running flatten's result (see the module doc)."""
        asked = time.monotonic()
        deadline = asked + JOIN_WAIT_S
        while True:
            with self._runs:
                running, last = self._run, self._last
                if running is None and last is not None and last.started >= asked and last.covers(scope):
                    # Two presses woke from the same wait and the other's flatten, begun after this press came,
                    # is already done: it answered for this one too (no second close of an account now flat).
                    return self._joined(last)
                if running is None:
                    run = self._run = _Run(scope)
                    break
            logger.warning(f"A BingX flatten ({running.id}) is already running; this press waits for it.")
            if not running.done.wait(max(0.0, deadline - time.monotonic())):
                text = (f"A BingX flatten ({running.id}) is still running after {JOIN_WAIT_S:g} s; nothing more was "
                        "sent. Its report follows in the log and the chat when it is done.")
                return {"result": text, "status": "in_progress", "flatten_id": running.id}
            if running.covers(scope):
                return self._joined(running)
            # It covered less than this press asks for (a /closeall pressed during a /forceexit all): run after it.
        self._owner = threading.get_ident()
        try:
            run.answer = self._own(work)
            return run.answer
        except Exception as e:
            run.error = error_text(e)
            raise
        finally:
            with self._runs:
                self._run = None
                self._last = run
                self._owner = None
            run.done.set()

    @staticmethod
    def _joined(run: _Run) -> dict[str, Any]:
        """The answer of a press that waited for a running flatten: that flatten's own, marked as joined."""
        if run.answer is None:
            text = f"The BingX flatten ({run.id}) this press waited for failed: {run.error}"
            return {"result": text, "status": "failed", "error": text, "joined": run.id}
        return {**run.answer, "joined": run.id,
                "result": f"A BingX flatten ({run.id}) was already running; its result: {run.answer['result']}"}

    def _own(self, work: Any) -> dict[str, Any]:
        self._wait_for_startup()
        self._stop_entries()
        # Most of the time the bot's loop is idle and the exit lock free: then it is held throughout and the
        # loop cannot touch a trade mid-flatten. Otherwise the close goes out without waiting for it.
        self._holding_exit_lock = self.ft._exit_lock.acquire(blocking=False)
        try:
            # While it runs, the loop's per-trade price refreshes under the exit lock wait (exchange.get_rate)
            with self.ft.exchange.flatten_running():
                return work()
        finally:
            self._claimed = frozenset()
            if self._holding_exit_lock:
                self._holding_exit_lock = False
                self.ft._exit_lock.release()
            try:
                # What bookkeeping() held (after_books): the exit lock is free now, entries are still stopped
                after_books.release()
            finally:
                self._resume_entries()

    def wait_for_claim(self, trade_id: Any) -> dict[str, Any] | None:
        """For a per-trade force exit: None when no flatten closes ``trade_id``, else the running flatten's answer
        once it is done (the trade's close is already out: a second exit must not be sent)."""
        with self._runs:
            running = self._run
        try:
            claimed = int(trade_id) in self._claimed
        except (TypeError, ValueError):
            return None
        if running is None or not claimed:
            return None
        logger.warning(f"Trade {trade_id} is being closed by the running BingX flatten ({running.id}); waiting.")
        if not running.done.wait(JOIN_WAIT_S):
            text = f"Trade {trade_id} is being closed by a BingX flatten ({running.id}), still running; nothing sent."
            return {"result": text, "status": "in_progress", "flatten_id": running.id}
        return self._joined(running)

    @contextmanager
    def bookkeeping(self, trades: list[Trade]) -> Iterator[list[Trade]]:
        """The bot's exit lock, for everything that writes trades and orders, with the trades read afresh.

        The close itself goes out before this lock is taken: the bot's loop holds it while it checks every
        trade's stoploss (a signed request each), which would put seconds between the panic button and
        BingX. The loop skips these trades from just before their close (:meth:`leaves_alone`), so an iteration
        the press landed in lets go of the lock quickly. Meanwhile the bot can only reduce (freqtrade's futures exits
        are reduce-only), so nothing it does can reverse a position; what it closed on its own is read back here
        and left alone. On the way out, still under the lock, :func:`.settle.settle` ends whatever of the closed
        trades still rests at BingX or stays open in the books (a stop the loop placed meanwhile, a row the books
        imported): the one place a flatten's leftovers are cancelled. freqtrade's notifications of the trades it
        closes, and its protections (pair locks), are held meanwhile and done once the lock is let go, before entries
        resume (:mod:`.after_books`).
        """
        ids = [trade.id for trade in trades]
        if switches.on(switches.AFTER_BOOKS):
            after_books.hold()  # freqtrade's per-trade notifications and protections wait for the lock's release
        if self._holding_exit_lock:
            with reconcile.loaded_between_commits():
                yield trades
            settle(self.ft, trades)
            return
        with self.ft._exit_lock:
            Trade.session.expire_all()
            fresh = Trade.get_trades([Trade.id.in_(ids)]).all() if ids else []
            with reconcile.loaded_between_commits():
                yield fresh
            settle(self.ft, fresh)



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
