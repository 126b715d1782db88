"""Soak the close path: repeated open-then-flatten cycles on the simulator, a random fault in each.

Each cycle starts from a clean simulated account (``sim.reset()``: positions, faults, the request log and
the 5/s close-all window), opens 1..5 random positions (seeded, or as real market orders sent through
ccxt), sometimes leaves a resting take-profit (reduce-only) and an entry order, arms one fault drawn from
the fault matrix (and, on some cycles, a failing cancel of open orders beside it), and runs ``flatten()``
with the plugin's ``BingX`` client. After every cycle it checks:

- no reverse position: the simulator recorded no fill that took a position past zero or beyond its size
  (``sim.reversals()``), and whatever is left is on the side it was opened;
- close requests: exactly what the fault needs (one, plus one per verified or re-closed round it
  forces), never more;
- the account ends flat, or the report (or the error for faults that refuse the close) says exactly what
  remains: the report's remaining positions equal the simulator's;
- nothing but a ccxt error escapes, and only where the fault refuses the close;
- a position still open keeps its take-profit (protective orders go only once their position is flat),
  and a report that says flat with no cancel error leaves no order resting.

Figures are printed; the exit status is 1 when an invariant was violated. Run:
``python benchmarks/soak.py [--cycles 150] [--seed 6]`` (the CI size: 150 cycles, about 15 s on 2 cores); ``-v``
shows the close path's warnings.
"""

from __future__ import annotations

import argparse
import collections
import logging
import random
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ccxt

from bingx_closeall_plugin import BingX, flatten
from bingx_closeall_plugin.core import errors
from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator, Fault

KEY, SECRET = "soak-key", "soak-secret"
CLOSE = "trade/closeAllPositions"
# Liquid USDT-M contracts with their minimum quantities in the simulator.
SYMBOLS = {"BTC-USDT": 0.0001, "ETH-USDT": 0.01, "SOL-USDT": 0.1, "XRP-USDT": 1.0, "DOGE-USDT": 1.0,
           "BNB-USDT": 0.01, "ADA-USDT": 1.0, "LINK-USDT": 0.1}
API_TIMEOUT_MS = 800  # the slow fault answers after 1.2 s: past this, so the close path must verify; roomy for
SLOW_S = 1.2  # a loaded 2-core machine, where a tighter timeout would also fire on answers that are merely late
UNBLOCK = "The endpoint trigger frequency limit rule is currently in the disabled period and will be unblocked after {}"
REFUSALS = [(100419, "IP does not match IP whitelist"), (100413, "Incorrect apiKey"),
            (100001, "Signature verification failed"),
            (80020, "risk forbidden"), (109403, "risk forbidden"), (100410, "rate limited"), (109429, "rate limited"),
            (109400, "Invalid parameters, recvWindow"), (80018, "order is already filled"),
            (109422, "order or position not exist")]


@dataclass
class Cycle:
    """One cycle's account and fault, as drawn."""

    opened: dict[str, tuple[str, float]]  # symbol -> (LONG/SHORT, qty)
    kind: str
    protective: dict[str, str] = field(default_factory=dict)  # resting reduce-only order id -> symbol
    closes: int = 0  # close requests the fault needs
    raises: bool = False  # the fault refuses the close: an error instead of a report
    reopened: bool = False


@dataclass
class Figures:
    cycles: int = 0
    seed: int = 0
    faults: collections.Counter = field(default_factory=collections.Counter)
    cancel_faults: int = 0
    opened_by_order: int = 0
    positions_opened: int = 0
    close_requests: int = 0
    ended_flat: int = 0
    ended_reported_open: int = 0
    ended_error: int = 0
    violations: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"cycles: {self.cycles} (seed {self.seed})",
            f"positions opened: {self.positions_opened} ({self.opened_by_order} by market order through ccxt)",
            f"close requests: {self.close_requests}",
            f"ended flat: {self.ended_flat}; not flat, report says what remains: {self.ended_reported_open}; "
            f"close refused, error raised: {self.ended_error}",
            f"faults injected ({sum(self.faults.values())}, {len(self.faults)} kinds), "
            f"plus {self.cancel_faults} failing cancels:",
        ]
        out += [f"  {kind:<28} {count}" for kind, count in sorted(self.faults.items())]
        out.append(f"invariant violations: {len(self.violations)}")
        out += [f"  {v}" for v in self.violations[:20]]
        out.append(f"wall time: {self.wall_s:.1f} s")
        return out


