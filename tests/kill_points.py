"""Killing a bot at a named point: the simulator holds the request, the test kills the process group there.

``press_and_kill(bot, hold, press)`` runs ``press`` (a REST call, a force entry, ...) on a thread, waits until
the simulator has parked the request ``hold`` names, SIGKILLs the bot's whole process group, then releases the
hold (``drop=True``: the answer, or the request itself, is lost with the process). Nothing is slept for: the
kill lands exactly at the hold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests

REACH_BOUND_S = 60.0


def press_and_kill(bot: Any, hold: Any, press: Callable[[], Any], reach_timeout: float = REACH_BOUND_S,
                   drop: bool = True) -> dict[str, Any]:
    """Kill ``bot`` once ``press`` has reached ``hold``; returns the parameters of the held request."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(press())
        except requests.RequestException as e:  # the bot dies with the request in flight
            outcome.append(e)

    presser = threading.Thread(target=run, daemon=True)
    presser.start()
    try:
        params = hold.wait_reached(reach_timeout)
    except TimeoutError:
        hold.release()
        presser.join(30)
        raise AssertionError(f"the kill point was never reached; the press answered {outcome}\n"
                             f"{bot.output()[-3000:]}") from None
    bot.kill()
    hold.release(drop=drop)
    presser.join(30)
    return params
