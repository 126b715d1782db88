"""A position keeps its stops until it is flat: flatten() over real HTTP against the simulator.

Orders that could open or add to a position are cancelled at once, beside the close; a position's
reduce-only and close-position orders (and hedge mode's closing legs) only once that position is flat.
"""

from __future__ import annotations

import asyncio

import pytest

from bingx_closeall_plugin import (
    AsyncBingX,
    BingX,
    RateLimited,
    RiskControlRejected,
    close_all_positions,
    flatten,
    flatten_async,
)
from bingx_closeall_plugin.simulator import Fault

from conftest import make_client

CLOSE = "trade/closeAllPositions"


def seed(sim):
    """Two positions, each with a reduce-only stop, and a plain (opening) stop beside BTC's."""
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "SHORT", 0.2)
    return {
        "btc_stop": str(sim.seed_order("BTC-USDT", side="SELL", type="STOP_MARKET", quantity=0.01, stop_price=50000.0)),
        "eth_stop": str(sim.seed_order("ETH-USDT", side="BUY", type="STOP_MARKET", quantity=0.2, stop_price=5000.0)),
        "opener": str(sim.seed_order("BTC-USDT", side="BUY", type="STOP_MARKET", quantity=0.01, stop_price=90000.0,
                                     reduce_only=False)),
    }


def trail(sim):
    """The request log as (method, endpoint, symbol) in arrival order."""
    return [(r.method, r.path.rsplit("/", 1)[-1], r.params.get("symbol")) for r in sim.requests]


def open_ids(sim):
    return {str(o["orderId"]) for o in sim.open_orders()}


def test_full_close_cancels_openers_at_once_and_the_stops_in_one_cancel_all_after_flat(sim):
    ids = seed(sim)
    sim.latency_ms = 100  # every answer takes 100 ms: what was sent before an answer shows in the log's order
    unthrottled = make_client(BingX, sim, enableRateLimit=False)  # as the CLI and the freqtrade flatten run it

    report = flatten(unthrottled)

    assert report.flat and sim.positions() == [] and sim.open_orders() == []
    close, read = sim.requests_to(CLOSE)[0], sim.requests_to("trade/openOrders")[0]
    # t0: the close and the order read go out together; neither waited for any answer.
    assert {close.started, read.started} == {r.started for r in sim.requests[:2]}
    assert all(r.finished >= max(close.started, read.started) for r in sim.requests)
    assert trail(sim)[2:] == [
        ("DELETE", "order", "BTC-USDT"),  # the opener, by id: BTC-USDT also holds a stop
        ("GET", "positions", None),
        ("DELETE", "allOpenOrders", None),  # flat: one cancel-all for every stop
        ("GET", "allOrders", None),
    ]
    assert report.cancelled_openers == [ids["opener"]]
    assert sorted(report.cancelled_protective) == sorted([ids["btc_stop"], ids["eth_stop"]])
    assert sorted(report.cancelled_orders) == sorted(ids.values())
    assert report.kept_orders == [] and report.unprotected == []


def test_a_symbol_with_only_openers_is_cleared_with_one_cancel_all(sim, exchange):
    sim.seed_position("SOL-USDT", "LONG", 1)
    entries = {str(sim.seed_order("SOL-USDT", side="BUY", type="LIMIT", quantity=1, price=100.0, reduce_only=False)),
               str(sim.seed_order("SOL-USDT", side="BUY", type="LIMIT", quantity=1, price=90.0, reduce_only=False))}
    sim.inject(CLOSE, Fault.failed("SOL-USDT"), times=10)  # SOL stays open: the cancel-all is the openers' one

    report = flatten(exchange)

    assert [(m, e, s) for m, e, s in trail(sim) if m == "DELETE"] == [("DELETE", "allOpenOrders", "SOL-USDT")]
    assert set(report.cancelled_openers) == entries and sim.open_orders() == []
    # Cancelled while SOL is still open: said, though they were entries, not its protection.
    assert {o["orderId"] for o in report.unprotected} == entries


