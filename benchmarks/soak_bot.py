"""Soak the freqtrade flatten path: open-then-flatten cycles through a real freqtrade-bingx bot, a random fault each.

One live bot (sqlite database, REST API) trades on a local BingX simulator. Each cycle force-enters 1..4
random pairs on random sides, waits for their stoplosses on the exchange, arms one fault drawn from the fault
matrix (``random.Random(seed)``), presses ``/forceexit all`` or ``/closeall`` through the REST API, and waits
(bounded) for the bot to settle. After every cycle it checks:

- no reverse position: the simulator recorded no fill that took a position past zero (``sim.reversals()``);
- close requests: no more than the cycle needs (1, plus 1 for a fault that forces a verified re-send or a
  clock resync, plus 1 for a re-close of a leftover position) plus the bounded verification re-sends;
- the database matches the exchange: every open trade has its position on the simulator, and every
  position on a bot pair has its open trade;
- no HTTP 500 from the REST API, and no traceback in the bot's log.

Whatever a fault leaves open (a refused ``/closeall``) is closed before the next cycle. Figures are printed;
the exit status is 1 when an invariant was violated. Run: ``python benchmarks/soak_bot.py [--cycles 14]
[--seed 3]`` (the CI size, about 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import collections
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bingx_closeall_plugin import BingX, close_all_positions, to_native
from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator, Fault

TESTS = Path(__file__).resolve().parent.parent / "tests"

KEY, SECRET = "soak-bot-key-4e1a", "soak-bot-secret-9c2f7b"
CLOSE = "trade/closeAllPositions"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "XRP/USDT:USDT", "DOGE/USDT:USDT", "ADA/USDT:USDT"]
CCXT_TIMEOUT_MS = 2500  # the bot's client timeout; the slow-reply fault answers after 3 s
VERIFY_RESENDS = 3  # the close path's bounded verified re-sends (closeall.VERIFY_BACKOFF_S)
SETTLE_S = 30.0
REFUSALS = [(100419, "IP does not match IP whitelist"), (100413, "Incorrect apiKey"),
            (100001, "Signature verification failed"), (80020, "risk forbidden"), (109403, "risk forbidden"),
            (109400, "BTC-USDT,symbol not exist, please verify it in api: /openApi/swap/v2/quote/contracts"),
            (109400, "Invalid parameters, quantity: This field is required."),
            (80018, "order is already filled, The order doesn't exist"), (109414, "order not exist"),
            (100410, "The endpoint trigger frequency limit rule is currently in the disabled period and will be "
                     "unblocked after 1727193814249"), (109429, "rate limited")]


def native(pair: str) -> str:
    return to_native(pair)  # ccxt's name -> BingX's, as the bot maps it


@dataclass
class Cycle:
    trades: dict[str, tuple[int, str, float]]  # pair -> (trade id, side, amount)
    endpoint: str


Arm = Callable[[BingXSimulator, Cycle, random.Random], None]


@dataclass(frozen=True)
class Kind:
    arm: Arm
    extra_closes: int = 0  # beyond the first: a verified re-send, a clock resync or a leftover re-close


def _on_close(fault: Fault, times: int = 1) -> Arm:
    return lambda sim, cycle, rng: sim.inject(CLOSE, fault, times=times)


def _refusal(sim: BingXSimulator, cycle: Cycle, rng: random.Random) -> None:
    code, msg = rng.choice(REFUSALS)
    sim.inject(CLOSE, Fault.error(code, msg))


def _failed(sim: BingXSimulator, cycle: Cycle, rng: random.Random) -> None:
    sim.inject(CLOSE, Fault.failed(native(rng.choice(sorted(cycle.trades)))))


def _reopen(sim: BingXSimulator, cycle: Cycle, rng: random.Random) -> None:
    pair = rng.choice(sorted(cycle.trades))
    _, side, amount = cycle.trades[pair]
    sim.inject(CLOSE, Fault.reopen(native(pair), "LONG" if side == "long" else "SHORT", amount))


def _skew(sim: BingXSimulator, cycle: Cycle, rng: random.Random) -> None:
    # Cumulative: the bot resynchronises to the skewed clock, and nothing would resync it back.
    sim.clock_offset_ms += 90_000


KINDS: dict[str, Kind] = {
    "none": Kind(lambda sim, cycle, rng: None),
    "clock_skew": Kind(_skew, 1),
    "timestamp_refused": Kind(_on_close(Fault.error(80014, "Invalid parameters, timestamp is invalid")), 1),
    "refusal": Kind(_refusal),
    "already_submitted_109201": Kind(_on_close(Fault.error(109201, "same order within 1 second")), 1),
    "service_busy_80001_109500": Kind(lambda sim, cycle, rng: sim.inject(CLOSE, Fault.error(
        *rng.choice([(80001, "service has some errors"), (109500, "system busy")]))), 1),
    "no_position_101205": Kind(_on_close(Fault.error(101205, "No position to close")), 1),
    "lost_reply_executed": Kind(_on_close(Fault.lost_reply(executed=True))),
    "lost_reply_not_executed": Kind(_on_close(Fault.lost_reply(executed=False)), 1),
    "slow_reply_past_timeout": Kind(_on_close(Fault.delay(3.0))),
    "html_5xx_executed": Kind(_on_close(Fault.http_error(502, executed=True))),
    "html_5xx_not_executed": Kind(_on_close(Fault.http_error(503, "<html>503 Service Unavailable</html>")), 1),
    "failed_entry": Kind(_failed, 1),
    "position_reappears": Kind(_reopen, 1),
    "history_read_fails": Kind(lambda sim, cycle, rng: sim.inject("trade/allOrders", Fault.http_error(502))),
}


@dataclass
class Figures:
    cycles: int = 0
    trades: int = 0
    close_requests: int = 0
    exit_orders: int = 0
    faults: collections.Counter = field(default_factory=collections.Counter)
    endpoints: collections.Counter = field(default_factory=collections.Counter)
    violations: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def report(self, seed: int) -> str:
        lines = [f"cycles: {self.cycles} (seed {seed})",
                 f"trades opened: {self.trades}; /forceexit all: {self.endpoints['/forceexit']}, "
                 f"/closeall: {self.endpoints['/closeall']}",
                 f"close requests: {self.close_requests}; per-trade exit orders: {self.exit_orders}",
                 f"faults injected ({sum(self.faults.values())}, {len(self.faults)} kinds):"]
        lines += [f"  {kind:<27}{count}" for kind, count in sorted(self.faults.items())]
        lines.append(f"invariant violations: {len(self.violations)}")
        lines += [f"  {v}" for v in self.violations]
        lines.append(f"wall time: {self.wall_s:.1f} s")
        return "\n".join(lines)


def client_for(sim: BingXSimulator, key: str = KEY, secret: str = SECRET) -> BingX:
    client = BingX({"apiKey": key, "secret": secret, "timeout": 3000})
    client.urls["api"] = api_urls(sim.base_url)
    return client


def bot_config(tmp: Path, sim: BingXSimulator, key: str = KEY, secret: str = SECRET) -> dict[str, Any]:
    sys.path.insert(0, str(TESTS))
    from freqtrade_bot import make_config

    urls = {"api": api_urls(sim.base_url)}
    exchange = {"name": "bingx", "key": key, "secret": secret, "pair_whitelist": PAIRS, "pair_blacklist": [],
                "ccxt_config": {"urls": urls, "timeout": CCXT_TIMEOUT_MS},
                "ccxt_async_config": {"urls": urls, "timeout": CCXT_TIMEOUT_MS}}
    return make_config(tmp, sim.base_url, key=key, secret=secret, exchange=exchange, max_open_trades=len(PAIRS))


def _open_trades_in_db(bot: Any) -> dict[str, int]:
    with sqlite3.connect(bot.db_path) as db:
        return {pair: trade_id for trade_id, pair in db.execute("SELECT id, pair FROM trades WHERE is_open = 1")}


def _mismatch(bot: Any, sim: BingXSimulator) -> str | None:
    """None when every open trade has its position and every bot-pair position its open trade."""
    trades = {native(pair) for pair in _open_trades_in_db(bot)}
    positions = {p["symbol"] for p in sim.positions() if p["symbol"] in {native(x) for x in PAIRS}}
    if trades == positions:
        return None
    return f"open trades {sorted(trades)} but positions {sorted(positions)}"


def _wait(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def enter(bot: Any, sim: BingXSimulator, rng: random.Random) -> Cycle:
    pairs = rng.sample(PAIRS, rng.randint(1, 4))
    for pair in pairs:
        bot.api("POST", "/forceenter", {"pair": pair, "side": rng.choice(["long", "short"])})
    status = _wait(lambda: (lambda t: t if len(t) == len(pairs) and not any(x["has_open_orders"] for x in t)
                            else None)(bot.api("GET", "/status")), 60)
    if not status:
        raise RuntimeError(f"entries did not fill: {bot.api('GET', '/status')}")
    if not _wait(lambda: len([o for o in sim.open_orders() if o["type"] == "STOP_MARKET"]) == len(pairs), 30):
        raise RuntimeError("stoplosses did not reach the exchange")
    trades = {t["pair"]: (t["trade_id"], "short" if t["is_short"] else "long", float(t["amount"])) for t in status}
    return Cycle(trades, rng.choice(["/forceexit", "/closeall"]))


def make_flat(bot: Any, sim: BingXSimulator, key: str, secret: str) -> None:
    """Close whatever a cycle left open, so the next one starts flat; bounded."""
    if bot.api("GET", "/show_config")["state"] != "running":
        bot.api("POST", "/start")
    if bot.api("GET", "/status"):
        bot.api("POST", "/forceexit", {"tradeid": "all"})
        _wait(lambda: not bot.api("GET", "/status"), SETTLE_S)
    if sim.positions():
        close_all_positions(client_for(sim, key, secret))


def run_cycle(bot: Any, sim: BingXSimulator, rng: random.Random, figures: Figures, key: str, secret: str) -> None:
    cycle = enter(bot, sim, rng)
    name = rng.choice(sorted(KINDS))
    kind = KINDS[name]
    figures.cycles += 1
    figures.trades += len(cycle.trades)
    figures.faults[name] += 1
    figures.endpoints[cycle.endpoint] += 1
    where = f"cycle {figures.cycles} ({name}, {cycle.endpoint}, {len(cycle.trades)} trade(s))"
    log_start = len(bot.output())
    sim.clear_requests()
    kind.arm(sim, cycle, rng)

    response = requests.post(f"{bot.api_url}{cycle.endpoint}",
                             json={"tradeid": "all"} if cycle.endpoint == "/forceexit" else {},
                             auth=bot.auth, timeout=90)

    if response.status_code != 200:
        figures.violations.append(f"{where}: HTTP {response.status_code}: {response.text[:200]}")
    _wait(lambda: _mismatch(bot, sim) is None, SETTLE_S)
    sim.clear_faults()
    closes = len(sim.requests_to(CLOSE))
    figures.close_requests += closes
    figures.exit_orders += len([r for r in sim.requests_to("trade/order")
                                if r.method == "POST" and r.params.get("type") == "MARKET"])
    bound = 1 + kind.extra_closes + VERIFY_RESENDS * (name in ("lost_reply_not_executed", "html_5xx_not_executed"))
    if cycle.endpoint == "/closeall":
        bound += 1  # the core flatten's own re-close round for what a late fill left
    if closes > bound:
        figures.violations.append(f"{where}: {closes} close requests, more than {bound}")
    if sim.reversals():
        figures.violations.append(f"{where}: reversed or over-closed: {sim.reversals()}")
    mismatch = _mismatch(bot, sim)
    if mismatch:
        figures.violations.append(f"{where}: database does not match the exchange: {mismatch}")
    if "Traceback" in bot.output()[log_start:]:
        figures.violations.append(f"{where}: traceback in the bot's log")
    make_flat(bot, sim, key, secret)
    if sim.reversals():
        figures.violations.append(f"{where}: a reversal while cleaning up: {sim.reversals()}")


def run(bot: Any, sim: BingXSimulator, cycles: int, seed: int, key: str = KEY, secret: str = SECRET) -> Figures:
    """``cycles`` seeded cycles on a running ``bot`` trading on ``sim`` (flat when called) with ``key``."""
    rng = random.Random(seed)
    figures = Figures()
    started = time.monotonic()
    for _ in range(cycles):
        run_cycle(bot, sim, rng, figures, key, secret)
    figures.wall_s = time.monotonic() - started
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=14)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(TESTS))
    from freqtrade_bot import FreqtradeBot

    sim = BingXSimulator(api_key=KEY, api_secret=SECRET).start()
    bot = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix="soak-bot-"))
        bot = FreqtradeBot(tmp, bot_config(tmp, sim)).start()
        figures = run(bot, sim, args.cycles, args.seed)
    finally:
        if bot is not None:
            bot.stop()
        sim.stop()
    print(figures.report(args.seed))
    return 1 if figures.violations else 0


if __name__ == "__main__":
    sys.exit(main())
