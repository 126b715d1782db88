"""Fault injection for the simulator.

A :class:`Fault` is armed with ``sim.inject(path_suffix, fault, times=n)``; every request whose
path (without the ``/openApi`` prefix) ends with ``path_suffix`` consumes one shot, first armed first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Fault:
    """One kind of misbehaviour. Build it with the class methods, not the constructor."""

    kind: str
    code: int | None = None
    msg: str = ""
    executed: bool = False
    seconds: float = 0.0
    status: int = 502
    payload: str = ""  # the body http_error and body() answer (a field named body would clash with body())
    symbols: tuple[str, ...] = ()
    symbol: str | None = None
    side: str | None = None
    qty: float = 0.0

    @classmethod
    def error(cls, code: int, msg: str) -> Fault:
        """Answer HTTP 200 ``{"code": code, "msg": msg, "data": {}}`` without executing."""
        return cls(kind="error", code=int(code), msg=msg)

    @classmethod
    def lost_reply(cls, executed: bool) -> Fault:
        """Drop the connection, after executing the request (``executed=True``) or before."""
        return cls(kind="lost_reply", executed=bool(executed))

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Execute, then wait ``seconds`` before answering."""
        return cls(kind="delay", seconds=float(seconds), executed=True)

    @classmethod
    def http_error(cls, status: int = 502, body: str = "<html><body>502 Bad Gateway</body></html>",
                   executed: bool = False) -> Fault:
        """Answer an HTML body with ``status``, after executing or not."""
        return cls(kind="http_error", status=int(status), payload=body, executed=bool(executed))

    @classmethod
    def body(cls, text: str, status: int = 200, executed: bool = False) -> Fault:
        """Answer exactly ``text`` (as application/json) with ``status``, after executing or not.

        For malformed answers: a body that is not JSON, lacks ``data``, carries float ids, and so on.
        """
        return cls(kind="body", status=int(status), payload=str(text), executed=bool(executed))

    @classmethod
    def failed(cls, symbols: list[str] | tuple[str, ...] | str) -> Fault:
        """closeAllPositions leaves these symbols open and lists their positionIds in ``failed``."""
        if isinstance(symbols, str):
            symbols = (symbols,)
        return cls(kind="failed", symbols=tuple(symbols), executed=True)

    @classmethod
    def reopen(cls, symbol: str, side: str, qty: float) -> Fault:
        """Right after closeAllPositions executes, a position on ``symbol`` re-appears."""
        return cls(kind="reopen", symbol=symbol, side=side.upper(), qty=float(qty), executed=True)

    @property
    def executes(self) -> bool:
        """Whether the request is executed at all under this fault."""
        return self.kind not in ("error",) and (self.executed or self.kind in ("delay", "failed", "reopen"))


@dataclass
class _Armed:
    suffix: str
    fault: Fault
    remaining: int


@dataclass
class FaultTable:
    """Thread-safe list of armed faults, consumed per matching request."""

    _armed: list[_Armed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, suffix: str, fault: Fault, times: int = 1) -> None:
        if not isinstance(fault, Fault):
            raise TypeError("fault must be a Fault")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._armed.append(_Armed(suffix.lstrip("/"), fault, int(times)))

    def take(self, path: str) -> Fault | None:
        """Consume and return the first armed fault whose suffix matches ``path``."""
        with self._lock:
            for armed in self._armed:
                if path.endswith(armed.suffix):
                    armed.remaining -= 1
                    if armed.remaining <= 0:
                        self._armed.remove(armed)
                    return armed.fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"suffix": a.suffix, "kind": a.fault.kind, "remaining": a.remaining} for a in self._armed]
