"""The lossless close-all call, through real HTTP to the simulator with the real ccxt client."""

from __future__ import annotations

import asyncio

import ccxt
import ccxt.async_support
import pytest

from bingx_closeall_plugin import (
    AsyncBingX,
    CloseAllResult,
    InvalidInput,
    InvalidSymbol,
    close_all_positions,
    close_all_positions_async,
)
from bingx_closeall_plugin.simulator import Fault

from conftest import make_client

CLOSE = "trade/closeAllPositions"


def test_closes_every_position_in_one_request_that_is_the_first_sent(sim, exchange):
    for symbol, side in (("BTC-USDT", "LONG"), ("ETH-USDT", "SHORT"), ("SOL-USDT", "LONG")):
        sim.seed_position(symbol, side, 1 if symbol == "SOL-USDT" else 0.01)

    result = close_all_positions(exchange)

    assert sim.positions() == []
    assert [r.path for r in sim.requests] == ["/openApi/swap/v2/trade/closeAllPositions"]
    assert len(result.success) == 3 and result.failed == [] and result.symbol is None
    assert not result.already_flat and result.requests == 1


def test_order_ids_are_exact_strings_beyond_float_precision(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)

    result = close_all_positions(exchange)

    raw_ids = result.raw["data"]["success"]
    assert all(isinstance(i, int) and i > 2**53 for i in raw_ids)
    assert result.success == [str(i) for i in raw_ids]
    filled = {str(o["orderId"]) for o in sim.orders() if o["status"] == "FILLED"}
    assert set(result.success) <= filled


@pytest.mark.parametrize("symbol", ["BTC/USDT:USDT", "BTC-USDT"])
def test_symbol_limits_the_close_to_that_symbol(sim, exchange, symbol):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "LONG", 0.1)

    result = close_all_positions(exchange, symbol)

    assert result.symbol == "BTC-USDT"
    assert [p["symbol"] for p in sim.positions()] == ["ETH-USDT"]
    assert sim.requests_to(CLOSE)[0].params["symbol"] == "BTC-USDT"


def test_recv_window_is_sent_as_recvWindow(sim, exchange):  # noqa: N802 - BingX's parameter name
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    close_all_positions(exchange, recv_window=15000)
    assert sim.requests_to(CLOSE)[0].params["recvWindow"] == "15000"


def test_failed_entries_are_kept_as_exact_strings(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "LONG", 0.1)
    eth_position_id = sim.positions("ETH-USDT")[0]["positionId"]
    sim.inject(CLOSE, Fault.failed(["ETH-USDT"]))

    result = close_all_positions(exchange)

    assert result.failed == [str(eth_position_id)]
    assert len(result.success) == 1
    assert [p["symbol"] for p in sim.positions()] == ["ETH-USDT"]


def test_nothing_open_is_an_empty_success(sim, exchange):
    result = close_all_positions(exchange)
    assert result.success == [] and result.failed == [] and result.already_flat and not result.verified_flat


def test_no_position_for_the_symbol_means_already_flat(sim, exchange):
    result = close_all_positions(exchange, "BTC-USDT")
    assert result.already_flat and not result.verified_flat and result.success == []
    assert sim.requests_to(CLOSE)[0].code == 101205


def test_coin_m_symbol_goes_to_the_coin_m_endpoint(sim, exchange):
    sim.seed_position("BTC-USD", "LONG", 2)
    sim.seed_position("BTC-USDT", "LONG", 0.01)

    result = close_all_positions(exchange, "BTC/USD:BTC")

    assert len(result.success) == 1
    assert [r.path for r in sim.requests] == ["/openApi/cswap/v1/trade/closeAllPositions"]
    assert [p["symbol"] for p in sim.positions()] == ["BTC-USDT"]


@pytest.mark.parametrize(
    "symbol, message",
    [
        ("btc-usdt", "capital letters"),
        ("BTC/USDT", "spot symbol"),
        ("BTCUSDT", "malformed"),
        ("BTC/USDT:BTC", "settles in USDT"),
        ("BTC-EUR", "not EUR"),
        ("", "empty"),
    ],
)
def test_bad_symbols_are_refused_before_any_request(sim, exchange, symbol, message):
    with pytest.raises(InvalidSymbol, match=message):
        close_all_positions(exchange, symbol)
    assert sim.requests == []


