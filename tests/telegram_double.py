"""A local Telegram Bot API double: what a real python-telegram-bot (freqtrade's Telegram) talks to in tests.

An aiohttp server on 127.0.0.1, in its own thread, speaking the Bot API methods freqtrade's PTB Application
calls (``getMe``, ``deleteWebhook``, ``getUpdates`` with a bounded long poll, ``sendMessage``,
``editMessageText``, ``answerCallbackQuery``, ``setMyCommands``/``getMyCommands``, ``close``/``logOut``) at
``/bot<token>/<method>``, as Telegram's own server and a self-hosted ``telegram-bot-api`` do. Point a bot at
it with the plugin's ``telegram.bot_api_url`` = :attr:`TelegramDouble.url`.

It records every message the bot sent or edited (:attr:`messages`), and lets a test play the operator:
:meth:`send_command` (a user's ``/command``) and :meth:`press` (a callback-query button press), each
delivered by the next ``getUpdates``.

Like Telegram, it refuses a message in HTML parse mode whose markup is not Telegram's HTML (an unknown or
unbalanced tag, a bare ``<`` or ``&``): "Bad Request: can't parse entities". Such a refusal is recorded
too (``accepted=False``), so a test sees that the chat never got the text. It models no other part of
Telegram (no Markdown checks, no message length limit, no flood control, no files, no webhooks).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

# Telegram's HTML parse mode: these tags, and &lt; &gt; &amp; &quot; (plus numeric) entities, nothing else.
TELEGRAM_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
                           "tg-emoji", "code", "pre", "blockquote"})
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
# Parameters PTB sends JSON-encoded in its form body (string parameters are sent as they are).
_JSON_PARAMS = frozenset({"reply_markup", "allowed_updates", "commands", "entities", "link_preview_options",
                          "reply_parameters", "scope"})
POLL_CAP_S = 1.0  # a getUpdates long poll is answered after at most this long, whatever timeout it asked for
BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "bingx-test-bot", "username": "bingx_test_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}


def html_problems(text: str) -> list[str]:
    """Why Telegram would refuse ``text`` in HTML parse mode; empty when it would accept it."""
    problems: list[str] = []
    open_tags: list[str] = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag not in TELEGRAM_TAGS:
                problems.append(f"unsupported start tag <{tag}>")
            open_tags.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if not open_tags or open_tags[-1] != tag:
                problems.append(f"unmatched end tag </{tag}>")
            else:
                open_tags.pop()

    checker = Checker(convert_charrefs=False)
    checker.feed(text)
    checker.close()
    if open_tags:
        problems.append(f"unclosed tags {open_tags}")
    # A '<' that starts no tag and a '&' that starts no entity are what Telegram's parser refuses.
    without_tags = re.sub(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?>", "", text)
    if "<" in without_tags or ">" in without_tags:
        problems.append("unescaped < or >")
    if "&" in _ENTITY.sub("", without_tags):
        problems.append("unescaped &")
    return problems


@dataclass
class SentMessage:
    """One message the bot sent (``sendMessage``) or edited (``editMessageText``)."""

    method: str
    chat_id: str
    text: str
    parse_mode: str | None
    message_id: int
    reply_markup: dict[str, Any] | None = None
    accepted: bool = True  # False: refused like Telegram refuses bad HTML; the chat never saw it
    problems: list[str] = field(default_factory=list)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]


class TelegramDouble:
    """The Bot API double for one token. ``start()`` / ``stop()``; every wait bounded."""

    def __init__(self, token: str = "123456789:bingx-plugin-test-token", chat_id: int = 4711, user_id: int = 4712):
        self.token = token
        self.chat_id = chat_id
        self.user_id = user_id
        self.port = 0
        self.messages: list[SentMessage] = []
        self.calls: list[str] = []  # every Bot API method called, in order
        self.answered_callbacks: list[str] = []
        self.unknown: list[str] = []
        self._updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._lock = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        """The Bot API root, for ``telegram.bot_api_url``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> TelegramDouble:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_route("*", "/bot{token}/{method}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="telegram-double", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the Telegram Bot API double did not start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        self._loop = self._thread = None

    def reset(self) -> None:
        """Forget what was sent and any update not yet delivered."""
        with self._lock:
            self.messages.clear()
            self.calls.clear()
            self.answered_callbacks.clear()
            self._updates.clear()

    # ---------------------------------------------------------------- the operator's side
    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": "operator"}

    def _chat(self) -> dict[str, Any]:
        return {"id": self.chat_id, "type": "private", "first_name": "operator"}

    def _queue(self, update: dict[str, Any]) -> None:
        with self._lock:
            self._updates.append({"update_id": next(self._update_ids), **update})
            self._lock.notify_all()

    def send_command(self, text: str, chat_id: int | None = None) -> None:
        """The operator types ``text`` (e.g. ``/closeall BTC/USDT:USDT``) in the chat."""
        command = text.split()[0]
        self._queue({"message": {
            "message_id": next(self._ids), "date": int(time.time()),
            "chat": {**self._chat(), "id": chat_id or self.chat_id},
            "from": self._user(), "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        }})

    def press(self, message: SentMessage, callback_data: str) -> None:
        """The operator presses the button with ``callback_data`` under the bot's ``message``."""
        assert any(b.get("callback_data") == callback_data for b in message.buttons), (callback_data, message.buttons)
        self._queue({"callback_query": {
            "id": str(next(self._ids)), "from": self._user(), "chat_instance": "bingx-test", "data": callback_data,
            "message": self._message_json(message),
        }})

    def wait_for_message(self, predicate: Any = None, timeout: float = 60.0, since: int = 0,
                         what: str = "a Telegram message") -> SentMessage:
        """The first message (from index ``since``) that ``predicate`` accepts; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for message in self.messages[since:]:
                    if predicate is None or predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}; sent: "
                                         f"{[m.text for m in self.messages]}")
                self._lock.wait(min(left, 0.5))

    def wait_until_polled(self, timeout: float = 60.0) -> None:
        """Until the bot has started polling for updates (its command handlers are live)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while "getUpdates" not in self.calls:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the bot did not poll the Telegram double within {timeout}s: {self.calls}")
                self._lock.wait(min(left, 0.5))

    # ---------------------------------------------------------------- the Bot API side
    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        body: dict[str, Any] = {"message_id": message.message_id, "date": int(time.time()), "chat": self._chat(),
                                "from": BOT_USER, "text": message.text}
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            body["reply_markup"] = message.reply_markup
        return body

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
            params.update(request.query)
        for key in _JSON_PARAMS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        with self._lock:
            self.calls.append(method)
            self._lock.notify_all()
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            self.unknown.append(method)
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return await handler(params)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> web.Response:  # noqa: N802 - Bot API names
        return self._ok(BOT_USER)

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        if str(params.get("drop_pending_updates")).lower() == "true":
            with self._lock:
                self._updates.clear()
        return self._ok(True)

    async def _api_setMyCommands(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return self._ok(True)

    async def _api_getMyCommands(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return self._ok([])

    async def _api_close(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _api_logOut(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return self._ok(True)

    async def _api_getUpdates(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), POLL_CAP_S)
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed ones are gone
                if self._updates or time.monotonic() >= deadline:
                    return self._ok(list(self._updates))
            await asyncio.sleep(0.05)

    def _record(self, method: str, params: dict[str, Any], message_id: int) -> tuple[SentMessage, web.Response]:
        text = str(params.get("text") or "")
        parse_mode = params.get("parse_mode")
        problems = html_problems(text) if str(parse_mode).upper() == "HTML" else []
        message = SentMessage(method, str(params.get("chat_id") or self.chat_id), text, parse_mode, message_id,
                              params.get("reply_markup"), accepted=not problems, problems=problems)
        with self._lock:
            self.messages.append(message)
            self._lock.notify_all()
        if problems:
            return message, web.json_response({"ok": False, "error_code": 400, "description":
                                               f"Bad Request: can't parse entities: {problems[0]}"}, status=400)
        return message, self._ok(self._message_json(message))

    async def _api_sendMessage(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return self._record("sendMessage", params, next(self._ids))[1]

    async def _api_editMessageText(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        return self._record("editMessageText", params, int(params.get("message_id") or 0))[1]

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:  # noqa: N802
        with self._lock:
            self.answered_callbacks.append(str(params.get("callback_query_id")))
        return self._ok(True)
