"""Leverage, margin mode, leverage tiers and the liquidation price of BingX USDT-M futures for freqtrade.

The part of :class:`.exchange.Bingx` that sizes positions: BingX takes integer leverage only and one-way
leverage with side BOTH, answers its tiers with ``maxLeverage`` None (``tiers.py`` fills them in), and computes
a position's maintenance margin from its tier's ``maintAmount``. A class of its own between freqtrade's spot
``Bingx`` and the plugin's, so each module owns one job.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any

import ccxt
from freqtrade.constants import BuySell
from freqtrade.enums import MarginMode, RunMode, TradingMode
from freqtrade.exceptions import OperationalException
from freqtrade.exchange.bingx import Bingx as FreqtradeBingx
from freqtrade.exchange.common import retrier

from . import tiers as tier_source
from .ccxt_clients import freqtrade_error

logger = logging.getLogger(__name__)

__all__ = ["BingxLeverage"]


class BingxLeverage(FreqtradeBingx):
    """freqtrade's BingX with futures leverage, margin mode, tiers and liquidation price."""

    # (margin mode, leverage) last set per pair, so repeated entries don't resend them
    _pair_settings: dict[str, tuple[str, int]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pair_settings = {}
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ leverage and margin mode
    def _lev_prep(self, pair: str, leverage: float, side: BuySell, accept_fail: bool = False) -> None:
        if self.trading_mode != TradingMode.FUTURES or self._config["dry_run"]:
            return
        wanted = (self.margin_mode.value, self._integer_leverage(leverage))
        if self._pair_settings.get(pair) == wanted:
            return
        margin_ok = self.set_margin_mode(pair, self.margin_mode, accept_fail)
        leverage_ok = self._set_leverage(leverage, pair, accept_fail)
        if margin_ok and leverage_ok:
            self._pair_settings[pair] = wanted
        else:
            self._pair_settings.pop(pair, None)

    @staticmethod
    def _integer_leverage(leverage: float) -> int:
        # BingX refuses fractional leverage (109400); never round up past what the strategy asked for.
        return max(1, math.floor(leverage + 1e-9))

    @retrier
    def _set_leverage(self, leverage: float, pair: str | None = None, accept_fail: bool = False) -> bool:
        """Set integer leverage for one-way mode (side BOTH); True when BingX accepted it."""
        if self._config["dry_run"] or not self.exchange_has("setLeverage"):
            return True
        value = self._integer_leverage(leverage)
        if value != leverage:
            logger.warning(f"BingX takes integer leverage only: using {value}x instead of {leverage}x for {pair}.")
        try:
            res = self._api.set_leverage(value, pair, {"side": "BOTH"})
            self._log_exchange_response("set_leverage", res)
            return True
        except (ccxt.BadRequest, ccxt.OperationRejected, ccxt.InsufficientFunds) as e:
            if not accept_fail:
                raise freqtrade_error(e, "set leverage") from e
            logger.warning(f"Could not set leverage for {pair}: {e.__class__.__name__}: {e}")
            return False
        except ccxt.BaseError as e:
            raise freqtrade_error(e, "set leverage") from e

    @retrier
    def set_margin_mode(
        self, pair: str, margin_mode: MarginMode, accept_fail: bool = False, params: dict | None = None
    ) -> bool:
        """Set isolated/cross for ``pair``; True when BingX accepted it (or it was already set)."""
        if self._config["dry_run"] or not self.exchange_has("setMarginMode"):
            return True
        try:
            res = self._api.set_margin_mode(margin_mode.value, pair, params or {})
            self._log_exchange_response("set_margin_mode", res)
            return True
        except ccxt.MarginModeAlreadySet as e:
            logger.debug(f"Margin mode already set for {pair}. Message: {e}")
            return True
        except (ccxt.BadRequest, ccxt.OperationRejected) as e:
            if not accept_fail:
                raise freqtrade_error(e, "set margin mode") from e
            logger.warning(f"Could not set margin mode for {pair}: {e.__class__.__name__}: {e}")
            return False
        except ccxt.BaseError as e:
            raise freqtrade_error(e, "set margin mode") from e

    def get_max_leverage(self, pair: str, stake_amount: float | None) -> float:
        # Integer, as BingX only accepts integers: freqtrade caps the strategy's leverage with this.
        return float(math.floor(super().get_max_leverage(pair, stake_amount)))

    # ------------------------------------------------------------------ leverage tiers
    def load_leverage_tiers(self) -> dict[str, list[dict]]:
        """Tiers for every linear stake-currency swap: fetched (with keys), cached, shipped or default."""
        if self.trading_mode != TradingMode.FUTURES:
            return {}
        stake = self._config["stake_currency"]
        symbols = sorted(
            s for s, m in self.markets.items()
            if self.market_is_future(m) and m.get("settle") == stake
        )
        tiers: dict[str, list[dict]] = {}
        cached = self.load_cached_leverage_tiers(stake, timedelta(days=1))
        if self._has_keys():
            tiers = dict(cached or {})
            fetched = self._fetch_tiers([s for s in self._tier_symbols(symbols) if s not in tiers])
            if fetched:
                tiers.update(fetched)
                self.cache_leverage_tiers(tiers, stake)
        elif cached:
            tiers = dict(cached)
        if not tiers:
            logger.info("Using the leverage tiers shipped with bingx-closeall-plugin (no API keys, no cache).")
            tiers = tier_source.fallback_tiers()
        for symbol in symbols:
            if symbol not in tiers:
                tiers[symbol] = tier_source.default_tiers(symbol, self.markets[symbol]["limits"]["leverage"]["max"])
        return {s: t for s, t in tiers.items() if s in self.markets}

    def _has_keys(self) -> bool:
        return bool(self._api.apiKey and self._api.secret)

    def _tier_symbols(self, symbols: list[str]) -> list[str]:
        """The whitelist's markets when the config lists them (static pairlist), else every market."""
        from freqtrade.plugins.pairlist.pairlist_helpers import expand_pairlist

        whitelist = self._config.get("exchange", {}).get("pair_whitelist") or []
        if not whitelist:
            logger.info(f"Fetching BingX leverage tiers for {len(symbols)} markets; this takes a while once a day.")
            return symbols
        return [s for s in expand_pairlist(whitelist, symbols) if s in symbols]

    def _fetch_tiers(self, symbols: list[str]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for symbol in symbols:
            try:
                raw = self._api.fetch_market_leverage_tiers(symbol)
            except ccxt.BaseError as e:
                # Not fatal: the shipped or default tiers cover this market.
                logger.warning(f"Could not fetch BingX leverage tiers for {symbol} due to "
                               f"{e.__class__.__name__}. Message: {e}")
                continue
            market_max = self.markets[symbol]["limits"]["leverage"]["max"]
            out[symbol] = tier_source.fill_max_leverage(raw, market_max)
        return out

    def parse_leverage_tier(self, tier: dict) -> Any:
        parsed = super().parse_leverage_tier(tier)
        info = tier.get("info") or {}
        if parsed.get("maintAmt") is None and info.get("maintAmount") is not None:
            parsed["maintAmt"] = float(info["maintAmount"])  # BingX's name for binance's "cum"
        if parsed.get("maxLeverage") is None:
            parsed["maxLeverage"] = tier_source.max_leverage_for(float(parsed["maintenanceMarginRate"]))
        return parsed

    # ------------------------------------------------------------------ liquidation
    def dry_run_liquidation_price(
        self,
        pair: str,
        open_rate: float,  # Entry price of position
        is_short: bool,
        amount: float,
        stake_amount: float,
        leverage: float,
        wallet_balance: float,  # Or margin balance
        open_trades: list,
    ) -> float | None:
        """
        Important: Must be fetching data from cached values as this is used by backtesting!
        BingX USDT-M (one-way), maintenance margin = notional * mmr - maintAmount of the position's tier:
            LP = (WB + cross_vars + maintAmount - side * amount * entry) / (amount * mmr - side * amount)
        side = 1 long, -1 short; WB = the position's margin (isolated) or the wallet balance (cross);
        cross_vars (cross only) = unrealised PnL - maintenance margin of the other open positions, at the
        mark price when trading, at their open rate in backtesting.
        """
        market = self.markets[pair]
        if market.get("inverse"):
            raise OperationalException("Freqtrade does not yet support inverse contracts")
        if self.trading_mode != TradingMode.FUTURES:
            raise OperationalException("Freqtrade only supports futures for leverage trading")
        mm_ratio, maint_amt = self.get_maintenance_ratio_and_amt(pair, amount * open_rate)
        maint_amt = maint_amt or 0.0
        cross_vars = 0.0
        if self.margin_mode == MarginMode.CROSS:
            others = [t for t in open_trades if t.pair != pair]
            trading = self._config.get("runmode") in (RunMode.LIVE, RunMode.DRY_RUN)
            for trade in others:
                mark = (self.fetch_funding_rate(trade.pair).get("markPrice") if trading else None) or trade.open_rate
                mmr1, amt1 = self.get_maintenance_ratio_and_amt(trade.pair, trade.amount * mark)
                cross_vars -= trade.amount * mark * mmr1 - (amt1 or 0.0)
                direction = -1 if trade.is_short else 1
                cross_vars += direction * trade.amount * (mark - trade.open_rate)
        side = -1 if is_short else 1
        return ((wallet_balance + cross_vars + maint_amt) - side * amount * open_rate) / (
            amount * mm_ratio - side * amount
        )
