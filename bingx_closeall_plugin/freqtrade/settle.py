"""After a flatten's books: nothing of a trade it closed stays open, in the database or on BingX.

A flatten books its trades from BingX's close, but orders the bot was placing for those trades while the press
ran have their own timing, and each way one can end is a stop resting for a flat position (it fires on nothing,
or closes the bot's next trade on that pair) or an order row open for a closed trade:

* the loop's pass, holding the exit lock, placed a stop (or moved a trailing one) just before or after the claim:
  BingX accepted it, or executes it only after the close (BingX takes a reduce-only STOP_MARKET with no
  position); the pass saves its row before it lets go of the lock, so the books see it, but the flatten's
  cancel of the flat positions' stops went out before, from the rows it knew then;
* a stop BingX holds that the books lost: the answer to its request was lost, or freqtrade rolled back the
  pass's session (``handle_onexchange_order`` does, on an error) after the stop was placed;
* the books themselves: for a trade whose position is gone with no close in BingX's history, freqtrade's
  ``handle_onexchange_order`` saves every order BingX lists for the pair, a resting stop included, as an open
  order of the trade it then closes (under the order's side, not as a ``stoploss``, so freqtrade's
  ``cancel_stoploss_on_exchange`` never sees it): the chaos soak's seed-11 violation.

:func:`settle` runs at the end of every flatten's bookkeeping, under the exit lock (nothing of the bot places or
saves an order for these trades meanwhile), after the books are committed, so it costs the answer one round trip
and the books nothing. It reads positions and open orders once, then on each pair of a closed trade that no open
trade holds and BingX holds no position on:

* every order row still open of a closed trade is cancelled at BingX if it rests there, else read back, and its
  row updated from BingX's answer;
* every stop or take-profit resting there that no row knows (:func:`cancel_unsaved_exits`, the start-up sync's
  rule too) is cancelled, unless BingX shows it is not reduce-only (someone's conditional entry).

A pair that still holds a position is left alone here: the flatten's own leftover close deals with it, and a
stop resting there protects it. A read BingX does not answer leaves the rows to freqtrade's own
``cancel_stoploss_on_exchange`` (what the database knows) and says what was not checked.

freqtrade's loop manages the orders of open trades only: an order row left open for a closed trade, whoever saved
it and whenever, would stay so, and its order rest at BingX, for good. :func:`sweep` is the loop's check for
that, after every iteration (one query of the database, no request while nothing is found), and settles what it
finds the same way, under the exit lock, unless a flatten is booking (its own settle comes at its end).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from freqtrade.persistence import Order, Trade
from sqlalchemy import select

from ..core.redaction import error_text
from . import releases
from .order_tags import RESTING_EXITS, STOP_TYPES, bingx_type, not_reduce_only

logger = logging.getLogger(__name__)

__all__ = ["RESTING_EXITS", "STOP_TYPES", "Settled", "bingx_type", "cancel_unsaved_exits", "not_reduce_only",
           "settle", "sweep"]


@dataclass
class Settled:
    rows_closed: dict[str, str] = field(default_factory=dict)  # order id -> its status now
    unsaved_cancelled: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    left: list[int] = field(default_factory=list)  # order rows left open: their position is still held, unowned


def cancel_unsaved_exits(exchange: Any, flat_pairs: set[str], resting: list[dict[str, Any]]) -> tuple[
        list[str], list[str]]:
    """Cancel each stop or take-profit resting on ``flat_pairs`` that no order row knows; returns the ids
    cancelled and what could not be (said, not raised). One that BingX shows is not reduce-only is someone's
    conditional entry, and BingX's TRIGGER_* orders are conditional entries freqtrade never places: left alone."""
    cancelled: list[str] = []
    failed: list[str] = []
    for order in resting:
        pair = order.get("symbol")
        if (pair not in flat_pairs or bingx_type(order) not in RESTING_EXITS or not_reduce_only(order)
                or releases.order_by_id(str(order["id"]), pair) is not None):
            continue
        try:
            exchange.cancel_order(str(order["id"]), pair)
            cancelled.append(str(order["id"]))
        except Exception as e:  # noqa: BLE001 - one order's failure does not stop the others' settling
            failed.append(f"{bingx_type(order)} {order['id']} on {pair} was never saved and could not be cancelled "
                          f"({type(e).__name__}): it may still rest")
    return cancelled, failed


