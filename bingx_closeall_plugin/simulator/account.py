"""Account state of the simulator: balances, positions, orders, fills, income, prices.

Every public method takes the one lock, so the HTTP thread and the test thread can call in freely.
Errors the exchange would answer are raised as :class:`BingXError` (code, msg); the server turns
them into ``{"code": code, "msg": msg, "data": {}}``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import markets as _markets

ID_BASE = 1_860_000_000_000_000_000
FUNDING_RATE = 0.0001
FUNDING_INTERVAL_MS = 8 * 3600 * 1000
MAINT_MARGIN_RATE = 0.004
DEFAULT_BALANCES = {"USDT": 10_000.0, "BTC": 1.0, "ETH": 10.0}

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


@dataclass
class Account:
    """The whole mutable exchange state behind one lock."""

    now_ms: Callable[[], int]
    hedge_mode: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.info = _markets.contract_info()
        self.reset(hedge_mode=self.hedge_mode)

    # ------------------------------------------------------------------ lifecycle
    def reset(self, hedge_mode: bool | None = None) -> None:
        with self.lock:
            if hedge_mode is not None:
                self.hedge_mode = hedge_mode
            self.prices: dict[str, float] = _markets.default_prices()
            self.balances: dict[str, float] = dict(DEFAULT_BALANCES)
            self.realised: dict[str, float] = dict.fromkeys(self.balances, 0.0)
            self.positions: dict[tuple[str, str], Position] = {}
            self.orders: dict[int, Order] = {}
            self.fills: list[dict[str, Any]] = []
            # fills that took a position past zero or beyond its size: see BingXSimulator.reversals()
            self.reversals: list[dict[str, Any]] = []
            self.income: list[dict[str, Any]] = []
            self.leverage: dict[str, dict[str, int]] = {}
            self.margin_type: dict[str, str] = {}
            # Ids keep counting across resets, as BingX never reuses one: a bot whose database outlives a
            # reset must not meet an old order id again.
            if not hasattr(self, "_ids"):
                self._ids = itertools.count(1)
            self.last_funding_ms = self.now_ms()

    def next_id(self) -> int:
        return ID_BASE + next(self._ids)

    # ------------------------------------------------------------------ helpers
    def require_symbol(self, symbol: str | None) -> dict[str, Any]:
        if not symbol or symbol not in self.info:
            raise symbol_not_exist(symbol or "")
        return self.info[symbol]

    def lev_for(self, symbol: str, side: str) -> int:
        levs = self.leverage.get(symbol, {})
        return int(levs.get(side, 10))

    def _fmt_qty(self, symbol: str, x: float) -> str:
        return f"{x:.{self.info[symbol]['qty_prec']}f}"

    def _fmt_price(self, symbol: str, x: float) -> str:
        return f"{x:.{self.info[symbol]['price_prec']}f}"

    def _fmt_money(self, symbol_or_asset: str, x: float) -> str:
        inverse = symbol_or_asset in ("BTC", "ETH") or self.info.get(symbol_or_asset, {}).get("inverse", False)
        return f"{x:.8f}" if inverse else f"{x:.4f}"

    def _pnl(self, symbol: str, side: str, qty: float, entry: float, exit_: float) -> float:
        direction = 1.0 if side == "LONG" else -1.0
        inf = self.info[symbol]
        if inf["inverse"]:
            return qty * inf["contract_size"] * (1.0 / entry - 1.0 / exit_) * direction
        return qty * (exit_ - entry) * direction

    def _notional(self, symbol: str, qty: float, price: float) -> float:
        """Position value in the settle asset."""
        inf = self.info[symbol]
        if inf["inverse"]:
            return qty * inf["contract_size"] / price
        return qty * price

    def _settle(self, symbol: str) -> str:
        return self.info[symbol]["settle"]

    def _position_of(self, symbol: str) -> Position | None:
        """One-way mode: the single position on ``symbol`` (either side)."""
        return self.positions.get((symbol, "LONG")) or self.positions.get((symbol, "SHORT"))

    # ------------------------------------------------------------------ balances
    def _unrealised(self, asset: str) -> float:
        total = 0.0
        for p in self.positions.values():
            if self._settle(p.symbol) == asset:
                total += self._pnl(p.symbol, p.side, p.qty, p.entry, self.prices[p.symbol])
        return total

    def _used_margin(self, asset: str) -> float:
        return sum(self._notional(p.symbol, p.qty, p.entry) / p.leverage
                   for p in self.positions.values() if self._settle(p.symbol) == asset)

    def _frozen_margin(self, asset: str) -> float:
        total = 0.0
        for o in self.orders.values():
            if o.status in ("NEW", "PENDING") and not o.reduce_only and o.type == "LIMIT" \
                    and self._settle(o.symbol) == asset:
                total += self._notional(o.symbol, o.qty, o.price) / max(o.leverage, 1)
        return total

    def available(self, asset: str) -> float:
        return (self.balances.get(asset, 0.0) + min(self._unrealised(asset), 0.0)
                - self._used_margin(asset) - self._frozen_margin(asset))

    def balance_rows(self, assets: Iterable[str]) -> list[dict[str, Any]]:
        with self.lock:
            rows = []
            for asset in assets:
                bal = self.balances.get(asset, 0.0)
                unreal = self._unrealised(asset)
                fmt = (lambda x: f"{x:.8f}") if asset != "USDT" else (lambda x: f"{x:.4f}")
                rows.append({
                    "userId": "1160000001",
                    "asset": asset,
                    "balance": fmt(bal),
                    "equity": fmt(bal + unreal),
                    "unrealizedProfit": fmt(unreal),
                    "realisedProfit": fmt(self.realised.get(asset, 0.0)),
                    "availableMargin": fmt(max(self.available(asset), 0.0)),
                    "usedMargin": fmt(self._used_margin(asset)),
                    "freezedMargin": fmt(self._frozen_margin(asset)),
                    "shortUid": "12851936",
                })
            return rows

    def set_balance(self, asset: str, amount: float) -> None:
        with self.lock:
            self.balances[asset] = float(amount)
            self.realised.setdefault(asset, 0.0)

    # ------------------------------------------------------------------ rendering
    def render_position(self, p: Position) -> dict[str, Any]:
        mark = self.prices[p.symbol]
        unreal = self._pnl(p.symbol, p.side, p.qty, p.entry, mark)
        margin = self._notional(p.symbol, p.qty, p.entry) / p.leverage
        if p.side == "LONG":
            liq = p.entry * (1.0 - 1.0 / p.leverage + MAINT_MARGIN_RATE)
        else:
            liq = p.entry * (1.0 + 1.0 / p.leverage - MAINT_MARGIN_RATE)
        inf = self.info[p.symbol]
        # One-way accounts: BingX reports positionSide BOTH with a signed amount (negative = short);
        # hedge-mode accounts report LONG/SHORT legs with positive amounts.
        signed = -p.qty if (p.side == "SHORT" and not self.hedge_mode) else p.qty
        row = {
            "positionId": str(p.position_id),
            "symbol": p.symbol,
            "currency": inf["settle"],
            "positionAmt": self._fmt_qty(p.symbol, signed),
            "availableAmt": self._fmt_qty(p.symbol, signed),
            "positionSide": p.side if self.hedge_mode else "BOTH",
            "isolated": p.isolated,
            "avgPrice": self._fmt_price(p.symbol, p.entry),
            "initialMargin": self._fmt_money(p.symbol, margin),
            "margin": self._fmt_money(p.symbol, margin + unreal),
            "leverage": p.leverage,
            "unrealizedProfit": self._fmt_money(p.symbol, unreal),
            "realisedProfit": self._fmt_money(p.symbol, p.realised),
            "liquidationPrice": round(max(liq, 0.0), inf["price_prec"]),
            "pnlRatio": f"{(unreal / margin) if margin else 0.0:.4f}",
            "maxMarginReduction": "0.0000",
            "riskRate": "0.0010",
            "markPrice": self._fmt_price(p.symbol, mark),
            "positionValue": self._fmt_money(p.symbol, self._notional(p.symbol, p.qty, mark)),
            "onlyOnePosition": not self.hedge_mode,
            "createTime": p.open_time,
            "updateTime": p.update_time,
        }
        if inf["inverse"]:
            row.pop("currency")
        return row

    def render_order(self, o: Order) -> dict[str, Any]:
        sym = o.symbol
        empty_tp_sl = {"type": "", "quantity": 0, "stopPrice": 0, "price": 0, "workingType": "", "stopGuaranteed": ""}
        return {
            "symbol": sym,
            "orderId": o.order_id,
            "side": o.side,
            "positionSide": o.position_side,
            "type": o.type,
            "origQty": self._fmt_qty(sym, o.qty),
            "price": self._fmt_price(sym, o.price),
            "executedQty": self._fmt_qty(sym, o.executed),
            "avgPrice": self._fmt_price(sym, o.avg_price),
            "cumQuote": self._fmt_money(sym, o.executed * o.avg_price) if not self.info[sym]["inverse"] else "0",
            "stopPrice": self._fmt_price(sym, o.stop_price) if o.stop_price else "",
            "profit": self._fmt_money(sym, o.profit),
            "commission": self._fmt_money(sym, -o.commission),
            "status": o.status,
            "time": o.time,
            "updateTime": o.update_time,
            "clientOrderId": o.client_order_id,
            "leverage": f"{o.leverage}X",
            "takeProfit": dict(empty_tp_sl),
            "stopLoss": dict(empty_tp_sl),
            "advanceAttr": 0,
            "positionID": 0,
            "takeProfitEntrustPrice": 0,
            "stopLossEntrustPrice": 0,
            "orderType": "",
            "workingType": o.working_type,
            "onlyOnePosition": not self.hedge_mode,
            # Hedge mode takes no reduceOnly parameter: orders are listed without it, closing legs too.
            "reduceOnly": o.reduce_only and not self.hedge_mode,
            "stopGuaranteed": "false",
            "triggerOrderId": 0,
            "timeInForce": o.time_in_force,
        }

    def render_new_order(self, o: Order) -> dict[str, Any]:
        """The (short) shape BingX answers to POST trade/order."""
        return {
            "symbol": o.symbol,
            "orderId": o.order_id,
            "side": o.side,
            "positionSide": o.position_side,
            "type": o.type,
            "clientOrderID": o.client_order_id,
            "workingType": o.working_type,
            "price": o.price,
            "quantity": o.qty,
            "stopPrice": o.stop_price,
            "timeInForce": o.time_in_force,
            "priceRate": 0,
            "stopLoss": "",
            "takeProfit": "",
            "reduceOnly": o.reduce_only and not self.hedge_mode,
        }

    # ------------------------------------------------------------------ queries
    def list_positions(self, symbol: str | None = None, inverse: bool | None = None) -> list[dict[str, Any]]:
        with self.lock:
            out = []
            for p in sorted(self.positions.values(), key=lambda x: x.position_id):
                if symbol is not None and p.symbol != symbol:
                    continue
                if inverse is not None and self.info[p.symbol]["inverse"] != inverse:
                    continue
                out.append(self.render_position(p))
            return out

    def list_orders(self, symbol: str | None = None, open_only: bool = False,
                    inverse: bool | None = None) -> list[dict[str, Any]]:
        with self.lock:
            out = []
            for o in sorted(self.orders.values(), key=lambda x: x.order_id):
                if symbol is not None and o.symbol != symbol:
                    continue
                if inverse is not None and self.info[o.symbol]["inverse"] != inverse:
                    continue
                if open_only and o.status not in ("NEW", "PENDING", "PARTIALLY_FILLED"):
                    continue
                out.append(self.render_order(o))
            return out

    def get_order(self, symbol: str, order_id: int | None, client_order_id: str | None = None) -> dict[str, Any]:
        with self.lock:
            o = self._find_order(symbol, order_id, client_order_id)
            return self.render_order(o)

    def _find_order(self, symbol: str, order_id: int | None, client_order_id: str | None) -> Order:
        if order_id is not None:
            o = self.orders.get(order_id)
        else:
            o = next((x for x in self.orders.values() if client_order_id and x.client_order_id == client_order_id),
                     None)
        if o is None or o.symbol != symbol:
            raise BingXError(80016, "order not exist")
        return o

    # ------------------------------------------------------------------ settings
    def set_leverage(self, symbol: str, side: str, leverage: int) -> dict[str, Any]:
        with self.lock:
            inf = self.require_symbol(symbol)
            if leverage < 1 or leverage > inf["max_leverage"]:
                raise BingXError(109400, f"leverage must be between 1 and {inf['max_leverage']}")
            if self.hedge_mode and side == "BOTH":
                raise BingXError(109400, "In the Hedge mode, the 'side' field can only be set to LONG or SHORT.")
            if not self.hedge_mode and side in ("LONG", "SHORT"):
                raise BingXError(109400, "In the One-way mode, the 'side' field can only be set to BOTH.")
            levs = self.leverage.setdefault(symbol, {"LONG": 10, "SHORT": 10})
            sides = ["LONG", "SHORT"] if side == "BOTH" else [side]
            for s in sides:
                levs[s] = leverage
                pos = self.positions.get((symbol, s))
                if pos is not None:
                    pos.leverage = leverage
            return self.leverage_row(symbol)

    def leverage_row(self, symbol: str) -> dict[str, Any]:
        with self.lock:
            inf = self.require_symbol(symbol)
            row = {
                "symbol": symbol,
                "longLeverage": self.lev_for(symbol, "LONG"),
                "shortLeverage": self.lev_for(symbol, "SHORT"),
                "maxLongLeverage": inf["max_leverage"],
                "maxShortLeverage": inf["max_leverage"],
                "availableLongVol": "0.0000",
                "availableShortVol": "0.0000",
                "availableLongVal": "0.0",
                "availableShortVal": "0.0",
                "maxPositionLongVal": "0.0",
                "maxPositionShortVal": "0.0",
            }
            if not self.hedge_mode:
                row["leverage"] = self.lev_for(symbol, "LONG")
            return row

    def set_margin_type(self, symbol: str, margin_type: str) -> None:
        with self.lock:
            self.require_symbol(symbol)
            if margin_type not in ("ISOLATED", "CROSSED"):
                raise BingXError(109400, "marginType must be ISOLATED or CROSSED")
            if any(p.symbol == symbol for p in self.positions.values()) and \
                    self.margin_type.get(symbol, "CROSSED") != margin_type:
                raise BingXError(80001, "There is a position or an open order, the margin type cannot be changed")
            self.margin_type[symbol] = margin_type

    def set_hedge_mode(self, hedged: bool) -> None:
        with self.lock:
            if hedged != self.hedge_mode and (self.positions or any(
                    o.status == "NEW" for o in self.orders.values())):
                raise BingXError(80001, "There are positions or orders, the position mode cannot be changed")
            self.hedge_mode = hedged

    # ------------------------------------------------------------------ prices / funding
    def set_price(self, symbol: str, price: float) -> None:
        with self.lock:
            self.require_symbol(symbol)
            if price <= 0:
                raise ValueError("price must be positive")
            self.prices[symbol] = float(price)
            self._match(symbol)

    def settle_funding(self) -> None:
        """Settle a fixed funding rate at every 8h boundary (00/08/16 UTC) passed since the last call."""
        with self.lock:
            now = self.now_ms()
            boundary = (self.last_funding_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
            while boundary <= now:
                for p in list(self.positions.values()):
                    notional = self._notional(p.symbol, p.qty, self.prices[p.symbol])
                    amount = -FUNDING_RATE * notional * (1.0 if p.side == "LONG" else -1.0)
                    asset = self._settle(p.symbol)
                    self.balances[asset] = self.balances.get(asset, 0.0) + amount
                    self._add_income(p.symbol, "FUNDING_FEE", amount, "Funding Fee", boundary)
                boundary += FUNDING_INTERVAL_MS
            self.last_funding_ms = now

    def _add_income(self, symbol: str, kind: str, amount: float, info: str, ts: int,
                    trade_id: int | None = None) -> None:
        tran = self.next_id()
        self.income.append({
            "symbol": symbol,
            "incomeType": kind,
            "income": self._fmt_money(symbol, amount),
            "asset": self._settle(symbol),
            "info": info,
            "time": ts,
            "tranId": str(tran),
            "tradeId": str(trade_id if trade_id is not None else tran),
        })

    # ------------------------------------------------------------------ orders
    def place_order(self, symbol: str, side: str, type_: str, qty: float | None, price: float | None = None,
                    stop_price: float | None = None, position_side: str | None = None,
                    reduce_only: bool | None = None, client_order_id: str = "", time_in_force: str = "GTC",
                    working_type: str = "MARK_PRICE", validate: bool = True, close_position: bool = False) -> Order:
        with self.lock:
            inf = self.require_symbol(symbol)
            side = (side or "").upper()
            type_ = (type_ or "").upper()
            position_side = (position_side or "BOTH").upper()
            if side not in ("BUY", "SELL"):
                raise BingXError(109400, "side must be BUY or SELL")
            if type_ not in ORDER_TYPES:
                raise BingXError(109400, f"order type {type_} is not supported")
            if position_side not in ("BOTH", "LONG", "SHORT"):
                raise BingXError(109400, "positionSide must be BOTH, LONG or SHORT")
            if validate:
                if self.hedge_mode:
                    if position_side == "BOTH":
                        raise BingXError(
                            109400, "In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT.")
                    if reduce_only is not None:
                        raise BingXError(109400, "In the Hedge mode, the 'ReduceOnly' field can not be filled.")
                elif position_side != "BOTH":
                    raise BingXError(109400, "In the One-way mode, the 'PositionSide' field can only be set to BOTH.")
            if self.hedge_mode:
                reduce_only = (position_side == "LONG") == (side == "SELL")
            reduce_only = bool(reduce_only)
            if close_position:
                pos = self._reducible(symbol, side, position_side)
                qty = pos.qty if pos is not None else 0.0
                reduce_only = True
            if qty is None or qty <= 0:
                raise BingXError(109400, "quantity must be greater than 0")
            qty = round(float(qty), inf["qty_prec"]) if not inf["inverse"] else float(int(qty))
            if validate and qty < inf["min_qty"] - 1e-12:
                raise BingXError(101400, f"The minimum order amount is {inf['min_qty']} {inf['asset']}.")
            needs_price = type_ == "LIMIT" or type_ in LIMIT_AFTER_TRIGGER
            if needs_price and (price is None or price <= 0):
                raise BingXError(109400, "price is required")
            if type_ in TRIGGER_TYPES and (stop_price is None or stop_price <= 0):
                raise BingXError(109400, "stopPrice is required")
            cur = self.prices[symbol]
            if validate and reduce_only and type_ == "MARKET" and self._reducible(symbol, side, position_side) is None:
                raise BingXError(101205, "No position to close")
            pos_side_for_lev = "LONG" if side == "BUY" else "SHORT"
            if self.hedge_mode:
                pos_side_for_lev = position_side
            lev = self.lev_for(symbol, pos_side_for_lev)
            if validate and not reduce_only:
                open_qty = qty - self._reducing_qty(symbol, side, position_side, qty)
                if open_qty > 0:
                    px = price if (type_ == "LIMIT" and price) else cur
                    need = self._notional(symbol, open_qty, px) / lev
                    if need > self.available(inf["settle"]) + 1e-12:
                        raise BingXError(101204, "Insufficient margin")
            now = self.now_ms()
            o = Order(order_id=self.next_id(), symbol=symbol, side=side, position_side=position_side, type=type_,
                      qty=qty, price=float(price or 0.0), stop_price=float(stop_price or 0.0),
                      reduce_only=reduce_only, time=now, update_time=now, client_order_id=client_order_id or "",
                      time_in_force=time_in_force or "GTC", working_type=working_type or "MARK_PRICE", leverage=lev)
            if type_ in TRIGGER_TYPES:
                if type_ in ("STOP_MARKET", "STOP"):
                    o.trigger_up = side == "BUY"
                elif type_ in ("TAKE_PROFIT_MARKET", "TAKE_PROFIT"):
                    o.trigger_up = side == "SELL"
                else:
                    o.trigger_up = o.stop_price > cur
            self.orders[o.order_id] = o
            if type_ == "MARKET":
                self._execute(o, cur, taker=True)
            else:
                self._match(symbol, only=o.order_id)
            return o

    def _reducible(self, symbol: str, side: str, position_side: str) -> Position | None:
        """The position an order of this side would reduce, if any."""
        if position_side in ("LONG", "SHORT"):
            pos = self.positions.get((symbol, position_side))
            if pos is not None and ((position_side == "LONG") == (side == "SELL")):
                return pos
            return None
        pos = self._position_of(symbol)
        if pos is not None and ((pos.side == "LONG") == (side == "SELL")):
            return pos
        return None

    def _reducing_qty(self, symbol: str, side: str, position_side: str, qty: float) -> float:
        pos = self._reducible(symbol, side, position_side)
        return min(qty, pos.qty) if pos is not None else 0.0

    def cancel_order(self, symbol: str, order_id: int | None, client_order_id: str | None = None) -> dict[str, Any]:
        with self.lock:
            self.require_symbol(symbol)
            o = self._find_order(symbol, order_id, client_order_id)
            if o.status == "FILLED":
                raise BingXError(80018, "order is already filled")
            if o.status in ("CANCELLED", "CANCELED"):
                raise BingXError(80018, "order is already cancelled")
            o.status = "CANCELLED"
            o.update_time = self.now_ms()
            return self.render_order(o)

    def cancel_all(self, symbol: str | None = None, inverse: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            out = []
            now = self.now_ms()
            for o in sorted(self.orders.values(), key=lambda x: x.order_id):
                if o.status != "NEW" or (symbol is not None and o.symbol != symbol):
                    continue
                if self.info[o.symbol]["inverse"] != inverse:
                    continue
                o.status = "CANCELLED"
                o.update_time = now
                out.append(self.render_order(o))
            return out

    def _match(self, symbol: str, only: int | None = None) -> None:
        """Trigger and fill resting orders of ``symbol`` that the current price crosses."""
        cur = self.prices[symbol]
        for o in sorted(self.orders.values(), key=lambda x: x.order_id):
            if o.symbol != symbol or o.status != "NEW" or (only is not None and o.order_id != only):
                continue
            if o.type in TRIGGER_TYPES and not o.triggered:
                hit = cur >= o.stop_price if o.trigger_up else cur <= o.stop_price
                if not hit:
                    continue
                o.triggered = True
                if o.type not in LIMIT_AFTER_TRIGGER:
                    self._execute(o, cur, taker=True)
                    continue
            # limit (plain or triggered)
            crosses = cur <= o.price if o.side == "BUY" else cur >= o.price
            if crosses:
                resting = o.order_id != only or o.type in LIMIT_AFTER_TRIGGER
                # a limit that crosses on arrival takes liquidity at the current price
                self._execute(o, o.price if resting else cur, taker=not resting)

    def _execute(self, o: Order, price: float, taker: bool) -> None:
        """Fill ``o`` completely at ``price`` (reduce-only is clamped to the position)."""
        qty = o.qty
        if o.reduce_only:
            pos = self._reducible(o.symbol, o.side, o.position_side)
            qty = min(qty, pos.qty) if pos is not None else 0.0
            if qty <= 0:
                o.status = "CANCELLED"
                o.update_time = self.now_ms()
                return
        now = self.now_ms()
        pnl = self._apply_fill(o.symbol, o.side, o.position_side, qty, price, o.leverage, now)
        inf = self.info[o.symbol]
        rate = _markets.TAKER_FEE if taker else _markets.MAKER_FEE
        fee = self._notional(o.symbol, qty, price) * rate
        asset = inf["settle"]
        self.balances[asset] = self.balances.get(asset, 0.0) + pnl - fee
        self.realised[asset] = self.realised.get(asset, 0.0) + pnl
        o.executed = qty
        o.avg_price = price
        o.commission = fee
        o.profit = pnl
        o.status = "FILLED"
        o.update_time = now
        trade_id = self.next_id()
        self.fills.append({
            "filledTm": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now / 1000)) + f".{now % 1000:03d}Z",
            "filledTime": now,
            "tradeId": str(trade_id),
            "symbol": o.symbol,
            "side": o.side,
            "positionSide": o.position_side,
            "volume": self._fmt_qty(o.symbol, qty),
            "price": self._fmt_price(o.symbol, price),
            "amount": self._fmt_money(o.symbol, self._notional(o.symbol, qty, price)) if not inf["inverse"]
            else self._fmt_money(o.symbol, qty * inf["contract_size"] / price),
            "quoteQty": (self._fmt_money(o.symbol, qty * price) if not inf["inverse"]
                         else str(qty * inf["contract_size"])),
            "commission": self._fmt_money(o.symbol, -fee),
            "currency": asset,
            "orderId": str(o.order_id),
            "clientOrderId": o.client_order_id,
            "realizedPnl": self._fmt_money(o.symbol, pnl),
            "liquidatedPrice": "0.00",
            "liquidatedMarginRatio": "0.00",
            "role": "taker" if taker else "maker",
        })
        if pnl:
            self._add_income(o.symbol, "REALIZED_PNL", pnl, "Realized PNL", now, trade_id)
        self._add_income(o.symbol, "TRADING_FEE", -fee, "Trading Fee", now, trade_id)

    def _apply_fill(self, symbol: str, side: str, position_side: str, qty: float, price: float,
                    leverage: int, now: int) -> float:
        """Move positions by a fill; returns realised PnL (before fees)."""
        eps = 1e-12
        if position_side in ("LONG", "SHORT"):
            key = (symbol, position_side)
            pos = self.positions.get(key)
            opening = (position_side == "LONG") == (side == "BUY")
            if opening:
                self._increase(symbol, position_side, qty, price, leverage, now)
                return 0.0
            if pos is None or qty > pos.qty + eps:
                self.reversals.append({"symbol": symbol, "side": side, "positionSide": position_side, "qty": qty,
                                       "positionQty": pos.qty if pos is not None else 0.0, "time": now})
            if pos is None:
                return 0.0
            return self._decrease(pos, min(qty, pos.qty), price, now)
        want = "LONG" if side == "BUY" else "SHORT"
        pos = self._position_of(symbol)
        if pos is None or pos.side == want:
            self._increase(symbol, want, qty, price, leverage, now)
            return 0.0
        close_qty = min(qty, pos.qty)
        pnl = self._decrease(pos, close_qty, price, now)
        rest = qty - close_qty
        if rest > eps:
            self.reversals.append({"symbol": symbol, "side": side, "positionSide": position_side, "qty": qty,
                                   "positionQty": close_qty, "time": now})
            self._increase(symbol, want, rest, price, leverage, now)
        return pnl

    def _increase(self, symbol: str, side: str, qty: float, price: float, leverage: int, now: int) -> None:
        key = (symbol, side)
        pos = self.positions.get(key)
        if pos is None:
            self.positions[key] = Position(
                symbol=symbol, side=side, qty=qty, entry=price, leverage=self.lev_for(symbol, side) or leverage,
                isolated=self.margin_type.get(symbol, "CROSSED") == "ISOLATED", position_id=self.next_id(),
                open_time=now, update_time=now)
            return
        inf = self.info[symbol]
        if inf["inverse"]:  # average entry of an inverse contract is harmonic
            pos.entry = (pos.qty + qty) / (pos.qty / pos.entry + qty / price)
        else:
            pos.entry = (pos.entry * pos.qty + price * qty) / (pos.qty + qty)
        pos.qty += qty
        pos.update_time = now

    def _decrease(self, pos: Position, qty: float, price: float, now: int) -> float:
        pnl = self._pnl(pos.symbol, pos.side, qty, pos.entry, price)
        pos.qty = round(pos.qty - qty, 12)
        pos.realised += pnl
        pos.update_time = now
        if pos.qty <= 1e-12:
            del self.positions[(pos.symbol, pos.side)]
        return pnl

    # ------------------------------------------------------------------ close all
    def close_all_positions(self, symbol: str | None, inverse: bool, failed_symbols: Iterable[str] = (),
                            reopen: Iterable[tuple[str, str, float]] = ()) -> tuple[list[int], list[int] | None]:
        """Market-close every position (of ``symbol`` or of the whole family); returns (order ids, failed ids)."""
        with self.lock:
            if symbol is not None:
                inf = self.info.get(symbol)
                if inf is None or inf["inverse"] != inverse:
                    raise symbol_not_exist(symbol)
            targets = [p for p in sorted(self.positions.values(), key=lambda x: x.position_id)
                       if self.info[p.symbol]["inverse"] == inverse and (symbol is None or p.symbol == symbol)]
            if symbol is not None and not targets:
                raise BingXError(101205, "No position to close")
            failed_set = set(failed_symbols)
            success: list[int] = []
            failed: list[int] = []
            for p in targets:
                if p.symbol in failed_set:
                    failed.append(p.position_id)
                    continue
                side = "SELL" if p.side == "LONG" else "BUY"
                o = self.place_order(p.symbol, side, "MARKET", p.qty,
                                     position_side=p.side if self.hedge_mode else "BOTH",
                                     reduce_only=None if self.hedge_mode else True, validate=False)
                success.append(o.order_id)
            for sym, side, qty in reopen:
                self.seed_position(sym, side, qty)
            return success, (failed or None)

    # ------------------------------------------------------------------ seeding
    def seed_position(self, symbol: str, side: str, qty: float, entry_price: float | None = None,
                      leverage: int = 10, margin_type: str = "CROSSED") -> dict[str, Any]:
        with self.lock:
            self.require_symbol(symbol)
            side = side.upper()
            if side not in ("LONG", "SHORT"):
                raise ValueError("side must be LONG or SHORT")
            if qty <= 0:
                raise ValueError("qty must be positive")
            now = self.now_ms()
            if not self.hedge_mode:
                self.positions.pop((symbol, "SHORT" if side == "LONG" else "LONG"), None)
            self.leverage.setdefault(symbol, {"LONG": 10, "SHORT": 10})[side] = int(leverage)
            self.margin_type[symbol] = margin_type.upper()
            p = Position(symbol=symbol, side=side, qty=float(qty), entry=float(entry_price or self.prices[symbol]),
                         leverage=int(leverage), isolated=margin_type.upper() == "ISOLATED",
                         position_id=self.next_id(), open_time=now, update_time=now)
            self.positions[(symbol, side)] = p
            return self.render_position(p)
