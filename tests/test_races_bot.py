"""Races on one live bot: simultaneous flatten presses, mixed front ends, an entry racing a flatten.

One real ``freqtrade-bingx trade`` process (its strategy: tests/strategies/RacesKillSwitch.py, the sample plus a
``request_flatten`` kill switch a test pulls through a file) trades on this module's simulator. Each run
force-enters three trades, releases its presses together from threads behind one :class:`threading.Barrier`,
waits (bounded) for every answer and for the books to settle, then checks :mod:`books_invariant` (the database
and BingX agree, every trade closed once with BingX's fill and ``force_exit``, no stop left for a flat position,
nothing reopened, nothing foreign touched) and counts the closeAllPositions requests. No press may answer 5xx.

20 runs in all: 12 of four ``/forceexit all`` presses (every fourth with a position and a stop the bot does not
own beside its trades), 4 of ``/forceexit all`` + ``/closeall`` + ``request_flatten`` + the guard, 4 of a
``/forceenter`` racing a ``/forceexit all``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from bingx_closeall_plugin import BingX, close_all_positions
from bingx_closeall_plugin.simulator import Fault

from books_invariant import assert_books_agree, native
from conftest import API_KEY, API_SECRET, make_client
from freqtrade_bot import FreqtradeBot, make_config, resting_stops

pytestmark = pytest.mark.freqtrade

CLOSE = "trade/closeAllPositions"
HISTORY = "trade/allOrders"
STRATEGY_DIR = Path(__file__).with_name("strategies")
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
LATE = "XRP/USDT:USDT"  # the entry that races a flatten
FOREIGN = "DOT-USDT"
PRESS_TIMEOUT = 90.0  # a press waits for the flatten it joined: bounded by the flatten's own bounds
SETTLE_TIMEOUT = 45.0


@pytest.fixture(scope="module")
def bot(simulator, tmp_path_factory):
    pytest.importorskip("freqtrade")
    simulator.reset()
    tmp = tmp_path_factory.mktemp("races-bot")
    config = make_config(tmp, simulator.base_url, key=API_KEY, secret=API_SECRET, pairs=[*PAIRS, LATE],
                         rate_limit_ms=int(os.environ.get("RACES_RATE_LIMIT_MS", "10")) or None)
    bot = FreqtradeBot(tmp, config, args=["trade", "-c", str(tmp / "config.json"), "--strategy", "RacesKillSwitch",
                                          "--strategy-path", str(STRATEGY_DIR)])
    try:
        yield bot.start()
    finally:
        bot.stop()


@pytest.fixture
def sim(simulator, bot):
    assert not bot.api("GET", "/status"), "a previous test left trades open"
    assert not simulator.positions(), "a previous test left positions open"
    try:
        yield simulator
    finally:
        simulator.clear_faults()
        bot.make_flat(simulator)


# ---------------------------------------------------------------------------------------------------- presses
def post(bot: FreqtradeBot, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{bot.api_url}{path}", json=body, auth=bot.auth, timeout=PRESS_TIMEOUT)


def forceexit(bot):
    return post(bot, "/forceexit", {"tradeid": "all"})


def closeall(bot):
    return post(bot, "/closeall", {})


class KillSwitch:
    """``request_flatten`` from the strategy's ``bot_loop_start``: asked through a file, answered through one."""

    def __init__(self, bot: FreqtradeBot, kind: str = "forceexit") -> None:
        user_data = Path(bot.config["user_data_dir"])
        self.request, self.answer, self.kind = user_data / "flatten.request", user_data / "flatten.answer", kind
        self.answer.unlink(missing_ok=True)

    def __call__(self) -> dict[str, Any]:
        self.request.write_text(self.kind)
        deadline = time.monotonic() + PRESS_TIMEOUT
        while not self.answer.exists():
            assert time.monotonic() < deadline, "request_flatten answered nothing"
            time.sleep(0.05)
        return json.loads(self.answer.read_text())


class Guard:
    """``bingx-closeall guard --once`` with a floor no account reaches: it trips at its first check and asks the
    bot's ``/closeall``, then flattens directly only if the account is not flat."""

    def __init__(self, bot: FreqtradeBot, workdir: Path) -> None:
        self.bot, self.workdir = bot, workdir

    def __call__(self) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BINGX_")}
        state = self.workdir / f"guard-{time.monotonic_ns()}.json"
        return subprocess.run(
            [sys.executable, "-m", "bingx_closeall_plugin.cli", "guard", "--once", "--state", str(state),
             "--bot-config", str(self.bot.config_path), "--max-silence", "600", "--floor", "1000000000",
             "--interval", "0.5", "--http-timeout", "5", "--bot-deadline", "60"],
            env=env, capture_output=True, text=True, timeout=PRESS_TIMEOUT, stdin=subprocess.DEVNULL)


