"""A bot's pair means what its ccxt means: TRUMP/USDT:USDT is BingX's TRUMPSOL-USDT, never the user's TRUMP-USDT.

One live freqtrade-bingx bot trades TRUMP/USDT:USDT on this module's simulator while the account also holds a
TRUMP-USDT position opened by hand (ccxt's TRUMPMAGA/USDT:USDT). Every flatten must close the bot's contract,
leave the user's open, and close the bot's trade with the fill of its own contract.
"""

from __future__ import annotations

import pytest

from bingx_closeall_plugin import BingX, close_all_positions
from bingx_closeall_plugin.core.urls import api_urls

from conftest import API_KEY, API_SECRET, make_client

pytestmark = pytest.mark.freqtrade

CLOSE = "trade/closeAllPositions"
# The bot's config adds a name of its own (BingX's SNOW is this bot's SNOWY): the bot's ccxt object, not ccxt's
# default table, must be what every flatten reads its pairs with.
NAMES = {"SNOW": "SNOWY"}
PAIRS = ["TRUMP/USDT:USDT", "SNOWY/USDT:USDT"]
USERS = ("TRUMP-USDT", -100.0)  # BingX's TRUMP, ccxt's TRUMPMAGA: not the bot's


@pytest.fixture(scope="module")
def bot(simulator, start_bot):

    simulator.reset()
    ccxt_config = {"urls": {"api": api_urls(simulator.base_url)}, "commonCurrencies": NAMES}
    exchange = {"name": "bingx", "key": API_KEY, "secret": API_SECRET, "pair_whitelist": PAIRS, "pair_blacklist": [],
                "ccxt_config": ccxt_config, "ccxt_async_config": ccxt_config}
    return start_bot(simulator.base_url, name="symbols-bot", exchange=exchange, max_open_trades=len(PAIRS))


@pytest.fixture
def sim(simulator, bot):
    """The bot's simulator with the user's own TRUMP-USDT position; the user closes it after the test."""
    assert not bot.api("GET", "/status"), "a previous test left trades open"
    assert not simulator.positions(), "a previous test left positions open"
    simulator.seed_position(USERS[0], "SHORT", -USERS[1])
    simulator.clear_requests()
    yield simulator
    close_all_positions(make_client(BingX, simulator), USERS[0])


def held(sim) -> dict[str, float]:
    return {p["symbol"]: float(p["positionAmt"]) for p in sim.positions()}


def enter(bot, sim, pair: str = "TRUMP/USDT:USDT", native: str = "TRUMPSOL-USDT") -> dict:
    (trade,) = bot.force_enter([(pair, "long")], sim)
    assert held(sim) == {native: trade["amount"], USERS[0]: USERS[1]}  # the bot's TRUMP is BingX's TRUMPSOL
    sim.clear_requests()
    return trade


def assert_closed_with_its_own_fill(bot, sim, trade_id: int, native: str = "TRUMPSOL-USDT") -> None:
    """The trade is closed in the database at the fill of its own contract's close."""
    (trade,) = bot.db("SELECT * FROM trades WHERE id = ?", (trade_id,))
    assert trade["is_open"] == 0 and trade["exit_reason"] == "force_exit", trade
    (exit_order,) = bot.exit_orders_in_db(trade_id)
    fill = next(o for o in sim.orders() if str(o["orderId"]) == exit_order["order_id"])
    assert fill["symbol"] == native and fill["status"] == "FILLED"
    assert trade["close_rate"] == pytest.approx(float(fill["avgPrice"]))
    assert exit_order["filled"] == pytest.approx(abs(float(fill["executedQty"])))


def test_forceexit_all_closes_the_bots_trumpsol_and_leaves_the_users_trump(bot, sim):
    trade = enter(bot, sim)

    answer = bot.api("POST", "/forceexit", {"tradeid": "all"})

    assert [r.params.get("symbol") for r in sim.requests_to(CLOSE)] == ["TRUMPSOL-USDT"]
    assert held(sim) == {USERS[0]: USERS[1]}
    assert [c["trade_id"] for c in answer["closed"]] == [trade["trade_id"]] and answer["fallbacks"] == []
    assert_closed_with_its_own_fill(bot, sim, trade["trade_id"])
    assert bot.api("GET", "/status") == []


def test_closeall_with_the_bots_pair_closes_trumpsol_only(bot, sim):
    trade = enter(bot, sim)

    answer = bot.api("POST", "/closeall", {"symbol": "TRUMP/USDT:USDT"})

    bot.api("POST", "/start")  # /closeall paused entries
    assert [r.params.get("symbol") for r in sim.requests_to(CLOSE)] == ["TRUMPSOL-USDT"]
    assert held(sim) == {USERS[0]: USERS[1]}
    assert list(answer["per_symbol"]) == ["TRUMPSOL-USDT"]
    assert answer["per_symbol"]["TRUMPSOL-USDT"]["unified_symbol"] == "TRUMP/USDT:USDT"
    assert answer["per_symbol"]["TRUMPSOL-USDT"]["trade_id"] == trade["trade_id"]
    assert [c["trade_id"] for c in answer["closed"]] == [trade["trade_id"]]
    assert_closed_with_its_own_fill(bot, sim, trade["trade_id"])
    assert bot.api("GET", "/status") == []


def test_the_bots_own_names_are_used_not_ccxts_defaults(bot, sim):
    trade = enter(bot, sim, "SNOWY/USDT:USDT", "SNOW-USDT")

    answer = bot.api("POST", "/closeall", {"symbol": "SNOWY/USDT:USDT"})

    bot.api("POST", "/start")
    assert [r.params.get("symbol") for r in sim.requests_to(CLOSE)] == ["SNOW-USDT"]
    assert held(sim) == {USERS[0]: USERS[1]}
    assert answer["per_symbol"]["SNOW-USDT"]["unified_symbol"] == "SNOWY/USDT:USDT"
    assert_closed_with_its_own_fill(bot, sim, trade["trade_id"], "SNOW-USDT")

    trade = enter(bot, sim, "SNOWY/USDT:USDT", "SNOW-USDT")
    bot.api("POST", "/forceexit", {"tradeid": "all"})
    assert [r.params.get("symbol") for r in sim.requests_to(CLOSE)] == ["SNOW-USDT"]
    assert held(sim) == {USERS[0]: USERS[1]}
    assert_closed_with_its_own_fill(bot, sim, trade["trade_id"], "SNOW-USDT")
