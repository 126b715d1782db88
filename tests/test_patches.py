"""install.PATCHES is the whole truth: every change the plugin makes to freqtrade's and ccxt's objects, at install
and at run time, is listed there, and uninstall() puts each original object back (checked with ``is``).

In-process and over real HTTP to the simulator: a live freqtrade exchange is built (log maskers), its flatten
client used, a wallet refresh deferred, a plain ccxt bingx resynchronised, a bot given its flattener; then every
module and class of
freqtrade and ccxt is compared with the snapshot taken before install().
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
from types import SimpleNamespace
from typing import Any

import ccxt
import pytest

pytest.importorskip("freqtrade")

from test_freqtrade_exchange import ft_config

from bingx_closeall_plugin.core.clock import set_clock_offset
from bingx_closeall_plugin.core.redaction import SecretMasker

from conftest import make_client

# The plugin's freqtrade layer and freqtrade's resolvers and wallets are imported by the tests that use them, not
# here: every xdist worker collects this module (conftest's ``plugin`` fixture says why).

OWNERS = ("freqtrade", "ccxt")


def snapshot() -> dict[tuple[Any, str], Any]:
    """(module or class, attribute) -> value, for every module of freqtrade and ccxt and the classes they define."""
    state: dict[tuple[Any, str], Any] = {}
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in OWNERS:
            continue
        for attribute, value in list(vars(module).items()):
            state[(module, attribute)] = value
            if inspect.isclass(value) and value.__module__ == name:
                for class_attribute, class_value in list(vars(value).items()):
                    state[(value, class_attribute)] = class_value
    return state


def changes(before: dict[tuple[Any, str], Any], after: dict[tuple[Any, str], Any]) -> set[tuple[Any, str]]:
    """What differs between two snapshots, on the modules and classes the first one knew."""
    known = {target for target, _ in before}
    changed = {key for key, value in after.items()
               if key[0] in known and (key not in before or before[key] is not value)}
    return changed | {key for key in before if key not in after}


def filters_of(holders: list[logging.Filterer]) -> dict[int, list[logging.Filter]]:
    return {id(holder): list(holder.filters) for holder in holders}


def test_every_runtime_change_is_in_patches_and_uninstall_restores_each(tmp_path, sim, plugin):
    from freqtrade.resolvers.exchange_resolver import ExchangeResolver
    from freqtrade.wallets import Wallets

    from bingx_closeall_plugin.freqtrade.flatten import get_flattener
    from bingx_closeall_plugin.freqtrade.reconcile import one_wallet_sync

    stock_handler = logging.StreamHandler()  # stands for a handler freqtrade's logging set-up made
    root = logging.getLogger()
    root.addHandler(stock_handler)
    plugin.uninstall()
    try:
        # ccxt's constructors cache camel-case aliases on their classes once: not the plugin's doing
        for cls in (ccxt.bingx, ccxt.async_support.bingx, ccxt.pro.bingx):
            cls()
        holders: list[logging.Filterer] = [*root.handlers, logging.getLogger("freqtrade")]
        before, filters_before = snapshot(), filters_of(holders)
        plain = make_client(ccxt.bingx, sim)  # a strategy's own ccxt client, resynchronised by the close path
        nonce_before = vars(plain).get("nonce")

        plugin.install()
        exchange = ExchangeResolver.load_exchange(ft_config(tmp_path, sim.base_url), load_leverage_tiers=False)
        try:
            exchange.flatten_api().swapV2PrivateGetUserPositions({})
            wallets = Wallets({**exchange._config, "dry_run_wallet": 0}, exchange)
            sim.clear_requests()
            with one_wallet_sync(SimpleNamespace(wallets=wallets)):
                wallets.update()  # freqtrade's refresh after each fill: held back on this thread
                assert not sim.requests_to("user/balance")
            assert len(sim.requests_to("user/balance")) == 1  # then once
            set_clock_offset(plain, {"data": {"serverTime": sim.server_time_ms()}})
            bot = type("Bot", (), {})()  # stands for the FreqtradeBot: the plugin keeps its flattener on it
            flattener = get_flattener(bot)
            assert get_flattener(bot) is flattener

            recorded = {(patch.target, patch.attribute) for patch in plugin.PATCHES}
            # every change to a freqtrade or ccxt module or class is recorded ...
            assert changes(before, snapshot()) <= recorded
            # ... and so is every log filter added to freqtrade's handlers and loggers, and the plain client's nonce
            added = {(id(h), f) for h in holders for f in h.filters if f not in filters_before[id(h)]}
            assert added and all(isinstance(f, SecretMasker) for _, f in added)
            assert added == {(id(p.target), p.replacement) for p in plugin.PATCHES if p.attribute == "filters"}
            assert "nonce" in vars(plain) and (plain, "nonce") in recorded
            assert (bot, "_bingx_flattener") in recorded
            # and nothing is listed that is not in place
            for patch in plugin.PATCHES:
                if patch.attribute == "filters":
                    assert patch.replacement in patch.target.filters
                else:
                    assert getattr(patch.target, patch.attribute) is patch.replacement, patch.name
        finally:
            exchange.close()

        plugin.uninstall()

        assert plugin.PATCHES == [] and not plugin.is_installed()
        after = snapshot()
        assert all(after[key] is value for key, value in before.items() if key in after)
        assert changes(before, after) == set()
        assert filters_of(holders) == filters_before
        assert vars(plain).get("nonce") is nonce_before is None
        assert vars(bot) == {}
    finally:
        root.removeHandler(stock_handler)
        plugin.install()
    assert plugin.is_installed()


def test_wallet_refresh_is_deferred_on_the_flattens_thread_only(tmp_path, sim, plugin):
    import threading

    from freqtrade.resolvers.exchange_resolver import ExchangeResolver
    from freqtrade.wallets import Wallets

    from bingx_closeall_plugin.freqtrade.reconcile import one_wallet_sync

    exchange = ExchangeResolver.load_exchange(ft_config(tmp_path, sim.base_url), load_leverage_tiers=False)
    try:
        wallets = Wallets({**exchange._config, "dry_run_wallet": 0}, exchange)
        sim.clear_requests()
        with one_wallet_sync(SimpleNamespace(wallets=wallets)):
            other = threading.Thread(target=wallets.update)  # the bot's loop, refreshing as it always does
            other.start()
            other.join(10)
            assert len(sim.requests_to("user/balance")) == 1
            assert "update" not in vars(wallets)  # no wallet object is shadowed
    finally:
        exchange.close()


def test_one_wallet_sync_refuses_to_run_without_the_hook(sim, plugin):
    from bingx_closeall_plugin.freqtrade.reconcile import one_wallet_sync

    plugin.uninstall()
    try:
        with pytest.raises(RuntimeError, match="install"), one_wallet_sync(SimpleNamespace(wallets=object())):
            pass
    finally:
        plugin.install()


def test_a_filter_the_launcher_needs_only_while_freqtrade_runs_is_reverted_at_once(plugin, install_mod):
    watched = logging.getLogger("freqtrade")
    log_filter = logging.Filter()
    patch = install_mod.add_log_filter(watched, log_filter, "test")
    assert patch in plugin.PATCHES and log_filter in watched.filters
    install_mod.revert(patch)
    assert patch not in plugin.PATCHES and log_filter not in watched.filters


def test_the_loop_leaves_a_trade_alone_while_a_flatten_closes_it(plugin, install_mod):
    from freqtrade.freqtradebot import FreqtradeBot

    from bingx_closeall_plugin.freqtrade.flatten import get_flattener

    bot = type("Bot", (), {})()  # stands for the FreqtradeBot; freqtrade's own handling fails on it
    flattener = get_flattener(bot)
    closing, other = SimpleNamespace(id=7), SimpleNamespace(id=8)
    handles = (FreqtradeBot.handle_stoploss_on_exchange, FreqtradeBot.handle_trade,
               FreqtradeBot.handle_onexchange_order)
    try:
        for handle in handles:
            with pytest.raises(AttributeError):  # no flatten: freqtrade's own stop, exit and recovery handling runs
                handle(bot, closing)
        with pytest.raises(AttributeError):
            FreqtradeBot.manage_open_orders(bot)
        flattener.claim([closing])  # what the flatten says just before its close goes out
        for handle in handles:
            assert handle(bot, closing) is False  # "not closed, not deleted here": the flatten books it
            with pytest.raises(AttributeError):  # a trade the flatten does not close: handled as usual
                handle(bot, other)
        assert FreqtradeBot.manage_open_orders(bot) is None  # the open-order pass waits for the flatten's books
        flattener._owner = threading.get_ident()  # on the flatten's own thread its trades are handled as usual
        for handle in handles:
            with pytest.raises(AttributeError):
                handle(bot, closing)
        flattener._owner = None
        flattener.claim([])
        with pytest.raises(AttributeError):
            FreqtradeBot.manage_open_orders(bot)
    finally:
        install_mod.revert(next(p for p in plugin.PATCHES if p.target is bot))


def test_every_listed_method_is_checked(install_mod):
    """The issue's list of private seams is in the table the launcher's check runs over (here, in the in-process
    freqtrade unit, not in test_freqtrade_launcher.py: the import costs a worker about 3 s of CPU)."""
    checked = {qualname.rsplit(".", 1)[-1] for _, qualname, _ in install_mod.SIGNATURES}
    checked |= {attribute for _, _, attribute in install_mod.INSTANCE_ATTRIBUTES}
    assert {"_init_ccxt", "_lev_prep", "_set_leverage", "load_leverage_tiers", "handle_onexchange_order",
            "update_trade_state", "_notify_exit", "_exit_lock", "fetch2"} <= checked
    assert install_mod.signature_problems() == []
