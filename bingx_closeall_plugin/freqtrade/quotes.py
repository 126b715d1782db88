"""freqtrade's per-pair price reads, answered from ONE read of every USDT-M contract's best bid and ask per loop pass.

freqtrade prices every open trade's exit each loop iteration (``exit_positions`` -> ``get_rate(refresh=True)``):
with ``exit_pricing.use_order_book`` one ``GET /openApi/swap/v2/quote/depth`` per trade, without it one
``GET /openApi/swap/v2/quote/ticker`` per trade, paced by ccxt's throttle on the bot's client (about 20 a second):
at 200 trades about 10 s of every iteration. BingX's ``GET /openApi/swap/v2/quote/ticker`` without a symbol
answers every contract at once, each row with its last price and (today's answer, as ccxt's ``parse_ticker``
reads it) its best bid and ask with their sizes: ccxt's ``fetch_tickers`` for linear swaps. The plugin's exchange
class answers freqtrade's per-pair asks from one such read:

- ``fetch_l2_order_book(pair, 1)`` (``order_book_top`` 1, freqtrade's sample config): a book of one level a side,
  the row's best bid and ask. A deeper book (``order_book_top`` > 1, the depth-of-market check's 1000) is
  freqtrade's own per-pair read: the bulk row has the top only. Said at start-up (:func:`per_pair_settings`).
- ``fetch_ticker(pair)`` (``use_order_book`` off): the row as ccxt parses it.
- a pair the read does not list, or a row without a bid or an ask (BingX's 2022 answer had none), is freqtrade's
  own per-pair read, as without the plugin.
- the read failing is logged once and the rest of the pass uses freqtrade's own per-pair reads; the next pass
  reads again.

Scope: the loop's thread inside one ``FreqtradeBot.process()`` (the same iteration as :mod:`.open_orders`); the read
is made at the first ask of the pass and is the pass's answer to every later one. While a flatten runs, its thread
(``confirm_trade_exit``'s rate, when freqtrade's rate cache has none) takes the last pass's read when it is younger
than freqtrade's own rate caches (300 s), instead of a read per trade behind the bot's throttle. Any other caller
(the REST API, Telegram, a force entry) reads as freqtrade does. ``BINGX_ONE_READ_LOOP=0`` switches this off with
the open-orders read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from copy import deepcopy
from typing import Any

import ccxt

from ..core.redaction import error_text

logger = logging.getLogger(__name__)

__all__ = ["MAX_AGE_S", "PassQuotes", "book_top", "per_pair_settings"]

# How old the last pass's read may be for a flatten's rates: freqtrade's own rate caches keep a rate 300 s
MAX_AGE_S = 300.0


def per_pair_settings(config: dict[str, Any]) -> list[str]:
    """The pricing sections whose settings need a per-pair read each pass (an order book deeper than the top)."""
    out = []
    for section in ("entry_pricing", "exit_pricing"):
        pricing = config.get(section) or {}
        top = pricing.get("order_book_top", 1)
        if pricing.get("use_order_book", False) and top != 1:
            out.append(f"{section}.order_book_top is {top}")
    return out


def book_top(ticker: dict[str, Any]) -> dict[str, Any] | None:
    """A one-level order book (ccxt's shape) from a ticker's best bid and ask, or None when it lacks either."""
    bid, ask = ticker.get("bid"), ticker.get("ask")
    if not bid or not ask:
        return None
    return {"symbol": ticker.get("symbol"), "bids": [[bid, ticker.get("bidVolume") or 0.0]],
            "asks": [[ask, ticker.get("askVolume") or 0.0]], "timestamp": ticker.get("timestamp"),
            "datetime": ticker.get("datetime"), "nonce": None}


class PassQuotes:
    """Every contract's ticker as one read saw it, for the loop pass that made it (and a flatten after it).

    ``read`` returns ccxt's tickers by unified symbol (one public request); ``in_iteration`` says whether the
    caller is the loop inside a pass (:meth:`.open_orders.OpenOrderReads.in_iteration`).
    """

    def __init__(self, read: Callable[[], dict[str, dict[str, Any]]], in_iteration: Callable[[], bool]) -> None:
        self._read = read
        self._in_iteration = in_iteration
        self._lock = threading.Lock()
        self._pass: dict[str, dict[str, Any]] | None = None  # this pass's read; None: not read yet
        self._failed = False  # the read failed this pass: freqtrade's own reads until the next one
        self._last: tuple[float, dict[str, dict[str, Any]]] | None = None  # (monotonic time, tickers) of the last
        self.reads = 0  # reads sent since start (read by tests)

    def new_pass(self) -> None:
        """A loop pass starts (or ends): its first ask reads again."""
        with self._lock:
            self._pass, self._failed = None, False

    def ticker(self, pair: str, flattening: bool = False) -> dict[str, Any] | None:
        """``pair``'s ticker from this pass's read (made now if it is the first ask), or None: read it alone.

        ``flattening``: the caller is a running flatten; it takes the last pass's read when young enough.
        """
        if self._in_iteration():
            with self._lock:
                tickers, failed = self._pass, self._failed
            if tickers is None and not failed:
                tickers = self._load()
        elif flattening:
            with self._lock:
                last = self._last
            tickers = last[1] if last is not None and time.monotonic() - last[0] <= MAX_AGE_S else None
        else:
            return None
        found = (tickers or {}).get(pair)
        return deepcopy(found) if found is not None else None

    def _load(self) -> dict[str, dict[str, Any]] | None:
        try:
            tickers = self._read()
        except ccxt.BaseError as e:
            logger.warning(f"Reading every BingX ticker failed ({error_text(e)}); reading each pair's price on its "
                           "own for the rest of this loop pass.")
            with self._lock:
                self._failed = True
            return None
        with self._lock:
            self.reads += 1
            self._pass = tickers
            self._last = (time.monotonic(), tickers)
        logger.debug(f"One BingX ticker read for this loop pass: {len(tickers)} contract(s).")
        return tickers
