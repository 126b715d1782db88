"""The corpus of real BingX answers (``tests/fixtures/bingx/``) replayed to the plugin's freqtrade exchange class,
in-process over HTTP: its order, position and fill parsing, and what the books take from a fill (price, fee)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("freqtrade")

from freqtrade.enums import RunMode

from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator, Fault

import bingx_corpus as corpus
from conftest import API_KEY, API_SECRET
from freqtrade_bot import SIMULATOR_RATE_LIMIT_MS

if TYPE_CHECKING:
    from bingx_closeall_plugin.freqtrade.exchange import Bingx

# The plugin's freqtrade layer is imported by the fixtures that use it (conftest's ``plugin`` fixture says why).

LTC = "LTC/USDT:USDT"


def _config(tmp_path: Path, base_url: str) -> dict:
    ccxt_config = {"urls": {"api": api_urls(base_url)}, "rateLimit": SIMULATOR_RATE_LIMIT_MS}
    return {
        "exchange": {"name": "bingx", "key": API_KEY, "secret": API_SECRET, "ccxt_config": ccxt_config,
                     "ccxt_async_config": ccxt_config, "pair_whitelist": [LTC], "pair_blacklist": []},
        "stake_currency": "USDT", "dry_run": False, "runmode": RunMode.LIVE, "trading_mode": "futures",
        "margin_mode": "isolated", "datadir": tmp_path / "data", "user_data_dir": tmp_path,
        "candle_type_def": "futures",
        "entry_pricing": {"price_side": "other", "use_order_book": False},
        "exit_pricing": {"price_side": "other", "use_order_book": False},
    }


@pytest.fixture
def exchange(plugin, simulator: BingXSimulator, tmp_path: Path):
    from freqtrade.resolvers.exchange_resolver import ExchangeResolver

    simulator.reset()
    loaded = ExchangeResolver.load_exchange(_config(tmp_path, simulator.base_url), load_leverage_tiers=False)
    yield loaded
    loaded.close()


def replay(sim: BingXSimulator, suffix: str, body: object) -> None:
    sim.inject(suffix, Fault.body(json.dumps(body)))


def test_resting_stop_row_gives_freqtrade_its_trigger(simulator: BingXSimulator, exchange: Bingx) -> None:
    """The recorded one-way STOP_MARKET row: price "0", the trigger in stopPrice.

    freqtrade reads a stop's trigger from ``stop_price_prop`` (stopLossPrice): it is there, exact. The row has no
    price (ccxt: None), which is what a restart that adopts an unknown stop must not store as ``ft_price``.
    """
    replay(simulator, "swap/v2/trade/order", corpus.entry("order", "swap-stop-market-new").response)
    order = exchange.fetch_order("1792481956836519936", LTC)
    assert order["id"] == "1792481956836519936" and order["status"] == "open"
    assert order["type"] == "market" and order["side"] == "sell" and order["reduceOnly"] is True
    assert order["stopLossPrice"] == 20.0 and order["price"] is None
    assert order["amount"] == pytest.approx(0.1) and order["filled"] == 0
    assert exchange.stoploss_adjust(21.0, order, "sell") and not exchange.stoploss_adjust(19.0, order, "sell")


def test_filled_order_row_gives_the_books_price_and_fee(simulator: BingXSimulator, exchange: Bingx) -> None:
    replay(simulator, "swap/v2/trade/order", corpus.entry("order", "swap-hedge-long-market-filled").response)
    order = exchange.fetch_order("1770683446830788608", LTC)
    assert order["id"] == "1770683446830788608" and order["status"] == "closed"
    assert order["average"] == pytest.approx(83.71) and order["filled"] == pytest.approx(0.1)
    cost, currency, rate = exchange.extract_cost_curr_rate(order["fee"], order["symbol"], order["cost"],
                                                           order["filled"])
    assert cost == pytest.approx(0.004186) and currency == "USDT"
    assert rate == pytest.approx(0.004186 / (0.1 * 83.71), rel=1e-6)  # BingX's taker 0.05 %


def test_recorded_history_feeds_the_reconcile(plugin, simulator: BingXSimulator, exchange: Bingx) -> None:
    """The books attach BingX's fills from one allOrders read (reconcile.read_history), parsed by ccxt."""
    from bingx_closeall_plugin.freqtrade import reconcile

    replay(simulator, "swap/v2/trade/allOrders", corpus.entry("all_orders", "swap-hedge-short-filled").response)
    (order,) = reconcile.read_history(exchange._api, 1701251300000)
    assert order["id"] == "1729799444544843776" and order["status"] == "closed" and order["side"] == "buy"
    assert order["average"] == pytest.approx(70.17) and order["filled"] == pytest.approx(0.1)
    assert order["fee"]["cost"] == pytest.approx(0.003509) and order["timestamp"] == 1701251300000


@pytest.mark.parametrize(("side", "amount", "expected"), [("LONG", "0.1", "long"), ("BOTH", "-0.1", "short"),
                                                         ("BOTH", "0.1", "long")],
                         ids=["hedge-long-recorded", "one-way-short-derived", "one-way-long-derived"])
def test_positions_rows(simulator: BingXSimulator, exchange: Bingx, side: str, amount: str, expected: str) -> None:
    body = copy.deepcopy(corpus.entry("positions", "swap-hedge-long").response)
    body["data"][0].update(positionSide=side, positionAmt=amount, availableAmt=amount)
    replay(simulator, "swap/v2/user/positions", body)
    (position,) = exchange.fetch_positions(LTC)
    assert position["side"] == expected and position["contracts"] == pytest.approx(0.1)
    assert position["entryPrice"] == pytest.approx(95.61) and position["id"] == "1773289330136281088"


def test_funding_fees_from_recorded_income(simulator: BingXSimulator, exchange: Bingx) -> None:
    replay(simulator, "swap/v2/user/income", corpus.entry("income", "swap-funding-fees").response)
    assert exchange._get_funding_fees_from_exchange(LTC, 1769000000000) == pytest.approx(-0.00065675)


def test_one_read_of_open_orders_keeps_ids_exact(simulator: BingXSimulator, exchange: Bingx) -> None:
    entry = corpus.entry("open_orders", "swap-doc-two-trigger-orders")
    body = copy.deepcopy(entry.response)
    for row in body["data"]["orders"]:
        row["symbol"] = "LTC-USDT"  # the documented rows are LINK's; the bot trades what its whitelist loads
    replay(simulator, "swap/v2/trade/openOrders", body)
    orders = {o["id"]: o for o in exchange._read_open_orders()}
    assert sorted(orders) == ["1597783835095859200", "1597783850786750464"]
    assert orders["1597783850786750464"]["amount"] == pytest.approx(5.0)
    assert orders["1597783835095859200"]["triggerPrice"] == pytest.approx(9.5)
