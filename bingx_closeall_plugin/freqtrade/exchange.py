"""BingX USDT-M perpetual futures for freqtrade: a subclass of freqtrade's spot-only ``Bingx``.

The ccxt objects are the plugin's own (:mod:`.ccxt_clients`: the core's
:class:`bingx_closeall_plugin.core.exchange.BingX` and its async twin as freqtrade's API objects), so every
request goes through the plugin's error table and server-clock nonce, and every URL comes from the config
(``exchange.ccxt_config.urls``); nothing here names a host.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from copy import deepcopy
from datetime import datetime
from typing import Any

import ccxt
import ccxt.async_support
from freqtrade.constants import BuySell
from freqtrade.enums import MarginMode, PriceType, RunMode, TradingMode
from freqtrade.exceptions import InvalidOrderException, OperationalException, TemporaryError
from freqtrade.exchange.bingx import Bingx as FreqtradeBingx
from freqtrade.exchange.common import retrier
from freqtrade.exchange.exchange_types import CcxtOrder, CcxtPosition, FtHas, OrderBook, Ticker
from freqtrade.misc import deep_merge_dicts
from freqtrade.util import FtTTLCache, dt_ts

from ..core.clock import known_bingx_ms
from ..core.errors import AlreadySubmitted, InvalidParameter, OrderMissing
from ..core.redaction import mask_root_handlers
from . import lost_stops, open_orders, order_tags, quotes
from .ccxt_clients import (
    CREDENTIALS,
    FreqtradeBingXAsync,
    FreqtradeBingXSync,
    check_same_client,
    freqtrade_error,
)
from .leverage import BingxLeverage
from .patches import add_log_filter, announce_active

logger = logging.getLogger(__name__)

__all__ = ["HEDGE_MODE_MESSAGE", "Bingx", "normalise_position"]

# BingX's answers to cancelling an order that already ended (filled, cancelled or expired): 109400 (generic
# "parameter invalid" since the 2025-10-16 renumbering), 109201 (same order submitted twice within 1 s),
# 80018 / 109414 / 109422 (order already filled / does not exist).
ALREADY_CLOSED_CODES = frozenset({109400, 109201, 80018, 109414, 109422})

HEDGE_MODE_MESSAGE = (
    "BingX account is in hedge mode (dual-side positions); freqtrade needs one-way mode. "
    "Switch to one-way mode with no position or open order: BingX app/web -> Perpetual futures -> "
    "settings -> Position mode -> One-way, or POST /openApi/swap/v1/positionSide/dual with "
    "dualSidePosition=false. Then start the bot again."
)

_FUNDING_PAGE = 1000  # BingX's maximum rows per income request
_FUNDING_PAGES = 20  # bound on pagination: 20 000 funding payments


def _record_masker(handler: logging.Handler, masker: logging.Filter) -> None:
    add_log_filter(handler, masker, "mask the key, the secret and signatures in everything freqtrade logs")


def normalise_position(position: CcxtPosition) -> CcxtPosition:
    """One-way mode: BingX reports ``positionSide: BOTH`` with a signed amount; freqtrade wants long/short.

    ``side`` becomes ``long`` or ``short`` from the sign, ``contracts`` (and ``notional``) become absolute.
    Positions with a side already (LONG/SHORT) are returned unchanged.
    """
    side = (position.get("side") or "").lower()
    if side not in ("", "both"):
        return position
    out = dict(position)
    contracts = position.get("contracts")
    if contracts is None:
        info = position.get("info") or {}
        amount = info.get("positionAmt")
        try:
            # no positionAmt either: no contracts, so the position gets no side below
            contracts = float(amount) if amount is not None else None
        except (TypeError, ValueError):
            contracts = None
    if not contracts:
        out["side"] = None
        return out
    out["side"] = "short" if contracts < 0 else "long"
    out["contracts"] = abs(contracts)
    if out.get("notional") is not None:
        out["notional"] = abs(out["notional"])
    return out


class Bingx(BingxLeverage):
    """BingX with USDT-M perpetual futures (one-way mode, isolated or cross margin)."""

    _ft_has: FtHas = {
        **FreqtradeBingx._ft_has,  # freqtrade's spot capabilities, unchanged
        "l2_limit_range": [5, 10, 20, 50, 100, 500, 1000],  # the only depth limits BingX accepts (109400)
        "l2_limit_range_required": True,  # no "unlimited" order book request
    }
    _ft_has_futures: FtHas = {
        "stoploss_on_exchange": True,  # reduce-only STOP_MARKET / STOP orders
        "stoploss_order_types": {"limit": "limit", "market": "market"},  # ccxt sends STOP / STOP_MARKET
        "stoploss_blocks_assets": False,  # a futures stop reserves no margin on BingX
        "stop_price_param": "stopLossPrice",  # ccxt bingx: stopLossPrice -> STOP_MARKET with stopPrice
        "stop_price_prop": "stopLossPrice",  # ccxt parses stopPrice of stop orders into stopLossPrice
        "stop_price_type_field": "workingType",  # BingX's trigger price source
        "stop_price_type_value_mapping": {
            PriceType.LAST: "CONTRACT_PRICE",
            PriceType.MARK: "MARK_PRICE",
            PriceType.INDEX: "INDEX_PRICE",
        },
        "floor_leverage": True,  # BingX takes integer leverage only
        "funding_fee_candle_limit": 1000,  # fundingRate history answers at most 1000 rows
        "exchange_has_overrides": {
            # tiers come from tiers.py (ccxt's have maxLeverage None); keep freqtrade off its async loop
            "fetchLeverageTiers": False,
        },
    }

    _supported_trading_mode_margin_pairs: list[tuple[TradingMode, MarginMode]] = [
        (TradingMode.SPOT, MarginMode.NONE),
        (TradingMode.FUTURES, MarginMode.ISOLATED),
        (TradingMode.FUTURES, MarginMode.CROSS),
    ]

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        # ccxt logs every request at DEBUG with its signed URL and key header, and its errors carry the
        # URL into freqtrade's warnings, its /logs endpoint and Telegram: mask them in every handler,
        # which freqtrade has configured by now.
        exchange_config = config.get("exchange", {}) if isinstance(config, dict) else {}
        mask_root_handlers(str(exchange_config.get("key") or ""), str(exchange_config.get("secret") or ""),
                           add_filter=_record_masker)
        announce_active()  # freqtrade's logging is set up by now: the operator sees that the plugin runs
        # the sync client's construction config, for flatten_api(); and that client, built on first use
        self._sync_ccxt_config: dict[str, Any] | None = None
        self._flatten_api: FreqtradeBingXSync | None = None
        self._flatten_api_lock = threading.Lock()
        # freqtrade's per-trade order and stop queries, from one open-orders read per loop iteration
        self._open_orders = open_orders.OpenOrderReads(self._read_open_orders)
        # and its per-pair price reads, from one read of every contract's ticker per loop pass
        self._quotes = quotes.PassQuotes(self._read_tickers, self._open_orders.in_iteration)
        self._flattens = 0  # flattens under way in this process (see get_rate)
        self._flatten_threads: set[int] = set()  # the threads running them (see fetch_l2_order_book)
        self._flattens_lock = threading.Lock()
        # this bot's clientOrderID prefix (order_tags): the restart tells its unsaved entries from others' orders
        self.order_tag_prefix = order_tags.tag_prefix(config if isinstance(config, dict) else {})
        super().__init__(config, *args, **kwargs)
        self._size_rate_caches()
        if self._one_read_loop():
            for setting in quotes.per_pair_settings(self._config):
                logger.warning(f"{setting}: freqtrade reads that pair's order book on its own for every trade, every "
                               "loop pass (one request each). With order_book_top 1 one BingX ticker read per pass "
                               "prices every trade.")

    def _size_rate_caches(self) -> None:
        """freqtrade's exit and entry rate caches, sized to the pairs the bot can trade (freqtrade's: 100 pairs).

        Past 100 open trades freqtrade's caches drop rates the bot still needs: every ``get_rate(refresh=False)``
        (a force exit's ``confirm_trade_exit`` rate, the REST API's profit) became one order-book read per trade
        behind the bot's throttle, 200 trades about 10 s. Same time to live (300 s) as freqtrade's.
        """
        whitelist = self._config.get("exchange", {}).get("pair_whitelist") or []
        max_trades = self._config.get("max_open_trades")
        size = max(100, len(self.markets or {}), len(whitelist),
                   int(max_trades) if isinstance(max_trades, int) and max_trades > 0 else 0)
        with self._cache_lock:
            for name in ("_exit_rate_cache", "_entry_rate_cache"):
                old = getattr(self, name)
                if not isinstance(old, FtTTLCache):
                    raise OperationalException(f"freqtrade's Exchange.{name} is not a FtTTLCache: unsupported")
                if old.maxsize < size:
                    new = FtTTLCache(maxsize=size, ttl=old.ttl)
                    new.update(old)
                    setattr(self, name, new)

    # ------------------------------------------------------------------ ccxt objects
    def _init_ccxt(self, exchange_config: dict[str, Any], sync: bool, ccxt_kwargs: dict[str, Any]) -> ccxt.Exchange:
        # freqtrade builds the ccxt object by name (getattr(ccxt, "bingx")(config)) with no hook for the class.
        # Its object is built first (its checks, its demo-trading switch), then the plugin's class is built
        # from the same config: freqtrade's credentials as it read them, its ccxt config merged as it merges
        # it. No object changes class; that freqtrade's object and ours agree is checked below, so a freqtrade
        # that builds it differently fails loudly here. The async one is not ccxt.pro's: freqtrade uses no
        # websockets for bingx (ws_enabled is False).
        stock = super()._init_ccxt(exchange_config, sync, ccxt_kwargs)
        expected = ccxt.bingx if sync else ccxt.async_support.bingx
        if not isinstance(stock, expected):
            raise OperationalException(f"expected a ccxt bingx object from freqtrade, got {type(stock).__name__}")
        config = deep_merge_dicts(self._ccxt_params, deepcopy(ccxt_kwargs)) if self._ccxt_params else deepcopy(
            ccxt_kwargs or {})
        config.update({key: getattr(stock, key, None) for key in CREDENTIALS})
        api = (FreqtradeBingXSync if sync else FreqtradeBingXAsync)(deepcopy(config))
        if (stock.options or {}).get("enableDemoTrading"):
            api.enable_demo_trading(True)
        check_same_client(stock, api, config)
        if sync:
            self._sync_ccxt_config = config
        return api

    def flatten_api(self) -> FreqtradeBingXSync:
        """The sync ccxt client for flattens: the bot's, but with ccxt's throttle off, and its own.

        Same class, credentials, URLs and options as the bot's sync client (``self._api``), built once on
        first use. Each call shares the bot's current markets with it (no request: freqtrade reloads them into
        new objects every hour) and its ``options`` dict itself, as freqtrade shares one between its sync and
        async clients: ``options['timeDifference']`` is one value, so a clock resync by the flatten helps the
        bot and the other way round. ``enableRateLimit`` is False here only: the bot's own requests, on its
        client, stay throttled while a flatten runs beside them.
        """
        with self._flatten_api_lock:
            bot = self._api
            if self._flatten_api is None:
                if self._sync_ccxt_config is None or not isinstance(bot, FreqtradeBingXSync):
                    raise OperationalException("the bot's ccxt client is not the plugin's: no flatten client")
                client = FreqtradeBingXSync({**deepcopy(self._sync_ccxt_config), "enableRateLimit": False})
                if bot.options.get("enableDemoTrading"):
                    client.enable_demo_trading(True)
                self._flatten_api = client
            client = self._flatten_api
            client.options = bot.options
            if bot.markets and client.markets is not bot.markets:
                client.set_markets_from_exchange(bot)
            return client

    # ------------------------------------------------------------------ one read per loop iteration
    def _one_read_loop(self) -> bool:
        return self.trading_mode == TradingMode.FUTURES and not self._config["dry_run"] and open_orders.enabled()

    def loop_iteration(self) -> Any:
        """Around one ``FreqtradeBot.process()`` (install.PATCHES): its order queries share one open-orders read,
        its price reads one ticker read (:mod:`.quotes`).

        Live futures only, and not with ``BINGX_ONE_READ_LOOP=0``; otherwise freqtrade's own queries.
        """
        if not self._one_read_loop():
            return nullcontext()
        return self._pass()

    @contextmanager
    def _pass(self) -> Iterator[None]:
        self._quotes.new_pass()
        try:
            with self._open_orders.iteration():
                yield
        finally:
            self._quotes.new_pass()

    def _read_tickers(self) -> dict[str, Any]:
        """Every USDT-M contract's ticker: one public ``GET swap/v2/quote/ticker``, no symbol (ccxt's fetch_tickers)."""
        return self._api.fetch_tickers(None, {"type": "swap", "subType": "linear"})

    def _pass_ticker(self, pair: str) -> Ticker | None:
        if not self._one_read_loop():
            return None
        ticker = self._quotes.ticker(pair, flattening=threading.get_ident() in self._flatten_threads)
        return ticker if ticker is not None and ticker.get("bid") and ticker.get("ask") else None

    def fetch_l2_order_book(self, pair: str, limit: int = 100) -> OrderBook:
        """The top of ``pair``'s book from the pass's one ticker read when only the top is asked for
        (``order_book_top`` 1); any deeper book, or a pair the read lacks, from BingX as freqtrade reads it."""
        if limit == 1:
            ticker = self._pass_ticker(pair)
            book = quotes.book_top(ticker) if ticker is not None else None
            if book is not None:
                return book
        return super().fetch_l2_order_book(pair, limit)

    def fetch_ticker(self, pair: str) -> Ticker:
        """``pair``'s ticker from the pass's one ticker read; a pair the read lacks: from BingX, as freqtrade."""
        ticker = self._pass_ticker(pair)
        return ticker if ticker is not None else super().fetch_ticker(pair)

    def _read_open_orders(self) -> list[CcxtOrder]:
        """Every open USDT-M order of the account: one signed ``GET swap/v2/trade/openOrders``, no symbol."""
        orders = self._api.fetch_open_orders(None, None, None, {"type": "swap", "subType": "linear"})
        self._log_exchange_response("fetch_open_orders", orders)
        return [self._order_contracts_to_amount(order) for order in orders]

    def fetch_order(self, order_id: str, pair: str, params: dict | None = None) -> CcxtOrder:
        """An order the iteration's open-orders read lists comes from it; any other from BingX, as freqtrade asks."""
        if not params and not self._config["dry_run"]:
            order = self._open_orders.get(order_id)
            if order is not None and order.get("symbol") == pair:
                return order
        return super().fetch_order(order_id, pair, params)

    def create_stoploss(self, pair: str, amount: float, stop_price: float, order_types: dict, side: BuySell,
                        leverage: float) -> CcxtOrder:
        """freqtrade's, and after a lost answer the stop BingX has, if it has it (:mod:`.lost_stops`)."""
        since_ms = known_bingx_ms(self._api)
        try:
            return super().create_stoploss(pair, amount, stop_price, order_types, side, leverage)
        except TemporaryError as e:
            found = None if self._config["dry_run"] else lost_stops.look_up(self, pair, side, stop_price, amount,
                                                                           since_ms, e)
            if found is None:
                raise
            return found

    @contextmanager
    def flatten_running(self) -> Iterator[None]:
        """Around a flatten (:class:`~.flatten.Flattener`): the loop stops refreshing prices per trade meanwhile."""
        with self._flattens_lock:
            self._flattens += 1
            self._flatten_threads.add(threading.get_ident())
        try:
            yield
        finally:
            with self._flattens_lock:
                self._flattens -= 1
                self._flatten_threads.discard(threading.get_ident())

    def get_rate(self, pair: str, refresh: bool, side: Any, is_short: bool, order_book: Any = None,
                 ticker: Any = None) -> float:
        """freqtrade's rate; while a flatten runs, the loop's per-trade refresh takes the cached rate instead.

        The loop refreshes every trade's exit rate (one order-book request each, throttled) while it holds the
        exit lock, which the flatten's bookkeeping waits for: at 50 trades seconds between BingX's answer to the
        close and the trades closed in the database, spent pricing trades the flatten is closing at market.
        The rate freqtrade cached (at most one iteration old) answers instead; with none cached it is fetched.
        """
        if refresh and self._flattens and self._open_orders.in_iteration():
            refresh = False
        return super().get_rate(pair, refresh, side, is_short, order_book, ticker)

    # ------------------------------------------------------------------ account setup
    @retrier
    def additional_exchange_init(self) -> None:
        """Refuse a hedge-mode account before the bot trades: freqtrade's orders are one-way orders."""
        super().additional_exchange_init()
        if (
            self.trading_mode != TradingMode.FUTURES
            or self._config["dry_run"]
            or self._config.get("runmode") != RunMode.LIVE
        ):
            return
        try:
            mode = self._api.fetch_position_mode()
            self._log_exchange_response("fetch_position_mode", mode)
        except ccxt.BaseError as e:
            raise freqtrade_error(e, "read the BingX position mode") from e
        if mode.get("hedged"):
            raise OperationalException(HEDGE_MODE_MESSAGE)
        logger.info("BingX position mode: one-way.")

    # ------------------------------------------------------------------ orders
    def _get_params(self, side: BuySell, ordertype: str, leverage: float, reduceOnly: bool,  # noqa: N803 - freqtrade's
                    time_in_force: str = "GTC") -> dict:
        """freqtrade's order parameters, and a clientOrderID naming this bot (:mod:`.order_tags`).

        Entries and exits only: BingX takes a clientOrderID on LIMIT and MARKET orders, not on stops, which
        freqtrade builds with ``_get_stop_params``.
        """
        params = super()._get_params(side, ordertype, leverage, reduceOnly, time_in_force)
        if self.trading_mode == TradingMode.FUTURES and ordertype in order_tags.TAGGED_TYPES:
            params.setdefault("clientOrderId", order_tags.new_client_order_id(self.order_tag_prefix))
        return params

    def fetch_orders(self, pair: str, since: datetime, params: dict | None = None) -> list[CcxtOrder]:
        """freqtrade's order list, each conditional order with its trigger as its price (order_tags).

        freqtrade's ``handle_onexchange_order`` saves every order it did not know; a cancelled STOP_MARKET
        (price None in ccxt) failed that commit on ``orders.ft_price`` and left the trade open.
        """
        return [order_tags.with_trigger_price(order) for order in super().fetch_orders(pair, since, params)]

    def cancel_order(self, order_id: str, pair: str, params: dict | None = None) -> dict[str, Any]:
        """Cancel; an order BingX says already ended is fetched and returned instead of failing the bot."""
        self._open_orders.forget(order_id)  # whatever BingX answers, the loop's read no longer speaks for it
        try:
            return super().cancel_order(order_id, pair, params)
        except (InvalidOrderException, TemporaryError) as e:
            cause = e.__cause__
            if not (
                isinstance(cause, (OrderMissing, AlreadySubmitted, InvalidParameter))
                and cause.code in ALREADY_CLOSED_CODES
            ):
                raise
            logger.info(f"BingX says order {order_id} for {pair} already ended ({cause.code}); fetching it.")
            try:
                order = self.fetch_order(order_id, pair)
            except (InvalidOrderException, TemporaryError):
                raise e from cause
            if order.get("status") == "open":
                raise  # BingX refused to cancel an order that is still open: a real failure
            return order

    def fetch_positions(self, pair: str | None = None, params: dict | None = None) -> list[CcxtPosition]:
        return [normalise_position(p) for p in super().fetch_positions(pair, params)]

    # ------------------------------------------------------------------ funding fees
    def _get_funding_fees_from_exchange(self, pair: str, since: datetime | int) -> float:
        """Sum of the FUNDING_FEE income BingX booked for ``pair`` since ``since`` (signed, in USDT)."""
        since_ms = dt_ts(since) if isinstance(since, datetime) else int(since)
        total = 0.0
        seen: set[str] = set()
        try:
            for _ in range(_FUNDING_PAGES):
                rows = self._api.fetch_funding_history(symbol=pair, since=since_ms, limit=_FUNDING_PAGE)
                self._log_exchange_response("funding_history", rows, add_info=f"pair: {pair}, since: {since_ms}")
                for row in rows:
                    key = row.get("id") or f"{row.get('timestamp')}:{row.get('amount')}"
                    if key not in seen:
                        seen.add(key)
                        total += float(row.get("amount") or 0.0)
                if len(rows) < _FUNDING_PAGE:
                    break
                since_ms = max(int(row["timestamp"]) for row in rows) + 1
            return total
        except ccxt.BaseError as e:
            raise freqtrade_error(e, "get funding fees") from e

