"""/forceexit all and /closeall in a real freqtrade-bingx bot: one BingX request, every trade reconciled.

One live bot (sqlite database, REST API) trades on this module's simulator; each test opens its own
trades, flattens them through the REST API exactly as FreqUI or freqtrade-client would, then reads the
simulator's request log and the bot's database.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from bingx_closeall_plugin import BingX, close_all_positions, to_native, to_unified
from bingx_closeall_plugin.simulator import Fault
from bingx_closeall_plugin.simulator.markets import linear_contracts

from conftest import make_client

pytestmark = pytest.mark.freqtrade

CLOSE = "trade/closeAllPositions"
PAIRS = [to_unified(c["symbol"]) for c in linear_contracts()[:22]]  # ccxt's names, as the bot's whitelist has them


class Webhook:
    """freqtrade's webhook RPC pointed at 127.0.0.1: every ``exit`` and ``exit_fill`` notification the bot sends,
    in arrival order, each with the trades still open and the pairs locked in the bot's database as it arrived."""

    def __init__(self) -> None:
        self.db_path: Any = None
        self.received: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with sqlite3.connect(hook.db_path) as db:
                    body["open_in_db"] = {row[0] for row in db.execute("SELECT id FROM trades WHERE is_open = 1")}
                    body["locked"] = {row[0] for row in db.execute("SELECT pair FROM pairlocks WHERE active = 1")}
                with hook.changed:
                    hook.received.append(body)
                    hook.changed.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def config(self) -> dict[str, Any]:
        fields = {"trade_id": "{trade_id}", "exit_reason": "{exit_reason}"}
        return {"enabled": True, "url": self.url, "format": "json", "timeout": 5,
                "exit": {"type": "exit", **fields}, "exit_fill": {"type": "exit_fill", **fields}}

    def wait_for(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.received) >= count, timeout), self.received
            return list(self.received)


@pytest.fixture(scope="module")
def webhook():
    hook = Webhook()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()


@pytest.fixture(scope="module")
def bot(simulator, start_bot, webhook):
    simulator.reset()
    bot = start_bot(simulator.base_url, name="flatten-bot", pairs=PAIRS, max_open_trades=len(PAIRS),
                    webhook=webhook.config())
    webhook.db_path = bot.db_path
    return bot


@pytest.fixture
def sim(simulator, bot):
    """The bot's simulator, with no faults left and a fresh request log; the bot starts each test flat."""
    assert not bot.api("GET", "/status"), "a previous test left trades open"
    assert not simulator.positions(), "a previous test left positions open"
    simulator.clear_requests()
    return simulator


def enter(bot, pairs, side="long", sim=None):
    return bot.force_enter([(pair, side) for pair in pairs], sim)


def new_orders(sim):
    """Exit orders placed (not queries, and not a stoploss the bot's loop re-placed meanwhile)."""
    return [r for r in sim.requests_to("trade/order") if r.method == "POST" and "stopPrice" not in r.params]


def assert_closed_with_bingx_fills(bot, sim, trade_ids):
    """Every trade closed in the database, exit reason force_exit, at BingX's real fill price."""
    trades = {row["id"]: row for row in bot.db("SELECT * FROM trades")}
    fills = {str(o["orderId"]): o for o in sim.orders() if o["status"] == "FILLED"}
    for trade_id in trade_ids:
        trade = trades[trade_id]
        assert trade["is_open"] == 0 and trade["exit_reason"] == "force_exit", trade
        (exit_order,) = bot.exit_orders_in_db(trade_id)
        fill = fills[exit_order["order_id"]]
        assert trade["close_rate"] == pytest.approx(float(fill["avgPrice"]))
        assert exit_order["filled"] == pytest.approx(abs(float(fill["executedQty"])))


