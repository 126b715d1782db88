"""BingX's request limits that the plugin must never cross, declared as data, and a counter to keep to them.

A request BingX refuses for a limit is not free: it closes nothing, and every refusal counts toward BingX's
error penalty (more than 20 errors in 480 s disables the API key). So the plugin counts what it sends and does
not send a request that the limit would refuse.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["CLOSE_ALL_LIMIT", "Limit", "SlidingWindow", "close_all_window"]


class Limit:
    """``count`` requests in any sliding ``seconds`` window, per API key."""

    def __init__(self, count: int, seconds: float) -> None:
        self.count = count
        self.seconds = seconds


# closeAllPositions: "rate limitation by interface: 5/s by UID" (BingX's page for the endpoint); beyond it
# BingX answers 100410 (109429 since the 2025-10-16 renumbering) and blocks the endpoint for a while.
CLOSE_ALL_LIMIT = Limit(5, 1.0)


class SlidingWindow:
    """How many more requests a :class:`Limit` allows now; thread-safe."""

    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        """Reserve up to ``wanted`` requests to send now; returns how many were granted."""
        with self._lock:
            now = self._clock()
            while self._sent and now - self._sent[0] >= self.limit.seconds:
                self._sent.popleft()
            granted = max(0, min(wanted, self.limit.count - len(self._sent)))
            self._sent.extend([now] * granted)
            return granted


_windows: dict[str, SlidingWindow] = {}
_windows_lock = threading.Lock()


def close_all_window(api_key: str) -> SlidingWindow:
    """The closeAllPositions window of one API key, shared by every client of this process that uses it."""
    with _windows_lock:
        window = _windows.get(api_key)
        if window is None:
            window = _windows[api_key] = SlidingWindow(CLOSE_ALL_LIMIT)
        return window
