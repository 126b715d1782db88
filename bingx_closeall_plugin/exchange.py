"""ccxt.bingx subclasses for people who write ccxt scripts.

``BingX`` (sync) and ``AsyncBingX`` (``ccxt.async_support``; imported lazily, it pulls all of ccxt's
async side) behave as ccxt's bingx with three differences:
- ``close_all_positions()`` / ``close_position()`` return a :class:`CloseAllResult` with every order id
  and BingX's ``failed`` list, instead of ccxt's empty position structures and id-less order;
- errors follow the plugin's table (:mod:`bingx_closeall_plugin.errors`) wherever it lists the code;
- ``nonce()`` honours ``options['timeDifference']``, which the close path sets after a clock refusal
  (ccxt's bingx nonce is the local clock only);
- every exception a request raises has its text masked (ccxt's network errors carry the signed URL):
  same class, chain and attributes, only ``str()`` differs.
"""

from __future__ import annotations

import logging
from typing import Any

import ccxt

from .closeall import CloseAllResult, check_arguments, close_plan, run_sync
from .errors import error_from_response
from .methods import implicit_methods
from .redaction import mask_exception, secrets_of

logger = logging.getLogger(__name__)

__all__ = ["BingX", "BingXCloseAllMixin", "check_ccxt_shape"]


def check_ccxt_shape(cls: type) -> None:
    """Fail at import, naming the versions, if ccxt's bingx lacks what the plugin calls."""
    needed = [*implicit_methods(), "handle_errors", "nonce", "milliseconds", "fetch"]
    missing = [name for name in needed if not callable(getattr(cls, name, None))]
    if missing:
        raise ImportError(
            f"bingx-closeall-plugin needs ccxt's bingx to have {', '.join(missing)}; "
            f"ccxt {ccxt.__version__} does not. Install a ccxt in the tested range (4.5.x)."
        )


class BingXCloseAllMixin:
    """The overrides shared by the sync and async classes (no I/O here)."""

    honours_time_difference = True
    options: dict[str, Any]

    def nonce(self) -> int:
        # ccxt's bingx signs with the local clock; BingX refuses a timestamp outside recvWindow of its own.
        return self.milliseconds() - int(self.options.get("timeDifference") or 0)  # type: ignore[attr-defined]

    def handle_errors(self, httpCode: int, reason: str, url: str, method: str, headers: Any, body: Any,
                      response: Any, requestHeaders: Any, requestBody: Any) -> Any:  # noqa: N803 - ccxt's names
        ours = error_from_response(response)
        if ours is not None:
            raise ours
        return super().handle_errors(httpCode, reason, url, method, headers, body, response, requestHeaders, requestBody)  # type: ignore[misc]

    def log(self, *args: Any) -> None:
        # ccxt's verbose mode print()s to stdout; send it to the logger, where masking filters apply.
        logging.getLogger("ccxt.verbose").debug(" ".join(str(arg) for arg in args))


def _close_args(exchange: Any, params: dict[str, Any] | None, symbol: str | None = None) -> tuple[str | None, int | None, bool]:
    params = dict(params or {})
    symbol = symbol if symbol is not None else params.pop("symbol", None)
    recv_window = params.pop("recvWindow", None)
    inverse = bool(params.pop("inverse", False))
    if params:
        raise ccxt.BadRequest(f"close_all_positions() takes symbol, recvWindow and inverse only; got {sorted(params)}")
    native, inverse = check_arguments(symbol, recv_window, inverse, exchange)
    return native, recv_window, inverse


class BingX(BingXCloseAllMixin, ccxt.bingx):  # type: ignore[misc]
    """``ccxt.bingx`` whose close-all keeps everything BingX answered."""

    def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        # ccxt's one HTTP call: every request error starts here, with the signed URL in its text.
        try:
            return super().fetch(url, method, headers, body)
        except ccxt.BaseError as e:
            mask_exception(e, secrets_of(self))
            raise

    def close_all_positions(self, params: dict[str, Any] | None = None) -> CloseAllResult:  # type: ignore[override]
        """Close every position (``params['symbol']`` limits it) in one request; see :func:`close_all_positions`."""
        native, recv_window, inverse = _close_args(self, params)
        return run_sync(self, close_plan(self, native, recv_window, inverse))

    def close_position(self, symbol: str, side: str | None = None, params: dict[str, Any] | None = None) -> CloseAllResult:  # type: ignore[override]
        """Close ``symbol``'s position(s) (both sides in hedge mode) in one request."""
        native, recv_window, inverse = _close_args(self, params, symbol)
        return run_sync(self, close_plan(self, native, recv_window, inverse))


check_ccxt_shape(BingX)
