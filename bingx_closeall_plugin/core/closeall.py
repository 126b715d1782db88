"""The close path: one signed closeAllPositions request, and what to do when its answer goes wrong.

Written once as a plan (a generator that yields the requests it needs and receives their answers or
errors) and run by the drivers of :mod:`.plans`, one for ``ccxt.bingx`` and one for
``ccxt.async_support.bingx``, so the sync and async twins cannot drift apart.

Rules the plan keeps:
- the close request is the first request sent: no markets, no time, no positions in front of it;
- an answer refused for the clock (80014, 100421, 109400 "timestamp") resynchronises with BingX's server
  time once and retries once, since ccxt's bingx ``nonce()`` has no server-time offset (:mod:`.clock`);
- an answer that is lost (timeout, reset, 5xx), "already submitted" (109201) or a transient service
  error (80001, 109500) is never blindly repeated: positions are read, and only if some remain is the
  same close sent again, a bounded number of times;
- 101205 "No position to close" means already flat: success, not an error;
- a rate limit (100410, 109429) whose end BingX gave is waited out and the close sent again, but only
  within the caller's ``rate_limit_wait`` (0 by default: raised at once), and never before BingX's own
  time says it is over: a close known to be refused would count toward BingX's error penalty.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ccxt

from .clock import RESYNC_WARNING, bingx_now, resync_clock
from .errors import (
    AlreadySubmitted,
    ClockSkew,
    InvalidInput,
    NoPositionToClose,
    ServiceUnavailable,
)
from .methods import CLOSE_ALL, POSITIONS
from .plans import Call, Interrupted, Plan, Sleep, run_async, run_sync
from .symbols import parse_symbol, unified_name

logger = logging.getLogger(__name__)

__all__ = ["CloseAllResult", "close_all_positions", "close_all_positions_async"]

# BingX accepts recvWindow up to 60 s (its signature docs); anything else is refused before sending.
MAX_RECV_WINDOW_MS = 60_000
# Backoff between verification rounds after a lost or failed answer; its length bounds the rounds.
VERIFY_BACKOFF_S = (0.0, 0.5, 1.0)
# A rate limit is waited out at most this many times per close path, whatever the deadline says.
MAX_RATE_LIMIT_WAITS = 3
# Past BingX's retry_after, so that the close sent after the wait is not refused for a few milliseconds.
RATE_LIMIT_MARGIN_S = 0.05
# Hook called while a rate limit is waited out: (seconds left, BingX's retry_after in epoch ms).
OnWait = Callable[[float, int], None]


@dataclass(frozen=True)
class CloseAllResult:
    """What one closeAllPositions call did, losing nothing BingX said."""

    success: list[str]  #: every order id BingX created, as an exact decimal string
    failed: list[Any]  #: BingX's ``failed`` entries as sent (``[]`` for null); integer ids as exact strings
    symbol: str | None  #: native symbol the call was limited to, or None for all
    raw: dict[str, Any] | None  #: BingX's last answer, untouched (None when none arrived)
    #: nothing was open before this call: BingX answered 101205, or closed and failed nothing, and no earlier
    #: close of this call can have executed
    already_flat: bool = False
    #: a positions read after a lost or refused answer found nothing open: flat, but this call's close may have
    #: done the closing (an answer lost after BingX executed it)
    verified_flat: bool = False
    recovered_from: str | None = None  #: the error a lost or refused answer raised, when it was verified
    requests: int = 1  #: close requests sent
    unified_symbol: str | None = None  #: ccxt's name for ``symbol`` (``TRUMP/USDT:USDT`` for ``TRUMPSOL-USDT``)

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": list(self.success),
            "failed": list(self.failed),
            "symbol": self.symbol,
            "unified_symbol": self.unified_symbol,
            "already_flat": self.already_flat,
            "verified_flat": self.verified_flat,
            "recovered_from": self.recovered_from,
            "close_requests": self.requests,
        }


def exact_id(value: Any) -> Any:
    """An order or position id as its exact decimal string; other values unchanged.

    BingX ids are 19-digit integers beyond 2**53. Python's json keeps them exact as int; a float has
    already lost digits, so it is refused rather than turned into a wrong id.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise ccxt.BadResponse(f"bingx sent an order id as a float ({value!r}); its exact digits are lost")
    return value


