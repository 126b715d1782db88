"""kill -9 at the named points of a bot's entries and stops, and the guard's direct flatten of a dead bot; then a
restart on the same database: the books and BingX agree (tests/books_invariant.py) within 90 s of it.

Each kill point is forced by a simulator hold (the request parked before or after BingX executes it), never
slept for. Each test runs its own bot, since it is killed.
"""

from __future__ import annotations

import os

import pytest
from guard_process import run_guard

from bingx_closeall_plugin.simulator import Fault

from books_invariant import BooksInvariant, native
from kill_points import foreign, press_and_kill, restart_on_same_books

pytestmark = pytest.mark.freqtrade

ORDER = "trade/order"
CLOSE = "trade/closeAllPositions"
PAIR = "BTC/USDT:USDT"
PAIRS = [PAIR, "ETH/USDT:USDT"]


def is_entry(params: dict) -> bool:
    return params.get("type") in ("MARKET", "LIMIT") and str(params.get("reduceOnly", "false")).lower() != "true"


def is_stop(params: dict) -> bool:
    return params.get("type") == "STOP_MARKET"


def stops_on(sim, pair: str) -> list[dict]:
    return [o for o in sim.open_orders(native(pair)) if o["type"] == "STOP_MARKET"]


def flatten_directly(sim, bot, tmp) -> None:
    """The guard trips on a floor no equity reaches and, the bot being dead, flattens directly (one check)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINGX_")}
    done = run_guard(["--once", "--floor", "1000000000", "--bot-config", str(bot.config_path), "--http-timeout", "2",
                      "--state", str(tmp / "guard-state.json")], env, tmp)
    assert done.returncode == 1, done.stdout + done.stderr  # tripped
    assert not [p for p in sim.positions() if p["symbol"] in {native(p) for p in PAIRS}], done.stderr
    assert sim.requests_to(CLOSE), "the guard sent no close"


def test_entry_accepted_not_saved(sim, start_bot, tmp_path_factory):
    """BingX filled the entry, the bot died before saving it: the restart adopts the position as its trade."""
    home = tmp_path_factory.mktemp("kill-entry")
    bot = start_bot(sim.base_url, tmp=home, pairs=PAIRS)
    foreign(sim)
    books = BooksInvariant(sim, bot)
    hold = sim.hold(ORDER, when="after", method="POST", match=is_entry)

    press_and_kill(bot, hold, lambda: bot.api("POST", "/forceenter", {"pair": PAIR, "side": "long"}, timeout=90))
    assert sim.positions(native(PAIR)), "BingX executed the entry"

    restarted = restart_on_same_books(start_bot, sim, books, home, pairs=PAIRS)
    (trade,) = restarted.api("GET", "/status")
    assert trade["pair"] == PAIR and not trade["is_short"]
    restarted.wait_for(lambda: len(stops_on(sim, PAIR)) == 1, timeout=60, what="the adopted trade's stop")
    assert f"Adopted BingX position {PAIR} as trade" in restarted.output()


def test_entry_never_confirmed(sim, start_bot, tmp_path_factory):
    """The entry's request is lost before BingX executes it: nothing to adopt; the restart says it looked."""
    home = tmp_path_factory.mktemp("kill-entry-lost")
    bot = start_bot(sim.base_url, tmp=home, pairs=PAIRS)
    books = BooksInvariant(sim, bot)
    hold = sim.hold(ORDER, when="before", method="POST", match=is_entry)

    press_and_kill(bot, hold, lambda: bot.api("POST", "/forceenter", {"pair": PAIR, "side": "long"}, timeout=90))
    assert not sim.positions(native(PAIR)), "BingX never executed the entry"

    restarted = restart_on_same_books(start_bot, sim, books, home, pairs=PAIRS)
    assert restarted.api("GET", "/status") == []


def test_stop_placed_accepted_not_saved(sim, start_bot, tmp_path_factory):
    """BingX accepted the trade's first stop, the bot died before saving it: one stop rests after the restart."""
    home = tmp_path_factory.mktemp("kill-stop")
    bot = start_bot(sim.base_url, tmp=home, pairs=PAIRS)
    foreign(sim)
    books = BooksInvariant(sim, bot)
    hold = sim.hold(ORDER, when="after", method="POST", match=is_stop)

    press_and_kill(bot, hold, lambda: bot.api("POST", "/forceenter", {"pair": PAIR, "side": "long"}, timeout=90))
    assert len(stops_on(sim, PAIR)) == 1

    restarted = restart_on_same_books(start_bot, sim, books, home, pairs=PAIRS)
    restarted.wait_for(lambda: restarted.db("SELECT COUNT(*) AS n FROM orders WHERE ft_order_side = 'stoploss' "
                                            "AND ft_is_open = 1")[0]["n"] == 1, timeout=60, what="one stop booked")
    assert len(stops_on(sim, PAIR)) == 1, "no second stop for the one position"
    booked = restarted.db("SELECT order_id FROM orders WHERE ft_order_side = 'stoploss' AND ft_is_open = 1")
    assert booked[0]["order_id"] == str(stops_on(sim, PAIR)[0]["orderId"])


