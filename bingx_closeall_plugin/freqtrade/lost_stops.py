"""A stop whose answer was lost: found at BingX and returned as placed, not placed a second time.

freqtrade's ``create_stoploss`` turns a lost answer (a timeout, a dropped connection, an HTML 5xx: ccxt's
``NetworkError``) into ``TemporaryError``; the loop logs it with a traceback, books no stop and places the stop
again on its next pass. When BingX had accepted the first one, the trade then has two reduce-only stops at BingX
and one in the books: the first to trigger closes the position, and the other rests for a flat position (the
stale stop of the chaos soak, by another road), unseen by the books until the next start-up's sync.

After such an error the plugin's exchange class reads the pair's open orders once (:func:`find_placed`): a
reduce-only ``STOP_MARKET``/``STOP`` on the stop's side at the stop's trigger price, for the stop's amount, placed
since the attempt began and known to no order row, is the stop just sent, and is returned as freqtrade's own
answer would have been. BingX takes no ``clientOrderID`` on conditional orders, so these fields are what names it.
When none is found (BingX never got it, or the read fails) the error goes on to freqtrade as before. Not covered: a
request BingX executes only after that read (later than ccxt's 10 s timeout); the next start-up's sync cancels such
a second stop (``startup_sync``).
"""

from __future__ import annotations

import logging
from typing import Any

import ccxt
from freqtrade.exchange.exchange_utils import ROUND_DOWN, ROUND_UP

from . import releases
from .order_tags import STOP_TYPES, bingx_type, not_reduce_only

logger = logging.getLogger(__name__)

__all__ = ["MARGIN_MS", "find_placed", "look_up"]

MARGIN_MS = 5_000  # BingX's clock against the bot's estimate of it, as for the order history (reconcile.py)
_TOLERANCE = 1e-9


def _close(a: Any, b: float) -> bool:
    try:
        return abs(float(a) - b) <= max(abs(b), 1.0) * _TOLERANCE
    except (TypeError, ValueError):
        return False


def find_placed(open_orders: list[dict[str, Any]], pair: str, side: str, stop_price: float, amount: float,
                since_ms: int) -> dict[str, Any] | None:
    """The newest of ``open_orders`` (ccxt's, amounts in coins) that is the stop just sent, or None."""
    found = []
    for order in open_orders:
        info = order.get("info") or {}
        if (
            order.get("symbol") == pair
            and bingx_type(order) in STOP_TYPES
            and order.get("side") == side
            and not not_reduce_only(order)
            # ccxt reads a STOP_MARKET's trigger as stopLossPrice; BingX's own field is stopPrice
            and _close(order.get("stopLossPrice") or order.get("triggerPrice") or order.get("stopPrice")
                       or info.get("stopPrice"), stop_price)
            and abs(float(order.get("amount") or 0) - amount) <= amount * 0.01
            and int(order.get("timestamp") or 0) >= since_ms - MARGIN_MS
            and releases.order_by_id(str(order["id"]), pair) is None
        ):
            found.append(order)
    return max(found, key=lambda o: int(o.get("timestamp") or 0), default=None)


def look_up(exchange: Any, pair: str, side: str, stop_price: float, amount: float, since_ms: int,
            error: BaseException) -> dict[str, Any] | None:
    """After ``error`` from freqtrade's ``create_stoploss`` on the plugin's ``exchange``: the stop BingX has, or None
    (the error was not a lost answer, BingX has no such stop, or its open orders cannot be read)."""
    if not isinstance(error.__cause__, ccxt.NetworkError):
        return None
    try:
        resting = exchange._api.fetch_open_orders(pair)
    except ccxt.BaseError as e:
        logger.warning(f"The answer to the stoploss order for {pair} was lost, and BingX's open orders could not be "
                       f"read to look for it ({type(e).__name__}).")
        return None
    # the trigger as freqtrade rounds it before sending: down for a buy stop, up for a sell stop
    normalized = float(exchange.price_to_precision(pair, stop_price,
                                                   rounding_mode=ROUND_DOWN if side == "buy" else ROUND_UP))
    found = find_placed([exchange._order_contracts_to_amount(o) for o in resting], pair, side, normalized, amount,
                        since_ms)
    if found is None:
        logger.info(f"The answer to the stoploss order for {pair} was lost; BingX does not have it "
                    f"({len(resting)} open order(s) on {pair}).")
        return None
    logger.warning(f"The answer to the stoploss order for {pair} was lost ({type(error.__cause__).__name__}); BingX "
                   f"has it: order {found['id']}, booked as placed instead of placing another.")
    return found
