"""The ccxt static lane (issue 30): ccxt's own static request and response tests for bingx, run by the harness the
installed ccxt ships, on stock ``ccxt.bingx`` and on the plugin's ``BingX`` / ``AsyncBingX``, sync and async.
Every test that passes on stock ccxt passes on the subclass, except ``DELIBERATE`` (in ``tests/ccxt_static_lane.py``,
with its reason; docs/ccxt.md names it). ``python tests/ccxt_static_lane.py`` prints the table."""

from __future__ import annotations

import re
from pathlib import Path

import ccxt
import ccxt.async_support
import ccxt_static_lane as lane
import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def reports():
    return lane.run_lane()  # two child interpreters, side by side


def test_every_static_test_that_passes_on_stock_ccxt_passes_on_the_subclass(reports):
    found = {(r["type"], r["method"], r["description"]): r["message"]
             for records in lane.regressions(reports).values() for r in records}
    assert {key: msg for key, msg in found.items() if key not in lane.DELIBERATE} == {}
    assert set(lane.DELIBERATE) <= set(found), "a listed deliberate difference no longer differs: drop it"


def test_both_classes_ran_every_enabled_fixture_test_through_ccxts_harness(reports):
    for flavour in lane.FLAVOURS:
        for kind in lane.TYPES:
            stock, ours = (reports[flavour]["runs"][f"{kind}/{which}"] for which in lane.CLASSES)
            keys = [(r["method"], r["description"]) for r in stock]
            assert keys == [(r["method"], r["description"]) for r in ours] and len(keys) >= 30
            # some pass: the harness really compared output (a broken setup fails them all)
            assert sum(r["ok"] for r in stock) >= len(stock) // 3
    assert lane.table(reports)[0][:3] == ("request", "sync", "stock")


def test_nothing_in_the_lane_reaches_the_network(reports):
    assert [a for r in reports.values() for a in r["network_attempts"]] == []


@pytest.mark.parametrize("flavour", lane.FLAVOURS)
def test_every_override_of_ccxt_bingx_is_covered_by_the_lane_or_names_the_suite_test_that_is(reports, flavour):
    base = ccxt.bingx if flavour == "sync" else ccxt.async_support.bingx
    assert lane.overrides_of(lane.plugin_classes()[flavour], base) == set(lane.OVERRIDES)
    calls = reports[flavour]["calls"]
    for name, entry in lane.OVERRIDES.items():
        for kind in lane.TYPES:
            if kind in entry["lane"].split(","):
                assert calls[kind][name] > 0, (name, kind)
            elif not entry["lane"]:
                assert calls[kind][name] == 0, (name, kind)  # "not reached" is true
        path, _, test = entry["suite"].partition("::")
        source = (ROOT / path).read_text()
        assert not test or re.search(rf"^def {re.escape(test)}\(", source, re.M), entry["suite"]
    # the response tests replace fetch: the subclass's fetch (its masking) is never run there
    assert calls["response"]["fetch"] == 0 and calls["request"]["fetch"] > 0
