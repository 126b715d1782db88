"""The BingX simulator driven through real HTTP by unmodified ccxt."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator, Fault, RequestRecord

from conftest import API_KEY as KEY, API_SECRET as SECRET


def _client(sim, key=KEY, secret=SECRET, timeout=5000):
    ex = ccxt.bingx({"apiKey": key, "secret": secret, "enableRateLimit": False, "timeout": timeout,
                     "options": {"defaultType": "swap"}})
    ex.urls["api"] = api_urls(sim.base_url)
    return ex


@pytest.fixture(scope="module")
def _markets(simulator):
    ex = _client(simulator)
    return ex.load_markets()


@pytest.fixture
def ex(sim, _markets):
    client = _client(sim)
    client.set_markets(list(_markets.values()))
    return client


def _close_all(ex, **params):
    return ex.swapV2PrivatePostTradeCloseAllPositions(params)


def test_load_markets_and_public_data(sim):
    ex = _client(sim)
    markets = ex.load_markets()
    assert "BTC/USDT:USDT" in markets and "BTC/USD:BTC" in markets
    linear = [m for m in markets.values() if m["linear"]]
    assert len(linear) >= 60
    assert markets["BTC/USDT:USDT"]["precision"]["amount"] == 0.0001
    assert ex.fetch_time() > 0
    assert ex.fetch_ticker("BTC/USDT:USDT")["last"] == 65000.0
    book = ex.fetch_order_book("ETH/USDT:USDT", 5)
    assert book["bids"][0][0] < 3200.0 < book["asks"][0][0]
    candles = ex.fetch_ohlcv("BTC/USDT:USDT", "1h", since=1_699_999_200_000, limit=5)
    assert [c[0] for c in candles] == [1_699_999_200_000 + i * 3_600_000 for i in range(5)]
    assert candles == ex.fetch_ohlcv("BTC/USDT:USDT", "1h", since=1_699_999_200_000, limit=5)  # deterministic
    assert ex.fetch_funding_rate("BTC/USDT:USDT")["fundingRate"] == 0.0001


def test_depth_limit_must_be_a_bingx_value(sim, ex):
    with pytest.raises(ccxt.BadRequest, match="109400"):
        ex.swapV2PublicGetQuoteDepth({"symbol": "BTC-USDT", "limit": 3})


def test_balance_and_seeded_position(sim, ex):
    assert ex.fetch_balance({"type": "swap"})["USDT"]["total"] == 10000.0
    sim.seed_position("BTC-USDT", "LONG", 0.01, entry_price=60000.0)
    (pos,) = ex.fetch_positions()
    assert pos["symbol"] == "BTC/USDT:USDT" and pos["side"] == "both" and pos["contracts"] == 0.01
    assert pos["entryPrice"] == 60000.0 and pos["unrealizedPnl"] == pytest.approx(50.0)


def test_market_order_changes_position_and_flips(sim, ex):
    order = ex.create_order("ETH/USDT:USDT", "market", "buy", 0.5)
    assert ex.fetch_order(order["id"], "ETH/USDT:USDT")["status"] == "closed"
    # One-way mode, as BingX: positionSide BOTH, the amount signed (ccxt passes both through).
    assert [(p["side"], p["contracts"]) for p in ex.fetch_positions()] == [("both", 0.5)]
    ex.create_order("ETH/USDT:USDT", "market", "sell", 0.8)  # one-way: exceeding the position flips it
    assert [(p["side"], p["contracts"]) for p in ex.fetch_positions()] == [("both", -0.3)]
    ex.create_order("ETH/USDT:USDT", "market", "buy", 1.0, params={"reduceOnly": True})  # never flips
    assert ex.fetch_positions() == []


def test_limit_order_rests_then_fills_on_set_price(sim, ex):
    order = ex.create_order("SOL/USDT:USDT", "limit", "buy", 2, 140.0)
    assert [o["id"] for o in ex.fetch_open_orders("SOL/USDT:USDT")] == [order["id"]]
    sim.set_price("SOL-USDT", 139.5)
    assert ex.fetch_order(order["id"], "SOL/USDT:USDT")["status"] == "closed"
    (pos,) = ex.fetch_positions()
    assert pos["contracts"] == 2 and pos["entryPrice"] == 140.0
    assert ex.fetch_my_trades("SOL/USDT:USDT")[0]["amount"] == 2


def test_seeded_stop_triggers(sim, ex):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    oid = sim.seed_order("BTC-USDT", side="SELL", type="STOP_MARKET", quantity=0.01, stop_price=60000.0)
    assert isinstance(oid, int) and oid > 2**53
    sim.set_price("BTC-USDT", 59000.0)
    assert sim.positions() == []
    assert sim.orders("BTC-USDT")[0]["status"] == "FILLED"


def test_cancel_order_and_cancel_filled(sim, ex):
    order = ex.create_order("XRP/USDT:USDT", "limit", "buy", 100, 0.5)
    assert ex.cancel_order(order["id"], "XRP/USDT:USDT")["status"] == "canceled"
    assert sim.open_orders() == []
    filled = ex.create_order("XRP/USDT:USDT", "market", "buy", 100)
    with pytest.raises(ccxt.ExchangeError, match="80018"):
        ex.cancel_order(filled["id"], "XRP/USDT:USDT")
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order("1860000000000999999", "XRP/USDT:USDT")


def test_close_all_positions_answers_big_int_ids(sim, ex):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "SHORT", 0.5)
    resting = sim.seed_order("DOGE-USDT", side="BUY", type="LIMIT", quantity=100, price=0.1, reduce_only=False)
    resp = _close_all(ex)
    assert resp["code"] == 0 and resp["data"]["failed"] is None
    ids = resp["data"]["success"]
    assert len(ids) == 2 and all(isinstance(i, int) and i > 2**53 for i in ids)
    assert sim.positions() == []
    assert [o["orderId"] for o in sim.open_orders()] == [resting]  # closing does not cancel orders
    assert _close_all(ex)["data"] == {"success": [], "failed": None}


def test_close_all_positions_symbol_filter_and_errors(sim, ex):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "LONG", 0.5)
    assert len(_close_all(ex, symbol="BTC-USDT")["data"]["success"]) == 1
    assert [p["symbol"] for p in sim.positions()] == ["ETH-USDT"]
    with pytest.raises(ccxt.InvalidOrder, match="101205"):
        _close_all(ex, symbol="BTC-USDT")
    with pytest.raises(ccxt.BadRequest, match="btc-usdt,symbol not exist"):
        _close_all(ex, symbol="btc-usdt")


def test_close_all_hedge_mode_two_orders(sim, ex):
    ex.set_position_mode(True)
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("BTC-USDT", "SHORT", 0.02)
    assert len(sim.positions()) == 2
    assert len(_close_all(ex, symbol="BTC-USDT")["data"]["success"]) == 2
    with pytest.raises(ccxt.BadRequest, match="109400"):
        ex.create_order("BTC/USDT:USDT", "market", "buy", 0.01, params={"positionSide": "LONG", "reduceOnly": True})


def test_coin_m_close_all(sim, ex):
    sim.seed_position("BTC-USD", "SHORT", 3)
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    resp = ex.cswapV1PrivatePostTradeCloseAllPositions()
    assert len(resp["data"]["success"]) == 1
    assert [p["symbol"] for p in sim.positions()] == ["BTC-USDT"]


def test_auth_errors(sim):
    with pytest.raises(ccxt.AuthenticationError, match="100413"):
        _client(sim, key="wrong").swapV2PrivateGetUserPositions()
    with pytest.raises(ccxt.AuthenticationError) as info:
        _client(sim, secret="wrong").swapV2PrivateGetUserPositions()
    assert "100001" in str(info.value)
    sim.clock_offset_ms = 20_000
    with pytest.raises(ccxt.ExchangeError, match="100421"):
        _client(sim).swapV2PrivateGetUserPositions()
    sim.clock_offset_ms = 0
    assert _client(sim).swapV2PrivateGetUserPositions()["code"] == 0


def test_close_all_rate_limit(sim, ex):
    for _ in range(5):
        assert _close_all(ex)["code"] == 0
    with pytest.raises(ccxt.OperationFailed, match="100410") as info:
        _close_all(ex)
    assert "unblocked after" in str(info.value)


def test_fault_error(sim, ex):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject("trade/closeAllPositions", Fault.error(100410, "rate limited"), times=1)
    with pytest.raises(ccxt.OperationFailed, match="rate limited"):
        _close_all(ex)
    assert len(sim.positions()) == 1  # not executed
    assert _close_all(ex)["code"] == 0  # consumed


@pytest.mark.parametrize("executed", [True, False])
def test_fault_lost_reply(sim, ex, executed):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject("trade/closeAllPositions", Fault.lost_reply(executed=executed))
    with pytest.raises(ccxt.NetworkError):
        _close_all(ex)
    assert (sim.positions() == []) is executed
    (rec,) = sim.requests_to("trade/closeAllPositions")
    assert rec.http_status is None


def test_fault_delay_exceeds_client_timeout(sim):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject("trade/closeAllPositions", Fault.delay(1.5))
    with pytest.raises(ccxt.RequestTimeout):
        _close_all(_client(sim, timeout=300))
    assert sim.positions() == []


def test_fault_http_error(sim, ex):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject("trade/closeAllPositions", Fault.http_error(502))
    with pytest.raises(ccxt.ExchangeNotAvailable):
        _close_all(ex)
    assert len(sim.positions()) == 1
    assert sim.requests_to("trade/closeAllPositions")[0].http_status == 502


def test_fault_failed_and_reopen(sim, ex):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "LONG", 0.5)
    eth_id = int(sim.positions("ETH-USDT")[0]["positionId"])
    sim.inject("trade/closeAllPositions", Fault.failed(["ETH-USDT"]))
    data = _close_all(ex)["data"]
    assert len(data["success"]) == 1 and data["failed"] == [eth_id]
    assert [p["symbol"] for p in sim.positions()] == ["ETH-USDT"]
    sim.inject("trade/closeAllPositions", Fault.reopen("SOL-USDT", "SHORT", 3))
    assert len(_close_all(ex)["data"]["success"]) == 1
    assert [(p["symbol"], p["positionAmt"]) for p in sim.positions()] == [("SOL-USDT", "-3.0")]


def test_request_log_has_no_signature(sim, ex):
    ex.fetch_positions()
    _client(sim, key="wrong")
    with pytest.raises(ccxt.AuthenticationError):
        _client(sim, key="wrong").swapV2PrivateGetUserPositions()
    recs = sim.requests_to("user/positions")
    assert [r.api_key_ok for r in recs] == [True, False]
    assert all(isinstance(r, RequestRecord) and "signature" not in r.params and "timestamp" in r.params
               for r in recs)
    assert recs[0].code == 0 and recs[1].code == 100413 and recs[0].finished >= recs[0].started
    assert SECRET not in repr(sim.requests) and KEY not in repr(sim.requests)
    sim.clear_requests()
    assert sim.requests == []


def test_unknown_path_and_admin_state(sim):
    req = urllib.request.Request(sim.base_url + "/openApi/swap/v9/nope")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    assert info.value.code == 404 and json.loads(info.value.read())["code"] == 100400
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    with urllib.request.urlopen(sim.base_url + "/_sim/state", timeout=5) as resp:
        state = json.loads(resp.read())
    assert len(state["data"]["positions"]) == 1


def test_async_client(sim):
    sim.seed_position("BTC-USDT", "LONG", 0.01)

    async def run():
        ex = ccxt_async.bingx({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False,
                               "options": {"defaultType": "swap"}})
        ex.urls["api"] = api_urls(sim.base_url)
        try:
            await ex.load_markets()
            positions = await ex.fetch_positions()
            resp = await ex.swapV2PrivatePostTradeCloseAllPositions()
            return positions, resp
        finally:
            await ex.close()

    positions, resp = asyncio.run(run())
    assert positions[0]["contracts"] == 0.01
    assert isinstance(resp["data"]["success"][0], int)
    assert sim.positions() == []


def test_stop_is_idempotent_and_context_manager():
    with BingXSimulator() as other:
        assert other.base_url.startswith("http://127.0.0.1:")
    other.stop()


# ---- holds: a request parked at an exact point until the test lets it go (the crash tests' kill points)
def _in_thread(fn):
    import threading
    outcome = []

    def run():
        try:
            outcome.append(fn())
        except Exception as e:  # noqa: BLE001 - the outcome is what the test checks
            outcome.append(e)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_hold_before_execution_parks_the_request_until_released(sim, ex):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    hold = sim.hold("trade/closeAllPositions", when="before")
    thread, outcome = _in_thread(lambda: _close_all(ex))
    assert hold.wait_reached(10)["timestamp"]
    assert len(sim.positions()) == 1, "held before execution: nothing executed yet"
    hold.release()
    thread.join(10)
    assert not isinstance(outcome[0], Exception) and sim.positions() == []


def test_hold_before_execution_released_with_drop_never_executes(sim, ex):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    hold = sim.hold("trade/closeAllPositions", when="before")
    thread, outcome = _in_thread(lambda: _close_all(ex))
    hold.wait_reached(10)
    hold.release(drop=True)
    thread.join(10)
    assert isinstance(outcome[0], ccxt.NetworkError)
    assert len(sim.positions()) == 1 and sim.close_all_order_ids() == set()


def test_hold_after_execution_matches_method_and_params_and_loses_the_answer_on_drop(sim, ex):
    sim.set_price("BTC-USDT", 60000)
    hold = sim.hold("trade/order", when="after", method="POST", match=lambda p: p.get("type") == "STOP_MARKET")
    ex.create_order("BTC/USDT:USDT", "market", "buy", 0.01)  # not the STOP_MARKET: passes the hold
    assert not hold.reached
    thread, outcome = _in_thread(lambda: ex.create_order(
        "BTC/USDT:USDT", "market", "sell", 0.01, params={"stopLossPrice": 50000, "reduceOnly": True}))
    params = hold.wait_reached(10)
    assert params["type"] == "STOP_MARKET"
    assert [o["type"] for o in sim.open_orders()] == ["STOP_MARKET"], "held after execution: accepted"
    hold.release(drop=True)
    thread.join(10)
    assert isinstance(outcome[0], ccxt.NetworkError)


def test_hold_times_out_by_itself_and_reset_drops_what_is_parked(sim, ex):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.hold("trade/closeAllPositions", timeout=0.5)
    _close_all(ex)  # released by its own bound
    assert sim.positions() == []
    with pytest.raises(ValueError, match="when"):
        sim.hold("trade/closeAllPositions", when="during")
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    hold = sim.hold("trade/closeAllPositions")
    thread, outcome = _in_thread(lambda: _close_all(ex))
    hold.wait_reached(10)
    sim.reset()
    thread.join(10)
    assert isinstance(outcome[0], ccxt.NetworkError) and sim.positions() == []
    with pytest.raises(TimeoutError, match="closeAllPositions"):
        sim.hold("trade/closeAllPositions").wait_reached(0.1)


def test_a_request_still_in_its_latency_at_a_reset_never_executes_on_the_new_account(sim):
    """reset() is a new account: a close that arrived before it, whose client gave up (a test's Ctrl-C, a killed
    bot), must not land on the next test's positions, nor take the fault that test armed for its own close."""
    def until_idle() -> None:
        deadline = time.monotonic() + 10
        while sim.in_flight():
            assert time.monotonic() < deadline, "a request was never answered nor dropped"
            time.sleep(0.02)

    until_idle()  # what earlier tests left in flight (a delayed answer) is done
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.latency_ms = 400
    impatient = _client(sim, timeout=100)
    with pytest.raises(ccxt.RequestTimeout):
        impatient.swapV2PrivatePostTradeCloseAllPositions({})
    assert sim.in_flight() == 1  # still in its latency at BingX's side
    sim.reset()
    sim.seed_position("ETH-USDT", "SHORT", 0.2)
    sim.inject("trade/closeAllPositions", Fault.error(100410, "rate limited"))
    until_idle()

    assert [p["symbol"] for p in sim.positions()] == ["ETH-USDT"]
    assert sim.pending_faults() and sim.requests == []