def race(*presses: Any) -> list[Any]:
    """Every press from its own thread, released together; each one's result (or exception), in order."""
    barrier = threading.Barrier(len(presses))
    results: list[Any] = [None] * len(presses)

    def run(i: int) -> None:
        barrier.wait(10)
        try:
            results[i] = presses[i]()
        except Exception as e:  # noqa: BLE001 - reported by the assertions below
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(presses))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PRESS_TIMEOUT + 15)
    assert not any(t.is_alive() for t in threads), "a press never came back"
    return results


def assert_answered(responses: list[Any]) -> list[dict[str, Any]]:
    """Every REST press answered 200 (never 5xx) with a flatten's answer."""
    answers = []
    for response in responses:
        if isinstance(response, requests.Response):
            assert response.status_code == 200, f"{response.request.url}: {response.status_code} {response.text}"
            answers.append(response.json())
    return answers


def open_trades(bot, sim, pairs, foreign: bool = False, wait: str = "stops",
                ) -> tuple[list[int], dict[str, dict[str, Any]]]:
    """Force-enter ``pairs`` and wait until every stoploss rests on BingX (``wait="stops"``), until the entries
    are filled (``"fills"``: the bot's loop is still booking them and placing the stops), or not at all
    (``"none"``: an operator pressing at once, the entries' fills not booked yet)."""
    entries = [(pair, "long" if i % 2 == 0 else "short") for i, pair in enumerate(pairs)]
    if wait == "none":
        ids = [bot.api("POST", "/forceenter", {"pair": pair, "side": side})["trade_id"] for pair, side in entries]
        bot.wait_for(lambda: len(sim.positions()) == len(pairs), timeout=30, interval=0.05, what="the positions")
    else:
        ids = [t["trade_id"] for t in bot.force_enter(entries, sim if wait == "stops" else None)]
    own: dict[str, dict[str, Any]] = {}
    if foreign:
        sim.seed_position(FOREIGN, "SHORT", 10)
        own[FOREIGN] = {"side": "SHORT", "qty": 10.0,
                        "orders": [sim.seed_order(FOREIGN, "BUY", "STOP_MARKET", 10, stop_price=1_000_000.0)]}
    sim.clear_requests()
    return ids, own



def tidy_foreign(sim) -> None:
    if sim.positions(FOREIGN):
        client = make_client(BingX, sim)
        close_all_positions(client, FOREIGN)
        client.swapV2PrivateDeleteTradeAllOpenOrders({"symbol": FOREIGN})


def resume(bot) -> None:
    if bot.api("GET", "/show_config")["state"] != "running":
        bot.api("POST", "/start")


# ---------------------------------------------------------------------------------------------------- a kept trade
def test_a_trade_the_strategy_keeps_stays_open_with_its_stop_and_the_others_close(bot, sim):
    """``confirm_trade_exit`` is asked per trade while the account is read; a denied exit keeps its trade, its
    position and its stop, and the rest close one symbol at a time (the kept position is on the account)."""
    ids, _ = open_trades(bot, sim, PAIRS)
    kept_pair = PAIRS[1]
    kept = Path(bot.config["user_data_dir"]) / "exit.kept"
    kept.write_text(kept_pair)
    try:
        answer = assert_answered([forceexit(bot)])[0]
    finally:
        kept.unlink()
    kept_id = bot.open_trade(kept_pair)["trade_id"]
    assert answer["vetoed"] == [kept_id], answer
    assert sorted(c["trade_id"] for c in answer["closed"]) == sorted(set(ids) - {kept_id}), answer
    assert sorted(r.params.get("symbol") for r in sim.requests_to(CLOSE)) == sorted(native(p) for p in PAIRS
                                                                                    if p != kept_pair)
    assert_books_agree(sim, bot, set(ids) - {kept_id})
    assert [p["symbol"] for p in sim.positions()] == [native(kept_pair)]
    assert list(resting_stops(sim)) == [native(kept_pair)], resting_stops(sim)
    assert [t["trade_id"] for t in bot.api("GET", "/status")] == [kept_id]


