"""The running flatten as its jobs see it: what :mod:`.force_exit_all`, :mod:`.close_all_command` and
:mod:`.books` use of the :class:`~.flatten.Flattener` that runs them.

The Flattener (the gate: one flatten at a time, entries stopped, the exit lock) calls the two jobs, so they
cannot import it back; they are typed against this interface instead, which the Flattener implements (mypy
checks it where the Flattener hands itself to a job).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from freqtrade.persistence import Trade

__all__ = ["RunningFlatten"]


class RunningFlatten(Protocol):
    """The flatten a job runs inside (:class:`~.flatten.Flattener`)."""

    ft: Any  # the FreqtradeBot

    @property
    def api(self) -> Any:
        """The flatten's own ccxt client (no throttle; the bot's client is left alone)."""

    @property
    def rate_limit_wait(self) -> float:
        """Seconds a rate-limited close may wait for BingX's unblock time."""

    def on_wait(self, seconds_left: float, retry_after_ms: int) -> None:
        """A rate-limited close is being waited out: say so."""

    def claim(self, trades: list[Trade]) -> None:
        """These trades are the flatten's until its books are written: called just before their close goes out."""

    def bookkeeping(self, trades: list[Trade]) -> AbstractContextManager[list[Trade]]:
        """The bot's exit lock for writing trades and orders, with the trades read afresh."""
