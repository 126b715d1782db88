"""Bad input never trades and never shows a traceback: property tests over what users and BingX send.

Symbols, recvWindow values, CLI arguments, config files and malformed closeAllPositions answers, drawn by
hypothesis. The CLI runs in-process (``cli.main(argv)``) to keep hundreds of runs fast; the simulator's
request log shows what went out.
"""

from __future__ import annotations

import json
import logging
import os
import random
import string

import ccxt
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from bingx_closeall_plugin import close_all_positions, flatten, parse_symbol
from bingx_closeall_plugin.cli import main
from bingx_closeall_plugin.simulator import Fault

from conftest import API_KEY, API_SECRET

CLOSE = "trade/closeAllPositions"
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def trading(sim) -> list[str]:
    return [f"{r.method} {r.path}" for r in sim.requests if r.method in ("POST", "DELETE")]


def symbol_is_valid(symbol: str) -> bool:
    try:
        parse_symbol(symbol)
    except (ccxt.BadSymbol, ccxt.BadRequest, ValueError):
        return False
    return True


@pytest.fixture
def in_process_cli(sim, monkeypatch, capsys):
    """Run ``main(argv)`` against the simulator; returns (exit code, stdout, stderr). Root logging restored after."""
    monkeypatch.setenv("BINGX_API_KEY", API_KEY)
    monkeypatch.setenv("BINGX_API_SECRET", API_SECRET)
    monkeypatch.setenv("BINGX_BASE_URL", sim.base_url)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def run(argv: list[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse's usage errors
            code = stop.code
        finally:
            root.handlers[:], root.level = handlers, level
        out, err = capsys.readouterr()
        return code, out, err

    return run


# ---- symbols and recvWindow through the Python API ----------------------------------------------
SYMBOLISH = st.one_of(
    st.text(max_size=24),
    st.from_regex(r"[A-Za-z0-9$.]{0,7}[-/_:]?[A-Za-z]{0,6}(:[A-Za-z]{0,6})?(-\d{6})?", fullmatch=True),
    st.sampled_from(["BTC/USDT:USDT", "BTC-USDT", "btc-usdt", "BTC/USDT", "BTC/USD:BTC", "ETH-USD", "NOPE-USDT",
                     "BTC-USDT ",
                     " BTC-USDT", "BTC--USDT", "BTC/USDT:USDC", "1000PEPE-USDT", "BTC-USDT\x00", "ＢＴＣ-USDT"]),
)


@PROPERTY
@given(symbol=SYMBOLISH)
def test_any_symbol_is_refused_before_sending_or_sent_once_as_parsed(sim, exchange, symbol):
    sim.reset()
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    try:
        result = close_all_positions(exchange, symbol)
    except (ccxt.BadSymbol, ccxt.BadRequest) as e:  # refused locally (nothing sent) or unknown to BingX
        assert sim.requests == [] or isinstance(e, ccxt.BadSymbol) and len(sim.requests) == 1, e
    else:
        assert result.symbol == parse_symbol(symbol).native
    assert len(sim.requests) <= 1 and all(r.method == "POST" and r.path.endswith(CLOSE) for r in sim.requests)
    if sim.requests:
        assert sim.requests[0].params["symbol"] == parse_symbol(symbol).native
    if not symbol_is_valid(symbol):
        assert sim.requests == []
    held = sim.positions()
    assert held == [] or [(p["symbol"], float(p["positionAmt"])) for p in held] == [("BTC-USDT", 0.01)]


RECV_WINDOWS = st.one_of(st.integers(-10**9, 10**9), st.integers(0, 70_000), st.floats(allow_nan=True),
                         st.text(max_size=8),
                         st.booleans(), st.none(), st.just(60_000), st.just(1), st.just(60_001), st.just(0))


@PROPERTY
@given(recv_window=RECV_WINDOWS)
def test_recv_window_outside_1_to_60000_is_refused_before_sending(sim, exchange, recv_window):
    sim.reset()
    valid = recv_window is None or (type(recv_window) is int and 1 <= recv_window <= 60_000)
    if valid:
        try:
            close_all_positions(exchange, recv_window=recv_window)
        # a window of a few ms is legal but too narrow for any clock: refused after one resync
        except ccxt.InvalidNonce:
            assert recv_window < 1000
        closes = sim.requests_to(CLOSE)
        # A narrow window may cost one clock resync and one more close; never more.
        assert len(closes) == 1 or recv_window < 1000 and len(closes) == 2 and len(sim.requests_to("server/time")) == 1
        assert {r.params.get("recvWindow") for r in closes} == {None if recv_window is None else str(recv_window)}
    else:
        with pytest.raises(ccxt.BadRequest, match="recv_window"):
            close_all_positions(exchange, recv_window=recv_window)
        assert sim.requests == []


# ---- CLI arguments ------------------------------------------------------------------------------
def bad_symbols() -> st.SearchStrategy[str]:
    return SYMBOLISH.filter(lambda s: not symbol_is_valid(s) and not s.startswith("-"))


BAD_ARGS = st.one_of(
    st.tuples(st.just("--recv-window"), st.one_of(st.integers(max_value=0), st.integers(min_value=60_001)).map(str)),
    st.tuples(st.just("--recv-window"), st.text(alphabet=string.ascii_letters + ".,e ", min_size=1, max_size=6)),
    st.tuples(st.just("--symbol"), bad_symbols()),
    # The empty value has its own test below.
    st.tuples(st.just("--base-url"), st.text(min_size=1, max_size=20).filter(
        lambda u: not u.strip().startswith(("http://", "https://")) and not u.startswith("-"))),
    st.tuples(st.just("--config"), st.sampled_from(["/nonexistent/bot.json", "/", "/proc/self/mem-nope.json"])),
    st.tuples(st.just("--sandbox"), st.just("--base-url"), st.just("http://127.0.0.1:9")),
    st.tuples(st.sampled_from(["--bogus", "--yes=1", "--recv-window", "--symbol", "--config", "-x", "--dry-run=no"])),
)
GOOD_FLAGS = st.lists(st.sampled_from(["--yes", "--json", "--dry-run", "--keep-orders", "--coin-m", "-v", "-y"]),
                      max_size=4)


@PROPERTY
@given(bad=st.lists(BAD_ARGS, min_size=1, max_size=3), good=GOOD_FLAGS, order=st.randoms(use_true_random=False))
def test_bad_cli_arguments_exit_2_with_a_message_and_send_nothing(sim, in_process_cli, bad, good, order):
    sim.reset()
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    groups = [list(group) for group in bad] + [[flag] for flag in good]
    order.shuffle(groups)
    argv = [arg for group in groups for arg in group]
    # A trailing flag that takes a value would swallow the next one; keep the bad value where it was drawn.
    code, out, err = in_process_cli(argv)

    assert code == 2, (argv, out, err)
    assert err.strip() and "Traceback" not in out + err
    assert sim.requests == [] and trading(sim) == []
    assert len(sim.positions()) == 1


def test_an_empty_base_url_is_a_usage_error_not_the_live_exchange(sim, in_process_cli, monkeypatch):
    def no_live_exchange(account, verbose):
        assert account.urls, "bingx-closeall would have sent this to live BingX"
        raise AssertionError("unreachable: the simulator's URL was expected to be refused as well")

    monkeypatch.setattr("bingx_closeall_plugin.cli.run.make_exchange", no_live_exchange)  # never reach the network
    sim.seed_position("BTC-USDT", "LONG", 0.01)

    code, out, err = in_process_cli(["--yes", "--base-url", ""])

    assert code == 2 and "--base-url" in err
    assert sim.requests == []


# ---- config files -------------------------------------------------------------------------------
JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                 st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
BAD_CREDENTIAL = st.one_of(st.just(""), JUNK)  # anything but a non-empty string


@st.composite
def bad_configs(draw) -> object:
    """A freqtrade config that must be refused before anything is sent, as a Python object."""
    exchange: dict = {}
    if draw(st.booleans()):
        exchange["name"] = draw(st.sampled_from(["bingx", "BingX", None]))
    key, secret = draw(st.one_of(st.just("k"), BAD_CREDENTIAL)), draw(st.one_of(st.just("s"), BAD_CREDENTIAL))
    wrong_name = draw(st.sampled_from([None, "binance", "okx", "bybit"]))
    assume(key != "k" or secret != "s" or wrong_name is not None)
    for field_name, value in (("key", key), ("secret", secret)):
        if value is not None or draw(st.booleans()):  # None: sometimes the key is missing altogether
            exchange[field_name] = value
    if wrong_name is not None:
        exchange["name"] = wrong_name
    shape = draw(st.sampled_from(["ok", "exchange-not-dict", "top-level-not-dict", "no-exchange"]))
    if shape == "exchange-not-dict":
        return {"exchange": draw(st.one_of(JUNK.filter(lambda j: not isinstance(j, dict)), st.text(max_size=5)))}
    if shape == "top-level-not-dict":
        return draw(st.one_of(st.lists(st.integers(), max_size=3), st.integers(), st.text(max_size=5), st.none()))
    if shape == "no-exchange":
        return {"dry_run": True, "stake_currency": "USDT"}
    return {"exchange": exchange, "trading_mode": "futures"}


@PROPERTY
@given(config=bad_configs(), dry_run=st.booleans())
def test_bad_config_files_exit_2_with_a_message_and_send_nothing(sim, in_process_cli, tmp_path_factory, config,
                                                                 dry_run):
    sim.reset()
    path = tmp_path_factory.mktemp("cfg") / "config.json"
    path.write_text(json.dumps(config))

    code, out, err = in_process_cli(["--dry-run" if dry_run else "--yes", "--config", str(path)])

    assert code == 2, (config, out, err)
    assert "config" in err and str(path) in err and "Traceback" not in out + err
    assert sim.requests == []


@PROPERTY
@given(content=st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode)))
def test_config_that_is_not_json_or_not_readable_exits_2(sim, in_process_cli, tmp_path_factory, content):
    try:
        assume(not isinstance(json.loads(content.decode("utf-8")), dict))
    except (UnicodeDecodeError, ValueError):
        pass
    sim.reset()
    folder = tmp_path_factory.mktemp("cfg")
    (folder / "config.json").write_bytes(content)

    for path in (folder / "config.json", folder, folder / "missing.json"):  # not JSON, a directory, absent
        code, out, err = in_process_cli(["--yes", "--config", str(path)])
        assert code == 2 and "config" in err and "Traceback" not in out + err, (content, path, err)
    assert sim.requests == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file")
