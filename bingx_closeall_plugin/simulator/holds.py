"""Holding a request at an exact point, so a test can kill its client there.

A crash test needs the client to die at one named moment: "BingX accepted the stop, the bot has not saved
it", "the close was sent, its answer not yet read". Sleeping for it is a guess. A :class:`Hold` parks the
first request that matches it, *before* BingX would execute it or *after* (executed, answer not yet sent),
until the test releases it: the test waits for :meth:`Hold.wait_reached`, kills the client, then releases.

Armed with ``sim.hold(path_suffix, when="after", method="POST", match=lambda params: ...)``; every hold is
bounded (``timeout``: released by itself after that many seconds) and ``sim.reset()`` / ``sim.stop()`` drop
every parked request, so a failed test cannot leave the server waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WHEN = ("before", "after")


class Hold:
    """One armed hold: matches requests by path suffix, method and parameters; parks up to ``times`` of them."""

    def __init__(self, suffix: str, when: str = "before", method: str | None = None,
                 match: Callable[[dict[str, Any]], bool] | None = None, times: int = 1,
                 timeout: float = 60.0) -> None:
        if when not in WHEN:
            raise ValueError(f"when must be one of {WHEN}, not {when!r}")
        if times < 1:
            raise ValueError("times must be >= 1")
        if not 0 < timeout <= 600:
            raise ValueError("timeout must be in (0, 600] seconds: every hold ends by itself")
        self.suffix = suffix.lstrip("/")
        self.when = when
        self.method = method.upper() if method else None
        self.match = match
        self.remaining = int(times)
        self.timeout = float(timeout)
        self.params: list[dict[str, Any]] = []  # every parked request's parameters, in arrival order
        self._reached = threading.Condition()
        self._released = threading.Event()
        self._drop = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    # ------------------------------------------------------------------ the test's side
    def wait_reached(self, timeout: float = 30.0, count: int = 1) -> dict[str, Any]:
        """Block until ``count`` requests are parked here; return the last one's parameters.

        Raises ``TimeoutError`` (naming the hold) when they do not come within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._reached:
            while len(self.params) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no request reached the hold on {self.suffix} ({self.when}) "
                                       f"within {timeout} s ({len(self.params)} of {count})")
                self._reached.wait(left)
            return self.params[count - 1]

    @property
    def reached(self) -> bool:
        with self._reached:
            return bool(self.params)

    def release(self, drop: bool = False) -> None:
        """Let every parked request (and any later one that matches) go on.

        ``drop=True`` aborts the connection instead: held ``before``, the request is never executed; held
        ``after``, it was executed and its answer is lost.
        """
        self._drop = bool(drop)
        self._released.set()
        with self._reached:
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the server's loop is already closed: nothing waits any more
                pass

    # ------------------------------------------------------------------ the server's side
    def _claims(self, method: str, path: str, params: dict[str, Any], when: str) -> bool:
        if when != self.when or self.remaining <= 0 or not path.endswith(self.suffix):
            return False
        if self.method is not None and method != self.method:
            return False
        return self.match is None or bool(self.match(params))

    async def park(self, params: dict[str, Any]) -> bool:
        """Wait (on the server's loop) until released or timed out; True when the request must be dropped."""
        event = asyncio.Event()
        with self._reached:
            self._waiters.append((asyncio.get_running_loop(), event))
            self.params.append(dict(params))
            self._reached.notify_all()
        if not self._released.is_set():
            try:
                await asyncio.wait_for(event.wait(), self.timeout)
            except TimeoutError:
                pass
        return self._drop


@dataclass
class HoldTable:
    """The simulator's armed holds; each request is checked at both points, first armed first."""

    _holds: list[Hold] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, hold: Hold) -> Hold:
        with self._lock:
            self._holds.append(hold)
        return hold

    def take(self, method: str, path: str, params: dict[str, Any], when: str) -> Hold | None:
        with self._lock:
            for hold in self._holds:
                if hold._claims(method, path, params, when):
                    hold.remaining -= 1
                    return hold
        return None

    def clear(self) -> None:
        """Forget every hold and drop whatever is parked (a reset: nothing may stay waiting)."""
        with self._lock:
            holds, self._holds = self._holds, []
        for hold in holds:
            hold.release(drop=True)
