"""ccxt's documented params of the close methods, read as ccxt reads them: the one owner of that reading.

``BingX.close_all_positions(params)`` and ``close_position(symbol, side, params)`` take what ccxt 4.5's bingx
documents for them and mean by it what ccxt means (``ccxt/bingx.py``):

- ``type`` / ``subType`` (and ``options['defaultType']`` / ``['defaultSubType']``) choose the market family
  through ccxt's own ``handle_market_type_and_params`` / ``handle_sub_type_and_params``: ``subType: 'inverse'``
  is coin-M (``POST /openApi/cswap/v1/trade/closeAllPositions``), anything else USDT-M;
- ``recvWindow``: sent as BingX's ``recvWindow``; ``close_all_positions`` defaults it to
  ``options['recvWindow']`` (5000), as ccxt does;
- ``positionId`` (``close_position`` only): that one position closed by ``POST /openApi/swap/v1/trade/
  closePosition?positionId=...``, USDT-M only (ccxt raises NotSupported for coin-M);
- ``symbol`` (``close_all_positions`` only): BingX's own parameter, one symbol's positions;
- ``inverse``: the plugin's own (not ccxt's, which would forward it to BingX as a query param): coin-M.

Deliberate differences from ccxt, each refused before anything is sent (docs/ccxt.md lists them): a ``type``
other than ``swap`` (ccxt's bingx closes swap positions whatever ``type`` says, and raises only for
``margin``); a ``subType`` or ``inverse`` that contradicts the symbol's family or each other; and any other
key, which ccxt would forward to an endpoint that documents none (BingX: ``symbol``, ``recvWindow``,
``timestamp``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .closeall import check_arguments
from .errors import InvalidInput

__all__ = ["CLOSE_ALL_PARAMS", "CLOSE_POSITION_PARAMS", "CloseArgs", "close_args"]

#: what ``close_all_positions(params)`` accepts
CLOSE_ALL_PARAMS = ("symbol", "recvWindow", "type", "subType", "inverse")
#: what ``close_position(symbol, side, params)`` accepts
CLOSE_POSITION_PARAMS = ("recvWindow", "type", "subType", "inverse", "positionId")
_FAMILIES = ("linear", "inverse")


@dataclass(frozen=True)
class CloseArgs:
    """The close request the params ask for, validated."""

    symbol: str | None  #: BingX's native symbol, or None for every position
    recv_window: int | None
    inverse: bool  #: coin-M (cswap v1)
    position_id: str | None = None  #: close this one position (close_position's positionId)


def close_args(exchange: Any, params: dict[str, Any] | None, *, method: str, accepted: tuple[str, ...],
               symbol: str | None = None, default_recv_window: bool = False) -> CloseArgs:
    """Read ``params`` as ccxt's ``method`` reads them; refuse, naming what is accepted, what neither ccxt nor
    BingX documents for it, before anything is sent."""
    params = dict(params or {})
    unknown = sorted(key for key in params if key not in accepted)
    if unknown:
        raise InvalidInput(f"{method}() takes params {', '.join(accepted)}; got {unknown} "
                           "(neither ccxt nor BingX documents them for this endpoint)")
    if symbol is None:
        symbol = params.pop("symbol", None)
    recv_window = params.pop("recvWindow", None)
    if recv_window is None and default_recv_window:
        recv_window = exchange.safe_integer(exchange.options, "recvWindow")
    own_inverse = params.pop("inverse", None)
    if own_inverse is not None and not isinstance(own_inverse, bool):
        raise InvalidInput(f"{method}(): inverse must be True or False, got {own_inverse!r}")
    explicit_type = params.get("type")
    if explicit_type is not None and explicit_type != "swap":
        raise InvalidInput(f"{method}(): BingX closes perpetual swap positions only; type must be 'swap', "
                           f"got {explicit_type!r}")
    # ccxt's own choice of family, options['defaultSubType'] included
    _, rest = exchange.handle_market_type_and_params(method, None, params)
    sub_type, rest = exchange.handle_sub_type_and_params(method, None, rest)
    if sub_type is not None and sub_type not in _FAMILIES:
        raise InvalidInput(f"{method}(): subType must be 'linear' or 'inverse', got {sub_type!r}")
    if own_inverse is not None and sub_type is not None and own_inverse != (sub_type == "inverse"):
        raise InvalidInput(f"{method}(): inverse={own_inverse} contradicts subType {sub_type!r}")
    inverse = bool(own_inverse) if own_inverse is not None else sub_type == "inverse"
    position_id = rest.pop("positionId", None)
    native, symbol_inverse = check_arguments(symbol, recv_window, inverse, exchange)
    if native is not None and symbol_inverse != inverse and (own_inverse is not None or "subType" in params):
        raise InvalidInput(f"{method}(): {symbol} is {'coin-M' if symbol_inverse else 'USDT-M'}, "
                           f"but the params ask for {'coin-M' if inverse else 'USDT-M'}")
    if position_id is not None:
        if symbol_inverse:
            raise InvalidInput(f"{method}(): BingX closes a position by positionId on USDT-M perpetuals only")
        position_id = str(position_id)
        if not position_id.isdigit():
            raise InvalidInput(f"{method}(): positionId must be BingX's decimal position id, got {position_id!r}")
    return CloseArgs(native, recv_window, symbol_inverse, position_id)
