"""FreqtradeBot: start a real ``freqtrade-bingx trade`` process against the simulator, drive its REST API, stop it.

Every wait is bounded; :meth:`FreqtradeBot.stop` ends the whole process group (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bingx_closeall_plugin.core.urls import api_urls

import zygote
from process_group import stop_group

REPO = Path(__file__).resolve().parents[1]
STRATEGY_DIR = REPO / "examples" / "strategies"
STRATEGY = "BingxFuturesSample"
API_USER = "bingx"
API_PASSWORD = "bingx-test-password"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
# ccxt's throttle at a spacing for the local simulator. ccxt's bingx spaces a client's requests by its rateLimit
# (100 ms) times each endpoint's cost: about 2 s of sleep for every force-entered trade (marginType, leverage, the
# order, balance, positions, the stop), most of a test's time where it opens many. The throttle stays on; the
# suite's bots (``start_bot``) and the in-process exchanges use this spacing, the benchmarks keep ccxt's own.
SIMULATOR_RATE_LIMIT_MS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_environment() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", NO_COLOR="1")
    # freqtrade skips its whole logging set-up when it sees pytest's variable: the bot must log as in production.
    env.pop("PYTEST_VERSION", None)
    return env


# What every bot imports, about 3.5 s of CPU: the bot zygote imports it once per test worker (tests/zygote.py).
# The plugin's freqtrade layer as the launcher imports it: with LAUNCHING set first, as freqtrade_bingx.main()
# sets it, the package's import installs nothing; each bot's launcher installs (and checks freqtrade's
# release and signatures) in the child, as in production.
BOT_BEFORE = "import bingx_closeall_plugin.freqtrade_bingx as launcher; launcher.LAUNCHING = True"
BOT_PRELOAD = ["freqtrade.main", "freqtrade.commands", "freqtrade.worker", "freqtrade.freqtradebot",
               "freqtrade.rpc.api_server", "freqtrade.rpc.telegram", "freqtrade.strategy", "bingx_closeall_plugin",
               "bingx_closeall_plugin.freqtrade.launcher", "bingx_closeall_plugin.freqtrade.install",
               "bingx_closeall_plugin.freqtrade.exchange", "bingx_closeall_plugin.freqtrade.flatten",
               "bingx_closeall_plugin.freqtrade.startup_sync", "bingx_closeall_plugin.freqtrade.telegram"]
LAUNCHER = "bingx_closeall_plugin.freqtrade_bingx:main"  # the console script freqtrade-bingx


def launcher_command() -> list[str]:
    script = Path(sys.executable).with_name("freqtrade-bingx")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "bingx_closeall_plugin.freqtrade_bingx"]


BOT = zygote.Kind(("script", LAUNCHER), launcher_command, BOT_PRELOAD, before=BOT_BEFORE,
                  environment=bot_environment)


def run_freqtrade_bingx(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``freqtrade-bingx ARGS`` run to its end (its own session): exit code, stdout, stderr."""
    return BOT.run(args, env=bot_environment(), cwd=cwd, timeout=timeout, new_session=True)


def make_config(tmp: Path, base_url: str | None, *, key: str = "sim-key", secret: str = "sim-secret",
                dry_run: bool = False, api_port: int | None = None, pairs: list[str] | None = None,
                rate_limit_ms: int | None = None, **overrides: Any) -> dict[str, Any]:
    """freqtrade's config for a live bot on the simulator at ``base_url``; ``overrides`` replace whole sections.

    ``rate_limit_ms`` sets ccxt's ``rateLimit`` in the exchange's ccxt configs (the ``exchange`` override's too,
    where it sets none of its own); None keeps ccxt's own spacing.
    """
    exchange: dict[str, Any] = {"name": "bingx", "key": key, "secret": secret,
                                "pair_whitelist": list(pairs or PAIRS), "pair_blacklist": []}
    if base_url:
        urls = {"api": api_urls(base_url)}
        exchange["ccxt_config"] = {"urls": urls}
        exchange["ccxt_async_config"] = {"urls": urls}
    config: dict[str, Any] = {
        "max_open_trades": 5,
        "stake_currency": "USDT",
        "stake_amount": 100,
        "tradable_balance_ratio": 0.9,
        "fiat_display_currency": "",
        "dry_run": dry_run,
        "dry_run_wallet": 10_000,
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "timeframe": "5m",
        "unfilledtimeout": {"entry": 10, "exit": 10, "unit": "minutes"},
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exchange": exchange,
        "pairlists": [{"method": "StaticPairList"}],
        "api_server": {
            "enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": api_port or free_port(),
            "verbosity": "error", "enable_openapi": False, "jwt_secret_key": "bingx-plugin-test-jwt-secret-0123456789",
            "CORS_origins": [], "username": API_USER, "password": API_PASSWORD,
        },
        "bot_name": "bingx-test",
        "initial_state": "running",
        "force_entry_enable": True,
        "internals": {"process_throttle_secs": 1, "heartbeat_interval": 0},
        "db_url": f"sqlite:///{tmp / 'trades.sqlite'}",
        "user_data_dir": str(tmp / "user_data"),
        "datadir": str(tmp / "user_data" / "data" / "bingx"),
    }
    config.update(overrides)
    if rate_limit_ms is not None:
        exchange = config["exchange"] = dict(config["exchange"])
        for section in ("ccxt_config", "ccxt_async_config"):
            exchange[section] = {"rateLimit": rate_limit_ms, **exchange.get(section, {})}
    return config


