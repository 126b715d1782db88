"""The BingX futures exchange class, driven over real HTTP against the simulator (no network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import ccxt
import pytest

pytest.importorskip("freqtrade")

from freqtrade.enums import MarginMode, RunMode, TradingMode
from freqtrade.exceptions import DDosProtection, OperationalException
from freqtrade.exchange import Exchange

from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator, Fault

from conftest import API_KEY as KEY, API_SECRET as SECRET
from freqtrade_bot import SIMULATOR_RATE_LIMIT_MS

if TYPE_CHECKING:
    from bingx_closeall_plugin.freqtrade.exchange import Bingx

# The plugin's freqtrade layer (and freqtrade's resolvers) are imported by the tests and fixtures that use them,
# not here: every xdist worker collects this module (conftest's ``plugin`` fixture says why).

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


@pytest.fixture(scope="module")
def sim(simulator):
    """The module's simulator (conftest), shared by tests that only read it."""
    return simulator


@pytest.fixture
def fresh_sim(simulator):
    simulator.reset()
    return simulator


def ft_config(tmp_path: Path, base_url: str, *, keys: bool = True, runmode: RunMode = RunMode.LIVE,
              margin_mode: str = "isolated", dry_run: bool = False) -> dict:
    urls = {"api": api_urls(base_url)}
    # ccxt's throttle stays on (a test checks it) at the suite's spacing for the local simulator: ccxt's own
    # would be about a second of sleep for every exchange built here
    ccxt_config = {"urls": urls, "rateLimit": SIMULATOR_RATE_LIMIT_MS}
    exchange = {"name": "bingx", "ccxt_config": ccxt_config, "ccxt_async_config": ccxt_config,
                "pair_whitelist": [BTC, ETH], "pair_blacklist": []}
    if keys:
        exchange.update(key=KEY, secret=SECRET)
    return {
        "exchange": exchange, "stake_currency": "USDT", "dry_run": dry_run, "runmode": runmode,
        "trading_mode": "futures", "margin_mode": margin_mode, "datadir": tmp_path / "data",
        "user_data_dir": tmp_path, "candle_type_def": "futures",
        "entry_pricing": {"price_side": "other", "use_order_book": False},
        "exit_pricing": {"price_side": "other", "use_order_book": False},
    }


def load(config: dict, **kwargs) -> Bingx:
    from freqtrade.resolvers.exchange_resolver import ExchangeResolver

    from bingx_closeall_plugin.freqtrade.exchange import Bingx  # installs the plugin first

    exchange = ExchangeResolver.load_exchange(config, **kwargs)
    assert isinstance(exchange, Bingx)
    return exchange


@pytest.fixture
def live(tmp_path, fresh_sim):
    exchange = load(ft_config(tmp_path, fresh_sim.base_url), load_leverage_tiers=True)
    yield exchange
    exchange.close()


# ---------------------------------------------------------------- install
def test_install_patches_the_resolver_seam_once_and_undoes(plugin):
    import freqtrade.exchange as ft_exchange
    from freqtrade.exchange.bingx import Bingx as Stock
    from freqtrade.rpc import RPC

    from bingx_closeall_plugin.freqtrade.exchange import Bingx

    assert ft_exchange.Bingx is Bingx
    patched = ["freqtrade.exchange.Bingx", "RPC._rpc_force_exit", "FreqtradeBot.startup", "FreqtradeBot.process",
               "FreqtradeBot.handle_stoploss_on_exchange", "FreqtradeBot.handle_trade",
               "FreqtradeBot.handle_onexchange_order", "FreqtradeBot.manage_open_orders", "FreqtradeBot.execute_entry",
               "ApiServer.configure_app",
               "Telegram._init_telegram_app", "Telegram._force_exit_action", "FreqtradeBot.handle_protections",
               "Wallets.update",
               "Telegram._send_msg", "RPCManager.send_msg"]
    # install()'s own patches come first; what the plugin changes at run time (log filters, a plain ccxt client's
    # nonce) follows them
    assert [p.name for p in plugin.PATCHES][:len(patched)] == patched
    assert all(p.attribute in ("filters", "nonce") for p in plugin.PATCHES[len(patched):])
    before = list(plugin.PATCHES)
    assert plugin.install() == before == plugin.PATCHES  # idempotent
    flatten_hook = RPC._rpc_force_exit
    plugin.uninstall()
    try:
        assert ft_exchange.Bingx is Stock and not plugin.is_installed()
        assert RPC._rpc_force_exit is not flatten_hook and RPC._rpc_force_exit.__module__ == "freqtrade.rpc.rpc"
    finally:
        plugin.install()
    assert ft_exchange.Bingx is Bingx


