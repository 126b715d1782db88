"""Default market table of the simulator: 71 linear USDT-M perpetuals plus two coin-M contracts.

``extra`` (``BingXSimulator(extra_contracts=N)``, ``--extra-contracts N``) lists N more made-up USDT-M contracts,
``X001-USDT`` to ``XNNN-USDT``, for a bot trading more pairs than the table has (the trades-per-bot benchmark's
200 trades); they are not BingX's listings.

Shapes copy BingX's ``GET /openApi/swap/v2/quote/contracts`` (linear) and
``GET /openApi/cswap/v1/market/contracts`` (coin-M). Prices are realistic-looking
starting values, not live data. :func:`notional` and :func:`pnl` are a contract's value and profit,
linear or inverse, from its facts in :func:`contract_info`.
"""

from __future__ import annotations

from typing import Any

# asset, start price, quantityPrecision, pricePrecision, maxLeverage
_LINEAR: list[tuple[str, float, int, int, int]] = [
    ("BTC", 65000.0, 4, 1, 125),
    ("ETH", 3200.0, 2, 2, 100),
    ("SOL", 150.0, 1, 3, 75),
    ("XRP", 0.55, 0, 4, 75),
    ("DOGE", 0.15, 0, 5, 75),
    ("BNB", 580.0, 2, 2, 75),
    ("ADA", 0.45, 0, 4, 75),
    ("AVAX", 30.0, 1, 3, 50),
    ("LINK", 14.5, 1, 3, 50),
    ("DOT", 6.5, 1, 3, 50),
    ("LTC", 80.0, 2, 2, 75),
    ("TRX", 0.12, 0, 5, 50),
    ("MATIC", 0.6, 0, 4, 50),
    ("SHIB", 0.000018, 0, 8, 50),
    ("BCH", 380.0, 2, 2, 75),
    ("ATOM", 7.5, 1, 3, 50),
    ("UNI", 8.0, 1, 3, 50),
    ("ETC", 24.0, 1, 3, 50),
    ("FIL", 5.0, 1, 3, 50),
    ("APT", 8.5, 1, 3, 50),
    ("ARB", 0.9, 0, 4, 50),
    ("OP", 2.0, 1, 4, 50),
    ("NEAR", 5.5, 1, 3, 50),
    ("SUI", 1.2, 0, 4, 50),
    ("SEI", 0.45, 0, 4, 50),
    ("TIA", 7.0, 1, 3, 50),
    ("INJ", 25.0, 1, 3, 50),
    ("AAVE", 150.0, 2, 2, 50),
    ("MKR", 2400.0, 3, 1, 50),
    ("LDO", 1.9, 0, 4, 50),
    ("PEPE", 0.000011, 0, 9, 50),
    ("WIF", 2.5, 0, 4, 50),
    ("BONK", 0.000025, 0, 8, 50),
    ("FLOKI", 0.00018, 0, 7, 50),
    ("ORDI", 35.0, 1, 3, 50),
    ("STX", 1.8, 0, 4, 50),
    ("RUNE", 5.0, 1, 3, 50),
    ("FTM", 0.7, 0, 4, 50),
    ("SAND", 0.4, 0, 4, 50),
    ("MANA", 0.4, 0, 4, 50),
    ("AXS", 6.5, 1, 3, 50),
    ("GALA", 0.03, 0, 5, 50),
    ("APE", 1.2, 0, 4, 50),
    ("CRV", 0.45, 0, 4, 50),
    ("DYDX", 1.8, 0, 4, 50),
    ("GMX", 30.0, 2, 3, 50),
    ("IMX", 1.8, 0, 4, 50),
    ("ALGO", 0.18, 0, 5, 50),
    ("XLM", 0.11, 0, 5, 50),
    ("HBAR", 0.08, 0, 5, 50),
    ("ICP", 10.0, 1, 3, 50),
    ("VET", 0.03, 0, 5, 50),
    ("EOS", 0.7, 0, 4, 50),
    ("XTZ", 0.9, 0, 4, 50),
    ("THETA", 1.6, 0, 4, 50),
    ("EGLD", 35.0, 2, 2, 50),
    ("KAS", 0.15, 0, 5, 50),
    ("TON", 6.5, 1, 3, 50),
    ("JUP", 1.0, 0, 4, 50),
    ("PYTH", 0.4, 0, 4, 50),
    ("ENA", 0.6, 0, 4, 50),
    ("WLD", 2.5, 0, 4, 50),
    ("NOT", 0.012, 0, 6, 50),
    ("ONDO", 1.0, 0, 4, 50),
    ("RNDR", 7.5, 1, 3, 50),
    ("FET", 1.4, 0, 4, 50),
    # Coins ccxt renames (its bingx commonCurrencies), listed under BingX's own codes: TRUMPSOL-USDT is ccxt's
    # TRUMP/USDT:USDT, TRUMP-USDT its TRUMPMAGA/USDT:USDT, OMNI OmniCat, SNOW Snowman, NAP $NAP.
    ("TRUMPSOL", 9.5, 1, 3, 50),
    ("TRUMP", 0.9, 0, 4, 20),
    ("OMNI", 0.00004, 0, 8, 20),
    ("SNOW", 0.012, 0, 6, 20),
    ("NAP", 0.004, 0, 6, 20),
]

