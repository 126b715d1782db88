"""/closeall (with its confirmation button) and /forceexit all on Telegram, end to end.

A real ``freqtrade-bingx trade`` process with ``telegram.enabled`` runs freqtrade's own Telegram module (the
real python-telegram-bot) against a local Bot API double (tests/telegram_double.py), reached through the
plugin's ``telegram.bot_api_url``; its exchange is the BingX simulator. The test plays the operator in the
chat (commands, button presses) and checks what the chat received (text, buttons, Telegram-valid HTML, no
secret) and what happened at BingX and in the bot's database.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bingx_closeall_plugin import BingX, close_all_positions
from bingx_closeall_plugin.simulator import Fault

from conftest import API_KEY, API_SECRET, make_client, telegram_config
from secret_scan import leaks, signatures_of
from telegram_double import html_problems

CLOSE = "trade/closeAllPositions"
HISTORY = "trade/allOrders"
LONG, SHORT = "BTC/USDT:USDT", "ETH/USDT:USDT"
PAIRS = [LONG, SHORT, "SOL/USDT:USDT"]
YES, NO = "bingx_closeall__yes__", "bingx_closeall__no"


# ---- pure logic ----------------------------------------------------------------------------------
def test_chat_text_is_masked_and_escaped():
    pytest.importorskip("freqtrade")
    from bingx_closeall_plugin.freqtrade.telegram import chat_text

    telegram = SimpleNamespace(_config={"exchange": {"key": API_KEY, "secret": API_SECRET},
                                        "telegram": {"token": "1:tok"}})
    text = chat_text(telegram, f"bingx <html> & {API_KEY} GET /x?timestamp=1&signature={'ab' * 32} 1:tok")
    assert html_problems(text) == [] and "&lt;html&gt; &amp;" in text
    assert leaks(text, extra=["1:tok"]) == [] and "signature=***" in text


def test_the_double_checks_html_as_telegram_does():
    assert html_problems("<b>Closed</b> 2 &lt;trades&gt; &amp; <code>BTC-USDT</code>") == []
    for bad in ("Incorrect <apiKey>", "a & b", "<b>unclosed", "x </i>", "1 < 2"):
        assert html_problems(bad), bad


def test_bot_api_url_is_checked():
    pytest.importorskip("freqtrade")
    from freqtrade.exceptions import OperationalException

    from bingx_closeall_plugin.freqtrade.telegram import bot_api_url

    assert bot_api_url({}) is None
    assert bot_api_url({"bot_api_url": "http://127.0.0.1:8081/"}) == "http://127.0.0.1:8081"
    for bad in ("127.0.0.1:8081", "ftp://x", "http://", 8081):
        with pytest.raises(OperationalException, match="telegram.bot_api_url"):
            bot_api_url({"bot_api_url": bad})


# ---- end to end ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bot(simulator, telegram_double, start_bot):  # the double outlives the bot
    simulator.reset()
    bot = start_bot(simulator.base_url, name="telegram-bot", pairs=PAIRS, telegram=telegram_config(telegram_double))
    telegram_double.wait_until_polled()
    return bot


@pytest.fixture
def chat(bot, simulator, telegram_double):
    """The operator's chat, starting empty, with the bot running and the account flat."""
    if bot.api("GET", "/show_config")["state"] != "running":
        bot.api("POST", "/start")
    assert not simulator.positions() and not bot.api("GET", "/status"), "a previous test left something open"
    simulator.clear_requests()
    telegram_double.reset()
    yield telegram_double
    simulator.clear_faults()
    if simulator.positions() and not bot.api("GET", "/status"):  # the user's own positions a test seeded
        close_all_positions(make_client(BingX, simulator))


def reply(chat, text_part: str, since: int = 0):
    return chat.wait_for_message(lambda m: text_part in m.text, since=since, what=repr(text_part))


def assert_chat_clean(chat, sim) -> None:
    """Every message the chat got was valid Telegram HTML and carries no secret."""
    hmacs = signatures_of(sim.requests)
    for message in chat.messages:
        assert message.accepted, (message.text, message.problems)
        assert leaks(message.text, hmacs, extra=[chat.token]) == [], message.text


@pytest.mark.freqtrade
def test_closeall_asks_first_then_closes_every_position_on_the_button(bot, simulator, chat):
    sim = simulator
    trades = {t["pair"]: t["trade_id"] for t in bot.force_enter([(LONG, "long"), (SHORT, "short")], sim)}
    sim.seed_position("SOL-USDT", "SHORT", 1.0)  # the user's own position: the kill switch closes it too
    chat.reset()
    sim.clear_requests()

    chat.send_command("/closeall")
    prompt = chat.wait_for_message(lambda m: m.buttons, what="the confirmation prompt")

    assert "EVERY position on the BingX account" in prompt.text and prompt.parse_mode == "HTML"
    assert [(b["text"], b["callback_data"]) for b in prompt.buttons] == [("Yes, close now", YES), ("Cancel", NO)]
    assert sim.requests_to(CLOSE) == []  # nothing is sent before the button

    chat.press(prompt, YES)
    report = reply(chat, "Closed 3 position(s)")

    assert any(m.method == "editMessageText" and m.text == "Closing at BingX..." for m in chat.messages)
    assert chat.answered_callbacks, "the button press was answered"
    assert "entries paused" in report.text and "2 bot trade(s) closed" in report.text
    for pair, trade_id in trades.items():
        assert f"trade {trade_id} {pair}: closed at" in report.text
    assert sim.positions() == [] and len(sim.requests_to(CLOSE)) == 1 and sim.reversals() == []
    rows = bot.db("SELECT is_open, exit_reason FROM trades WHERE id IN (?, ?)", list(trades.values()))
    assert [(r["is_open"], r["exit_reason"]) for r in rows] == [(0, "force_exit")] * 2
    assert bot.api("GET", "/show_config")["state"] == "paused"
    assert_chat_clean(chat, sim)