@pytest.mark.parametrize("version", ["2026.2", "2026.10", "2025.9.1", "develop"])
def test_versions_outside_the_supported_range_are_refused_naming_it(version, plugin, install_mod):
    with pytest.raises(plugin.IncompatibleFreqtrade, match=f"supports freqtrade 2026.3 to 2026.9; found freqtrade "
                                                           f"{version}"):
        install_mod.check_freqtrade_version(version, allow_untested=False)


def test_every_supported_release_is_accepted_without_an_opt_in(install_mod):
    from bingx_closeall_plugin.freqtrade.releases import SUPPORTED

    assert SUPPORTED[0] == "2026.3" and SUPPORTED[-1] == "2026.9"
    assert all(install_mod.check_freqtrade_version(v, allow_untested=False) is True for v in (*SUPPORTED, "2026.9.1"))
    assert install_mod.check_freqtrade_version("2026.10", allow_untested=True) is False  # runs, with a warning


@pytest.mark.contract
def test_an_older_release_is_refused_before_anything_is_patched(mocker, plugin):
    import freqtrade

    plugin.uninstall()
    try:
        mocker.patch.object(freqtrade, "__version__", "2026.2")
        with pytest.raises(plugin.IncompatibleFreqtrade, match="supports freqtrade 2026.3 to 2026.9; found freqtrade "
                                                               "2026.2, an older release"):
            plugin.install()
        assert plugin.PATCHES == [] and not plugin.is_installed()
    finally:
        mocker.stopall()
        plugin.install()


def test_launcher_refuses_an_untested_freqtrade(mocker, capsys, plugin, install_mod):
    from bingx_closeall_plugin.freqtrade import launcher

    mocker.patch.object(install_mod, "install", side_effect=plugin.IncompatibleFreqtrade("found freqtrade 2030.1"))
    with pytest.raises(SystemExit) as exit_info:
        launcher.main(["--version"])
    assert exit_info.value.code == 2
    assert "found freqtrade 2030.1" in capsys.readouterr().err


def test_ccxt_objects_are_the_plugins_and_follow_the_config_urls(live, fresh_sim):
    from bingx_closeall_plugin.freqtrade.ccxt_clients import FreqtradeBingXAsync, FreqtradeBingXSync

    assert isinstance(live._api, FreqtradeBingXSync)
    assert isinstance(live._api_async, FreqtradeBingXAsync)
    assert live._api.urls["api"]["swap"] == fresh_sim.base_url + "/openApi"
    assert live.get_option("stoploss_on_exchange") is True
    assert (TradingMode.FUTURES, MarginMode.CROSS) in live._supported_trading_mode_margin_pairs


# ---------------------------------------------------------------- account setup
def test_hedge_mode_is_refused_at_start(tmp_path):
    from bingx_closeall_plugin.freqtrade.exchange import HEDGE_MODE_MESSAGE

    with BingXSimulator(api_key=KEY, api_secret=SECRET, hedge_mode=True) as hedged:
        with pytest.raises(OperationalException, match="hedge mode") as err:
            load(ft_config(tmp_path, hedged.base_url))
        assert "dualSidePosition=false" in str(err.value) and str(err.value) == HEDGE_MODE_MESSAGE
        assert not hedged.requests_to("trade/order")


def test_one_way_account_starts(live, fresh_sim):
    assert fresh_sim.requests_to("positionSide/dual")


# ---------------------------------------------------------------- leverage, margin mode
def test_leverage_is_sent_as_an_integer_for_side_both(live, fresh_sim):
    live._lev_prep(BTC, 2.7, "buy")
    sent = fresh_sim.requests_to("trade/leverage")[-1].params
    assert sent["leverage"] == "2" and sent["side"] == "BOTH"
    assert fresh_sim.requests_to("trade/marginType")[-1].params["marginType"] == "ISOLATED"
    assert live.get_max_leverage(BTC, 100.0) == int(live.get_max_leverage(BTC, 100.0))


