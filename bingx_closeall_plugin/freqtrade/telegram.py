"""The Telegram side of the flatten: ``/closeall [symbol]`` with a confirmation button, and words for
``/forceexit all``.

Handlers are wrapped in freqtrade's ``authorized_only``, so they answer only the configured chat (and
topic, and users) like every freqtrade command.

freqtrade sends these with Telegram's HTML parse mode: every message here is plain text masked with the
bot's key and secret (:func:`~bingx_closeall_plugin.core.redaction.mask`) and then ``html.escape``d whole, so
a symbol, an error or anything BingX said can neither leak a signature nor break (or inject) markup.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any

from freqtrade.rpc import RPCException
from freqtrade.rpc.telegram import authorized_only, safe_async_db
from telegram import InlineKeyboardButton, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler

from ..core.errors import InvalidSymbol
from ..core.redaction import mask, secrets_of
from ..core.symbols import both_names, display_name, to_native
from .compat import IncompatibleFreqtrade
from .rest_api import rpc_close_all

logger = logging.getLogger(__name__)

__all__ = ["BOT_API_URL_KEY", "CALLBACK_PREFIX", "bot_api_url", "build_application", "chat_text", "closeall_command",
           "closeall_confirmed", "describe", "handlers"]

CALLBACK_PREFIX = "bingx_closeall__"
# telegram.bot_api_url: the root of a self-hosted Telegram Bot API server (e.g. http://127.0.0.1:8081);
# freqtrade 2026.9 always talks to api.telegram.org. PTB appends /bot<token>/<method> to it.
BOT_API_URL_KEY = "bot_api_url"


def bot_api_url(telegram_config: dict[str, Any]) -> str | None:
    """The configured Bot API root without a trailing slash, or None for Telegram's own server.

    Raises freqtrade's OperationalException, naming the key, for a value that is not an http(s) URL.
    """
    from freqtrade.exceptions import OperationalException

    url = telegram_config.get(BOT_API_URL_KEY)
    if url is None:
        return None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or not url.split("://", 1)[1].strip("/"):
        raise OperationalException(f"telegram.{BOT_API_URL_KEY} must be an http:// or https:// URL of a Telegram "
                                   f"Bot API server, got {url!r}")
    return url.rstrip("/")


def check_application_builder() -> None:
    """The shape :func:`build_application` relies on: freqtrade builds PTB's Application with a token, and
    PTB's builder takes the Bot API URLs. Raises IncompatibleFreqtrade otherwise (at install time)."""
    from freqtrade.rpc import telegram as ft_telegram

    application = getattr(ft_telegram, "Application", None)
    builder = getattr(application, "builder", None)
    missing = [name for name in ("token", "base_url", "base_file_url", "build")
               if not callable(getattr(type(builder()) if callable(builder) else None, name, None))]
    if missing:
        raise IncompatibleFreqtrade(f"freqtrade's Telegram Application builder lacks {missing}: "
                                    f"telegram.{BOT_API_URL_KEY} cannot be applied")


def build_application(telegram_config: dict[str, Any]) -> Any:
    """freqtrade's Application (``Application.builder().token(...).build()``) pointed at
    ``telegram.bot_api_url``; None when that is not set (freqtrade's own builder is used)."""
    from freqtrade.rpc import telegram as ft_telegram

    url = bot_api_url(telegram_config)
    if url is None:
        return None
    logger.info(f"Telegram: using the Bot API server at {url}")
    return (ft_telegram.Application.builder().token(telegram_config["token"])
            .base_url(f"{url}/bot").base_file_url(f"{url}/file/bot").build())


def masked(telegram: Any, text: Any) -> Any:
    """A chat message with the bot's key and secret and every signature masked (non-text left alone)."""
    if not isinstance(text, str):
        return text
    return mask(text, (*secrets_of(telegram._config.get("exchange") or {}),
                       str((telegram._config.get("telegram") or {}).get("token") or "")))


def chat_text(telegram: Any, text: str) -> str:
    """``text`` ready for an HTML-mode chat message: secrets masked, then escaped."""
    return html.escape(masked(telegram, text), quote=False)


async def say(telegram: Any, text: str, **kwargs: Any) -> None:
    """Send plain ``text`` to the chat (masked, escaped, HTML mode)."""
    await telegram._send_msg(chat_text(telegram, text), parse_mode=ParseMode.HTML, **kwargs)


