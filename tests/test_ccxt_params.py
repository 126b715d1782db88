"""ccxt's documented params of close_all_positions() / close_position() keep ccxt's meaning on the subclass
(issue 30): each sends, against the simulator, the request stock ccxt.bingx sends for it; the plugin's own
``inverse`` stays; what neither ccxt nor BingX documents is refused before anything is sent."""

from __future__ import annotations

import ccxt
import pytest

from bingx_closeall_plugin import BingX
from bingx_closeall_plugin.core.errors import InvalidInput

from conftest import make_client


def sent(sim):
    """The requests the simulator saw, as (path, params without the timestamp)."""
    return [(r.path, {k: v for k, v in r.params.items() if k != "timestamp"}) for r in sim.requests]


def both(sim, call, seed):
    """Run ``call`` on stock ccxt.bingx and on the subclass from the same seeded account: what each sent."""
    seen = []
    for cls in (ccxt.bingx, BingX):
        sim.reset()
        seed(sim)
        sim.clear_requests()
        call(make_client(cls, sim))
        seen.append(sent(sim))
    return seen


def test_subtype_inverse_closes_every_coin_m_position_as_ccxt_does(sim):
    theirs, ours = both(sim, lambda c: c.close_all_positions({"subType": "inverse"}),
                        lambda s: s.seed_position("BTC-USD", "LONG", 1))

    assert ours[-1:] == theirs[-1:] == [("/openApi/cswap/v1/trade/closeAllPositions", {"recvWindow": "5000"})]
    assert sim.positions() == []


def test_type_swap_is_usdt_m_as_in_ccxt(sim):
    theirs, ours = both(sim, lambda c: c.close_all_positions({"type": "swap"}),
                        lambda s: s.seed_position("BTC-USDT", "LONG", 0.01))

    assert ours[-1:] == theirs[-1:] == [("/openApi/swap/v2/trade/closeAllPositions", {"recvWindow": "5000"})]


def test_close_position_by_position_id_sends_what_ccxt_sends(sim):
    def seed(s):
        s.seed_position("BTC-USDT", "LONG", 0.01)
        s.seed_position("ETH-USDT", "SHORT", 0.1)

    pids = []

    def call(client):
        pids.append(pid := next(p["positionId"] for p in sim.positions() if p["symbol"] == "BTC-USDT"))
        if isinstance(client, BingX):
            client.load_markets()  # ccxt's own loads markets first; the subclass needs none, load them alike
        return client.close_position("BTC/USDT:USDT", params={"positionId": pid})

    theirs, ours = both(sim, call, seed)

    for requests, pid in zip((theirs, ours), pids, strict=True):  # each run's own BTC position id
        assert [r for r in requests if "/trade/" in r[0]] == [
            ("/openApi/swap/v1/trade/closePosition", {"positionId": str(pid)})]
    assert [p["symbol"] for p in sim.positions()] == ["ETH-USDT"]  # that one position, no other


def test_close_position_by_id_answers_ccxts_order_structure_and_the_lossless_answer(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    pid = sim.positions()[0]["positionId"]

    order = exchange.close_position("BTC/USDT:USDT", params={"positionId": pid})

    assert order == exchange.parse_order(order.raw["data"], None) and order["id"] == order.success[0]
    assert order.raw["data"]["positionId"] == str(pid) and sim.positions() == []


def test_the_plugins_own_inverse_still_means_coin_m(sim, exchange):
    sim.seed_position("BTC-USD", "LONG", 1)

    exchange.close_all_positions({"inverse": True})

    assert [r.path for r in sim.requests] == ["/openApi/cswap/v1/trade/closeAllPositions"]


@pytest.mark.parametrize(("call", "named"), [
    (lambda c: c.close_all_positions({"leverage": 5}), "symbol, recvWindow, type, subType, inverse"),
    (lambda c: c.close_position("BTC/USDT:USDT", params={"reduceOnly": True}), "positionId"),
    (lambda c: c.close_all_positions({"type": "spot"}), "type must be 'swap'"),
    (lambda c: c.close_all_positions({"subType": "inverse", "inverse": False}), "contradicts"),
    (lambda c: c.close_position("BTC/USDT:USDT", params={"subType": "inverse"}), "USDT-M"),
    (lambda c: c.close_position("BTC/USD:BTC", params={"positionId": "1"}), "USDT-M perpetuals only"),
])
def test_what_neither_ccxt_nor_bingx_documents_is_refused_before_anything_is_sent(sim, exchange, call, named):
    with pytest.raises(InvalidInput, match=named.replace("(", r"\(")):
        call(exchange)
    assert sim.requests == []
