"""freqtrade-bingx processes seen starting, or refusing to start, each test its own on a fresh simulator.

A hedge-mode account, a bad configuration, a dry-run bot, and the data commands without keys. The bot that
trades live through the REST API is tests/test_freqtrade_bot.py's.
"""

from __future__ import annotations

import pytest

pytest.importorskip("freqtrade")

from bingx_closeall_plugin.simulator import BingXSimulator

from conftest import API_KEY as KEY, API_SECRET as SECRET
from freqtrade_bot import FreqtradeBot, make_config

pytestmark = pytest.mark.freqtrade


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
        trade = process.open_trade("SOL/USDT:USDT")
        assert trade["is_short"] and trade["liquidation_price"]
    finally:
        process.stop()
    sent = [r.path for r in sim.requests if r.method != "GET" or "/trade/" in r.path]
    assert sent == [], sent


@pytest.mark.contract
def test_download_data_then_backtesting_without_keys(tmp_path, sim):
    import json
    import time

    from freqtrade_bot import STRATEGY, STRATEGY_DIR, run_freqtrade_bingx

    config = make_config(tmp_path, sim.base_url, dry_run=True)
    del config["exchange"]["key"], config["exchange"]["secret"]
    (tmp_path / "user_data").mkdir()
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    download = run_freqtrade_bingx(["download-data", "-c", str(path), "--trading-mode", "futures", "--days", "2",
                                    "-t", "5m"], tmp_path)
    assert download.returncode == 0, download.stderr[-3000:]
    stored = {p.name for p in (tmp_path / "user_data" / "data" / "bingx" / "futures").iterdir()}
    assert {"BTC_USDT_USDT-5m-futures.feather", "BTC_USDT_USDT-1h-mark.feather",
            "BTC_USDT_USDT-1h-funding_rate.feather"} <= stored
    since = time.strftime("%Y%m%d", time.gmtime(time.time() - 86400))
    backtest = run_freqtrade_bingx(["backtesting", "-c", str(path), "--strategy", STRATEGY, "--strategy-path",
                                    str(STRATEGY_DIR), "--timerange", f"{since}-"], tmp_path)
    assert backtest.returncode == 0, (backtest.stdout + backtest.stderr)[-3000:]
    assert "BACKTESTING REPORT" in backtest.stdout + backtest.stderr
