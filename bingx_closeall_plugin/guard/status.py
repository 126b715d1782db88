"""``bingx-closeall guard --status``: the state file read at a glance, one line per account and a summary.

Each account's line: armed or tripped, its equity and when it was read, its bot's last loop (a line per bot when
several share the account). A tripped account has two more lines under it: why and when, and what the flatten
did, if it ran. The summary, last (what a terminal still shows after a long list): how many accounts are tripped and
which, the newest check and whether a guard is running on the file, and how to re-arm. Accounts are named by their
config, the directory they share said once, first. The raw document is ``--status --json``.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from .state import accounts_of

__all__ = ["status_text"]

INDENT = " " * 9  # under the account's name, past "TRIPPED  "


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "never"


def _ago(ts: float | None, now: float) -> str:
    if not ts:
        return "never"
    seconds = max(0.0, now - ts)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def _shared_directory(names: list[str]) -> str:
    """The directory every name (a config path) is in, with its slash; "" when they are not all in one."""
    directories = {os.path.dirname(name) for name in names}
    if len(names) < 2 or len(directories) != 1 or not all(directories):
        return ""
    return directories.pop().rstrip("/") + "/"


def _bots(state: dict[str, Any], account: str, now: float, short: Any) -> tuple[str, list[str]]:
    """The bots on the account's own line (one bot), or a count there and a line each (several)."""
    def loop(record: dict[str, Any]) -> str:
        error = f", {record['error']}" if record.get("error") else ""
        return f"last loop {_ago(record.get('alive_at'), now)}{error}"

    bots = sorted((state.get("bots") or {}).items())
    if not bots:
        return "", []
    if len(bots) == 1:
        name, record = bots[0]
        return f"; bot{'' if name == account else ' ' + short(name)}: {loop(record)}", []
    return f"; {len(bots)} bots", [f"{INDENT}bot {short(name)}: {loop(record)}" for name, record in bots]


def account_lines(name: str, state: dict[str, Any], now: float, width: int = 0, short: Any = str) -> list[str]:
    label = f"{short(name) + ':' if name else 'the account:':<{width + 1}}"
    last = state.get("last") or {}
    equity = (f"equity {last['equity']:.2f} (read {_ago(last.get('at'), now)})" if last.get("equity") is not None
              else "no equity read yet")
    if state.get("equity_failures"):
        equity += f", then {state['equity_failures']} failed read(s) in a row"
    bots, bot_lines = _bots(state, name, now, short)
    if not state.get("tripped"):
        return [f"ARMED    {label} {equity}{bots}", *bot_lines]
    flatten = state.get("flatten") or {}
    outcome = {None: "not flattened yet", True: "flattened", False: "FLATTEN FAILED, retried every check"}[
        state.get("flattened")]
    if state.get("dry_run"):
        outcome = "dry run: nothing was sent"
    lines = [f"TRIPPED  {label} since {_when(state.get('tripped_at'))}; {outcome}{bots}", *bot_lines,
             f"{INDENT}why: {short(str(state.get('reason')))}"]
    if flatten:
        took = f", {flatten['seconds']:g} s" if isinstance(flatten.get("seconds"), (int, float)) else ""
        did = f"via {flatten.get('via')} at {_when(flatten.get('at'))}{took}: {short(str(flatten.get('detail')))}"
        asked = flatten.get("bots") or {}
        if asked and flatten.get("via") != "direct":
            did += "; bots asked: " + "; ".join(f"{short(bot)}: {answer}" for bot, answer in asked.items())
        lines.append(f"{INDENT}flatten: {did}")
    return lines


def status_text(document: dict[str, Any], path: str, now: float | None = None, running: bool | None = None) -> str:
    """The document at a glance; ``running``: whether a guard holds the state file (None: not known)."""
    now = time.time() if now is None else now
    accounts = accounts_of(document)
    shared = _shared_directory([name for name in accounts if name])

    def short(text: str) -> str:
        return text.replace(shared, "") if shared else text

    width = max(len(short(name)) for name in accounts) if len(accounts) > 1 else 0
    lines = [f"Accounts by config, in {shared}:"] if shared else []
    for name, state in accounts.items():
        lines += account_lines(name, state, now, width, short)
    tripped = [name for name, state in accounts.items() if state.get("tripped")]
    checked = max((state.get("checked_at") or (state.get("last") or {}).get("at") or 0.0
                   for state in accounts.values()), default=0.0)
    guard = {True: "a guard is running on it", False: "NO GUARD RUNNING on it", None: ""}[running]
    newest = f"newest check {_when(checked)} ({_ago(checked, now)})" if checked else "no check yet"
    if len(accounts) > 1:
        count = (f"{len(tripped)} of {len(accounts)} accounts TRIPPED ({', '.join(short(n) for n in tripped)}), "
                 f"{len(accounts) - len(tripped)} armed" if tripped else f"all {len(accounts)} accounts armed")
        lines.append(f"{count}; {newest}")
    else:
        lines.append(newest[0].upper() + newest[1:])
    lines[-1] += f"; {guard}" if guard else ""
    if tripped:
        lines.append(f"Re-arm (every tripped account): bingx-closeall guard --rearm --state {path}")
    return "\n".join(lines)
