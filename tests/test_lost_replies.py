"""A close whose answer is lost or refused is verified from positions, never blindly repeated."""

from __future__ import annotations

import ccxt
import pytest

from bingx_closeall_plugin import BingX, close_all_positions
from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import Fault

from conftest import make_client

CLOSE = "trade/closeAllPositions"
POSITIONS = "user/positions"


def test_lost_reply_after_execution_is_verified_flat_without_a_second_close(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.lost_reply(executed=True))

    result = close_all_positions(exchange)

    # flat, and not "already": the close this call sent did it, its answer lost
    assert result.verified_flat and not result.already_flat and result.recovered_from
    assert len(sim.requests_to(CLOSE)) == 1
    assert len(sim.requests_to(POSITIONS)) == 1
    assert sim.positions() == []


def test_lost_reply_before_execution_closes_what_remains_once(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.lost_reply(executed=False))

    result = close_all_positions(exchange)

    assert len(result.success) == 1 and result.requests == 2
    assert [r.path.rsplit("/", 1)[-1] for r in sim.requests] == ["closeAllPositions", "positions", "closeAllPositions"]
    assert sim.positions() == []


def test_slow_reply_past_the_timeout_is_verified(sim):
    client = make_client(BingX, sim, timeout=300)
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.delay(1.0))

    result = close_all_positions(client)

    assert result.recovered_from == "RequestTimeout" and result.verified_flat and not result.already_flat
    assert len(sim.requests_to(CLOSE)) == 1


def test_html_5xx_after_execution_is_verified(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.http_error(502, executed=True))

    result = close_all_positions(exchange)

    assert result.verified_flat and not result.already_flat and len(sim.requests_to(CLOSE)) == 1


def test_already_submitted_is_verified_not_failed(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.error(109201,
                                  "The same order number is only allowed to be submitted once within 1 second."))

    result = close_all_positions(exchange)

    # The simulator refused without executing, so verification finds the position and closes it.
    assert len(result.success) == 1 and result.recovered_from == "AlreadySubmitted"
    assert sim.positions() == []


@pytest.mark.parametrize("code, msg", [(80001, "service has some errors"), (109500, "system busy")])
def test_transient_service_errors_back_off_and_verify(sim, exchange, code, msg):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.error(code, msg))

    result = close_all_positions(exchange)

    assert result.recovered_from == "ServiceUnavailable" and len(result.success) == 1
    assert len(sim.requests_to(CLOSE)) == 2


def test_persistent_service_errors_give_up_after_bounded_rounds(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.error(109500, "system busy"), times=50)

    with pytest.raises(ccxt.ExchangeNotAvailable, match="may remain open"):
        close_all_positions(exchange)
    assert len(sim.requests_to(CLOSE)) <= 4


def test_clock_skew_resyncs_once_and_retries(sim, exchange):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.clock_offset_ms = 30_000

    result = close_all_positions(exchange)

    assert len(result.success) == 1 and result.requests == 2
    assert [r.path.rsplit("/", 1)[-1] for r in sim.requests] == ["closeAllPositions", "time", "closeAllPositions"]
    # The offset sticks: the next call is accepted first time.
    sim.clear_requests()
    close_all_positions(exchange)
    assert len(sim.requests) == 1


def test_connection_refused_is_a_network_error_with_nothing_sent(sim):
    client = make_client(BingX, sim)
    client.urls["api"] = api_urls("http://127.0.0.1:9")
    with pytest.raises(ccxt.NetworkError):
        close_all_positions(client)
    assert sim.requests == []
