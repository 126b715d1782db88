"""Chaos soak: random entries, stop triggers, presses and kill -9 points through a real bot, the books checked.

One ``freqtrade-bingx trade`` bot (its sqlite database kept across every restart) trades on the local BingX
simulator. Each cycle draws one step from ``random.Random(seed)``:

- ``enter``: force-enter 1 or 2 free pairs on random sides;
- ``trigger``: move one open trade's price past its stoploss, so BingX fills the stop on its own;
- ``press``: ``/forceexit all`` or ``/closeall`` through the REST API;
- ``kill``: one kill point (tests/kill_points.py): the simulator holds the request named below, the bot's
  process group is SIGKILLed there, the request is dropped, and the bot is restarted on the same database;
- ``guard``: the bot is killed and the account flattened from outside (the guard's direct flatten), then the
  bot is restarted.

After every cycle the one invariant of tests/books_invariant.py must hold within 90 s (trades open exactly
where BingX holds positions, flattened trades booked ``force_exit`` at BingX's fills and fees, no stop for a
flat position, nothing reopened, the position and stop the bot does not own untouched, no traceback) and no
press may answer 5xx; a breach is counted and written out, then the account is made flat and the run goes
on. The same seed draws the same steps (the timing of the bot's loop is its own). Figures are printed; the
exit status is 1 on any violation.

Each violation leaves its evidence in a folder the output names (``--evidence DIR``, else a new temporary
folder): the simulator's request log from the start of the cycle, the bot's log of that cycle (every bot process
the cycle ran, restarts included) and a consistent copy of the bot's sqlite database, taken when the breach is
seen. A race found once in 300 cycles is then read, not guessed.

Run: ``python benchmarks/chaos_soak.py [--cycles 300] [--seed 7]``, or several seeds in one run,
``--seeds 11,23,31,41,53 [--jobs 2]``: one process per seed, each with its own simulator and bot, at most
``--jobs`` at once (default: the machine's cores), one figures block per seed and a table at the end.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bingx_closeall_plugin import BingX, close_all_positions
from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator, Fault

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from books_invariant import BooksInvariant  # noqa: E402 - the tests' checker, on the path just set
from kill_points import press_and_kill  # noqa: E402

KEY, SECRET = "chaos-key-5d2e", "chaos-secret-8b41f0"
CLOSE = "trade/closeAllPositions"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "XRP/USDT:USDT", "DOGE/USDT:USDT"]
FOREIGN = "SOL-USDT"  # a position and a stop the bot does not own: never touched
CCXT_TIMEOUT_MS = 5000
BOUND_S = 90.0


def _entry(p: dict[str, Any]) -> bool:
    return p.get("type") in ("MARKET", "LIMIT") and str(p.get("reduceOnly", "")).lower() != "true"


def _stop(p: dict[str, Any]) -> bool:
    return p.get("type") == "STOP_MARKET"


def _exit(p: dict[str, Any]) -> bool:
    return p.get("type") == "MARKET" and str(p.get("reduceOnly", "")).lower() == "true"


@dataclass(frozen=True)
class KillPoint:
    """Where the bot dies: the request held (path, before/after BingX executes it, which one) and what reaches it."""

    suffix: str
    when: str
    match: Callable[[dict[str, Any]], bool] | None
    action: str  # "enter" or a press endpoint
    refuse_close: bool = False  # the close is refused first, so /forceexit all exits trade by trade


KILL_POINTS: dict[str, KillPoint] = {
    "entry accepted, not saved": KillPoint("trade/order", "after", _entry, "enter"),
    "entry sent, never executed": KillPoint("trade/order", "before", _entry, "enter"),
    "stop accepted, not saved": KillPoint("trade/order", "after", _stop, "enter"),
    "/forceexit all: close not sent": KillPoint(CLOSE, "before", None, "/forceexit"),
    "/forceexit all: close sent, answer lost": KillPoint(CLOSE, "after", None, "/forceexit"),
    "/forceexit all: answer read, books not written": KillPoint("trade/allOrders", "before", None, "/forceexit"),
    "/forceexit all: during a fallback exit": KillPoint("trade/order", "after", _exit, "/forceexit", True),
    "/closeall: close not sent": KillPoint(CLOSE, "before", None, "/closeall"),
    "/closeall: close sent, answer lost": KillPoint(CLOSE, "after", None, "/closeall"),
    "/closeall: answer read, books not written": KillPoint("trade/allOrders", "before", None, "/closeall"),
}
STEPS = ["enter", "enter", "trigger", "press", "kill", "kill", "guard"]


@dataclass
class Figures:
    cycles: int = 0
    kills: int = 0
    restarts: int = 0
    steps: collections.Counter = field(default_factory=collections.Counter)
    kill_points: collections.Counter = field(default_factory=collections.Counter)
    violations: list[str] = field(default_factory=list)
    evidence: list[Path] = field(default_factory=list)
    wall_s: float = 0.0

    def report(self, seed: int) -> str:
        lines = [f"cycles: {self.cycles} (seed {seed})", f"kills: {self.kills}; restarts: {self.restarts}",
                 "steps: " + ", ".join(f"{k} {v}" for k, v in sorted(self.steps.items())),
                 f"kill points drawn ({len(self.kill_points)} of {len(KILL_POINTS)}):"]
        lines += [f"  {name:<48}{count}" for name, count in sorted(self.kill_points.items())]
        lines.append(f"invariant violations: {len(self.violations)}")
        lines += [f"  {v}" for v in self.violations]
        lines += [f"evidence: {path}" for path in self.evidence]
        lines.append(f"wall time: {self.wall_s:.1f} s")
        return "\n".join(lines)


def client_for(sim: BingXSimulator, key: str, secret: str) -> BingX:
    client = BingX({"apiKey": key, "secret": secret, "timeout": 5000})
    client.urls["api"] = api_urls(sim.base_url)
    return client


def bot_config(tmp: Path, sim: BingXSimulator, key: str = KEY, secret: str = SECRET) -> dict[str, Any]:
    from freqtrade_bot import SIMULATOR_RATE_LIMIT_MS, make_config

    urls = {"api": api_urls(sim.base_url)}
    exchange = {"name": "bingx", "key": key, "secret": secret, "pair_whitelist": PAIRS, "pair_blacklist": [],
                "ccxt_config": {"urls": urls, "timeout": CCXT_TIMEOUT_MS},
                "ccxt_async_config": {"urls": urls, "timeout": CCXT_TIMEOUT_MS}}
    return make_config(tmp, sim.base_url, key=key, secret=secret, exchange=exchange, max_open_trades=len(PAIRS),
                       rate_limit_ms=SIMULATOR_RATE_LIMIT_MS)


def keep_evidence(folder: Path, text: str, sim: BingXSimulator, since: float, log: str, db_path: Path | None) -> Path:
    """A breach's evidence in ``folder``: ``violation.txt``, the simulator's requests since ``since`` (its monotonic
    clock) as ``requests.jsonl`` with ``t`` in seconds from then, the bot's ``log`` and a copy of its database."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "violation.txt").write_text(text)
    with (folder / "requests.jsonl").open("w") as out:
        for record in sim.requests:
            if record.started >= since - 1.0:
                row = dataclasses.asdict(record)
                row["t"] = round(record.started - since, 4)
                out.write(json.dumps(row, default=str) + "\n")
    (folder / "bot.log").write_text(log)
    if db_path is not None and db_path.exists():
        # sqlite's online backup: a consistent copy even while the bot writes
        with closing(sqlite3.connect(db_path)) as source, closing(sqlite3.connect(folder / "tradesv3.sqlite")) as copy:
            source.backup(copy)
    return folder


