"""Measure bingx-closeall guard: from a rule tripping to flat, and to the bot's books closed.

A real freqtrade-bingx bot trades on the simulator (``--latency-ms`` on every answer); a real guard process
watches it (``--bot-config``, ``--interval``). Three cases, each ``--rounds`` times:

- **floor, through the bot**: the bot holds ``--trades`` trades; a price move takes equity under ``--floor``;
  the guard asks the bot's ``POST /api/v1/closeall``. Times: price move -> trip (the check interval's share),
  trip -> flat at BingX (the simulator's positions), trip -> the bot's books closed (its ``/status`` empty).
- **floor, bot API down**: the same with the bot killed first: the guard flattens directly. Books are closed
  when the bot is started again: that time is given from the bot's launch.
- **heartbeat**: the bot killed with SIGKILL; trip after ``--max-silence``; kill -> trip, trip -> flat.

The trip's moment is the guard's own (``tripped_at`` in its state file, the same machine's clock).
Prints figures; asserts nothing. Run: ``.venv/bin/python benchmarks/guard_benchmark.py [--latency-ms 50]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bingx_closeall_plugin import BingX
from bingx_closeall_plugin.simulator import BingXSimulator

TESTS = Path(__file__).resolve().parents[1] / "tests"
KEY, SECRET = "bench-key-4f1a", "bench-secret-9c2e7b"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "XRP/USDT:USDT", "DOGE/USDT:USDT"]
WAIT_S = 90.0


def equity(sim: BingXSimulator) -> float:
    exchange = BingX({"apiKey": KEY, "secret": SECRET})
    exchange.urls["api"] = dict.fromkeys(exchange.urls["api"], sim.base_url + "/openApi")
    row = exchange.swapV3PrivateGetUserBalance({})["data"][0]
    return float(row["balance"]) + float(row["unrealizedProfit"])


def wait(predicate: Any, what: str, timeout: float = WAIT_S, interval: float = 0.002) -> float:
    """Epoch time at which ``predicate`` was first seen true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.time()
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