def result_from_response(response: Any, symbol: str | None, requests: int,
                         recovered_from: str | None) -> CloseAllResult:
    if not isinstance(response, dict):
        raise ccxt.BadResponse(
            f"bingx closeAllPositions answered something that is not a JSON object: {response!r:.200}")
    data = response.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ccxt.BadResponse(f"bingx closeAllPositions answered data that is not an object: {data!r:.200}")
    success = data.get("success")
    failed = data.get("failed")
    if success is None:
        success = []
    if failed is None:
        failed = []
    if not isinstance(success, list) or not isinstance(failed, list):
        raise ccxt.BadResponse(f"bingx closeAllPositions answered success/failed that are not lists: {data!r:.200}")
    ids = [exact_id(item) for item in success]
    if not all(isinstance(item, str) and item.isdigit() for item in ids):
        raise ccxt.BadResponse(f"bingx closeAllPositions answered order ids that are not integers: {success!r:.200}")
    return CloseAllResult(
        success=ids,
        failed=[exact_id(item) for item in failed],
        symbol=symbol,
        raw=response,
        requests=requests,
        recovered_from=recovered_from,
        # an empty answer to the first close that could have executed: nothing was open (BingX's answer with
        # no symbol on a flat account); after a lost answer, the earlier close may have done it
        already_flat=not ids and not failed and recovered_from is None,
    )


def open_positions(response: Any, symbol: str | None = None) -> list[dict[str, Any]]:
    """The non-zero positions in a BingX positions answer (optionally one symbol's)."""
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, list):
        raise ccxt.BadResponse(f"bingx positions answered data that is not a list: {response!r:.200}")
    positions = []
    for item in data:
        if not isinstance(item, dict):
            continue
        try:
            amount = float(item.get("positionAmt") or item.get("availableAmt") or 0)
        except (TypeError, ValueError):
            amount = 0.0
        if amount != 0 and (symbol is None or item.get("symbol") == symbol):
            positions.append(item)
    return positions


def check_arguments(symbol: str | None, recv_window: int | None, inverse: bool,
                    exchange: Any = None) -> tuple[str | None, bool]:
    """Validate before anything is sent; returns (native symbol or None, coin-M?).

    ``symbol`` is read through ``exchange``'s currency table (ccxt's ``TRUMP/USDT:USDT`` is BingX's
    ``TRUMPSOL-USDT``); None: ccxt bingx's default table.
    """
    if recv_window is not None:
        if isinstance(recv_window, bool) or not isinstance(recv_window, int):
            raise InvalidInput(f"recv_window must be a whole number of milliseconds, got {recv_window!r}")
        if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
            raise InvalidInput(
                f"recv_window must be between 1 and {MAX_RECV_WINDOW_MS} ms (BingX's limit), got {recv_window}")
    if symbol is None:
        return None, inverse
    parsed = parse_symbol(symbol, exchange)
    return parsed.native, parsed.inverse


def close_plan(exchange: Any, symbol: str | None, recv_window: int | None, inverse: bool,
               rate_limit_wait: float = 0.0, on_wait: OnWait | None = None) -> Plan:
    """The close path as a plan; see the module docstring for its rules.

    ``rate_limit_wait`` bounds, in seconds from now, how long a rate limit may be waited out in total;
    ``on_wait`` is called about once a second while one is.
    """
    params: dict[str, Any] = {}
    if symbol is not None:
        params["symbol"] = symbol
    if recv_window is not None:
        params["recvWindow"] = recv_window
    close = Call(CLOSE_ALL.method(inverse), params)
    sent = [0]
    deadline = time.monotonic() + max(0.0, float(rate_limit_wait))
    try:
        result = yield from _close_rounds(exchange, symbol, inverse, close, sent, deadline, on_wait)
        return dataclasses.replace(result, unified_symbol=unified_name(symbol, exchange)) if symbol else result
    except Exception as e:
        # Callers that report request counts (flatten) read how many closes went out before the error.
        e.close_requests = sent[0]  # type: ignore[attr-defined]
        raise


