"""The answers of a bot flatten: freqtrade's ``{"result": ...}`` shape, with the details as extra keys.

``/forceexit all`` and ``/closeall`` answer the same way on every front end (REST, FreqUI, freqtrade-client,
Telegram, the strategy hook's Future); the pieces they share are built here.
"""

from __future__ import annotations

from typing import Any

from freqtrade.persistence import Trade

from ..core.flatten import FlattenReport
from ..core.symbols import to_native, unified_name

__all__ = ["answer", "closed_trade", "per_symbol"]


def answer(result: str, **details: Any) -> dict[str, Any]:
    """freqtrade's ``{"result": ...}`` shape (FreqUI, freqtrade-client), the details as extra keys."""
    return {"result": result, **{k: v for k, v in details.items() if v is not None}}


def closed_trade(trade: Trade, attached: dict[int, list[str]]) -> dict[str, Any]:
    return {"trade_id": trade.id, "pair": trade.pair, "order_ids": attached.get(trade.id, []),
            "close_rate": trade.close_rate, "is_open": trade.is_open}


def per_symbol(report: FlattenReport, trades: list[Trade], attached: dict[int, list[str]]) -> dict[str, Any]:
    by_symbol: dict[str, Any] = {}
    trade_by_symbol = {to_native(t.pair, report.currencies): t for t in trades}

    def entry_for(symbol: Any) -> dict[str, Any]:
        return by_symbol.setdefault(symbol, {"orders": [], "trade_id": None,
                                             "unified_symbol": unified_name(symbol, report.currencies)})

    for order in report.closed_orders:
        entry = entry_for(order["symbol"])
        entry["orders"].append(order)
        trade = trade_by_symbol.get(order["symbol"])
        if trade is not None and trade.id in attached:
            entry["trade_id"] = trade.id
    for position in report.remaining_positions:
        entry_for(position.get("symbol"))["still_open"] = True
    return by_symbol
