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
"""

from __future__ import annotations

import threading

from ..core.methods import CLOSE_ALL
from ..core.plans import StopSignal

__all__ = ["GATE_WAIT_S", "AccountSignal", "CloseGate"]

# Neither wait is ever longer: building 100 clients takes about 0.1 s, handing out 100 closes about as long.
GATE_WAIT_S = 2.0
_CLOSES = frozenset({CLOSE_ALL.method(False), CLOSE_ALL.method(True)})


class CloseGate:
    """The two steps of one press over ``accounts`` accounts; thread-safe."""

    def __init__(self, accounts: int) -> None:
        self._lock = threading.Lock()
        self._building = self._closing = accounts
        self._all_built, self._all_closed = threading.Event(), threading.Event()
        if accounts <= 0:
            self._all_built.set()
            self._all_closed.set()

    def built(self) -> None:
        """This account's client is built: wait (bounded) until every account's is, then send the close."""
        with self._lock:
            self._building -= 1
            if self._building <= 0:
                self._all_built.set()
        self._all_built.wait(GATE_WAIT_S)

    def closed(self) -> None:
        """This account's close is handed to its client, or it will send none: one account fewer to wait for."""
        with self._lock:
            self._closing -= 1
            if self._closing <= 0:
                self._all_closed.set()

    def wait_for_closes(self) -> None:
        self._all_closed.wait(GATE_WAIT_S)


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

    def sending(self, method: str) -> None:
        if method in _CLOSES:
            super().sending(method)
            self.leave()
            return
        self.gate.wait_for_closes()
        super().sending(method)
