"""A real freqtrade-bingx bot process trading on the simulator through freqtrade's REST API."""

from __future__ import annotations

import re
import sqlite3

import pytest

pytest.importorskip("freqtrade")

from bingx_closeall_plugin.simulator import BingXSimulator

from conftest import API_KEY as KEY, API_SECRET as SECRET
from freqtrade_bot import FreqtradeBot, make_config

pytestmark = pytest.mark.freqtrade


@pytest.fixture(scope="module")
def sim(simulator):
    simulator.reset()
    return simulator


@pytest.fixture(scope="module")
def bot(sim, start_bot):
    return start_bot(sim.base_url, name="live-bot")


def open_trade(bot: FreqtradeBot, pair: str) -> dict:
    return bot.wait_for(lambda: next((t for t in bot.api("GET", "/status")
                                      if t["pair"] == pair and not t["has_open_orders"]), None),
                        what=f"an open, filled trade on {pair}")


def test_long_and_short_with_stoploss_on_exchange_then_forceexit(bot, sim):
    bot.api("POST", "/forceenter", {"pair": "BTC/USDT:USDT", "side": "long"})
    bot.api("POST", "/forceenter", {"pair": "ETH/USDT:USDT", "side": "short"})
    long_trade, short_trade = open_trade(bot, "BTC/USDT:USDT"), open_trade(bot, "ETH/USDT:USDT")
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


def test_hedge_mode_account_is_refused_before_any_order(tmp_path):
    with BingXSimulator(api_key=KEY, api_secret=SECRET, hedge_mode=True) as hedged:
        process = FreqtradeBot(tmp_path, make_config(tmp_path, hedged.base_url, key=KEY, secret=SECRET)).launch()
        try:
            code = process.wait_exit(90)
        finally:
            process.stop()
        assert code == 2, process.output()[-3000:]  # freqtrade's exit code for an error it explains
        errors = [line for line in process.output().splitlines() if " - ERROR - " in line]
        assert any("hedge mode" in line for line in errors), process.output()[-3000:]
        assert "Traceback" not in process.output()
        assert not hedged.requests_to("trade/order")


def test_bad_config_exits_2_with_freqtrades_message_and_no_traceback(tmp_path, sim):
    # freqtrade 2026.9 validates the schema after loading the exchange, so the exchange must answer
    config = make_config(tmp_path, sim.base_url, key=KEY, secret=SECRET, stake_amount="lots")
    process = FreqtradeBot(tmp_path, config).launch()
    try:
        code = process.wait_exit(60)
    finally:
        process.stop()
    output = process.output()
    assert code == 2, output[-3000:]
    assert "Configuration error" in output and "stake_amount" in output
    assert "Traceback" not in output


def test_dry_run_bot_sends_no_order_to_the_exchange(tmp_path, sim):
    sim.clear_requests()
    process = FreqtradeBot(tmp_path, make_config(tmp_path, sim.base_url, key=KEY, secret=SECRET, dry_run=True))
    try:
        process.start()
        process.api("POST", "/forceenter", {"pair": "SOL/USDT:USDT", "side": "short"})
        trade = open_trade(process, "SOL/USDT:USDT")
        assert trade["is_short"] and trade["liquidation_price"]
    finally:
        process.stop()
    sent = [r.path for r in sim.requests if r.method != "GET" or "/trade/" in r.path]
    assert sent == [], sent


def test_download_data_then_backtesting_without_keys(tmp_path, sim):
    import json
    import subprocess
    import time

    from freqtrade_bot import STRATEGY, STRATEGY_DIR, launcher_command

    config = make_config(tmp_path, sim.base_url, dry_run=True)
    del config["exchange"]["key"], config["exchange"]["secret"]
    (tmp_path / "user_data").mkdir()
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    download = subprocess.run(launcher_command() + ["download-data", "-c", str(path), "--trading-mode", "futures",
                                                    "--days", "2", "-t", "5m"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path, start_new_session=True)
    assert download.returncode == 0, download.stderr[-3000:]
    stored = {p.name for p in (tmp_path / "user_data" / "data" / "bingx" / "futures").iterdir()}
    assert {"BTC_USDT_USDT-5m-futures.feather", "BTC_USDT_USDT-1h-mark.feather",
            "BTC_USDT_USDT-1h-funding_rate.feather"} <= stored
    since = time.strftime("%Y%m%d", time.gmtime(time.time() - 86400))
    backtest = subprocess.run(launcher_command() + ["backtesting", "-c", str(path), "--strategy", STRATEGY,
                                                    "--strategy-path", str(STRATEGY_DIR), "--timerange", f"{since}-"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path, start_new_session=True)
    assert backtest.returncode == 0, (backtest.stdout + backtest.stderr)[-3000:]
    assert "BACKTESTING REPORT" in backtest.stdout + backtest.stderr


def test_the_bot_log_says_once_that_the_plugin_is_active(bot):
    """One INFO line, logged after freqtrade set up its logging (before that no handler would show it)."""
    unwrapped = bot.output().replace("\n", "")  # freqtrade's console handler wraps long lines
    lines = re.findall(r" - (\w+) - bingx-closeall-plugin \S+ active \(([^)]*)\)", unwrapped)

    assert len(lines) == 1, bot.output()[-3000:]
    (level, versions), = lines
    assert level == "INFO" and "freqtrade 2026.9" in versions and "ccxt 4.5" in versions
    assert "patches applied: freqtrade.exchange.Bingx, RPC._rpc_force_exit, FreqtradeBot.startup" in unwrapped
