"""Every account's close first: how one press of many accounts keeps each close from waiting behind another request.

Each account flattens on its own thread, and every thread shares one interpreter lock: building a ccxt client
is about a millisecond of CPU, each request about one more (signing, requests' plumbing, the answer's JSON).
Left to themselves, 100 accounts' threads interleave all of that: measured at 100 accounts and 50 ms latency,
the last account's closeAllPositions left 0.75 s after the first, behind the clients still being built and the
other accounts' order reads, cancels and position reads. So a press goes in two steps:

1. every account's client is built (:meth:`CloseGate.built`), then every close is released at once;
2. no other request of any account (its order read beside the close included) goes out before every account's
   first close has been handed to its client, or that account has ended without one (a refused config, a
   Ctrl-C): :meth:`AccountSignal.sending` holds it.

Both waits are bounded (:data:`GATE_WAIT_S`): an account that cannot get there never holds the others longer.
Re-close rounds are not held; they come after the first close of their own account anyway.

A press split across processes (:mod:`.press`) shares one gate: built with the press's multiprocessing
context, its counts and events live in shared memory, so the two steps hold across every process's accounts.
"""

from __future__ import annotations

import threading
from typing import Any

from ..core.methods import CLOSE_ALL
from ..core.plans import StopSignal

__all__ = ["GATE_WAIT_S", "AccountSignal", "CloseGate"]

# Neither wait is ever longer: building 100 clients takes about 0.1 s, handing out 100 closes about as long.
GATE_WAIT_S = 2.0
_CLOSES = frozenset({CLOSE_ALL.method(False), CLOSE_ALL.method(True)})


class CloseGate:
    """The two steps of one press over ``accounts`` accounts; thread-safe, and process-safe when built with a
    ``multiprocessing`` context (before the processes are started)."""

    _BUILDING, _CLOSING, _SENT = range(3)

    def __init__(self, accounts: int, context: Any = None) -> None:
        sync = context if context is not None else threading
        self._lock = sync.Lock()
        self._all_built, self._all_closed = sync.Event(), sync.Event()
        counts = [accounts, accounts, 0]
        self._counts: Any = context.RawArray("i", counts) if context is not None else counts
        if accounts <= 0:
            self._all_built.set()
            self._all_closed.set()

    def _add(self, index: int, change: int) -> int:
        with self._lock:
            self._counts[index] += change
            return int(self._counts[index])

    def built(self) -> None:
        """This account's client is built: wait (bounded) until every account's is, then send the close."""
        if self._add(self._BUILDING, -1) <= 0:
            self._all_built.set()
        self._all_built.wait(GATE_WAIT_S)

    def closed(self) -> None:
        """This account's close is handed to its client, or it will send none: one account fewer to wait for."""
        if self._add(self._CLOSING, -1) <= 0:
            self._all_closed.set()

    def wait_for_closes(self) -> None:
        self._all_closed.wait(GATE_WAIT_S)

    def sent(self) -> None:
        """A request of one of the press's accounts is handed to its client."""
        self._counts[self._SENT] = 1  # only ever set, never counted: needs no lock

    @property
    def any_sent(self) -> bool:
        """Whether any request of the press's accounts (of any of its processes) was handed to its client."""
        return bool(self._counts[self._SENT])


class AccountSignal(StopSignal):
    """One account's :class:`~bingx_closeall_plugin.core.plans.StopSignal` in a press: also its place in the gate."""

    def __init__(self, gate: CloseGate) -> None:
        super().__init__()
        self.gate = gate
        self._left = False
        self._left_lock = threading.Lock()

    def leave(self) -> None:
        """This account's first close is out, or none will be (idempotent)."""
        with self._left_lock:
            if self._left:
                return
            self._left = True
        self.gate.closed()

    def count(self) -> None:
        super().count()
        self.gate.sent()

    def sending(self, method: str) -> None:
        if method in _CLOSES:
            super().sending(method)
            self.leave()
            return
        self.gate.wait_for_closes()
        super().sending(method)
