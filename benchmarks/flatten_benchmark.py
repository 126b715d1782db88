"""Measure /forceexit all in a real freqtrade-bingx bot: the plugin's one-request flatten vs freqtrade's loop.

For 1, 5, 20 and 50 open trades (each with its stoploss on the exchange) against the simulator with
injected latency, it POSTs ``/api/v1/forceexit {"tradeid": "all"}`` and measures from that moment (the wait
for the bot's exit lock included):
- time until the simulator holds no position (time to flat);
- time until every trade is closed in the bot's sqlite database;
- requests the bot sent to the exchange meanwhile.
The same bot class runs both sides; ``BINGX_ONE_REQUEST_FLATTEN=0`` switches the plugin's override off
for the native loop. Prints figures; asserts nothing.

Run: ``.venv/bin/python benchmarks/flatten_benchmark.py [--latency-ms 50] [--trades 1 5 20 50]``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bingx_closeall_plugin import to_unified
from bingx_closeall_plugin.simulator import BingXSimulator
from bingx_closeall_plugin.simulator.markets import linear_contracts

from freqtrade_bot import FreqtradeBot, make_config

KEY, SECRET = "bench-key", "bench-secret"
WAIT_S = 180


def open_in_db(bot: FreqtradeBot) -> int:
    with sqlite3.connect(bot.db_path) as db:
        return db.execute("SELECT COUNT(*) FROM trades WHERE is_open = 1").fetchone()[0]


def wait(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.01)


def run(sim: BingXSimulator, bot: FreqtradeBot, pairs: list[str]) -> tuple[float, float, int]:
    for pair in pairs:
        bot.api("POST", "/forceenter", {"pair": pair, "side": "long"})
    wait(lambda: len(bot.api("GET", "/status")) == len(pairs) and not any(
        t["has_open_orders"] for t in bot.api("GET", "/status")), "trades filled")
    wait(lambda: len([o for o in sim.open_orders() if o["type"] == "STOP_MARKET"]) == len(pairs), "stops placed")
    before = len(sim.requests)
    # The POST answers once the bookkeeping is done: the account is watched while it is in flight.
    press = threading.Thread(target=bot.api, args=("POST", "/forceexit", {"tradeid": "all"}),
                             kwargs={"timeout": WAIT_S})
    started = time.monotonic()
    press.start()
    wait(lambda: not sim.positions(), "flat")
    flat = time.monotonic() - started
    wait(lambda: open_in_db(bot) == 0, "closed in the database")
    closed = time.monotonic() - started
    press.join(WAIT_S)
    return flat, closed, len(sim.requests) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--trades", type=int, nargs="+", default=[1, 5, 20, 50])
    args = parser.parse_args()
    pairs = [to_unified(c["symbol"]) for c in linear_contracts()[: max(args.trades)]]  # ccxt's names
    results: dict[str, dict[int, tuple[float, float, int]]] = {}
    for mode, switch in (("plugin", "1"), ("native", "0")):
        os.environ["BINGX_ONE_REQUEST_FLATTEN"] = switch  # inherited by the bot process
        with BingXSimulator(api_key=KEY, api_secret=SECRET) as sim, tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            bot = FreqtradeBot(home, make_config(home, sim.base_url, key=KEY, secret=SECRET, pairs=pairs,
                                                 max_open_trades=len(pairs), stake_amount=50))
            try:
                bot.start()
                sim.latency_ms = args.latency_ms
                results[mode] = {n: run(sim, bot, pairs[:n]) for n in args.trades}
            finally:
                bot.stop()
        print(f"{mode}: done", file=sys.stderr)
    print(f"simulator latency {args.latency_ms:.0f} ms per request; time counted from the POST\n")
    print("| trades | plugin: to flat | plugin: all closed in DB | plugin: requests | native: to flat "
          "| native: all closed in DB | native: requests | speed-up to flat |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.trades:
        p, q = results["plugin"][n], results["native"][n]
        print(f"| {n} | {p[0]:.2f} s | {p[1]:.2f} s | {p[2]} "
              f"| {q[0]:.2f} s | {q[1]:.2f} s | {q[2]} | {q[0] / p[0]:.1f}x |")


if __name__ == "__main__":
    main()