def test_partial_close_cancels_stops_per_flat_symbol_and_keeps_the_open_ones(sim, exchange):
    ids = seed(sim)
    sim.inject(CLOSE, Fault.failed("ETH-USDT"), times=10)  # every round leaves ETH-USDT open

    report = flatten(exchange)

    assert not report.flat and [p["symbol"] for p in report.remaining_positions] == ["ETH-USDT"]
    assert open_ids(sim) == {ids["eth_stop"]}  # ETH's stop rests on; BTC's went once BTC was flat
    deletes = [(m, e, s) for m, e, s in trail(sim) if m == "DELETE"]
    assert deletes == [("DELETE", "order", "BTC-USDT"), ("DELETE", "allOpenOrders", "BTC-USDT")]
    assert trail(sim).index(("DELETE", "allOpenOrders", "BTC-USDT")) > max(
        i for i, (_, endpoint, _) in enumerate(trail(sim)) if endpoint == "positions")
    assert report.cancelled_protective == [ids["btc_stop"]]
    assert [(o["orderId"], o["symbol"], o["type"], o["side"]) for o in report.kept_orders] == [
        (ids["eth_stop"], "ETH-USDT", "STOP_MARKET", "BUY")]
    assert report.unprotected == [] and report.cancel_error is None
    document = report.to_dict()
    assert document["kept_orders"] == report.kept_orders and document["cancelled_openers"] == [ids["opener"]]


def test_a_refused_close_keeps_every_stop_and_still_cancels_the_openers(sim, exchange):
    ids = seed(sim)
    sim.inject(CLOSE, Fault.error(80020, "risk forbidden"))

    with pytest.raises(RiskControlRejected) as caught:
        flatten(exchange)

    report = caught.value.flatten_report
    assert len(sim.positions()) == 2 and open_ids(sim) == {ids["btc_stop"], ids["eth_stop"]}
    assert report.error is caught.value and not report.flat
    assert report.cancelled_openers == [ids["opener"]] and report.cancelled_protective == []
    assert sorted(o["orderId"] for o in report.kept_orders) == sorted([ids["btc_stop"], ids["eth_stop"]])
    assert sorted(p["symbol"] for p in report.remaining_positions) == ["BTC-USDT", "ETH-USDT"]
    assert [o["orderId"] for o in report.unprotected] == [ids["opener"]]
    assert [m for m, _, _ in trail(sim)].count("DELETE") == 1 and len(sim.requests_to(CLOSE)) == 1


def test_hedge_mode_closing_legs_are_protective(sim, exchange):
    sim.account.set_hedge_mode(True)
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("BTC-USDT", "SHORT", 0.02)
    long_stop = str(sim.seed_order("BTC-USDT", side="SELL", type="STOP_MARKET", quantity=0.01, stop_price=50000.0,
                                   position_side="LONG"))
    short_stop = str(sim.seed_order("BTC-USDT", side="BUY", type="STOP_MARKET", quantity=0.02, stop_price=90000.0,
                                    position_side="SHORT"))
    add_long = str(sim.seed_order("BTC-USDT", side="BUY", type="LIMIT", quantity=0.01, price=60000.0,
                                  position_side="LONG"))
    assert not any(o["reduceOnly"] for o in sim.open_orders())  # hedge mode: only side and positionSide tell
    sim.inject(CLOSE, Fault.error(109403, "risk forbidden"))

    with pytest.raises(RiskControlRejected) as caught:
        flatten(exchange)

    assert open_ids(sim) == {long_stop, short_stop}
    assert caught.value.flatten_report.cancelled_openers == [add_long]

    report = flatten(exchange)  # BingX accepts now: flat, then the closing legs go

    assert report.flat and sim.open_orders() == []
    assert sorted(report.cancelled_protective) == sorted([long_stop, short_stop])


def test_keep_orders_reads_and_cancels_nothing(sim, exchange):
    seed(sim)

    report = flatten(exchange, cancel_orders=False)

    assert report.flat and len(sim.open_orders()) == 3 and report.cancelled_orders is None
    assert [e for _, e, _ in trail(sim)] == ["closeAllPositions", "positions", "allOrders"]


def rate_limit(sim, in_ms: int) -> Fault:
    return Fault.error(100410, "The endpoint trigger frequency limit rule is currently in the disabled period and "
                               f"will be unblocked after {sim.server_time_ms() + in_ms}")


