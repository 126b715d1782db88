"""Plans and their drivers: how the close path is written once for ``ccxt.bingx`` and its async twin.

A plan is a generator that yields the effects it needs (:class:`Call` a request, :class:`Sleep`,
:class:`Together` several plans at once) and receives their answers, or their errors thrown into it. Two
small drivers run one: :func:`run_sync` with a sync client, :func:`run_async` with an async one, so the twins
cannot drift apart. A :class:`StopSignal` set by another thread stops a plan before its next request
(:class:`Interrupted`). Every error a request raises reaches the plan, and the caller, masked.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import ccxt

from .errors import translate
from .redaction import mask_exception, secrets_of

__all__ = ["Call", "Interrupted", "Plan", "Sleep", "StopSignal", "Together", "run_async", "run_sync"]


# ---- effects the plans yield ---------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """Call the implicit API method ``method`` of the exchange with ``params``."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Together:
    """Run several plans concurrently; the answer is a list of (result, exception) pairs in order."""

    plans: tuple[Generator[Any, Any, Any], ...]


Plan = Generator[Any, Any, Any]


class Interrupted(Exception):
    """A :class:`StopSignal` was set: the driver stopped before sending this step's request."""


class StopSignal:
    """Lets another thread stop a running plan at its next step, and see how far it got.

    The CLI sets it on a first Ctrl-C: the request in flight is answered (bounded by the client's
    timeout), no further request is sent, and the plan reports what it knows. ``requests_sent`` counts
    the requests handed to the exchange; ``report`` is the flatten's report as built so far.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self.requests_sent = 0
        self.report: Any = None

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def sleep(self, seconds: float) -> None:
        """Sleep, returning early once the signal is set."""
        self._event.wait(seconds)

    def count(self) -> None:
        with self._lock:
            self.requests_sent += 1

    def sending(self, method: str) -> None:
        """Called by the drivers just before a request (ccxt's implicit ``method``) goes to the exchange: counts
        it. A subclass may also hold it there (the CLI sends every account's close before any other request);
        with :func:`run_async`, such a hold blocks the event loop, so it belongs to the sync driver."""
        self.count()


# ---- drivers -------------------------------------------------------------------------------------
def _stopped(effect: Any, stop: StopSignal | None) -> bool:
    # A Together is not stopped itself: each of its plans stops at its own next request.
    return stop is not None and stop.is_set() and not isinstance(effect, Together)


def run_sync(exchange: Any, plan: Plan, stop: StopSignal | None = None) -> Any:
    """Drive a plan with a sync ``ccxt.bingx``; once ``stop`` is set, each next step raises Interrupted.

    Every exception a request raises reaches the plan, and the caller, with its text masked
    (:func:`~bingx_closeall_plugin.core.redaction.mask_exception`): same class, chain and attributes.
    """
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = plan.throw(error) if error is not None else plan.send(value)
        except StopIteration as stop_iteration:
            return stop_iteration.value
        except Exception as e:
            # What the plan raises itself (a malformed answer quotes BingX's body) leaves masked too.
            mask_exception(e, secrets_of(exchange))  # in place: class, chain and traceback unchanged
            raise
        value, error = None, None
        if _stopped(effect, stop):
            error = Interrupted("stopped on request before this step")
            continue
        try:
            if isinstance(effect, Sleep):
                stop.sleep(effect.seconds) if stop is not None else time.sleep(effect.seconds)
            elif isinstance(effect, Together):
                value = _together_sync(exchange, effect.plans, stop)
            else:
                if stop is not None:
                    stop.sending(effect.method)
                value = getattr(exchange, effect.method)(dict(effect.params))
        except ccxt.BaseError as e:
            # Masked before the plan (or the caller) sees it: ccxt's network errors carry the signed URL.
            error = mask_exception(translate(e), secrets_of(exchange))


def _together_sync(exchange: Any, plans: tuple[Plan, ...],
                   stop: StopSignal | None) -> list[tuple[Any, BaseException | None]]:
    """The first plan on the calling thread, each other one on a thread of its own: the first (the close, in a
    flatten) never waits for a thread to start, and a press of many accounts starts half as many threads."""
    results: list[tuple[Any, BaseException | None]] = [(None, None)] * len(plans)

    def one(index: int) -> None:
        try:
            results[index] = run_sync(exchange, plans[index], stop), None
        except Exception as e:  # noqa: BLE001 - handed back to the plan, which decides
            results[index] = None, e

    others = [threading.Thread(target=one, args=(i,), name=f"{threading.current_thread().name}-{i}", daemon=True)
              for i in range(1, len(plans))]
    for thread in others:
        thread.start()
    if plans:
        one(0)
    for thread in others:
        thread.join()
    return results


async def run_async(exchange: Any, plan: Plan, stop: StopSignal | None = None) -> Any:
    """Drive a plan with ``ccxt.async_support.bingx``; ``stop`` and masking as for :func:`run_sync`."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = plan.throw(error) if error is not None else plan.send(value)
        except StopIteration as stop_iteration:
            return stop_iteration.value
        except Exception as e:
            # What the plan raises itself (a malformed answer quotes BingX's body) leaves masked too.
            mask_exception(e, secrets_of(exchange))  # in place: class, chain and traceback unchanged
            raise
        value, error = None, None
        if _stopped(effect, stop):
            error = Interrupted("stopped on request before this step")
            continue
        try:
            if isinstance(effect, Sleep):
                await asyncio.sleep(effect.seconds)
            elif isinstance(effect, Together):
                value = await _together_async(exchange, effect.plans, stop)
            else:
                if stop is not None:
                    stop.sending(effect.method)
                value = await getattr(exchange, effect.method)(dict(effect.params))
        except ccxt.BaseError as e:
            # Masked before the plan (or the caller) sees it: ccxt's network errors carry the signed URL.
            error = mask_exception(translate(e), secrets_of(exchange))


async def _together_async(exchange: Any, plans: tuple[Plan, ...],
                          stop: StopSignal | None) -> list[tuple[Any, BaseException | None]]:
    async def one(plan: Plan) -> tuple[Any, BaseException | None]:
        try:
            return await run_async(exchange, plan, stop), None
        except Exception as e:  # noqa: BLE001 - handed back to the plan, which decides
            return None, e

    return list(await asyncio.gather(*(one(plan) for plan in plans)))
