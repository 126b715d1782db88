"""A live bot's loop asks BingX about its orders and stops with ONE open-orders read per iteration.

One real freqtrade-bingx bot (stoploss on exchange) trades on this module's simulator. Its requests are cut
into loop iterations (``FreqtradeBot.loop_iterations``: where ``last_process`` changes) and counted from the
simulator's request log: an idle iteration sends the same requests, signed and public, for 1 trade and for 10 (one
open-orders read, one ticker read pricing every trade; tests/test_pass_quotes.py prices 221 pairs from that read).
A stop that fills between two reads and a stop cancelled by hand at BingX are each acted on by the first whole
iteration after the event, as freqtrade's own per-order queries would. A stop BingX no longer lists anywhere
has a module and a bot of its own (tests/test_loop_reads_vanished_stop_bot.py): freqtrade's retries for it cost
every later iteration about 35 s until its trade is closed.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bingx_closeall_plugin import to_native, to_unified
from bingx_closeall_plugin.simulator import Fault
from bingx_closeall_plugin.simulator.markets import linear_contracts

from freqtrade_bot import resting_stops as stops

pytestmark = pytest.mark.freqtrade

PAIRS = [to_unified(c["symbol"]) for c in linear_contracts()[:10]]  # ccxt's names, as the bot's whitelist has them
OPEN_ORDERS = "trade/openOrders"


@pytest.fixture(scope="module")
def bot(simulator, start_bot):
    simulator.reset()
    return start_bot(simulator.base_url, name="loop-reads-bot", pairs=PAIRS, max_open_trades=len(PAIRS),
                     stake_amount=50)


@pytest.fixture
def sim(simulator, bot):
    """The bot's simulator, flat, with a fresh request log; flattened again after the test."""
    assert not bot.api("GET", "/status") and not simulator.positions(), "a previous test left trades open"
    simulator.clear_requests()
    prices = dict(simulator.account.prices)
    try:
        yield simulator
    finally:
        simulator.clear_faults()
        for symbol, price in prices.items():
            if simulator.account.prices[symbol] != price:
                simulator.set_price(symbol, price)
        bot.make_flat(simulator)


def order_queries(requests) -> list[str]:
    """Order ids freqtrade asked BingX about one by one (GET trade/order)."""
    return [r.params.get("orderId") for r in requests if r.path.endswith("trade/order") and r.method == "GET"]


CANDLES = ("quote/klines", "market/markPriceKlines")


def idle(iteration) -> Counter:
    """The requests of one loop iteration, signed and public, by method and path. freqtrade's hourly funding-fee
    job (hh:00:01, one income read per trade) and its candle refresh (one klines read per whitelisted pair at each
    new 5m candle, whatever the trades) are schedules of their own, not part of an idle iteration."""
    return Counter((r.method, r.path) for r in iteration if not r.path.endswith(("user/income", *CANDLES)))


def trade(bot, trade_id: int) -> dict:
    (row,) = bot.db("SELECT * FROM trades WHERE id = ?", (trade_id,))
    return row


def test_an_idle_iteration_sends_the_same_requests_for_1_and_for_10_trades(bot, sim):
    bot.force_enter([(PAIRS[0], "long")], sim)
    one = [idle(it) for it in bot.loop_iterations(sim, 2)]
    bot.force_enter([(pair, "long") for pair in PAIRS[1:]], sim)
    assert len(stops(sim)) == 10
    ten = [idle(it) for it in bot.loop_iterations(sim, 2)]

    for iteration in one + ten:
        assert iteration == Counter({("GET", "/openApi/swap/v2/trade/openOrders"): 1,
                                     ("GET", "/openApi/swap/v2/quote/ticker"): 1}), iteration
        assert sim.requests_to(OPEN_ORDERS)[-1].params.get("symbol") is None  # account-wide, one request


