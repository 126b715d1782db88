"""Start-up: the books made to agree with what BingX did while the bot was not running, or was killed.

Runs once, after freqtrade's own start-up (its saved open orders updated) and after an interrupted flatten is
finished (:func:`.reconcile.recover_interrupted`); live futures only. It reads positions, open orders and the
order history once each, then, for the bot's pairs (its whitelist and the pairs of its open trades):

* **A trade whose position BingX no longer holds** (the guard's direct flatten, the CLI or a close by hand
  while the bot was dead, or a stop that fired): BingX's fills that closed it are attached as freqtrade books
  any fill (``update_trade_state``: BingX's price and fee). Exit reason ``force_exit`` for a close the bot did
  not place (closeAllPositions places market orders without a ``clientOrderID``), ``stoploss_on_exchange``
  for a stop that fired, ``liquidation`` for BingX's liquidation. Without this, freqtrade's loop finds the
  gap through its wallet check, books the close as ``sold_on_exchange``, and failed on a cancelled stop it did
  not know (``orders.ft_price`` NOT NULL; the trade stayed open for a flat position).
* **An entry this bot placed that BingX filled and the books never saved** (killed between BingX's answer and
  freqtrade's commit): adopted as a trade, as freqtrade's ``execute_entry`` builds one, so the position is
  the bot's again (its stop, its exits). The bot's entries carry its ``clientOrderID`` prefix
  (:mod:`.order_tags`); a position without one is not taken.
* **A stop the books never saved** (killed between BingX accepting a stop, or its replacement, and the commit;
  BingX takes no ``clientOrderID`` on a stop): on a pair where the bot holds a trade, a STOP / STOP_MARKET on
  the trade's exit side is the bot's. It becomes the trade's stop when the trade has none open (no moment
  unprotected), and is cancelled when the trade has one (two stops would close the position twice). On a
  flat pair of the bot's, a stop or take-profit rests for nothing and would open a position when it fires:
  cancelled, unless BingX shows it is not reduce-only (someone's entry, left alone). This is the one place a
  stop the database never saved is cancelled, an interrupted flatten's included (its trades' pairs are
  passed in). BingX's TRIGGER_MARKET and TRIGGER_LIMIT are conditional entries, which freqtrade never
  places: not the bot's, left alone.

What cannot be known (a read BingX does not answer, a trade whose position is gone with no close in the
history) is said in the log and as a freqtrade warning message (Telegram, webhooks), and nothing is guessed:
the loop then goes on with freqtrade's own handling. An open trade it concerns shows it in ``/status`` (REST,
FreqUI, Telegram) as its exit reason, ``unverified on BingX: ...``, freqtrade's field for a trade's pending
exit, which freqtrade replaces when it books the trade's exit; the next start-up that can compare clears it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from freqtrade.enums import ExitType, RPCMessageType
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.persistence import Order, Trade

from . import releases
from .order_tags import is_ours
from .reconcile import HISTORY_MARGIN_MS, exit_orders_for, loaded_between_commits, one_wallet_sync, read_history
from .settle import RESTING_EXITS, STOP_TYPES, bingx_type, cancel_unsaved_exits

logger = logging.getLogger(__name__)

__all__ = ["STOP_TYPES", "UNVERIFIED", "SyncReport", "sync_with_bingx"]

HISTORY_DAYS_MAX = 7  # BingX's allOrders answers at most 7 days back
UNVERIFIED = "unverified on BingX"  # how an open trade's exit reason starts while the start-up could not check it
EXIT_REASON_MAX = 255  # freqtrade's column (CUSTOM_TAG_MAX_LENGTH)


@dataclass
class SyncReport:
    closed: dict[int, list[str]] = field(default_factory=dict)  # trade id -> BingX order ids attached
    adopted: dict[str, str] = field(default_factory=dict)  # pair -> entry order id adopted as a trade
    stops_adopted: dict[int, str] = field(default_factory=dict)  # trade id -> stop order id
    stops_cancelled: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # what could not be known, as told to the operator


def sync_with_bingx(freqtrade: Any, recovered_pairs: frozenset[str] | set[str] = frozenset()) -> SyncReport:
    """Make the books agree with BingX at start-up; ``recovered_pairs``: pairs an interrupted flatten closed."""
    report = SyncReport()
    exchange = freqtrade.exchange
    open_trades = list(Trade.get_open_trades())
    pairs = set(freqtrade.config["exchange"].get("pair_whitelist") or []) | {t.pair for t in open_trades}
    pairs |= set(recovered_pairs)
    try:
        positions = {p["symbol"]: p for p in exchange.fetch_positions() if float(p.get("contracts") or 0)}
        resting = exchange._read_open_orders()
        history = [exchange._order_contracts_to_amount(o) for o in read_history(exchange._api, _since_ms(open_trades))]
    except Exception as e:  # noqa: BLE001 - the start-up goes on with freqtrade's own handling; said, not raised
        report.unknown.append(f"BingX's positions, open orders or order history could not be read "
                              f"({type(e).__name__}): trades and positions were not compared at start-up")
        for trade in open_trades:
            _mark(trade, f"not compared at start-up, BingX's reads failed ({type(e).__name__})")
        Trade.commit()
        _tell(freqtrade, report)
        return report
    for trade in open_trades:
        _mark(trade, None)  # compared now: an earlier start-up's note no longer holds
    with one_wallet_sync(freqtrade), loaded_between_commits():
        _close_flat_trades(freqtrade, open_trades, positions, history, report)
        _adopt_entries(freqtrade, pairs, positions, history, report)
        _settle_stops(freqtrade, pairs, positions, resting, report)
        Trade.commit()
    _tell(freqtrade, report)
    return report


def _since_ms(open_trades: list[Trade]) -> int:
    """The history to read: from the oldest open trade's entry or the newest saved order, within BingX's 7 days."""
    newest = Order.session.query(Order.order_date).order_by(Order.order_date.desc()).limit(1).scalar()
    moments = [t.open_date_utc for t in open_trades]
    if newest is not None:
        moments.append(newest.replace(tzinfo=UTC) if newest.tzinfo is None else newest)
    floor_ms = int(time.time() * 1000) - HISTORY_DAYS_MAX * 86_400_000 + HISTORY_MARGIN_MS
    since = min((int(m.timestamp() * 1000) for m in moments), default=floor_ms)
    return max(since, floor_ms)


def _exit_reason(order: dict[str, Any], prefix: str) -> str:
    kind = str((order.get("info") or {}).get("type") or "").upper()
    if "LIQUIDATION" in kind:
        return ExitType.LIQUIDATION.value
    if kind in STOP_TYPES:
        return ExitType.STOPLOSS_ON_EXCHANGE.value  # the bot's stop (it places no take-profit on BingX)
    if is_ours(order, prefix):
        return ExitType.SOLD_ON_EXCHANGE.value  # the bot's own exit that it never saved: freqtrade's word for it
    return ExitType.FORCE_EXIT.value  # closed by someone's closeAllPositions or by hand, outside the bot


def _close_flat_trades(freqtrade: Any, trades: list[Trade], positions: dict[str, Any],
                       history: list[dict[str, Any]], report: SyncReport) -> None:
    prefix = freqtrade.exchange.order_tag_prefix
    for trade in trades:
        if not trade.is_open or trade.pair in positions or trade.has_open_orders or not trade.amount:
            continue
        for order in exit_orders_for(trade, history, 0, freqtrade.exchange._api):
            order_obj = Order.parse_from_ccxt_object(order, trade.pair, trade.exit_side)
            order_obj.ft_order_tag = _exit_reason(order, prefix)
            trade.orders.append(order_obj)
            trade.exit_reason = order_obj.ft_order_tag
            freqtrade.update_trade_state(trade, order_obj.order_id, order)
            report.closed.setdefault(trade.id, []).append(order_obj.order_id)
        if trade.is_open:
            report.unknown.append(f"trade {trade.id} ({trade.pair}): BingX holds no position and its order history "
                                  f"shows no close since the trade opened; left open for freqtrade's own check")
            _mark(trade, "BingX holds no position and its history shows no close")
        else:
            freqtrade.cancel_stoploss_on_exchange(trade)  # the saved stop, if BingX still has it
    if report.closed:
        logger.warning("Trades closed on BingX while the bot was not running, booked with BingX's fills "
                       f"(trade: order ids): {_ids(report.closed)}.")


def _adopt_entries(freqtrade: Any, pairs: set[str], positions: dict[str, Any], history: list[dict[str, Any]],
                   report: SyncReport) -> None:
    prefix = freqtrade.exchange.order_tag_prefix
    owned = {t.pair for t in Trade.get_open_trades()}
    entries = sorted((o for o in history if is_ours(o, prefix) and not o.get("reduceOnly")
                      and float(o.get("filled") or 0) > 0 and o.get("symbol") in pairs), key=_timestamp)
    for order in reversed(entries):  # newest first: one trade per pair, as freqtrade keeps
        pair = order["symbol"]
        position = positions.get(pair)
        if (pair in owned or position is None or releases.order_by_id(str(order["id"]), pair) is not None
                or position.get("side") != ("long" if order.get("side") == "buy" else "short")):
            continue
        trade = _trade_from_entry(freqtrade, order, position)
        report.adopted[pair] = str(order["id"])
        owned.add(pair)
        logger.warning(f"Adopted BingX position {pair} as trade {trade.id}: its entry {order['id']} was filled "
                       "by BingX but never saved (the bot was stopped in between).")


def _trade_from_entry(freqtrade: Any, order: dict[str, Any], position: dict[str, Any]) -> Trade:
    """The trade freqtrade's ``execute_entry`` would have saved for ``order``, then its fill booked."""
    exchange = freqtrade.exchange
    pair = order["symbol"]
    leverage = float(position.get("leverage") or 1.0)
    price = float(order.get("average") or order.get("price") or position.get("entryPrice") or 0.0)
    amount = float(order["filled"])
    fee = exchange.get_fee(symbol=pair, taker_or_maker="maker")
    opened = datetime.fromtimestamp(_timestamp(order) / 1000, tz=UTC)
    trade = Trade(
        pair=pair, base_currency=exchange.get_pair_base_currency(pair),
        stake_currency=freqtrade.config["stake_currency"], stake_amount=amount * price / leverage, amount=0,
        is_open=True, amount_requested=amount, fee_open=fee, fee_close=fee, open_rate=price,
        open_rate_requested=price, open_date=opened, exchange=exchange.id,
        strategy=freqtrade.strategy.get_strategy_name(), enter_tag=None,
        timeframe=timeframe_to_minutes(freqtrade.config["timeframe"]), leverage=leverage,
        is_short=order.get("side") == "sell", trading_mode=freqtrade.trading_mode, funding_fees=0.0,
        amount_precision=exchange.get_precision_amount(pair), price_precision=exchange.get_precision_price(pair),
        precision_mode=exchange.precisionMode, precision_mode_price=exchange.precision_mode_price,
        contract_size=exchange.get_contract_size(pair),
    )
    trade.adjust_stop_loss(trade.open_rate, freqtrade.strategy.stoploss, initial=True)
    order_obj = Order.parse_from_ccxt_object(order, pair, trade.entry_side, amount, price)
    trade.orders.append(order_obj)
    trade.recalc_trade_from_orders()
    Trade.session.add(trade)
    Trade.commit()
    freqtrade.update_trade_state(trade, order_obj.order_id, order)
    return trade


