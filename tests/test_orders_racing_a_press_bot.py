"""Orders the bot is placing while a press runs: each way one can end, forced at its seam, then the books checked.

The chaos soak's seed-11 violation (docs/reliability.md, "Orders racing a press") was a stop left resting for a
flat position, and open in the database for the trade the press closed. Each test here forces one interleaving
of such an order with ``/forceexit all`` on a real bot, by a simulator hold (the request parked before or after
BingX executes it, released when the press has reached the point named) or by what BingX answers, never by a
sleep, and then checks the one invariant (tests/books_invariant.py: no stop for a flat position, no order open
for a closed trade, every trade closed once at BingX's fill, nothing foreign touched) and that no DOGE or ETH
order rests at BingX.

DOGE and ETH are the bot's pairs; SOL holds a position and a stop the bot does not own, so each press sends one
closeAllPositions per bot symbol, as in the soak. A held request must be released within the bot's ccxt timeout
(10 s), or the bot's own error ends the hold: every release here follows an event of the press, milliseconds away.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest

from bingx_closeall_plugin.simulator import Fault

from books_invariant import SETTLE_BOUND_S, BooksInvariant
from kill_points import foreign, press_and_kill

pytestmark = pytest.mark.freqtrade

ORDER = "trade/order"
CLOSE = "trade/closeAllPositions"
HISTORY = "trade/allOrders"
DOGE, ETH = "DOGE/USDT:USDT", "ETH/USDT:USDT"
PAIRS = [DOGE, ETH]
BOT_SYMBOLS = {"DOGE-USDT", "ETH-USDT"}
PRESS_BOUND_S = 90.0
REACH_BOUND_S = 30.0


def stop_on(symbol: str) -> Any:
    return lambda params: params.get("type") == "STOP_MARKET" and params.get("symbol") == symbol


def exit_on(symbol: str) -> Any:
    return lambda params: (params.get("type") == "MARKET" and params.get("symbol") == symbol
                           and str(params.get("reduceOnly", "")).lower() == "true")


@pytest.fixture(scope="module")
def bot(simulator, start_bot):
    simulator.reset()
    return start_bot(simulator.base_url, name="orders-racing-bot", pairs=PAIRS, max_open_trades=len(PAIRS))


@pytest.fixture
def sim(simulator, bot):
    """The bot's simulator with SOL's foreign position and stop; flat and fault-free after each test."""
    assert not bot.api("GET", "/status"), "a previous test left trades open"
    simulator.clear_requests()
    if not simulator.positions("SOL-USDT"):
        foreign(simulator)
    try:
        yield simulator
    finally:
        simulator.clear_holds()
        simulator.clear_faults()
        bot.make_flat(simulator)
        for order in simulator.open_orders():
            if order["symbol"] in BOT_SYMBOLS:  # what a failing test left resting
                simulator.account.cancel_order(order["symbol"], int(order["orderId"]))


class Press:
    """``/forceexit all`` on its own thread (it waits for the exit lock the parked loop holds)."""

    def __init__(self, bot: Any) -> None:
        self.answer: Any = None
        self._thread = threading.Thread(target=self._run, args=(bot,), daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def _run(self, bot: Any) -> None:
        try:
            self.answer = bot.api("POST", "/forceexit", {"tradeid": "all"}, timeout=PRESS_BOUND_S)
        except Exception as e:  # noqa: BLE001 - the test asserts on it
            self.answer = e

    def result(self) -> dict[str, Any]:
        self._thread.join(PRESS_BOUND_S)
        assert isinstance(self.answer, dict), f"the press answered {self.answer!r}"
        return self.answer


def closes_answered(sim: Any, count: int) -> bool:
    return len([r for r in sim.requests_to(CLOSE) if r.finished is not None and r.code == 0]) >= count


def open_orders_read(sim: Any) -> bool:
    return any(r.finished is not None and r.method == "GET" for r in sim.requests_to("trade/openOrders"))


def assert_nothing_left(bot: Any, sim: Any, books: BooksInvariant, trades: set[int]) -> None:
    books.wait_holds(SETTLE_BOUND_S, flattened=trades)
    resting = [o for o in sim.open_orders() if o["symbol"] in BOT_SYMBOLS]
    assert not resting, f"orders rest for the flat bot pairs: {resting}"
    still_open = bot.db("SELECT order_id, ft_order_side FROM orders WHERE ft_is_open = 1")
    assert not still_open, f"orders open in the database: {still_open}"


def enter_with_doge_stop_held(bot: Any, sim: Any, when: str) -> tuple[Any, set[int]]:
    """ETH entered with its stop saved, then DOGE; the loop's pass parked in DOGE's first stop (``when``:
    before or after BingX takes it), holding the exit lock. (Entering both with the hold armed would park the
    second force entry behind that lock until ccxt's timeout.)"""
    bot.force_enter([(ETH, "short")], sim)
    hold = sim.hold(ORDER, when=when, method="POST", match=stop_on("DOGE-USDT"), timeout=PRESS_BOUND_S)
    trades = bot.force_enter([(DOGE, "long")])
    hold.wait_reached(REACH_BOUND_S)
    return hold, {t["trade_id"] for t in trades}


@pytest.mark.parametrize("released", ["after the press's order read", "after the close"])
def test_a_stop_bingx_accepted_whose_answer_is_held_while_the_press_closes(bot, sim, released):
    """The loop's pass has DOGE's stop at BingX and waits for the answer, holding the exit lock: the press closes
    without it, and its books wait; the stop's row is saved before they run, after the close's cancels went out."""
    books = BooksInvariant(sim, bot)
    hold, trades = enter_with_doge_stop_held(bot, sim, "after")
    assert [o for o in sim.open_orders("DOGE-USDT") if o["type"] == "STOP_MARKET"], "BingX took the stop"
    press = Press(bot)
    point = (lambda: open_orders_read(sim)) if released.endswith("read") else (lambda: closes_answered(sim, 2))
    bot.wait_for(point, timeout=REACH_BOUND_S, interval=0.02, what=released)
    hold.release()

    assert press.result()["status"] == "done"
    assert_nothing_left(bot, sim, books, trades)


def test_a_stop_that_reaches_bingx_only_after_the_close(bot, sim):
    """DOGE's stop leaves the loop before the press and BingX executes it after the close: a reduce-only
    STOP_MARKET for a position that is gone, which BingX takes; the loop saves it, the books see a closed trade."""
    books = BooksInvariant(sim, bot)
    hold, trades = enter_with_doge_stop_held(bot, sim, "before")
    press = Press(bot)
    bot.wait_for(lambda: closes_answered(sim, 2), timeout=REACH_BOUND_S, interval=0.02, what="both closes")
    hold.release()

    assert press.result()["status"] == "done"
    assert_nothing_left(bot, sim, books, trades)


def test_a_stop_the_books_lost_is_cancelled_once_its_position_is_flat(bot, sim):
    """BingX holds a DOGE stop that no order row knows (its answer lost, or freqtrade rolled the pass's commit
    back): the press's cancel of the flat positions' stops goes by the rows; the one it did not know must not rest."""
    trades = {t["trade_id"] for t in bot.force_enter([(DOGE, "long"), (ETH, "short")], sim)}
    books = BooksInvariant(sim, bot)
    amount = float(sim.positions("DOGE-USDT")[0]["positionAmt"])
    sim.seed_order("DOGE-USDT", side="SELL", type="STOP_MARKET", quantity=amount, stop_price=0.01, reduce_only=True)

    assert bot.api("POST", "/forceexit", {"tradeid": "all"}, timeout=PRESS_BOUND_S)["status"] == "done"
    assert_nothing_left(bot, sim, books, trades)


def test_a_resting_stop_the_books_import_with_the_close_is_ended(bot, sim):
    """BingX's history does not list the close yet: the position is gone and no close is found, so freqtrade's own
    recovery (``handle_onexchange_order``) books it from the pair's orders, and saves the stop BingX still holds
    (one no row knew) as an open order of the trade it closes: the soak's violation, rows in its order."""
    trades = {t["trade_id"] for t in bot.force_enter([(DOGE, "long"), (ETH, "short")], sim)}
    books = BooksInvariant(sim, bot)
    amount = float(sim.positions("DOGE-USDT")[0]["positionAmt"])
    sim.seed_order("DOGE-USDT", side="SELL", type="STOP_MARKET", quantity=amount, stop_price=0.01, reduce_only=True)
    sim.inject(HISTORY, Fault.body('{"code":0,"msg":"","data":{"orders":[]}}'))

    assert bot.api("POST", "/forceexit", {"tradeid": "all"}, timeout=PRESS_BOUND_S)["status"] == "done"
    assert_nothing_left(bot, sim, books, trades)


def test_an_exit_bingx_filled_whose_answer_is_held_while_the_press_closes(bot, sim):
    """``/forceexit <DOGE>`` holds the exit lock with its exit filled at BingX and the answer on its way: the press
    closes ETH (DOGE is flat), waits, and must book DOGE's trade once, by the exit that closed it."""
    trades = {t["trade_id"] for t in bot.force_enter([(DOGE, "long"), (ETH, "short")], sim)}
    books = BooksInvariant(sim, bot)
    doge = next(t["trade_id"] for t in bot.api("GET", "/status") if t["pair"] == DOGE)
    hold = sim.hold(ORDER, when="after", method="POST", match=exit_on("DOGE-USDT"), timeout=PRESS_BOUND_S)
    single = threading.Thread(target=lambda: bot.api("POST", "/forceexit", {"tradeid": str(doge)}, timeout=90),
                              daemon=True)
    single.start()
    hold.wait_reached(REACH_BOUND_S)
    press = Press(bot)
    bot.wait_for(lambda: open_orders_read(sim), timeout=REACH_BOUND_S, interval=0.02, what="the press's read")
    hold.release()
    single.join(PRESS_BOUND_S)

    assert press.result()["status"] == "done"
    exits = bot.db("SELECT order_id FROM orders WHERE ft_trade_id = ? AND ft_order_side = 'sell' AND status = 'closed'",
                   (doge,))
    assert len(exits) == 1, f"DOGE's trade booked {len(exits)} exits"
    assert_nothing_left(bot, sim, books, trades - {doge})


def test_a_press_during_the_start_up_waits_for_the_books_to_agree_with_bingx(sim, start_bot, tmp_path_factory):
    """The soak's seed-11 violation, forced. A bot is killed with DOGE's stop accepted by BingX and not saved; it
    restarts, and its REST API answers while the start-up still compares the books with BingX (its history read
    held here). A press now must wait for the start-up: had it run, it would close DOGE from an account read in
    which the stop belongs to no trade, while the start-up, from its own earlier reads, adopts the stop as DOGE's
    or leaves it resting for a position it still believes open."""
    home = tmp_path_factory.mktemp("press-at-start-up")
    bot = start_bot(sim.base_url, tmp=home, pairs=PAIRS, max_open_trades=len(PAIRS))
    bot.force_enter([(ETH, "short")], sim)
    stop = sim.hold(ORDER, when="after", method="POST", match=stop_on("DOGE-USDT"))
    press_and_kill(bot, stop, lambda: bot.api("POST", "/forceenter", {"pair": DOGE, "side": "long"}, timeout=90))
    assert [o for o in sim.open_orders("DOGE-USDT") if o["type"] == "STOP_MARKET"], "BingX took DOGE's stop"
    trades = {t["id"] for t in bot.db("SELECT id FROM trades WHERE is_open = 1")}
    assert len(trades) == 2
    books = BooksInvariant(sim, bot)

    sync_read = sim.hold(HISTORY, when="before", timeout=PRESS_BOUND_S)  # the start-up's order-history read
    restarted = start_bot(sim.base_url, tmp=home, pairs=PAIRS, max_open_trades=len(PAIRS))
    books.bot = restarted
    sync_read.wait_reached(REACH_BOUND_S)
    press = Press(restarted)
    restarted.wait_for(lambda: press.done() or "during the bot's start-up" in restarted.output(),
                       timeout=REACH_BOUND_S, interval=0.02, what="the press")
    released = time.monotonic()  # the simulator's request log runs on this process's monotonic clock
    sync_read.release()

    assert press.result()["status"] == "done"
    early = [r.path for r in sim.requests_to(CLOSE) if r.started < released]
    assert not early, f"the press closed while the start-up still compared the books with BingX: {early}"
    assert_nothing_left(restarted, sim, books, trades)


def test_an_order_left_open_in_the_books_for_a_closed_trade_is_ended_by_the_loop(bot, sim):
    """freqtrade's loop manages the orders of open trades only. A stop row saved open for a trade a press already
    closed, its order resting at BingX (whoever saved it, whenever: the window the settle at the end of the press
    cannot see), is cancelled there and ended in the books by the loop's sweep within a few iterations."""
    trades = {t["trade_id"] for t in bot.force_enter([(DOGE, "long"), (ETH, "short")], sim)}
    books = BooksInvariant(sim, bot)
    assert bot.api("POST", "/forceexit", {"tradeid": "all"}, timeout=PRESS_BOUND_S)["status"] == "done"
    books.wait_holds(SETTLE_BOUND_S, flattened=trades)
    (doge,) = [t for t in bot.db("SELECT id, amount, pair FROM trades") if t["id"] in trades and t["pair"] == DOGE]
    stop_id = str(sim.seed_order("DOGE-USDT", side="SELL", type="STOP_MARKET", quantity=doge["amount"],
                                 stop_price=0.01, reduce_only=True))
    with sqlite3.connect(bot.db_path) as db:  # the row a late writer saved: a copy of the trade's entry row
        columns = [c[1] for c in db.execute("PRAGMA table_info(orders)") if c[1] != "id"]
        values = {"ft_order_side": "'stoploss'", "ft_is_open": "1", "order_id": "?", "status": "'open'",
                  "order_type": "'stop_market'", "filled": "0", "remaining": "amount"}
        db.execute(f"INSERT INTO orders ({', '.join(columns)}) SELECT {', '.join(values.get(c, c) for c in columns)} "
                   "FROM orders WHERE ft_trade_id = ? AND ft_order_side = 'buy' LIMIT 1", (stop_id, doge["id"]))

    bot.wait_for(lambda: not bot.db("SELECT 1 FROM orders WHERE ft_is_open = 1"), timeout=SETTLE_BOUND_S,
                 interval=0.2, what="the row ended")
    assert stop_id not in {str(o["orderId"]) for o in sim.open_orders("DOGE-USDT")}, "the stop still rests"
    assert_nothing_left(bot, sim, books, trades)
