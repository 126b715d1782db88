"""``python -m bingx_closeall_plugin.simulator``: run the BingX simulator in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import BingXSimulator


def _seed(sim: BingXSimulator, specs: list[str]) -> None:
    for spec in specs:
        parts = spec.split(":")
        if len(parts) not in (3, 4):
            raise SystemExit(f"--seed expects SYMBOL:LONG|SHORT:QTY[:ENTRY], got {spec!r}")
        entry = float(parts[3]) if len(parts) == 4 else None
        sim.seed_position(parts[0], parts[1], float(parts[2]), entry_price=entry)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bingx-simulator", description="Local BingX perpetual-futures simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default="sim-key")
    parser.add_argument("--api-secret", default="sim-secret")
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--seed", action="append", default=[], metavar="SYMBOL:SIDE:QTY[:ENTRY]",
                        help="seed a position, e.g. BTC-USDT:LONG:0.01 (repeatable)")
    parser.add_argument("--hedge", action="store_true", help="start in hedge (dual-side) position mode")
    args = parser.parse_args(argv)

    sim = BingXSimulator(api_key=args.api_key, api_secret=args.api_secret, latency_ms=args.latency_ms,
                         hedge_mode=args.hedge, host=args.host, port=args.port)
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    sim.start()
    try:
        _seed(sim, args.seed)
        print(f"BingX simulator listening on {sim.base_url} (client API base: {sim.base_url}/openApi)", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