class Guard:
    def __init__(self, workdir: Path, args: list[str]) -> None:
        self.state = workdir / f"state-{time.monotonic_ns()}.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BINGX_")}
        self.log = open(workdir / "guard.log", "ab")  # noqa: SIM115 - the child's output, closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "bingx_closeall_plugin.cli", "guard", "--state",
                                      str(self.state), *args], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def read(self) -> dict[str, Any]:
        try:
            return json.loads(self.state.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


def enter(bot: Any, sim: BingXSimulator, count: int) -> None:
    if bot.api("GET", "/show_config")["state"] != "running":
        bot.api("POST", "/start")
    bot.force_enter([(pair, "long") for pair in PAIRS[:count]], sim)
    # Killed before it has committed a stop it placed, freqtrade cannot book that trade at its restart (a gap of
    # freqtrade's start-up order check, see docs/guard.md): the kill comes once the stops are in its database.
    bot.wait_for(lambda: bot.db("SELECT COUNT(*) AS n FROM orders WHERE ft_order_side = 'stoploss' AND ft_is_open = 1")
                 [0]["n"] >= count, timeout=30, interval=0.1, what="the stops booked")


def drop_prices(sim: BingXSimulator, count: int) -> float:
    moved = time.time()
    for pair in PAIRS[:count]:
        symbol = pair.split("/")[0] + "-USDT"
        price = float([o["avgPrice"] for o in sim.orders(symbol) if o["status"] == "FILLED"][-1])
        sim.set_price(symbol, price * 0.97)
    return moved


def restore_prices(sim: BingXSimulator, count: int, start: dict[str, float]) -> None:
    for pair in PAIRS[:count]:
        symbol = pair.split("/")[0] + "-USDT"
        sim.set_price(symbol, start[symbol])


def case_through_bot(bot: Any, sim: BingXSimulator, workdir: Path, args: argparse.Namespace) -> dict[str, float]:
    enter(bot, sim, args.trades)
    guard = Guard(workdir, ["--bot-config", str(bot.config_path), "--interval", str(args.interval),
                            "--max-silence", "600", "--floor", f"{equity(sim) - 1:.4f}"])
    try:
        wait(lambda: guard.read().get("last"), "the guard's first check", interval=0.05)
        moved = drop_prices(sim, args.trades)
        flat = wait(lambda: not sim.positions(), "flat")
        books = wait(lambda: not bot.api("GET", "/status"), "the bot's books closed", interval=0.01)
        state = wait(lambda: guard.read().get("flattened") is not None, "the guard's record") and guard.read()
        if not state["flatten"]["via"].startswith("bot"):
            raise RuntimeError(f"expected a flatten through the bot, got {state['flatten']}")
        trip = state["tripped_at"]
        return {"move->trip": trip - moved, "trip->flat": flat - trip, "trip->books": books - trip}
    finally:
        guard.stop()


def case_direct(bot: Any, sim: BingXSimulator, workdir: Path, args: argparse.Namespace) -> dict[str, float]:
    enter(bot, sim, args.trades)
    bot.kill()
    guard = Guard(workdir, ["--bot-config", str(bot.config_path), "--interval", str(args.interval),
                            "--max-silence", "600", "--floor", f"{equity(sim) - 1:.4f}"])
    try:
        wait(lambda: guard.read().get("last"), "the guard's first check", interval=0.05)
        moved = drop_prices(sim, args.trades)
        flat = wait(lambda: not sim.positions(), "flat")
        state = wait(lambda: guard.read().get("flattened") is not None, "the guard's record") and guard.read()
        if state["flatten"]["via"] != "direct":
            raise RuntimeError(f"expected a direct flatten, got {state['flatten']}")
        trip = state["tripped_at"]
    finally:
        guard.stop()
    launched = time.time()
    bot.start()
    books = wait(lambda: not bot.api("GET", "/status"), "the books closed at restart", interval=0.01)
    return {"move->trip": trip - moved, "trip->flat": flat - trip, "launch->books": books - launched}


def case_heartbeat(bot: Any, sim: BingXSimulator, workdir: Path, args: argparse.Namespace) -> dict[str, float]:
    enter(bot, sim, args.trades)
    guard = Guard(workdir, ["--bot-config", str(bot.config_path), "--interval", str(args.interval),
                            "--max-silence", str(args.max_silence)])
    try:
        wait(lambda: guard.read().get("last"), "the guard's first check", interval=0.05)
        killed = time.time()
        bot.kill()
        flat = wait(lambda: not sim.positions(), "flat")
        state = wait(lambda: guard.read().get("flattened") is not None, "the guard's record") and guard.read()
        trip = state["tripped_at"]
    finally:
        guard.stop()
    bot.start()
    wait(lambda: not bot.api("GET", "/status"), "the books closed at restart", interval=0.05)
    return {"kill->trip": trip - killed, "trip->flat": flat - trip}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated BingX latency per answer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trades", type=int, default=3, choices=range(1, len(PAIRS) + 1))
    parser.add_argument("--interval", type=float, default=1.0, help="the guard's --interval")
    parser.add_argument("--max-silence", type=float, default=5.0, help="the guard's --max-silence (heartbeat case)")
    parser.add_argument("--workdir", default=None, help="keep the bot's and the guard's files here")
    args = parser.parse_args()
    sys.path.insert(0, str(TESTS))
    from freqtrade_bot import FreqtradeBot, make_config

    sim = BingXSimulator(api_key=KEY, api_secret=SECRET, latency_ms=args.latency_ms).start()
    start_prices = {p.split("/")[0] + "-USDT": None for p in PAIRS}
    with tempfile.TemporaryDirectory(prefix="guard-bench-") as tmp:
        workdir = Path(args.workdir or tmp)
        bot = FreqtradeBot(workdir, make_config(workdir, sim.base_url, key=KEY, secret=SECRET, pairs=PAIRS))
        try:
            bot.start()
            prices = {s: float(sim.account.prices[s]) for s in start_prices}
            results: dict[str, list[dict[str, float]]] = {"floor, through the bot": [], "floor, bot API down": [],
                                                          "heartbeat (kill -9)": []}
            for _ in range(args.rounds):
                for name, case in zip(results, (case_through_bot, case_direct, case_heartbeat), strict=True):
                    results[name].append(case(bot, sim, workdir, args))
                    restore_prices(sim, args.trades, prices)
        finally:
            bot.stop()
            sim.stop()
    print(f"guard benchmark: {args.trades} trade(s), simulated latency {args.latency_ms:g} ms per answer, guard "
          f"--interval {args.interval:g} s, --max-silence {args.max_silence:g} s (heartbeat), {args.rounds} round(s)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    for name, rounds in results.items():
        figures = "; ".join(f"{key} median {statistics.median(r[key] for r in rounds):.3f} s "
                            f"(max {max(r[key] for r in rounds):.3f})" for key in rounds[0])
        print(f"  {name:24s} {figures}")


if __name__ == "__main__":
    main()
