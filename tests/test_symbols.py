"""Symbols are normalised without markets, as ccxt names them, and anything malformed is refused with a reason."""

from __future__ import annotations

import asyncio
import json

import ccxt
import pytest
from hypothesis import assume, given, strategies as st

from bingx_closeall_plugin import (
    AsyncBingX,
    InvalidSymbol,
    close_all_positions,
    close_all_positions_async,
    flatten,
    flatten_async,
    parse_symbol,
    to_native,
    to_unified,
)
from bingx_closeall_plugin.core.closeall import check_arguments
from bingx_closeall_plugin.core.flatten import read_account

from conftest import API_KEY, API_SECRET, make_client, run_cli


@pytest.mark.parametrize("given_symbol, native, unified, inverse", [
    ("BTC/USDT:USDT", "BTC-USDT", "BTC/USDT:USDT", False),
    ("BTC-USDT", "BTC-USDT", "BTC/USDT:USDT", False),
    ("1000PEPE-USDT", "1000PEPE-USDT", "1000PEPE/USDT:USDT", False),
    ("ETH/USDC:USDC", "ETH-USDC", "ETH/USDC:USDC", False),
    ("BTC/USD:BTC", "BTC-USD", "BTC/USD:BTC", True),
    ("ETH-USD", "ETH-USD", "ETH/USD:ETH", True),
])
def test_unified_and_native_forms_round_trip(given_symbol, native, unified, inverse):
    parsed = parse_symbol(given_symbol)
    assert (parsed.native, parsed.unified, parsed.inverse) == (native, unified, inverse)
    assert to_native(unified) == native and to_unified(native) == unified


codes = st.from_regex(r"\A[A-Z0-9]{1,10}\Z")


@given(base=codes, quote=st.sampled_from(["USDT", "USDC"]))
def test_every_well_formed_linear_symbol_round_trips(base, quote):
    # ccxt's generic rows name two BingX codes alike (XBT and BTC are both ccxt's BTC): tested apart below.
    assume(base not in ccxt.Exchange.commonCurrencies)
    assert to_native(to_unified(f"{base}-{quote}")) == f"{base}-{quote}"


@given(st.text(max_size=30))
def test_any_text_is_either_a_valid_symbol_or_a_clear_refusal(text):
    try:
        parsed = parse_symbol(text)
    except InvalidSymbol as e:
        assert str(e) and "symbol" in str(e)
    else:
        assert parsed.native == parsed.native.upper() and "-" in parsed.native


@given(st.from_regex(r"\A[a-z]{2,6}-usdt\Z"))
def test_lower_case_is_refused_with_the_capitalised_suggestion(text):
    with pytest.raises(InvalidSymbol, match="capital letters") as caught:
        parse_symbol(text)
    assert text.upper() in str(caught.value)


@pytest.mark.parametrize("value", [None, 42, b"BTC-USDT"])
def test_non_strings_are_refused(value):
    with pytest.raises(InvalidSymbol, match="string"):
        parse_symbol(value)


# ---- ccxt's names: the exchange's commonCurrencies, both ways ---------------------------------------
# (BingX's symbol, ccxt's symbol) for every row ccxt's bingx renames, as the issue names them.
RENAMED = [
    ("TRUMPSOL-USDT", "TRUMP/USDT:USDT"),
    ("TRUMP-USDT", "TRUMPMAGA/USDT:USDT"),
    ("OMNI-USDT", "OmniCat/USDT:USDT"),
    ("SNOW-USDT", "Snowman/USDT:USDT"),
    ("NAP-USDT", "$NAP/USDT:USDT"),
]
# ccxt's generic rows (every exchange gets them): BingX's own BTC and BSV keep their names.
GENERIC = [("XBT-USDT", "BTC/USDT:USDT", "BTC-USDT"), ("BCHSV-USDT", "BSV/USDT:USDT", "BSV-USDT")]


@pytest.mark.parametrize("native, unified", RENAMED)
def test_renamed_coins_map_both_ways(native, unified):
    assert to_native(unified) == native and to_unified(native) == unified
    assert to_native(native) == native and to_unified(unified) == unified  # each form maps to itself
    parsed = parse_symbol(unified)
    assert (parsed.native, parsed.unified, parsed.inverse) == (native, unified, False)
    assert parsed.display == f"{native} ({unified})"


