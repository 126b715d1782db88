"""The guard's state file: tripped or not, the high-water mark, the last figures; and how an operator re-arms.

One JSON document, written atomically (a temporary file in the same directory, flushed to disk, then
renamed over the old one), so a guard killed mid-write leaves the previous state, never half of one.
Only the running guard writes it. It holds ``<state>.lock`` (``flock``) for its whole life, so a second
guard on the same file refuses to start. ``bingx-closeall guard --rearm`` never writes the state a guard is
running on: it leaves a request file, ``<state>.rearm``, which the guard takes up at its next check. With
no guard running it re-arms the file itself.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

__all__ = ["AccountState", "AccountStates", "StateError", "StateFile", "accounts_of", "fresh_state", "rearm"]

STATE_VERSION = 1
# A guard of several accounts: {"version": 2, "tripped": any account tripped, "accounts": {name: version-1 state}}
ACCOUNTS_VERSION = 2


class StateError(Exception):
    """The state file cannot be used (unreadable, not the guard's, or another guard holds it)."""


def fresh_state() -> dict[str, Any]:
    """An armed guard that has seen nothing yet."""
    return {
        "version": STATE_VERSION,
        "tripped": False,
        "tripped_at": None,  # epoch seconds
        "reason": None,
        "dry_run": False,  # the trip happened in a --dry-run guard: nothing was sent
        "flattened": None,  # None: no flatten attempted yet; True: flat verified or the bot said done; False: failed
        "flatten": None,  # how and when: {"via": ..., "at": ..., "detail": ...}
        "high_water_mark": None,
        "start_equity": None,
        "last": None,  # the last check's figures
        "bots": {},  # bot name -> {"alive_at": epoch seconds of its newest loop seen, "last_process_ts": ...}
        "equity_failures": 0,  # failed equity reads in a row
        "last_equity_ok_at": None,
        "rearmed_at": None,
        "checked_at": None,  # the newest check's start, epoch seconds
    }


class StateFile:
    """``path`` and its companions ``<path>.lock`` and ``<path>.rearm``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.rearm_path = self.path.with_name(self.path.name + ".rearm")
        self._lock: IO[str] | None = None

    def check_writable(self) -> None:
        directory = self.path.parent if str(self.path.parent) else Path(".")
        if not directory.is_dir():
            raise StateError(f"--state {str(self.path)!r}: directory {str(directory)!r} does not exist")
        if not os.access(directory, os.W_OK):
            raise StateError(f"--state {str(self.path)!r}: directory {str(directory)!r} is not writable")

    def acquire(self) -> None:
        """Hold ``<state>.lock`` until the process ends; StateError if another guard holds it."""
        handle = open(self.lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held (and locked) until the process ends
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise StateError(f"another guard is running on {str(self.path)!r} "
                             f"(it holds {str(self.lock_path)!r})") from None
        self._lock = handle

    def held_elsewhere(self) -> bool:
        """A running guard holds the lock (this process does not)."""
        if not self.lock_path.exists():
            return False
        with open(self.lock_path, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def load(self) -> dict[str, Any]:
        """The saved state, or a fresh one when there is no file. StateError for a file that is not the guard's."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return fresh_state()
        except OSError as e:
            raise StateError(f"cannot read state file {str(self.path)!r}: {e.strerror or e}") from None
        try:
            data = json.loads(text)
        except ValueError as e:
            raise StateError(f"state file {str(self.path)!r} is not valid JSON ({e}); fix it, or delete it to start "
                             "over (deleting re-arms the guard and forgets its high-water mark)") from None
        if (isinstance(data, dict) and data.get("version") == ACCOUNTS_VERSION
                and isinstance(data.get("accounts"), dict)):
            return data  # a guard of several accounts: :class:`AccountStates`
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise StateError(f"state file {str(self.path)!r} is not a version {STATE_VERSION} guard state")
        return {**fresh_state(), **data}

    def save(self, state: dict[str, Any]) -> None:
        directory = self.path.parent if str(self.path.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(state, out, indent=2, sort_keys=True)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        try:  # the rename itself survives a power cut once the directory is on disk
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass

    # ------------------------------------------------------------------ re-arming
    def request_rearm(self, who: str) -> None:
        payload = json.dumps({"requested_at": time.time(), "by": who})
        fd, tmp = tempfile.mkstemp(prefix=self.rearm_path.name + ".", suffix=".tmp", dir=self.rearm_path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(payload)
        os.replace(tmp, self.rearm_path)

    def take_rearm_request(self) -> dict[str, Any] | None:
        """The pending re-arm request, removed; None when there is none."""
        try:
            text = self.rearm_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as e:
            logger.warning("cannot read the re-arm request %s: %s", self.rearm_path, e.strerror or e)
            return None
        self.rearm_path.unlink(missing_ok=True)
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        return data if isinstance(data, dict) else {"requested_at": time.time(), "by": "unknown"}


def rearm(state: dict[str, Any], now: float) -> dict[str, Any]:
    """``state`` armed again: the equity marks start over from the next read, every bot gets a fresh grace."""
    state = dict(state)
    state.update(tripped=False, tripped_at=None, reason=None, dry_run=False, flattened=None, flatten=None,
                 high_water_mark=None, start_equity=None, rearmed_at=now, equity_failures=0)
    state["bots"] = {name: {**bot, "alive_at": now} for name, bot in (state.get("bots") or {}).items()}
    return state


def accounts_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each account's state in a loaded document, by name; a one-account file's under the name ``""``."""
    if document.get("version") == ACCOUNTS_VERSION:
        return {name: {**fresh_state(), **state} for name, state in document["accounts"].items()}
    return {"": document}


class AccountStates:
    """One state file for several accounts, each guard its :class:`AccountState`; every save writes the whole
    document (atomically, under one lock), so each account's trip is on disk before its flatten starts."""

    def __init__(self, state_file: StateFile, names: list[str]) -> None:
        self.file = state_file
        document = state_file.load()
        known = accounts_of(document) if document.get("version") == ACCOUNTS_VERSION else {}
        if document.get("version") == STATE_VERSION and document.get("tripped"):
            raise StateError(f"state file {str(state_file.path)!r} holds a tripped guard of one account: re-arm it "
                             "(--rearm) or give this guard of several accounts its own --state")
        self._states = {name: known.get(name, fresh_state()) for name in names}
        self._lock = threading.Lock()
        self._rearm: dict[str, dict[str, Any]] = {}

    def section(self, name: str) -> AccountState:
        return AccountState(self, name)

    def _save(self, name: str, state: dict[str, Any]) -> None:
        with self._lock:
            self._states[name] = state
            self.file.save({"version": ACCOUNTS_VERSION, "tripped": any(s["tripped"] for s in self._states.values()),
                            "accounts": self._states})

    def _take_rearm(self, name: str) -> dict[str, Any] | None:
        """One re-arm request re-arms every account: taken from the file once, handed to each account's guard."""
        with self._lock:
            request = self.file.take_rearm_request()
            if request is not None:
                self._rearm = dict.fromkeys(self._states, request)
            return self._rearm.pop(name, None)


class AccountState:
    """One account's part of :class:`AccountStates`, with :class:`StateFile`'s interface for its guard."""

    def __init__(self, states: AccountStates, name: str) -> None:
        self._states, self.name = states, name
        self.path = states.file.path

    def load(self) -> dict[str, Any]:
        return dict(self._states._states[self.name])

    def save(self, state: dict[str, Any]) -> None:
        self._states._save(self.name, state)

    def take_rearm_request(self) -> dict[str, Any] | None:
        return self._states._take_rearm(self.name)
