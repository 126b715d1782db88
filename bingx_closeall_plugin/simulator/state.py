"""What the simulated account holds, behind its one lock: the base of :class:`.account.Account`.

:class:`AccountState` creates and resets the state (prices, balances, positions, orders, fills, income,
settings), hands out ids and answers the lookups every layer above needs. The layers add behaviour, not
state: :mod:`.money` (balances, margin, funding, income), :mod:`.matching` (triggers and fills) and
:mod:`.account` (what the endpoints call).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import markets as _markets
from .records import Order, Position, symbol_not_exist

ID_BASE = 1_860_000_000_000_000_000
DEFAULT_BALANCES = {"USDT": 10_000.0, "BTC": 1.0, "ETH": 10.0}


@dataclass
class AccountState:
    """The whole mutable exchange state behind one lock."""

    now_ms: Callable[[], int]
    hedge_mode: bool = False
    extra_contracts: int = 0  # made-up USDT-M contracts after the table (markets.py)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.info = _markets.contract_info(self.extra_contracts)
        self.reset(hedge_mode=self.hedge_mode)

    def reset(self, hedge_mode: bool | None = None) -> None:
        with self.lock:
            if hedge_mode is not None:
                self.hedge_mode = hedge_mode
            self.prices: dict[str, float] = _markets.default_prices(self.extra_contracts)
            self.balances: dict[str, float] = dict(DEFAULT_BALANCES)
            self.realised: dict[str, float] = dict.fromkeys(self.balances, 0.0)
            self.positions: dict[tuple[str, str], Position] = {}
            self.orders: dict[int, Order] = {}
            self.fills: list[dict[str, Any]] = []
            # fills that took a position past zero or beyond its size: see BingXSimulator.reversals()
            self.reversals: list[dict[str, Any]] = []
            self.income: list[dict[str, Any]] = []
            # the orders closeAllPositions placed: a crash test's checker tells a flatten's fills by them
            self.close_all_orders: set[int] = set()
            self.leverage: dict[str, dict[str, int]] = {}
            self.margin_type: dict[str, str] = {}
            # Ids keep counting across resets, as BingX never reuses one: a bot whose database outlives a
            # reset must not meet an old order id again.
            if not hasattr(self, "_ids"):
                self._ids = itertools.count(1)
            self.last_funding_ms = self.now_ms()

    def next_id(self) -> int:
        return ID_BASE + next(self._ids)

    def require_symbol(self, symbol: str | None) -> dict[str, Any]:
        if not symbol or symbol not in self.info:
            raise symbol_not_exist(symbol or "")
        return self.info[symbol]

    def lev_for(self, symbol: str, side: str) -> int:
        levs = self.leverage.get(symbol, {})
        return int(levs.get(side, 10))

    def _settle(self, symbol: str) -> str:
        return self.info[symbol]["settle"]

    def _position_of(self, symbol: str) -> Position | None:
        """One-way mode: the single position on ``symbol`` (either side)."""
        return self.positions.get((symbol, "LONG")) or self.positions.get((symbol, "SHORT"))
