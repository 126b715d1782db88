"""The bot's clientOrderID tag and a conditional order's price, as BingX documents them.

The module comes from a fixture, not an import at the top (see tests/test_startup_sync.py).
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest


@pytest.fixture
def tags(plugin: Any) -> Any:
    return importlib.import_module("bingx_closeall_plugin.freqtrade.order_tags")


def test_each_database_has_its_own_lowercase_prefix(tags):
    one, other = tags.tag_prefix({"db_url": "sqlite:///a.sqlite"}), tags.tag_prefix({"db_url": "sqlite:///b.sqlite"})
    assert one != other and one == one.lower() and one.startswith("ft")
    assert tags.tag_prefix({"db_url": "sqlite:///a.sqlite"}) == one  # the same database after a restart


def test_ids_fit_bingx_and_never_repeat(tags):
    prefix = tags.tag_prefix({"db_url": "sqlite:///a.sqlite"})
    ids = {tags.new_client_order_id(prefix) for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) <= tags.MAX_LENGTH and i == i.lower() and i.startswith(prefix + "-") for i in ids)


def test_an_order_is_ours_by_its_prefix_even_as_bingx_answers_it(tags):
    prefix = tags.tag_prefix({"db_url": "sqlite:///a.sqlite"})
    client_id = tags.new_client_order_id(prefix)
    assert tags.is_ours({"clientOrderId": client_id}, prefix)
    assert tags.is_ours({"clientOrderId": None, "info": {"clientOrderId": client_id.upper()}}, prefix)
    assert not tags.is_ours({"clientOrderId": ""}, prefix)  # closeAllPositions' orders carry none
    assert not tags.is_ours({"clientOrderId": tags.new_client_order_id(tags.tag_prefix({"db_url": "other"}))}, prefix)
    assert not tags.is_ours({"clientOrderId": prefix + "x-1"}, prefix)  # a longer prefix is another bot's


def test_a_conditional_market_order_takes_its_trigger_as_price(tags):
    stop = {"id": "1", "type": "market", "price": None, "stopLossPrice": 61000.0, "triggerPrice": 61000.0}
    assert tags.with_trigger_price(stop)["price"] == 61000.0
    assert stop["price"] is None  # the caller's order is not changed
    assert tags.with_trigger_price({"price": 5.0, "stopLossPrice": 6.0})["price"] == 5.0  # a limit keeps its price
    assert tags.with_trigger_price({"price": None})["price"] is None  # nothing to take it from