@pytest.mark.parametrize("recv_window", [0, -5, 60001, 1.5, "5000", True])
def test_bad_recv_window_is_refused_before_any_request(sim, exchange, recv_window):
    with pytest.raises(InvalidInput, match="recv_window"):
        close_all_positions(exchange, recv_window=recv_window)
    assert sim.requests == []


def test_unlisted_symbol_is_bingxs_answer(sim, exchange):
    with pytest.raises(ccxt.BadSymbol, match="symbol not exist"):
        close_all_positions(exchange, "NOPE-USDT")


def test_subclass_close_all_positions_returns_the_full_result(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "SHORT", 0.1)

    everything = exchange.close_all_positions()
    assert isinstance(everything.result, CloseAllResult) and len(everything.success) == 2

    sim.seed_position("BTC-USDT", "LONG", 0.01)
    one = exchange.close_position("BTC/USDT:USDT")
    assert one.symbol == "BTC-USDT" and len(one.success) == 1 and one.success[0].isdigit()


def test_plain_ccxt_bingx_works_and_its_errors_are_remapped(sim):
    plain = make_client(ccxt.bingx, sim)
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    assert len(close_all_positions(plain).success) == 1

    # ccxt's own table maps 100410 to OperationFailed; ours gives RateLimitExceeded with the time.
    sim.inject(CLOSE, Fault.error(100410, "will be unblocked after 1727193814249"))
    with pytest.raises(ccxt.RateLimitExceeded) as caught:
        close_all_positions(plain)
    assert caught.value.retry_after == 1727193814249


def test_async_twin_gives_the_same_result(sim):
    async def scenario():
        client = make_client(AsyncBingX, sim)
        try:
            sim.seed_position("BTC-USDT", "LONG", 0.01)
            sim.seed_position("ETH-USDT", "SHORT", 0.1)
            result = await close_all_positions_async(client)
            via_method = await client.close_all_positions()
            return result, via_method
        finally:
            await client.close()

    result, again = asyncio.run(scenario())
    assert len(result.success) == 2 and all(i.isdigit() for i in result.success)
    assert again.success == [] and again == []
    assert sim.positions() == []


def test_async_twin_accepts_plain_ccxt_async_bingx(sim):
    async def scenario():
        client = make_client(ccxt.async_support.bingx, sim)
        try:
            return await close_all_positions_async(client, "ETH/USDT:USDT")
        finally:
            await client.close()

    sim.seed_position("ETH-USDT", "LONG", 0.1)
    assert len(asyncio.run(scenario()).success) == 1
    assert sim.positions() == []


def unblocked_in(sim, ms):
    return Fault.error(100410, f"will be unblocked after {sim.server_time_ms() + ms}")


def test_a_rate_limit_raises_at_once_by_default(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, unblocked_in(sim, 1000))

    with pytest.raises(ccxt.RateLimitExceeded):
        close_all_positions(exchange)
    assert [r.path.rsplit("/", 1)[-1] for r in sim.requests] == ["closeAllPositions"]  # not even a time read


def test_a_rate_limit_within_rate_limit_wait_is_waited_out(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, unblocked_in(sim, 1200))
    told = []

    result = close_all_positions(exchange, rate_limit_wait=10, on_wait=lambda left, at: told.append(left))

    assert len(result.success) == 1 and result.requests == 2 and sim.positions() == []
    assert [r.path.rsplit("/", 1)[-1] for r in sim.requests] == ["closeAllPositions", "time", "closeAllPositions"]
    assert told and all(0 < left <= 1.3 for left in told)


def test_a_rate_limit_beyond_rate_limit_wait_sends_no_second_close(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, unblocked_in(sim, 20_000))

    with pytest.raises(ccxt.RateLimitExceeded) as caught:
        close_all_positions(exchange, rate_limit_wait=5)
    assert caught.value.close_requests == 1 and len(sim.requests_to(CLOSE)) == 1


@pytest.mark.parametrize("wait", [-1, float("nan"), float("inf"), "30", True])
def test_bad_rate_limit_wait_is_refused_before_any_request(sim, exchange, wait):
    with pytest.raises(InvalidInput, match="rate_limit_wait"):
        close_all_positions(exchange, rate_limit_wait=wait)
    assert sim.requests == []
