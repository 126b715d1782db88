"""How the panic button scales: one table per dimension, each row against the N = 1 row of its own run.

- **accounts**: ``bingx-closeall --yes --json`` with N ``--account`` configs, each account its own key and its own
  simulator (5 positions, a stop and an entry order resting), every simulator ``--latency-ms`` late on each answer.
  Time to flat: the CLI's start to the last account's closeAllPositions executed (the simulator's record of it).
  Time to books: the CLI's start to its exit, every account verified flat with its orders cancelled. The spread:
  first to last close arriving at the simulators.
- **bots**: one ``bingx-closeall guard`` over N real freqtrade-bingx bots, each on its own account (its own key,
  its own simulator), one trade each, started at once. One bot is killed with SIGKILL. Time to flat: kill to its
  account flat; the silence at the trip: the trip's time less the bot's newest loop seen (the state file's);
  time to books: its restart to its books closed (freqtrade's start-up check books the guard's close). Requests:
  the killed bot's account's signed requests from the kill to flat (the bot's own before it died included); the
  guard's own per second while all is well, on all accounts (its balance reads, less the bots' own, measured
  for as long before the guard starts), and the bots' signed requests per second without the guard.

- **trades**: one real freqtrade-bingx bot (stoploss on the exchange, freqtrade's sample pricing: order book on,
  top 1) with N open trades on one simulator (made-up contracts beyond its 71 when N is larger), the trades entered
  without latency, then every answer ``--latency-ms`` late. Requests: one idle loop pass's (signed, public), cut
  where the bot's ``last_process`` changes, candle refreshes (klines, at each new 5m candle) left out. Then
  ``POST /forceexit {"tradeid": "all"}``, twice per row (the trades entered again between): once just after a loop
  pass ended, once the moment a pass sends its one ticker read (the pass that refreshes every trade's exit rate).
  Time to flat (the POST to no position at the simulator), time to books (to no open trade in the bot's
  database), and, for the first press, the requests BingX saw from the POST to the books closed (signed, public:
  the flatten's and any the bot's loop sent meanwhile). ``--bot-rate-limit-ms 10`` enters the trades (about 760
  for the default rows) in minutes instead of most of an hour behind ccxt's own throttle; the measured figures do
  not depend on it (the flatten's own client has no throttle, the loop sends two requests a pass). ``--busy K``
  keeps K processes spinning on the CPU beside the bot for those rows.

Peak memory is the measured process's maximum RSS (the CLI, the largest of its processes; the guard; the bot, its
peak so far, the rows run in ascending N on one bot). For accounts, also the CLI's processes (it forks workers past
40 accounts on 2 CPUs) and their proportional set size together, from one more press held at its last step: the
memory the press really takes, a forked worker's pages shared with the CLI counted once; the memory ratio is of
that. Prints figures; asserts nothing. Run:
``.venv/bin/python benchmarks/scale.py [--latency-ms 50] [--accounts 1 10 50 100] [--bots 1 5 20]
[--trades 1 10 20 50 100 200] [--bot-rate-limit-ms 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from fleet import Fleet  # noqa: E402 - tests/ holds the fleet of simulators the suite uses too

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guard_benchmark import wait as _wait  # noqa: E402 - the benchmarks' one bounded wait for an event


def wait(predicate: Callable[[], Any], what: str, interval: float = 0.005) -> float:
    """Epoch time at which ``predicate`` was first seen true (at most WAIT_S)."""
    return _wait(predicate, what, timeout=WAIT_S, interval=interval)

WAIT_S = 120.0
Row = dict[str, Any]


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("BINGX_", "FREQTRADE__"))}


def counted(sims: list[Any], since: float = 0.0) -> tuple[int, int]:
    """(signed, public) requests the simulators saw since ``since``."""
    public = signed = 0
    for sim in sims:
        for record in sim.requests:
            if record.started >= since:
                if "/market/" in record.path or "/quote/" in record.path:
                    public += 1
                else:
                    signed += 1
    return signed, public


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(start, exit, peak RSS in kB, stdout) of one child, its own rusage (os.wait4)."""
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        ended = time.monotonic()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return started, ended, usage.ru_maxrss, out.read().decode()


def press_argv(paths: list[str]) -> list[str]:
    """``bingx-closeall --yes --json`` over these accounts' configs."""
    return [sys.executable, "-m", "bingx_closeall_plugin.cli", "--yes", "--json",
            *[arg for path in paths for arg in ("--account", path)]]