def _close_rounds(exchange: Any, symbol: str | None, inverse: bool, close: Call, sent: list[int],
                  deadline: float, on_wait: OnWait | None) -> Plan:
    # sent[0] counts the close requests, shared with close_plan, which reports it on an error
    resynced = False
    backoff = iter(VERIFY_BACKOFF_S)
    recovered_from: str | None = None
    verify = False
    waits = 0
    while True:
        if verify:
            flat = yield from _verify_flat(symbol, inverse, backoff, sent, recovered_from)
            if flat is not None:
                return flat
            verify = False
        try:
            sent[0] += 1
            response = yield close
            return result_from_response(response, symbol, sent[0], recovered_from)
        except Interrupted:
            sent[0] -= 1  # the driver stops before sending: this close never left
            raise
        except ccxt.RateLimitExceeded as e:
            if not (yield from _wait_rate_limit(exchange, e, waits, deadline, on_wait)):
                raise
            waits += 1
        except ClockSkew:
            if resynced:
                raise
            resynced = True
            logger.warning(RESYNC_WARNING)
            yield from resync_clock(exchange)
        except NoPositionToClose:
            return _nothing_to_close(symbol, recovered_from, sent[0])
        except (AlreadySubmitted, ccxt.NetworkError) as e:  # ServiceUnavailable is a NetworkError
            recovered_from = _lost_close(e)
            verify = True


def _nothing_to_close(symbol: str | None, recovered_from: str | None, requests: int) -> CloseAllResult:
    """BingX's 101205: already flat, unless an earlier lost or refused close of this call emptied the account."""
    return CloseAllResult([], [], symbol, None, already_flat=recovered_from is None,
                          verified_flat=recovered_from is not None, recovered_from=recovered_from,
                          requests=requests)


def _lost_close(error: Exception) -> str:
    """Name the error after which the close may or may not have executed (so positions are read before anything
    else), or raise it again when it proves the close never left."""
    lost = type(error).__name__
    if isinstance(error, (AlreadySubmitted, ServiceUnavailable, ccxt.RequestTimeout, ccxt.ExchangeNotAvailable)):
        # The close may or may not have executed: find out before sending anything that trades.
        logger.warning("close answer lost or refused (%s); reading positions before anything else", lost)
        return lost
    if isinstance(error, (ccxt.DDoSProtection, ccxt.InvalidNonce)) or connection_refused(error):
        raise error  # a refused connection proves this close never left: nothing to verify
    logger.warning("connection lost during the close (%s); reading positions before anything else", lost)
    return lost


def _verify_flat(symbol: str | None, inverse: bool, backoff: Iterator[float], sent: list[int],
                 recovered_from: str | None) -> Plan:
    """Read positions after a lost or refused answer (one backoff step per read): the verified-flat result
    when none remains, None when some do and the close must be sent again; raise once the backoff is spent."""
    while True:
        delay = next(backoff, None)
        if delay is None:
            raise ServiceUnavailable(
                f"bingx closeAllPositions: no answer could be confirmed after {sent[0]} close requests; "
                "positions may remain open"
            )
        if delay:
            yield Sleep(delay)
        try:
            positions = yield Call(POSITIONS.method(inverse), {"symbol": symbol} if symbol else {})
        except (ccxt.RequestTimeout, ccxt.ExchangeNotAvailable) as e:
            logger.warning("positions read failed while verifying a close (%s); trying again", type(e).__name__)
            continue
        remaining = open_positions(positions, symbol)
        if not remaining:
            logger.info("verified after %s: no position remains", recovered_from)
            return CloseAllResult([], [], symbol, None, verified_flat=True, recovered_from=recovered_from,
                                  requests=sent[0])
        logger.warning("%d position(s) remain after %s; closing what remains", len(remaining), recovered_from)
        return None