@pytest.mark.parametrize("native, unified, native_of_unified", GENERIC)
def test_generic_rows_rename_bingx_codes_but_never_shadow_bingxs_own_coin(native, unified, native_of_unified):
    assert to_unified(native) == unified
    assert to_native(unified) == native_of_unified and to_unified(native_of_unified) == unified


def test_every_row_of_the_installed_ccxt_table_maps_both_ways():
    table = ccxt.bingx().commonCurrencies
    assert {"TRUMPSOL", "TRUMP", "OMNI", "SNOW", "NAP"} <= table.keys()  # the rows this package is tested for
    for code, name in table.items():
        assert to_unified(f"{code}-USDT") == f"{name}/USDT:USDT", code
        assert to_unified(f"{code}-USD") == f"{name}/USD:{name}", code  # coin-M settles in the (renamed) base
        expected = f"{name}-USDT" if code in ccxt.Exchange.commonCurrencies else f"{code}-USDT"
        assert to_native(f"{name}/USDT:USDT") == expected, code


def test_the_exchange_objects_own_table_is_used():
    custom = ccxt.bingx({"commonCurrencies": {"FOO": "BAR", "TRUMPSOL": "OFFICIALTRUMP"}})
    assert to_native("BAR/USDT:USDT", custom) == "FOO-USDT" and to_native("BAR/USDT:USDT") == "BAR-USDT"
    assert to_unified("TRUMPSOL-USDT", custom) == "OFFICIALTRUMP/USDT:USDT"
    assert check_arguments("BAR/USDT:USDT", None, False, custom) == ("FOO-USDT", False)
    plain = ccxt.bingx({"substituteCommonCurrencyCodes": False})  # told not to rename: nothing is
    assert to_native("TRUMP/USDT:USDT", plain) == "TRUMP-USDT" and to_unified("OMNI-USDT", plain) == "OMNI/USDT:USDT"
    with pytest.raises(InvalidSymbol, match="capital letters"):
        to_native("OmniCat/USDT:USDT", plain)


def test_something_that_is_not_a_ccxt_exchange_is_refused_loudly():
    with pytest.raises(TypeError, match="commonCurrencies"):
        to_native("BTC/USDT:USDT", object())


@pytest.mark.parametrize("text, message", [
    ("TRUMPSOL/USDT:USDT", "use 'TRUMP/USDT:USDT', or the native 'TRUMPSOL-USDT'"),
    ("OMNI/USDT:USDT", "use 'OmniCat/USDT:USDT'"),
    ("XBT/USDT:USDT", "use 'BTC/USDT:USDT'"),
    ("omnicat/usdt:usdt", "capital letters (BingX refuses lower case): did you mean 'OmniCat/USDT:USDT'"),
    ("Omnicat/USDT:USDT", "did you mean 'OmniCat/USDT:USDT'"),
    ("Btc/USDT:USDT", "did you mean 'BTC/USDT:USDT'"),
    ("OmniCat-USDT", "ccxt's name for BingX's OMNI; a native symbol uses BingX's code: 'OMNI-USDT'"),
    ("$NAP-USDT", "'NAP-USDT'"),
    ("trump-usdt", "did you mean 'TRUMP-USDT'"),
    ("OmniCat/USDT", "spot symbol; closeAllPositions closes perpetual futures: "
                     "use 'OmniCat/USDT:USDT' (USDT-M) or the native form 'OMNI-USDT'"),
])
def test_names_ccxt_does_not_use_are_refused_with_the_one_it_does(text, message):
    with pytest.raises(InvalidSymbol) as caught:
        parse_symbol(text)
    assert message in str(caught.value)


