"""A real ``bingx-closeall guard`` process for tests, and a tiny local webhook receiver.

:class:`GuardProcess` runs the console entry point's ``guard`` dispatch in a child process (its own
process group), its stderr in a file; every wait is bounded and :meth:`GuardProcess.stop` ends it
(SIGTERM, then SIGKILL). :class:`WebhookReceiver` is an ``http.server`` on 127.0.0.1 that records every
JSON body POSTed to it.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cli_runner
import zygote
from process_group import stop_group

STOP_TIMEOUT = 20.0


class GuardProcess:
    def __init__(self, args: list[str], env: dict[str, str], workdir: Path, state: Path) -> None:
        self.args, self.env, self.workdir, self.state_path = args, env, workdir, state
        self.log_path = workdir / f"guard-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen[bytes] | zygote.Child | None = None

    def start(self) -> GuardProcess:
        self.proc = cli_runner.start_cli(["guard", "--state", str(self.state_path), *self.args], self.env,
                                         self.workdir, self.log_path, new_session=True)
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def state(self) -> dict[str, Any]:
        """The state file as saved; empty before the first save."""
        try:
            return json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return {}

    def wait_for(self, predicate: Any, timeout: float = 30.0, what: str = "condition", interval: float = 0.1) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the guard exited ({self.proc.returncode}) while waiting for {what}:\n"
                                     f"{self.output()[-4000:]}")
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}:\n{self.output()[-4000:]}")

    def wait_log(self, text: str, timeout: float = 30.0, count: int = 1) -> str:
        self.wait_for(lambda: self.output().count(text) >= count, timeout, f"{text!r} x{count} in the guard's log")
        return self.output()

    def checks(self) -> int:
        """Checks logged so far (one 'check:' line each)."""
        return self.output().count(" check: ")

    def wait_checks(self, more: int, timeout: float = 30.0) -> None:
        target = self.checks() + more
        self.wait_for(lambda: self.checks() >= target, timeout, f"{more} more check(s)")

    def stop(self) -> int | None:
        proc, self.proc = self.proc, None
        return stop_group(proc, STOP_TIMEOUT)


def run_guard(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A guard command that ends by itself (--once, --rearm, --status, a refused configuration): the console
    entry point in a child process, forked like every CLI run (tests/cli_runner.py), stdin empty."""
    return cli_runner.run_cli(["guard", *args], env, timeout=timeout, cwd=cwd)


class WebhookReceiver:
    """Records each JSON body POSTed to it; answers 200."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name for it
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver._lock:
                    receiver.bodies.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def events(self) -> list[str]:
        with self._lock:
            return [str(b.get("event")) for b in self.bodies]

    def wait_event(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for body in self.bodies:
                    if body.get("event") == event:
                        return body
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for webhook event {event!r}; got {self.events()}")


class BotApiDouble:
    """A freqtrade bot's REST API as the guard reads it, without the bot: ``GET /api/v1/health`` answers a loop
    that ran just now (freqtrade's ``last_process_ts``, whole seconds), behind the basic-auth login; any other
    path is 404. :meth:`kill` closes the port at once, as a bot killed with SIGKILL does."""

    def __init__(self, user: str = "guard", password: str = "bot-pw-5d71c2") -> None:

        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.user, self.password = user, password

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("Authorization") != expected:
                    self._answer(401, {"detail": "Unauthorized"})
                elif self.path == "/api/v1/health":
                    self._answer(200, {"last_process_ts": int(time.time())})
                else:
                    self._answer(404, {"detail": "Not Found"})

            do_POST = do_GET  # noqa: N815 - /closeall: 404, the guard then flattens directly

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> BotApiDouble:
        self.thread.start()
        return self

    def api_server(self) -> dict[str, Any]:
        """The ``api_server`` section of the bot's config."""
        return {"api_server": {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": self.port,
                               "username": self.user, "password": self.password}}

    def kill(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
