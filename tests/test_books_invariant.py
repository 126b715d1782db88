"""The crash tests' checker catches what it is there to catch: each breach of the invariant, planted on a real
simulator and a database with freqtrade's columns, is named; an account that agrees with its books passes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from books_invariant import BooksInvariant

PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]


class Books:
    """A stand-in for tests/freqtrade_bot.FreqtradeBot's read side: its database, its log, its process."""

    def __init__(self, tmp_path):
        self.db_path = tmp_path / "trades.sqlite"
        self.config = {"exchange": {"pair_whitelist": PAIRS}}
        self.log = ""
        self.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        with sqlite3.connect(self.db_path) as db:
            db.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY, pair TEXT, is_open INTEGER, is_short INTEGER, "
                       "amount REAL, exit_reason TEXT, close_rate REAL, fee_close REAL)")
            db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, ft_trade_id INTEGER, ft_order_side TEXT, "
                       "order_id TEXT, status TEXT, filled REAL, ft_is_open INTEGER DEFAULT 0)")

    def db(self, sql, params=()):
        with sqlite3.connect(self.db_path) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql, params)]

    def write(self, sql, params=()):
        with sqlite3.connect(self.db_path) as db:
            db.execute(sql, params)

    def output(self):
        return self.log

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def books(sim, tmp_path):
    b = Books(tmp_path)
    yield b
    b.stop()


def open_trade(books, sim, trade_id, symbol="BTC-USDT", qty=0.01):
    sim.seed_position(symbol, "LONG", qty)
    books.write("INSERT INTO trades VALUES (?, ?, 1, 0, ?, NULL, NULL, 0)", (trade_id, symbol.replace("-", "/") +
                                                                          ":USDT", qty))


def close_with_the_fill(books, sim, exchange, trade_id, exit_reason="force_exit", price_off=0.0, fee_off=0.0):
    (order_id,) = exchange.closeall().success
    fill = next(o for o in sim.orders() if str(o["orderId"]) == order_id)
    fee_rate = abs(float(fill["commission"])) / float(fill["cumQuote"])
    books.write("UPDATE trades SET is_open = 0, exit_reason = ?, close_rate = ?, fee_close = ? WHERE id = ?",
                (exit_reason, float(fill["avgPrice"]) + price_off, fee_rate + fee_off, trade_id))
    books.write("INSERT INTO orders (ft_trade_id, ft_order_side, order_id, status, filled) VALUES (?, 'sell', ?, "
                "'closed', ?)", (trade_id, order_id, float(fill["executedQty"])))


def test_books_that_agree_with_bingx_pass(sim, books, exchange):
    open_trade(books, sim, 1)
    check = BooksInvariant(sim, books)
    assert check.violations() == []
    close_with_the_fill(books, sim, exchange, 1)
    assert check.violations(flattened={1}) == []


def test_an_open_trade_without_its_position_is_named(sim, books):
    open_trade(books, sim, 1)
    check = BooksInvariant(sim, books)
    sim.reset()
    assert check.violations() == ["BTC-USDT: BingX holds +0, the open trades +0.01"]


def test_a_position_without_its_trade_is_named(sim, books):
    check = BooksInvariant(sim, books)
    sim.seed_position("ETH-USDT", "SHORT", 0.2)
    assert check.violations() == ["ETH-USDT: BingX holds -0.2, the open trades +0"]


@pytest.mark.parametrize(("change", "named"), [
    ({"exit_reason": "sold_on_exchange"}, "was flattened but booked 'sold_on_exchange'"),
    ({"price_off": 5.0}, "is not BingX's fill price"),
    ({"fee_off": 0.001}, "is not BingX's fee"),
])
def test_a_flattened_trade_booked_wrong_is_named(sim, books, exchange, change, named):
    open_trade(books, sim, 1)
    check = BooksInvariant(sim, books)
    close_with_the_fill(books, sim, exchange, 1, **change)
    (found,) = check.violations()
    assert named in found


def test_a_stop_for_a_flat_position_and_a_reopened_trade_are_named(sim, books, exchange):
    open_trade(books, sim, 1)
    sim.seed_order("BTC-USDT", side="SELL", type="STOP_MARKET", quantity=0.01, stop_price=50000.0)
    check = BooksInvariant(sim, books)
    close_with_the_fill(books, sim, exchange, 1)
    assert [v for v in check.violations() if "rests for a flat position" in v] != []
    sim.reset()
    books.write("UPDATE trades SET is_open = 1 WHERE id = 1")
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    assert "trade 1 (BTC/USDT:USDT) was closed and is open again" in check.violations()


def test_what_the_bot_does_not_own_and_a_dead_or_failing_bot_are_named(sim, books, exchange):
    sim.seed_position("SOL-USDT", "LONG", 1.0)
    check = BooksInvariant(sim, books)
    exchange.closeall(symbol="SOL/USDT:USDT")
    assert [v for v in check.violations() if v.startswith("what the bot does not own changed")] != []
    check.foreign = check._foreign_snapshot()
    books.log = "Traceback (most recent call last):\n sqlite3.IntegrityError: NOT NULL constraint failed"
    books.stop()
    assert check.violations()[0] == "the bot is not running"
    assert "NOT NULL constraint failed" in check.violations()[1]
