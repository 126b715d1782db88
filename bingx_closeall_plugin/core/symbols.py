"""Unified <-> native BingX perpetual symbols, as ccxt means them, without loading markets.

BingX's futures symbols are ``BASE-QUOTE`` in capitals (``BTC-USDT`` USDT-M, ``BTC-USD`` coin-M); ccxt's
unified form is ``BASE/QUOTE:SETTLE``. ccxt renames some of BingX's coins through the exchange object's
``commonCurrencies`` (an instance attribute: BingX's TRUMPSOL is ccxt's ``TRUMP``, BingX's TRUMP is ccxt's
``TRUMPMAGA``, OMNI is ``OmniCat``, ...), so ``TRUMP/USDT:USDT`` is BingX's ``TRUMPSOL-USDT``, not
``TRUMP-USDT``. Every part of a symbol goes through that table, in both directions. The table is on the
instance, so the close request stays the first request on the wire: nothing here needs ``load_markets()``.
Whether a well-formed symbol is actually listed is BingX's answer to give (109400 "symbol not exist").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ccxt

from .errors import InvalidSymbol

__all__ = ["CurrencyMap", "NativeSymbol", "both_names", "currency_map", "display_name", "parse_symbol", "to_native",
           "to_unified", "unified_name"]

# BingX lists bases such as 1000PEPE and 1MBABYDOGE: capitals and digits, starting with either.
_CODE = re.compile(r"[A-Z0-9]{1,20}")
# The shape of a symbol, before its parts are checked (so a part's own problem can be named).
_PART = r"[^/:\-\s]+"
_NATIVE = re.compile(rf"^({_PART})-({_PART})$")
_UNIFIED = re.compile(rf"^({_PART})/({_PART}):({_PART})$")
_SPOT = re.compile(rf"^({_PART})/({_PART})$")
# USDT-M and USDC-M settle in the quote; coin-M contracts are quoted in USD and settle in the base.
_LINEAR_QUOTES = ("USDT", "USDC")
_INVERSE_QUOTE = "USD"


@dataclass(frozen=True)
class CurrencyMap:
    """An exchange's ``commonCurrencies`` (native code -> ccxt code), usable both ways."""

    table: tuple[tuple[str, str], ...]  #: the rows, sorted: hashable, so the maps below are cached per table
    generic: frozenset[str] = frozenset()  #: native codes of rows ccxt applies to every exchange (XBT -> BTC)

    @functools.cached_property
    def _forward(self) -> dict[str, str]:
        return dict(self.table)

    @functools.cached_property
    def _backward(self) -> dict[str, list[str]]:
        backward: dict[str, list[str]] = {}
        for native, common in self.table:
            backward.setdefault(common, []).append(native)
        return backward

    def common(self, native: str) -> str:
        """BingX's code -> ccxt's (``TRUMPSOL`` -> ``TRUMP``; unchanged when not renamed)."""
        return self._forward.get(native, native)

    def is_common_name(self, code: str) -> bool:
        """Is ``code`` a name ccxt gives a renamed coin (``OmniCat``, ``$NAP``)?"""
        return code in self._backward

    def native(self, common: str) -> str | None:
        """ccxt's code -> BingX's (``TRUMP`` -> ``TRUMPSOL``); None when no single BingX code carries that name."""
        renamed = self._backward.get(common, [])
        specific = [code for code in renamed if code not in self.generic]
        if common not in self._forward and _CODE.fullmatch(common):
            # BingX's own code of that name is not renamed. It wins over a generic row (BTC is BTC, not XBT):
            # those rows are other exchanges' spellings. A row the exchange (or its config) adds wins over it:
            # ccxt says BingX's TRUMP is TRUMPMAGA, so ccxt's TRUMPMAGA is BingX's TRUMP.
            if not specific:
                return common
            candidates = specific
        else:
            candidates = specific or renamed
        return candidates[0] if len(candidates) == 1 else None


@dataclass(frozen=True)
class NativeSymbol:
    """A validated BingX perpetual symbol and its ccxt name."""

    native: str  #: BingX's ``TRUMPSOL-USDT``
    base: str  #: BingX's base code, ``TRUMPSOL``
    quote: str  #: BingX's quote code, ``USDT``
    inverse: bool  #: coin-M (``cswap``) rather than USDT-M (``swap``)
    unified: str  #: ccxt's ``TRUMP/USDT:USDT``

    @property
    def display(self) -> str:
        """``TRUMPSOL-USDT (TRUMP/USDT:USDT)`` where ccxt renames the coin, else just ``BTC-USDT``."""
        return both_names(self.native, self.unified)