def resting_stops(sim: Any) -> dict[str, str]:
    """Native symbol -> id of the stop resting there on the simulator."""
    return {o["symbol"]: str(o["orderId"]) for o in sim.open_orders() if o["type"] == "STOP_MARKET"}


def signed(requests: list[Any]) -> list[Any]:
    """The signed requests among ``requests`` (ccxt sends the API key header only with those)."""
    return [r for r in requests if r.api_key_ok]


class FreqtradeBot:
    """One ``freqtrade-bingx`` process with its config, log file and REST API."""

    def __init__(self, tmp: Path, config: dict[str, Any], args: list[str] | None = None,
                 strategy: str = STRATEGY, fork: bool = True, kind: zygote.Kind | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.env = env or {}  # added to the bot's environment (a switch, docs/performance.md)
        self.kind = kind or BOT  # another kind: another freqtrade-bingx (tests/test_wheel.py: an installed wheel's)
        self.fork = fork  # False: the console script itself, exec'd (tests/zygote.py forks a preloaded one)
        self.config = config
        self.config_path = tmp / "config.json"
        self.log_path = tmp / "stdout.log"  # freqtrade logs to stderr, captured here with stdout
        self.db_path = Path(config["db_url"].removeprefix("sqlite:///")) if "db_url" in config else None
        self.args = args
        self.strategy = strategy
        self.proc: subprocess.Popen[bytes] | zygote.Child | None = None
        api = config.get("api_server") or {}
        self.api_url = f"http://127.0.0.1:{api.get('listen_port')}/api/v1"
        self.auth = (api.get("username"), api.get("password"))

    # ---------------------------------------------------------------- lifecycle
    def launch(self) -> FreqtradeBot:
        (self.tmp / "user_data").mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config, indent=2))
        args = self.args or ["trade", "-c", str(self.config_path), "--strategy", self.strategy,
                             "--strategy-path", str(STRATEGY_DIR)]
        self.proc = self.kind.start(args, env={**bot_environment(), **self.env}, cwd=self.tmp, log=self.log_path,
                                    fork=self.fork)
        return self

    def start(self, timeout: float = START_TIMEOUT) -> FreqtradeBot:
        """Launch and wait until the REST API answers and the bot state is running."""
        return self.launch().wait_running(timeout)

    def wait_running(self, timeout: float = START_TIMEOUT) -> FreqtradeBot:
        """Wait until the launched bot's REST API answers and its state is running (stopped if it never does)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"freqtrade exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            try:
                if requests.get(f"{self.api_url}/ping", timeout=2).ok:
                    state = self.api("GET", "/show_config").get("state")
                    if state == "running":
                        return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"freqtrade did not get running within {timeout}s:\n{self.output()[-4000:]}")

    def wait_exit(self, timeout: float = START_TIMEOUT) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise

    def kill(self) -> None:
        """SIGKILL the whole process group at once: a crash, with no chance to clean up."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        proc, self.proc = self.proc, None
        return stop_group(proc, timeout)

    # ---------------------------------------------------------------- observation
    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, method: str, path: str, json: Any = None, timeout: float = 30) -> Any:
        resp = requests.request(method, f"{self.api_url}{path}", json=json, auth=self.auth, timeout=timeout)
        resp.raise_for_status()
        return resp.json()

    def force_enter(self, entries: list[tuple[str, str]], sim: Any = None, timeout: float = 60) -> list[dict]:
        """Force-enter ``(pair, side)`` pairs; wait until every entry is filled and, when ``sim`` is given,
        until every trade's stoploss rests on the exchange. Returns the bot's open trades (those already open too)."""
        total = len(self.api("GET", "/status")) + len(entries)
        for pair, side in entries:
            self.api("POST", "/forceenter", {"pair": pair, "side": side})

        def filled() -> list[dict] | None:
            # no open order and the fill's amount recorded (an unthrottled bot is read between the two at times)
            trades = self.api("GET", "/status")
            done = len(trades) == total and not any(t["has_open_orders"] or not t["amount"] for t in trades)
            return trades if done else None

        trades = self.wait_for(filled, timeout=timeout, interval=0.2, what=f"{total} filled trades")
        if sim is not None:
            self.wait_for(lambda: len([o for o in sim.open_orders() if o["type"] == "STOP_MARKET"]) >= total,
                          timeout=max(30, timeout), interval=0.2, what="a stoploss on the exchange for every trade")
        return trades

    def open_trade(self, pair: str) -> dict:
        """The bot's open trade on ``pair`` once its entry is filled (waited for)."""
        return self.wait_for(lambda: next((t for t in self.api("GET", "/status")
                                           if t["pair"] == pair and not t["has_open_orders"]), None),
                             what=f"an open, filled trade on {pair}")

    def make_flat(self, sim: Any) -> None:
        """Whatever a test left open is closed (entries resumed, trades exited, stray positions closed), so the
        next test sharing this bot starts flat; the test's own checks are already done."""
        from bingx_closeall_plugin import BingX, close_all_positions

        from conftest import make_client

        if self.api("GET", "/show_config")["state"] != "running":
            self.api("POST", "/start")
        if self.api("GET", "/status"):
            self.api("POST", "/forceexit", {"tradeid": "all"})
            self.wait_for(lambda: not self.api("GET", "/status"), timeout=30, what="the test's trades closed")
        if sim.positions():
            close_all_positions(make_client(BingX, sim))

    def db(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        """Rows of the bot's sqlite database, as dicts."""
        assert self.db_path is not None
        with sqlite3.connect(self.db_path) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql, params)]

    def exit_orders_in_db(self, trade_id: int) -> list[dict[str, Any]]:
        """The trade's filled orders on its exit side, as freqtrade recorded them."""
        return self.db("SELECT o.* FROM orders o JOIN trades t ON t.id = o.ft_trade_id WHERE o.ft_trade_id = ? "
                       "AND o.ft_order_side = CASE WHEN t.is_short THEN 'buy' ELSE 'sell' END AND o.status = 'closed'",
                       (trade_id,))

    def loop_iterations(self, sim: Any, count: int = 2, timeout: float = 120) -> list[list[Any]]:
        """The simulator's requests of the bot's next ``count`` whole loop iterations, one list each.

        freqtrade stamps ``last_process`` (``GET /health``, to the microsecond) when an iteration ends; the
        requests an iteration sent are those the simulator received between two such stamps. The cut is by
        those times, not by when the change is seen: on a busy machine an iteration can take most of
        ``process_throttle_secs``, leaving a pause shorter than the poll's own delay. Only each stamp must be
        seen (polled every 20 ms; they are at least ``process_throttle_secs`` apart).
        """
        deadline = time.monotonic() + timeout
        wall_minus_monotonic = time.time() - time.monotonic()  # the simulator stamps requests with time.monotonic()
        last = self.api("GET", "/health")["last_process"]
        ends: list[float] = []
        while len(ends) < count + 1:
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot's loop did not complete {count} iterations within {timeout}s")
            now = self.api("GET", "/health")["last_process"]
            if now != last:
                ends.append(datetime.fromisoformat(now).timestamp() - wall_minus_monotonic)
                last = now
            time.sleep(0.02)
        log = sim.requests
        return [[r for r in log if start < r.started <= end] for start, end in itertools.pairwise(ends)]

    def wait_for(self, predicate: Any, timeout: float = 30, interval: float = 0.5, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.output()[-3000:]}")
