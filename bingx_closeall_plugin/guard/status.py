"""``bingx-closeall guard --status``: the state file read at a glance, one line per account and one per bot.

Armed or tripped, why and when, what the flatten did, each bot's last loop, and how to re-arm; the raw
document is ``--status --json``.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from .state import accounts_of

__all__ = ["status_text"]


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "never"


def _ago(ts: float | None, now: float) -> str:
    return f"{now - ts:.0f} s ago ({_when(ts)})" if ts else "never seen"


def account_lines(name: str, state: dict[str, Any], now: float) -> list[str]:
    who = f"account {name}" if name else "the account"
    last = state.get("last") or {}
    equity = (f"equity {last['equity']:.2f} at {_when(last.get('at'))}" if last.get("equity") is not None
              else "no equity read yet")
    if state.get("tripped"):
        flatten = state.get("flatten") or {}
        outcome = {None: "no flatten yet", True: "flattened", False: "FLATTEN FAILED, retried every check"}[
            state.get("flattened")]
        if state.get("dry_run"):
            outcome = "dry run: nothing was sent"
        done = f"; via {flatten['via']} at {_when(flatten.get('at'))}: {flatten.get('detail')}" if flatten else ""
        lines = [f"TRIPPED  {who} since {_when(state.get('tripped_at'))}: {state.get('reason')}",
                 f"         {outcome}{done}"]
    else:
        lines = [f"ARMED    {who}: {equity}"]
    for bot, record in sorted((state.get("bots") or {}).items()):
        error = f"; {record['error']}" if record.get("error") else ""
        lines.append(f"         bot {bot}: last loop {_ago(record.get('alive_at'), now)}{error}")
    return lines


def status_text(document: dict[str, Any], path: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    accounts = accounts_of(document)
    tripped = [name for name, state in accounts.items() if state.get("tripped")]
    lines = []
    for name, state in accounts.items():
        lines += account_lines(name, state, now)
    if len(accounts) > 1:
        lines.append(f"{len(tripped)} of {len(accounts)} accounts tripped" if tripped
                     else f"all {len(accounts)} accounts armed")
    if tripped:
        lines.append(f"Re-arm (every tripped account): bingx-closeall guard --rearm --state {path}")
    return "\n".join(lines)
