"""The Telegram side of the flatten: ``/closeall [symbol]`` with a confirmation button, and words for
``/forceexit all``.

Handlers are wrapped in freqtrade's ``authorized_only``, so they answer only the configured chat (and
topic, and users) like every freqtrade command.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from freqtrade.rpc import RPCException
from freqtrade.rpc.telegram import authorized_only, safe_async_db
from telegram import InlineKeyboardButton, Update
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler

from ..errors import InvalidSymbol
from ..symbols import both_names, display_name, to_native
from .rest_api import rpc_close_all

logger = logging.getLogger(__name__)

__all__ = ["CALLBACK_PREFIX", "closeall_command", "closeall_confirmed", "describe", "handlers"]

CALLBACK_PREFIX = "bingx_closeall__"


def describe(answer: dict[str, Any]) -> str:
    """A flatten's answer in words, for a chat."""
    lines = [answer["result"]]
    for closed in answer.get("closed", []):
        rate = closed.get("close_rate")
        lines.append(f"- trade {closed['trade_id']} {closed['pair']}: closed at {rate}" if rate is not None
                     else f"- trade {closed['trade_id']} {closed['pair']}: close order {closed['order_ids']}")
    if answer.get("failed"):
        lines.append(f"BingX could not close: {', '.join(map(str, answer['failed']))}")
    if answer.get("fallbacks"):
        lines.append(f"Exited one by one: trades {', '.join(map(str, answer['fallbacks']))}")
    for position in answer.get("remaining_positions", []):
        name = both_names(position.get("symbol"), position.get("unified_symbol"))
        lines.append(f"STILL OPEN: {name} {position.get('positionAmt')}")
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
            await self._send_msg(str(e), parse_mode="HTML")
            return
    what = f"the {display_name(symbol, api)} position" if symbol else "EVERY position on the BingX account (bot-owned or not)"
    keyboard = [[
        InlineKeyboardButton(text="Yes, close now", callback_data=f"{CALLBACK_PREFIX}yes__{symbol or ''}"),
        InlineKeyboardButton(text="Cancel", callback_data=f"{CALLBACK_PREFIX}no"),
    ]]
    await self._send_msg(f"Close {what} at market, cancel all open orders and pause entries?",
                         keyboard=keyboard, parse_mode="HTML")


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
    except RPCException as e:
        await self._send_msg(str(e), parse_mode="HTML")
        return
    await self._send_msg(describe(answer), parse_mode="HTML")


async def force_exit_action(original: Any, self: Any, trade_id: str) -> None:
    """freqtrade's ``_force_exit_action``, which says nothing on success; for ``all`` say what happened."""
    if trade_id != "all":
        return await original(self, trade_id)
    try:
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, safe_async_db(self._rpc._rpc_force_exit), trade_id)
    except RPCException as e:
        await self._send_msg(str(e))
        return
    if isinstance(answer, dict) and len(answer) > 1:  # the plugin's flatten answered; freqtrade's has only result
        await self._send_msg(describe(answer), parse_mode="HTML")


def handlers(telegram: Any) -> list[Any]:
    """The plugin's handlers, bound to freqtrade's Telegram instance."""
    return [
        CommandHandler("closeall", lambda update, context: closeall_command(telegram, update, context)),
        CallbackQueryHandler(lambda update, context: closeall_confirmed(telegram, update, context),
                             pattern=rf"^{CALLBACK_PREFIX}"),
    ]