@pytest.mark.contract
@pytest.mark.parametrize("count", [1, 5, 20])
def test_forceexit_all_is_one_close_request_and_no_per_trade_order(bot, sim, count):
    trades = enter(bot, PAIRS[:count], side="long" if count != 5 else "short", sim=sim)
    stops = [o for o in sim.open_orders() if o["type"] == "STOP_MARKET"]
    sim.clear_requests()

    answer = bot.api("POST", "/forceexit", {"tradeid": "all"})

    assert len(sim.requests_to(CLOSE)) == 1
    assert sim.requests_to(CLOSE)[0].params.get("symbol") is None
    assert new_orders(sim) == [], "no per-trade exit order"
    assert sim.positions() == [] and sim.open_orders() == []
    # every stop cancelled: in one cancel-all before the close when the exit lock was free, else once the
    # trades are closed (the bot's loop held the lock)
    cancelled = {str(o["orderId"]) for o in sim.orders() if o["status"] == "CANCELLED"}
    assert len(stops) == count and {str(o["orderId"]) for o in stops} <= cancelled
    assert answer["result"].startswith(f"Closed {count} trade(s) with 1 BingX")
    assert sorted(c["trade_id"] for c in answer["closed"]) == sorted(t["trade_id"] for t in trades)
    assert answer["failed"] == [] and answer["fallbacks"] == []
    assert_closed_with_bingx_fills(bot, sim, [t["trade_id"] for t in trades])
    assert bot.api("GET", "/status") == []
    # freqtrade refreshes its wallets after every fill; the flatten holds that back and refreshes once
    assert len(sim.requests_to("user/balance")) <= 2, [r.path for r in sim.requests_to("user/balance")]


@pytest.mark.contract
def test_each_trades_notifications_and_pair_lock_come_once_every_trade_is_closed_in_the_database(bot, sim, webhook):
    """freqtrade's exit and exit_fill notifications and its one-candle pair lock are done once the books are
    written, not between trades (after_books.py): none lost, none twice, each trade's exit before its fill, every
    pair locked before the first notification."""
    for lock in bot.api("GET", "/locks")["locks"]:  # earlier tests' flattens locked their pairs for a candle
        bot.api("DELETE", f"/locks/{lock['id']}")
    ids = [t["trade_id"] for t in enter(bot, PAIRS[:5], sim=sim)]
    with webhook.changed:
        webhook.received.clear()

    bot.api("POST", "/forceexit", {"tradeid": "all"})

    received = webhook.wait_for(2 * len(ids))
    assert sorted((int(m["trade_id"]), m["type"]) for m in received) == sorted(
        (i, kind) for i in ids for kind in ("exit", "exit_fill")), received
    for trade_id in ids:
        assert [m["type"] for m in received if int(m["trade_id"]) == trade_id] == ["exit", "exit_fill"]
    assert {m["exit_reason"] for m in received} == {"force_exit"}
    still_open = [(m["type"], m["trade_id"], sorted(m["open_in_db"] & set(ids))) for m in received
                  if m["open_in_db"] & set(ids)]
    assert still_open == [], f"notified while the flatten's trades were still open in the database: {still_open}"
    assert set(PAIRS[:5]) <= received[0]["locked"], "a pair was not locked yet when the first notification came"
    # the intent written on every trade before the close (custom_data.py) is gone once they are booked
    assert bot.db("SELECT ft_trade_id FROM trade_custom_data WHERE cd_key = 'bingx_flatten_intent'") == []


def test_mixed_account_leaves_positions_the_bot_does_not_own(bot, sim):
    trades = enter(bot, PAIRS[:2], sim=sim)
    sim.seed_position("DOT-USDT", "SHORT", 10)  # opened by hand, not by the bot
    sim.clear_requests()

    answer = bot.api("POST", "/forceexit", {"tradeid": "all"})

    symbols = sorted(r.params["symbol"] for r in sim.requests_to(CLOSE))
    assert symbols == sorted(to_native(p) for p in PAIRS[:2])
    assert [p["symbol"] for p in sim.positions()] == ["DOT-USDT"]
    assert_closed_with_bingx_fills(bot, sim, [t["trade_id"] for t in trades])
    assert len(answer["closed"]) == 2
    # The hand-opened position is not the bot's: its owner closes it.
    close_all_positions(make_client(BingX, sim), "DOT-USDT")


def test_partial_failed_answer_falls_back_to_freqtrades_exit_for_that_trade(bot, sim):
    trades = enter(bot, PAIRS[:3], sim=sim)
    failed_pair = PAIRS[1]
    sim.inject(CLOSE, Fault.failed([to_native(failed_pair)]))
    sim.clear_requests()

    answer = bot.api("POST", "/forceexit", {"tradeid": "all"})

    failed_trade = next(t["trade_id"] for t in trades if t["pair"] == failed_pair)
    assert len(answer["failed"]) == 1 and answer["fallbacks"] == [failed_trade]
    assert len(sim.requests_to(CLOSE)) == 1
    assert len(new_orders(sim)) == 1  # freqtrade's own exit, for that trade only
    bot.wait_for(lambda: not bot.api("GET", "/status"), what="every trade closed")
    assert sim.positions() == []
    assert_closed_with_bingx_fills(bot, sim, [t["trade_id"] for t in trades])


