"""Every BingX endpoint the plugin calls, as data: its path, ccxt's implicit method for each market family,
and BingX's documented limit where the plugin must keep to it (cf. :mod:`.limits`).

ccxt's bingx exposes each endpoint as an implicit method named after its API section and path
(``swapV2PrivatePostTradeCloseAllPositions`` for ``POST /openApi/swap/v2/trade/closeAllPositions``); the
coin-margined (inverse) perpetuals live under ``cswap/v1`` with names of their own. The plugin calls them by
these names only, so :func:`implicit_methods` is also what :func:`~.exchange.check_ccxt_shape` checks at
import.
"""

from __future__ import annotations

from dataclasses import dataclass

from .limits import CLOSE_ALL_LIMIT, Limit

__all__ = ["BALANCE", "CANCEL_ALL", "CANCEL_ONE", "CLOSE_ALL", "CLOSE_POSITION", "ENDPOINTS", "OPEN_ORDERS", "ORDER",
           "ORDER_HISTORY",
           "POSITIONS", "SERVER_TIME", "Endpoint", "implicit_methods"]


@dataclass(frozen=True)
class Endpoint:
    """One BingX endpoint and the ccxt implicit methods that send it."""

    path: str  #: BingX's USDT-M path, for the reader and for error messages
    linear: str  #: ccxt's implicit method for USDT-M perpetuals (swap v2)
    inverse: str | None = None  #: the coin-M (cswap v1) method; None where the plugin sends USDT-M only
    limit: Limit | None = None  #: BingX's documented per-key limit, where the plugin counts its requests

    def method(self, inverse: bool = False) -> str:
        """ccxt's method name for the market family (``inverse`` True: coin-M)."""
        if not inverse:
            return self.linear
        if self.inverse is None:
            raise ValueError(f"the plugin sends {self.path} for USDT-M perpetuals only")
        return self.inverse


CLOSE_ALL = Endpoint("POST /openApi/swap/v2/trade/closeAllPositions", "swapV2PrivatePostTradeCloseAllPositions",
                     "cswapV1PrivatePostTradeCloseAllPositions", CLOSE_ALL_LIMIT)
POSITIONS = Endpoint("GET /openApi/swap/v2/user/positions", "swapV2PrivateGetUserPositions",
                     "cswapV1PrivateGetUserPositions")
SERVER_TIME = Endpoint("GET /openApi/swap/v2/server/time", "swapV2PublicGetServerTime")
CANCEL_ALL = Endpoint("DELETE /openApi/swap/v2/trade/allOpenOrders", "swapV2PrivateDeleteTradeAllOpenOrders",
                      "cswapV1PrivateDeleteTradeAllOpenOrders")
CANCEL_ONE = Endpoint("DELETE /openApi/swap/v2/trade/order", "swapV2PrivateDeleteTradeOrder",
                      "cswapV1PrivateDeleteTradeCancelOrder")
OPEN_ORDERS = Endpoint("GET /openApi/swap/v2/trade/openOrders", "swapV2PrivateGetTradeOpenOrders",
                       "cswapV1PrivateGetTradeOpenOrders")
ORDER_HISTORY = Endpoint("GET /openApi/swap/v2/trade/allOrders", "swapV2PrivateGetTradeAllOrders",
                         "cswapV1PrivateGetTradeOrderHistory")
# ccxt's close_position(symbol, params={"positionId": ...}): one position closed by its id (USDT-M only)
CLOSE_POSITION = Endpoint("POST /openApi/swap/v1/trade/closePosition", "swapV1PrivatePostTradeClosePosition")
# a reduce-only market order: the freqtrade flatten's exit for a position BingX's close-all refused
ORDER = Endpoint("POST /openApi/swap/v2/trade/order", "swapV2PrivatePostTradeOrder")

# the guard's equity read: one row per asset, wallet balance and unrealised PnL
BALANCE = Endpoint("GET /openApi/swap/v3/user/balance", "swapV3PrivateGetUserBalance")

ENDPOINTS = (CLOSE_ALL, CLOSE_POSITION, POSITIONS, SERVER_TIME, CANCEL_ALL, CANCEL_ONE, OPEN_ORDERS, ORDER_HISTORY,
             ORDER, BALANCE)


def implicit_methods() -> list[str]:
    """Every ccxt implicit method the plugin may call."""
    return [name for e in ENDPOINTS for name in (e.linear, e.inverse) if name]
