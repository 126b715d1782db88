"""The freqtrade releases the plugin supports, and every difference between them it meets, in one place.

Supported: each monthly release from 2026.3 to 2026.9, every one run by the release matrix (``scripts/matrix``).
Between them the seams the plugin uses (:mod:`.seams`) differ in one place, listed by release in :data:`CHANGES`;
the plugin meets it through the one function here that knows both shapes (:func:`order_by_id`), chosen by the
installed release, and the start-up check expects exactly that release's shape, so no difference is papered over by
catching what a call raises. (``Trade.delete_custom_data``, new in 2026.9, was the second until the intent was
removed from all its trades in one query through freqtrade's custom-data model: :mod:`.custom_data`.)

The range stops at 2026.3 because that is as far back as the matrix runs; 2026.1 and 2026.2 differ from 2026.3
in none of the plugin's seams but are not run, so they are refused like every older release.

This module imports nothing at the top but the standard library: ``scripts/matrix`` reads :data:`SUPPORTED` from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["CHANGES", "NEWEST", "OLDEST", "SUPPORTED", "Change", "installed_line", "order_by_id", "release_line",
           "supported_range"]

# Every release on the index in the supported range; the matrix makes one environment for each.
SUPPORTED = ("2026.3", "2026.4", "2026.5", "2026.5.1", "2026.6", "2026.7", "2026.8", "2026.9")
OLDEST = (2026, 3)
NEWEST = (2026, 9)


@dataclass(frozen=True)
class Change:
    """A seam that differs inside the supported range: its parameters before ``since`` and from ``since`` on
    (None: the plugin does not use it on those releases)."""

    since: tuple[int, int]
    module: str
    qualname: str
    before: tuple[str, ...] | None
    after: tuple[str, ...] | None
    why: str

    def parameters(self, line: tuple[int, int]) -> tuple[str, ...] | None:
        return self.after if line >= self.since else self.before


CHANGES: tuple[Change, ...] = (
    # 2026.8 filters by pair too (orders are unique on (pair, order_id)); before, it took the id only, and the
    # plugin's two-argument call raised TypeError at /forceexit all
    Change((2026, 8), "freqtrade.persistence.trade_model", "Order.order_by_id", ("order_id",), ("order_id", "pair"),
           "the plugin looks an order up by id and pair: an order BingX filled that the bot has not booked"),
)


def release_line(version: str) -> tuple[int, int] | None:
    """``"2026.5.1"`` -> (2026, 5); None for a version that is not freqtrade's year.month[.patch]."""
    match = re.match(r"^(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def supported_range() -> str:
    return f"{OLDEST[0]}.{OLDEST[1]} to {NEWEST[0]}.{NEWEST[1]}"


_installed: tuple[int, int] | None = None


def installed_line() -> tuple[int, int]:
    """The installed freqtrade's release line; a newer release than the range behaves as the newest."""
    global _installed
    if _installed is None:
        import freqtrade

        _installed = min(release_line(str(freqtrade.__version__)) or NEWEST, NEWEST)
    return _installed


def order_by_id(order_id: str, pair: str) -> Any:
    """freqtrade's order record with BingX's ``order_id`` on ``pair``, or None."""
    from freqtrade.persistence import Order

    if installed_line() >= (2026, 8):
        return Order.order_by_id(order_id, pair)
    # Before 2026.8 order_by_id takes the id only; the same query with the pair filter 2026.8 added.
    from sqlalchemy import select

    return Order.session.scalars(select(Order).filter(Order.order_id == order_id, Order.ft_pair == pair)).first()
