"""Triggers and fills: how an order moves the positions, at the single simulated price.

A layer of :class:`.account.Account` on top of :class:`.money.Money`. There is no order book and no other
trader: an order fills completely, at once, when the price crosses it (reduce-only clamped to the
position); a fill opens, grows, shrinks, closes or (one-way mode) flips a position, and is booked as a fill
record, realised PnL, a fee and income.
"""

from __future__ import annotations

from . import rendering
from .money import Money
from .records import LIMIT_AFTER_TRIGGER, TRIGGER_TYPES, Order, Position


class MatchingEngine(Money):
    """Trigger and fill orders, move positions, book the fills."""

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
        fee = self._fee(o.symbol, qty, price, taker)
        o.executed = qty
        o.avg_price = price
        o.commission = fee
        o.profit = pnl
        o.status = "FILLED"
        o.update_time = now
        trade_id = self.next_id()
        self.fills.append(rendering.fill_row(o, self.info[o.symbol], qty, price, fee, pnl, now, trade_id, taker))
        self._book_fill(o.symbol, pnl, fee, now, trade_id)

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
