"""``bingx-simulator`` (``python -m bingx_closeall_plugin.simulator``): the BingX simulator in the foreground.

A rehearsal tool: ``--seed`` opens positions and ``--order`` places resting orders (stops, take-profits,
entries) before it prints the key, the secret and the base URL to point bingx-closeall or a bot at.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .records import LIMIT_AFTER_TRIGGER, TRIGGER_TYPES, BingXError
from .server import BingXSimulator

RESTING_TYPES = ("LIMIT", *sorted(TRIGGER_TYPES))  # MARKET would fill at once: a position is --seed
ORDER_SPEC = "SYMBOL:BUY|SELL:TYPE:QTY:PRICE[:LONG|SHORT]"


def _seed(sim: BingXSimulator, specs: list[str]) -> None:
    for spec in specs:
        parts = spec.split(":")
        if len(parts) not in (3, 4):
            raise SystemExit(f"--seed expects SYMBOL:LONG|SHORT:QTY[:ENTRY], got {spec!r}")
        entry = float(parts[3]) if len(parts) == 4 else None
        sim.seed_position(parts[0], parts[1], float(parts[2]), entry_price=entry)


def _orders(sim: BingXSimulator, specs: list[str], hedge: bool) -> None:
    """Resting orders as BingX would hold them: stops and take-profits reduce-only, limits open a position."""
    for spec in specs:
        parts = spec.split(":")
        if len(parts) not in (5, 6):
            raise SystemExit(f"--order expects {ORDER_SPEC}, got {spec!r}")
        symbol, side, type_, qty, price = parts[0], parts[1].upper(), parts[2].upper(), parts[3], parts[4]
        if type_ not in RESTING_TYPES:
            raise SystemExit(f"--order {spec!r}: TYPE must be one of {', '.join(RESTING_TYPES)}")
        if side not in ("BUY", "SELL"):
            raise SystemExit(f"--order {spec!r}: side must be BUY or SELL")
        try:
            quantity, level = float(qty), float(price)
        except ValueError:
            raise SystemExit(f"--order {spec!r}: QTY and PRICE must be numbers") from None
        closing = type_ in TRIGGER_TYPES - {"TRIGGER_MARKET", "TRIGGER_LIMIT"}  # stops and take-profits
        if hedge:
            # Hedge mode: a closing SELL belongs to the LONG side; an opening BUY too.
            default_side = "LONG" if (side == "SELL") == closing else "SHORT"
            position_side = parts[5].upper() if len(parts) == 6 else default_side
        else:
            position_side = "BOTH"
        trigger = type_ in TRIGGER_TYPES
        try:
            sim.seed_order(symbol, side, type_, quantity,
                           stop_price=level if trigger else None,
                           price=level if (not trigger or type_ in LIMIT_AFTER_TRIGGER) else None,
                           reduce_only=closing, position_side=position_side)
        except BingXError as e:
            raise SystemExit(f"--order {spec!r}: {e}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bingx-simulator", description="Local BingX perpetual-futures simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default="sim-key")
    parser.add_argument("--api-secret", default="sim-secret")
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--seed", action="append", default=[], metavar="SYMBOL:SIDE:QTY[:ENTRY]",
                        help="seed a position, e.g. BTC-USDT:LONG:0.01 (repeatable)")
    parser.add_argument("--order", action="append", default=[], metavar=ORDER_SPEC,
                        help="seed a resting order (repeatable): STOP_MARKET/TAKE_PROFIT_MARKET at PRICE reduce-only, "
                             "LIMIT entries at PRICE, e.g. BTC-USDT:SELL:STOP_MARKET:0.01:60000 or "
                             "ETH-USDT:BUY:LIMIT:0.1:2000")
    parser.add_argument("--hedge", action="store_true", help="start in hedge (dual-side) position mode")
    parser.add_argument("--extra-contracts", type=int, default=0, metavar="N",
                        help="list N made-up USDT-M contracts (X001-USDT ...) after the default 71")
    args = parser.parse_args(argv)

    sim = BingXSimulator(api_key=args.api_key, api_secret=args.api_secret, latency_ms=args.latency_ms,
                         hedge_mode=args.hedge, host=args.host, port=args.port, extra_contracts=args.extra_contracts)
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    sim.start()
    try:
        _seed(sim, args.seed)
        _orders(sim, args.order, args.hedge)
        # The simulator's own made-up credentials: printing them is the point (nothing real is ever here).
        print(f"BingX simulator listening on {sim.base_url} (client API base: {sim.base_url}/openApi)\n"
              f"  key: {args.api_key}\n  secret: {args.api_secret}\n"
              f"  {len(sim.positions())} position(s), {len(sim.open_orders())} open order(s) seeded\n"
              f"  try: BINGX_API_KEY={args.api_key} BINGX_API_SECRET={args.api_secret} "
              f"BINGX_BASE_URL={sim.base_url} bingx-closeall --dry-run", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