def test_the_mapping_agrees_with_ccxts_own_markets_loaded_from_the_simulator(sim, exchange):
    assert to_native("TRUMP/USDT:USDT", exchange) == "TRUMPSOL-USDT"
    assert exchange.markets is None and sim.requests == []  # the mapping needed no markets and sent nothing

    exchange.load_markets()

    swaps = [m for m in exchange.markets.values() if m["swap"]]
    assert {"TRUMP/USDT:USDT", "TRUMPMAGA/USDT:USDT", "OmniCat/USDT:USDT", "Snowman/USDT:USDT", "$NAP/USDT:USDT"} <= {
        m["symbol"] for m in swaps}
    for market in swaps:
        assert to_native(market["symbol"], exchange) == market["id"], market["symbol"]
        assert to_unified(market["id"], exchange) == market["symbol"], market["id"]


# ---- over HTTP: the right contract is closed ---------------------------------------------------------
def seed_both_trumps(sim):
    sim.seed_position("TRUMPSOL-USDT", "LONG", 10)  # ccxt's TRUMP/USDT:USDT
    sim.seed_position("TRUMP-USDT", "SHORT", 100)  # someone else's: ccxt's TRUMPMAGA/USDT:USDT


def held(sim) -> dict[str, float]:
    return {p["symbol"]: float(p["positionAmt"]) for p in sim.positions()}


def test_close_all_positions_closes_ccxts_trump_and_leaves_bingxs_trump(sim, exchange):
    seed_both_trumps(sim)

    result = close_all_positions(exchange, "TRUMP/USDT:USDT")

    sent = [(r.path.rsplit("/", 1)[-1], r.params["symbol"]) for r in sim.requests]
    assert sent == [("closeAllPositions", "TRUMPSOL-USDT")]
    assert held(sim) == {"TRUMP-USDT": -100.0}
    assert result.symbol == "TRUMPSOL-USDT" and result.unified_symbol == "TRUMP/USDT:USDT" and len(result.success) == 1
    assert result.to_dict()["symbol"] == "TRUMPSOL-USDT" and result.to_dict()["unified_symbol"] == "TRUMP/USDT:USDT"
    assert exchange.markets is None  # still no markets load in front of the close


def test_every_public_entry_uses_the_exchanges_names(sim, exchange):
    seed_both_trumps(sim)
    assert exchange.close_position("TRUMP/USDT:USDT").symbol == "TRUMPSOL-USDT"
    assert held(sim) == {"TRUMP-USDT": -100.0}

    seed_both_trumps(sim)
    positions, _orders = read_account(exchange, "TRUMPMAGA/USDT:USDT")
    assert [p["symbol"] for p in positions] == ["TRUMP-USDT"]
    assert exchange.close_all_positions({"symbol": "TRUMPMAGA/USDT:USDT"}).unified_symbol == "TRUMPMAGA/USDT:USDT"
    assert held(sim) == {"TRUMPSOL-USDT": 10.0}

    async def close_async():
        client = make_client(AsyncBingX, sim)
        try:
            return (await close_all_positions_async(client, "TRUMP/USDT:USDT"),
                    await flatten_async(client, "OmniCat/USDT:USDT"))
        finally:
            await client.close()

    sim.seed_position("OMNI-USDT", "LONG", 100000)
    result, report = asyncio.run(close_async())
    assert result.symbol == "TRUMPSOL-USDT" and report.symbol == "OMNI-USDT" and report.flat
    assert sim.positions() == []


def test_flatten_reports_both_names(sim, exchange):
    seed_both_trumps(sim)
    sim.seed_order("TRUMP-USDT", side="BUY", type="TAKE_PROFIT_MARKET", quantity=100, stop_price=0.5)

    report = flatten(exchange, "TRUMP/USDT:USDT")

    document = report.to_dict()
    assert document["symbol"] == "TRUMPSOL-USDT" and document["unified_symbol"] == "TRUMP/USDT:USDT"
    names = [(o["symbol"], o["unified_symbol"]) for o in document["closed_orders"]]
    assert names == [("TRUMPSOL-USDT", "TRUMP/USDT:USDT")]
    assert held(sim) == {"TRUMP-USDT": -100.0} and len(sim.open_orders()) == 1  # the other contract's order too


