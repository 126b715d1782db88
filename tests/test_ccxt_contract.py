"""The ccxt subclass keeps ccxt's unified contract (issue 11 §8): what close_all_positions() and
close_position() return is what ccxt's bingx returns in shape (checked by ccxt's own structure validators,
shipped in the ccxt package), and also carries BingX's whole answer."""

from __future__ import annotations

import asyncio

import ccxt
import pytest

from bingx_closeall_plugin import AsyncBingX, CloseAllResult, close_all_positions
from bingx_closeall_plugin.core.exchange import ClosedOrder, ClosedPositions

from conftest import make_client

check_position = pytest.importorskip("ccxt.test.exchange.base.test_position").test_position
check_order = pytest.importorskip("ccxt.test.exchange.base.test_order").test_order

# ccxt's validators (named check_ here: pytest would collect test_ names as tests).
# What a closeAllPositions answer cannot say (it holds order ids only): ccxt's own bingx leaves these empty too.
NOT_IN_A_CLOSE_ANSWER = dict.fromkeys((
    "symbol", "timestamp", "datetime", "leverage", "initialMargin", "initialMarginPercentage", "maintenanceMargin",
    "maintenanceMarginPercentage", "entryPrice", "notional", "unrealizedPnl", "contracts", "contractSize",
    "marginRatio", "liquidationPrice", "markPrice", "positionMargin", "collateral", "marginMode", "side", "percentage",
), True)


def seed(sim):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "SHORT", 0.1)


def test_close_all_positions_is_a_list_of_ccxt_position_structures_carrying_everything(sim, exchange):
    seed(sim)

    closed = exchange.close_all_positions()

    assert isinstance(closed, list) and isinstance(closed, ClosedPositions) and len(closed) == 2
    for entry in closed:  # generic ccxt code: iterate, read each structure's info
        check_position(exchange, NOT_IN_A_CLOSE_ANSWER, "closeAllPositions", entry, None, exchange.milliseconds())
        assert entry["info"] == {"positionId": int(entry["id"])}  # BingX's int id, as ccxt's own info keeps it
    assert [entry["id"] for entry in closed] == closed.success and all(i.isdigit() for i in closed.success)
    assert closed.failed == [] and isinstance(closed.raw, dict) and isinstance(closed.result, CloseAllResult)
    assert sim.positions() == []


def test_the_same_validators_pass_over_ccxts_own_answer(sim):
    """The skipped fields are the ones ccxt's bingx itself cannot fill from this answer."""
    plain = make_client(ccxt.bingx, sim)
    seed(sim)

    for entry in plain.close_all_positions():
        check_position(plain, NOT_IN_A_CLOSE_ANSWER, "closeAllPositions", entry, None, plain.milliseconds())


def test_close_position_is_a_ccxt_order_structure_with_the_close_orders_id(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)

    order = exchange.close_position("BTC/USDT:USDT")

    assert isinstance(order, dict) and isinstance(order, ClosedOrder)
    check_order(exchange, {}, "closePosition", order, "BTC/USDT:USDT", exchange.milliseconds())  # nothing skipped
    assert order["id"] == order.success[0] and order["symbol"] == "BTC/USDT:USDT" and order["info"]["success"]
    assert order.symbol == "BTC-USDT" and order.failed == []
    assert sim.positions() == []


def test_the_lossless_result_by_the_plugins_method_and_function(sim, exchange):
    seed(sim)
    by_method = exchange.closeall()
    seed(sim)
    by_function = close_all_positions(exchange)

    for result in (by_method, by_function):
        assert type(result) is CloseAllResult and len(result.success) == 2 and result.failed == []


def test_the_async_twin_keeps_the_same_shapes(sim):
    async def scenario():
        client = make_client(AsyncBingX, sim)
        try:
            seed(sim)
            closed = await client.close_all_positions()
            sim.seed_position("BTC-USDT", "LONG", 0.01)
            order = await client.close_position("BTC/USDT:USDT")
            seed(sim)
            lossless = await client.closeall()
            return client, closed, order, lossless
        finally:
            await client.close()

    client, closed, order, lossless = asyncio.run(scenario())
    assert isinstance(closed, ClosedPositions) and len(closed) == 2 and len(closed.success) == 2
    check_order(client, {}, "closePosition", order, "BTC/USDT:USDT", client.milliseconds())
    assert type(lossless) is CloseAllResult and len(lossless.success) == 2


def test_the_order_validator_is_not_vacuous(sim):
    """ccxt's own close_position answer has no order id; the validator our answer passes refuses it."""
    plain = make_client(ccxt.bingx, sim)
    sim.seed_position("BTC-USDT", "LONG", 0.01)

    with pytest.raises(AssertionError, match='"id" key is expected to have a value'):
        check_order(plain, {}, "closePosition", plain.close_position("BTC/USDT:USDT"), "BTC/USDT:USDT",
                    plain.milliseconds())


def test_the_position_structures_equal_ccxts_own_info_included(sim, exchange):
    """Field for field, info included, what ccxt's bingx makes of the same answer; the additions are beside."""
    plain = make_client(ccxt.bingx, sim)
    seed(sim)

    ours = exchange.close_all_positions()

    theirs = [plain.parse_position({"positionId": order_id}) for order_id in ours.raw["data"]["success"]]
    assert list(ours) == theirs and [type(p["info"]["positionId"]) for p in ours] == [int, int]
    assert ours.success == [p["id"] for p in theirs]
