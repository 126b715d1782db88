"""The guard's notifications: a webhook (JSON POST) and Telegram's Bot API ``sendMessage``.

Sent from one background thread, so a slow or dead receiver never delays a check or a flatten; each
request is bounded by a timeout, a failure is logged (masked) and dropped, never retried forever. Every
text goes through :func:`~bingx_closeall_plugin.core.redaction.mask` with the guard's secrets first, and the
Telegram token (it is part of the request URL) is one of them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import requests

from ..core.redaction import mask

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_TELEGRAM_API", "Notifier"]

DEFAULT_TELEGRAM_API = "https://api.telegram.org"
SEND_TIMEOUT_S = 10.0
QUEUE_LIMIT = 100  # beyond this, a receiver that cannot keep up loses the oldest news, never the guard's memory
TELEGRAM_TEXT_LIMIT = 4000  # Telegram's own limit is 4096 characters


class Notifier:
    """Queues events; :meth:`close` gives the queue a bounded time to drain."""

    def __init__(self, webhooks: list[str], telegram_token: str | None, telegram_chat: str | None,
                 telegram_api: str = DEFAULT_TELEGRAM_API, secrets: tuple[str, ...] = (), name: str = "guard") -> None:
        self.webhooks = list(webhooks)
        self.telegram = (telegram_token, telegram_chat) if telegram_token and telegram_chat else None
        self.telegram_api = telegram_api.rstrip("/")
        self.secrets = tuple(s for s in (*secrets, telegram_token) if s)
        self.name = name
        self._queue: queue.Queue[tuple[str, str, dict[str, Any]] | None] = queue.Queue(QUEUE_LIMIT)
        self._thread: threading.Thread | None = None
        if self.webhooks or self.telegram:
            self._thread = threading.Thread(target=self._run, name="guard-notify", daemon=True)
            self._thread.start()

    def send(self, event: str, text: str, figures: dict[str, Any] | None = None) -> None:
        if self._thread is None:
            return
        item = (event, mask(text, self.secrets), figures or {})
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    pass

    def close(self, timeout: float = 15.0) -> None:
        if self._thread is None:
            return
        try:
            self._queue.put(None, timeout=1.0)
        except queue.Full:
            pass
        self._thread.join(timeout)

    def _run(self) -> None:
        session = requests.Session()
        while True:
            item = self._queue.get()
            if item is None:
                return
            event, text, figures = item
            for url in self.webhooks:
                self._post(session, url, {"text": f"[{self.name}] {text}", "event": event, "guard": self.name,
                                          "time": time.time(), **figures}, "webhook")
            if self.telegram is not None:
                token, chat = self.telegram
                self._post(session, f"{self.telegram_api}/bot{token}/sendMessage",
                           {"chat_id": chat, "text": f"[{self.name}] {text}"[:TELEGRAM_TEXT_LIMIT]}, "Telegram")

    def _post(self, session: requests.Session, url: str, body: dict[str, Any], what: str) -> None:
        try:
            response = session.post(url, json=body, timeout=SEND_TIMEOUT_S)
            if response.status_code >= 300:
                logger.warning("%s notification refused: HTTP %s %s", what, response.status_code,
                               mask(response.text[:200], self.secrets))
        except requests.RequestException as e:
            logger.warning("%s notification failed: %s", what, mask(f"{type(e).__name__}: {e}", self.secrets))
