"""The ccxt clients of the plugin's freqtrade exchange, and how a ccxt error becomes freqtrade's.

:class:`FreqtradeBingXSync` / :class:`FreqtradeBingXAsync` are the core's ccxt classes
(:class:`bingx_closeall_plugin.core.exchange.BingX`, :class:`~bingx_closeall_plugin.core.async_exchange.AsyncBingX`)
as freqtrade's API objects: a rate limit raised as something freqtrade backs off on, and every request but
the close path's resynchronised once with BingX's clock when BingX refuses its timestamp. The exchange class
(:mod:`.exchange`) builds them from freqtrade's config and checks they agree with freqtrade's own
(:func:`check_same_client`); :func:`freqtrade_error` is its ccxt -> freqtrade exception translation.
"""

from __future__ import annotations

from typing import Any

import ccxt
from freqtrade.exceptions import DDosProtection, OperationalException, TemporaryError

from ..core.async_exchange import AsyncBingX
from ..core.clock import with_resync, with_resync_async
from ..core.errors import RateLimited
from ..core.exchange import BingX
from ..core.redaction import mask_exception
from .compat import versions

__all__ = ["CREDENTIALS", "OWN_RESYNC_PATHS", "FreqtradeBingXAsync", "FreqtradeBingXSync", "FtRateLimited",
           "check_same_client", "freqtrade_error"]


class FtRateLimited(RateLimited, ccxt.DDoSProtection):
    """RateLimited that freqtrade's generic ``except ccxt.DDoSProtection`` clauses back off on.

    In ccxt 4.5 RateLimitExceeded is a NetworkError but not a DDoSProtection, so freqtrade's stock methods
    would retry a rate limit at once as a TemporaryError; as a DDoSProtection it gets freqtrade's backoff.
    """


class _FreqtradeErrors:
    """ccxt-level mixin: re-raise the plugin's RateLimited as FtRateLimited, everything else unchanged."""

    def handle_errors(self, *args: Any) -> Any:
        try:
            return super().handle_errors(*args)  # type: ignore[misc]
        except RateLimited as e:
            if isinstance(e, ccxt.DDoSProtection):
                raise
            raise FtRateLimited(str(e), retry_after=e.retry_after, code=e.code, bingx_message=e.bingx_message,
                                raw=e.raw) from e


# Every request freqtrade signs goes through fetch2. BingX refuses a timestamp outside recvWindow of its own
# clock (80014/100421/109400 "timestamp", before executing anything), and freqtrade's retrier would send the
# same skewed timestamp again: resynchronise with BingX's server time once and send it once more. The close
# path does this itself (and counts what it sends), so its request is left to it.
OWN_RESYNC_PATHS = frozenset({"trade/closeAllPositions"})


class FreqtradeBingXSync(_FreqtradeErrors, BingX):
    """The plugin's ccxt BingX as freqtrade's sync API object."""

    def fetch2(self, path: Any, api: Any = ["public"], method: str = "GET", params: Any = {},  # noqa: B006 - ccxt's
               config: Any = {}) -> Any:  # noqa: B006
        send = super().fetch2
        if path in OWN_RESYNC_PATHS:
            return send(path, api, method, params, config)
        return with_resync(self, lambda: send(path, api, method, params, config))


class FreqtradeBingXAsync(_FreqtradeErrors, AsyncBingX):
    """The plugin's async ccxt BingX as freqtrade's async API object."""

    async def fetch2(self, path: Any, api: Any = ["public"], method: str = "GET", params: Any = {},  # noqa: B006
                     config: Any = {}) -> Any:  # noqa: B006
        send = super().fetch2
        if path in OWN_RESYNC_PATHS:
            return await send(path, api, method, params, config)
        return await with_resync_async(self, lambda: send(path, api, method, params, config))


# What freqtrade reads from its exchange config into every ccxt object it builds (Exchange._init_ccxt).
CREDENTIALS = ("apiKey", "secret", "password", "uid", "accountId", "walletAddress", "privateKey")


def _same(ours: Any, theirs: Any) -> bool:
    """``ours`` agrees with ``theirs``: equal, or for dicts every key of ours equal in theirs (ccxt.pro adds more)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return all(key in theirs and _same(value, theirs[key]) for key, value in ours.items())
    return bool(ours == theirs)


def check_same_client(stock: Any, api: Any, config: dict[str, Any]) -> None:
    differ = [key for key in [*config, "urls", "enableRateLimit", "timeout"]
              if not _same(getattr(api, key, None), getattr(stock, key, None))]
    if differ:
        raise OperationalException(
            f"freqtrade built its ccxt bingx differently from the plugin's copy ({', '.join(sorted(set(differ)))}); "
            f"this freqtrade ({versions()}) is not one the plugin supports")


def freqtrade_error(e: ccxt.BaseError, action: str) -> Exception:
    """freqtrade's exception for a ccxt error, specific to general, as freqtrade's own exchanges translate.

    Authentication comes first: under a broad ``ExchangeError -> TemporaryError`` a wrong key would be
    retried forever. A rate limit (``RateLimitExceeded`` is not a ``DDoSProtection`` in ccxt 4.5) backs off.
    """
    mask_exception(e)  # in place: freqtrade quotes it in logs, in RPC answers and in the chat
    message = f"Could not {action} due to {e.__class__.__name__}. Message: {e}"
    if isinstance(e, (ccxt.AuthenticationError, ccxt.PermissionDenied)):
        return OperationalException(message)
    if isinstance(e, (ccxt.DDoSProtection, ccxt.RateLimitExceeded)):
        return DDosProtection(e)
    if isinstance(e, (ccxt.OperationFailed, ccxt.ExchangeError)):
        return TemporaryError(message)
    return OperationalException(e)
