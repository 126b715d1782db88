"""Symbols are normalised without markets, and anything malformed is refused with a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bingx_closeall_plugin import InvalidSymbol, parse_symbol, to_native, to_unified


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
