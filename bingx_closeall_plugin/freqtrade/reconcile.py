"""Exit orders -> trades: BingX's real fills attached to freqtrade's trades, and crash recovery.

closeAllPositions answers with order ids only, and BingX's single-order query needs the symbol, so the
close's orders are read from ONE order-history query (``GET /openApi/swap/v2/trade/allOrders`` takes no
symbol) and attached to their trades as freqtrade's own ``handle_onexchange_order`` attaches orders it
did not place: ``Order.parse_from_ccxt_object`` + ``update_trade_state``, so freqtrade's order handling
closes each trade with BingX's fill price and fees, and sends its usual notifications.

Crash safety: before a close request goes out, every trade it may close carries an *intent* (trade
custom data, committed). If the bot dies between BingX's answer and the database commit, the next
start-up finds the intent and attaches the fills from the order history; it never sends a close, so no
position is closed twice and none is reversed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ccxt
from freqtrade.enums import ExitType
from freqtrade.persistence import Order, Trade

from ..core.clock import known_bingx_ms
from ..core.methods import ORDER_HISTORY
from ..core.symbols import to_native
from . import custom_data, releases
from .patches import is_patched
from .settle import settle

logger = logging.getLogger(__name__)

__all__ = ["INTENT_KEY", "Intent", "attach_exit_orders", "bingx_clock_ms", "clear_intent", "loaded_between_commits",
           "persist_intent", "recover_interrupted", "wallet_updates_deferred"]

INTENT_KEY = "bingx_flatten_intent"
# Every time here is BingX's clock: the intent's, the order history's, the orders' dates (freqtrade takes them from
# BingX's answers). The history is still read from a little before the intent: the bot's estimate of BingX's clock is
# only corrected once BingX refuses a timestamp, so it can be off by up to BingX's recvWindow (5 s by default).
HISTORY_MARGIN_MS = 10_000
AMOUNT_TOLERANCE = 1e-9  # float noise when comparing filled amounts with the trade's
HISTORY_LIMIT = 1000  # BingX's maximum rows per allOrders request
# Pause before each further attempt (None: the last attempt): about 7 s in all, with the bot's exit lock held,
# so the bot's own loop does not start a recovery of its own on these trades meanwhile.
HISTORY_RETRY_S = (0.5, 1.0, 2.0, 4.0, None)


@dataclass(frozen=True)
class Intent:
    id: str
    started_ms: int

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "started_ms": self.started_ms})

    @classmethod
    def from_json(cls, text: Any) -> Intent | None:
        try:
            data = json.loads(text) if isinstance(text, str) else text
            return cls(str(data["id"]), int(data["started_ms"]))
        except (TypeError, ValueError, KeyError):
            return None


def bingx_clock_ms(api: Any) -> int:
    """BingX's clock as the bot knows it: the local clock minus the offset the last resynchronisation measured.

    The order history's times are BingX's, so the intent that is compared with them must be too; the local clock
    can be 30 s or more off (the case the plugin resynchronises for).
    """
    return known_bingx_ms(api)


def persist_intent(trades: list[Trade], api: Any) -> Intent:
    """Mark ``trades`` as about to be closed by BingX, committed before the request goes out.

    ``api`` is the ccxt client that sends the close: the intent is stamped with BingX's clock as it knows it.
    """
    if isinstance(api, (int, float)):  # the old signature took a local timestamp: refuse it, it is the bug
        raise TypeError("persist_intent() takes the ccxt client, to stamp the intent with BingX's clock")
    intent = Intent(uuid.uuid4().hex[:16], bingx_clock_ms(api))
    custom_data.set_on_all(trades, INTENT_KEY, intent.to_json())  # one commit, not one per trade
    Trade.commit()
    return intent


def clear_intent(trades: list[Trade]) -> None:
    custom_data.delete_on_all(trades, INTENT_KEY)  # one commit, not one per trade
    Trade.commit()


def read_history(api: Any, since_ms: int) -> list[dict[str, Any]]:
    """Every order since ``since_ms`` in one request, parsed by ccxt (markets are loaded in a bot).

    A read lost or refused as transient is tried again (reading sends nothing that trades), a bounded number of
    times: once the close is out, this read is what tells the trades they are closed.
    """
    params = {"startTime": since_ms - HISTORY_MARGIN_MS, "limit": HISTORY_LIMIT}
    for delay in HISTORY_RETRY_S:
        try:
            answer = getattr(api, ORDER_HISTORY.linear)(dict(params))
            break
        except ccxt.NetworkError as e:  # timeouts, resets, HTML 5xx, 80001/109500 and rate limits
            if delay is None:
                raise
            logger.warning(f"Reading BingX's order history failed ({type(e).__name__}); trying again in {delay} s")
            time.sleep(delay)
    data = answer.get("data") if isinstance(answer, dict) else None
    rows = data.get("orders") if isinstance(data, dict) else data
    return [api.parse_order(row) for row in rows or [] if isinstance(row, dict)]


def exit_orders_for(trade: Trade, history: list[dict[str, Any]], since_ms: int, exchange: Any) -> list[dict[str, Any]]:
    """Filled orders on the trade's own contract, on its exit side, placed after the intent and unknown to the bot.

    The contract is the trade's pair read through ``exchange``'s currency names, as the bot's ccxt reads it:
    ``TRUMP/USDT:USDT`` is BingX's ``TRUMPSOL-USDT``, never ``TRUMP-USDT``, whose fills are someone else's.

    On a one-way account such an order can only have reduced a position on the symbol: oldest first, they are
    the trade's close until its amount is covered. A later one closed a position that reappeared after the
    close (a late fill, re-closed by the flatten): it is not the trade's and is left unattached; so is one placed
    before the trade's entry (e.g. the close of such a position, inside the history's clock margin).
    """
    native = to_native(trade.pair, exchange)
    entries = [o.order_date_utc for o in trade.orders if o.ft_order_side == trade.entry_side and o.order_date]
    opened_ms = int(min(entries).timestamp() * 1000) if entries else 0  # BingX's clock, as the history's
    found = []
    covered = 0.0
    candidates = sorted(history, key=lambda order: int(order.get("timestamp") or 0))
    for order in candidates:
        if covered >= trade.amount * (1 - AMOUNT_TOLERANCE):
            break
        if (
            (order.get("info") or {}).get("symbol") == native
            and order.get("side") == trade.exit_side
            and order.get("status") == "closed"
            and float(order.get("filled") or 0) > 0
            and int(order.get("timestamp") or 0) >= max(since_ms - HISTORY_MARGIN_MS, opened_ms)
            and releases.order_by_id(str(order["id"]), trade.pair) is None
        ):
            found.append(order)
            covered += float(order["filled"])
    return found


_deferring = threading.local()  # .wallets: ids of the Wallets whose refresh this thread holds back


def wallet_updates_deferred(wallets: Any) -> bool:
    """True inside :func:`one_wallet_sync` for ``wallets``, on that thread only (read by install's hook)."""
    return id(wallets) in getattr(_deferring, "wallets", ())


@contextmanager
def one_wallet_sync(freqtrade: Any) -> Iterator[None]:
    """Hold back freqtrade's wallet refresh on this thread while many trades close, then refresh once.

    ``update_trade_state`` refreshes the wallets (balance and positions, two signed requests) after every
    filled order: for 50 trades closed by one closeAllPositions that is 100 requests, and seconds, before
    the last trade is closed in the database. One refresh after all of them gives the same wallets. The
    class-level hook on ``Wallets.update`` (install.PATCHES) reads a thread-local, so the bot's own loop and
    API threads keep refreshing as usual and no wallet object is changed.
    """
    from freqtrade.wallets import Wallets

    wallets = freqtrade.wallets
    if not is_patched(Wallets, "update"):
        raise RuntimeError("one_wallet_sync needs the plugin's Wallets.update hook: call install() first")
    held = getattr(_deferring, "wallets", None)
    if held is None:
        held = _deferring.wallets = set()
    nested = id(wallets) in held
    held.add(id(wallets))
    try:
        yield
    finally:
        if not nested:
            held.discard(id(wallets))
            wallets.update()


def attach_exit_orders(freqtrade: Any, trades: list[Trade], since_ms: int,
                       history: list[dict[str, Any]] | None = None) -> dict[int, list[str]]:
    """Attach each trade's close order(s) from BingX's history; returns trade id -> attached order ids."""
    if history is None:
        history = read_history(freqtrade.exchange._api, since_ms)
    with one_wallet_sync(freqtrade), loaded_between_commits():
        return _attach(freqtrade, trades, since_ms, history)


def _attach(freqtrade: Any, trades: list[Trade], since_ms: int, history: list[dict[str, Any]]) -> dict[int, list[str]]:
    attached: dict[int, list[str]] = {}
    for trade in trades:
        if not trade.is_open:
            continue
        for order in exit_orders_for(trade, history, since_ms, freqtrade.exchange._api):
            order_obj = Order.parse_from_ccxt_object(order, trade.pair, trade.exit_side)
            order_obj.ft_order_tag = ExitType.FORCE_EXIT.value
            trade.orders.append(order_obj)
            trade.exit_order_status = ""
            trade.exit_reason = ExitType.FORCE_EXIT.value
            freqtrade._notify_exit(trade, "market", order=order_obj)
            # freqtrade's own order handling: amount, fees, close rate, profit, EXIT_FILL notification. It commits
            # the order appended above with the trade's new state (one commit less per trade than committing it here).
            freqtrade.update_trade_state(trade, order_obj.order_id, order)
            attached.setdefault(trade.id, []).append(order_obj.order_id)
    Trade.commit()
    if attached:
        # One line for all of them: freqtrade already logs several lines per closed trade, and at 50 trades every
        # line rendered is time before the last trade is closed in the database.
        pairs = ", ".join(f"{trade_id}: {' '.join(ids)}" for trade_id, ids in attached.items())
        logger.info(f"Attached BingX close orders to {len(attached)} trade(s) (trade: order ids): {pairs}.")
    return attached


@contextmanager
def loaded_between_commits() -> Iterator[None]:
    """Keep this thread's trades and orders loaded across freqtrade's commits while many trades close.

    freqtrade's session expires every loaded object at each commit (SQLAlchemy's ``expire_on_commit``), and
    ``update_trade_state`` commits several times per trade, so each of them read its trade and orders back from
    sqlite several times: at 50 trades about a third of the bookkeeping's time. Its callers hold the bot's exit lock
    (:meth:`.flatten.Flattener.bookkeeping`, or start-up before the loop runs), so nothing else closes these trades
    meanwhile; every commit still goes to the database as before. On the way out everything is expired once: the
    next read is fresh, as freqtrade expects. Nested use keeps the outer one's setting.
    """
    session = Trade.session()
    if not isinstance(getattr(session, "expire_on_commit", None), bool):
        raise RuntimeError("freqtrade's Trade.session is not a SQLAlchemy session with expire_on_commit")
    if not session.expire_on_commit:
        yield
        return
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = True
        session.expire_all()


def recover_interrupted(freqtrade: Any) -> dict[int, list[str]]:
    """At start-up: finish a flatten the bot died in, from BingX's order history. Sends nothing that trades."""
    pending = []
    for trade in Trade.get_open_trades():
        intent = Intent.from_json(trade.get_custom_data(INTENT_KEY))
        if intent is not None:
            pending.append((trade, intent))
    if not pending:
        return {}
    since_ms = min(intent.started_ms for _, intent in pending)
    trades = [trade for trade, _ in pending]
    logger.warning(f"Found an interrupted BingX flatten for {len(trades)} trade(s); reconciling from order history.")
    attached = attach_exit_orders(freqtrade, trades, since_ms)
    # What the killed flatten left resting for the trades it closed (their saved stops, any row still open, a stop
    # the loop placed meanwhile that the database never saved): ended as after every flatten's books.
    settle(freqtrade, trades)
    clear_intent(trades)
    still_open = [t.id for t in trades if t.is_open]
    if still_open:
        logger.warning(f"Trades {still_open} had no BingX close order: their positions were not closed, "
                       "they stay open.")
    return attached
