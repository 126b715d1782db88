"""A bot's flatten at the edges real accounts reach: stops kept until flat, BingX's close-all limit, entries
racing the flatten, and answers that name the step that failed.

One live freqtrade-bingx bot trades on this module's simulator; each test opens its own trades through the
REST API, presses ``/forceexit all`` or ``/closeall`` as FreqUI would, and reads the simulator and the database.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from bingx_closeall_plugin import BingX, close_all_positions
from bingx_closeall_plugin.simulator import Fault
from bingx_closeall_plugin.simulator.markets import linear_contracts

from conftest import make_client
from secret_scan import leaks, signatures_of

pytestmark = pytest.mark.freqtrade

CLOSE = "trade/closeAllPositions"
HISTORY = "trade/allOrders"
PAIRS = [f"{c['asset']}/USDT:USDT" for c in linear_contracts()[:10]]


def native(pair: str) -> str:
    return pair.replace("/USDT:USDT", "-USDT")


@pytest.fixture(scope="module")
def bot(simulator, start_bot):
    simulator.reset()
    return start_bot(simulator.base_url, name="edges-bot", pairs=PAIRS, max_open_trades=len(PAIRS))


@pytest.fixture
def sim(simulator, bot):
    """The bot's simulator, flat and fault-free before and after each test."""
    assert not bot.api("GET", "/status"), "a previous test left trades open"
    assert not simulator.positions(), "a previous test left positions open"
    simulator.clear_requests()
    try:
        yield simulator
    finally:
        simulator.clear_faults()
        bot.make_flat(simulator)
        bot.wait_for(lambda: not simulator.open_orders(), timeout=15, interval=0.2, what="no order resting")


def stops(sim, symbols=None):
    return [o for o in sim.open_orders() if o["type"] == "STOP_MARKET" and (symbols is None or o["symbol"] in symbols)]


def test_refused_closeall_keeps_every_stop_and_says_so(bot, sim):
    bot.force_enter([(PAIRS[0], "long"), (PAIRS[1], "short")], sim)
    resting = {str(o["orderId"]) for o in stops(sim)}
    sim.inject(CLOSE, Fault.error(109403, "risk forbidden"))

    answer = bot.api("POST", "/closeall", {})

    assert answer["status"] == "failed"
    assert len(sim.positions()) == 2
    assert {str(o["orderId"]) for o in stops(sim)} == resting, "a refused close must not take a position's stop"
    assert "BingX refused it (109403" in answer["result"] and "kept" in answer["result"], answer
    # the bot's books agree: both trades open, each with its stoploss order still open
    assert len(bot.api("GET", "/status")) == 2


def test_closeall_partial_close_cancels_only_the_flat_positions_orders(bot, sim):
    bot.force_enter([(PAIRS[0], "long"), (PAIRS[1], "long")], sim)
    sim.seed_position("DOT-USDT", "SHORT", 10)  # the operator's own, with its own stop
    own_stop = sim.seed_order("DOT-USDT", "BUY", "STOP_MARKET", 10, stop_price=1_000_000.0)
    sim.inject(CLOSE, Fault.failed(["DOT-USDT"]), times=3)  # every close round leaves DOT-USDT open

    answer = bot.api("POST", "/closeall", {})

    assert [p["symbol"] for p in sim.positions()] == ["DOT-USDT"]
    assert [str(o["orderId"]) for o in sim.open_orders()] == [str(own_stop)], "the open position keeps its stop"
    assert answer["status"] == "partial"
    assert [str(o["orderId"]) for o in answer["kept_orders"]] == [str(own_stop)]
    bot.wait_for(lambda: not bot.api("GET", "/status"), timeout=20, what="the bot's trades closed")
    sim.clear_faults()
    client = make_client(BingX, sim)
    close_all_positions(client, "DOT-USDT")
    client.swapV2PrivateDeleteTradeAllOpenOrders({"symbol": "DOT-USDT"})


