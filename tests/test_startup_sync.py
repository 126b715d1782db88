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