def settle(freqtrade: Any, trades: list[Trade]) -> Settled:
    """See the module doc: called by the flatten's bookkeeping, under the exit lock, with the trades it booked."""
    done = Settled()
    closed = [t for t in trades if not t.is_open]
    if not closed:
        return done
    exchange = freqtrade.exchange
    try:
        held = {p["symbol"] for p in exchange.fetch_positions() if float(p.get("contracts") or 0)}
        resting = exchange._read_open_orders()
    except Exception as e:  # noqa: BLE001 - the books are written; what the database knows is still cancelled
        logger.warning(f"Could not read BingX's positions and open orders after the flatten ({error_text(e)}): "
                       "cancelling the closed trades' saved stops only.")
        for trade in closed:
            if trade.has_open_sl_orders:
                freqtrade.cancel_stoploss_on_exchange(trade)
        Trade.commit()
        done.unknown.append("BingX's open orders could not be read after the flatten")
        return done
    open_pairs = {t.pair for t in Trade.get_open_trades()}
    flat = {t.pair for t in closed} - open_pairs - held
    on_bingx = {str(o["id"]): o for o in resting}
    for trade in closed:
        for order_obj in [o for o in trade.orders if o.ft_is_open]:
            rests = str(order_obj.order_id) in on_bingx
            if rests and trade.pair not in flat and trade.pair not in open_pairs:
                # a position no trade owns: the flatten's leftover close deals with it; its stop protects it meanwhile
                done.left.append(order_obj.id)
                continue
            # on a flat pair, or beside another open trade's own orders: a closed trade's order must not rest
            _end_row(exchange, trade, order_obj, rests, done)
    cancelled, failed = cancel_unsaved_exits(exchange, flat, resting)
    done.unsaved_cancelled += cancelled
    done.unknown += failed
    Trade.commit()
    if done.rows_closed or done.unsaved_cancelled:
        logger.warning(f"After the flatten: {len(done.rows_closed)} order(s) of closed trades ended "
                       f"({_ids(done.rows_closed)}), {len(done.unsaved_cancelled)} unsaved stop(s) cancelled on flat "
                       f"pairs ({', '.join(done.unsaved_cancelled) or '-'}).")
    for text in done.unknown:
        logger.warning(f"After the flatten: {text}.")
    return done


_left: set[int] = set()  # order rows the sweep left open (their position held, unowned): not read again for them


def sweep(freqtrade: Any) -> Settled | None:
    """After a loop iteration: settle the closed trades that still have an order row open (None: none has)."""
    rows = Order.session.execute(
        select(Order.id, Order.ft_trade_id).join(Trade, Trade.id == Order.ft_trade_id)
        .filter(Order.ft_is_open.is_(True), Trade.is_open.is_(False))).all()
    ids = {trade_id for row_id, trade_id in rows if row_id not in _left}
    if not ids:
        return None
    with freqtrade._exit_lock:
        Trade.session.expire_all()
        trades = Trade.get_trades([Trade.id.in_(sorted(ids))]).all()
        logger.warning(f"Closed trade(s) {[t.id for t in trades]} still have an order open in the books; "
                       "ending it at BingX.")
        done = settle(freqtrade, trades)
    _left.update(done.left)
    return done


def _end_row(exchange: Any, trade: Trade, order_obj: Order, resting: bool, done: Settled) -> None:
    """An order row open for a closed trade on a flat pair: cancelled where BingX still holds it, else read back."""
    stop = order_obj.ft_order_side == "stoploss"
    try:
        if resting:
            answer = exchange.cancel_order(order_obj.order_id, trade.pair)
        else:
            answer = exchange.fetch_order_or_stoploss_order(order_obj.order_id, trade.pair, stop)
    except Exception as e:  # noqa: BLE001 - said; the other rows are still settled
        done.unknown.append(f"order {order_obj.order_id} of closed trade {trade.id} could not be "
                            f"{'cancelled' if resting else 'read'} ({type(e).__name__})")
        return
    order_obj.update_from_ccxt_object(answer)
    if resting and order_obj.ft_is_open:
        # BingX's cancel answers with the order as it stood (ccxt's status may still read "open"): it is gone now
        order_obj.status = "canceled"
        order_obj.ft_is_open = False
    done.rows_closed[str(order_obj.order_id)] = str(order_obj.status)


def _ids(rows: dict[str, str]) -> str:
    return ", ".join(f"{order_id} {status}" for order_id, status in rows.items()) or "-"
