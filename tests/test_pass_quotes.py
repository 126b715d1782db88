"""A loop pass prices every trade from ONE BingX ticker read: the plugin's freqtrade exchange class, in-process over
HTTP against the simulator (150 made-up contracts beyond its table: more pairs than freqtrade's rate caches kept).

freqtrade asks for each trade's exit rate (``get_rate``: the top of the order book with ``order_book_top`` 1, the
ticker without the order book) once per trade per pass; inside a pass (``loop_iteration()``, what
``FreqtradeBot.process()`` runs in) the answers come from one ``GET /openApi/swap/v2/quote/ticker``. A live bot's
whole pass is counted in tests/test_loop_reads_bot.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("freqtrade")

from freqtrade.enums import RunMode

from bingx_closeall_plugin import to_unified
from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator, Fault
from bingx_closeall_plugin.simulator.markets import linear_contracts

import bingx_corpus as corpus
from conftest import API_KEY, API_SECRET
from freqtrade_bot import SIMULATOR_RATE_LIMIT_MS

if TYPE_CHECKING:
    from bingx_closeall_plugin.freqtrade.exchange import Bingx

EXTRA = 150
PAIRS = [to_unified(c["symbol"]) for c in linear_contracts(EXTRA)]
TICKERS, DEPTH = "swap/v2/quote/ticker", "swap/v2/quote/depth"


@pytest.fixture(scope="module")
def simulator():
    with BingXSimulator(api_key=API_KEY, api_secret=API_SECRET, extra_contracts=EXTRA) as sim:
        yield sim


def load(tmp_path: Path, base_url: str, top: int = 1, order_book: bool = True) -> Bingx:
    from freqtrade.resolvers.exchange_resolver import ExchangeResolver

    ccxt_config = {"urls": {"api": api_urls(base_url)}, "rateLimit": SIMULATOR_RATE_LIMIT_MS}
    pricing = {"price_side": "other", "use_order_book": order_book, "order_book_top": top}
    config = {
        "exchange": {"name": "bingx", "key": API_KEY, "secret": API_SECRET, "ccxt_config": ccxt_config,
                     "ccxt_async_config": ccxt_config, "pair_whitelist": PAIRS, "pair_blacklist": []},
        "stake_currency": "USDT", "dry_run": False, "runmode": RunMode.LIVE, "trading_mode": "futures",
        "margin_mode": "isolated", "datadir": tmp_path / "data", "user_data_dir": tmp_path,
        "candle_type_def": "futures", "max_open_trades": len(PAIRS),
        "entry_pricing": pricing, "exit_pricing": pricing,
    }
    return ExchangeResolver.load_exchange(config, load_leverage_tiers=False)


@pytest.fixture
def exchange(plugin, simulator: BingXSimulator, tmp_path: Path):
    simulator.reset()
    loaded = load(tmp_path, simulator.base_url)
    simulator.clear_requests()
    yield loaded
    loaded.close()


def exit_rates(exchange: Bingx, pairs: list[str]) -> dict[str, float]:
    return {pair: exchange.get_rate(pair, refresh=True, side="exit", is_short=False) for pair in pairs}


def test_a_pass_prices_every_trade_with_one_ticker_read(simulator: BingXSimulator, exchange: Bingx) -> None:
    with exchange.loop_iteration():
        rates = exit_rates(exchange, PAIRS)

    assert len(simulator.requests_to(TICKERS)) == 1 and simulator.requests_to(DEPTH) == []
    assert simulator.requests_to(TICKERS)[0].params.get("symbol") is None  # every contract, one request
    # the best bid, as BingX's order book has it (a long's exit, price_side "other")
    for pair in (PAIRS[0], PAIRS[-1]):
        assert rates[pair] == exchange.fetch_l2_order_book(pair, 5)["bids"][0][0]


def test_the_next_pass_reads_again_and_outside_a_pass_freqtrade_reads_per_pair(
        simulator: BingXSimulator, exchange: Bingx) -> None:
    symbol = linear_contracts(EXTRA)[-1]["symbol"]
    with exchange.loop_iteration():
        exit_rates(exchange, PAIRS[:3])
    simulator.set_price(symbol, 3.0)
    with exchange.loop_iteration():
        second = exit_rates(exchange, PAIRS[-1:])
    assert second[PAIRS[-1]] == pytest.approx(3.0 - 0.0001)  # this pass's read: the new price
    assert len(simulator.requests_to(TICKERS)) == 2

    exit_rates(exchange, PAIRS[:2])  # the REST API, a force entry: not the loop inside a pass
    assert len(simulator.requests_to(DEPTH)) == 2 and len(simulator.requests_to(TICKERS)) == 2


def test_without_the_order_book_a_pass_still_reads_once(plugin, simulator: BingXSimulator, tmp_path: Path) -> None:
    simulator.reset()
    exchange = load(tmp_path, simulator.base_url, order_book=False)
    try:
        simulator.clear_requests()
        with exchange.loop_iteration():
            rates = exit_rates(exchange, PAIRS)
        assert len(simulator.requests_to(TICKERS)) == 1 and simulator.requests_to(DEPTH) == []
        assert rates[PAIRS[0]] == exchange.fetch_ticker(PAIRS[0])["bid"]
    finally:
        exchange.close()


def test_a_deeper_book_is_read_per_pair_and_said_at_start_up(
        plugin, simulator: BingXSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    simulator.reset()
    with caplog.at_level(logging.WARNING):
        exchange = load(tmp_path, simulator.base_url, top=2)
    try:
        assert "exit_pricing.order_book_top is 2" in caplog.text and "one request each" in caplog.text
        simulator.clear_requests()
        with exchange.loop_iteration():
            exit_rates(exchange, PAIRS[:3])
        assert len(simulator.requests_to(DEPTH)) == 3 and simulator.requests_to(TICKERS) == []
    finally:
        exchange.close()


def test_a_read_without_bid_and_ask_or_a_failed_read_falls_back_to_per_pair_reads(
        simulator: BingXSimulator, exchange: Bingx, caplog: pytest.LogCaptureFixture) -> None:
    documented = corpus.entry("ticker", "swap-doc-example-all").response  # BingX's 2022 rows: no bid, no ask
    simulator.inject(TICKERS, Fault.body(json.dumps(documented)))
    with exchange.loop_iteration():
        rates = exit_rates(exchange, PAIRS[:2])
    assert len(simulator.requests_to(DEPTH)) == 2 and all(rates.values())

    simulator.clear_requests()
    simulator.inject(TICKERS, Fault.body(json.dumps({"code": 100500, "msg": "Internal system error"})))
    with caplog.at_level(logging.WARNING), exchange.loop_iteration():
        exit_rates(exchange, PAIRS[:3])
    assert len(simulator.requests_to(TICKERS)) == 1, "a failed read is not retried within the pass"
    assert len(simulator.requests_to(DEPTH)) == 3
    assert caplog.text.count("Reading every BingX ticker failed") == 1


def test_the_rate_caches_hold_every_pair_the_bot_trades(simulator: BingXSimulator, exchange: Bingx) -> None:
    with exchange.loop_iteration():
        exit_rates(exchange, PAIRS)
    simulator.clear_requests()
    # a force exit's confirm_trade_exit rate, the REST API's profit: cached, no request (freqtrade's caches: 100)
    for pair in PAIRS:
        assert exchange.get_rate(pair, refresh=False, side="exit", is_short=False)
    assert len(PAIRS) > 200 and simulator.requests == []


def test_a_flatten_prices_a_trade_the_caches_lack_from_the_last_pass(simulator: BingXSimulator,
                                                                  exchange: Bingx) -> None:
    with exchange.loop_iteration():
        exit_rates(exchange, PAIRS[:1])  # a pass read every contract's ticker
    exchange._exit_rate_cache.clear()  # e.g. past freqtrade's 300 s
    simulator.clear_requests()
    with exchange.flatten_running():  # confirm_trade_exit's rate, on the flatten's thread
        rates = {pair: exchange.get_rate(pair, refresh=False, side="exit", is_short=False) for pair in PAIRS}
    assert simulator.requests == [] and all(rates.values())

    exchange._exit_rate_cache.clear()
    exchange.get_rate(PAIRS[0], refresh=False, side="exit", is_short=False)  # any other caller: freqtrade's read
    assert len(simulator.requests_to(DEPTH)) == 1