class Chaos:
    """The run: one simulator, one bot home, the restarts; ``start(home)`` builds a bot on the home's database."""

    def __init__(self, sim: BingXSimulator, start: Callable[[], Any], rng: random.Random, key: str, secret: str,
                 evidence: Path | None = None, bound_s: float = BOUND_S):
        self.sim, self.start, self.rng, self.key, self.secret = sim, start, rng, key, secret
        self.evidence, self.bound_s = evidence, bound_s
        self.steps = list(STEPS)
        self.kill_points = sorted(KILL_POINTS)
        self.figures = Figures()
        self.bot = start()
        self.books = BooksInvariant(sim, self.bot, pairs=PAIRS)
        self.refresh_foreign()
        self.step = ""
        # what this cycle's evidence starts from: the simulator's clock, and the bot logs of the cycle so far (a
        # restart starts a new log file in the same home, so the earlier process's part is kept here)
        self.cycle_started = time.monotonic()
        self.cycle_logs: list[str] = []
        self.log_offset = 0

    def refresh_foreign(self) -> None:
        """The position and stop the bot does not own, put back where an account-wide close took them (``/closeall``
        and the guard close the whole account on purpose; ``/forceexit all`` must never touch them)."""
        if not self.sim.positions(FOREIGN):
            self.sim.seed_position(FOREIGN, "LONG", 1.0)
        if not self.sim.open_orders(FOREIGN):
            self.sim.seed_order(FOREIGN, side="SELL", type="STOP_MARKET", quantity=1.0, stop_price=1.0)
        self.books.foreign = self.books._foreign_snapshot()

    # ---------------------------------------------------------------- the steps
    def open_trades(self) -> list[dict[str, Any]]:
        return self.bot.db("SELECT * FROM trades WHERE is_open = 1")

    def enter(self) -> None:
        free = [p for p in PAIRS if p not in {t["pair"] for t in self.open_trades()}]
        if not free:
            return
        if self.bot.api("GET", "/show_config")["state"] != "running":
            self.bot.api("POST", "/start")  # /closeall pauses entries until an operator starts the bot again
        for pair in self.rng.sample(free, min(len(free), self.rng.randint(1, 2))):
            side = self.rng.choice(["long", "short"])
            try:
                self.bot.api("POST", "/forceenter", {"pair": pair, "side": side})
            except requests.HTTPError as e:  # freqtrade answers an RPC refusal with 502: the entry is not made
                self.note(f"/forceenter {pair} refused: {e.response.text[:200] if e.response is not None else e}")

    def trigger(self) -> None:
        stops = [o for o in self.sim.open_orders() if o["type"] == "STOP_MARKET" and o["symbol"] != FOREIGN]
        if stops:
            stop = self.rng.choice(sorted(stops, key=lambda o: str(o["orderId"])))
            beyond = 0.99 if stop["side"] == "SELL" else 1.01
            self.sim.set_price(stop["symbol"], float(stop["stopPrice"]) * beyond)

    def press(self, endpoint: str) -> None:
        body = {"tradeid": "all"} if endpoint == "/forceexit" else {}
        response = requests.post(f"{self.bot.api_url}{endpoint}", json=body, auth=self.bot.auth, timeout=BOUND_S)
        if response.status_code >= 500:
            self.violation(f"{endpoint} answered HTTP {response.status_code}: {response.text[:200]}")

    def kill(self, name: str) -> None:
        point = KILL_POINTS[name]
        if point.refuse_close:
            self.sim.inject(CLOSE, Fault.error(100419, "IP does not match IP whitelist"))
        hold = self.sim.hold(point.suffix, when=point.when, match=point.match, method="POST"
                             if point.suffix == "trade/order" else None)
        if point.action == "enter":
            if not [p for p in PAIRS if p not in {t["pair"] for t in self.open_trades()}]:
                self.sim.clear_holds()
                return
            press = self.enter
        else:
            if not self.open_trades():
                self.sim.clear_holds()
                self.sim.clear_faults()
                return
            def press() -> None:
                self.press(point.action)
        self.figures.kill_points[name] += 1
        try:
            press_and_kill(self.bot, hold, press, reach_timeout=30)
        except AssertionError as e:  # the press never reached the point (e.g. the loop got there first)
            self.sim.clear_holds()
            self.bot.kill()
            self.note(f"{name}: not reached ({str(e).splitlines()[0]})")
        self.sim.clear_faults()
        self.figures.kills += 1
        self.restart()

    def guard(self) -> None:
        """The bot dies; the guard flattens the account itself through the one close path; the bot restarts."""
        self.bot.kill()
        self.figures.kills += 1
        if any(p["symbol"] != FOREIGN for p in self.sim.positions()):
            close_all_positions(client_for(self.sim, self.key, self.secret))  # the whole account, as the guard does
        self.restart()

    def restart(self) -> None:
        self.cycle_logs.append(self.bot.output()[self.log_offset:])
        self.log_offset = 0
        self.bot = self.start()
        self.books.bot = self.bot
        self.figures.restarts += 1

    # ---------------------------------------------------------------- the checks
    def note(self, text: str) -> None:
        print(f"  cycle {self.figures.cycles} ({self.step}): {text}", flush=True)

    def violation(self, text: str) -> None:
        self.figures.violations.append(f"cycle {self.figures.cycles} ({self.step}): {text}")
        self.note("VIOLATION " + text)
        if self.evidence is not None:
            folder = keep_evidence(self.evidence / f"cycle-{self.figures.cycles:04d}",
                                   f"cycle {self.figures.cycles} ({self.step})\n{text}\n", self.sim,
                                   self.cycle_started, "".join(self.cycle_logs) + self.bot.output()[self.log_offset:],
                                   self.bot.db_path)
            self.figures.evidence.append(folder)
            self.note(f"evidence: {folder}")

    def check(self, flattened: set[int]) -> None:
        try:
            self.books.wait_holds(self.bound_s, flattened=flattened)
        except AssertionError as e:
            self.violation(str(e))
            self.make_flat()

    def make_flat(self) -> None:
        """After a breach: flatten everything the bot owns, so the next cycle starts from agreement."""
        try:
            if self.open_trades():
                self.bot.api("POST", "/forceexit", {"tradeid": "all"}, timeout=BOUND_S)
        except requests.RequestException:
            pass
        for p in self.sim.positions():
            if p["symbol"] != FOREIGN:
                client_for(self.sim, self.key, self.secret).closeall(symbol=p["symbol"])
        self.books = BooksInvariant(self.sim, self.bot, pairs=PAIRS, closed_seen=self.books.closed_seen,
                                    acknowledged=self.books.acknowledged)

    def cycle(self) -> None:
        self.cycle_started = time.monotonic()
        self.cycle_logs = []
        self.log_offset = len(self.bot.output())
        step = self.rng.choice(self.steps)
        if step != "enter" and not self.open_trades():
            step = "enter"  # every other step needs a trade to act on
        self.step = step
        self.figures.cycles += 1
        self.figures.steps[step] += 1
        before = {t["id"] for t in self.open_trades()}
        pressed = step == "press" or step == "guard"
        account_wide = step == "guard"
        if step == "enter":
            self.enter()
        elif step == "trigger":
            self.trigger()
            pressed = False
        elif step == "press":
            endpoint = self.rng.choice(["/forceexit", "/closeall"])
            self.step += " " + endpoint
            account_wide = endpoint == "/closeall"
            self.press(endpoint)
        elif step == "kill":
            name = self.rng.choice(self.kill_points)
            self.step += ": " + name
            pressed = KILL_POINTS[name].action != "enter"
            account_wide = KILL_POINTS[name].action == "/closeall"
            self.kill(name)
        else:
            self.guard()
        if account_wide:  # /closeall and the guard answer once their close is done
            self.refresh_foreign()
        # the trades a flatten closed: open before a press, closed after it
        self.check(before if pressed else set())


