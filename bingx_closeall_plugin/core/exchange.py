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

from .ccxt_params import CLOSE_ALL_PARAMS, CLOSE_POSITION_PARAMS, CloseArgs, close_args
from .clock import known_bingx_ms
from .closeall import CloseAllResult, close_plan, exact_id
from .errors import error_from_response
from .methods import CLOSE_POSITION, implicit_methods
from .plans import Call, Plan, run_sync
from .redaction import mask_exception, secrets_of
from .symbols import unified_name

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
        return known_bingx_ms(self)

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
    created, exactly as ccxt's bingx parses them (``id`` and ``info['positionId']`` hold the order id, where
    ccxt files it), plus BingX's whole answer. Equal, as a list, to the structures."""

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
    except ccxt.BaseError:  # markets not loaded, or a name ccxt does not list: the structure goes without
        return None


def closed_positions(exchange: Any, result: CloseAllResult) -> ClosedPositions:
    # ccxt's own: one parse_position({'positionId': id}) per id as BingX sent it (an int for USDT-M, a string
    # for coin-M), no market; the exact decimal strings are on .success
    data = (result.raw or {}).get("data") if isinstance(result.raw, dict) else None
    sent = (data.get("success") if isinstance(data, dict) else None) or []
    ids = sent if len(sent) == len(result.success) else result.success
    return ClosedPositions([exchange.parse_position({"positionId": order_id}) for order_id in ids], result)


def closed_order(exchange: Any, result: CloseAllResult) -> ClosedOrder:
    # ccxt's own parse_order of BingX's data; the plugin fills only what ccxt leaves empty (the close order's
    # id, its type and reduce-only flag, the symbol when markets are not loaded)
    market = _market_of(exchange, result)
    data = (result.raw or {}).get("data") if isinstance(result.raw, dict) else None
    order = exchange.parse_order(data if isinstance(data, dict) else {}, market)
    for key, value in (("id", result.success[0] if result.success else None), ("type", "market"),
                       ("reduceOnly", True), ("symbol", result.unified_symbol)):
        if order.get(key) is None:
            order[key] = value
    return ClosedOrder(order, result)


def close_by_id_plan(args: CloseArgs) -> Plan:
    """ccxt's close_position with a positionId: ``POST /openApi/swap/v1/trade/closePosition``, one request."""
    params: dict[str, Any] = {"positionId": args.position_id}
    if args.recv_window is not None:
        params["recvWindow"] = args.recv_window
    return (yield Call(CLOSE_POSITION.method(), params))


def closed_by_id(exchange: Any, response: Any, args: CloseArgs) -> ClosedOrder:
    data = response.get("data") if isinstance(response, dict) else None
    data = data if isinstance(data, dict) else {}
    order_id = exact_id(data.get("orderId"))
    result = CloseAllResult([order_id] if order_id is not None else [], [], args.symbol, response,
                            unified_symbol=unified_name(args.symbol, exchange) if args.symbol else None)
    return ClosedOrder(exchange.parse_order(data, _market_of(exchange, result)), result)


def closeall_args(exchange: Any, params: dict[str, Any] | None, symbol: str | None = None) -> CloseArgs:
    """The plugin's closeall(): symbol, recvWindow and inverse (and ccxt's type/subType), no default recvWindow."""
    return close_args(exchange, params, method="closeall", accepted=("symbol", *CLOSE_ALL_PARAMS[1:]),
                      symbol=symbol)


def close_all_args(exchange: Any, params: dict[str, Any] | None) -> CloseArgs:
    return close_args(exchange, params, method="close_all_positions", accepted=CLOSE_ALL_PARAMS,
                      default_recv_window=True)


def close_position_args(exchange: Any, symbol: str, params: dict[str, Any] | None) -> CloseArgs:
    return close_args(exchange, params, method="close_position", accepted=CLOSE_POSITION_PARAMS, symbol=symbol)


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

        ``params`` takes ``recvWindow`` and ``inverse`` (and ccxt's ``type``/``subType``); see
        :func:`bingx_closeall_plugin.close_all_positions`.
        """
        return self._close(closeall_args(self, params, symbol))

    def _close(self, args: CloseArgs) -> CloseAllResult:
        return run_sync(self, close_plan(self, args.symbol, args.recv_window, args.inverse))

    def close_all_positions(self, params: dict[str, Any] | None = None) -> ClosedPositions:
        """ccxt's unified method, params as ccxt documents them (:mod:`.ccxt_params`): a list of position
        structures, also carrying ``.success``/``.failed``/``.raw``/``.result``."""
        return closed_positions(self, self._close(close_all_args(self, params)))

    def close_position(self, symbol: str, side: str | None = None,
                       params: dict[str, Any] | None = None) -> ClosedOrder:
        """ccxt's unified method: ``symbol``'s position(s) (both sides in hedge mode) closed in one request, or
        with ``params['positionId']`` that one position; an order structure also carrying
        ``.success``/``.failed``/``.raw``/``.result``. ``side`` is unused, as in ccxt's bingx."""
        args = close_position_args(self, symbol, params)
        if args.position_id is not None:
            return closed_by_id(self, run_sync(self, close_by_id_plan(args)), args)
        return closed_order(self, self._close(args))


check_ccxt_shape(BingX)
