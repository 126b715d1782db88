"""The chaos soak at CI size: seeded entries, stop triggers, presses, kill -9 points and the guard's direct
flatten through a real bot restarted on its own database; the books invariant holds after every cycle.

The steps, kill points and figures live in benchmarks/chaos_soak.py (300 cycles there, figures in
docs/reliability.md); this test runs a short seeded run against conftest's simulator and ``start_bot``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing

import pytest

from bingx_closeall_plugin import BingX

from conftest import API_KEY, API_SECRET, load_benchmark, make_client

pytestmark = pytest.mark.freqtrade

CYCLES, SEED = 10, 5  # seed 5 draws a kill point and the guard's direct flatten of a dead bot in ten cycles


def test_chaos_soak_keeps_the_books_and_bingx_in_agreement(simulator, start_bot, tmp_path_factory):
    chaos = load_benchmark("chaos_soak")
    simulator.reset()
    home = tmp_path_factory.mktemp("chaos-bot")
    config = chaos.bot_config(home, simulator, API_KEY, API_SECRET)

    def start():
        return start_bot(simulator.base_url, tmp=home, exchange=config["exchange"], pairs=chaos.PAIRS,
                         max_open_trades=len(chaos.PAIRS))

    figures = chaos.run(simulator, start, CYCLES, SEED, API_KEY, API_SECRET)

    print(figures.report(SEED))
    assert figures.violations == []
    assert figures.cycles == CYCLES and figures.kills >= 2 and figures.restarts == figures.kills


def test_a_violation_leaves_the_cycles_requests_bot_log_and_database(simulator, tmp_path):
    """What the soak writes for a breach (``keep_evidence``): the requests since the cycle began, the bot's log of
    the cycle and a copy of its database, so a race seen once in 300 cycles can be read afterwards."""
    chaos = load_benchmark("chaos_soak")
    db = tmp_path / "home" / "tradesv3.sqlite"
    db.parent.mkdir()
    with closing(sqlite3.connect(db)) as books:
        books.executescript("CREATE TABLE orders (id INTEGER PRIMARY KEY, order_id TEXT, ft_is_open INTEGER);"
                            "INSERT INTO orders VALUES (158, '1860000000000000495', 1);")
    make_client(BingX, simulator).fetch_positions()  # before the cycle: not in its evidence
    began = time.monotonic() + 1.0  # the writer keeps a second before the cycle's start
    make_client(BingX, simulator).fetch_open_orders(None, None, None, {"type": "swap", "subType": "linear"})

    folder = chaos.keep_evidence(tmp_path / "evidence" / "cycle-0067", "cycle 67 (press /forceexit): VIOLATION\n",
                                 simulator, began, "the bot's log of cycle 67\n", db)

    rows = [json.loads(line) for line in (folder / "requests.jsonl").read_text().splitlines()]
    paths = [row["path"] for row in rows]  # ccxt loads the markets first, then reads the open orders
    assert paths[-1] == "/openApi/swap/v2/trade/openOrders" and "/openApi/swap/v2/user/positions" not in paths
    assert all(row["t"] >= -1.0 for row in rows) and rows[-1]["api_key_ok"] is True
    assert API_KEY not in (folder / "requests.jsonl").read_text()  # the request log never holds the key
    assert (folder / "bot.log").read_text() == "the bot's log of cycle 67\n"
    assert (folder / "violation.txt").read_text().startswith("cycle 67")
    with closing(sqlite3.connect(folder / "tradesv3.sqlite")) as copy:
        assert copy.execute("SELECT id, order_id, ft_is_open FROM orders").fetchall() == [
            (158, "1860000000000000495", 1)]
