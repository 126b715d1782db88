"""A live freqtrade-bingx bot at full debug leaks no key, secret or signature: console, logfile, /api/v1/logs.

The bot runs with ``-vvv`` (freqtrade's most verbose logging), ccxt ``verbose: true`` (ccxt prints every
request and answer, signed URL and headers included, to stdout) and a ``--logfile``, through its paths:
force entries with their stoplosses on the exchange, ``/forceexit all``, ``/closeall``, a close refused for a
rate limit (freqtrade then exits trade by trade) and ``/api/v1/logs``. The plugin attaches its
``SecretMasker`` to every root handler when its exchange class is built; everything captured is scanned for
the key, the secret, any 64-hex string after ``signature`` and the real HMAC of every request the simulator
received. Also: ``/closeall`` refuses callers without freqtrade's login.
"""

from __future__ import annotations

import json

import pytest
import requests

from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import Fault

from conftest import API_KEY, API_SECRET
from secret_scan import leaks, signatures_of

pytestmark = pytest.mark.freqtrade

CLOSE = "trade/closeAllPositions"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
# 2100-01-01: beyond the 30 s a flatten waits out a rate limit, so the close is refused at once (an unblock time
# already past would be waited out, and the close sent again, successfully)
RATE_LIMITED = ("The endpoint trigger frequency limit rule is currently in the disabled period "
                "and will be unblocked after 4102444800000")


@pytest.fixture(scope="module")
def verbose_bot(simulator, tmp_path_factory):
    """A bot at -vvv with ccxt verbose and a logfile; stopped at the module's end whatever happened."""
    pytest.importorskip("freqtrade")
    from freqtrade_bot import STRATEGY_DIR, FreqtradeBot, make_config

    simulator.reset()
    home = tmp_path_factory.mktemp("secrets-bot")
    urls = {"api": api_urls(simulator.base_url)}
    exchange = {"name": "bingx", "key": API_KEY, "secret": API_SECRET, "pair_whitelist": PAIRS, "pair_blacklist": [],
                "ccxt_config": {"urls": urls, "verbose": True}, "ccxt_async_config": {"urls": urls, "verbose": True}}
    config = make_config(home, simulator.base_url, key=API_KEY, secret=API_SECRET, exchange=exchange)
    logfile = home / "freqtrade.log"
    args = ["trade", "-c", str(home / "config.json"), "--strategy", "BingxFuturesSample",
            "--strategy-path", str(STRATEGY_DIR), "-vvv", "--logfile", str(logfile)]
    bot = FreqtradeBot(home, config, args=args)
    bot.logfile = logfile
    try:
        bot.start()  # FreqtradeBot drops PYTEST_VERSION: freqtrade builds its real handlers and the logfile
        yield bot
    finally:
        bot.stop()


def test_debug_logs_of_every_path_carry_no_secret(verbose_bot, simulator):
    bot, sim = verbose_bot, simulator
    seen = []

    bot.force_enter([(PAIRS[0], "long"), (PAIRS[1], "short")], sim)
    assert bot.api("POST", "/forceexit", {"tradeid": "all"})["status"] == "done"
    seen += sim.requests
    sim.clear_requests()

    bot.force_enter([(PAIRS[2], "long")], sim)
    assert bot.api("POST", "/closeall", {})["status"] == "done"
    bot.api("POST", "/start")
    seen += sim.requests
    sim.clear_requests()

    bot.force_enter([(PAIRS[0], "short"), (PAIRS[2], "short")], sim)
    sim.inject(CLOSE, Fault.error(100410, RATE_LIMITED))
    answer = bot.api("POST", "/forceexit", {"tradeid": "all"})
    assert answer["status"] == "partial" and "unblocked" in answer["error"]
    bot.wait_for(lambda: not bot.api("GET", "/status") and not sim.positions(), timeout=30,
                 what="the per-trade exits after the rate-limited close")
    logs = bot.api("GET", "/logs")
    seen += sim.requests

    console = bot.output()
    logfile = bot.logfile.read_text(errors="replace")
    logs_text = json.dumps(logs)
    hmacs = signatures_of(seen)
    assert len(hmacs) > 30 and len(sim.reversals()) == 0
    # The trace was really there, masked: ccxt verbose printed signed URLs, the debug log carried requests.
    assert "signature=***" in console and "X-BX-APIKEY" in console
    assert "closeAllPositions" in logfile and "unblocked" in logfile
    assert any("closeAllPositions" in str(row) for row in logs["logs"])
    for where, text in (("stdout/stderr", console), ("logfile", logfile), ("/api/v1/logs", logs_text)):
        assert leaks(text, hmacs) == [], f"{where} leaks: {leaks(text, hmacs)}"


def test_closeall_refuses_callers_without_freqtrades_login(verbose_bot, simulator):
    bot, sim = verbose_bot, simulator
    sim.clear_requests()
    url = f"{bot.api_url}/closeall"
    forged = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZGVudGl0eSI6eyJ1IjoiYmluZ3gifSwidHlwZSI6ImFjY2VzcyJ9."
              "c2lnbmVkLXdpdGgtdGhlLXdyb25nLWtleQ")

    anonymous = requests.post(url, json={}, timeout=10)
    wrong_password = requests.post(url, json={}, auth=(bot.auth[0], "not-the-password"), timeout=10)
    wrong_user = requests.post(url, json={}, auth=("someone", bot.auth[1]), timeout=10)
    forged_jwt = requests.post(url, json={}, headers={"Authorization": f"Bearer {forged}"}, timeout=10)

    assert [r.status_code for r in (anonymous, wrong_password, wrong_user, forged_jwt)] == [401] * 4
    assert sim.requests_to(CLOSE) == [] and bot.api("GET", "/show_config")["state"] == "running"


HISTORY = "trade/allOrders"


def test_forceexit_all_answer_with_the_history_read_lost_carries_no_signature(verbose_bot, simulator):
    """The reported bug, over REST: the close went through, every order-history read after it failed with a
    network error (whose text is the signed URL), and the answer quoted it with the real HMAC.

    Last in this module: the trade keeps its intent for the next start-up."""
    bot, sim = verbose_bot, simulator
    bot.force_enter([(PAIRS[1], "long")], sim)
    sim.clear_requests()
    sim.inject(HISTORY, Fault.http_error(502), times=50)
    try:
        response = requests.post(f"{bot.api_url}/forceexit", json={"tradeid": "all"}, auth=bot.auth, timeout=60)
    finally:
        sim.clear_faults()
    assert response.status_code == 200 and not sim.positions() and len(sim.requests_to(HISTORY)) >= 2
    assert "signature=***" in response.json()["error"]  # the error is quoted, masked
    assert leaks(response.text, signatures_of(sim.requests)) == [], response.text
