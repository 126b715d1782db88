"""A real freqtrade-bingx bot process trading on the simulator through freqtrade's REST API.

The processes that must be seen starting, or refusing to, each on its own: tests/test_freqtrade_start.py.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

pytest.importorskip("freqtrade")


pytestmark = [pytest.mark.freqtrade, pytest.mark.contract]  # the release matrix runs both tests


@pytest.fixture(scope="module")
def sim(simulator):
    simulator.reset()
    return simulator


@pytest.fixture(scope="module")
def bot(sim, start_bot):
    return start_bot(sim.base_url, name="live-bot")


def test_long_and_short_with_stoploss_on_exchange_then_forceexit(bot, sim):
    bot.api("POST", "/forceenter", {"pair": "BTC/USDT:USDT", "side": "long"})
    bot.api("POST", "/forceenter", {"pair": "ETH/USDT:USDT", "side": "short"})
    long_trade, short_trade = bot.open_trade("BTC/USDT:USDT"), bot.open_trade("ETH/USDT:USDT")
    assert (long_trade["is_short"], short_trade["is_short"]) == (False, True)

    positions = {p["symbol"]: p for p in sim.positions()}
    # one-way mode: BingX reports side BOTH with a signed amount
    assert float(positions["BTC-USDT"]["positionAmt"]) > 0 > float(positions["ETH-USDT"]["positionAmt"])
    assert positions["BTC-USDT"]["leverage"] == 3 and positions["BTC-USDT"]["isolated"] is True

    stops = bot.wait_for(lambda: [o for o in sim.open_orders() if o["type"] == "STOP_MARKET"] if len(
        [o for o in sim.open_orders() if o["type"] == "STOP_MARKET"]) == 2 else None, what="two stop orders")
    by_symbol = {o["symbol"]: o for o in stops}
    assert by_symbol["BTC-USDT"]["side"] == "SELL" and by_symbol["ETH-USDT"]["side"] == "BUY"
    assert all(o["reduceOnly"] is True and o["workingType"] == "MARK_PRICE" for o in stops)
    assert float(by_symbol["BTC-USDT"]["stopPrice"]) == pytest.approx(long_trade["stop_loss_abs"])
    # margin mode and leverage sent once per pair, although the stop order prepares leverage too
    assert len(sim.requests_to("trade/leverage")) == 2 and len(sim.requests_to("trade/marginType")) == 2

    for trade in (long_trade, short_trade):
        bot.api("POST", "/forceexit", {"tradeid": str(trade["trade_id"])})
    bot.wait_for(lambda: not sim.positions() and not bot.api("GET", "/status"), what="both trades closed")
    # stoploss_blocks_assets is False: freqtrade cancels the stop once the exit has filled
    bot.wait_for(lambda: not [o for o in sim.open_orders() if o["type"] == "STOP_MARKET"], what="stops cancelled")

    fills = {o["orderId"]: o for o in sim.orders() if o["status"] == "FILLED"}
    with sqlite3.connect(bot.db_path) as db:
        trades = db.execute("SELECT id, open_rate, close_rate, fee_open, fee_close, is_open "
                            "FROM trades ORDER BY id").fetchall()
        orders = db.execute("SELECT ft_trade_id, order_id, ft_order_side, average FROM orders "
                            "WHERE ft_order_side != 'stoploss' ORDER BY id").fetchall()
    assert [t[5] for t in trades] == [0, 0]
    for trade_id, open_rate, close_rate, fee_open, fee_close, _ in trades:
        entry, exit_ = [o for o in orders if o[0] == trade_id]
        entry_fill, exit_fill = fills[int(entry[1])], fills[int(exit_[1])]
        assert open_rate == pytest.approx(float(entry_fill["avgPrice"]))
        assert close_rate == pytest.approx(float(exit_fill["avgPrice"]))
        # the fee rates BingX charged (commission / notional); freqtrade's own fee_*_cost columns are that
        # rate times the trade's stake, by freqtrade's model, so the rate is what to compare
        assert fee_open == pytest.approx(abs(float(entry_fill["commission"])) / float(entry_fill["cumQuote"]), rel=1e-3)
        assert fee_close == pytest.approx(abs(float(exit_fill["commission"])) / float(exit_fill["cumQuote"]), rel=1e-3)


def test_the_bot_log_says_once_that_the_plugin_is_active(bot):
    """One INFO line, logged after freqtrade set up its logging (before that no handler would show it)."""
    unwrapped = bot.output().replace("\n", "")  # freqtrade's console handler wraps long lines
    lines = re.findall(r" - (\w+) - bingx-closeall-plugin \S+ active \(([^)]*)\)", unwrapped)

    assert len(lines) == 1, bot.output()[-3000:]
    (level, versions), = lines
    import freqtrade

    assert level == "INFO" and f"freqtrade {freqtrade.__version__}" in versions and "ccxt 4.5" in versions
    # where the console handler wraps depends on the line's length (the versions in it): compared without spaces
    assert "patchesapplied:freqtrade.exchange.Bingx,RPC._rpc_force_exit,FreqtradeBot.startup" in re.sub(
        r"\s+", "", unwrapped)