def _wait_rate_limit(exchange: Any, error: ccxt.RateLimitExceeded, waits: int, deadline: float,
                     on_wait: OnWait | None) -> Plan:
    """Wait out a rate limit whose end BingX gave, if the caller's deadline allows it: False when it does not
    (the caller re-raises it), True once waited."""
    retry_after = getattr(error, "retry_after", None)
    if not retry_after or waits >= MAX_RATE_LIMIT_WAITS or time.monotonic() >= deadline:
        return False
    # BingX's retry_after is on BingX's clock: measure the wait on it, not on this machine's.
    wait_s = (retry_after - (yield from bingx_now(exchange))) / 1000 + RATE_LIMIT_MARGIN_S
    if wait_s > deadline - time.monotonic():
        return False
    logger.warning("rate limited by BingX until %d; waiting %.1f s, then closing again", retry_after, wait_s)
    yield from _wait_out(wait_s, retry_after, on_wait)
    return True


def connection_refused(error: BaseException) -> bool:
    """The host refused the TCP connection: the request never left this machine (ccxt wraps the OS error)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or "[Errno 111]" in str(current) or \
                "Connection refused" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _wait_out(seconds: float, retry_after: int, on_wait: OnWait | None) -> Plan:
    """Sleep effects of at most a second each, telling ``on_wait`` how long is left before each."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if on_wait is not None:
            try:
                on_wait(left, retry_after)
            except Exception:  # a front end's display must not stop the close
                logger.exception("the rate-limit wait callback failed")
        yield Sleep(min(1.0, left))


# ---- the public calls ----------------------------------------------------------------------------
def close_all_positions(
    exchange: Any, symbol: str | None = None, *, recv_window: int | None = None, inverse: bool = False,
    rate_limit_wait: float = 0.0, on_wait: OnWait | None = None,
) -> CloseAllResult:
    """Close every position (or ``symbol``'s) with one BingX closeAllPositions request.

    ``exchange`` is a ``ccxt.bingx`` (or the plugin's subclass) with key and secret set. ``symbol`` is
    unified (``BTC/USDT:USDT``, read through the exchange's ``commonCurrencies`` as ccxt does, so
    ``TRUMP/USDT:USDT`` is BingX's ``TRUMPSOL-USDT``) or native (``BTC-USDT``); a coin-M symbol
    (``BTC/USD:BTC``) goes to the coin-M endpoint, as does ``inverse=True`` without a symbol. Bad input
    raises before any request.
    A rate limit raises ``RateLimited`` at once, unless BingX says it ends within ``rate_limit_wait``
    seconds: then it is waited out (``on_wait(seconds_left, retry_after_ms)`` about once a second) and
    the close sent again.
    """
    native, inverse = check_arguments(symbol, recv_window, inverse, exchange)
    check_wait(rate_limit_wait)
    return run_sync(exchange, close_plan(exchange, native, recv_window, inverse, rate_limit_wait, on_wait))


async def close_all_positions_async(
    exchange: Any, symbol: str | None = None, *, recv_window: int | None = None, inverse: bool = False,
    rate_limit_wait: float = 0.0, on_wait: OnWait | None = None,
) -> CloseAllResult:
    """The awaitable twin of :func:`close_all_positions`, for ``ccxt.async_support.bingx``."""
    native, inverse = check_arguments(symbol, recv_window, inverse, exchange)
    check_wait(rate_limit_wait)
    return await run_async(exchange, close_plan(exchange, native, recv_window, inverse, rate_limit_wait, on_wait))


def check_wait(rate_limit_wait: Any) -> None:
    """``rate_limit_wait`` is a finite, non-negative number of seconds; refused before anything is sent."""
    if isinstance(rate_limit_wait, bool) or not isinstance(rate_limit_wait, (int, float)) \
            or not 0 <= rate_limit_wait < float("inf"):
        raise InvalidInput(f"rate_limit_wait must be a number of seconds, 0 or more, got {rate_limit_wait!r}")