def test_more_bot_symbols_than_the_close_all_limit_are_flat_with_no_refused_request(bot, sim):
    pairs = PAIRS[:8]
    trades = bot.force_enter([(pair, "long") for pair in pairs], sim)
    sim.seed_position("DOT-USDT", "SHORT", 10)  # not the bot's: each bot symbol gets its own close
    sim.clear_requests()

    answer = bot.api("POST", "/forceexit", {"tradeid": "all"})

    closes = sim.requests_to(CLOSE)
    assert len(closes) == 5 and all(r.code == 0 for r in closes), [(r.params, r.code) for r in closes]
    assert not [r for r in sim.requests if r.code in (100410, 109429)], "no request the limit refuses"
    market = [r for r in sim.requests_to("trade/order") if r.method == "POST" and r.params.get("type") == "MARKET"]
    assert len(market) == 3 and all(r.params.get("reduceOnly") == "true" for r in market)
    assert [p["symbol"] for p in sim.positions()] == ["DOT-USDT"]
    assert sim.reversals() == []
    bot.wait_for(lambda: not bot.api("GET", "/status"), timeout=20, what="every trade closed")
    closed = {row["id"]: row for row in bot.db("SELECT * FROM trades")}
    assert all(closed[t["trade_id"]]["exit_reason"] == "force_exit" for t in trades)
    assert all(len(bot.exit_orders_in_db(t["trade_id"])) == 1 for t in trades)
    assert answer["close_requests"] == 5 and len(answer["market_exits"]) == 3
    # the operator's own position, closed once BingX's window allows (5 closes went out this second)
    close_all_positions(make_client(BingX, sim), "DOT-USDT", rate_limit_wait=5)


def test_no_trade_opened_while_a_flatten_runs_is_closed_by_it(bot, sim):
    first = bot.force_enter([(PAIRS[0], "long")], sim)
    # The bookkeeping waits 3 s for the order history: an entry arrives between the close and the bookkeeping.
    sim.inject(HISTORY, Fault.delay(3.0))
    answers: dict[str, object] = {}
    flatten = threading.Thread(target=lambda: answers.update(
        flat=bot.api("POST", "/forceexit", {"tradeid": "all"}, timeout=60)))
    flatten.start()
    deadline = time.monotonic() + 10
    while not sim.requests_to(CLOSE) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.requests_to(CLOSE), "the flatten's close went out"
    entry = requests.post(f"{bot.api_url}/forceenter", json={"pair": PAIRS[1], "side": "long"}, auth=bot.auth,
                          timeout=60)
    flatten.join(60)
    assert not flatten.is_alive()

    assert [c["trade_id"] for c in answers["flat"]["closed"]] == [first[0]["trade_id"]]
    open_trades = bot.api("GET", "/status")
    if entry.ok:  # the entry waited for the flatten to end: it is open, with its position
        assert [t["pair"] for t in open_trades] == [PAIRS[1]]
        bot.wait_for(lambda: [p["symbol"] for p in sim.positions()] == [native(PAIRS[1])], what="its position")
    else:  # it was refused while the flatten ran, and said so
        assert "Failed to enter" in entry.text and open_trades == []
        assert "a BingX flatten is in progress" in bot.output()
    assert sim.reversals() == []


def test_a_history_read_that_never_reached_bingx_is_not_called_a_refusal(bot, sim):
    trade = bot.force_enter([(PAIRS[0], "long")], sim)
    sim.inject(HISTORY, Fault.lost_reply(executed=False), times=5)  # every attempt of the bounded re-read

    answer = bot.api("POST", "/forceexit", {"tradeid": "all"})

    assert sim.positions() == []
    assert answer["status"] == "partial"
    assert "refused" not in answer["result"], answer["result"]
    assert "Reading BingX's order history after the close" in answer["result"]
    assert "positions are closed at BingX" in answer["result"]
    assert leaks(answer["result"], signatures_of(sim.requests)) == []
    # The trade keeps its intent until the history can be read; then it gets its one real fill, and the close
    # is never repeated for it.
    if bot.api("GET", "/status"):
        bot.api("POST", "/forceexit", {"tradeid": "all"})
    bot.wait_for(lambda: not bot.api("GET", "/status"), timeout=30, what="the trade reconciled")
    assert len(bot.exit_orders_in_db(trade[0]["trade_id"])) == 1
    assert sim.reversals() == []