def test_stop_replaced_accepted_not_saved(sim, start_bot, tmp_path_factory):
    """A trailing stop moved (old cancelled, new accepted), the bot died before saving the new one."""
    home = tmp_path_factory.mktemp("kill-stop-moved")
    trailing = {"trailing_stop": True, "trailing_stop_positive": 0.01, "trailing_stop_positive_offset": 0.02,
                "order_types": {"entry": "market", "exit": "market", "stoploss": "market",
                                "stoploss_on_exchange": True, "stoploss_price_type": "mark",
                                "stoploss_on_exchange_interval": 1}}
    bot = start_bot(sim.base_url, tmp=home, pairs=PAIRS, **trailing)
    bot.force_enter([(PAIR, "long")], sim)
    foreign(sim)
    (first,) = stops_on(sim, PAIR)
    books = BooksInvariant(sim, bot)
    hold = sim.hold(ORDER, when="after", method="POST", match=is_stop)
    price = float(first["stopPrice"]) / 0.9  # about the entry price

    press_and_kill(bot, hold, lambda: sim.set_price(native(PAIR), price * 1.10))
    (moved,) = stops_on(sim, PAIR)
    assert str(moved["orderId"]) != str(first["orderId"]) and float(moved["stopPrice"]) > float(first["stopPrice"])

    restarted = restart_on_same_books(start_bot, sim, books, home, pairs=PAIRS, **trailing)
    restarted.wait_for(lambda: restarted.db("SELECT COUNT(*) AS n FROM orders WHERE ft_order_side = 'stoploss' "
                                            "AND ft_is_open = 1")[0]["n"] == 1, timeout=60, what="one stop booked")
    assert len(stops_on(sim, PAIR)) == 1, "no second stop for the one position"


def test_stop_accepted_not_saved_then_flattened_directly(sim, start_bot, tmp_path_factory):
    """The documented gap: the unsaved stop, then the guard's direct flatten while the bot is dead, then restart.

    ETH's trade has its stop saved (no order in flight), BTC's is the unsaved one: both ways of the guard's
    direct flatten of a dead bot in one restart.
    """
    home = tmp_path_factory.mktemp("kill-stop-flat")
    bot = start_bot(sim.base_url, tmp=home, pairs=PAIRS)
    bot.force_enter([("ETH/USDT:USDT", "short")], sim)
    books = BooksInvariant(sim, bot)
    hold = sim.hold(ORDER, when="after", method="POST", match=is_stop)
    press_and_kill(bot, hold, lambda: bot.api("POST", "/forceenter", {"pair": PAIR, "side": "long"}, timeout=90))
    ids = {t["id"] for t in bot.db("SELECT id FROM trades")}
    assert len(ids) == 2

    flatten_directly(sim, bot, home)
    closes = len(sim.requests_to(CLOSE))

    restarted = restart_on_same_books(start_bot, sim, books, home, flattened=ids, pairs=PAIRS)
    assert len(sim.requests_to(CLOSE)) == closes, "nothing closed twice"
    assert restarted.api("GET", "/status") == []


def test_a_restart_that_cannot_read_bingx_says_so_in_status_and_the_next_one_clears_it(sim, start_bot,
                                                                                         tmp_path_factory):
    """What the start-up cannot know it never guesses: the open trade stays as it is and ``/status`` says it was
    not compared (its exit reason), as do the log and freqtrade's warning message; a start-up that can read
    BingX again clears the note."""
    home = tmp_path_factory.mktemp("kill-unreadable")
    bot = start_bot(sim.base_url, tmp=home, pairs=PAIRS)
    bot.force_enter([(PAIR, "long")], sim)
    bot.kill()
    sim.inject("trade/allOrders", Fault.error(109400, "parameter invalid: startTime"))  # the history read refused

    restarted = start_bot(sim.base_url, tmp=home, pairs=PAIRS)
    # the REST API answers before freqtrade's start-up (and the sync in it) has run: wait for its outcome
    (trade,) = restarted.wait_for(lambda: [t for t in restarted.api("GET", "/status") if t["exit_reason"]],
                                  timeout=60, what="the start-up's note in /status")
    assert trade["exit_reason"].startswith("unverified on BingX: not compared at start-up"), trade["exit_reason"]
    said = "Start-up check against BingX: BingX's positions, open orders or order history could not be read"
    restarted.wait_for(lambda: said in " ".join(restarted.output().split()),  # the console handler wraps lines
                       timeout=30, what="the start-up's warning in the log")
    assert sim.positions(native(PAIR)) and len(stops_on(sim, PAIR)) == 1, "nothing was guessed or closed"
    restarted.stop()

    again = start_bot(sim.base_url, tmp=home, pairs=PAIRS)
    (trade,) = again.wait_for(lambda: [t for t in again.api("GET", "/status") if t["exit_reason"] is None],
                              timeout=60, what="the note cleared by a start-up that read BingX")
    assert trade["is_open"] and sim.positions(native(PAIR))
