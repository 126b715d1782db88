"""The simulated account: what the endpoints call (queries, settings, prices, orders, closeAllPositions, seeding).

:class:`Account` is built in layers, each in its own module: :mod:`.state` holds and resets the state,
:mod:`.money` keeps balances, margin, funding and income, :mod:`.matching` triggers and fills orders, and
this module adds the API the endpoints and :class:`~.server.BingXSimulator` call; every row is shaped by
:mod:`.rendering`, the records and :class:`BingXError` live in :mod:`.records`.

Every public method takes the one lock, so the HTTP thread and the test thread can call in freely.
Errors the exchange would answer are raised as :class:`BingXError` (code, msg); the server turns
them into ``{"code": code, "msg": msg, "data": {}}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import rendering
from .matching import MatchingEngine
from .records import (  # re-exported: the records and the refusal are imported from here too
    LIMIT_AFTER_TRIGGER,
    ORDER_TYPES,
    TRIGGER_TYPES,
    BingXError,
    Order,
    Position,
    symbol_not_exist,
)

__all__ = ["LIMIT_AFTER_TRIGGER", "ORDER_TYPES", "TRIGGER_TYPES", "Account", "BingXError", "Order", "Position",
           "symbol_not_exist"]


class Account(MatchingEngine):
    """The whole mutable exchange state behind one lock: ``Account(now_ms=clock, hedge_mode=False)``."""

    # ------------------------------------------------------------------ rendering
    def render_position(self, p: Position) -> dict[str, Any]:
        return rendering.position_row(p, self.info[p.symbol], self.prices[p.symbol], self.hedge_mode)

    def render_order(self, o: Order) -> dict[str, Any]:
        return rendering.order_row(o, self.info[o.symbol], self.hedge_mode)

    def render_new_order(self, o: Order) -> dict[str, Any]:
        """The (short) shape BingX answers to POST trade/order."""
        return rendering.new_order_row(o, self.hedge_mode)

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
            wanted = (client_order_id or "").lower()  # BingX keeps them lowercased
            o = next((x for x in self.orders.values() if wanted and x.client_order_id == wanted), None)
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
            return rendering.leverage_row(symbol, inf, self.lev_for(symbol, "LONG"), self.lev_for(symbol, "SHORT"),
                                          self.hedge_mode)

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

    # ------------------------------------------------------------------ prices
    def set_price(self, symbol: str, price: float) -> None:
        with self.lock:
            self.require_symbol(symbol)
            if price <= 0:
                raise ValueError("price must be positive")
            self.prices[symbol] = float(price)
            self._match(symbol)

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
                      reduce_only=reduce_only, time=now, update_time=now,
                      client_order_id=(client_order_id or "").lower(),  # BingX stores it lowercased
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
                self.close_all_orders.add(o.order_id)
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
