"""bingx-closeall-demo: the panic button on the embedded BingX simulator, with no keys and no network.

Starts the simulator on a free loopback port, seeds an account with open positions (long and short,
USDT-M) and resting take-profit/stop orders, runs ``bingx-closeall --yes`` against it exactly as an
operator would, then reads the simulator's request log to show what went over the wire.
"""

from __future__ import annotations

import os
import secrets
import sys

from . import cli
from .simulator import BingXSimulator

SEED = [
    ("BTC-USDT", "LONG", 0.05), ("ETH-USDT", "SHORT", 1.2), ("SOL-USDT", "LONG", 15),
    ("XRP-USDT", "SHORT", 2500), ("DOGE-USDT", "LONG", 20000),
]


def main(argv: list[str] | None = None) -> int:
    key, secret = "demo-" + secrets.token_hex(8), secrets.token_hex(16)
    with BingXSimulator(api_key=key, api_secret=secret, latency_ms=20) as sim:
        for symbol, side, qty in SEED:
            sim.seed_position(symbol, side, qty)
        sim.seed_order("BTC-USDT", side="SELL", type="STOP_MARKET", quantity=0.05, stop_price=40000.0, reduce_only=True)
        sim.seed_order("ETH-USDT", side="BUY", type="TAKE_PROFIT_MARKET", quantity=1.2, stop_price=1000.0,
                       reduce_only=True)
        print(f"BingX simulator on {sim.base_url}: {len(sim.positions())} open positions, "
              f"{len(sim.open_orders())} open orders\n")
        os.environ.update(BINGX_API_KEY=key, BINGX_API_SECRET=secret)
        sim.clear_requests()
        code = cli.main(["--yes", "--base-url", sim.base_url, *(argv if argv is not None else sys.argv[1:])])
        print("\nwhat went over the wire, in order of arrival:")
        for record in sim.requests:
            print(f"  {record.method:6} {record.path}  -> code {record.code}")
        print(f"closeAllPositions requests: {len(sim.requests_to('closeAllPositions'))}; positions left: "
              f"{len(sim.positions())}; open orders left: {len(sim.open_orders())}")
        print(f"bingx-closeall exit code: {code}")
    return code


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
