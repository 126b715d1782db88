"""Unified <-> native BingX perpetual symbols, validated without loading markets.

The close request must be the first request on the wire, so nothing here may need ``load_markets()``:
the mapping is purely syntactic. BingX's futures symbols are ``BASE-QUOTE`` in capitals
(``BTC-USDT`` USDT-M, ``BTC-USD`` coin-M); ccxt's unified form is ``BASE/QUOTE:SETTLE``.
Whether a well-formed symbol is actually listed is BingX's answer to give (109400 "symbol not exist").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from .errors import InvalidSymbol

logger = logging.getLogger(__name__)

__all__ = ["NativeSymbol", "parse_symbol", "to_native", "to_unified"]

# BingX lists bases such as 1000PEPE and 1MBABYDOGE: capitals and digits, starting with either.
_CODE = r"[A-Z0-9]{1,20}"
_NATIVE = re.compile(rf"^({_CODE})-({_CODE})$")
_UNIFIED = re.compile(rf"^({_CODE})/({_CODE}):({_CODE})$")
# USDT-M and USDC-M settle in the quote; coin-M contracts are quoted in USD and settle in the base.
_LINEAR_QUOTES = ("USDT", "USDC")
_INVERSE_QUOTE = "USD"


@dataclass(frozen=True)
class NativeSymbol:
    """A validated BingX perpetual symbol."""

    native: str  #: ``BTC-USDT``
    base: str
    quote: str
    inverse: bool  #: coin-M (``cswap``) rather than USDT-M (``swap``)

    @property
    def unified(self) -> str:
        settle = self.base if self.inverse else self.quote
        return f"{self.base}/{self.quote}:{settle}"


def parse_symbol(symbol: str) -> NativeSymbol:
    """Validate ``symbol`` (unified ``BTC/USDT:USDT`` or native ``BTC-USDT``) and describe it.

    Raises :class:`InvalidSymbol` (a ``ccxt.BadSymbol`` and ``ValueError``) saying what is wrong.
    """
    if not isinstance(symbol, str):
        raise InvalidSymbol(f"symbol must be a string such as 'BTC/USDT:USDT' or 'BTC-USDT', got {type(symbol).__name__}")
    text = symbol.strip()
    if not text:
        raise InvalidSymbol("symbol is empty: give one such as 'BTC/USDT:USDT' or 'BTC-USDT', or leave it out to close all")
    if text != symbol:
        raise InvalidSymbol(f"symbol {symbol!r} has surrounding white space")
    if text != text.upper():
        # BingX's docs: "please use capital letters"; a lower-case symbol is refused rather than guessed.
        raise InvalidSymbol(f"symbol {symbol!r} must be in capital letters (BingX refuses lower case): did you mean {text.upper()!r}?")
    unified = _UNIFIED.match(text)
    if unified:
        base, quote, settle = unified.groups()
        return _describe(symbol, base, quote, settle)
    native = _NATIVE.match(text)
    if native:
        base, quote = native.groups()
        settle = base if quote == _INVERSE_QUOTE else quote
        return _describe(symbol, base, quote, settle)
    if re.match(rf"^{_CODE}/{_CODE}$", text):
        raise InvalidSymbol(
            f"symbol {symbol!r} is a spot symbol; closeAllPositions closes perpetual futures: "
            f"use {text + ':' + text.split('/')[1]!r} (USDT-M) or the native form {text.replace('/', '-')!r}"
        )
    raise InvalidSymbol(
        f"symbol {symbol!r} is malformed: expected unified 'BASE/QUOTE:SETTLE' (e.g. 'BTC/USDT:USDT') "
        f"or native 'BASE-QUOTE' (e.g. 'BTC-USDT')"
    )


def _describe(original: str, base: str, quote: str, settle: str) -> NativeSymbol:
    if quote in _LINEAR_QUOTES:
        if settle != quote:
            raise InvalidSymbol(f"symbol {original!r}: a {quote}-quoted perpetual settles in {quote}, not {settle}")
        return NativeSymbol(f"{base}-{quote}", base, quote, inverse=False)
    if quote == _INVERSE_QUOTE:
        if settle != base:
            raise InvalidSymbol(f"symbol {original!r}: a coin-M perpetual settles in its base {base}, not {settle}")
        return NativeSymbol(f"{base}-{quote}", base, quote, inverse=True)
    raise InvalidSymbol(
        f"symbol {original!r}: BingX perpetuals are quoted in USDT, USDC (USDT-M) or USD (coin-M), not {quote}"
    )


def to_native(symbol: str) -> str:
    """``BTC/USDT:USDT`` or ``BTC-USDT`` -> ``BTC-USDT``."""
    return parse_symbol(symbol).native


def to_unified(symbol: str) -> str:
    """``BTC-USDT`` or ``BTC/USDT:USDT`` -> ``BTC/USDT:USDT``."""
    return parse_symbol(symbol).unified
