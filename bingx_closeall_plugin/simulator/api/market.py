"""BingX's public market data, synthetic and deterministic: server time, contracts, tickers, prices, depth,
klines (and mark-price klines), premium index, funding history, open interest, recent trades."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from .. import markets as _markets
from ..records import BingXError, symbol_not_exist
from .common import Params, RouteTable, Venue, hash01, int_param, limit_param, required_symbol, symbol_param

ROUTES = RouteTable()

DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
INTERVALS_MS = {
    "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
    "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000, "1M": 2_592_000_000,
}
FUNDING_INTERVAL_MS = 8 * 3_600_000


# ---- the synthetic market -------------------------------------------------------------------------
def synthetic(symbol: str, t: int) -> float:
    """Deterministic synthetic price path of ``symbol`` at ``t`` (ms) around its default price."""
    base = _markets.start_price(symbol)
    phase = hash01(symbol) * 2 * math.pi
    hours = t / 3_600_000.0
    return base * (1.0 + 0.03 * math.sin(hours / 37.0 + phase) + 0.01 * math.sin(hours / 3.1 + 2 * phase)
                   + 0.004 * math.sin(hours * 2.3 + phase))


def candles(s: Venue, symbol: str, params: Params, mark: bool, time_key: str) -> list[dict[str, Any]]:
    interval = params.get("interval") or "1m"
    if interval not in INTERVALS_MS:
        raise BingXError(109400, f"Invalid parameters, interval: {interval} is not supported")
    step = INTERVALS_MS[interval]
    limit = limit_param(params, 500, 1440)
    now = s.server_time_ms()
    start = int_param(params, "startTime")
    end = int_param(params, "endTime")
    last_open = (min(end, now) if end is not None else now) // step * step
    if start is not None:
        first = -(-start // step) * step
        opens = list(range(first, last_open + 1, step))[:limit]
    else:
        opens = list(range(last_open - (limit - 1) * step, last_open + 1, step))
    prec = s.account.info[symbol]["price_prec"]
    current = s.account.prices[symbol]
    rows = []
    for t in opens:
        o = synthetic(symbol, t)
        c = current if t == now // step * step else synthetic(symbol, t + step)
        wiggle = 0.0005 + 0.002 * hash01(symbol, t)
        h = max(o, c) * (1 + wiggle)
        lo = min(o, c) * (1 - wiggle)
        vol = 0.0 if mark else round(100 + 1000 * hash01(symbol, t, "v"), 2)
        row: dict[str, Any] = {"open": f"{o:.{prec}f}", "close": f"{c:.{prec}f}", "high": f"{h:.{prec}f}",
                               "low": f"{lo:.{prec}f}", "volume": f"{vol:.2f}"}
        if time_key == "openTime":
            row["openTime"] = t
            row["closeTime"] = t
        else:
            row["time"] = t
        rows.append(row)
    return rows


def ticker_row(s: Venue, symbol: str) -> dict[str, Any]:
    prec = s.account.info[symbol]["price_prec"]
    now = s.server_time_ms()
    last = s.account.prices[symbol]
    open_ = synthetic(symbol, now - 86_400_000)
    tick = 10 ** -prec
    return {
        "symbol": symbol,
        "priceChange": f"{last - open_:.{prec}f}",
        "priceChangePercent": f"{(last - open_) / open_ * 100:.2f}%",
        "lastPrice": f"{last:.{prec}f}",
        "lastQty": "1",
        "highPrice": f"{max(last, open_) * 1.01:.{prec}f}",
        "lowPrice": f"{min(last, open_) * 0.99:.{prec}f}",
        "volume": "100000.00",
        "quoteVolume": f"{100000 * last:.2f}",
        "openPrice": f"{open_:.{prec}f}",
        "openTime": now - 86_400_000,
        "closeTime": now,
        "bidPrice": f"{last - tick:.{prec}f}",
        "bidQty": "10",
        "askPrice": f"{last + tick:.{prec}f}",
        "askQty": "10",
    }


def premium_row(s: Venue, symbol: str) -> dict[str, Any]:
    prec = s.account.info[symbol]["price_prec"]
    now = s.server_time_ms()
    return {
        "symbol": symbol,
        "markPrice": f"{s.account.prices[symbol]:.{prec}f}",
        "indexPrice": f"{s.account.prices[symbol]:.{prec}f}",
        "lastFundingRate": "0.00010000",
        "nextFundingTime": (now // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS,
        "fundingIntervalHours": 8,
        "updateTime": now,
    }


def _family(s: Venue, inverse: bool) -> list[str]:
    return [x for x, info in s.account.info.items() if info["inverse"] == inverse]


# ---- the endpoints ----------------------------------------------------------------------------------
@ROUTES.public("GET", "swap/v2/server/time", "cswap/v1/server/time", "spot/v1/server/time")
def server_time(p: Params, s: Venue) -> Any:
    return {"serverTime": s.server_time_ms()}


@ROUTES.public("GET", "swap/v2/quote/contracts")
def contracts(p: Params, s: Venue) -> Any:
    rows = _markets.linear_contracts(s.account.extra_contracts)
    if p.get("symbol"):
        rows = [r for r in rows if r["symbol"] == p["symbol"]]
        if not rows:
            raise symbol_not_exist(p["symbol"])
    return rows


@ROUTES.public("GET", "cswap/v1/market/contracts")
def cswap_contracts(p: Params, s: Venue) -> Any:
    return _markets.inverse_contracts()


@ROUTES.public("GET", "spot/v1/common/symbols")
def spot_symbols(p: Params, s: Venue) -> Any:
    return {"symbols": []}


@ROUTES.public("GET", "swap/v2/quote/ticker")
def ticker(p: Params, s: Venue) -> Any:
    sym = symbol_param(p, s, inverse=False, required=False)
    if sym:
        return ticker_row(s, sym)
    return [ticker_row(s, x) for x in _family(s, inverse=False)]


@ROUTES.public("GET", "cswap/v1/market/ticker")
def cswap_ticker(p: Params, s: Venue) -> Any:
    sym = symbol_param(p, s, inverse=True, required=False)
    return [ticker_row(s, x) for x in ([sym] if sym else _family(s, inverse=True))]


@ROUTES.public("GET", "swap/v2/quote/bookTicker")
def book_ticker(p: Params, s: Venue) -> Any:
    sym = required_symbol(p, s, inverse=False)
    row = ticker_row(s, sym)
    return {"book_ticker": {"symbol": sym, "bid_price": row["bidPrice"], "bid_qty": row["bidQty"],
                            "ask_price": row["askPrice"], "ask_qty": row["askQty"]}}


@ROUTES.public("GET", "swap/v2/quote/price", "swap/v1/ticker/price")
def price(p: Params, s: Venue) -> Any:
    sym = symbol_param(p, s, inverse=False, required=False)
    now = s.server_time_ms()
    acc = s.account

    def row(x: str) -> dict[str, Any]:
        return {"symbol": x, "price": f"{acc.prices[x]:.{acc.info[x]['price_prec']}f}", "time": now}
    if sym:
        return row(sym)
    return [row(x) for x in _family(s, inverse=False)]


def depth(p: Params, s: Venue, inverse: bool) -> Any:
    sym = required_symbol(p, s, inverse=inverse)
    limit = int_param(p, "limit", 20)
    if limit not in DEPTH_LIMITS:
        raise BingXError(109400, f"Invalid parameters, limit: must be one of {list(DEPTH_LIMITS)}")
    prec = s.account.info[sym]["price_prec"]
    tick = 10 ** -prec
    mid = s.account.prices[sym]
    bids = [[f"{mid - (i + 1) * tick:.{prec}f}", f"{1 + 10 * hash01(sym, 'b', i):.4f}"]
            for i in range(limit) if mid - (i + 1) * tick > 0]
    asks = [[f"{mid + (i + 1) * tick:.{prec}f}", f"{1 + 10 * hash01(sym, 'a', i):.4f}"]
            for i in range(limit)]
    asks.reverse()  # BingX lists asks from the far end down to the best ask
    return {"T": s.server_time_ms(), "bids": bids, "asks": asks}


ROUTES.add("GET", "swap/v2/quote/depth", partial(depth, inverse=False), private=False)
ROUTES.add("GET", "cswap/v1/market/depth", partial(depth, inverse=True), private=False)


@ROUTES.public("GET", "swap/v3/quote/klines", "swap/v2/quote/klines")
def klines(p: Params, s: Venue) -> Any:
    return candles(s, required_symbol(p, s, inverse=False), p, False, "time")


@ROUTES.public("GET", "cswap/v1/market/klines")
def cswap_klines(p: Params, s: Venue) -> Any:
    return candles(s, required_symbol(p, s, inverse=True), p, False, "time")


@ROUTES.public("GET", "swap/v1/market/markPriceKlines")
def mark_price_klines(p: Params, s: Venue) -> Any:
    return candles(s, required_symbol(p, s, inverse=False), p, True, "openTime")


@ROUTES.public("GET", "swap/v2/quote/premiumIndex")
def premium(p: Params, s: Venue) -> Any:
    sym = symbol_param(p, s, inverse=False, required=False)
    if sym:
        return premium_row(s, sym)
    return [premium_row(s, x) for x in _family(s, inverse=False)]


@ROUTES.public("GET", "cswap/v1/market/premiumIndex")
def cswap_premium(p: Params, s: Venue) -> Any:
    sym = symbol_param(p, s, inverse=True, required=False)
    return [premium_row(s, x) for x in ([sym] if sym else _family(s, inverse=True))]


@ROUTES.public("GET", "swap/v2/quote/fundingRate")
def funding_history(p: Params, s: Venue) -> Any:
    sym = required_symbol(p, s, inverse=False)
    interval = FUNDING_INTERVAL_MS
    limit = limit_param(p, 100, 1000)
    now = s.server_time_ms()
    end = min(int_param(p, "endTime", now) or now, now)
    start = int_param(p, "startTime")
    last = end // interval * interval
    if start is not None:
        first = -(-start // interval) * interval
        times = list(range(first, last + 1, interval))[:limit]
    else:
        times = list(range(last - (limit - 1) * interval, last + 1, interval))
    return [{"symbol": sym, "fundingRate": "0.00010000", "fundingTime": t} for t in reversed(times)]


@ROUTES.public("GET", "swap/v2/quote/openInterest")
def open_interest(p: Params, s: Venue) -> Any:
    sym = required_symbol(p, s, inverse=False)
    return {"openInterest": f"{1_000_000 * s.account.prices[sym]:.2f}", "symbol": sym, "time": s.server_time_ms()}


@ROUTES.public("GET", "swap/v2/quote/trades")
def trades(p: Params, s: Venue) -> Any:
    sym = required_symbol(p, s, inverse=False)
    limit = limit_param(p, 50, 1000)
    now = s.server_time_ms()
    prec = s.account.info[sym]["price_prec"]
    px = s.account.prices[sym]
    return [{"time": now - i * 1000, "isBuyerMaker": bool(i % 2), "price": f"{px:.{prec}f}",
             "qty": "1", "quoteQty": f"{px:.2f}"} for i in range(limit)]
