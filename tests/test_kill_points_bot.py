"""kill -9 at every named point of a bot's flatten, then a restart on the same database: the books and BingX
agree (tests/books_invariant.py) within 90 s, and the restart sends no close. Each test runs its own bot.

The flatten's front ends: ``/forceexit all`` (REST), ``/closeall`` (REST ``POST /api/v1/closeall``) and
``request_flatten`` from a strategy (examples/strategies/BingxKillSwitch.py, set off by a drawdown). The kill
points, each a request held by the simulator (or by the bot's webhook receiver) until the process group is
gone; docs/reliability.md ("Kill points") lists what the restart does at each:

close-not-sent      the close is held before BingX executes it (and is never executed)
close-unanswered    BingX executed the close; its answer is never read
books-not-written   the close's answer was read; the order-history read that starts the books is held
books-halfway       the first trade is closed in the database (freqtrade's exit_fill message, sent right after
                    its commit, is held: the bot runs with BINGX_AFTER_BOOKS=0, freqtrade's own timing of
                    the notifications, which the plugin otherwise sends after the books); the others are not
fallback-exit       the close was refused; freqtrade's own per-trade market exit of the first trade executed,
                    its answer never read
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bingx_closeall_plugin.simulator import Fault

from books_invariant import BooksInvariant
from kill_points import WebhookHold, foreign, press_and_kill

pytestmark = pytest.mark.freqtrade

CLOSE = "trade/closeAllPositions"
HISTORY = "trade/allOrders"
ORDER = "trade/order"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
KILL_SWITCH = "BingxKillSwitch"
DRAWDOWN = 0.975  # -2.5 % on every pair: -7.5 % of stake at 3x, past the kill switch's 5 %, short of its stop


@dataclass(frozen=True)
class FrontEnd:
    strategy: str | None
    account_wide: bool  # /closeall closes what the bot does not own too: no foreign position then
    press: Callable[[Any, Any, dict[str, float]], Any]


def _drawdown(bot: Any, sim: Any, entry_prices: dict[str, float]) -> None:
    for symbol, price in entry_prices.items():
        sim.set_price(symbol, price * DRAWDOWN)


FRONT_ENDS = {
    "forceexit": FrontEnd(None, False,
                          lambda bot, sim, _: bot.api("POST", "/forceexit", {"tradeid": "all"}, timeout=90)),
    "closeall": FrontEnd(None, True, lambda bot, sim, _: bot.api("POST", "/closeall", {}, timeout=90)),
    "strategy": FrontEnd(KILL_SWITCH, False, _drawdown),
}


def _market_exit(params: dict[str, Any]) -> bool:
    return params.get("type") == "MARKET"


@dataclass
class Point:
    name: str
    path: str | None  # the simulator's held request; None: the bot's webhook
    when: str = "before"
    refused_close: bool = False
    per_symbol_closes: bool = False  # the hold parks every close of the flatten (one per bot symbol)


POINTS = [
    Point("close-not-sent", CLOSE, "before", per_symbol_closes=True),
    Point("close-unanswered", CLOSE, "after", per_symbol_closes=True),
    Point("books-not-written", HISTORY, "before"),
    Point("books-halfway", None),
    Point("fallback-exit", ORDER, "after", refused_close=True),
]
# the release matrix's contract lane: a kill -9 between the close and the books, then the restart
CONTRACT = ("forceexit", "books-not-written")
CASES = [pytest.param(front, point, id=f"{front}-{point.name}",
                      marks=[pytest.mark.contract] if (front, point.name) == CONTRACT else [])
         for front in FRONT_ENDS for point in POINTS
         # /closeall has no per-trade fallback: a refused close-all is reported and nothing is exited
         if not (front == "closeall" and point.refused_close)]


@pytest.fixture
def webhook() -> Iterator[WebhookHold]:
    hold = WebhookHold("exit_fill")
    yield hold
    hold.close()


@pytest.mark.parametrize(("front", "point"), CASES)
def test_flatten_killed_at_a_kill_point(sim, start_bot, tmp_path_factory, webhook, front, point):
    fe = FRONT_ENDS[front]
    home = tmp_path_factory.mktemp(f"kill-{front}-{point.name}")
    config: dict[str, Any] = {"pairs": PAIRS}
    env = None
    if point.path is None:
        config["webhook"] = webhook.config  # only where the kill point is the webhook: it parks one message
        env = {"BINGX_AFTER_BOOKS": "0"}  # sent as each trade is booked, not after the books (after_books.py)
    if fe.strategy:
        config["strategy"] = fe.strategy
    bot = start_bot(sim.base_url, tmp=home, env=env, **config)
    if not fe.account_wide:
        foreign(sim)
    trades = bot.force_enter([(pair, "long") for pair in PAIRS], sim)
    entry_prices = {p["symbol"]: float(p["avgPrice"]) for p in sim.positions() if p["symbol"] != "SOL-USDT"}
    books = BooksInvariant(sim, bot)
    sim.clear_requests()
    closes = 1 if fe.account_wide else len(PAIRS)  # /forceexit all: one close per bot symbol beside SOL
    if point.refused_close:
        sim.inject(CLOSE, Fault.error(100419, "IP does not match IP whitelist"), times=closes)
    if point.path is None:
        hold: Any = webhook
    elif point.path == ORDER:
        hold = sim.hold(ORDER, when=point.when, method="POST", match=_market_exit)
    else:
        hold = sim.hold(point.path, when=point.when, times=closes if point.per_symbol_closes else 1)

    press_and_kill(bot, hold, lambda: fe.press(bot, sim, entry_prices),
                   count=closes if point.per_symbol_closes else 1)

    if point.name == "books-halfway":  # the kill landed halfway: one trade closed in the database, the other open
        assert sorted(row["is_open"] for row in bot.db("SELECT is_open FROM trades")) == [0, 1]
    sim.clear_faults()
    for symbol, price in entry_prices.items():
        sim.set_price(symbol, price)  # the kill switch's drawdown is over: the restart has no reason to flatten
    before_restart = len(sim.requests_to(CLOSE))
    sim.clear_requests()
    killed_log = bot.log_path.with_name("killed.log")
    bot.log_path.rename(killed_log)  # the restart writes its own
    restarted = start_bot(sim.base_url, tmp=home, env=env, **config)
    books.bot = restarted
    try:
        books.wait_holds(flattened={t["trade_id"] for t in trades})
    except AssertionError as e:
        orders = restarted.db("SELECT ft_trade_id, order_id, ft_order_side, status, ft_is_open FROM orders")
        raise AssertionError(f"{e}\norders in the database: {orders}\nBingX's orders: "
                             f"{[(o['orderId'], o['symbol'], o['type'], o['status']) for o in sim.orders()]}\n"
                             f"the killed bot's log (tail):\n{killed_log.read_text()[-6000:]}\n"
                             f"the restarted bot's log (tail):\n{restarted.output()[-6000:]}") from None
    assert sim.requests_to(CLOSE) == [], "the restart never sends a close"
    assert [r for r in sim.requests_to(ORDER) if r.method == "POST" and _market_exit(r.params)] == [], \
        "the restart never exits a trade"
    if point.name == "close-not-sent":
        assert before_restart == closes and len(sim.positions()) == len(PAIRS) + (not fe.account_wide)
