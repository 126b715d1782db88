"""The bot's loop does not start a pass while a flatten runs (``Flattener.before_loop_pass``, called by the plugin's
``FreqtradeBot.process`` hook): a unit test of the wait itself, on a Flattener over a stand-in bot."""

from __future__ import annotations

import importlib
import threading
from typing import Any

import pytest

WAIT_S = 10.0  # every wait below is for an event; this only bounds a broken run


class Watched(threading.Event):
    """An Event that says when someone starts waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


@pytest.fixture
def flattener(plugin: Any, mocker: Any) -> Any:
    flatten = importlib.import_module("bingx_closeall_plugin.freqtrade.flatten")
    bot = mocker.MagicMock(name="FreqtradeBot")
    bot._exit_lock = threading.Lock()
    flattener = flatten.Flattener(bot)
    flattener._started.set()  # the bot's start-up is over
    return flattener


def test_a_pass_starts_at_once_when_no_flatten_runs(flattener):
    done = threading.Event()
    thread = threading.Thread(target=lambda: (flattener.before_loop_pass(), done.set()), daemon=True)
    thread.start()
    assert done.wait(WAIT_S)


def test_a_pass_waits_for_the_running_flatten_and_starts_once_it_is_done(flattener):
    order: list[str] = []
    in_flatten, finish, watched = threading.Event(), threading.Event(), Watched()

    def flatten() -> dict[str, Any]:
        flattener._run.done = watched  # the running flatten's "done", which a waiting pass waits on
        in_flatten.set()
        assert finish.wait(WAIT_S)
        order.append("flatten done")
        return {"result": "closed", "status": "done"}

    press = threading.Thread(target=flattener._exclusive, args=("bot", flatten), daemon=True)
    press.start()
    assert in_flatten.wait(WAIT_S)
    loop = threading.Thread(target=lambda: (flattener.before_loop_pass(), order.append("pass")), daemon=True)
    loop.start()

    assert watched.waiting.wait(WAIT_S), "the pass did not wait for the flatten"
    assert order == []
    finish.set()
    press.join(WAIT_S)
    loop.join(WAIT_S)
    assert order == ["flatten done", "pass"]


def test_the_flattens_own_thread_never_waits_for_itself(flattener):
    def flatten() -> dict[str, Any]:
        flattener.before_loop_pass()  # e.g. a fallback inside the flatten that reaches the hook: must not deadlock
        return {"result": "closed", "status": "done"}

    outcome: list[Any] = []
    press = threading.Thread(target=lambda: outcome.append(flattener._exclusive("bot", flatten)), daemon=True)
    press.start()
    press.join(WAIT_S)
    assert outcome == [{"result": "closed", "status": "done"}]