def test_a_stop_that_fills_between_two_reads_closes_its_trade_in_the_next_iteration(bot, sim):
    trades = bot.force_enter([(PAIRS[0], "long"), (PAIRS[1], "long")], sim)
    ids = {t["pair"]: t["trade_id"] for t in trades}
    resting = stops(sim)
    symbol = to_native(PAIRS[0])
    bot.loop_iterations(sim, 1)  # a read was made in the iteration before this one too

    sim.set_price(symbol, sim.account.prices[symbol] * 0.5)  # through the stop: BingX fills it
    (filled,) = [o for o in sim.orders(symbol) if str(o["orderId"]) == resting[symbol]]
    assert filled["status"] == "FILLED"
    (next_iteration,) = bot.loop_iterations(sim, 1)

    closed = trade(bot, ids[PAIRS[0]])
    assert closed["is_open"] == 0 and closed["exit_reason"] == "stoploss_on_exchange", closed
    assert trade(bot, ids[PAIRS[1]])["is_open"] == 1
    # The filled stop left the open set, so it alone was asked about; the other stop came from the read.
    assert resting[symbol] in order_queries(sim.requests)
    assert resting[to_native(PAIRS[1])] not in order_queries(sim.requests)
    assert len([r for r in next_iteration if r.path.endswith(OPEN_ORDERS)]) <= 1


def test_a_stop_cancelled_by_hand_at_bingx_is_replaced_in_the_next_iteration(bot, sim):
    trades = bot.force_enter([(PAIRS[0], "long"), (PAIRS[1], "short")], sim)
    resting = stops(sim)
    symbol = to_native(PAIRS[1])
    bot.loop_iterations(sim, 1)

    sim.account.cancel_order(symbol, int(resting[symbol]))  # by hand, in BingX's app
    bot.loop_iterations(sim, 1)

    now = stops(sim)
    assert now[to_native(PAIRS[0])] == resting[to_native(PAIRS[0])], "the other stop is left alone"
    assert symbol in now and now[symbol] != resting[symbol], "a new stop rests in place of the cancelled one"
    sl_orders = bot.db("SELECT order_id, status FROM orders WHERE ft_trade_id = ? AND ft_order_side = 'stoploss'",
                       (next(t["trade_id"] for t in trades if t["pair"] == PAIRS[1]),))
    assert {o["order_id"]: o["status"] for o in sl_orders}[resting[symbol]] == "canceled"


def test_a_stop_whose_answer_is_lost_is_booked_from_bingx_and_never_placed_twice(bot, sim):
    """BingX places the stop, its answer never arrives (the connection drops): the bot books the stop BingX has
    (lost_stops.py) instead of placing a second one on its next pass, which would outlive the first's close."""
    hold = sim.hold("trade/order", when="after", method="POST", match=lambda params: "stopPrice" in params)
    (trade,) = bot.force_enter([(PAIRS[2], "long")])
    hold.wait_reached(30)
    hold.release(drop=True)  # executed at BingX, answer lost

    symbol = to_native(PAIRS[2])
    booked = bot.wait_for(lambda: bot.db(
        "SELECT order_id FROM orders WHERE ft_trade_id = ? AND ft_order_side = 'stoploss' AND ft_is_open = 1",
        (trade["trade_id"],)), timeout=30, interval=0.1, what="the trade's stop in the books")
    bot.loop_iterations(sim, 2)  # two whole passes: without the lookup the second stop is out by now

    resting = [(o["symbol"], str(o["orderId"])) for o in sim.open_orders() if o["type"] == "STOP_MARKET"]
    assert resting == [(symbol, booked[0]["order_id"])]
    assert len([r for r in sim.requests_to("trade/order") if r.method == "POST" and "stopPrice" in r.params]) == 1
    assert "was lost" in bot.output() and "Unable to place a stoploss order" not in bot.output()


def test_a_flatten_does_not_wait_for_the_loop_to_price_every_trade(bot, sim):
    trades = bot.force_enter([(pair, "long") for pair in PAIRS], sim)
    # Hold the loop inside its exit-lock section: the pass's one price read (pricing every trade) answers late.
    sim.inject("quote/ticker", Fault.delay(2.0))
    bot.wait_for(lambda: not sim.pending_faults(), timeout=30, interval=0.05, what="the loop reaching its exits")

    answer = bot.api("POST", "/forceexit", {"tradeid": "all"})

    assert sorted(c["trade_id"] for c in answer["closed"]) == sorted(t["trade_id"] for t in trades)
    log = sim.requests
    close = max(i for i, r in enumerate(log) if r.path.endswith("trade/closeAllPositions"))
    after = log[close:]
    # The loop went through its other trades without a request per trade: no order book, no order query.
    assert [r.path for r in after if r.path.endswith(("quote/depth", "quote/ticker"))] == []
    assert order_queries(after) == []
