"""No output and no log record carries the API key, the secret or a request signature.

Every CLI path (close, --json, --dry-run, refusals, lost and failed answers, -v with ccxt's HTTP trace) runs
as a child process; the Python API runs in-process with logging at DEBUG and ccxt ``verbose=True``, with
the plugin's :class:`SecretMasker` on the handler as its docs ask. Everything captured is scanned for the
key, the secret, any 64-hex string after ``signature``, and the real HMAC of every request the simulator
received (rebuilt from its request log, and checked against the signature ccxt actually sent).
"""

from __future__ import annotations

import json
import logging
import socket
from urllib.parse import parse_qs, urlsplit

import ccxt
import pytest

from bingx_closeall_plugin import BingX, close_all_positions, flatten
from bingx_closeall_plugin.core.redaction import SecretMasker
from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import Fault

from conftest import API_KEY, API_SECRET, make_client, run_cli
from secret_scan import leaks, signatures_of

CLOSE = "trade/closeAllPositions"


def seed(sim) -> None:
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "SHORT", 0.2)
    sim.seed_order("BTC-USDT", side="SELL", type="TAKE_PROFIT_MARKET", quantity=0.01, stop_price=90000.0)


def refused_port() -> socket.socket:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder


# ---- the CLI ------------------------------------------------------------------------------------
CLI_PATHS = {
    # name: (argv, faults to arm as (path suffix, Fault, times))
    "close": (["--yes"], []),
    "close-json": (["--yes", "--json"], []),
    "dry-run": (["--dry-run"], []),
    "dry-run-json": (["--dry-run", "--json"], []),
    "symbol": (["--yes", "--symbol", "BTC/USDT:USDT", "--recv-window", "5000"], []),
    "declined-without-terminal": ([], []),
    "auth-refused": (["--yes"], [(CLOSE, Fault.error(100413, "Incorrect apiKey"), 1)]),
    "signature-refused": (["--yes", "--json"], [(CLOSE, Fault.error(100001, "Signature verification failed"), 1)]),
    "rate-limited": (["--yes"], [(CLOSE, Fault.error(100410, "will be unblocked after 1727193814249"), 1)]),
    "lost-reply": (["--yes"], [(CLOSE, Fault.lost_reply(executed=False), 1)]),
    "html-5xx": (["--yes", "--json"], [(CLOSE, Fault.http_error(502, executed=True), 1)]),
    "failed-then-rate-limited": (["--yes", "--json"], [(CLOSE, Fault.failed("ETH-USDT"), 1),
                                                       (CLOSE, Fault.error(100410, "rate limited"), 1)]),
    "timestamp-refused-twice": (["--yes"], [(CLOSE, Fault.error(100421, "timestamp mismatch"), 2)]),
    "positions-read-fails": (["--dry-run"], [("user/positions", Fault.error(80001, "service has some errors"), 1)]),
}


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
@pytest.mark.parametrize("name", sorted(CLI_PATHS))
def test_cli_output_carries_no_secret(sim, cli_env, name, verbose):
    argv, faults = CLI_PATHS[name]
    seed(sim)
    for suffix, fault, times in faults:
        sim.inject(suffix, fault, times=times)

    done = run_cli(argv + (["-v"] if verbose else []), cli_env)

    assert "Traceback" not in done.stdout + done.stderr
    assert leaks(done.stdout + done.stderr, signatures_of(sim.requests)) == [], done.stdout + done.stderr
    if verbose and sim.requests:  # the trace was there, masked: the scan had something to find
        assert "signature=***" in done.stderr or "signature': '***" in done.stderr or "***" in done.stderr


@pytest.mark.parametrize("case", ["connection-refused", "cancel-5xx"])
def test_cli_network_error_text_carries_no_signature(sim, cli_env, case):
    seed(sim)
    holder = refused_port()
    try:
        if case == "connection-refused":
            env = {**cli_env, "BINGX_BASE_URL": f"http://127.0.0.1:{holder.getsockname()[1]}"}
            done = run_cli(["--yes", "--json"], env)
        else:
            sim.inject("trade/allOpenOrders", Fault.http_error(502), times=2)  # the cancel and its one retry
            done = run_cli(["--yes"], cli_env)
    finally:
        holder.close()
    assert leaks(done.stdout + done.stderr, signatures_of(sim.requests)) == []


# ---- the Python API -----------------------------------------------------------------------------
@pytest.fixture
def debug_log(caplog):
    """All loggers at DEBUG into caplog, through the masker the plugin's docs ask users to attach."""
    masker = SecretMasker(API_KEY, API_SECRET)
    caplog.handler.addFilter(masker)
    caplog.set_level(logging.DEBUG)
    yield caplog
    caplog.handler.removeFilter(masker)


def captured(debug_log, capsys) -> str:
    out, err = capsys.readouterr()
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in debug_log.records)
    return "\n".join((out, err, debug_log.text, records))


API_PATHS = {
    "close": [],
    "lost-reply": [(CLOSE, Fault.lost_reply(executed=False), 1)],
    "slow-reply": [(CLOSE, Fault.delay(0.6), 1)],
    "html-5xx": [(CLOSE, Fault.http_error(502, executed=True), 1)],
    "failed-entry": [(CLOSE, Fault.failed("ETH-USDT"), 1)],
    "auth-refused": [(CLOSE, Fault.error(100413, "Incorrect apiKey"), 1)],
    "rate-limited-re-close": [(CLOSE, Fault.failed("ETH-USDT"), 1), (CLOSE, Fault.error(100410, "rate limited"), 1)],
    "cancel-5xx": [("trade/allOpenOrders", Fault.http_error(502), 2)],
}


