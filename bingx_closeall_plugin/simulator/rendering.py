"""The account's records as BingX's JSON: positions, orders, fills, income, balances, leverage.

Pure functions of a record, its contract's facts (``inf``, one entry of :func:`.markets.contract_info`)
and the account's position mode; every row the simulator answers with is shaped here. Numbers are
strings at the contract's precision where BingX sends strings.
"""

from __future__ import annotations

import time
from typing import Any

from .markets import notional, pnl
from .records import Order, Position

MAINT_MARGIN_RATE = 0.004  # only for the liquidation price a position row shows: no liquidation is modelled


def fmt_qty(inf: dict[str, Any], x: float) -> str:
    return f"{x:.{inf['qty_prec']}f}"


def fmt_price(inf: dict[str, Any], x: float) -> str:
    return f"{x:.{inf['price_prec']}f}"


def fmt_plain(x: float) -> str:
    """A number as BingX writes an order's own figures back when it accepts it: ``"0"``, ``"0.1"``, ``"120"``."""
    text = f"{x:.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def fmt_money(inf: dict[str, Any], x: float) -> str:
    """An amount of the contract's settle asset: 8 decimals for a coin (coin-M), 4 for USDT."""
    return f"{x:.8f}" if inf["inverse"] else f"{x:.4f}"


def position_row(p: Position, inf: dict[str, Any], mark: float, hedge_mode: bool) -> dict[str, Any]:
    unreal = pnl(inf, p.side, p.qty, p.entry, mark)
    margin = notional(inf, p.qty, p.entry) / p.leverage
    if p.side == "LONG":
        liq = p.entry * (1.0 - 1.0 / p.leverage + MAINT_MARGIN_RATE)
    else:
        liq = p.entry * (1.0 + 1.0 / p.leverage - MAINT_MARGIN_RATE)
    # One-way accounts: BingX reports positionSide BOTH with a signed amount (negative = short);
    # hedge-mode accounts report LONG/SHORT legs with positive amounts.
    signed = -p.qty if (p.side == "SHORT" and not hedge_mode) else p.qty
    row = {
        "positionId": str(p.position_id),
        "symbol": p.symbol,
        "currency": inf["settle"],
        "positionAmt": fmt_qty(inf, signed),
        "availableAmt": fmt_qty(inf, signed),
        "positionSide": p.side if hedge_mode else "BOTH",
        "isolated": p.isolated,
        "avgPrice": fmt_price(inf, p.entry),
        "initialMargin": fmt_money(inf, margin),
        "margin": fmt_money(inf, margin + unreal),
        "leverage": p.leverage,
        "unrealizedProfit": fmt_money(inf, unreal),
        "realisedProfit": fmt_money(inf, p.realised),
        "liquidationPrice": round(max(liq, 0.0), inf["price_prec"]),
        "pnlRatio": f"{(unreal / margin) if margin else 0.0:.4f}",
        "maxMarginReduction": "0.0000",
        "riskRate": "0.0010",
        "markPrice": fmt_price(inf, mark),
        "positionValue": fmt_money(inf, notional(inf, p.qty, mark)),
        "onlyOnePosition": not hedge_mode,
        "createTime": p.open_time,
        "updateTime": p.update_time,
    }
    if inf["inverse"]:
        row.pop("currency")
    return row


def order_row(o: Order, inf: dict[str, Any], hedge_mode: bool) -> dict[str, Any]:
    """An order as BingX lists and queries it (open orders, order history, one order, a cancel's answer)."""
    empty_tp_sl = {"type": "", "quantity": 0, "stopPrice": 0, "price": 0, "workingType": "", "stopGuaranteed": ""}
    # Before anything fills BingX leaves the execution figures empty (ccxt's recorded resting STOP_MARKET row,
    # BingX's documented TAKE_PROFIT_MARKET row): "" rather than zeros.
    filled = o.executed > 0
    return {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "side": o.side,
        "positionSide": o.position_side,
        "type": o.type,
        "origQty": fmt_qty(inf, o.qty),
        "price": fmt_price(inf, o.price),
        "executedQty": fmt_qty(inf, o.executed),
        "avgPrice": fmt_price(inf, o.avg_price),
        "cumQuote": (fmt_money(inf, o.executed * o.avg_price) if not inf["inverse"] else "0") if filled else "",
        "stopPrice": fmt_price(inf, o.stop_price) if o.stop_price else "",
        "profit": fmt_money(inf, o.profit) if filled else "",
        "commission": fmt_money(inf, -o.commission) if filled else "",
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
        "onlyOnePosition": not hedge_mode,
        # Hedge mode takes no reduceOnly parameter: orders are listed without it, closing legs too.
        "reduceOnly": o.reduce_only and not hedge_mode,
        "postOnly": False,
        "stopGuaranteed": "false",
        "triggerOrderId": 0,
        "trailingStopRate": "0",
        "trailingStopDistance": "0",
        "timeInForce": o.time_in_force,
    }


