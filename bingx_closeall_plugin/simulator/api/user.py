"""BingX's account endpoints (signed): balances, positions, fees, income, maintenance-margin tiers, and the
per-account settings (leverage, margin type, position mode)."""

from __future__ import annotations

from functools import partial
from typing import Any

from .. import markets as _markets
from ..records import BingXError
from .common import FAMILIES, Params, RouteTable, Venue, int_param, limit_param, required_symbol, symbol_param

ROUTES = RouteTable()


# ---- the account --------------------------------------------------------------------------------------
@ROUTES.private("GET", "wallets/v1/capital/config/getall")
def currencies(p: Params, s: Venue) -> Any:
    out = []
    for coin in ("USDT", "BTC", "ETH"):
        out.append({"coin": coin, "name": coin, "networkList": [{
            "name": coin, "network": "ERC20" if coin != "BTC" else "BTC", "isDefault": True,
            "minConfirm": "12", "withdrawEnable": True, "depositEnable": True, "withdrawFee": "1",
            "withdrawMax": "1000000", "withdrawMin": "10", "depositMin": "1", "withdrawPrecision": "8",
            "depositPrecision": "8", "contractAddress": "", "needTagOrMemo": "false",
            "displayName": coin}]})
    return out


@ROUTES.private("GET", "swap/v3/user/balance")
def balance_v3(p: Params, s: Venue) -> Any:
    return s.account.balance_rows(["USDT"])


@ROUTES.private("GET", "swap/v2/user/balance")
def balance_v2(p: Params, s: Venue) -> Any:
    return {"balance": s.account.balance_rows(["USDT"])[0]}


@ROUTES.private("GET", "cswap/v1/user/balance")
def balance_cswap(p: Params, s: Venue) -> Any:
    return [{k: v for k, v in r.items() if k not in ("userId", "realisedProfit")}
            for r in s.account.balance_rows(["BTC", "ETH"])]


@ROUTES.private("GET", "swap/v2/user/positions")
def positions(p: Params, s: Venue) -> Any:
    return s.account.list_positions(symbol_param(p, s, inverse=False, required=False), inverse=False)


@ROUTES.private("GET", "cswap/v1/user/positions")
def cswap_positions(p: Params, s: Venue) -> Any:
    return s.account.list_positions(symbol_param(p, s, inverse=True, required=False), inverse=True)


@ROUTES.private("GET", "swap/v2/user/commissionRate")
def commission(p: Params, s: Venue) -> Any:
    return {"commission": {"takerCommissionRate": _markets.TAKER_FEE, "makerCommissionRate": _markets.MAKER_FEE}}


@ROUTES.private("GET", "cswap/v1/user/commissionRate")
def cswap_commission(p: Params, s: Venue) -> Any:
    return {"takerCommissionRate": str(_markets.TAKER_FEE), "makerCommissionRate": str(_markets.MAKER_FEE)}


@ROUTES.private("GET", "swap/v2/user/income")
def income(p: Params, s: Venue) -> Any:
    acc = s.account
    sym = symbol_param(p, s, inverse=False, required=False)
    kind = p.get("incomeType")
    start = int_param(p, "startTime")
    end = int_param(p, "endTime")
    limit = limit_param(p, 100, 1000)
    with acc.lock:
        rows = [dict(r) for r in acc.income
                if (sym is None or r["symbol"] == sym) and (not kind or r["incomeType"] == kind)
                and (start is None or r["time"] >= start) and (end is None or r["time"] <= end)
                and not acc.info[r["symbol"]]["inverse"]]
    return rows[-limit:]


@ROUTES.private("GET", "swap/v1/maintMarginRatio")
def maint_margin(p: Params, s: Venue) -> Any:
    sym = required_symbol(p, s, inverse=False)
    tiers = [(0, 300_000, "0.004000"), (300_000, 800_000, "0.005000"), (800_000, 3_000_000, "0.010000"),
             (3_000_000, 12_000_000, "0.025000"), (12_000_000, 70_000_000, "0.050000")]
    return [{"tier": f"Tier {i + 1}", "symbol": sym, "minPositionVal": str(lo), "maxPositionVal": str(hi),
             "maintMarginRatio": r, "maintAmount": "0.000000"} for i, (lo, hi, r) in enumerate(tiers)]


# ---- the settings -------------------------------------------------------------------------------------
def get_leverage(p: Params, s: Venue, inverse: bool) -> Any:
    return s.account.leverage_row(required_symbol(p, s, inverse=inverse))


def post_leverage(p: Params, s: Venue, inverse: bool) -> Any:
    sym = required_symbol(p, s, inverse=inverse)
    side = (p.get("side") or "").upper()
    if side not in ("LONG", "SHORT", "BOTH"):
        raise BingXError(109400, "Invalid parameters, side: must be LONG, SHORT or BOTH")
    raw = p.get("leverage")
    try:
        lev = int(raw) if raw is not None else None
    except ValueError:
        lev = None
    if lev is None:
        raise BingXError(109400, "Invalid parameters, leverage: must be an integer")
    return s.account.set_leverage(sym, side, lev)


def get_margin_type(p: Params, s: Venue, inverse: bool) -> Any:
    sym = required_symbol(p, s, inverse=inverse)
    return {"symbol": sym, "marginType": s.account.margin_type.get(sym, "CROSSED")}


def post_margin_type(p: Params, s: Venue, inverse: bool) -> Any:
    sym = required_symbol(p, s, inverse=inverse)
    s.account.set_margin_type(sym, (p.get("marginType") or "").upper())
    return {}


for _inverse, _prefix in FAMILIES:
    ROUTES.add("GET", f"{_prefix}/trade/leverage", partial(get_leverage, inverse=_inverse), private=True)
    ROUTES.add("POST", f"{_prefix}/trade/leverage", partial(post_leverage, inverse=_inverse), private=True)
    ROUTES.add("GET", f"{_prefix}/trade/marginType", partial(get_margin_type, inverse=_inverse), private=True)
    ROUTES.add("POST", f"{_prefix}/trade/marginType", partial(post_margin_type, inverse=_inverse), private=True)


@ROUTES.private("GET", "swap/v1/positionSide/dual")
def get_dual(p: Params, s: Venue) -> Any:
    return {"dualSidePosition": "true" if s.account.hedge_mode else "false"}


@ROUTES.private("POST", "swap/v1/positionSide/dual")
def post_dual(p: Params, s: Venue) -> Any:
    value = (p.get("dualSidePosition") or "").lower()
    if value not in ("true", "false"):
        raise BingXError(109400, "Invalid parameters, dualSidePosition: must be true or false")
    s.account.set_hedge_mode(value == "true")
    return {"dualSidePosition": value}