def accounts(sizes: list[int], args: argparse.Namespace) -> list[Row]:
    rows = []
    fleet = Fleet(max(sizes), latency_ms=args.latency_ms)
    try:
        with tempfile.TemporaryDirectory(prefix="scale-accounts-") as tmp:
            paths = fleet.configs(Path(tmp))
            for size in sizes:
                runs = []
                for _ in range(args.repeat):
                    fleet.seed()
                    sims = fleet.sims[:size]
                    started, ended, rss, out = run_measured(press_argv(paths[:size]), environment())
                    document = json.loads(out)
                    closes = [next(r for r in sim.requests if r.path.endswith("closeAllPositions")) for sim in sims]
                    if document.get("flat") is not True or any(sim.positions() or sim.open_orders() for sim in sims):
                        raise RuntimeError(f"{size} accounts: not flat: {document.get('final')}")
                    signed, public = counted(sims)
                    runs.append({"N": size, "flat_s": max(c.finished or 0 for c in closes) - started,
                                 "books_s": ended - started,
                                 "spread_s": max(c.started for c in closes) - min(c.started for c in closes),
                                 "signed": signed, "public": public, "rss_mb": rss / 1024})
                rows.append({**median_row(runs), **memory_of_press(fleet, paths[:size])})
    finally:
        fleet.stop()
    return rows


