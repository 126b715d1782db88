"""freqtrade's per-trade order and stop queries, answered from ONE account-wide open-orders read per loop iteration.

Every iteration of freqtrade's loop asks BingX about each open order (``manage_open_orders``) and each trade's
stoploss (``handle_stoploss_on_exchange``), one signed ``GET trade/order`` each, paced by ccxt's throttle and,
for the stops, under the bot's exit lock: at 50 trades that is 50 requests and about 10 s of every iteration.
BingX's ``GET /openApi/swap/v2/trade/openOrders`` lists every open order of the account without a symbol, so
the plugin's exchange class answers those queries from one such read:

- an order the read lists is answered from it (as ccxt parses it, contracts to amount as freqtrade does);
- an order it does not list has left the open set (filled, cancelled, triggered, or gone): freqtrade's own
  single-order query answers it, with its retries, exactly as without the plugin;
- an order the bot cancels or replaces is dropped from the read at once, so freqtrade's cancel-then-fetch
  sees BingX's answer, never the read's;
- the read failing, lost or late (past the client's timeout) is logged once and the rest of that iteration
  uses freqtrade's own per-order queries; the next iteration reads again.

Scope: one ``FreqtradeBot.process()`` call on the loop's thread (install.PATCHES: ``FreqtradeBot.process``
opens it). The read is taken at the first query of the iteration and dropped when ``process()`` returns, so an
order that triggers, is cancelled by hand or vanishes is seen at the latest by the next iteration, as with
freqtrade's own queries, which also see an event only when they next run. Any other thread (the REST API, a
flatten) asks BingX directly. ``BINGX_ONE_READ_LOOP=0`` in the bot's environment switches the read off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from copy import deepcopy
from typing import Any

import ccxt

from ..core.redaction import error_text
from . import switches

logger = logging.getLogger(__name__)

__all__ = ["ENV_SWITCH", "OpenOrderReads", "enabled"]

ENV_SWITCH = switches.ONE_READ_LOOP


def enabled() -> bool:
    """False when ``BINGX_ONE_READ_LOOP`` is 0/false/no/off: freqtrade's own per-order queries, e.g. to compare."""
    return switches.on(ENV_SWITCH)


class OpenOrderReads:
    """The open orders of the account as one read saw them, for the loop iteration that made it.

    ``read`` returns ccxt order dicts (one signed request). Thread-safe: the loop thread reads and looks up;
    any thread may :meth:`forget` an order it cancels.
    """

    def __init__(self, read: Callable[[], list[dict[str, Any]]]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._loop_thread: int | None = None  # the thread inside process(), while it runs
        self._orders: dict[str, dict[str, Any]] | None = None  # id -> order; None: not read yet this iteration
        self._failed = False  # the read failed this iteration: freqtrade's own queries until the next one
        self.reads = 0  # reads sent since start (logged at debug, read by tests)

    @contextmanager
    def iteration(self) -> Iterator[None]:
        """One loop iteration on this thread: the read is made on first use and dropped at the end."""
        with self._lock:
            self._loop_thread = threading.get_ident()
            self._orders, self._failed = None, False
        try:
            yield
        finally:
            with self._lock:
                self._loop_thread = None
                self._orders, self._failed = None, False

    def in_iteration(self) -> bool:
        """True on the loop's thread while ``process()`` runs: the only caller the read answers."""
        return self._loop_thread == threading.get_ident()

    def get(self, order_id: str) -> dict[str, Any] | None:
        """The order as this iteration's read lists it, or None: ask BingX for it alone (not listed, the read
        failed, or the caller is not the loop inside an iteration)."""
        if not self.in_iteration():
            return None
        with self._lock:
            orders, failed = self._orders, self._failed
        if orders is None and not failed:
            orders = self._load()
        order = (orders or {}).get(str(order_id))
        return deepcopy(order) if order is not None else None

    def forget(self, order_id: str) -> None:
        """The bot is changing this order (cancel, replace): from now on it is asked about on its own."""
        with self._lock:
            if self._orders is not None:
                self._orders.pop(str(order_id), None)

    def _load(self) -> dict[str, dict[str, Any]] | None:
        try:
            listed = self._read()
        except ccxt.BaseError as e:
            logger.warning(f"Reading BingX's open orders failed ({error_text(e)}); asking about each order on its "
                           "own for the rest of this loop iteration.")
            with self._lock:
                if self.in_iteration():
                    self._failed = True
            return None
        orders = {str(o["id"]): o for o in listed if isinstance(o, dict) and o.get("id") is not None}
        with self._lock:
            self.reads += 1
            if not self.in_iteration():
                return None
            self._orders = orders
        logger.debug(f"One BingX open-orders read for this loop iteration: {len(orders)} open order(s).")
        return orders