# asset, start price, pricePrecision, contract size in USD, maxLeverage
_INVERSE: list[tuple[str, float, int, int, int]] = [
    ("BTC", 65000.0, 1, 100, 100),
    ("ETH", 3200.0, 2, 10, 100),
]

TAKER_FEE = 0.0005
EXTRA_PREFIX = "X"


def _linear(extra: int = 0) -> list[tuple[str, float, int, int, int]]:
    """The table, and ``extra`` made-up contracts after it (prices 1.01 to about 10, 1 amount and 4 price decimals)."""
    if extra < 0:
        raise ValueError(f"extra contracts must be 0 or more, not {extra}")
    return _LINEAR + [(f"{EXTRA_PREFIX}{i:03d}", _extra_price(i), 1, 4, 50) for i in range(1, extra + 1)]


def _extra_price(index: int) -> float:
    return round(1 + 0.01 * index, 2)


def start_price(symbol: str) -> float:
    """A contract's start price, the made-up ones' included (``X007-USDT``: 1.07)."""
    prices = _DEFAULT_PRICES
    if symbol in prices:
        return prices[symbol]
    asset = symbol.split("-", 1)[0]
    if not (asset.startswith(EXTRA_PREFIX) and asset[len(EXTRA_PREFIX):].isdigit()):
        raise KeyError(symbol)
    return _extra_price(int(asset[len(EXTRA_PREFIX):]))

MAKER_FEE = 0.0002


def _fmt_step(precision: int) -> str:
    return "1" if precision == 0 else "0." + "0" * (precision - 1) + "1"


def linear_contracts(extra: int = 0) -> list[dict[str, Any]]:
    """Rows as ``/openApi/swap/v2/quote/contracts`` returns them (strings, like BingX)."""
    rows = []
    for i, (asset, price, qp, pp, lev) in enumerate(_linear(extra)):
        min_qty = 10 ** -qp
        rows.append({
            "contractId": str(100 + i),
            "symbol": f"{asset}-USDT",
            "size": _fmt_step(qp),
            "quantityPrecision": qp,
            "pricePrecision": pp,
            "feeRate": str(TAKER_FEE),
            "makerFeeRate": str(MAKER_FEE),
            "takerFeeRate": str(TAKER_FEE),
            "tradeMinLimit": 0,
            "tradeMinQuantity": float(f"{min_qty:.{qp}f}") if qp else 1,
            "tradeMinUSDT": 2,
            "maxLongLeverage": lev,
            "maxShortLeverage": lev,
            "currency": "USDT",
            "asset": asset,
            "status": 1,
            "apiStateOpen": "true",
            "apiStateClose": "true",
            "ensureTrigger": True,
            "triggerFeeRate": "0.00020000",
            "brokerState": False,
            "launchTime": 1672531200000,
            "maintainTime": 0,
            "offTime": 0,
        })
    return rows


def inverse_contracts() -> list[dict[str, Any]]:
    """Rows as ``/openApi/cswap/v1/market/contracts`` returns them."""
    return [
        {
            "symbol": f"{asset}-USD",
            "pricePrecision": pp,
            "minTickSize": str(cs),
            "minTradeValue": str(cs),
            "minQty": "1.00000000",
            "status": 1,
            "timeOnline": 1713175200000,
        }
        for asset, _price, pp, cs, _lev in _INVERSE
    ]


def default_prices(extra: int = 0) -> dict[str, float]:
    prices = {f"{a}-USDT": p for a, p, *_ in _linear(extra)}
    prices.update({f"{a}-USD": p for a, p, *_ in _INVERSE})
    return prices


_DEFAULT_PRICES = default_prices()


def contract_info(extra: int = 0) -> dict[str, dict[str, Any]]:
    """Internal per-symbol facts: inverse flag, precisions, min qty, contract size, max leverage, settle asset."""
    info: dict[str, dict[str, Any]] = {}
    for asset, _p, qp, pp, lev in _linear(extra):
        info[f"{asset}-USDT"] = {
            "inverse": False, "qty_prec": qp, "price_prec": pp, "min_qty": 10 ** -qp,
            "contract_size": 1.0, "max_leverage": lev, "settle": "USDT", "asset": asset,
        }
    for asset, _p, pp, cs, lev in _INVERSE:
        info[f"{asset}-USD"] = {
            "inverse": True, "qty_prec": 0, "price_prec": pp, "min_qty": 1.0,
            "contract_size": float(cs), "max_leverage": lev, "settle": asset, "asset": asset,
        }
    return info


def notional(inf: dict[str, Any], qty: float, price: float) -> float:
    """Position value in the settle asset (``inf``: one contract's facts from :func:`contract_info`)."""
    if inf["inverse"]:
        return qty * inf["contract_size"] / price
    return qty * price


def pnl(inf: dict[str, Any], side: str, qty: float, entry: float, exit_: float) -> float:
    """Profit of ``qty`` of a ``side`` (LONG / SHORT) position from ``entry`` to ``exit_``, in the settle asset."""
    direction = 1.0 if side == "LONG" else -1.0
    if inf["inverse"]:
        return qty * inf["contract_size"] * (1.0 / entry - 1.0 / exit_) * direction
    return qty * (exit_ - entry) * direction