@pytest.mark.parametrize("name", sorted(API_PATHS))
@pytest.mark.parametrize("call", ["close_all_positions", "flatten"])
def test_api_debug_log_and_verbose_trace_carry_no_secret(sim, debug_log, capsys, name, call):
    seed(sim)
    for suffix, fault, times in API_PATHS[name]:
        sim.inject(suffix, fault, times=times)
    exchange = make_client(BingX, sim, timeout=300)
    exchange.verbose = True

    try:
        (close_all_positions if call == "close_all_positions" else flatten)(exchange)
    except Exception as e:
        logging.getLogger("app").exception("close failed: %s", e)

    text = captured(debug_log, capsys)
    sent = parse_qs(urlsplit(exchange.last_request_url).query)["signature"][0]
    assert sent in signatures_of(sim.requests)  # the rebuilt HMACs are the real ones
    assert "signature=***" in text  # ccxt's trace and request log were there, masked
    assert leaks(text, signatures_of(sim.requests)) == []
    assert sent not in text


def test_api_connection_refused_log_carries_no_signature(sim, debug_log, capsys):
    holder = refused_port()
    try:
        exchange = make_client(BingX, sim)
        exchange.urls["api"] = api_urls(f"http://127.0.0.1:{holder.getsockname()[1]}")
        exchange.verbose = True
        try:
            flatten(exchange)
        except Exception as e:
            logging.getLogger("app").exception("close failed: %s", e)
    finally:
        holder.close()
    text = captured(debug_log, capsys)
    assert "signature=***" in text and leaks(text, signatures_of(sim.requests)) == []


# ---- the exceptions raised to callers ------------------------------------------------------------
def chain_text(error: BaseException) -> str:
    """Everything a caller can print of an exception: str(), repr() and the traceback with its whole chain."""
    import traceback

    return "\n".join((str(error), repr(error), "".join(traceback.format_exception(error))))


@pytest.mark.parametrize("cls", ["ccxt.bingx", "BingX"])
@pytest.mark.parametrize("call", ["close_all_positions", "flatten"])
def test_api_exception_text_carries_no_signature(sim, cls, call):
    """ccxt's network errors carry the signed URL; the close path raises them masked, class and chain kept."""
    import ccxt

    seed(sim)
    holder = refused_port()
    try:
        exchange = make_client(ccxt.bingx if cls == "ccxt.bingx" else BingX, sim)
        exchange.urls["api"] = api_urls(f"http://127.0.0.1:{holder.getsockname()[1]}")
        with pytest.raises(ccxt.NetworkError) as raised:
            (close_all_positions if call == "close_all_positions" else flatten)(exchange)
    finally:
        holder.close()
    error = raised.value
    assert "signature=***" in str(error)  # the URL is still there to read, without its signature
    assert error.__cause__ is not None or error.__context__ is not None  # the chain is kept
    assert leaks(chain_text(error), signatures_of(sim.requests)) == [], chain_text(error)
    sent = parse_qs(urlsplit(exchange.last_request_url).query)["signature"][0]
    assert sent not in chain_text(error)


@pytest.mark.parametrize("fault", ["html-502", "lost-reply"])
def test_plugin_client_errors_carry_no_signature(sim, fault):
    """Every request of the plugin's ccxt class raises masked text, not only the close path's."""
    import ccxt

    sim.inject("user/positions", Fault.http_error(502) if fault == "html-502" else Fault.lost_reply(executed=False))
    exchange = make_client(BingX, sim, timeout=300)
    with pytest.raises(ccxt.NetworkError) as raised:
        exchange.swapV2PrivateGetUserPositions({})
    assert "signature=***" in str(raised.value)
    assert leaks(chain_text(raised.value), signatures_of(sim.requests)) == [], chain_text(raised.value)


def test_translated_errors_keep_class_code_and_chain(sim):
    """A refusal ccxt raised and the plugin's table re-maps keeps its class, code and chain, masked."""
    import ccxt

    from bingx_closeall_plugin.core.errors import RateLimited, translate

    original = ccxt.ExchangeError('bingx {"code":100410,"msg":"unblocked after 1727193814249"} GET '
                                  "http://h/openApi/swap/v2/user/positions?timestamp=1&signature=" + "ab" * 32)
    ours = translate(original)
    assert isinstance(ours, RateLimited) and ours.retry_after == 1727193814249 and ours.__cause__ is original
    assert "ab" * 32 not in chain_text(ours) and "signature=***" in str(original)


def test_an_error_the_close_path_raises_itself_is_masked_too(sim, exchange):
    # A malformed answer is refused by the plan itself (quoting BingX's body), not by ccxt: masked all the same.
    leaked = f"signature={'ab' * 32}"
    sim.inject("trade/closeAllPositions", Fault.body(json.dumps({"code": 0, "msg": "", "data": leaked})))
    with pytest.raises(ccxt.BadResponse) as caught:
        close_all_positions(exchange)
    assert "ab" * 32 not in str(caught.value) and "signature=***" in str(caught.value)


def test_a_cli_error_that_quotes_a_setting_never_prints_the_secret(sim, cli_env):
    # Every line the CLI prints passes through the one masking function, even an error that quotes a value.
    env = {**cli_env, "BINGX_BASE_URL": f"ftp://{API_SECRET}"}
    done = run_cli(["--yes"], env)
    assert done.returncode == 2 and "must start with http" in done.stderr, done.stderr
    assert API_SECRET not in done.stdout + done.stderr and "***" in done.stderr