# ---------------------------------------------------------------------------------------------------- the races
def test_four_simultaneous_forceexit_all_presses_close_every_trade_once(bot, sim):
    joined = 0
    for run in range(12):
        foreign = run % 4 == 3
        # A third of the runs press once the stops rest, a third once the entries are filled (the bot's loop
        # still books them and places the stops: it holds the exit lock, so the close goes out beside it), a
        # third at once; every other run BingX answers the close 0.5 s after executing it, when the loop can
        # already see the positions gone.
        ids, own = open_trades(bot, sim, PAIRS, foreign=foreign, wait=("stops", "fills", "none")[run % 3])
        if run % 2 == 1:
            sim.inject(CLOSE, Fault.delay(0.5), times=len(PAIRS))

        answers = assert_answered(race(*[lambda: forceexit(bot)] * 4))

        assert_books_agree(sim, bot, ids, foreign=own, timeout=SETTLE_TIMEOUT)
        closes = sim.requests_to(CLOSE)
        # one request for the whole account, or one per bot symbol beside a position the bot does not own
        assert len(closes) == (len(PAIRS) if foreign else 1), f"run {run}: {[r.params for r in closes]}"
        for answer in answers:  # the flatten's answer, that answer again for a press that joined it, or nothing
            closed = sorted(c["trade_id"] for c in answer.get("closed") or [])
            assert closed in (sorted(ids), []), f"run {run}: {answer}"
            assert answer["status"] == "done" or answer["result"] == "No open trades to exit.", f"run {run}: {answer}"
        assert sum(1 for a in answers if a.get("closed")) >= 1, f"run {run}: {answers}"
        joined += sum(1 for a in answers if a.get("joined"))
        assert not bot.api("GET", "/status"), f"run {run}"
        sim.clear_faults()
        tidy_foreign(sim)
    assert joined, "no press ever landed while another's flatten ran: the races were not run"


def test_mixed_presses_forceexit_closeall_request_flatten_and_the_guard(bot, sim, tmp_path):
    for run in range(4):
        ids, _ = open_trades(bot, sim, PAIRS)
        closed_before = len(sim.close_all_order_ids())
        # The bookkeeping waits 1 s for the history: every press lands while a flatten runs.
        sim.inject(HISTORY, Fault.delay(1.0))
        switch = KillSwitch(bot, "closeall" if run % 2 else "forceexit")

        results = race(lambda: forceexit(bot), lambda: closeall(bot), switch, Guard(bot, tmp_path))

        for answer in assert_answered(results[:2]):
            assert answer["status"] == "done", f"run {run}: {answer}"
        assert results[2] == {"status": "done"}, f"run {run}: request_flatten {results[2]}"
        guard = results[3]
        assert guard.returncode == 1, guard.stderr  # tripped, as its floor says
        # the bot answered the guard's /closeall with a flatten's result: the guard sent no close of its own
        assert f"flatten via bot {bot.config_path}" in guard.stderr, f"run {run}:\n{guard.stderr}"
        assert_books_agree(sim, bot, ids, timeout=SETTLE_TIMEOUT)
        closes = [r for r in sim.requests_to(CLOSE) if r.code == 0]
        # Every position is closed exactly once: BingX placed one close order per trade, whatever the presses.
        assert len(sim.close_all_order_ids()) - closed_before == len(PAIRS), f"run {run}"
        # An account-wide press that came after the first flatten was done (the guard's process starts in about
        # a second) runs anew and finds the account flat: one more, empty, close for each at most.
        assert 1 <= len(closes) <= 1 + 3, f"run {run}: {[r.params for r in closes]}"
        assert not bot.api("GET", "/status"), f"run {run}"
        resume(bot)


def test_an_entry_racing_a_flatten_is_closed_by_it_or_left_open_with_its_position(bot, sim):
    outcomes: list[str] = []  # closed by the flatten, refused while it ran, or opened after it (all three are right)
    for run in range(4):
        ids, _ = open_trades(bot, sim, PAIRS)
        mid_flatten = run % 2 == 1
        if mid_flatten:  # the entry is pressed once the close has reached BingX, answered 0.5 s later
            sim.inject(CLOSE, Fault.delay(0.5))

        def enter(mid_flatten: bool = mid_flatten) -> requests.Response:
            if mid_flatten:
                deadline = time.monotonic() + 30
                while not sim.requests_to(CLOSE):
                    assert time.monotonic() < deadline, "the flatten's close never reached BingX"
                    time.sleep(0.01)
            return post(bot, "/forceenter", {"pair": LATE, "side": "long"})

        exit_response, entry_response = race(lambda: forceexit(bot), enter)

        assert_answered([exit_response])
        assert isinstance(entry_response, requests.Response)
        # freqtrade's own answer to an entry it did not make is its RPC error (502, "Failed to enter ...")
        assert entry_response.ok or "Failed to enter" in entry_response.text, entry_response.text
        late = [t["id"] for t in bot.db("SELECT id FROM trades WHERE pair = ? AND id > ?", (LATE, max(ids)))]
        assert_books_agree(sim, bot, [*ids, *late], timeout=SETTLE_TIMEOUT)
        assert len(sim.requests_to(CLOSE)) == 1, f"run {run}"
        outcomes.append("refused" if not entry_response.ok else "open" if bot.api("GET", "/status") else "closed")
        still = bot.api("GET", "/status")
        assert [t["pair"] for t in still] in ([], [LATE]), f"run {run}: {still}"
        if still:
            assert [p["symbol"] for p in sim.positions()] == [native(LATE)]
        sim.clear_faults()
        bot.make_flat(sim)
    print(f"entry outcomes: {outcomes}")