def test_margin_mode_and_leverage_are_cached_per_pair(live, fresh_sim):
    for _ in range(3):
        live._lev_prep(ETH, 3, "buy")
    assert len(fresh_sim.requests_to("trade/leverage")) == 1
    assert len(fresh_sim.requests_to("trade/marginType")) == 1
    live._lev_prep(ETH, 5, "buy")  # a different leverage is sent again
    assert len(fresh_sim.requests_to("trade/leverage")) == 2


# ---------------------------------------------------------------- market data
def test_order_book_limit_is_at_least_five(live, fresh_sim):
    book = live.fetch_l2_order_book(BTC, 1)
    assert fresh_sim.requests_to("quote/depth")[-1].params["limit"] == "5"
    assert book["bids"] and book["asks"]


# ---------------------------------------------------------------- orders
def test_cancelling_a_filled_order_returns_the_order(live, fresh_sim):
    live._lev_prep(BTC, 2, "buy")
    order = live.create_order(pair=BTC, ordertype="market", side="buy", amount=0.001, rate=65000.0, leverage=2)
    fresh_sim.clear_requests()
    result = live.cancel_order(order["id"], BTC)  # BingX answers 80018: already filled
    assert result["status"] == "closed" and result["id"] == order["id"]
    assert fresh_sim.requests_to("trade/order")[0].method == "DELETE"


def test_rate_limit_becomes_ddos_protection(live, fresh_sim):
    fresh_sim.inject("quote/depth", Fault.error(109429, "rate limited, retry after time: 1727193970155"), times=10)
    with pytest.raises(DDosProtection):
        # freqtrade's own read (the plugin's answers a top-1 ask inside a loop pass only): one attempt, no backoff
        Exchange.fetch_l2_order_book.__wrapped__(live, BTC, 5)
    fresh_sim.reset()


def test_authentication_error_is_not_retried(live, fresh_sim, mocker):
    spy = mocker.spy(live._api, "set_margin_mode")
    mocker.patch.object(live._api, "apiKey", "wrong-key")
    with pytest.raises(OperationalException, match="AuthenticationError|InvalidApiKey"):
        live.set_margin_mode(BTC, MarginMode.ISOLATED)
    assert spy.call_count == 1


# ---------------------------------------------------------------- positions, funding
@pytest.mark.parametrize(("amount", "side", "contracts"), [(-0.5, "short", 0.5), (0.25, "long", 0.25), (0, None, 0)])
def test_one_way_positions_are_normalised(amount, side, contracts):
    from bingx_closeall_plugin.freqtrade.exchange import normalise_position

    raw = {"symbol": BTC, "side": "both", "contracts": amount, "notional": amount * 65000,
           "info": {"positionSide": "BOTH", "positionAmt": str(amount)}}
    out = normalise_position(raw)
    assert out["side"] == side
    if side:
        assert out["contracts"] == contracts and out["notional"] >= 0
    assert normalise_position({"side": "long", "contracts": 1.0})["side"] == "long"


def test_positions_from_the_exchange_have_long_and_short(live, fresh_sim):
    fresh_sim.seed_position("BTC-USDT", "LONG", 0.01, 65000)
    fresh_sim.seed_position("ETH-USDT", "SHORT", 0.5, 3200)
    sides = {p["symbol"]: p["side"] for p in live.fetch_positions()}
    assert sides == {BTC: "long", ETH: "short"}


def test_funding_fees_come_from_the_income_history(live, fresh_sim, mocker):
    rows = [{"id": str(i), "timestamp": 1_700_000_000_000 + i, "amount": -0.25} for i in range(3)]
    fetch = mocker.patch.object(live._api, "fetch_funding_history", return_value=rows)
    assert live._get_funding_fees_from_exchange(BTC, 1_700_000_000_000) == pytest.approx(-0.75)
    assert fetch.call_args.kwargs["since"] == 1_700_000_000_000


