"""ccxt.bingx subclasses for people who write ccxt scripts.

``BingX`` (sync) and ``AsyncBingX`` (``ccxt.async_support``; imported lazily, it pulls all of ccxt's
async side) behave as ccxt's bingx with these differences:
- ``close_all_positions()`` / ``close_position()`` keep ccxt's unified shapes (a list of position
  structures; an order structure), each with its ``info``, as :class:`ClosedPositions` (a list) and
  :class:`ClosedOrder` (a dict) that also carry BingX's whole answer: ``.success`` (every order id),
  ``.failed``, ``.raw`` and ``.result``, the lossless :class:`CloseAllResult`. ``closeall()``, the
  plugin's own method, returns that :class:`CloseAllResult` directly, as
  :func:`bingx_closeall_plugin.close_all_positions` does. Generic ccxt code that iterates the unified
  result works unchanged; ccxt's own structure validators pass over it (``tests/test_ccxt_contract.py``);
- errors follow the plugin's table (:mod:`bingx_closeall_plugin.core.errors`) wherever it lists the code;
- ``nonce()`` honours ``options['timeDifference']``, which the close path sets after a clock refusal
  (ccxt's bingx nonce is the local clock only);
- every exception a request raises has its text masked (ccxt's network errors carry the signed URL):
  same class, chain and attributes, only ``str()`` differs.
"""

from __future__ import annotations

import logging
from typing import Any

import ccxt

from .closeall import CloseAllResult, check_arguments, close_plan
from .errors import error_from_response
from .methods import implicit_methods
from .plans import run_sync
from .redaction import mask_exception, secrets_of

logger = logging.getLogger(__name__)

__all__ = ["BingX", "BingXCloseAllMixin", "ClosedOrder", "ClosedPositions", "check_ccxt_shape"]


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

    # The override keeps ccxt's signature, its camelCase parameter names included (install.SIGNATURES checks them).
    def handle_errors(self, httpCode: int, reason: str, url: str, method: str,  # noqa: N803 - ccxt's names
                      headers: Any, body: Any, response: Any,
                      requestHeaders: Any, requestBody: Any) -> Any:  # noqa: N803 - ccxt's names
        ours = error_from_response(response)
        if ours is not None:
            raise ours
        return super().handle_errors(  # type: ignore[misc]
            httpCode, reason, url, method, headers, body, response, requestHeaders, requestBody)

    def log(self, *args: Any) -> None:
        # ccxt's verbose mode print()s to stdout; send it to the logger, where masking filters apply.
        logging.getLogger("ccxt.verbose").debug(" ".join(str(arg) for arg in args))


class _CarriesResult:
    """BingX's whole answer beside ccxt's structure: ``.success``, ``.failed``, ``.raw``, ``.result`` and every
    other field of the :class:`CloseAllResult` (``.symbol``, ``.already_flat`` ...)."""

    result: CloseAllResult

    def __getattr__(self, name: str) -> Any:  # only for names the list/dict itself lacks
        if name == "result":
            raise AttributeError(name)
        return getattr(self.result, name)


class ClosedPositions(_CarriesResult, list):
    """``close_all_positions()``'s answer: ccxt's list of position structures, one per close order BingX
    created (``id`` and ``info['positionId']`` hold the order id, where ccxt files it; ``info['orderId']``
    too), plus BingX's whole answer. Equal, as a list, to the structures."""

    def __init__(self, structures: list[dict[str, Any]], result: CloseAllResult) -> None:
        super().__init__(structures)
        self.result = result


class ClosedOrder(_CarriesResult, dict):
    """``close_position()``'s answer: ccxt's order structure for the close (``id``: BingX's first close order
    id; a hedge-mode symbol closes both sides, the other ids are in ``.success``), plus BingX's whole answer."""

    def __init__(self, structure: dict[str, Any], result: CloseAllResult) -> None:
        super().__init__(structure)
        self.result = result


def _market_of(exchange: Any, result: CloseAllResult) -> Any:
    if result.unified_symbol is None:
        return None
    try:
        return exchange.market(result.unified_symbol)
    except ccxt.BaseError:  # a name ccxt does not list: the structure goes without its market
        return None


def closed_positions(exchange: Any, result: CloseAllResult) -> ClosedPositions:
    market = _market_of(exchange, result)
    structures = [exchange.parse_position({"positionId": order_id, "orderId": order_id,
                                           **({"symbol": result.symbol} if result.symbol else {})}, market)
                  for order_id in result.success]
    return ClosedPositions(structures, result)


def closed_order(exchange: Any, result: CloseAllResult) -> ClosedOrder:
    market = _market_of(exchange, result)
    data = dict((result.raw or {}).get("data") or {}) if isinstance((result.raw or {}).get("data"), dict) else {}
    info = {**data, "success": list(result.success), "failed": list(result.failed)}
    order = exchange.safe_order({
        "info": info,
        "id": result.success[0] if result.success else None,
        "symbol": market["symbol"] if market else result.unified_symbol,
        "type": "market",  # BingX closes at market
        "reduceOnly": True,
    }, market)
    return ClosedOrder(order, result)


def _close_args(exchange: Any, params: dict[str, Any] | None,
                symbol: str | None = None) -> tuple[str | None, int | None, bool]:
    params = dict(params or {})
    symbol = symbol if symbol is not None else params.pop("symbol", None)
    recv_window = params.pop("recvWindow", None)
    inverse = bool(params.pop("inverse", False))
    if params:
        raise ccxt.BadRequest(f"close_all_positions() takes symbol, recvWindow and inverse only; got {sorted(params)}")
    native, inverse = check_arguments(symbol, recv_window, inverse, exchange)
    return native, recv_window, inverse


class BingX(BingXCloseAllMixin, ccxt.bingx):
    """``ccxt.bingx`` whose close-all keeps everything BingX answered."""

    def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        # ccxt's one HTTP call: every request error starts here, with the signed URL in its text.
        try:
            return super().fetch(url, method, headers, body)
        except ccxt.BaseError as e:
            mask_exception(e, secrets_of(self))
            raise

    def closeall(self, symbol: str | None = None, params: dict[str, Any] | None = None) -> CloseAllResult:
        """The plugin's own: every position (or ``symbol``'s) closed in one request, BingX's answer lossless.

        ``params`` takes ``recvWindow`` and ``inverse``; see :func:`bingx_closeall_plugin.close_all_positions`.
        """
        native, recv_window, inverse = _close_args(self, params, symbol)
        return run_sync(self, close_plan(self, native, recv_window, inverse))

    def close_all_positions(self, params: dict[str, Any] | None = None) -> ClosedPositions:
        """ccxt's unified method: a list of position structures (``params['symbol']`` limits it), also
        carrying ``.success``/``.failed``/``.raw``/``.result``."""
        return closed_positions(self, self.closeall(None, params))

    def close_position(self, symbol: str, side: str | None = None,
                       params: dict[str, Any] | None = None) -> ClosedOrder:
        """ccxt's unified method: ``symbol``'s position(s) (both sides in hedge mode) closed in one request,
        answered with an order structure also carrying ``.success``/``.failed``/``.raw``/``.result``."""
        return closed_order(self, self.closeall(symbol, params))


check_ccxt_shape(BingX)
