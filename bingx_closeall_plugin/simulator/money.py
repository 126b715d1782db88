"""The account's money: balances, margin, realised PnL, fees, funding and the income records.

A layer of :class:`.account.Account` on top of :class:`.state.AccountState`. Margin is bookkept simply:
notional / leverage of each position, plus that of each resting opening LIMIT order, against the balance
less any unrealised loss; cross and isolated alike, no maintenance margin, no liquidation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import markets as _markets, rendering
from .state import AccountState

FUNDING_RATE = 0.0001
FUNDING_INTERVAL_MS = 8 * 3600 * 1000


class Money(AccountState):
    """Balances, margin, fees, funding and income over the state of :class:`.state.AccountState`."""

    def _pnl(self, symbol: str, side: str, qty: float, entry: float, exit_: float) -> float:
        return _markets.pnl(self.info[symbol], side, qty, entry, exit_)

    def _notional(self, symbol: str, qty: float, price: float) -> float:
        """Position value in the settle asset."""
        return _markets.notional(self.info[symbol], qty, price)

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
            return [rendering.balance_row(asset, self.balances.get(asset, 0.0), self._unrealised(asset),
                                          self.realised.get(asset, 0.0), self.available(asset),
                                          self._used_margin(asset), self._frozen_margin(asset))
                    for asset in assets]

    def set_balance(self, asset: str, amount: float) -> None:
        with self.lock:
            self.balances[asset] = float(amount)
            self.realised.setdefault(asset, 0.0)

    # ------------------------------------------------------------------ fills
    def _fee(self, symbol: str, qty: float, price: float, taker: bool) -> float:
        rate = _markets.TAKER_FEE if taker else _markets.MAKER_FEE
        return self._notional(symbol, qty, price) * rate

    def _book_fill(self, symbol: str, pnl: float, fee: float, now: int, trade_id: int) -> None:
        """A fill's realised PnL and fee: into the balance, the realised total and the income records."""
        asset = self._settle(symbol)
        self.balances[asset] = self.balances.get(asset, 0.0) + pnl - fee
        self.realised[asset] = self.realised.get(asset, 0.0) + pnl
        if pnl:
            self._add_income(symbol, "REALIZED_PNL", pnl, "Realized PNL", now, trade_id)
        self._add_income(symbol, "TRADING_FEE", -fee, "Trading Fee", now, trade_id)

    # ------------------------------------------------------------------ funding / income
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
        self.income.append(rendering.income_row(symbol, self.info[symbol], kind, amount, info, ts, tran, trade_id))