def _closed_port() -> socket.socket:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))  # bound, never listening: a connection is refused at once
    return holder


# Each fault: how to arm it, and the close requests it needs (given the cycle) and whether it refuses the close.
Arm = Callable[[BingXSimulator, Cycle, random.Random], None]


def _inject(fault: Fault, times: int = 1) -> Arm:
    return lambda sim, cycle, rng: sim.inject(CLOSE, fault, times=times)


def _failed(sim: BingXSimulator, cycle: Cycle, rng: random.Random) -> None:
    sim.inject(CLOSE, Fault.failed(rng.sample(sorted(cycle.opened), rng.randint(1, len(cycle.opened)))))


def _reopen(sim: BingXSimulator, cycle: Cycle, rng: random.Random) -> None:
    symbol = rng.choice(sorted(cycle.opened))
    side, qty = cycle.opened[symbol]
    sim.inject(CLOSE, Fault.reopen(symbol, side, qty))
    cycle.reopened = True


def _rate_limit_between_rounds(sim: BingXSimulator, cycle: Cycle, rng: random.Random) -> None:
    # Ends in 2 minutes: beyond flatten's 30 s deadline, so the re-close round stops at once.
    sim.inject(CLOSE, Fault.failed(rng.choice(sorted(cycle.opened))))
    sim.inject(CLOSE, Fault.error(100410, UNBLOCK.format(sim.server_time_ms() + 120_000)))


def _rate_limit_waited_out(sim: BingXSimulator, cycle: Cycle, rng: random.Random) -> None:
    # Ends in 0.3 s: inside the deadline, waited out on BingX's clock, then the close is sent again.
    sim.inject(CLOSE, Fault.error(100410, UNBLOCK.format(sim.server_time_ms() + 300)))


def _refusal(sim: BingXSimulator, cycle: Cycle, rng: random.Random) -> None:
    sim.inject(CLOSE, Fault.error(*rng.choice(REFUSALS)))


def _skew(sim: BingXSimulator, cycle: Cycle, rng: random.Random) -> None:
    sim.clock_offset_ms = rng.choice((-1, 1)) * rng.randint(61_000, 600_000)


# kind -> (arm, close requests needed, refuses the close). Refused connections are handled in the loop.
FAULTS: dict[str, tuple[Arm, int, bool]] = {
    "none": (lambda sim, cycle, rng: None, 1, False),
    "lost_reply_executed": (_inject(Fault.lost_reply(executed=True)), 1, False),
    "lost_reply_not_executed": (_inject(Fault.lost_reply(executed=False)), 2, False),
    "slow_reply_past_timeout": (_inject(Fault.delay(SLOW_S)), 1, False),
    "html_5xx_executed": (_inject(Fault.http_error(502, executed=True)), 1, False),
    "html_5xx_not_executed": (_inject(Fault.http_error(503, "<html>503</html>")), 2, False),
    "already_submitted_109201": (_inject(Fault.error(109201, "only allowed to be submitted once within 1 second")),
                                 2, False),
    "service_busy_80001_109500": (lambda sim, cycle, rng: sim.inject(CLOSE, Fault.error(*rng.choice(
        [(80001, "service has some errors"), (109500, "system busy")]))), 2, False),
    "timestamp_refused": (lambda sim, cycle, rng: sim.inject(CLOSE, Fault.error(*rng.choice(
        [(80014, "timestamp is invalid"), (100421, "Null timestamp or timestamp mismatch"),
         (109400, "Invalid parameters, timestamp")]))), 2, False),
    "clock_skew": (_skew, 2, False),
    "no_position_101205": (_inject(Fault.error(101205, "No position to close")), 2, False),
    "failed_entry": (_failed, 2, False),
    "position_reappears": (_reopen, 2, False),
    "rate_limit_between_rounds": (_rate_limit_between_rounds, 2, False),
    "rate_limit_waited_out": (_rate_limit_waited_out, 2, False),
    "refusal": (_refusal, 1, True),
    "connection_refused": (lambda sim, cycle, rng: None, 0, True),
}