def _settle_stops(freqtrade: Any, pairs: set[str], positions: dict[str, Any], resting: list[dict[str, Any]],
                  report: SyncReport) -> None:
    trades = {t.pair: t for t in Trade.get_open_trades()}
    unsaved = [o for o in resting if o.get("symbol") in pairs and o.get("symbol") in trades
               and releases.order_by_id(str(o["id"]), o["symbol"]) is None and bingx_type(o) in RESTING_EXITS]
    for order in sorted(unsaved, key=_timestamp, reverse=True):  # the newest is the one the killed bot saved last
        pair = order["symbol"]
        trade = trades[pair]
        if order.get("side") != trade.exit_side or bingx_type(order) not in STOP_TYPES:
            continue
        if not trade.has_open_sl_orders and pair in positions:
            stop_price = order.get("stopLossPrice") or order.get("triggerPrice") or order.get("stopPrice")
            trade.orders.append(Order.parse_from_ccxt_object(order, pair, "stoploss", trade.amount, stop_price))
            Trade.commit()
            report.stops_adopted[trade.id] = str(order["id"])
            continue
        try:  # a second stop beside the one the trade has: two stops would close the position twice
            freqtrade.exchange.cancel_order(str(order["id"]), pair)
            report.stops_cancelled.append(str(order["id"]))
        except Exception as e:  # noqa: BLE001 - one order's failure does not stop the others' settling
            report.unknown.append(f"{bingx_type(order)} {order['id']} on {pair} was never saved and could not "
                                  f"be cancelled ({type(e).__name__}): it may still rest")
            _mark(trade, f"a second stop {order['id']} may still rest")
    # a flat pair of the bot's: a stop or take-profit rests there for nothing (the rule every flatten ends with too)
    cancelled, failed = cancel_unsaved_exits(freqtrade.exchange, {p for p in pairs if p not in trades
                                                                  and p not in positions}, resting)
    report.stops_cancelled += cancelled
    report.unknown += failed
    if report.stops_adopted:
        logger.warning(f"Stops BingX accepted but the bot never saved, now the trades' stops (trade: order id): "
                       f"{_ids(report.stops_adopted)}.")
    if report.stops_cancelled:
        logger.warning(f"Cancelled {len(report.stops_cancelled)} stop order(s) the bot never saved, resting beside a "
                       f"trade's own stop or for a flat position: {', '.join(report.stops_cancelled)}.")


def _tell(freqtrade: Any, report: SyncReport) -> None:
    """What could not be known, in the log and to the operator's channels (freqtrade's warning message)."""
    for text in report.unknown:
        logger.warning(f"Start-up check against BingX: {text}. Check the account and /status by hand.")
    if report.unknown:
        freqtrade.rpc.send_msg({"type": RPCMessageType.WARNING,
                                "status": "Start-up check against BingX: " + "; ".join(report.unknown)})


def _mark(trade: Trade, note: str | None) -> None:
    """Show ``note`` in ``/status`` as the open trade's exit reason (None: clear the start-up's earlier note).

    Only a reason the start-up wrote itself is replaced: freqtrade's own (a pending exit's) is left as it is.
    """
    if trade.exit_reason is None or trade.exit_reason.startswith(UNVERIFIED):
        trade.exit_reason = None if note is None else f"{UNVERIFIED}: {note}"[:EXIT_REASON_MAX]




def _timestamp(order: dict[str, Any]) -> int:
    return int(order.get("timestamp") or 0)


def _ids(mapping: dict[Any, Any]) -> str:
    return ", ".join(f"{key}: {' '.join(value) if isinstance(value, list) else value}"
                     for key, value in mapping.items())

