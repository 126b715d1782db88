"""Every row of BingX's error table, driven end to end: the Python API's exception and the CLI's exit code."""

from __future__ import annotations

import ccxt
import pytest

from bingx_closeall_plugin import close_all_positions
from bingx_closeall_plugin.core import errors
from bingx_closeall_plugin.simulator import Fault

from conftest import run_cli

CLOSE = "trade/closeAllPositions"

# code, BingX's message, the ccxt class a user catches, the plugin class, the CLI's exit code.
# Codes the close path recovers from (timestamp, 109201, 101205, 80001, 109500) have their own tests below.
REFUSALS = [
    (100419, "IP does not match IP whitelist , please go to https://bingx.com/en/account/api/ "
             "to verify the ip you have set",
     ccxt.PermissionDenied, errors.IpNotWhitelisted, 3),
    (100413, "Incorrect apiKey", ccxt.AuthenticationError, errors.InvalidApiKey, 3),
    (80020, "risk forbidden", ccxt.PermissionDenied, errors.RiskControlRejected, 3),
    (109403, "risk forbidden", ccxt.PermissionDenied, errors.RiskControlRejected, 3),
    (100410, "The endpoint trigger frequency limit rule is currently in the disabled period "
             "and will be unblocked after 1727193814249",
     ccxt.RateLimitExceeded, errors.RateLimited, 4),
    (100410, "rate limited", ccxt.RateLimitExceeded, errors.RateLimited, 4),
    (100410, "over 20 error code:100202 requests within 480000 ms for this api, please verify and fix it "
             ",can retry after time: 1727193970155",
     ccxt.RateLimitExceeded, errors.RateLimited, 4),
    (109429, "rate limited", ccxt.RateLimitExceeded, errors.RateLimited, 4),
    (109400, "CATI-USDT,symbol not exist, please verify it in api: /openApi/swap/v2/quote/contracts",
     ccxt.BadSymbol, errors.UnknownSymbol, 2),
    (109400, "Invalid parameters, err: recvWindow must be positive", ccxt.BadRequest, errors.InvalidParameter, 2),
    (80018, "order is already filled, The order doesn't exist", ccxt.OrderNotFound, errors.OrderMissing, 1),
    (109414, "order not exist", ccxt.OrderNotFound, errors.OrderMissing, 1),
    (109421, "order not found", ccxt.OrderNotFound, errors.OrderMissing, 1),
    (109422, "order or position not exist", ccxt.OrderNotFound, errors.OrderMissing, 1),
]


@pytest.mark.parametrize("code, msg, ccxt_class, ours, exit_code", REFUSALS, ids=lambda v: str(v)[:24])
def test_refusal_raises_the_right_class_with_code_and_message(sim, exchange, code, msg, ccxt_class, ours, exit_code):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.error(code, msg), times=5)

    with pytest.raises(ccxt_class) as caught:
        close_all_positions(exchange)

    assert type(caught.value) is ours
    assert caught.value.code == code and caught.value.bingx_message == msg
    assert caught.value.transient is (ours in (errors.RateLimited,))
    assert len(sim.positions()) == 1  # a refusal closed nothing, and nothing was re-sent blindly
    assert len(sim.requests_to(CLOSE)) == 1


@pytest.mark.parametrize("code, msg, ccxt_class, ours, exit_code", REFUSALS, ids=lambda v: str(v)[:24])
def test_refusal_gives_the_cli_exit_code_without_a_traceback(sim, cli_env, code, msg, ccxt_class, ours, exit_code):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.error(code, msg), times=5)

    done = run_cli(["--yes"], cli_env)

    assert done.returncode == exit_code, done.stderr
    assert str(code) in done.stderr and "Traceback" not in done.stderr + done.stdout


def test_rate_limit_says_when_to_retry(sim, exchange, cli_env):
    sim.inject(CLOSE, Fault.error(100410, "can retry after time: 1727193970155"), times=2)
    with pytest.raises(errors.RateLimited) as caught:
        close_all_positions(exchange)
    assert caught.value.retry_after == 1727193970155
    assert not isinstance(caught.value, ccxt.DDoSProtection)  # ccxt 4.5: a separate branch; callers must catch both

    # A time already past would be retried at once (BingX says the limit is over); 2100 is beyond --max-wait.
    sim.clear_faults()
    sim.inject(CLOSE, Fault.error(100410, "can retry after time: 4102488000000"))  # 2100-01-01 12:00 UTC
    done = run_cli(["--yes"], cli_env)
    assert done.returncode == 4 and "retry after 2100-01-0" in done.stderr and "local time" in done.stderr
    assert "longer than --max-wait 30 s" in done.stderr


def test_ip_whitelist_message_names_the_whitelist(sim, exchange):
    sim.inject(CLOSE, Fault.error(100419, "IP does not match IP whitelist"))
    with pytest.raises(errors.IpNotWhitelisted, match="IP whitelist"):
        close_all_positions(exchange)


@pytest.mark.parametrize("code, msg", [
    (80014, "timestamp is invalid"),
    (100421, "Null timestamp or timestamp mismatch"),
    (109400, "Invalid parameters, timestamp is invalid"),
])
def test_timestamp_refusals_resync_and_retry_once(sim, exchange, cli_env, code, msg):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.error(code, msg))
    result = close_all_positions(exchange)
    assert len(result.success) == 1 and result.requests == 2
    assert len(sim.requests_to("server/time")) == 1

    # Refused twice: InvalidNonce after exactly one retry; the CLI treats it as unavailable (5).
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.error(code, msg), times=2)
    with pytest.raises(ccxt.InvalidNonce):
        close_all_positions(exchange)

    sim.inject(CLOSE, Fault.error(code, msg), times=2)
    done = run_cli(["--yes"], cli_env)
    assert done.returncode == 5 and str(code) in done.stderr and "Traceback" not in done.stderr


def test_no_position_to_close_is_flat_through_the_cli(sim, cli_env):
    done = run_cli(["--yes", "--symbol", "BTC/USDT:USDT"], cli_env)
    assert done.returncode == 0 and "FLAT" in done.stdout


@pytest.mark.parametrize("code, msg", [(109201, "only allowed to be submitted once within 1 second"),
                                       (80001, "service has some errors"), (109500, "system busy")])
def test_recoverable_codes_end_flat_through_the_cli(sim, cli_env, code, msg):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.error(code, msg))
    done = run_cli(["--yes"], cli_env)
    assert done.returncode == 0, done.stderr
    assert sim.positions() == []


def test_every_code_bingx_documents_for_the_endpoint_is_in_the_table():
    documented = {80014, 100421, 100419, 100410, 100413, 109400, 80020, 109201, 80018, 80001, 109414}
    successors = {109429, 109403, 109422, 109421, 109500, 101205}
    assert documented | successors <= {rule.code for rule in errors.ERROR_TABLE}
