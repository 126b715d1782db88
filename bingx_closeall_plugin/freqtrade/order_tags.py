"""Which BingX orders are this bot's: a ``clientOrderID`` on every order it places, read back after a crash.

A bot killed between BingX accepting its entry and the database commit leaves a position BingX holds and the
books do not know. BingX's order history keeps each order's ``clientOrderID``, so the bot tags its orders and
the restart (:mod:`.startup_sync`) can tell its own unsaved entry from a position someone else opened.

BingX's quirks handled here (swap v2 ``POST trade/order``): the id is 1 to 40 characters, BingX stores it
lowercased, and only LIMIT and MARKET orders take one (a stop does not; its owner is read from its symbol and
side, see :mod:`.startup_sync`). The prefix names the bot's database: two bots on one account, each with its
own database, never take each other's orders for their own. What kind of BingX order a ccxt order is (its BingX
type, whether BingX says it is not reduce-only), for those that carry no tag, is read here too.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

__all__ = ["MAX_LENGTH", "RESTING_EXITS", "STOP_TYPES", "TAGGED_TYPES", "bingx_type", "is_ours", "new_client_order_id",
           "not_reduce_only", "tag_prefix", "with_trigger_price"]

MAX_LENGTH = 40  # BingX's limit on clientOrderID
TAGGED_TYPES = frozenset({"limit", "market"})  # the only order types BingX takes a clientOrderID for
STOP_TYPES = frozenset({"STOP_MARKET", "STOP"})  # what freqtrade places as a stop on BingX
RESTING_EXITS = STOP_TYPES | {"TAKE_PROFIT_MARKET", "TAKE_PROFIT"}


def bingx_type(order: dict[str, Any]) -> str:
    """BingX's own type of a ccxt order (ccxt reads a STOP_MARKET as "market")."""
    return str((order.get("info") or {}).get("type") or "").upper()


def not_reduce_only(order: dict[str, Any]) -> bool:
    """True only when BingX says so: an order without the flag is not taken for an entry."""
    flag = (order.get("info") or {}).get("reduceOnly")
    return flag is False or str(flag).lower() == "false"


def tag_prefix(config: dict[str, Any]) -> str:
    """``ft`` and 8 hex digits of the bot's database URL: lowercase, as BingX stores it."""
    db_url = str(config.get("db_url") or "")
    return "ft" + hashlib.sha256(db_url.encode()).hexdigest()[:8]


def new_client_order_id(prefix: str) -> str:
    """A fresh id under ``prefix`` (BingX refuses one id for two orders): 35 characters."""
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def is_ours(order: dict[str, Any], prefix: str) -> bool:
    """True when a ccxt order carries a clientOrderID this bot gave it (BingX answers it lowercased)."""
    client_id = str(order.get("clientOrderId") or (order.get("info") or {}).get("clientOrderId") or "")
    return client_id.lower().startswith(prefix + "-")


def with_trigger_price(order: dict[str, Any]) -> dict[str, Any]:
    """A conditional market order (STOP_MARKET, TAKE_PROFIT_MARKET...) with its trigger as its price.

    ccxt parses such a row with ``price`` None and the trigger in ``stopLossPrice`` / ``triggerPrice``; freqtrade
    saves an order it finds on the exchange with ``ft_price`` from ``price``, a NOT NULL column, so the commit
    fails and the trade stays open for a flat position. BingX documents the row with its ``stopPrice``: that is
    the order's price as freqtrade books its own stops (``create_stoploss`` saves the stop price).
    """
    if order.get("price") is not None:
        return order
    trigger = next((order.get(key) for key in ("stopLossPrice", "triggerPrice", "stopPrice", "takeProfitPrice")
                    if order.get(key) is not None), None)
    return order if trigger is None else {**order, "price": trigger}