def pss_kb(pid: int) -> int:
    """The process's proportional set size: its private pages, plus its share of those it shares (a forked
    worker's pages stay the parent's until either writes them)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def memory_of_press(fleet: Fleet, paths: list[str]) -> Row:
    """One more press, its last step (each account's order-history read) held 1 s at every simulator: the memory
    of the CLI and of every worker it forked, all alive at that moment."""
    from bingx_closeall_plugin.simulator import Fault

    sims = fleet.sims[:len(paths)]
    fleet.seed()
    for sim in sims:
        sim.inject("trade/allOrders", Fault.delay(1.0))
    process = subprocess.Popen(press_argv(paths), env=environment(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait(lambda: all(sim.requests_to("trade/allOrders") for sim in sims), "every account's last read")
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        pids = [process.pid, *map(int, children)]
        return {"processes": len(pids), "pss_mb": sum(pss_kb(pid) for pid in pids) / 1024}
    finally:
        process.wait(WAIT_S)


def bots(sizes: list[int], args: argparse.Namespace) -> list[Row]:
    from concurrent.futures import ThreadPoolExecutor

    from freqtrade_bot import FreqtradeBot, make_config

    rows = []
    for size in sizes:
        fleet = Fleet(size, latency_ms=args.latency_ms)
        launched: list[Any] = []
        with tempfile.TemporaryDirectory(prefix="scale-bots-") as tmp, ThreadPoolExecutor(size) as pool:
            work = Path(tmp)
            try:
                began = time.monotonic()
                for index, (sim, (key, secret)) in enumerate(zip(fleet.sims, fleet.keys, strict=True)):
                    directory = work / f"bot-{index:02d}"
                    directory.mkdir()
                    bot = FreqtradeBot(directory, make_config(directory, sim.base_url, key=key, secret=secret,
                                                              pairs=["BTC/USDT:USDT"]))
                    launched.append(bot.launch())  # all at once: their start-ups overlap, each wait bounded
                started_bots = list(pool.map(lambda bot: bot.wait_running(WAIT_S * 2), launched))
                list(pool.map(lambda pair: pair[0].force_enter([("BTC/USDT:USDT", "long")], pair[1], timeout=WAIT_S),
                              zip(started_bots, fleet.sims, strict=True)))
                print(f"bots {size}: {size} bot(s) running with a trade each in {time.monotonic() - began:.1f} s",
                      file=sys.stderr)
                row = guard_round(started_bots, fleet, work, args)
                row["N"] = size
                rows.append(row)
                print(f"bots {size}: {row}", file=sys.stderr)
            finally:
                list(pool.map(lambda bot: bot.stop(), launched))
                fleet.stop()
    return rows


CANDLES = ("quote/klines", "market/markPriceKlines")
KEY, SECRET = "bench-key", "bench-secret"


def trades(sizes: list[int], args: argparse.Namespace) -> list[Row]:
    import sqlite3
    import threading

    from bingx_closeall_plugin import to_unified
    from bingx_closeall_plugin.simulator import BingXSimulator
    from bingx_closeall_plugin.simulator.markets import linear_contracts

    from freqtrade_bot import FreqtradeBot, make_config

    # freqtrade's pair names must start with a letter or digit: ccxt's "$NAP/USDT:USDT" is dropped from the whitelist
    tradable = [p for p in (to_unified(c["symbol"]) for c in linear_contracts()) if p[0].isalnum()]
    extra = max(0, max(sizes) - len(tradable))
    pairs = (tradable + [to_unified(c["symbol"]) for c in linear_contracts(extra)[len(linear_contracts()):]])
    pairs = pairs[: max(sizes)]
    rows = []
    with BingXSimulator(api_key=KEY, api_secret=SECRET, extra_contracts=extra) as sim, \
            tempfile.TemporaryDirectory(prefix="scale-trades-") as tmp:
        sim.set_balance("USDT", 1_000_000)
        home = Path(tmp)
        bot = FreqtradeBot(home, make_config(home, sim.base_url, key=KEY, secret=SECRET, pairs=pairs,
                                             max_open_trades=len(pairs), stake_amount=20,
                                             rate_limit_ms=args.bot_rate_limit_ms))

        def open_in_db() -> int:
            with sqlite3.connect(bot.db_path) as db:
                return db.execute("SELECT COUNT(*) FROM trades WHERE is_open = 1").fetchone()[0]

        def tickers_read() -> int:
            return sum(1 for r in sim.requests if r.path.endswith("quote/ticker"))

        def press(size: int, mid_pass: bool) -> Row:
            """Enter ``size`` trades, then press once: just after a pass ended, or as a pass reads its prices."""
            sim.latency_ms = 0
            bot.force_enter([(pair, "long") for pair in pairs[:size]], sim, timeout=WAIT_S * 20)
            sim.latency_ms = args.latency_ms
            (idle,) = bot.loop_iterations(sim, 1, timeout=WAIT_S * 5)
            idle = [r for r in idle if not r.path.endswith(CANDLES)]
            if mid_pass:  # the next pass's one ticker read: the pass that refreshes every trade's exit rate
                seen = tickers_read()
                wait(lambda: tickers_read() > seen, "a loop pass pricing its trades")
            before = time.monotonic()
            thread = threading.Thread(target=bot.api, args=("POST", "/forceexit", {"tradeid": "all"}),
                                      kwargs={"timeout": WAIT_S})
            started = time.time()
            thread.start()
            flat = wait(lambda: not sim.positions(), "flat")
            books = wait(lambda: open_in_db() == 0, "the books closed")
            books_at = time.monotonic()
            thread.join(WAIT_S)
            during = [r for r in sim.requests if before <= r.started <= books_at]
            signed = len([r for r in during if r.api_key_ok])
            idle_signed = len([r for r in idle if r.api_key_ok])
            return {"flat_s": flat - started, "books_s": books - started, "idle_signed": idle_signed,
                    "idle_public": len(idle) - idle_signed, "signed": signed, "public": len(during) - signed}

        burners: list[subprocess.Popen[bytes]] = []
        try:
            bot.start(timeout=WAIT_S * 5)
            # --busy K: K processes spinning on the CPU beside the bot for the whole dimension (a busy machine)
            burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
            for size in sizes:
                idle = press(size, mid_pass=False)
                busy = press(size, mid_pass=True)
                rows.append({"N": size, **idle, "flat_mid_pass_s": busy["flat_s"],
                             "books_mid_pass_s": busy["books_s"], "rss_mb": peak_rss_kb(bot) / 1024})
                print(f"trades {size}: {rows[-1]}", file=sys.stderr)
        finally:
            for burner in burners:
                burner.kill()
                burner.wait(WAIT_S)
            bot.stop()
    return rows


def peak_rss_kb(bot: Any) -> int:
    """The bot process's peak resident set so far (VmHWM)."""
    for line in Path(f"/proc/{bot.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


GUARD_READ = "swap/v3/user/balance"  # the guard's one request per account per check while all is well


def guard_round(started_bots: list[Any], fleet: Fleet, work: Path, args: argparse.Namespace) -> Row:
    quiet_s = args.interval * 5
    state = work / "state.json"

    def reads(since: float) -> int:
        return len([r for sim in fleet.sims for r in sim.requests
                    if r.started >= since and r.path.endswith(GUARD_READ)])

    bots_from = time.monotonic()  # the bots alone: what of GUARD_READ is theirs, not the guard's
    time.sleep(quiet_s)
    bots_signed, bots_reads = counted(fleet.sims, bots_from)[0] / quiet_s, reads(bots_from) / quiet_s
    argv = [sys.executable, "-m", "bingx_closeall_plugin.cli", "guard", "--state", str(state), "--interval",
            str(args.interval), "--max-silence", str(args.max_silence),
            *[a for bot in started_bots for a in ("--bot-config", str(bot.config_path))]]
    with open(work / "guard.log", "wb") as log:
        guard = subprocess.Popen(argv, env=environment(), stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        def document() -> dict[str, Any]:
            try:
                return json.loads(state.read_text())
            except (FileNotFoundError, ValueError):
                return {}

        def accounts_seen() -> dict[str, dict[str, Any]]:
            data = document()
            accounts: dict[str, dict[str, Any]] = data.get("accounts", {"": data} if data else {})
            return accounts

        wait(lambda: len([a for a in accounts_seen().values() if a.get("last")]) == len(started_bots),
             "first checks", interval=0.05)
        quiet_from = time.monotonic()
        time.sleep(quiet_s)
        guard_per_s = reads(quiet_from) / quiet_s - bots_reads
        victim, sim = started_bots[-1], fleet.sims[-1]
        trip_from = time.monotonic()
        killed = time.time()
        victim.kill()
        flat = wait(lambda: not sim.positions(), "the killed bot's account flat")
        others = [s for s in fleet.sims[:-1] if s.positions() == [] or any(
            r.method != "GET" for r in s.requests if r.started >= trip_from)]
        if others:
            raise RuntimeError(f"{len(others)} other account(s) touched")
        trip_requests = counted([sim], trip_from)[0]
        def tripped() -> list[dict[str, Any]]:
            return [a for a in accounts_seen().values() if a.get("tripped")]

        wait(tripped, "the trip in the state", interval=0.05)  # saved before the flatten is sent
        if len(tripped()) != 1:
            raise RuntimeError(f"{len(tripped())} accounts tripped")
        account = tripped()[0]
        silent_s = account["tripped_at"] - max(b["alive_at"] for b in account["bots"].values())
    finally:
        os.killpg(guard.pid, signal.SIGTERM)
        _, _, usage = os.wait4(guard.pid, 0)
    launched = time.time()
    victim.start()
    books = wait(lambda: not victim.api("GET", "/status"), "its books closed at restart", interval=0.05)
    return {"flat_s": flat - killed, "silent_at_trip_s": silent_s, "books_s": books - launched,
            "signed": trip_requests, "public": 0, "guard_per_s": guard_per_s, "bots_per_s": bots_signed,
            "rss_mb": usage.ru_maxrss / 1024}


def median_row(runs: list[Row]) -> Row:
    import statistics

    return {key: statistics.median(run[key] for run in runs) if isinstance(runs[0][key], float) else runs[0][key]
            for key in runs[0]}


DIMENSIONS: dict[str, tuple[str, Callable[[list[int], argparse.Namespace], list[Row]], list[str]]] = {
    "accounts": ("accounts per press", accounts,
                 ["flat_s", "books_s", "spread_s", "signed", "public", "processes", "pss_mb", "rss_mb"]),
    "bots": ("bots per guard (one killed)", bots,
             ["flat_s", "silent_at_trip_s", "books_s", "signed", "guard_per_s", "bots_per_s", "rss_mb"]),
    "trades": ("trades per bot (/forceexit all)", trades,
               ["flat_s", "books_s", "flat_mid_pass_s", "books_mid_pass_s", "idle_signed", "idle_public", "signed",
                "public", "rss_mb"]),
}


def print_table(title: str, rows: list[Row], columns: list[str]) -> None:
    base = rows[0]
    print(f"\n{title}\n")
    print("| N | " + " | ".join(columns) + " | flat / N=1 | books / N=1 | memory / N=1 |")
    print("|---:|" + "---:|" * (len(columns) + 3))
    for row in rows:
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        memory = "pss_mb" if "pss_mb" in row else "rss_mb"
        ratios = [row[c] / base[c] if base[c] else float("nan") for c in ("flat_s", "books_s", memory)]
        print(f"| {row['N']} | " + " | ".join(cells) + " | " + " | ".join(f"{r:.2f}x" for r in ratios) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs per accounts row (the median is printed)")
    parser.add_argument("--accounts", type=int, nargs="*", default=[1, 10, 50, 100])
    parser.add_argument("--bots", type=int, nargs="*", default=[1, 5, 20])
    parser.add_argument("--trades", type=int, nargs="*", default=[1, 10, 20, 50, 100, 200])
    parser.add_argument("--busy", type=int, default=0, help="processes spinning on the CPU during the trades rows")
    parser.add_argument("--bot-rate-limit-ms", type=int, default=None,
                        help="the trades' bot's ccxt rateLimit (default: ccxt's own); 10 enters 760 trades in minutes")
    parser.add_argument("--interval", type=float, default=1.0, help="the guard's --interval")
    parser.add_argument("--max-silence", type=float, default=5.0, help="the guard's --max-silence")
    args = parser.parse_args()
    print(f"scale benchmark: simulated latency {args.latency_ms:g} ms per answer; machine {platform.machine()}, "
          f"{os.cpu_count()} CPU(s), Python {platform.python_version()}, {platform.system()} {platform.release()}")
    for name, (title, measure, columns) in DIMENSIONS.items():
        sizes = getattr(args, name)
        if sizes:
            print_table(title, measure(sorted(sizes), args), columns)


if __name__ == "__main__":
    main()
