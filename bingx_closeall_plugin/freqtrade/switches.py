"""The bot environment's switches: each is on unless set to 0, false, no or off (docs/performance.md, "Switches").

- ``BINGX_FREQTRADE_PLUGIN``: the plugin installs into freqtrade at all (off: freqtrade's own spot-only Bingx).
- ``BINGX_ONE_REQUEST_FLATTEN``: ``/forceexit all`` is one closeAllPositions (off: freqtrade's per-trade exits).
- ``BINGX_ONE_READ_LOOP``: one open-orders read and one ticker read per loop pass (off: freqtrade's per-trade reads).
- ``BINGX_AFTER_BOOKS``: a flatten's per-trade notifications and protections (pair locks) are done once its books
  are written and the exit lock is free (off: as freqtrade does them, each trade's as it is booked;
  :mod:`.after_books`).
"""

from __future__ import annotations

import os

__all__ = ["AFTER_BOOKS", "FREQTRADE_PLUGIN", "ONE_READ_LOOP", "ONE_REQUEST_FLATTEN", "on"]

FREQTRADE_PLUGIN = "BINGX_FREQTRADE_PLUGIN"
ONE_REQUEST_FLATTEN = "BINGX_ONE_REQUEST_FLATTEN"
ONE_READ_LOOP = "BINGX_ONE_READ_LOOP"
AFTER_BOOKS = "BINGX_AFTER_BOOKS"


def on(name: str) -> bool:
    """The switch ``name`` as the bot's environment sets it (on when unset)."""
    return os.environ.get(name, "1").strip().lower() not in ("0", "false", "no", "off")