# ---------------------------------------------------------------- leverage tiers
def test_keyless_backtesting_uses_the_shipped_tiers(tmp_path, fresh_sim, plugin):
    config = ft_config(tmp_path, fresh_sim.base_url, keys=False, runmode=RunMode.BACKTEST, dry_run=True)
    exchange = load(config, load_leverage_tiers=True)
    try:
        shipped = json.loads((Path(plugin.__file__).parent / "bingx_leverage_tiers.json").read_text())["data"]
        assert exchange._leverage_tiers[BTC][0]["maxLeverage"] == shipped[BTC][0]["maxLeverage"] == 125
        assert exchange.get_max_leverage(BTC, 100.0) == 125
        assert exchange.get_maintenance_ratio_and_amt(BTC, 1_000_000) == (0.01, 4300.0)
        assert not fresh_sim.requests_to("maintMarginRatio")
    finally:
        exchange.close()


def test_tiers_with_keys_are_fetched_and_cached_on_disk(live, fresh_sim, tmp_path):
    assert len(fresh_sim.requests_to("maintMarginRatio")) == 2  # the whitelist only
    assert live._leverage_tiers[BTC][0]["maxLeverage"] == 125
    cache = tmp_path / "data" / "futures" / "leverage_tiers_USDT.json"
    assert BTC in json.loads(cache.read_text())["data"]


# ---------------------------------------------------------------- liquidation
def test_isolated_liquidation_price(live):
    # 0.01 BTC at 65 000 with 3x: margin 216.67, tier 1 (mmr 0.4 %)
    long_lp = live.dry_run_liquidation_price(BTC, 65000, False, 0.01, 216.67, 3, 216.67, [])
    short_lp = live.dry_run_liquidation_price(BTC, 65000, True, 0.01, 216.67, 3, 216.67, [])
    assert long_lp == pytest.approx((0.01 * 65000 - 216.67) / (0.01 * (1 - 0.004)))
    assert short_lp == pytest.approx((216.67 + 0.01 * 65000) / (0.01 * (1 + 0.004)))
    assert 43_000 < long_lp < 65_000 < short_lp < 87_000


def test_cross_liquidation_price_accounts_for_other_positions(tmp_path, fresh_sim, mocker):
    config = ft_config(tmp_path, fresh_sim.base_url, keys=False, runmode=RunMode.BACKTEST,
                       margin_mode="cross", dry_run=True)
    exchange = load(config, load_leverage_tiers=True)
    try:
        other = mocker.Mock(pair=ETH, amount=1.0, open_rate=3200.0, is_short=False)
        alone = exchange.dry_run_liquidation_price(BTC, 65000, False, 0.01, 216.67, 3, 1000.0, [])
        with_other = exchange.dry_run_liquidation_price(BTC, 65000, False, 0.01, 216.67, 3, 1000.0, [other])
        assert alone == pytest.approx((0.01 * 65000 - 1000.0) / (0.01 * (1 - 0.004)))
        assert with_other > alone  # the other position's maintenance margin eats into the wallet
    finally:
        exchange.close()


def test_stop_loss_type_mapping_is_bingx_working_type():
    from freqtrade.enums import PriceType

    from bingx_closeall_plugin.freqtrade.exchange import Bingx

    mapping = Bingx._ft_has_futures["stop_price_type_value_mapping"]
    assert mapping[PriceType.MARK] == "MARK_PRICE" and mapping[PriceType.LAST] == "CONTRACT_PRICE"


def test_a_hook_target_of_another_shape_fails_loudly_at_start_up(mocker, plugin):
    from freqtrade.rpc import RPC

    plugin.uninstall()
    try:
        mocker.patch.object(RPC, "_rpc_force_exit", lambda self, trade_id: None)  # a freqtrade that changed it
        with pytest.raises(plugin.IncompatibleFreqtrade, match=r"RPC\._rpc_force_exit: expected parameters"):
            plugin.install()
        assert not plugin.is_installed()  # all or nothing
    finally:
        mocker.stopall()
        plugin.uninstall()
        plugin.install()
    assert plugin.is_installed()