def run(sim: BingXSimulator, start: Callable[[], Any], cycles: int, seed: int, key: str = KEY,
        secret: str = SECRET, evidence: Path | None = None) -> Figures:
    started = time.monotonic()
    chaos = Chaos(sim, start, random.Random(seed), key, secret, evidence)
    try:
        for _ in range(cycles):
            chaos.cycle()
    finally:
        chaos.bot.stop()
    chaos.figures.wall_s = time.monotonic() - started
    return chaos.figures


def soak_one(cycles: int, seed: int, evidence: Path) -> int:
    """One seed: its own simulator, bot home and database; the figures printed, exit status 1 on a violation."""
    from freqtrade_bot import FreqtradeBot

    sim = BingXSimulator(api_key=KEY, api_secret=SECRET).start()
    home = Path(tempfile.mkdtemp(prefix=f"chaos-soak-{seed}-"))
    config = bot_config(home, sim)
    bots: list[Any] = []

    def start() -> Any:
        bots.append(FreqtradeBot(home, config).start())
        return bots[-1]
    try:
        figures = run(sim, start, cycles, seed, evidence=evidence / f"seed-{seed}")
    finally:
        for bot in bots:
            bot.stop()
        sim.stop()
    print(figures.report(seed), flush=True)
    return 1 if figures.violations else 0


