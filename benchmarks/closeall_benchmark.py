"""Measure the panic button against the simulator with injected latency.

For 1, 10 and 50 open positions it measures, side by side:
- ``bingx-closeall --yes`` as a child process: requests sent before the close request, time from the
  CLI's start to the close request on the wire, and time until the account is flat;
- ``close_all_positions()`` from a ccxt script with a client already built: time until flat;
- the usual ccxt loop: ``create_order(..., 'market', ..., {'reduceOnly': True})`` per position, markets
  already loaded (the loop's best case).

Prints figures; asserts nothing. Run: ``.venv/bin/python benchmarks/closeall_benchmark.py [--latency-ms 50]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from bingx_closeall_plugin import BingX, close_all_positions
from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator
from bingx_closeall_plugin.simulator.markets import linear_contracts

KEY, SECRET = "bench-key", "bench-secret"
FLAT_WAIT_S = 60


def client(sim: BingXSimulator) -> BingX:
    exchange = BingX({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False, "options": {"defaultType": "swap"}})
    exchange.urls["api"] = api_urls(sim.base_url)
    return exchange


def seed(sim: BingXSimulator, count: int) -> None:
    sim.reset()
    for index, contract in enumerate(linear_contracts()[:count]):
        symbol = contract["symbol"]
        qty = float(contract["tradeMinQuantity"]) * 10
        sim.seed_position(symbol, "LONG" if index % 2 == 0 else "SHORT", qty)
    sim.clear_requests()


def wait_flat(sim: BingXSimulator, started: float) -> float:
    deadline = started + FLAT_WAIT_S
    while sim.positions() and time.monotonic() < deadline:
        time.sleep(0.002)
    return time.monotonic() - started


def bench_cli(sim: BingXSimulator, count: int) -> tuple[int, float, float]:
    seed(sim, count)
    env = {**os.environ, "BINGX_API_KEY": KEY, "BINGX_API_SECRET": SECRET, "BINGX_BASE_URL": sim.base_url}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "bingx_closeall_plugin.cli", "--yes", "--json"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    to_flat = wait_flat(sim, started)
    process.wait(timeout=FLAT_WAIT_S)
    log = sim.requests
    close = next(r for r in log if r.path.endswith("closeAllPositions"))
    before = [r for r in log if r.started < close.started and not r.path.endswith("allOpenOrders")]
    return len(before), close.started - started, to_flat


def bench_api(sim: BingXSimulator, count: int) -> float:
    exchange = client(sim)
    seed(sim, count)
    started = time.monotonic()
    close_all_positions(exchange)
    return wait_flat(sim, started)


def bench_loop(sim: BingXSimulator, count: int) -> float:
    exchange = client(sim)
    exchange.load_markets()
    seed(sim, count)
    started = time.monotonic()
    for position in exchange.fetch_positions():
        # One-way accounts report positionSide BOTH and a signed amount.
        amount = float(position["info"]["positionAmt"])
        side = "sell" if amount > 0 else "buy"
        exchange.create_order(position["symbol"], "market", side, abs(amount), None, {"reduceOnly": True})
    return wait_flat(sim, started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--positions", type=int, nargs="+", default=[1, 10, 50])
    args = parser.parse_args()
    with BingXSimulator(api_key=KEY, api_secret=SECRET, latency_ms=args.latency_ms) as sim:
        print(f"simulator latency {args.latency_ms:.0f} ms per request; median of {args.repeat} runs\n")
        print("| positions | requests before close | CLI start -> close on wire | CLI start -> flat "
              "| API call -> flat | ccxt reduceOnly loop -> flat |")
        print("|---:|---:|---:|---:|---:|---:|")
        for count in args.positions:
            cli = [bench_cli(sim, count) for _ in range(args.repeat)]
            api = [bench_api(sim, count) for _ in range(args.repeat)]
            loop = [bench_loop(sim, count) for _ in range(args.repeat)]
            print(f"| {count} | {max(c[0] for c in cli)} | {statistics.median(c[1] for c in cli) * 1000:.0f} ms "
                  f"| {statistics.median(c[2] for c in cli) * 1000:.0f} ms | {statistics.median(api) * 1000:.0f} ms "
                  f"| {statistics.median(loop) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