def client_for(sim: BingXSimulator, base_url: str | None = None) -> BingX:
    exchange = BingX({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False, "timeout": API_TIMEOUT_MS})
    exchange.urls["api"] = api_urls(base_url or sim.base_url)
    return exchange


def open_positions(sim: BingXSimulator, exchange: BingX, rng: random.Random, figures: Figures) -> Cycle:
    """Opens the cycle's positions and resting orders; the cycle's fault is drawn by the caller."""
    opened = {}
    protective = {}
    for symbol in rng.sample(sorted(SYMBOLS), rng.randint(1, 5)):
        side = rng.choice(("LONG", "SHORT"))
        qty = round(SYMBOLS[symbol] * rng.randint(1, 50), 6)
        if rng.random() < 0.3:  # a real market order, signed and sent by ccxt
            exchange.swapV2PrivatePostTradeOrder({"symbol": symbol, "side": "BUY" if side == "LONG" else "SELL",
                                                  "positionSide": "BOTH", "type": "MARKET", "quantity": qty})
            figures.opened_by_order += 1
        else:
            sim.seed_position(symbol, side, qty)
        opened[symbol] = (side, qty)
    if rng.random() < 0.3:  # a resting take-profit: cancelled only once its position is flat
        symbol = rng.choice(sorted(opened))
        side, qty = opened[symbol]
        price = sim.account.prices[symbol]
        order_id = sim.seed_order(symbol, side="SELL" if side == "LONG" else "BUY", type="TAKE_PROFIT_MARKET",
                                  quantity=qty, stop_price=price * (1.5 if side == "LONG" else 0.5), reduce_only=True)
        protective[str(order_id)] = symbol
    if rng.random() < 0.3:  # an entry far from the price: cancelled beside the close
        symbol = rng.choice(sorted(opened))
        price = sim.account.prices[symbol]
        sim.seed_order(symbol, side="BUY", type="LIMIT", quantity=SYMBOLS[symbol], price=price * 0.5, reduce_only=False)
    figures.positions_opened += len(opened)
    return Cycle(opened=opened, kind="", protective=protective)