@pytest.mark.parametrize("error, expected", [
    (ccxt.AuthenticationError("bad key"), "OperationalException"),
    (ccxt.PermissionDenied("ip"), "OperationalException"),  # before ExchangeError: never retried forever
    # not a DDoSProtection in ccxt 4.5, backed off all the same
    (ccxt.RateLimitExceeded("slow down"), "DDosProtection"),
    (ccxt.DDoSProtection("slow down"), "DDosProtection"),
    (ccxt.BadRequest("109400"), "TemporaryError"),
    (ccxt.ExchangeNotAvailable("503"), "TemporaryError"),
    (ccxt.BaseError("odd"), "OperationalException"),
])
def test_ccxt_errors_translate_specific_to_general(error, expected):
    from bingx_closeall_plugin.freqtrade.ccxt_clients import freqtrade_error

    translated = freqtrade_error(error, "set leverage")
    assert type(translated).__name__ == expected
    assert str(error) in str(translated)


def test_freqtrades_own_requests_survive_a_skewed_clock_with_one_resync(live, fresh_sim):
    fresh_sim.clock_offset_ms = 90_000  # beyond any recvWindow
    fresh_sim.clear_requests()

    balance = live.get_balances()

    assert "USDT" in balance
    paths = [r.path.rsplit("/", 2)[-2] + "/" + r.path.rsplit("/", 1)[-1] for r in fresh_sim.requests]
    assert paths.count("server/time") == 1
    assert [r.code for r in fresh_sim.requests if not r.path.endswith("server/time")][-1] == 0
    fresh_sim.clear_requests()
    live.get_balances()  # the offset sticks: no more refusals
    assert {r.code for r in fresh_sim.requests} == {0}


# ---------------------------------------------------------------- the flatten's own client
def test_flatten_client_is_its_own_unthrottled_copy_and_the_bots_stays_throttled(live, fresh_sim):
    import threading

    from bingx_closeall_plugin.freqtrade.ccxt_clients import FreqtradeBingXSync

    markets_requests = len(fresh_sim.requests_to("quote/contracts"))
    flat = live.flatten_api()

    assert type(flat) is FreqtradeBingXSync and flat is not live._api and live.flatten_api() is flat
    assert flat.enableRateLimit is False and live._api.enableRateLimit is True
    assert (flat.apiKey, flat.secret, flat.urls) == (live._api.apiKey, live._api.secret, live._api.urls)
    assert flat.markets is live._api.markets and flat.options is live._api.options
    assert len(fresh_sim.requests_to("quote/contracts")) == markets_requests  # markets shared, not fetched

    # While a flatten request is in flight on its client, the bot's own requests keep ccxt's throttle.
    fresh_sim.inject("user/positions", Fault.delay(2))
    fresh_sim.clear_requests()
    answers: list = []
    worker = threading.Thread(target=lambda: answers.append(flat.swapV2PrivateGetUserPositions({})))
    worker.start()
    try:
        deadline = 50
        while not fresh_sim.requests_to("user/positions") and deadline:  # bounded: 50 x 0.1 s
            threading.Event().wait(0.1)
            deadline -= 1
        assert fresh_sim.requests_to("user/positions"), "the flatten request reached the simulator"
        assert live._api.enableRateLimit is True
        assert "USDT" in live.get_balances()  # the bot's own signed request, on its own client, meanwhile
    finally:
        worker.join(10)
    assert answers and answers[0]["code"] == 0  # signed as the bot signs: BingX accepted it
    assert {r.code for r in fresh_sim.requests} == {0} and all(r.api_key_ok for r in fresh_sim.requests)


def test_a_clock_resync_on_either_client_serves_both(live, fresh_sim):
    flat = live.flatten_api()
    fresh_sim.clock_offset_ms = -90_000  # BingX's clock 90 s behind: every signed request is refused
    fresh_sim.clear_requests()

    assert flat.swapV2PrivateGetUserPositions({})["code"] == 0  # refused once, resynchronised, sent again
    assert len(fresh_sim.requests_to("server/time")) == 1
    fresh_sim.clear_requests()
    assert "USDT" in live.get_balances()  # the bot's client signs with the offset the flatten measured
    assert {r.code for r in fresh_sim.requests} == {0} and not fresh_sim.requests_to("server/time")

    fresh_sim.clock_offset_ms = 90_000  # and the other way round
    live.get_balances()
    fresh_sim.clear_requests()
    assert live.flatten_api().swapV2PrivateGetUserPositions({})["code"] == 0
    assert {r.code for r in fresh_sim.requests} == {0}