def soak_many(cycles: int, seeds: list[int], jobs: int, evidence: Path) -> int:
    """Every seed in its own process (a bot and a simulator each), at most ``jobs`` at once; a table at the end."""
    timeout = cycles * 20.0  # far beyond a run's ~1.5 s a cycle: a hung seed is ended, not waited for

    def one(seed: int) -> tuple[int, float, str]:
        argv = [sys.executable, __file__, "--cycles", str(cycles), "--seed", str(seed), "--evidence", str(evidence)]
        began = time.monotonic()
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
            code, out = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as e:
            code, out = -1, f"{e.stdout or ''}\nchaos soak: seed {seed} ended after {timeout:.0f} s"
        print(f"--- seed {seed}\n{out.strip()}", flush=True)
        return code, time.monotonic() - began, out

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = dict(zip(seeds, pool.map(one, seeds), strict=True))
    print(f"\n{'seed':>6} {'cycles':>7} {'kills':>6} {'violations':>11} {'wall s':>8}")
    for seed, (code, wall, out) in results.items():
        said = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line and not line.startswith(" "))
        cycles_run = said.get("cycles", "?").split()[0]
        kills = said.get("kills", "?").split(";")[0]
        status = "" if code in (0, 1) else f"  (exit {code})"
        print(f"{seed:>6} {cycles_run:>7} {kills:>6} {said.get('invariant violations', '?'):>11} {wall:>8.1f}{status}")
    print(f"evidence folder: {evidence}")
    return 0 if all(code == 0 for code, _, _ in results.values()) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seeds", type=lambda text: [int(s) for s in text.split(",") if s.strip()],
                        help="several seeds in one run, comma-separated (e.g. 11,23,31,41,53)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="seeds run at once (--seeds)")
    parser.add_argument("--evidence", type=Path, help="where violations leave their evidence (default: a new temp dir)")
    args = parser.parse_args(argv)
    evidence = args.evidence or Path(tempfile.mkdtemp(prefix="chaos-evidence-"))
    if args.seeds:
        return soak_many(args.cycles, args.seeds, max(1, args.jobs), evidence)
    return soak_one(args.cycles, args.seed, evidence)


if __name__ == "__main__":
    sys.exit(main())