def describe(answer: dict[str, Any]) -> str:
    """A flatten's answer in words, for a chat (plain text: :func:`say` masks and escapes it)."""
    lines = [answer["result"]]
    for closed in answer.get("closed", []):
        rate = closed.get("close_rate")
        lines.append(f"- trade {closed['trade_id']} {closed['pair']}: closed at {rate}" if rate is not None
                     else f"- trade {closed['trade_id']} {closed['pair']}: close order {closed['order_ids']}")
    if answer.get("failed"):
        lines.append(f"BingX could not close: {', '.join(map(str, answer['failed']))}")
    if answer.get("fallbacks"):
        lines.append(f"Exited one by one: trades {', '.join(map(str, answer['fallbacks']))}")
    for position in answer.get("remaining_positions") or []:
        name = both_names(position.get("symbol"), position.get("unified_symbol"))
        lines.append(f"STILL OPEN: {name} {position.get('positionAmt')}")
    for order in answer.get("kept_orders") or []:
        lines.append(f"KEPT (its position is open): {order.get('symbol')} {order.get('type')} {order.get('side')} "
                     f"stop {order.get('stopPrice')}")
    for stop in answer.get("kept_stoplosses") or []:
        lines.append(f"KEPT: the stoploss of trade {stop['trade_id']} {stop['pair']} (its position is open)")
    if answer.get("market_exits"):
        lines.append(f"Beyond BingX's close-all limit, exited with reduce-only market orders: "
                     f"{', '.join(answer['market_exits'])}")
    return "\n".join(lines)


@authorized_only
async def closeall_command(self: Any, update: Update, context: CallbackContext) -> None:
    """/closeall [symbol]: ask first; nothing is sent until the button is pressed."""
    symbol = context.args[0] if context.args else None
    api = self._rpc._freqtrade.exchange._api  # the bot's ccxt: its names, so TRUMP/USDT:USDT is TRUMPSOL-USDT
    if symbol:
        try:
            symbol = to_native(symbol, api)  # the button carries BingX's name, which maps to itself
        except InvalidSymbol as e:
            await say(self, str(e))
            return
    what = (f"the {display_name(symbol, api)} position" if symbol
            else "EVERY position on the BingX account (bot-owned or not)")
    keyboard = [[
        InlineKeyboardButton(text="Yes, close now", callback_data=f"{CALLBACK_PREFIX}yes__{symbol or ''}"),
        InlineKeyboardButton(text="Cancel", callback_data=f"{CALLBACK_PREFIX}no"),
    ]]
    await say(self, f"Close {what} at market, cancel all open orders and pause entries?", keyboard=keyboard)


@authorized_only
async def closeall_confirmed(self: Any, update: Update, context: CallbackContext) -> None:
    query = update.callback_query
    if query is None or not query.data:
        return
    await query.answer()
    parts = query.data[len(CALLBACK_PREFIX):].split("__")
    if parts[0] != "yes":
        await query.edit_message_text(text="Close-all cancelled; nothing was sent.")
        return
    symbol = parts[1] if len(parts) > 1 and parts[1] else None
    await query.edit_message_text(text="Closing at BingX...")
    try:
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, safe_async_db(rpc_close_all), self._rpc, symbol)
    except (RPCException, InvalidSymbol) as e:  # a button's symbol is re-checked: callback data can be forged
        await say(self, str(e))
        return
    await say(self, describe(answer))


async def force_exit_action(original: Any, self: Any, trade_id: str) -> None:
    """freqtrade's ``_force_exit_action``, which says nothing on success; for ``all`` say what happened."""
    if trade_id != "all":
        return await original(self, trade_id)
    try:
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, safe_async_db(self._rpc._rpc_force_exit), trade_id)
    except RPCException as e:
        await say(self, str(e))
        return
    if isinstance(answer, dict) and len(answer) > 1:  # the plugin's flatten answered; freqtrade's has only result
        await say(self, describe(answer))


def handlers(telegram: Any) -> list[Any]:
    """The plugin's handlers, bound to freqtrade's Telegram instance."""
    return [
        CommandHandler("closeall", lambda update, context: closeall_command(telegram, update, context)),
        CallbackQueryHandler(lambda update, context: closeall_confirmed(telegram, update, context),
                             pattern=rf"^{CALLBACK_PREFIX}"),
    ]
