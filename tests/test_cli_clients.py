"""bingx-closeall's clients: each account's a copy of one ccxt built, and the same as one ccxt builds itself."""

from __future__ import annotations

import copy

import pytest

from bingx_closeall_plugin.cli import clients
from bingx_closeall_plugin.cli.accounts import Account, make_exchange
from bingx_closeall_plugin.core.flatten import flatten
from bingx_closeall_plugin.core.urls import api_urls

from conftest import API_KEY, API_SECRET

CONFIGS = [(None, False), ({"TRUMPSOL": "TRUMP"}, False), (None, True)]
# Each client's own: its connection pool and ccxt's per-client id.
OWN = {"session", "origin"}


def containers(value, found=None):
    """The ids of every dict, list and set in ``value``, nested ones too."""
    found = set() if found is None else found
    if isinstance(value, (dict, list, set)):
        found.add(id(value))
        for item in value.values() if isinstance(value, dict) else value:
            containers(item, found)
    return found


@pytest.mark.parametrize(("currencies", "sandbox"), CONFIGS, ids=["plain", "currencies", "sandbox"])
def test_a_copy_is_the_client_ccxt_builds_from_the_same_config(currencies, sandbox):
    copied = clients.client_for("key-1", "secret-1", currencies, sandbox)
    built = clients.build(currencies, sandbox, apiKey="key-1", secret="secret-1")

    assert set(vars(copied)) == set(vars(built))
    assert {name for name in vars(built) if name not in OWN and vars(copied)[name] != vars(built)[name]} == set()
    assert copied.session is not built.session and copied.origin != built.origin
    assert copied.session.trust_env == built.session.trust_env


def test_two_accounts_copies_share_nothing_but_the_tables_ccxt_writes_only_while_it_builds():
    template = clients.template()
    first, second = clients.client_for("key-1", "secret-1"), clients.client_for("key-2", "secret-2")

    for name, value in vars(template).items():
        if name in clients.SHARED:
            assert vars(first)[name] is value
        elif name in vars(first):
            assert not containers(vars(first)[name]) & containers(value), name
            assert not containers(vars(first)[name]) & containers(vars(second)[name]), name
    assert (first.apiKey, first.secret, second.apiKey, second.secret) == ("key-1", "secret-1", "key-2", "secret-2")
    first.options["timeDifference"] = 1234  # the close path's clock fix is one account's alone
    assert "timeDifference" not in second.options or second.options["timeDifference"] != 1234
    assert template.options.get("timeDifference") != 1234


def test_a_whole_flatten_through_a_copy_leaves_the_shared_tables_as_they_were(sim):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_order("BTC-USDT", side="SELL", type="STOP_MARKET", quantity=0.01, stop_price=50000.0)
    template = clients.template()
    before = {name: copy.deepcopy(vars(template)[name]) for name in clients.SHARED - {"logger"}}
    exchange = make_exchange(Account("test", API_KEY, API_SECRET, api_urls(sim.base_url), False), False)

    report = flatten(exchange)

    assert report.flat and sim.positions() == [] and sim.open_orders() == []
    assert {name: vars(template)[name] for name in before} == before


def test_where_ccxt_client_cannot_be_copied_each_is_built_by_ccxt(sim, monkeypatch):
    def refuse(value, memo=None):
        raise TypeError("cannot pickle '_thread.lock' object")

    monkeypatch.setattr(clients, "_copies_fail", False)
    monkeypatch.setattr(clients.copy, "deepcopy", refuse)
    sim.seed_position("ETH-USDT", "SHORT", 0.2)

    exchange = make_exchange(Account("test", API_KEY, API_SECRET, api_urls(sim.base_url), False), False)

    assert clients._copies_fail is True
    assert exchange.apiKey == API_KEY and exchange.session is not clients.template().session
    assert flatten(exchange).flat and sim.positions() == []