def both_names(native: Any, unified: Any) -> str:
    """``TRUMPSOL-USDT (TRUMP/USDT:USDT)`` where ccxt's name differs in more than its form, else ``native``."""
    if not isinstance(native, str):
        return "" if native is None else str(native)
    if not isinstance(unified, str) or unified == native or unified == _plain_unified(native):
        return native
    return f"{native} ({unified})"


def _plain_unified(native: str) -> str | None:
    match = _NATIVE.match(native)
    if not match:
        return None
    base, quote = match.groups()
    return f"{base}/{quote}:{base if quote == _INVERSE_QUOTE else quote}"


@functools.lru_cache(maxsize=64)
def _map_of(table: tuple[tuple[str, str], ...], generic: frozenset[str]) -> CurrencyMap:
    return CurrencyMap(table, generic)


@functools.lru_cache(maxsize=1)
def _default_map() -> CurrencyMap:
    # ccxt's bingx as it comes: building one makes no request (a few ms, once).
    return _map_from(ccxt.bingx())


def _map_from(exchange: Any) -> CurrencyMap:
    if not getattr(exchange, "substituteCommonCurrencyCodes", True):
        return _map_of((), frozenset())  # the exchange was told not to rename: neither do we
    table = getattr(exchange, "commonCurrencies", None)
    if not isinstance(table, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        # Fail loudly: guessing without the table is how TRUMP/USDT:USDT came to close TRUMP-USDT.
        raise TypeError(f"{type(exchange).__name__} has no ccxt commonCurrencies table of strings to map symbols with")
    # The rows ccxt's base class gives every exchange (XBT -> BTC, BCHSV -> BSV), where this table keeps them.
    base_rows = getattr(ccxt.Exchange, "commonCurrencies", None) or {}
    generic = frozenset(code for code, name in base_rows.items() if table.get(code) == name)
    return _map_of(tuple(sorted(table.items())), generic)


def currency_map(exchange: Any = None) -> CurrencyMap:
    """The currency mapping of ``exchange`` (a ccxt bingx, sync or async, or a :class:`CurrencyMap`).

    ``None``: ccxt bingx's default table. No request is made either way.
    """
    if exchange is None:
        return _default_map()
    if isinstance(exchange, CurrencyMap):
        return exchange
    return _map_from(exchange)


def parse_symbol(symbol: str, exchange: Any = None) -> NativeSymbol:
    """Validate ``symbol`` (unified ``TRUMP/USDT:USDT`` or native ``TRUMPSOL-USDT``) and describe it.

    Unified symbols are ccxt's, read through ``exchange``'s ``commonCurrencies`` (ccxt bingx's default table
    when ``exchange`` is None), so ccxt's own spellings (``OmniCat/USDT:USDT``, ``$NAP/USDT:USDT``) are
    accepted; native symbols are BingX's, unchanged. Raises :class:`InvalidSymbol` (a ``ccxt.BadSymbol`` and
    ``ValueError``) saying what is wrong.
    """
    names = currency_map(exchange)
    if not isinstance(symbol, str):
        raise InvalidSymbol(
            f"symbol must be a string such as 'BTC/USDT:USDT' or 'BTC-USDT', got {type(symbol).__name__}")
    text = symbol.strip()
    if not text:
        raise InvalidSymbol(
            "symbol is empty: give one such as 'BTC/USDT:USDT' or 'BTC-USDT', or leave it out to close all")
    if text != symbol:
        raise InvalidSymbol(f"symbol {symbol!r} has surrounding white space")
    unified = _UNIFIED.match(text)
    if unified:
        codes = unified.groups()
        base, quote, settle = (_native_code(symbol, codes, i, names) for i in range(3))
        return _describe(symbol, base, quote, settle, names)
    native = _NATIVE.match(text)
    if native:
        base, quote = native.groups()
        for code in (base, quote):
            _check_native_code(symbol, code, names)
        return _describe(symbol, base, quote, base if quote == _INVERSE_QUOTE else quote, names)
    spot = _SPOT.match(text)
    if spot and all(_CODE.fullmatch(code) or names.is_common_name(code) for code in spot.groups()):
        base, quote = spot.groups()
        raise InvalidSymbol(
            f"symbol {symbol!r} is a spot symbol; closeAllPositions closes perpetual futures: "
            f"use {f'{base}/{quote}:{quote}'!r} (USDT-M) or the native form {f'{names.native(base) or base}-{quote}'!r}"
        )
    if text != text.upper():
        raise InvalidSymbol(_lower_case(symbol, text.upper()))
    raise InvalidSymbol(
        f"symbol {symbol!r} is malformed: expected unified 'BASE/QUOTE:SETTLE' (e.g. 'BTC/USDT:USDT') "
        f"or native 'BASE-QUOTE' (e.g. 'BTC-USDT')"
    )


def _lower_case(symbol: str, suggestion: str) -> str:
    # BingX's docs: "please use capital letters"; a lower-case symbol is refused rather than guessed.
    return f"symbol {symbol!r} must be in capital letters (BingX refuses lower case): did you mean {suggestion!r}?"


def _native_code(symbol: str, codes: tuple[str, ...], index: int, names: CurrencyMap) -> str:
    """Part ``index`` of a unified symbol -> BingX's code, or a refusal that says what was meant."""
    code = codes[index]
    if not (names.is_common_name(code) or _CODE.fullmatch(code)):
        if _CODE.fullmatch(code.upper()):
            spelled = {common.upper(): common for _, common in names.table}
            suggestion = [spelled.get(part.upper(), part.upper()) for part in codes]
            raise InvalidSymbol(_lower_case(symbol, f"{suggestion[0]}/{suggestion[1]}:{suggestion[2]}"))
        raise InvalidSymbol(
            f"symbol {symbol!r}: {code!r} is not a currency code (capitals and digits, or ccxt's name for one)")
    native = names.native(code)
    if native is not None:
        return native
    if names.is_common_name(code):
        owners = sorted(bingx for bingx, common in names.table if common == code)
        raise InvalidSymbol(f"symbol {symbol!r}: ccxt's {code!r} names more than one BingX coin ({', '.join(owners)}); "
                            "give the native symbol")
    common = names.common(code)
    meant = list(codes)
    meant[index] = common
    native_form = f", or the native {code + '-' + codes[1]!r}" if index == 0 else ""
    raise InvalidSymbol(f"symbol {symbol!r}: ccxt calls BingX's {code} {common!r}, so no ccxt symbol has {code!r}: "
                        f"use {f'{meant[0]}/{meant[1]}:{meant[2]}'!r}{native_form}")


def _check_native_code(symbol: str, code: str, names: CurrencyMap) -> None:
    if _CODE.fullmatch(code):
        return
    bingx = names.native(code) if names.is_common_name(code) else None
    if bingx is not None and bingx != code:
        raise InvalidSymbol(f"symbol {symbol!r}: {code!r} is ccxt's name for BingX's {bingx}; a native symbol uses "
                            f"BingX's code: {symbol.replace(code, bingx)!r}")
    if _CODE.fullmatch(code.upper()):
        raise InvalidSymbol(_lower_case(symbol, symbol.upper()))
    raise InvalidSymbol(f"symbol {symbol!r} is malformed: {code!r} is not a BingX currency code (capitals and digits)")


def _describe(original: str, base: str, quote: str, settle: str, names: CurrencyMap) -> NativeSymbol:
    """From BingX's codes: check the contract family and name it both ways."""
    if quote in _LINEAR_QUOTES:
        if settle != quote:
            raise InvalidSymbol(
                f"symbol {original!r}: a {quote}-quoted perpetual settles in {quote}, not {names.common(settle)}")
        inverse = False
    elif quote == _INVERSE_QUOTE:
        if settle != base:
            raise InvalidSymbol(f"symbol {original!r}: a coin-M perpetual settles in its base "
                                f"{names.common(base)}, not {names.common(settle)}")
        inverse = True
    else:
        raise InvalidSymbol(
            f"symbol {original!r}: BingX perpetuals are quoted in USDT, USDC (USDT-M) or USD (coin-M), "
            f"not {names.common(quote)}"
        )
    unified = f"{names.common(base)}/{names.common(quote)}:{names.common(settle)}"
    return NativeSymbol(f"{base}-{quote}", base, quote, inverse, unified)


def to_native(symbol: str, exchange: Any = None) -> str:
    """``TRUMP/USDT:USDT`` or ``TRUMPSOL-USDT`` -> ``TRUMPSOL-USDT`` (through ``exchange``'s currency table)."""
    return parse_symbol(symbol, exchange).native


def to_unified(symbol: str, exchange: Any = None) -> str:
    """``TRUMPSOL-USDT`` or ``TRUMP/USDT:USDT`` -> ``TRUMP/USDT:USDT`` (through ``exchange``'s currency table)."""
    return parse_symbol(symbol, exchange).unified


def unified_name(native: Any, exchange: Any = None) -> str | None:
    """ccxt's name for a symbol BingX sent (a position's, an order's); None for anything unreadable.

    For reports: it never raises on what BingX answers.
    """
    if not isinstance(native, str):
        return None
    try:
        return parse_symbol(native, exchange).unified
    except InvalidSymbol:
        return None


def display_name(native: Any, exchange: Any = None) -> str:
    """``TRUMPSOL-USDT (TRUMP/USDT:USDT)`` where ccxt's name differs in more than its form, else as given."""
    if not isinstance(native, str):
        return "" if native is None else str(native)
    return both_names(native, unified_name(native, exchange))
