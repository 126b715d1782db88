"""Flattening a bot safely: a crash between BingX's answer and the database commit, the strategy's own kill
switch, and dry-run left exactly as freqtrade does it. Each test runs its own real bot process."""

from __future__ import annotations

import threading

import pytest
import requests

from bingx_closeall_plugin.simulator import Fault

pytestmark = pytest.mark.freqtrade

CLOSE = "trade/closeAllPositions"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]


def trades_in_db(bot):
    return bot.db("SELECT id, pair, is_open, exit_reason, close_rate FROM trades ORDER BY id")


# BingX's clock minus the bot's: the bot resynchronises after its first refused request, and the intent it
# stores must still be compared with the order history in BingX's clock.
CLOCKS = {"same clock": 0, "local clock 30 s ahead of BingX": -30_000, "local clock 30 s behind BingX": 30_000}


@pytest.mark.parametrize("bingx_minus_local_ms", list(CLOCKS.values()), ids=list(CLOCKS))
def test_crash_between_answer_and_commit_is_reconciled_at_restart(sim, start_bot, tmp_path_factory,
                                                                  bingx_minus_local_ms):
    sim.clock_offset_ms = bingx_minus_local_ms
    home = tmp_path_factory.mktemp("crash-bot")
    bot = start_bot(sim.base_url, tmp=home)
    bot.force_enter([(pair, "long") for pair in PAIRS[:2]], sim)
    # The close executes and is answered; the order-history read that follows hangs: kill -9 the bot there.
    sim.inject("trade/allOrders", Fault.delay(60))
    sim.clear_requests()
    outcome = []

    def press():
        try:
            outcome.append(bot.api("POST", "/forceexit", {"tradeid": "all"}, timeout=90))
        except requests.RequestException as e:  # the bot dies with the request in flight
            outcome.append(e)

    presser = threading.Thread(target=press, daemon=True)
    presser.start()
    bot.wait_for(lambda: sim.positions() == [] and sim.requests_to("trade/allOrders"), timeout=30,
                 what="the close executed and the history read under way")
    bot.kill()
    presser.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], requests.RequestException)
    assert [t["is_open"] for t in trades_in_db(bot)] == [1, 1], "the crash came before the commit"

    restarted = start_bot(sim.base_url, tmp=home)  # same database, same config

    restarted.wait_for(lambda: all(t["is_open"] == 0 for t in trades_in_db(restarted)), timeout=60,
                       what="both trades closed by the start-up reconciliation")
    assert len(sim.requests_to(CLOSE)) == 1, "no position closed twice"
    exits = [r for r in sim.requests_to("trade/order") if r.method == "POST" and "stopPrice" not in r.params]
    assert exits == [], "no exit order, before or after the restart"
    assert sim.reversals() == [] and sim.positions() == []
    # a stop the loop re-placed before the crash does not outlive its trade
    restarted.wait_for(lambda: sim.open_orders() == [], timeout=30, what="no open order left")
    # the right fills: each trade carries the one order BingX's close filled on its own symbol, at its price
    closes = {o["symbol"]: o for o in sim.orders() if o["status"] == "FILLED" and o["side"] == "SELL"}
    for trade in trades_in_db(restarted):
        close = closes[trade["pair"].replace("/USDT:USDT", "-USDT")]
        assert [o["order_id"] for o in restarted.exit_orders_in_db(trade["id"])] == [str(close["orderId"])]
        assert trade["exit_reason"] == "force_exit" and trade["close_rate"] == float(close["avgPrice"])
    assert "interrupted BingX flatten" in restarted.output()
    restarted.stop()


def test_strategy_kill_switch_flattens_in_one_request(sim, start_bot):
    bot = start_bot(sim.base_url, name="kill-switch-bot", strategy="BingxKillSwitch")
    bot.force_enter([(pair, "long") for pair in PAIRS], sim)
    sim.clear_requests()

    # -2.5 % on every pair: -7.5 % of stake at 3x, past the strategy's 5 % limit, short of its 10 % stop.
    for position in sim.positions():
        sim.set_price(position["symbol"], float(position["avgPrice"]) * 0.975)

    bot.wait_for(lambda: sim.positions() == [] and not bot.api("GET", "/status"), timeout=60,
                 what="the kill switch to flatten every trade")
    assert len(sim.requests_to(CLOSE)) == 1
    assert [r for r in sim.requests_to("trade/order") if r.method == "POST"] == []
    assert all(t["exit_reason"] == "force_exit" for t in trades_in_db(bot))
    bot.stop()


def test_dry_run_forceexit_all_is_freqtrades_own(sim, start_bot):
    bot = start_bot(sim.base_url, name="dry-bot", dry_run=True)
    for pair in PAIRS[:2]:
        bot.api("POST", "/forceenter", {"pair": pair, "side": "short"})
    bot.wait_for(lambda: len(bot.api("GET", "/status")) == 2, what="two dry-run trades")
    sim.clear_requests()

    answer = bot.api("POST", "/forceexit", {"tradeid": "all"})

    assert answer == {"result": "Created exit orders for all open trades."}
    bot.wait_for(lambda: not bot.api("GET", "/status"), what="freqtrade's dry-run exits")
    assert sim.requests_to(CLOSE) == [] and [r for r in sim.requests if r.method != "GET"] == []
    response = requests.post(f"{bot.api_url}/closeall", json={}, auth=bot.auth, timeout=10)
    assert response.status_code == 502 and "live" in response.json()["error"]
    bot.stop()


def test_unreadable_order_history_keeps_the_intent_for_the_next_start_up(sim, start_bot, tmp_path_factory):
    home = tmp_path_factory.mktemp("history-outage-bot")
    bot = start_bot(sim.base_url, tmp=home)
    bot.force_enter([(pair, "short") for pair in PAIRS[:2]], sim)
    sim.inject("trade/allOrders", Fault.http_error(502), times=1000)  # BingX's order history is down
    sim.clear_requests()

    answer = bot.api("POST", "/forceexit", {"tradeid": "all"}, timeout=60)

    assert sim.positions() == [] and len(sim.requests_to(CLOSE)) == 1
    assert answer["status"] == "partial" and answer["closed"] == []
    assert [t["is_open"] for t in trades_in_db(bot)] == [1, 1]  # not guessed: BingX's fills are unknown
    bot.stop()
    sim.clear_faults()  # the history is back

    restarted = start_bot(sim.base_url, tmp=home)

    restarted.wait_for(lambda: all(t["is_open"] == 0 for t in trades_in_db(restarted)), timeout=60,
                       what="the trades reconciled from the history at start-up")
    fills = {float(o["avgPrice"]) for o in sim.orders() if o["status"] == "FILLED"}
    for trade in trades_in_db(restarted):
        assert trade["exit_reason"] == "force_exit" and trade["close_rate"] in fills
    assert len(sim.requests_to(CLOSE)) == 1 and sim.reversals() == []
    restarted.stop()
