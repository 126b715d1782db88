"""/closeall and /forceexit all on Telegram, at the handler level (no Telegram servers here)."""

from __future__ import annotations

import asyncio
from unittest.mock import AsyncMock, MagicMock

import ccxt
import pytest

pytest.importorskip("freqtrade")

from freqtrade.rpc.telegram import Telegram  # noqa: E402

import bingx_closeall_plugin.freqtrade  # noqa: E402,F401 - installs the hooks
from bingx_closeall_plugin.freqtrade import telegram as tg  # noqa: E402

CHAT = 4711


@pytest.fixture
def telegram(mocker):
    """freqtrade's Telegram object with its network side replaced: _send_msg is what the chat would see."""
    bot = Telegram.__new__(Telegram)
    bot._config = {"telegram": {"enabled": True, "chat_id": str(CHAT)}}
    bot._rpc = MagicMock()
    bot._rpc._freqtrade.exchange._api = ccxt.bingx()  # the bot's ccxt: its names for BingX's symbols
    bot._send_msg = AsyncMock()
    mocker.patch("freqtrade.rpc.telegram.Trade")  # authorized_only rolls the session back
    return bot


def update(chat_id=CHAT, callback_data=None):
    message = MagicMock(chat_id=chat_id, message_thread_id=None)
    upd = MagicMock(message=message, effective_user=MagicMock(id=1))
    if callback_data is None:
        upd.callback_query = None
    else:
        upd.callback_query = MagicMock(data=callback_data, message=message, answer=AsyncMock(),
                                       edit_message_text=AsyncMock())
    return upd


def context(*args):
    return MagicMock(args=list(args))


def test_closeall_asks_first_and_sends_nothing(telegram, mocker):
    close_all = mocker.patch.object(tg, "rpc_close_all")

    asyncio.run(tg.closeall_command(telegram, update(), context()))

    close_all.assert_not_called()
    message = telegram._send_msg.call_args.args[0]
    keyboard = telegram._send_msg.call_args.kwargs["keyboard"]
    assert "EVERY position" in message
    assert [b.callback_data for b in keyboard[0]] == ["bingx_closeall__yes__", "bingx_closeall__no"]


def test_closeall_with_a_symbol_is_normalised_into_the_button(telegram):
    asyncio.run(tg.closeall_command(telegram, update(), context("BTC/USDT:USDT")))
    keyboard = telegram._send_msg.call_args.kwargs["keyboard"]
    assert keyboard[0][0].callback_data == "bingx_closeall__yes__BTC-USDT"


def test_closeall_reads_the_symbol_as_the_bots_ccxt_names_it(telegram):
    asyncio.run(tg.closeall_command(telegram, update(), context("TRUMP/USDT:USDT")))
    keyboard = telegram._send_msg.call_args.kwargs["keyboard"]
    assert keyboard[0][0].callback_data == "bingx_closeall__yes__TRUMPSOL-USDT"
    assert "the TRUMPSOL-USDT (TRUMP/USDT:USDT) position" in telegram._send_msg.call_args.args[0]


def test_closeall_with_a_bad_symbol_says_why(telegram, mocker):
    close_all = mocker.patch.object(tg, "rpc_close_all")
    asyncio.run(tg.closeall_command(telegram, update(), context("btc-usdt")))
    assert "capital letters" in telegram._send_msg.call_args.args[0]
    close_all.assert_not_called()


def test_confirmation_runs_the_kill_switch_and_reports_in_words(telegram, mocker):
    close_all = mocker.patch.object(tg, "rpc_close_all", return_value={
        "result": "Closed 2 position(s) in 1 BingX request(s); 0 failed; 0 still open; 1 bot trade(s) closed.",
        "closed": [{"trade_id": 7, "pair": "BTC/USDT:USDT", "close_rate": 64000.5, "order_ids": ["1"]}],
        "failed": [], "remaining_positions": [{"symbol": "ETH-USDT", "positionAmt": "-0.5"}],
    })
    press = update(callback_data="bingx_closeall__yes__BTC-USDT")

    asyncio.run(tg.closeall_confirmed(telegram, press, context()))

    close_all.assert_called_once_with(telegram._rpc, "BTC-USDT")
    text = telegram._send_msg.call_args.args[0]
    assert "Closed 2 position(s)" in text and "trade 7 BTC/USDT:USDT: closed at 64000.5" in text
    assert "STILL OPEN: ETH-USDT -0.5" in text


def test_cancel_button_sends_nothing(telegram, mocker):
    close_all = mocker.patch.object(tg, "rpc_close_all")
    press = update(callback_data="bingx_closeall__no")
    asyncio.run(tg.closeall_confirmed(telegram, press, context()))
    close_all.assert_not_called()
    press.callback_query.edit_message_text.assert_awaited_once_with(text="Close-all cancelled; nothing was sent.")


@pytest.mark.parametrize("handler, data", [(tg.closeall_command, None), (tg.closeall_confirmed, "bingx_closeall__yes__")])
def test_other_chats_are_ignored(telegram, mocker, handler, data):
    close_all = mocker.patch.object(tg, "rpc_close_all")
    asyncio.run(handler(telegram, update(chat_id=666, callback_data=data), context()))
    close_all.assert_not_called()
    telegram._send_msg.assert_not_called()


def test_forceexit_all_reports_the_flatten_in_words(telegram):
    telegram._rpc._rpc_force_exit = MagicMock(return_value={
        "result": "Closed 3 trade(s) with 1 BingX closeAllPositions request(s); 0 failed at BingX; 0 exited one by one.",
        "closed": [], "failed": [], "fallbacks": [],
    })
    asyncio.run(Telegram._force_exit_action(telegram, "all"))
    telegram._rpc._rpc_force_exit.assert_called_once_with("all")
    assert "Closed 3 trade(s)" in telegram._send_msg.call_args.args[0]


def test_forceexit_of_one_trade_is_freqtrades_own(telegram):
    telegram._rpc._rpc_force_exit = MagicMock(return_value={"result": "Created exit order for trade 3."})
    asyncio.run(Telegram._force_exit_action(telegram, "3"))
    telegram._rpc._rpc_force_exit.assert_called_once_with("3")
    telegram._send_msg.assert_not_called()


def test_the_command_is_registered_with_freqtrades_application(telegram):
    telegram._config["telegram"]["token"] = "123456:offline-test-token"

    app = Telegram._init_telegram_app(telegram)  # freqtrade's builder, then the plugin's hook

    commands = [sorted(h.commands) for h in app.handlers[0] if hasattr(h, "commands")]
    patterns = [h.pattern.pattern for h in app.handlers[0] if hasattr(h, "pattern") and h.pattern is not None]
    assert ["closeall"] in commands and "^bingx_closeall__" in patterns