def test_lost_reply_is_verified_and_trades_reconciled_from_history(bot, sim):
    trades = enter(bot, PAIRS[:3], sim=sim)
    sim.inject(CLOSE, Fault.lost_reply(executed=True))
    sim.clear_requests()

    answer = bot.api("POST", "/forceexit", {"tradeid": "all"})

    assert len(sim.requests_to(CLOSE)) == 1, "a lost answer is verified, never blindly repeated"
    assert new_orders(sim) == []
    assert sim.positions() == []
    assert len(answer["closed"]) == 3
    assert_closed_with_bingx_fills(bot, sim, [t["trade_id"] for t in trades])


def test_two_concurrent_flattens_make_one_exchange_call_and_both_answer_its_result(bot, sim):
    enter(bot, PAIRS[:2], sim=sim)
    sim.inject(CLOSE, Fault.delay(1.5))
    sim.clear_requests()
    answers = []

    def press():
        answers.append(bot.api("POST", "/forceexit", {"tradeid": "all"}))

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(sim.requests_to(CLOSE)) == 1
    # the second press waited for the first and answers its result, marked as joined
    assert [a.get("status") for a in answers] == ["done", "done"]
    joined = [a for a in answers if a.get("joined")]
    assert len(joined) == 1 and joined[0]["closed"] == next(a for a in answers if a not in joined)["closed"]
    assert joined[0]["result"].startswith(f"A BingX flatten ({joined[0]['joined']}) was already running")
    assert sim.positions() == [] and bot.api("GET", "/status") == []


def test_closeall_needs_freqtrades_login(bot, sim):
    response = requests.post(f"{bot.api_url}/closeall", json={}, timeout=10)
    assert response.status_code == 401
    assert sim.requests == []


def test_closeall_rejects_a_bad_symbol_before_anything(bot, sim):
    response = requests.post(f"{bot.api_url}/closeall", json={"symbol": "btc-usdt"}, auth=bot.auth, timeout=10)
    assert response.status_code == 400 and "capital letters" in response.json()["detail"]
    assert sim.requests == []
    assert bot.api("GET", "/show_config")["state"] == "running"


@pytest.mark.contract
def test_closeall_flattens_the_whole_account_pauses_entries_and_reports_per_symbol(bot, sim):
    trades = enter(bot, PAIRS[:2], side="short", sim=sim)
    sim.seed_position("DOT-USDT", "LONG", 10)
    sim.seed_order("DOT-USDT", side="SELL", type="TAKE_PROFIT_MARKET", quantity=10, stop_price=50.0, reduce_only=True)
    sim.clear_requests()

    answer = bot.api("POST", "/closeall", {})

    assert len(sim.requests_to(CLOSE)) == 1 and sim.requests_to(CLOSE)[0].params.get("symbol") is None
    assert sim.positions() == [] and sim.open_orders() == []
    assert set(answer["per_symbol"]) == {"DOT-USDT", *(to_native(p) for p in PAIRS[:2])}
    assert answer["per_symbol"]["DOT-USDT"]["trade_id"] is None
    assert_closed_with_bingx_fills(bot, sim, [t["trade_id"] for t in trades])
    assert bot.api("GET", "/show_config")["state"] == "paused"
    bot.api("POST", "/start")


def test_closeall_with_a_symbol_closes_only_that_symbol(bot, sim):
    trades = enter(bot, PAIRS[:2], sim=sim)
    sim.clear_requests()

    answer = bot.api("POST", "/closeall", {"symbol": PAIRS[0]})

    assert [r.params.get("symbol") for r in sim.requests_to(CLOSE)] == [to_native(PAIRS[0])]
    assert [p["symbol"] for p in sim.positions()] == [to_native(PAIRS[1])]
    assert [c["trade_id"] for c in answer["closed"]] == [trades[0]["trade_id"]]
    bot.api("POST", "/start")
    bot.api("POST", "/forceexit", {"tradeid": "all"})
    assert sim.positions() == [] and bot.api("GET", "/status") == []