def test_ccxts_mixed_case_names_are_accepted(sim, exchange):
    sim.seed_position("OMNI-USDT", "LONG", 100000)
    sim.seed_position("NAP-USDT", "SHORT", 1000)

    close_all_positions(exchange, "OmniCat/USDT:USDT")
    close_all_positions(exchange, "$NAP/USDT:USDT")

    assert [r.params["symbol"] for r in sim.requests] == ["OMNI-USDT", "NAP-USDT"] and sim.positions() == []


@pytest.mark.parametrize("text", ["trump/usdt:usdt", "Trump/USDT:USDT", "TRUMPSOL/USDT:USDT", "OmniCat-USDT"])
def test_names_that_are_not_ccxts_send_nothing(sim, exchange, text):
    seed_both_trumps(sim)
    with pytest.raises(InvalidSymbol):
        close_all_positions(exchange, text)
    with pytest.raises(InvalidSymbol):
        flatten(exchange, text)
    assert sim.requests == [] and len(sim.positions()) == 2


def test_cli_symbol_closes_ccxts_trump_and_shows_both_names(sim, cli_env):
    seed_both_trumps(sim)

    done = run_cli(["--yes", "--symbol", "TRUMP/USDT:USDT"], cli_env)

    assert done.returncode == 0, done.stderr
    assert held(sim) == {"TRUMP-USDT": -100.0}
    assert [r.params["symbol"] for r in sim.requests_to("closeAllPositions")] == ["TRUMPSOL-USDT"]
    assert "TRUMPSOL-USDT (TRUMP/USDT:USDT)" in done.stdout and "FLAT" in done.stdout
    assert "closeAllPositions for TRUMPSOL-USDT (TRUMP/USDT:USDT)" in done.stderr


def test_cli_json_and_dry_run_carry_ccxts_name(sim, cli_env):
    seed_both_trumps(sim)

    dry = run_cli(["--dry-run", "--symbol", "TRUMPMAGA/USDT:USDT"], cli_env)
    assert dry.returncode == 0 and "TRUMP-USDT (TRUMPMAGA/USDT:USDT)" in dry.stdout and "TRUMPSOL" not in dry.stdout
    listed = run_cli(["--dry-run", "--json"], cli_env)
    assert sorted((p["symbol"], p["unified_symbol"]) for p in json.loads(listed.stdout)["positions"]) == [
        ("TRUMP-USDT", "TRUMPMAGA/USDT:USDT"), ("TRUMPSOL-USDT", "TRUMP/USDT:USDT")]

    done = run_cli(["--yes", "--json", "--symbol", "TRUMP/USDT:USDT"], cli_env)

    document = json.loads(done.stdout)
    assert done.returncode == 0
    assert (document["symbol"], document["unified_symbol"]) == ("TRUMPSOL-USDT", "TRUMP/USDT:USDT")
    assert [o["unified_symbol"] for o in document["closed_orders"]] == ["TRUMP/USDT:USDT"]
    assert held(sim) == {"TRUMP-USDT": -100.0}


def test_cli_uses_the_names_a_bot_config_adds(sim, cli_env, tmp_path):
    """A bot whose ccxt_config adds names: --config reads --symbol as that bot does."""
    sim.seed_position("SNOW-USDT", "LONG", 1000)
    sim.seed_position("SOL-USDT", "LONG", 1)
    path = tmp_path / "bot.json"
    path.write_text(json.dumps({"exchange": {"name": "bingx", "key": API_KEY, "secret": API_SECRET,
                                             "ccxt_config": {"commonCurrencies": {"SNOW": "SNOWMAN"}}}}))

    done = run_cli(["--yes", "--json", "--symbol", "SNOWMAN/USDT:USDT", "--config", str(path)], cli_env)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["unified_symbol"] == "SNOWMAN/USDT:USDT" and held(sim) == {"SOL-USDT": 1.0}


def test_cli_refuses_a_lower_case_ccxt_name_and_sends_nothing(sim, cli_env):
    seed_both_trumps(sim)
    done = run_cli(["--yes", "--symbol", "omnicat/usdt:usdt"], cli_env)
    assert done.returncode == 2 and "did you mean 'OmniCat/USDT:USDT'" in done.stderr and "Traceback" not in done.stderr
    assert sim.requests == []