def new_order_row(o: Order, hedge_mode: bool) -> dict[str, Any]:
    """The (short) shape BingX answers to POST trade/order."""
    return {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "side": o.side,
        "positionSide": o.position_side,
        "type": o.type,
        "clientOrderID": o.client_order_id,
        "workingType": o.working_type,
        # strings, as ccxt's recorded answers carry them (a conditional order: price "0", the trigger in stopPrice)
        "price": fmt_plain(o.price),
        "quantity": fmt_plain(o.qty),
        "stopPrice": fmt_plain(o.stop_price),
        "timeInForce": o.time_in_force,
        "priceRate": "0",
        "stopLoss": "",
        "takeProfit": "",
        "reduceOnly": o.reduce_only and not hedge_mode,
        "activationPrice": "0",
        "closePosition": "",
        "stopGuaranteed": "",
    }


def fill_row(o: Order, inf: dict[str, Any], qty: float, price: float, fee: float, profit: float, now: int,
             trade_id: int, taker: bool) -> dict[str, Any]:
    """One fill of ``o`` as BingX's fill history lists it."""
    return {
        "filledTm": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now / 1000)) + f".{now % 1000:03d}Z",
        "filledTime": now,
        "tradeId": str(trade_id),
        "symbol": o.symbol,
        "side": o.side,
        "positionSide": o.position_side,
        "volume": fmt_qty(inf, qty),
        "price": fmt_price(inf, price),
        "amount": fmt_money(inf, notional(inf, qty, price)) if not inf["inverse"]
        else fmt_money(inf, qty * inf["contract_size"] / price),
        "quoteQty": (fmt_money(inf, qty * price) if not inf["inverse"]
                     else str(qty * inf["contract_size"])),
        "commission": fmt_money(inf, -fee),
        "currency": inf["settle"],
        "orderId": str(o.order_id),
        "clientOrderId": o.client_order_id,
        "realizedPnl": fmt_money(inf, profit),
        "liquidatedPrice": "0.00",
        "liquidatedMarginRatio": "0.00",
        "role": "taker" if taker else "maker",
    }


def income_row(symbol: str, inf: dict[str, Any], kind: str, amount: float, info: str, ts: int, tran_id: int,
               trade_id: int | None) -> dict[str, Any]:
    """One income record (REALIZED_PNL, TRADING_FEE, FUNDING_FEE) as BingX's income history lists it."""
    return {
        "symbol": symbol,
        "incomeType": kind,
        "income": fmt_money(inf, amount),
        "asset": inf["settle"],
        "info": info,
        "time": ts,
        "tranId": str(tran_id),
        "tradeId": str(trade_id if trade_id is not None else tran_id),
    }


def balance_row(asset: str, balance: float, unrealised: float, realised: float, available: float, used: float,
                frozen: float) -> dict[str, Any]:
    """One asset's balance as BingX's balance endpoints answer it."""
    fmt = (lambda x: f"{x:.8f}") if asset != "USDT" else (lambda x: f"{x:.4f}")
    return {
        "userId": "1160000001",
        "asset": asset,
        "balance": fmt(balance),
        "equity": fmt(balance + unrealised),
        "unrealizedProfit": fmt(unrealised),
        "realisedProfit": fmt(realised),
        "availableMargin": fmt(max(available, 0.0)),
        "usedMargin": fmt(used),
        "freezedMargin": fmt(frozen),
        "shortUid": "12851936",
    }


def leverage_row(symbol: str, inf: dict[str, Any], long_leverage: int, short_leverage: int,
                 hedge_mode: bool) -> dict[str, Any]:
    """A symbol's leverage as BingX answers its query and its change."""
    row = {
        "symbol": symbol,
        "longLeverage": long_leverage,
        "shortLeverage": short_leverage,
        "maxLongLeverage": inf["max_leverage"],
        "maxShortLeverage": inf["max_leverage"],
        "availableLongVol": "0.0000",
        "availableShortVol": "0.0000",
        "availableLongVal": "0.0",
        "availableShortVal": "0.0",
        "maxPositionLongVal": "0.0",
        "maxPositionShortVal": "0.0",
    }
    if not hedge_mode:
        row["leverage"] = long_leverage
    return row