@pytest.mark.freqtrade
def test_closeall_of_one_symbol_and_the_cancel_button(bot, simulator, chat):
    sim = simulator
    sim.seed_position("SOL-USDT", "LONG", 1.0)
    sim.seed_position("ETH-USDT", "SHORT", 0.5)

    chat.send_command("/closeall ETH/USDT:USDT")
    prompt = chat.wait_for_message(lambda m: m.buttons, what="the confirmation prompt")
    assert "the ETH-USDT position" in prompt.text
    assert prompt.buttons[0]["callback_data"] == YES + "ETH-USDT"

    chat.press(prompt, NO)
    cancelled = reply(chat, "Close-all cancelled; nothing was sent.")
    assert cancelled.method == "editMessageText" and cancelled.message_id == prompt.message_id
    assert sim.requests_to(CLOSE) == [] and len(sim.positions()) == 2

    count = len(chat.messages)
    chat.send_command("/closeall ETH/USDT:USDT")
    prompt = chat.wait_for_message(lambda m: m.buttons, since=count, what="the second prompt")
    chat.press(prompt, prompt.buttons[0]["callback_data"])
    reply(chat, "Closed 1 position(s)", since=count)

    assert [p["symbol"] for p in sim.positions()] == ["SOL-USDT"]
    assert [r.params.get("symbol") for r in sim.requests_to(CLOSE)] == ["ETH-USDT"]
    assert_chat_clean(chat, sim)


@pytest.mark.freqtrade
def test_bad_symbol_is_refused_in_escaped_words_and_nothing_is_sent(bot, simulator, chat):
    chat.send_command("/closeall <b>btc-usdt")
    answer = reply(chat, "is malformed")

    assert "&lt;b&gt;btc-usdt" in answer.text and not answer.buttons
    assert simulator.requests_to(CLOSE) == []
    assert_chat_clean(chat, simulator)


@pytest.mark.freqtrade
def test_other_chats_are_ignored(bot, simulator, chat):
    chat.send_command("/closeall", chat_id=666)
    chat.send_command("/closeall ETH-USDT")  # updates are handled in order: this one's answer comes after
    prompt = chat.wait_for_message(lambda m: m.buttons, what="the authorised chat's prompt")

    assert [m.text for m in chat.messages if m.buttons] == [prompt.text] and "ETH-USDT" in prompt.text
    assert all(m.chat_id == str(chat.chat_id) for m in chat.messages)


@pytest.mark.freqtrade
def test_a_refusal_with_markup_in_bingxs_message_reaches_the_chat_escaped(bot, simulator, chat):
    sim = simulator
    sim.seed_position("SOL-USDT", "LONG", 1.0)
    stop = sim.seed_order("SOL-USDT", "SELL", "STOP_MARKET", 1.0, stop_price=1.0)  # the position's protection
    sim.inject(CLOSE, Fault.error(100413, "Incorrect apiKey <key> & <b>unclosed"))

    chat.send_command("/closeall")
    prompt = chat.wait_for_message(lambda m: m.buttons, what="the confirmation prompt")
    chat.press(prompt, YES)
    answer = reply(chat, "Nothing was closed")

    assert "&lt;key&gt; &amp; &lt;b&gt;unclosed" in answer.text
    assert [p["symbol"] for p in sim.positions()] == ["SOL-USDT"]
    # the refused close took nothing from the open position, and the chat says its stop was kept
    assert [str(o["orderId"]) for o in sim.open_orders()] == [str(stop)]
    assert "KEPT (its position is open): SOL-USDT STOP_MARKET SELL" in answer.text
    assert_chat_clean(chat, sim)
    make_client(BingX, sim).swapV2PrivateDeleteTradeAllOpenOrders({"symbol": "SOL-USDT"})


@pytest.mark.freqtrade
def test_forceexit_all_closes_the_bots_trades_and_says_so(bot, simulator, chat):
    sim = simulator
    trades = {t["pair"]: t["trade_id"] for t in bot.force_enter([(LONG, "long"), (SHORT, "short")], sim)}
    chat.reset()
    sim.clear_requests()

    chat.send_command("/forceexit all")
    report = reply(chat, "BingX closeAllPositions request(s)")

    assert report.text.startswith("Closed 2 trade(s) with 1 BingX closeAllPositions request(s)")
    for pair, trade_id in trades.items():
        assert f"trade {trade_id} {pair}: closed at" in report.text
    assert sim.positions() == [] and len(sim.requests_to(CLOSE)) == 1
    bot.wait_for(lambda: not bot.api("GET", "/status"), timeout=30, what="the trades closed in the database")
    assert_chat_clean(chat, sim)


@pytest.mark.freqtrade
def test_forceexit_all_with_the_history_read_lost_carries_no_signature(bot, simulator, chat):
    """The reported bug: the close went through, the order-history read after it failed with a network error
    (ccxt's text carries the signed URL), and the answer quoted that error with the real HMAC."""
    sim = simulator
    bot.force_enter([(LONG, "long")], sim)
    chat.reset()
    sim.clear_requests()
    sim.inject(HISTORY, Fault.http_error(502), times=50)  # every attempt of the bounded re-reads fails

    chat.send_command("/forceexit all")
    report = reply(chat, "BingX closeAllPositions request(s)")

    assert sim.positions() == [] and len(sim.requests_to(HISTORY)) >= 2
    assert "signature=***" in report.text  # the error was quoted, masked
    assert_chat_clean(chat, sim)
    # Last in this module: the trade keeps its intent for the next start-up (the bot's own loop may settle it).