def test_config_without_read_permission_exits_2(sim, in_process_cli, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"exchange": {"key": API_KEY, "secret": API_SECRET}}))
    path.chmod(0)
    code, out, err = in_process_cli(["--yes", "--config", str(path)])
    assert code == 2 and "cannot read config" in err and sim.requests == []


@pytest.mark.parametrize("ccxt_config", ["http://127.0.0.1:9", {"urls": "http://127.0.0.1:9"}, ["urls"]])
def test_config_with_a_wrongly_typed_ccxt_config_exits_2(sim, in_process_cli, tmp_path, ccxt_config):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"exchange": {"name": "bingx", "key": API_KEY, "secret": API_SECRET,
                                             "ccxt_config": ccxt_config}}))

    code, _, err = in_process_cli(["--dry-run", "--config", str(path)])
    assert code == 2 and "ccxt_config" in err and "Traceback" not in err
    assert sim.requests == []


# ---- malformed answers to closeAllPositions ------------------------------------------------------
IDS = st.integers(10**18, 2**63 - 1)
MALFORMED = st.one_of(
    st.text(max_size=30).filter(lambda t: not t.strip().startswith(("{", "["))),  # not JSON (or not an object)
    st.sampled_from(["", "<html><body>OK</body></html>", "[]", "null", "true", "123", '"ok"', "{",
                     '{"code":0,"data":'"{"]),
    st.builds(lambda d: {"code": 0, "msg": "", "data": d}, st.one_of(st.text(max_size=5), st.integers(), st.booleans(),
                                                                  st.lists(IDS, max_size=2))),
    st.builds(lambda s: {"code": 0, "data": {"success": s, "failed": None}},
              st.one_of(st.text(max_size=8), st.integers(), st.floats(), st.booleans(),
                        st.dictionaries(st.text(max_size=2), IDS, max_size=1))),
    st.builds(lambda ids: {"code": 0, "data": {"success": ids, "failed": None}},  # float ids: digits already lost
              st.lists(st.floats(1e17, 9e18), min_size=1, max_size=3)),
    st.builds(lambda ids, junk: {"code": 0, "data": {"success": ids + [junk], "failed": None}},
              st.lists(IDS, max_size=2),
              st.one_of(st.text(max_size=4).filter(lambda t: not t.isdigit()), st.booleans(), st.none(),
                                                   st.lists(IDS, max_size=1), st.integers(max_value=-1).map(str))),
    st.builds(lambda f: {"code": 0, "data": {"success": [], "failed": f}},
              st.one_of(st.text(max_size=4), st.integers(), st.lists(st.floats(0.5, 1e19), min_size=1, max_size=2))),
)


