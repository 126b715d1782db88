"""Killing a bot at a named point: the simulator holds the request, the test kills the process group there.

``press_and_kill(bot, hold, press)`` runs ``press`` (a REST call, a force entry, ...) on a thread, waits until
the simulator has parked the request ``hold`` names (``count`` of them, when the press sends several at once),
SIGKILLs the bot's whole process group, then releases the hold (``drop=True``: the answer, or the request
itself, is lost with the process). Nothing is slept for: the kill lands exactly at the hold.

:class:`WebhookHold` is the same kind of hold on the bot's own side: a local webhook receiver (freqtrade's
``webhook`` RPC, which posts synchronously from the thread that sends the message) that parks the first
message matching it. freqtrade sends ``exit_fill`` from ``update_trade_state`` right after it committed the
filled exit: a flatten's bookkeeping parked on the first trade's ``exit_fill`` has that trade closed in the
database and every later one still open ("halfway through the books").

``foreign(sim)`` seeds what the bot does not own (the invariant checks it is left alone), and
``restart_on_same_books`` starts the killed bot again on its database and waits for the invariant.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

REACH_BOUND_S = 60.0
WEBHOOK_HOLD_BOUND_S = 60.0  # a parked webhook is answered by itself after this long


def foreign(sim: Any) -> None:
    """A position and a resting order the bot does not own (SOL is not on its whitelist)."""
    sim.seed_position("SOL-USDT", "LONG", 1.0)
    sim.seed_order("SOL-USDT", side="SELL", type="STOP_MARKET", quantity=1.0, stop_price=1.0)


def restart_on_same_books(start_bot: Any, sim: Any, books: Any, home: Any, flattened: Any = (),
                          **config: Any) -> Any:
    """The killed bot started again on its database (``home``); returns it once the books invariant holds."""
    restarted = start_bot(sim.base_url, tmp=home, **config)
    books.bot = restarted
    books.wait_holds(flattened=set(flattened))
    return restarted


def press_and_kill(bot: Any, hold: Any, press: Callable[[], Any], reach_timeout: float = REACH_BOUND_S,
                   drop: bool = True, count: int = 1) -> dict[str, Any]:
    """Kill ``bot`` once ``press`` has reached ``hold`` (``count`` requests parked there); returns the
    parameters of the last held request."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(press())
        except requests.RequestException as e:  # the bot dies with the request in flight
            outcome.append(e)

    presser = threading.Thread(target=run, daemon=True)
    presser.start()
    try:
        params = hold.wait_reached(reach_timeout, count=count)
    except TimeoutError:
        hold.release()
        presser.join(30)
        raise AssertionError(f"the kill point was never reached; the press answered {outcome}\n"
                             f"{bot.output()[-3000:]}") from None
    bot.kill()
    hold.release(drop=drop)
    presser.join(30)
    return params


class WebhookHold:
    """A webhook receiver on 127.0.0.1 that parks the first ``times`` messages of type ``message`` until
    released (bounded); every other message is answered at once. ``config`` is freqtrade's ``webhook`` section
    for it (json format, the message's trade id only)."""

    def __init__(self, message: str = "exit_fill", times: int = 1) -> None:
        self.message = message
        self.remaining = times
        self.params: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self._reached = threading.Condition()
        self._released = threading.Event()
        hold = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    payload = {}
                hold._arrived(payload)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    @property
    def config(self) -> dict[str, Any]:
        return {"enabled": True, "url": self.url, "format": "json", "timeout": WEBHOOK_HOLD_BOUND_S + 10,
                self.message: {"type": self.message, "trade_id": "{trade_id}", "pair": "{pair}"}}

    def _arrived(self, payload: dict[str, Any]) -> None:
        with self._reached:
            self.received.append(payload)
            if payload.get("type") != self.message or self.remaining <= 0:
                return
            self.remaining -= 1
            self.params.append(payload)
            self._reached.notify_all()
        self._released.wait(WEBHOOK_HOLD_BOUND_S)

    def wait_reached(self, timeout: float = 30.0, count: int = 1) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._reached:
            while len(self.params) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {self.message} webhook reached the hold within {timeout} s")
                self._reached.wait(left)
            return self.params[count - 1]

    def release(self, drop: bool = False) -> None:  # the bot is gone either way
        self._released.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
