"""The start-up sync's decisions on BingX's order rows (the restarts themselves: test_kill_points_orders_bot.py).

The modules come from fixtures, not imports at the top: importing the plugin's freqtrade layer installs it and
costs about 3 s of CPU, which the one worker running the in-process freqtrade modules pays (tests/conftest.py).
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest


@pytest.fixture
def sync(plugin: Any) -> Any:
    return importlib.import_module("bingx_closeall_plugin.freqtrade.startup_sync")


@pytest.fixture
def settle(plugin: Any) -> Any:
    return importlib.import_module("bingx_closeall_plugin.freqtrade.settle")


@pytest.fixture
def tags(plugin: Any) -> Any:
    return importlib.import_module("bingx_closeall_plugin.freqtrade.order_tags")


@pytest.fixture
def prefix(tags: Any) -> str:
    return tags.tag_prefix({"db_url": "sqlite:///trades.sqlite"})


def row(kind: str, client_id: str = "", **info: object) -> dict:
    return {"clientOrderId": client_id, "info": {"type": kind, "clientOrderId": client_id, **info}}


def test_a_close_the_bot_did_not_place_is_a_force_exit(sync, tags, prefix):
    assert sync._exit_reason(row("MARKET"), prefix) == "force_exit"  # closeAllPositions: no clientOrderID
    another_bots = tags.new_client_order_id(tags.tag_prefix({"db_url": "x"}))
    assert sync._exit_reason(row("MARKET", another_bots), prefix) == "force_exit"
    assert sync._exit_reason(row("TAKE_PROFIT_MARKET"), prefix) == "force_exit"  # freqtrade places no take-profit


def test_the_bots_own_fills_keep_freqtrades_names(sync, tags, prefix):
    assert sync._exit_reason(row("MARKET", tags.new_client_order_id(prefix)), prefix) == "sold_on_exchange"
    assert sync._exit_reason(row("STOP_MARKET"), prefix) == "stoploss_on_exchange"
    assert sync._exit_reason(row("STOP"), prefix) == "stoploss_on_exchange"
    assert sync._exit_reason(row("LIQUIDATION"), prefix) == "liquidation"


def test_only_an_order_bingx_shows_as_not_reduce_only_is_someone_elses_entry(settle):
    assert settle.not_reduce_only(row("STOP_MARKET", reduceOnly=False))
    assert settle.not_reduce_only(row("STOP_MARKET", reduceOnly="false"))
    assert not settle.not_reduce_only(row("STOP_MARKET", reduceOnly=True))
    assert not settle.not_reduce_only(row("STOP_MARKET"))  # BingX's documented rows often carry no reduceOnly


def resting(order_id: str, kind: str, pair: str = "BTC/USDT:USDT", side: str = "sell", **info: object) -> dict:
    return {"id": order_id, "symbol": pair, "side": side, "timestamp": 1, "info": {"type": kind, **info}}


def test_on_a_flat_pair_only_the_bots_unsaved_stops_are_cancelled(sync, mocker):
    """The one owner of cancelling what the database never saved (an interrupted flatten's pairs included): a
    stop or take-profit on a flat pair of the bot's goes; BingX's conditional entries and someone's
    not-reduce-only order stay, and so does everything on a pair that is not the bot's."""
    mocker.patch.object(sync.Trade, "get_open_trades", return_value=[])
    mocker.patch.object(sync.Order, "order_by_id", return_value=None)  # none of them saved
    freqtrade = mocker.Mock()
    orders = [resting("1", "STOP_MARKET"), resting("2", "TAKE_PROFIT_MARKET"), resting("3", "TRIGGER_MARKET"),
              resting("4", "TRIGGER_LIMIT"), resting("5", "STOP_MARKET", reduceOnly="false"),
              resting("6", "STOP_MARKET", pair="DOGE/USDT:USDT"), resting("7", "LIMIT")]
    report = sync.SyncReport()
    sync._settle_stops(freqtrade, {"BTC/USDT:USDT"}, {}, orders, report)
    assert report.stops_cancelled == ["1", "2"]
    assert [c.args for c in freqtrade.exchange.cancel_order.call_args_list] == [("1", "BTC/USDT:USDT"),
                                                                                 ("2", "BTC/USDT:USDT")]
    assert not report.unknown


def test_the_status_note_never_replaces_freqtrades_own_exit_reason(sync):
    trade = SimpleNamespace(exit_reason=None)
    sync._mark(trade, "BingX holds no position and its history shows no close")
    assert trade.exit_reason == f"{sync.UNVERIFIED}: BingX holds no position and its history shows no close"
    sync._mark(trade, "x" * 400)
    assert len(trade.exit_reason) == 255  # freqtrade's column
    sync._mark(trade, None)
    assert trade.exit_reason is None
    pending = SimpleNamespace(exit_reason="exit_signal")  # freqtrade's pending exit
    sync._mark(pending, "not compared at start-up")
    sync._mark(pending, None)
    assert pending.exit_reason == "exit_signal"