def body_text(body: object) -> str:
    return body if isinstance(body, str) else json.dumps(body)


@PROPERTY
@given(body=MALFORMED, executed=st.booleans())
def test_malformed_close_answer_is_a_bad_response_after_one_request(sim, exchange, body, executed):
    sim.reset()
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.body(body_text(body), executed=executed))

    with pytest.raises(ccxt.BadResponse):
        close_all_positions(exchange)

    assert len(sim.requests) == 1 and trading(sim) == ["POST /openApi/swap/v2/trade/closeAllPositions"]
    assert (sim.positions() == []) == executed and sim.reversals() == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=MALFORMED, executed=st.booleans())
def test_malformed_close_answer_through_the_cli_exits_5_with_a_message(sim, in_process_cli, body, executed):
    sim.reset()
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_order("BTC-USDT", side="SELL", type="TAKE_PROFIT_MARKET", quantity=0.01, stop_price=90000.0)
    sim.inject(CLOSE, Fault.body(body_text(body), executed=executed))

    code, out, err = in_process_cli(["--yes", "--json"])

    document = json.loads(out)
    assert code == 5 and document["exit_code"] == 5 and "BadResponse" in document["error"], (body, out, err)
    assert "Traceback" not in out + err and "BadResponse" in err
    # One close; no second close after an answer nobody can read. The take-profit is reduce-only: with the
    # close's outcome unread it stays (protective orders go only once the flatten saw their position flat).
    assert trading(sim) == ["POST /openApi/swap/v2/trade/closeAllPositions"]
    assert len(sim.open_orders()) == 1 and sim.reversals() == []


