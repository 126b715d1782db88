"""Measure a real freqtrade-bingx bot with N trades: the plugin vs freqtrade's own loop, side by side.

For 1, 10, 20 and 50 open trades (each with its stoploss on the exchange) against the simulator with
injected latency, it first counts the signed requests of two idle loop iterations (cut where the bot's
``last_process`` changes, ``GET /health``), then POSTs ``/api/v1/forceexit {"tradeid": "all"}`` and measures
from that moment (the wait for the bot's exit lock included):
- time until the simulator holds no position (time to flat);
- time until every trade is closed in the bot's sqlite database;
- the same, counted from BingX's answer to the last close request (closeAllPositions, or freqtrade's own
  per-trade exit orders);
- requests the bot sent to the exchange meanwhile.
The same bot class runs both sides; for freqtrade's own loop ``BINGX_ONE_REQUEST_FLATTEN=0`` switches the
one-request flatten off and ``BINGX_ONE_READ_LOOP=0`` the one open-orders read per loop iteration.
Prints figures; asserts nothing.

Run: ``.venv/bin/python benchmarks/flatten_benchmark.py [--latency-ms 50] [--trades 1 10 20 50] [--presses 1]
[--sides plugin freqtrade]``. With ``--presses K`` each size is entered and flattened K times (a press lands anywhere
in the bot's loop): the table shows the median and, in brackets, the slowest press.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bingx_closeall_plugin import to_unified
from bingx_closeall_plugin.simulator import BingXSimulator
from bingx_closeall_plugin.simulator.markets import linear_contracts

from freqtrade_bot import FreqtradeBot, make_config, signed

KEY, SECRET = "bench-key", "bench-secret"
WAIT_S = 300
IDLE_ITERATIONS = 2
MODES = {  # name -> the bot's environment switches
    "plugin": {"BINGX_ONE_REQUEST_FLATTEN": "1", "BINGX_ONE_READ_LOOP": "1"},
    "freqtrade": {"BINGX_ONE_REQUEST_FLATTEN": "0", "BINGX_ONE_READ_LOOP": "0"},
}


@dataclass
class Run:
    idle_signed: float  # signed requests per idle loop iteration
    flat: float  # s from the POST until no position
    closed: float  # s from the POST until every trade is closed in the database
    after_answer: float  # s from BingX's answer to the last close until every trade is closed in the database
    requests: int  # requests the bot sent from the POST until every trade was closed


def open_in_db(bot: FreqtradeBot) -> int:
    with sqlite3.connect(bot.db_path) as db:
        return db.execute("SELECT COUNT(*) FROM trades WHERE is_open = 1").fetchone()[0]


def wait(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.005)


def is_close(record) -> bool:
    return record.path.endswith("trade/closeAllPositions") or (
        record.path.endswith("trade/order") and record.method == "POST" and record.params.get("type") == "MARKET")


def run(sim: BingXSimulator, bot: FreqtradeBot, pairs: list[str]) -> Run:
    bot.force_enter([(pair, "long") for pair in pairs], sim, timeout=WAIT_S)
    iterations = bot.loop_iterations(sim, IDLE_ITERATIONS, timeout=WAIT_S)
    idle = sum(len(signed(it)) for it in iterations) / len(iterations)
    before = len(sim.requests)
    # The POST answers once the bookkeeping is done: the account and the database are watched while it is in flight.
    press = threading.Thread(target=bot.api, args=("POST", "/forceexit", {"tradeid": "all"}),
                             kwargs={"timeout": WAIT_S})
    started = time.monotonic()
    press.start()
    wait(lambda: not sim.positions(), "flat")
    flat = time.monotonic() - started
    wait(lambda: open_in_db(bot) == 0, "closed in the database")
    closed_at = time.monotonic()
    log = sim.requests[before:]
    answered = max((r.finished for r in log if is_close(r) and r.finished is not None and r.finished <= closed_at),
                   default=started)
    press.join(WAIT_S)
    return Run(idle, flat, closed_at - started, closed_at - answered, len(log))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--trades", type=int, nargs="+", default=[1, 10, 20, 50])
    parser.add_argument("--sides", nargs="+", choices=list(MODES), default=list(MODES),
                        help="which side(s) to run (default: both)")
    parser.add_argument("--presses", type=int, default=1, help="flattens per size and side (default 1)")
    args = parser.parse_args()
    pairs = [to_unified(c["symbol"]) for c in linear_contracts()[: max(args.trades)]]  # ccxt's names
    results: dict[str, dict[int, list[Run]]] = {}
    for mode in args.sides:
        switches = MODES[mode]
        os.environ.update(switches)  # inherited by the bot process
        with BingXSimulator(api_key=KEY, api_secret=SECRET) as sim, tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            bot = FreqtradeBot(home, make_config(home, sim.base_url, key=KEY, secret=SECRET, pairs=pairs,
                                                 max_open_trades=len(pairs), stake_amount=50))
            try:
                bot.start()
                sim.latency_ms = args.latency_ms
                results[mode] = {}
                for n in args.trades:
                    results[mode][n] = []
                    for _ in range(args.presses):
                        results[mode][n].append(run(sim, bot, pairs[:n]))
                        print(f"{mode} {n}: {results[mode][n][-1]}", file=sys.stderr)
            finally:
                bot.stop()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}; simulator latency "
          f"{args.latency_ms:.0f} ms per request; freqtrade process_throttle_secs 1; stoploss on exchange; "
          f"times counted from the POST /forceexit all; {args.presses} press(es) per size and side"
          + (" (median [slowest])" if args.presses > 1 else "") + "\n")
    print("| trades | side | signed requests per idle loop iteration | time to flat | every trade closed in DB "
          "| closed in DB after BingX's answer to the close | requests during the flatten |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n in args.trades:
        for mode in args.sides:
            runs = results[mode][n]

            def figure(field: str, unit: str = " s", runs: list[Run] = runs) -> str:
                values = [getattr(r, field) for r in runs]
                text = f"{statistics.median(values):.2f}{unit}" if unit else f"{statistics.median(values):g}"
                return text + (f" [{max(values):.2f}{unit}]" if unit and len(values) > 1 else "")

            print(f"| {n} | {mode} | {figure('idle_signed', '')} | {figure('flat')} | {figure('closed')} "
                  f"| {figure('after_answer')} | {figure('requests', '')} |")


if __name__ == "__main__":
    main()
