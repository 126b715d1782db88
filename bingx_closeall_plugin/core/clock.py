"""BingX's clock as the plugin keeps it: the offset every signed request's timestamp is corrected by.

ccxt's bingx ``nonce()`` is the local clock only, and BingX refuses a request whose timestamp is off by more
than its recvWindow (80014, 100421, 109400 "timestamp"), before anything executes. The one rule for such a
refusal: resynchronise with BingX's server time once, then send the request once more (a retrier would send
the same skewed timestamp again). The close plan applies it between its own rounds (:func:`resync_clock`: it
counts what it sends); everything else goes through :func:`with_resync`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt

from .errors import ClockSkew
from .methods import SERVER_TIME
from .plans import Call, Plan

logger = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["RESYNC_WARNING", "bingx_now", "known_bingx_ms", "resync_clock", "set_clock_offset", "with_resync",
           "with_resync_async"]


def known_bingx_ms(exchange: Any) -> int:
    """BingX's clock in epoch ms as ``exchange`` knows it: its local clock less the offset the last resync measured
    (``options['timeDifference']``, 0 before any)."""
    return int(exchange.milliseconds()) - int(exchange.options.get("timeDifference") or 0)


def default_shadow_nonce(exchange: Any, nonce: Any) -> None:
    exchange.nonce = nonce


# How a plain ccxt.bingx gets its instance nonce; the freqtrade layer's install() swaps in one that records it in
# its PATCHES (and uninstall() removes it again).
shadow_nonce = default_shadow_nonce


def set_clock_offset(exchange: Any, server_time: Any) -> None:
    """Make the exchange's nonce follow BingX's clock from now on.

    ccxt's bingx ``nonce()`` is the local clock only. The plugin's exchange classes honour
    ``options['timeDifference']`` (ccxt's own key for it); a plain ``ccxt.bingx`` gets an instance-level
    ``nonce`` that does the same (through :data:`shadow_nonce`), once, when its class has a callable
    ``nonce`` to stand in for (only that it is callable is checked: not its signature, nor what it returns).
    """
    try:
        server_ms = int(server_time["data"]["serverTime"])
    except (KeyError, TypeError, ValueError) as e:
        raise ccxt.BadResponse(f"bingx server time answer has no serverTime: {server_time!r:.200}") from e
    exchange.options["timeDifference"] = exchange.milliseconds() - server_ms
    if not getattr(exchange, "honours_time_difference", False) and "nonce" not in vars(exchange):
        if not callable(getattr(type(exchange), "nonce", None)):
            raise TypeError(f"{type(exchange).__name__} has no nonce() to correct for clock skew")
        shadow_nonce(exchange, lambda: known_bingx_ms(exchange))
    logger.info("clock resynchronised with BingX: local clock is %d ms ahead", exchange.options["timeDifference"])


RESYNC_WARNING = "BingX refused the request's timestamp; resynchronising the clock and sending it again"


def resync_clock(exchange: Any) -> Plan:
    """The resynchronisation as a plan step: one read of BingX's server time, then the offset set from it."""
    set_clock_offset(exchange, (yield Call(SERVER_TIME.linear, {})))


def with_resync(exchange: Any, send: Callable[[], T]) -> T:
    """``send()``; refused for its timestamp, resynchronise with BingX's clock and ``send()`` once more."""
    try:
        return send()
    except ClockSkew:
        logger.warning(RESYNC_WARNING)
        set_clock_offset(exchange, getattr(exchange, SERVER_TIME.linear)({}))
        return send()


async def with_resync_async(exchange: Any, send: Callable[[], Awaitable[T]]) -> T:
    """:func:`with_resync` for an async ccxt client."""
    try:
        return await send()
    except ClockSkew:
        logger.warning(RESYNC_WARNING)
        set_clock_offset(exchange, await getattr(exchange, SERVER_TIME.linear)({}))
        return await send()


def bingx_now(exchange: Any) -> Plan:
    """BingX's clock in epoch ms: its server time (a public read), else the local clock corrected by any resync."""
    try:
        answer = yield Call(SERVER_TIME.linear, {})
        return int(answer["data"]["serverTime"])
    except (ccxt.BaseError, KeyError, TypeError, ValueError) as e:
        logger.warning("BingX's server time could not be read (%s); using the local clock", type(e).__name__)
        return known_bingx_ms(exchange)