@pytest.mark.parametrize("body", [{"code": 0, "msg": ""}, {"code": 0, "data": None},
                                  {"code": 0, "data": {"success": None, "failed": None}}],
                         ids=["no-data", "data-null", "success-null"])
@pytest.mark.parametrize("executed", [True, False], ids=["executed", "not-executed"])
def test_an_answer_that_lists_nothing_is_checked_against_positions_by_flatten(sim, exchange, body, executed):
    """Deliberately lenient: a code-0 answer without orders reads as "nothing closed" (BingX sends ``failed: null``);
    close_all_positions returns an empty result after one request, and flatten's position read decides."""
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.body(json.dumps(body), executed=executed))
    result = close_all_positions(exchange)
    assert result.success == [] and result.failed == [] and len(sim.requests) == 1

    sim.reset()
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.inject(CLOSE, Fault.body(json.dumps(body), executed=executed))
    report = flatten(exchange)
    assert report.flat and sim.positions() == [] and sim.reversals() == []
    assert len(sim.requests_to(CLOSE)) == (1 if executed else 2)  # re-closed only what the position read found


def test_random_argv_drawn_with_a_fixed_seed_never_trades(sim, in_process_cli):
    """Plain random (no shrinking) over the real flags, one bad value each: a cheap second opinion on the property
    above."""
    rng = random.Random(6)
    flags = ["--yes", "--json", "--dry-run", "--keep-orders", "--coin-m", "-v"]
    bad = [["--recv-window", "0"], ["--recv-window", "60001"], ["--recv-window", "1e3"], ["--symbol", "btc-usdt"],
           ["--symbol", "BTC/USDT"], ["--base-url", "127.0.0.1:8765"], ["--config", "/nonexistent.json"], ["--nope"]]
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    for _ in range(30):
        argv = rng.sample(flags, rng.randint(0, len(flags))) + rng.choice(bad)
        code, out, err = in_process_cli(argv)
        assert code == 2 and "Traceback" not in out + err, argv
    assert sim.requests == []
