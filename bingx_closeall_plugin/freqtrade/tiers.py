"""Leverage tiers for BingX USDT-M perpetuals, in the shape freqtrade's leverage code reads.

ccxt 4.5's bingx answers ``fetch_market_leverage_tiers`` from the private maintMarginRatio endpoint, with
``maxLeverage: None`` in every tier (BingX does not publish it there); freqtrade's ``get_max_leverage``
then fails with a TypeError, and without API keys (backtesting) there are no tiers at all. So:

- with keys: tiers fetched per market, ``maxLeverage`` filled in (see :func:`fill_max_leverage`), cached by
  freqtrade's own leverage-tier cache under the user_data dir (``<datadir>/futures/``) for a day;
- without keys: the shipped ``bingx_leverage_tiers.json`` (an approximation, see its ``source``);
- a market in neither: the default ladder (:data:`DEFAULT_LADDER`), so no pair is left without tiers.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_LADDER", "FALLBACK_FILE", "default_tiers", "fallback_tiers", "fill_max_leverage",
           "max_leverage_for"]

FALLBACK_FILE = Path(__file__).with_name("bingx_leverage_tiers.json")

# (min notional, max notional, maintenance margin rate, maintenance amount) in USDT: the ladder BingX shows
# for its major USDT-M contracts; used for markets with no fetched or shipped tiers.
DEFAULT_LADDER: tuple[tuple[float, float | None, float, float], ...] = (
    (0.0, 300_000.0, 0.004, 0.0),
    (300_000.0, 800_000.0, 0.005, 300.0),
    (800_000.0, 3_000_000.0, 0.01, 4_300.0),
    (3_000_000.0, 12_000_000.0, 0.025, 49_300.0),
    (12_000_000.0, 70_000_000.0, 0.05, 349_300.0),
)


def max_leverage_for(maintenance_rate: float, market_max: float | None = None) -> int:
    """The highest integer leverage a tier allows: initial margin at least twice the maintenance margin.

    BingX's tier endpoint does not say; 1 / (2 * mmr) reproduces the exchange's published ladder
    (0.4 % -> 125x, 0.5 % -> 100x, 1 % -> 50x, 2.5 % -> 20x, 5 % -> 10x), capped by the market's maximum.
    """
    lev = math.floor(1 / (2 * maintenance_rate)) if maintenance_rate > 0 else 125
    if market_max:
        lev = min(lev, int(market_max))
    return max(lev, 1)


def fill_max_leverage(tiers: list[dict[str, Any]], market_max: float | None = None) -> list[dict[str, Any]]:
    """ccxt's bingx tiers with ``maxLeverage`` filled in (never increasing from one tier to the next)."""
    out: list[dict[str, Any]] = []
    ceiling: int | None = None
    for tier in sorted(tiers, key=lambda t: t.get("minNotional") or 0.0):
        tier = dict(tier)
        lev = tier.get("maxLeverage") or max_leverage_for(float(tier["maintenanceMarginRate"]), market_max)
        lev = int(lev) if ceiling is None else min(int(lev), ceiling)
        ceiling = lev
        tier["maxLeverage"] = lev
        out.append(tier)
    return out


def default_tiers(symbol: str, market_max: float | None = None) -> list[dict[str, Any]]:
    rows = [
        {"tier": i + 1, "symbol": symbol, "currency": "USDT", "minNotional": lo, "maxNotional": hi,
         "maintenanceMarginRate": mmr, "maxLeverage": None,
         "info": {"maintAmount": str(amt), "source": "default ladder"}}
        for i, (lo, hi, mmr, amt) in enumerate(DEFAULT_LADDER)
    ]
    return fill_max_leverage(rows, market_max)


@lru_cache(maxsize=1)
def _load_fallback_file(path: Path) -> dict[str, list[dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        document = json.load(handle)
    return document["data"]


def fallback_tiers(path: Path = FALLBACK_FILE) -> dict[str, list[dict[str, Any]]]:
    """The shipped tiers, keyed by unified symbol (``BTC/USDT:USDT``); a fresh copy per call."""
    return json.loads(json.dumps(_load_fallback_file(path)))