def check(sim: BingXSimulator, cycle: Cycle, outcome: Any, index: int) -> list[str]:
    """The invariants after one cycle; returns what was violated."""
    bad = []
    tag = f"cycle {index} ({cycle.kind})"
    if sim.reversals():
        bad.append(f"{tag}: a fill reversed or over-closed a position: {sim.reversals()}")
    left = {p["symbol"]: float(p["positionAmt"]) for p in sim.positions()}
    for symbol, amount in left.items():
        side = cycle.opened.get(symbol, ("?", 0))[0]
        if (amount > 0) != (side == "LONG"):
            bad.append(f"{tag}: {symbol} is {amount}, opened {side}")
    closes = len(sim.requests_to(CLOSE))
    if closes != cycle.closes:
        bad.append(f"{tag}: {closes} close requests, the fault needs {cycle.closes}")
    trading = [r.path for r in sim.requests if r.method in ("POST", "DELETE")
               and not r.path.endswith((CLOSE, "allOpenOrders", "trade/order"))]
    # The entries' cancel and the flat positions' (one per symbol at most), each once more if refused or lost.
    cancels = len(sim.requests_to("allOpenOrders")) + len(sim.requests_to("trade/order"))
    if trading or cancels > 2 * (1 + len(cycle.opened)):
        bad.append(f"{tag}: requests that trade besides the closes and the cancels: {trading}")
    resting = {str(o["orderId"]) for o in sim.open_orders()}
    for order_id, symbol in cycle.protective.items():
        if symbol in left and order_id not in resting:
            bad.append(f"{tag}: {symbol} is still open but its take-profit {order_id} was cancelled")
    if not isinstance(outcome, BaseException) and outcome.flat and not outcome.orders_left and resting:
        bad.append(f"{tag}: the report says flat with no cancel error, yet orders rest: {sorted(resting)}")
    if isinstance(outcome, BaseException):
        if not (cycle.raises and isinstance(outcome, ccxt.BaseError)):
            bad.append(f"{tag}: raised {type(outcome).__name__}: {outcome}")
        elif sorted(left) != sorted(cycle.opened):
            bad.append(f"{tag}: the close was refused but the account changed: {left}")
    else:
        if cycle.raises:
            bad.append(f"{tag}: expected the close to be refused, got a report")
        reported = {p["symbol"]: float(p["positionAmt"]) for p in outcome.remaining_positions}
        if reported != left:
            bad.append(f"{tag}: the report says {reported} remain, the account has {left}")
        if outcome.flat != (not left and outcome.error is None):
            bad.append(f"{tag}: report.flat is {outcome.flat} with {left} open and error {outcome.error!r}")
        if cycle.kind == "rate_limit_between_rounds" and not isinstance(outcome.error, errors.RateLimited):
            bad.append(f"{tag}: the rate-limited re-close is not in report.error: {outcome.error!r}")
    return bad


def run(cycles: int = 150, seed: int = 6, sim: BingXSimulator | None = None) -> Figures:
    """Run the soak; uses ``sim`` (given key/secret KEY, SECRET) or starts its own simulator."""
    rng = random.Random(seed)
    figures = Figures(seed=seed)
    own = sim is None
    simulator = sim or BingXSimulator(api_key=KEY, api_secret=SECRET).start()
    refused = _closed_port()
    started = time.monotonic()
    try:
        kinds = sorted(FAULTS)
        for index in range(cycles):
            simulator.reset()
            opener = client_for(simulator)
            cycle = open_positions(simulator, opener, rng, figures)
            cycle.kind = rng.choice(kinds)
            arm, cycle.closes, cycle.raises = FAULTS[cycle.kind]
            simulator.clear_requests()
            arm(simulator, cycle, rng)
            if cycle.kind not in ("connection_refused", "refusal") and rng.random() < 0.2:
                simulator.inject("trade/allOpenOrders", Fault.http_error(502))
                figures.cancel_faults += 1
            url = f"http://127.0.0.1:{refused.getsockname()[1]}" if cycle.kind == "connection_refused" else None
            try:
                outcome: Any = flatten(client_for(simulator, url))
            except Exception as e:  # noqa: BLE001 - judged by check(): only ccxt errors of refusing faults pass
                outcome = e
            figures.faults[cycle.kind] += 1
            figures.cycles += 1
            figures.close_requests += len(simulator.requests_to(CLOSE))
            if isinstance(outcome, BaseException):
                figures.ended_error += 1
            elif outcome.flat:
                figures.ended_flat += 1
            else:
                figures.ended_reported_open += 1
            figures.violations += check(simulator, cycle, outcome, index)
    finally:
        refused.close()
        if own:
            simulator.stop()
    figures.wall_s = time.monotonic() - started
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=150, help="open-then-flatten cycles (CI size 150)")
    parser.add_argument("--seed", type=int, default=6, help="seed of random.Random for positions and faults")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the close path's warnings (one or more per fault)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")
    figures = run(args.cycles, args.seed)
    print("\n".join(figures.lines()))
    return 1 if figures.violations else 0


if __name__ == "__main__":
    sys.exit(main())
