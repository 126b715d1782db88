"""bingx-closeall guard beside a real freqtrade-bingx bot on the simulator: heartbeats, a kill -9, a restart,
an equity floor flattened through the bot's /closeall and, with the bot's API down, directly.

One bot for the module (its config is the guard's ``--bot-config``: address, login and BingX keys); a test
that kills it starts it again on the same database, as an operator or systemd would.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from guard_process import GuardProcess

from bingx_closeall_plugin import BingX

from conftest import make_client

pytestmark = pytest.mark.freqtrade

CLOSE = "trade/closeAllPositions"
FAST = ["--interval", "0.5", "--http-timeout", "2", "--bot-deadline", "20"]


@pytest.fixture(scope="module")
def bot(simulator, start_bot):
    simulator.reset()
    return start_bot(simulator.base_url, name="guard-bot")


@pytest.fixture
def live_bot(simulator, bot):
    """The module's bot, running and trading (started again if a test killed it), with no trade open."""
    if bot.proc is None or bot.proc.poll() is not None:
        bot.start()
    if bot.api("GET", "/show_config")["state"] != "running":
        bot.api("POST", "/start")
    assert not bot.api("GET", "/status"), "a previous test left trades open"
    assert not simulator.positions(), "a previous test left positions open"
    simulator.clear_requests()
    return bot


@pytest.fixture
def sim(simulator, live_bot):
    return simulator


@pytest.fixture
def guards(tmp_path: Path) -> Iterator:
    started: list[GuardProcess] = []
    # Everything from the bot's config: no BingX key in the environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINGX_")}

    def start(args: list[str], state: str = "state.json") -> GuardProcess:
        guard = GuardProcess([*FAST, *args], env, tmp_path, tmp_path / state).start()
        started.append(guard)
        return guard

    yield start
    for guard in started:
        guard.stop()


def equity(sim) -> float:
    row = make_client(BingX, sim).swapV3PrivateGetUserBalance({})["data"][0]
    return float(row["balance"]) + float(row["unrealizedProfit"])


def stops_booked(bot, count: int) -> None:
    """Wait until the bot's database holds an open stoploss for ``count`` trades.

    A kill -9 between BingX accepting a stop and the bot committing it leaves a stop the bot does not know;
    after a flatten cancels it, freqtrade's start-up check of unknown orders fails on it (a cancelled market
    order has no price) and that trade stays open. That window is freqtrade's, not the guard's: not tested here.
    """
    bot.wait_for(lambda: bot.db("SELECT COUNT(*) AS n FROM orders WHERE ft_order_side = 'stoploss' AND ft_is_open = 1")
                 [0]["n"] >= count, timeout=30, interval=0.2, what=f"{count} stoploss(es) in the bot's database")


def fill_price(sim, symbol: str) -> float:
    """The entry's fill price (the simulator fills at its one price for the symbol)."""
    return float([o["avgPrice"] for o in sim.orders(symbol) if o["status"] == "FILLED"][-1])


def trades_in_db(bot) -> list[dict]:
    return bot.db("SELECT id, pair, is_open, exit_reason, close_rate FROM trades ORDER BY id")


def assert_reconciled(bot, sim, trade_ids) -> None:
    """Every trade closed in the database at the fill of the close the guard caused; nothing else sent."""
    fills = {str(o["orderId"]): o for o in sim.orders() if o["status"] == "FILLED"}
    rows = {row["id"]: row for row in trades_in_db(bot)}
    for trade_id in trade_ids:
        assert rows[trade_id]["is_open"] == 0, rows[trade_id]
        (exit_order,) = bot.exit_orders_in_db(trade_id)
        assert rows[trade_id]["close_rate"] == pytest.approx(float(fills[exit_order["order_id"]]["avgPrice"]))
    assert sim.reversals() == [] and sim.positions() == []


def test_a_bot_killed_with_kill_9_is_flattened_after_max_silence_and_reconciled_at_its_restart(sim, live_bot, guards):
    bot = live_bot
    trades = bot.force_enter([("BTC/USDT:USDT", "long"), ("ETH/USDT:USDT", "short")], sim)
    guard = guards(["--bot-config", str(bot.config_path), "--max-silence", "5"])
    guard.wait_checks(3)
    assert not guard.state()["tripped"]
    stops_booked(bot, 2)

    bot.kill()

    guard.wait_for(lambda: guard.state().get("flattened") is True, timeout=60, what="the flatten after the silence")
    state = guard.state()
    assert f"bot {bot.config_path} silent for" in state["reason"] and "not answering" in state["reason"]
    assert state["flatten"]["via"] == "direct" and sim.positions() == []
    assert len(sim.requests_to(CLOSE)) == 1
    closes = len(sim.requests_to(CLOSE))

    bot.start()  # same config, same database

    bot.wait_for(lambda: not bot.api("GET", "/status"), timeout=60, what="the trades closed at start-up")
    assert_reconciled(bot, sim, [t["trade_id"] for t in trades])
    assert len(sim.requests_to(CLOSE)) == closes, "nothing closed twice"
    bot.wait_for(lambda: sim.open_orders() == [], timeout=30, what="no stop left for the closed trades")
    guard.wait_log("STILL TRIPPED")


