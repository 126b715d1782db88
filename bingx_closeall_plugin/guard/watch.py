"""The guard's watch: one check (each bot's health, the account's equity, the rules) and the trip.

:class:`Guard` reads, judges and trips; what it then sends is :mod:`.respond`; the command and its loop,
:mod:`.command`. The rules are the package's docstring.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from ..cli.run import describe_error
from ..core.methods import BALANCE
from . import respond
from .config import Bot
from .notify import Notifier
from .state import AccountState, StateFile, rearm

logger = logging.getLogger("bingx_closeall_plugin.guard")

__all__ = ["Equity", "Guard", "Health"]


@dataclass(frozen=True)
class Equity:
    balance: float
    unrealized: float

    @property
    def equity(self) -> float:
        return self.balance + self.unrealized


@dataclass(frozen=True)
class Health:
    last_process_ts: float | None = None  # the bot's newest loop, epoch seconds
    error: str | None = None  # not answering: why
    auth_failed: bool = False  # answered, but refused the guard's login: the guard's fault, not the bot's


class _Named(logging.LoggerAdapter[logging.Logger]):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        name = (self.extra or {}).get("account")
        return (f"[{name}] {msg}" if name else msg), kwargs


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "never"


class Guard:
    """One BingX account's watch: its bots, its equity, its trip and its flatten (a guard of several accounts
    runs one per account, each on its own thread: :func:`.command.run`)."""

    def __init__(self, args: argparse.Namespace, bots: list[Bot], exchange: Any, state_file: StateFile | AccountState,
                 notifier: Notifier, secrets: tuple[str, ...], name: str = "") -> None:
        self.args, self.bots, self.exchange, self.name = args, bots, exchange, name
        # Several accounts: every line names its account.
        self.log: logging.LoggerAdapter[logging.Logger] = _Named(logger, {"account": name})
        self.state_file, self.notifier, self.secrets = state_file, notifier, secrets
        self.state = state_file.load()
        self.started_at = time.time()
        self.checked_at = 0.0  # the newest check's start, epoch seconds
        self.pool = ThreadPoolExecutor(max_workers=len(bots) + 1, thread_name_prefix="guard")
        self.alerted_unreachable = False

    # ------------------------------------------------------------------ reads
    def health(self, bot: Bot) -> Health:
        try:
            response = requests.get(f"{bot.api_url}/health", auth=(bot.user, bot.password),
                                    timeout=self.args.http_timeout)
        except requests.RequestException as e:
            return Health(error=f"not answering ({type(e).__name__})")
        if response.status_code in (401, 403):
            return Health(error=f"refused the guard's login (HTTP {response.status_code})", auth_failed=True)
        if response.status_code != 200:
            return Health(error=f"HTTP {response.status_code}")
        try:
            ts = response.json().get("last_process_ts")
        except (ValueError, AttributeError):
            return Health(error="answered something that is not freqtrade's health")
        return Health(last_process_ts=float(ts) if isinstance(ts, (int, float)) else None)

    def read_equity(self) -> Equity:
        answer = getattr(self.exchange, BALANCE.linear)({})
        rows = answer.get("data") if isinstance(answer, dict) else None
        rows = rows if isinstance(rows, list) else [rows] if isinstance(rows, dict) else []
        for row in rows:
            if isinstance(row, dict) and row.get("asset") == self.args.asset:
                balance, unrealized = float(row["balance"]), float(row["unrealizedProfit"])
                if not (math.isfinite(balance) and math.isfinite(unrealized)):
                    raise ValueError(f"BingX's {self.args.asset} balance is not a number")
                return Equity(balance, unrealized)
        raise ValueError(f"BingX's balance answer has no {self.args.asset} row")

    # ------------------------------------------------------------------ one check
    def check(self) -> None:
        now = self.checked_at = time.time()
        self._take_rearm(now)
        healths = {bot.name: self.pool.submit(self.health, bot) for bot in self.bots}
        equity_read = self.pool.submit(self.read_equity)
        reasons = self._heartbeats({name: f.result() for name, f in healths.items()}, now)
        try:
            equity: Equity | None = equity_read.result()
        except Exception as e:  # noqa: BLE001 - a failed read is the guard's problem, never a drawdown
            equity = None
            self._equity_failed(e, now)
        if equity is not None:
            reasons += self._equity_rules(equity, now)
        s = self.state
        if s["tripped"]:
            self._say_tripped()
            if s["flattened"] is not True and not s["dry_run"]:
                # A flatten that failed, or one a killed guard never finished: until the account is flat.
                self.log.warning("the account was not seen flat after the trip: flattening again")
                self._act()
        elif reasons:
            self._trip(reasons, now)
        self.state["checked_at"] = now  # --status: a guard whose newest check is old is not watching
        self.state_file.save(self.state)

    def silence_due(self) -> float | None:
        """When the first watched bot's silence passes ``--max-silence`` if it stays silent, counted from its newest
        loop seen (epoch seconds); only a moment the newest check could not judge yet. None while tripped (no rule
        is watched) or with no bot to judge. The watch brings its next check forward to it (:func:`.command.watch`),
        so a dead bot trips ``--max-silence`` after its last loop, not up to ``--interval`` later."""
        if self.state["tripped"]:
            return None
        records = self.state["bots"]
        due = [(records.get(bot.name, {}).get("alive_at") or self.started_at) + self.args.max_silence
               for bot in self.bots if not records.get(bot.name, {}).get("auth_failed")]
        return min((at for at in due if at > self.checked_at), default=None)

    def _heartbeats(self, healths: dict[str, Health], now: float) -> list[str]:
        reasons, parts = [], []
        for bot in self.bots:
            health = healths[bot.name]
            record = self.state["bots"].setdefault(bot.name, {"alive_at": None, "last_process_ts": None})
            if health.last_process_ts is not None:
                record["last_process_ts"] = health.last_process_ts
                record["alive_at"] = max(record.get("alive_at") or 0.0, min(health.last_process_ts, now))
            since = record.get("alive_at") or self.started_at  # never seen: silence counts from the guard's start
            silence = max(0.0, now - since)
            record["silence_s"] = round(silence, 1)
            record["error"] = health.error
            seen = (f"last loop {silence:.0f} s ago" if record.get("alive_at")
                    else f"no loop seen in the {silence:.0f} s since the guard started")
            parts.append(f"bot {bot.name}: {seen}" + (f", {health.error}" if health.error else ""))
            alerted, record["auth_failed"] = record.get("auth_failed"), health.auth_failed
            if health.auth_failed:
                self.log.error("bot %s refused the guard's login: its heartbeat is not judged until it accepts it",
                             bot.name)
                if not alerted:  # once per refusal streak, not every check
                    self.notifier.send("alert",
                                       f"bot {bot.name} refused the guard's login; its heartbeat is not watched")
            elif silence > self.args.max_silence:
                reasons.append(f"bot {bot.name} silent for {silence:.0f} s "
                               f"(> --max-silence {self.args.max_silence:g} s; "
                               f"last loop {_when(record.get('alive_at'))}; {health.error or 'API up, loop stalled'})")
        self._bot_line = "; ".join(parts)
        return reasons

    def _equity_rules(self, equity: Equity, now: float) -> list[str]:
        s, a = self.state, self.args
        if s["equity_failures"] >= a.alert_after or self.alerted_unreachable:
            self.notifier.send("recovered", f"BingX answers again after {s['equity_failures']} failed read(s); "
                                            f"equity {equity.equity:.2f} {a.asset}")
        s["equity_failures"], s["last_equity_ok_at"] = 0, now
        self.alerted_unreachable = False
        if not s["tripped"]:
            s["high_water_mark"] = max(s["high_water_mark"] or equity.equity, equity.equity)
            if s["start_equity"] is None and a.start_equity is None:
                s["start_equity"] = equity.equity
        start = a.start_equity if a.start_equity is not None else s["start_equity"]
        hwm = s["high_water_mark"]
        figures = (f"equity {equity.equity:.2f} {a.asset} (balance {equity.balance:.2f} + unrealised "
                   f"{equity.unrealized:.2f}; high-water mark {hwm:.2f}; start {start:.2f})")
        s["last"] = {"at": now, "equity": equity.equity, "balance": equity.balance, "unrealized": equity.unrealized,
                     "high_water_mark": hwm, "start_equity": start}
        reasons = []
        if a.floor is not None and equity.equity < a.floor:
            reasons.append(f"{figures} is below --floor {a.floor:.2f}")
        if a.drawdown is not None and hwm is not None and equity.equity < hwm - a.drawdown.of(hwm):
            reasons.append(f"{figures}: drawdown {hwm - equity.equity:.2f} from the high-water mark exceeds "
                           f"--max-drawdown {a.drawdown} (floor {hwm - a.drawdown.of(hwm):.2f})")
        if a.loss is not None and start is not None and equity.equity < start - a.loss.of(start):
            reasons.append(f"{figures}: loss {start - equity.equity:.2f} from the start value exceeds "
                           f"--max-loss {a.loss} (floor {start - a.loss.of(start):.2f})")
        self.log.info("check: %s; %s", figures, self._bot_line or "no bot watched")
        return reasons

    def _equity_failed(self, error: BaseException, now: float) -> None:
        s, a = self.state, self.args
        s["equity_failures"] += 1
        text = describe_error(error, self.secrets)
        self.log.warning("check: equity read failed (%d in a row): %s; not a drawdown, no rule judged on it; %s",
                       s["equity_failures"], text, self._bot_line or "no bot watched")
        if s["equity_failures"] == a.alert_after:
            self.notifier.send("alert", f"{a.alert_after} equity reads in a row failed; last: {text}")
        last_ok = s["last_equity_ok_at"] or self.started_at
        if a.unreachable_alert is not None and now - last_ok > a.unreachable_alert and not self.alerted_unreachable:
            self.alerted_unreachable = True
            text = (f"BingX has not answered for {now - last_ok:.0f} s "
                    f"(> --unreachable-alert {a.unreachable_alert:g} s): "
                    "the guard cannot close anything while this lasts")
            self.log.error(text)
            self.notifier.send("alert", text)

    # ------------------------------------------------------------------ tripping
    def _trip(self, reasons: list[str], now: float) -> None:
        s = self.state
        s.update(tripped=True, tripped_at=now, reason="; ".join(reasons), dry_run=self.args.dry_run,
                 flattened=None, flatten=None)
        self.state_file.save(s)  # tripped before anything is sent: a crash from here on restarts tripped
        text = f"TRIPPED: {s['reason']}"
        self.log.error(text)
        self.notifier.send("tripped", text, {"reason": s["reason"], "last": s["last"]})
        self._act()

    def _act(self) -> None:
        s, a = self.state, self.args
        started = time.monotonic()
        if a.dry_run:
            text = (f"DRY RUN: would ask {', '.join(b.name for b in self.bots) or 'no bot'} to POST /api/v1/closeall, "
                    f"then flatten the account directly if not flat within {a.bot_deadline:g} s; nothing sent")
            self.log.warning(text)
            s["flatten"] = {"via": "dry-run", "at": time.time(), "detail": text}
            self.notifier.send("dry_run", text)
            return
        detail = respond.ask_bots(self.pool, self.bots, a.bot_deadline, self.secrets)
        said_done = [name for name, answer in detail.items() if answer.startswith("done")]
        # One positions read when a bot answered (flat is what BingX says, whoever closed); when none did, the
        # direct flatten goes at once: on a flat account it is one empty close.
        answered = any(not answer.startswith("no answer") for answer in detail.values())
        positions = respond.open_positions(self.exchange, self.secrets) if answered else None
        if said_done and positions in ([], None):
            via = "bot " + ", ".join(said_done)
            flat, text = True, ("flat" if positions == []
                                else "flat by the bot's answer (positions could not be re-read)")
        elif positions == []:
            via, flat, text = "nothing open", True, "flat"
        else:
            via = "direct"
            flat, text = respond.flatten_directly(self.exchange, a.max_wait, self.secrets)
        elapsed = time.monotonic() - started
        s["flattened"] = flat
        s["flatten"] = {"via": via, "at": time.time(), "seconds": round(elapsed, 3), "bots": detail, "detail": text}
        message = (f"flatten via {via} in {elapsed:.2f} s: {text}; bots: "
                   + ("; ".join(f"{n}: {d}" for n, d in detail.items()) or "none"))
        (self.log.warning if flat else self.log.error)(message)
        self.notifier.send("flattened" if flat else "flatten_failed", message, {"flat": flat, "via": via})
        self.state_file.save(s)

    def _say_tripped(self) -> None:
        s = self.state
        outcome = {None: "no flatten yet", True: "account flattened", False: "FLATTEN FAILED"}[s["flattened"]]
        if s["dry_run"]:
            outcome = "dry run: nothing was sent"
        self.log.error("STILL TRIPPED since %s (%s); %s via %s. Not watching. "
                     "Re-arm: bingx-closeall guard --rearm --state %s",
                     _when(s["tripped_at"]), s["reason"], outcome, (s["flatten"] or {}).get("via", "-"),
                     self.state_file.path)

    def _take_rearm(self, now: float) -> None:
        request = self.state_file.take_rearm_request()
        if request is None:
            return
        if not self.state["tripped"]:
            self.log.info("re-arm request taken: the guard was not tripped")
            return
        self.state = rearm(self.state, now)
        self.started_at = now
        text = f"re-armed by the operator ({request.get('by', 'unknown')}); watching again"
        self.log.warning(text)
        self.notifier.send("rearmed", text)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.notifier.close()
