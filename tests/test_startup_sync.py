"""The start-up sync's decisions on BingX's order rows (the restarts themselves: test_kill_points_orders_bot.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("freqtrade")

from bingx_closeall_plugin.freqtrade.order_tags import new_client_order_id, tag_prefix
from bingx_closeall_plugin.freqtrade.startup_sync import _exit_reason, _not_reduce_only

PREFIX = tag_prefix({"db_url": "sqlite:///trades.sqlite"})


def row(kind: str, client_id: str = "", **info: object) -> dict:
    return {"clientOrderId": client_id, "info": {"type": kind, "clientOrderId": client_id, **info}}


def test_a_close_the_bot_did_not_place_is_a_force_exit():
    assert _exit_reason(row("MARKET"), PREFIX) == "force_exit"  # closeAllPositions: no clientOrderID
    assert _exit_reason(row("MARKET", new_client_order_id(tag_prefix({"db_url": "x"}))), PREFIX) == "force_exit"
    assert _exit_reason(row("TAKE_PROFIT_MARKET"), PREFIX) == "force_exit"  # freqtrade places no take-profit


def test_the_bots_own_fills_keep_freqtrades_names():
    assert _exit_reason(row("MARKET", new_client_order_id(PREFIX)), PREFIX) == "sold_on_exchange"
    assert _exit_reason(row("STOP_MARKET"), PREFIX) == "stoploss_on_exchange"
    assert _exit_reason(row("STOP"), PREFIX) == "stoploss_on_exchange"
    assert _exit_reason(row("LIQUIDATION"), PREFIX) == "liquidation"


def test_only_an_order_bingx_shows_as_not_reduce_only_is_someone_elses_entry():
    assert _not_reduce_only(row("STOP_MARKET", reduceOnly=False))
    assert _not_reduce_only(row("STOP_MARKET", reduceOnly="false"))
    assert not _not_reduce_only(row("STOP_MARKET", reduceOnly=True))
    assert not _not_reduce_only(row("STOP_MARKET"))  # BingX's documented rows often carry no reduceOnly


def resting(order_id: str, kind: str, pair: str = "BTC/USDT:USDT", side: str = "sell", **info: object) -> dict:
    return {"id": order_id, "symbol": pair, "side": side, "timestamp": 1, "info": {"type": kind, **info}}


def test_on_a_flat_pair_only_the_bots_unsaved_stops_are_cancelled(mocker):
    """The one owner of cancelling what the database never saved (an interrupted flatten's pairs included): a
    stop or take-profit on a flat pair of the bot's goes; BingX's conditional entries and someone's
    not-reduce-only order stay, and so does everything on a pair that is not the bot's."""
    from bingx_closeall_plugin.freqtrade import startup_sync

    mocker.patch.object(startup_sync.Trade, "get_open_trades", return_value=[])
    mocker.patch.object(startup_sync.Order, "order_by_id", return_value=None)  # none of them saved
    freqtrade = mocker.Mock()
    orders = [resting("1", "STOP_MARKET"), resting("2", "TAKE_PROFIT_MARKET"), resting("3", "TRIGGER_MARKET"),
              resting("4", "TRIGGER_LIMIT"), resting("5", "STOP_MARKET", reduceOnly="false"),
              resting("6", "STOP_MARKET", pair="DOGE/USDT:USDT"), resting("7", "LIMIT")]
    report = startup_sync.SyncReport()
    startup_sync._settle_stops(freqtrade, {"BTC/USDT:USDT"}, {}, orders, report)
    assert report.stops_cancelled == ["1", "2"]
    assert [c.args for c in freqtrade.exchange.cancel_order.call_args_list] == [("1", "BTC/USDT:USDT"),
                                                                                 ("2", "BTC/USDT:USDT")]
    assert not report.unknown



def test_the_status_note_never_replaces_freqtrades_own_exit_reason():
    from types import SimpleNamespace

    from bingx_closeall_plugin.freqtrade.startup_sync import UNVERIFIED, _mark

    trade = SimpleNamespace(exit_reason=None)
    _mark(trade, "BingX holds no position and its history shows no close")
    assert trade.exit_reason == f"{UNVERIFIED}: BingX holds no position and its history shows no close"
    _mark(trade, "x" * 400)
    assert len(trade.exit_reason) == 255  # freqtrade's column
    _mark(trade, None)
    assert trade.exit_reason is None
    pending = SimpleNamespace(exit_reason="exit_signal")  # freqtrade's pending exit
    _mark(pending, "not compared at start-up")
    _mark(pending, None)
    assert pending.exit_reason == "exit_signal"
