"""A live bot's loop and a stop BingX no longer lists anywhere: gone from the open orders, unknown to the order query.

The first iteration whose open-orders read misses the stop asks BingX about it on its own, as freqtrade's own
query would: freqtrade retries that query with its backoff (about 35 s), gives up, and places a new stop. The
vanished stop stays open in freqtrade's database, so every later iteration, and a force exit, pays the same
retries until the trade is closed: this test has a bot of its own, stopped at the module's end instead of
flattened. The loop's other reads are tests/test_loop_reads_bot.py's.
"""

from __future__ import annotations

import pytest

from bingx_closeall_plugin import to_native

from freqtrade_bot import resting_stops

pytestmark = pytest.mark.freqtrade

PAIR = "SOL/USDT:USDT"
OPEN_ORDERS = "trade/openOrders"


@pytest.fixture(scope="module")
def bot(simulator, start_bot):
    simulator.reset()
    return start_bot(simulator.base_url, name="vanished-stop-bot", pairs=[PAIR], stake_amount=50)


def test_a_stop_gone_from_both_the_open_orders_and_the_order_query_is_replaced(bot, simulator):
    sim = simulator
    bot.force_enter([(PAIR, "long")], sim)
    symbol = to_native(PAIR)
    gone = resting_stops(sim)[symbol]
    bot.loop_iterations(sim, 1)  # a read listed the stop in the iteration before this one

    sim.drop_order(gone)  # BingX lists it nowhere any more
    dropped = len(sim.requests)
    # freqtrade's own query of a missing order retries with backoff (about 35 s) before giving up on it
    bot.wait_for(lambda: resting_stops(sim).get(symbol, gone) != gone, timeout=150, interval=0.2,
                 what="a new stop resting for the trade")

    log = sim.requests[dropped:]
    placed = next(i for i, r in enumerate(log) if r.method == "POST" and r.path.endswith("trade/order")
                  and r.params.get("symbol") == symbol and "stopPrice" in r.params)
    # Acted on in the first iteration whose read missed the stop: no second read before the new stop (none at
    # all when that iteration read between the drop and this count).
    assert len([r for r in log[:placed] if r.path.endswith(OPEN_ORDERS)]) <= 1
    asked = [r for r in log if r.path.endswith("trade/order") and r.params.get("orderId") == gone]
    assert asked and all(r.code == 80016 for r in asked)