def test_a_rate_limit_within_the_deadline_is_waited_out_and_the_close_sent_again(sim, exchange):
    ids = seed(sim)
    sim.inject(CLOSE, rate_limit(sim, 1500))
    shown = []

    report = flatten(exchange, on_wait=lambda left, retry_after: shown.append((left, retry_after)))

    assert report.flat and sim.positions() == [] and sim.open_orders() == []
    first, second = sim.requests_to(CLOSE)
    unblocked_at = shown[0][1]
    # The second close left after BingX's clock passed its retry_after: it could not be refused for it.
    assert second.code == 0 and first.code == 100410
    assert sim.requests_to("server/time"), "the wait is measured on BingX's clock"
    assert len(shown) >= 2 and all(r == unblocked_at for _, r in shown)
    assert [left for left, _ in shown] == sorted((left for left, _ in shown), reverse=True)
    assert report.close_requests == 2 and ids["opener"] in report.cancelled_openers


def test_the_close_after_a_wait_is_not_sent_before_bingx_unblocks(sim):
    """BingX's own 5/s window, with BingX's clock 2 s behind this machine's: a wait measured on the local
    clock would be over before it began, and the close sent again into the limit (another refusal toward
    BingX's error penalty)."""
    sim.clock_offset_ms = -2000
    unthrottled = make_client(BingX, sim, enableRateLimit=False)
    for _ in range(5):  # fill the window with accepted closes of an empty account
        close_all_positions(unthrottled)
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.clear_requests()

    report = flatten(unthrottled, cancel_orders=False)

    assert report.flat and [r.code for r in sim.requests_to(CLOSE)] == [100410, 0]


def test_a_rate_limit_beyond_the_deadline_raises_at_once_with_the_report(sim, exchange):
    ids = seed(sim)
    sim.inject(CLOSE, rate_limit(sim, 60_000))

    with pytest.raises(RateLimited) as caught:
        flatten(exchange, rate_limit_wait=5)

    assert len(sim.requests_to(CLOSE)) == 1
    report = caught.value.flatten_report
    assert open_ids(sim) == {ids["btc_stop"], ids["eth_stop"]} and len(report.kept_orders) == 2


def test_the_async_twin_waits_out_a_rate_limit_too(sim):
    seed(sim)
    sim.inject(CLOSE, rate_limit(sim, 1200))

    async def scenario():
        client = make_client(AsyncBingX, sim)
        try:
            return await flatten_async(client)
        finally:
            await client.close()

    report = asyncio.run(scenario())

    assert report.flat and len(sim.requests_to(CLOSE)) == 2 and sim.open_orders() == []


def test_a_cancel_refused_for_its_timestamp_is_sent_again_after_the_clock_resync(sim):
    ids = seed(sim)
    sim.clock_offset_ms = 90_000  # every request refused for its timestamp until the close resynchronises
    sim.latency_ms = 100  # both requests of t0 are signed before the close's refusal comes back

    report = flatten(make_client(BingX, sim, enableRateLimit=False))

    assert report.flat and sim.open_orders() == [] and report.cancel_error is None
    assert report.cancelled_openers == [ids["opener"]]
    assert len(sim.requests_to("trade/openOrders")) == 2 and len(sim.requests_to(CLOSE)) == 2


def test_a_lost_cancel_of_one_flat_symbol_is_sent_again_and_both_are_reported(sim):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "SHORT", 0.2)
    sim.seed_position("SOL-USDT", "LONG", 1)
    stops = [str(sim.seed_order(s, side=side, type="STOP_MARKET", quantity=q, stop_price=p))
             for s, side, q, p in (("BTC-USDT", "SELL", 0.01, 50000.0), ("ETH-USDT", "BUY", 0.2, 5000.0))]
    sol_stop = str(sim.seed_order("SOL-USDT", side="SELL", type="STOP_MARKET", quantity=1, stop_price=10.0))
    sim.inject(CLOSE, Fault.failed("SOL-USDT"), times=10)
    sim.inject("trade/allOpenOrders", Fault.lost_reply(executed=False))  # one of the two per-symbol cancels

    report = flatten(make_client(BingX, sim, enableRateLimit=False))

    assert [str(o["orderId"]) for o in sim.open_orders()] == [sol_stop]
    assert sorted(report.cancelled_protective) == sorted(stops) and report.cancel_error is None
    assert len(sim.requests_to("allOpenOrders")) == 4  # two symbols, then both once more
