"""The simulator's records and refusals: a position, an order, the order types, and :class:`BingXError`.

Plain data: what the account holds (:mod:`.state`) is made of these, and every module of the account
raises :class:`BingXError` for what BingX would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

TRIGGER_TYPES = {"STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT", "TRIGGER_MARKET", "TRIGGER_LIMIT"}
LIMIT_AFTER_TRIGGER = {"STOP", "TAKE_PROFIT", "TRIGGER_LIMIT"}
ORDER_TYPES = {"MARKET", "LIMIT"} | TRIGGER_TYPES


class BingXError(Exception):
    """An exchange-level rejection: answered as HTTP 200 with a non-zero ``code``."""

    def __init__(self, code: int, msg: str):
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg


def symbol_not_exist(symbol: str) -> BingXError:
    return BingXError(109400, f"{symbol},symbol not exist, please verify it in api: /openApi/swap/v2/quote/contracts")


@dataclass
class Position:
    symbol: str
    side: str  # LONG / SHORT
    qty: float
    entry: float
    leverage: int
    isolated: bool
    position_id: int
    open_time: int
    update_time: int
    realised: float = 0.0


@dataclass
class Order:
    order_id: int
    symbol: str
    side: str
    position_side: str
    type: str
    qty: float
    price: float
    stop_price: float
    reduce_only: bool
    time: int
    update_time: int
    client_order_id: str = ""
    time_in_force: str = "GTC"
    working_type: str = "MARK_PRICE"
    status: str = "NEW"
    executed: float = 0.0
    avg_price: float = 0.0
    commission: float = 0.0
    profit: float = 0.0
    leverage: int = 10
    trigger_up: bool | None = None  # trigger when price >= stop (True) or <= stop (False)
    triggered: bool = False