def test_a_bot_restarted_within_max_silence_does_not_trip_the_guard(sim, live_bot, guards):
    bot = live_bot
    bot.force_enter([("SOL/USDT:USDT", "long")], sim)
    guard = guards(["--bot-config", str(bot.config_path), "--max-silence", "90"])
    guard.wait_checks(2)

    bot.kill()
    guard.wait_for(lambda: (guard.state()["bots"][str(bot.config_path)]["error"] or "").startswith("not answering"),
                   what="the guard seeing the bot down")
    bot.start()

    guard.wait_for(lambda: guard.state()["bots"][str(bot.config_path)]["silence_s"] < 5, timeout=30,
                   what="the bot's loop seen running again")
    guard.wait_checks(3)
    assert not guard.state()["tripped"] and sim.requests_to(CLOSE) == []
    assert len(sim.positions()) == 1
    bot.api("POST", "/forceexit", {"tradeid": "all"})
    bot.wait_for(lambda: not bot.api("GET", "/status"), what="the test's trade closed")


def test_an_equity_floor_flattens_through_the_bot_then_directly_when_its_api_is_down(sim, live_bot, guards):
    bot = live_bot
    trades = bot.force_enter([("BTC/USDT:USDT", "long")], sim)
    price = fill_price(sim, "BTC-USDT")
    guard = guards(["--bot-config", str(bot.config_path), "--max-silence", "600",
                    "--floor", f"{equity(sim) - 0.5:.4f}"])
    guard.wait_checks(2)
    assert not guard.state()["tripped"]

    sim.set_price("BTC-USDT", price * 0.98)

    guard.wait_for(lambda: guard.state().get("flattened") is True, timeout=60, what="the flatten through the bot")
    state = guard.state()
    assert state["flatten"]["via"] == f"bot {bot.config_path}" and "below --floor" in state["reason"]
    assert state["flatten"]["bots"][str(bot.config_path)].startswith("done: Closed 1 position(s)")
    assert len(sim.requests_to(CLOSE)) == 1 and sim.positions() == []
    assert bot.api("GET", "/status") == [] and bot.api("GET", "/show_config")["state"] == "paused"
    rows = {row["id"]: row for row in trades_in_db(bot)}
    assert all(rows[t["trade_id"]]["exit_reason"] == "force_exit" for t in trades)
    guard.stop()

    # The bot's API down: the same rule, a new guard (a fresh state file: an operator's re-arm by deletion).
    bot.api("POST", "/start")
    trades = bot.force_enter([("ETH/USDT:USDT", "short")], sim)
    stops_booked(bot, 1)
    bot.kill()
    sim.clear_requests()
    eth = fill_price(sim, "ETH-USDT")
    guard = guards(["--bot-config", str(bot.config_path), "--max-silence", "600",
                    "--floor", f"{equity(sim) - 0.5:.4f}"], state="state-2.json")
    guard.wait_checks(2)
    sim.set_price("ETH-USDT", eth * 1.02)

    guard.wait_for(lambda: guard.state().get("flattened") is True, timeout=60, what="the direct flatten")
    state = guard.state()
    assert state["flatten"]["via"] == "direct" and "no answer" in state["flatten"]["bots"][str(bot.config_path)]
    assert sim.positions() == [] and len(sim.requests_to(CLOSE)) == 1
    bot.start()
    bot.wait_for(lambda: not bot.api("GET", "/status"), timeout=60, what="the trade closed at start-up")
    assert_reconciled(bot, sim, [t["trade_id"] for t in trades])


def test_a_wrong_bot_login_is_refused_at_start(sim, live_bot, tmp_path):
    from guard_process import run_guard

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BINGX_")},
           "BINGX_GUARD_BOT_PASSWORD": "not-it-9f8e7d"}
    result = run_guard(["--once", "--bot", live_bot.api_url, "--bot-user", live_bot.auth[0], "--max-silence", "60",
                        "--config", str(live_bot.config_path), "--state", str(tmp_path / "s.json")], env, tmp_path)
    assert result.returncode == 2 and "refused the guard's login" in result.stderr
    assert "not-it-9f8e7d" not in result.stderr and "Traceback" not in result.stderr
    assert [r for r in sim.requests if r.method != "GET"] == []


def test_a_hung_bot_is_given_bot_deadline_then_flattened_directly(sim, live_bot, guards):
    """SIGSTOP: the bot's port still takes connections but nothing answers, neither /health nor /closeall."""
    bot = live_bot
    trades = bot.force_enter([("BTC/USDT:USDT", "long")], sim)
    stops_booked(bot, 1)
    guard = guards(["--bot-config", str(bot.config_path), "--max-silence", "4", "--http-timeout", "1",
                    "--bot-deadline", "3"])
    guard.wait_checks(2)

    os.killpg(bot.proc.pid, signal.SIGSTOP)
    try:
        guard.wait_for(lambda: guard.state().get("flattened") is True, timeout=60, what="the direct flatten")
    finally:
        os.killpg(bot.proc.pid, signal.SIGCONT)
    state = guard.state()
    assert "silent for" in state["reason"] and "ReadTimeout" in state["reason"]
    assert state["flatten"]["via"] == "direct"
    # its read timeout is --bot-deadline: the bot had its deadline before the direct flatten
    assert state["flatten"]["bots"][str(bot.config_path)] == "no answer (ReadTimeout)"
    assert sim.positions() == []
    # Woken up, the bot books the trade from BingX's close (its /closeall, answered late, finds nothing open).
    bot.wait_for(lambda: not bot.api("GET", "/status"), timeout=60, what="the trade booked after the wake-up")
    assert_reconciled(bot, sim, [t["trade_id"] for t in trades])
