"""install(): every patch the plugin applies to freqtrade, guarded, listed in PATCHES, undoable.

freqtrade has no entry point for third-party exchanges: ``ExchangeResolver._load_exchange`` looks the
class up by name with ``getattr(freqtrade.exchange, exchange_name.title())``. The one seam is therefore
the attribute ``freqtrade.exchange.Bingx``, replaced by the plugin's subclass. Each patch checks that its
target exists and has the expected shape, keeps the original and is recorded in :data:`PATCHES`, so
:func:`uninstall` can put everything back. Set ``BINGX_FREQTRADE_PLUGIN=0`` to switch it off.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["PATCHES", "TESTED_FREQTRADE", "IncompatibleFreqtrade", "Patch", "install", "is_installed", "uninstall"]

# The freqtrade release line the plugin is tested against (pyproject's [freqtrade] extra pins the same).
TESTED_FREQTRADE = (2026, 9)


class IncompatibleFreqtrade(ImportError):
    """The installed freqtrade is outside the tested range, or its seam changed shape."""


@dataclass(frozen=True)
class Patch:
    """One attribute the plugin replaced: where, what was there, what is there now, and why."""

    target: Any  # the module or class patched
    attribute: str
    original: Any
    replacement: Any
    why: str

    @property
    def name(self) -> str:
        return f"{getattr(self.target, '__name__', self.target)}.{self.attribute}"


# Every patch applied, in order. A later issue appends its flatten hooks here through _apply().
PATCHES: list[Patch] = []
_lock = threading.RLock()


def _versions() -> str:
    import ccxt
    import freqtrade

    return f"freqtrade {freqtrade.__version__}, ccxt {ccxt.__version__}"


def check_freqtrade_version(version: str | None = None) -> None:
    """Raise IncompatibleFreqtrade unless freqtrade is a 2026.9.x release (or a 2026.9 dev build)."""
    if version is None:
        import freqtrade

        version = freqtrade.__version__
    match = re.match(r"^(\d+)\.(\d+)", version)
    if not match or (int(match.group(1)), int(match.group(2))) != TESTED_FREQTRADE:
        raise IncompatibleFreqtrade(
            f"bingx-closeall-plugin's freqtrade layer is tested with freqtrade "
            f"{TESTED_FREQTRADE[0]}.{TESTED_FREQTRADE[1]}.x; found freqtrade {version}. "
            f"Install `bingx-closeall-plugin[freqtrade]` to get a matching freqtrade."
        )


def _apply(target: Any, attribute: str, replacement: Any, why: str) -> Patch:
    if not hasattr(target, attribute):
        raise IncompatibleFreqtrade(
            f"cannot patch {getattr(target, '__name__', target)}.{attribute}: it does not exist ({_versions()})"
        )
    patch = Patch(target, attribute, getattr(target, attribute), replacement, why)
    setattr(target, attribute, replacement)
    PATCHES.append(patch)
    logger.debug("bingx plugin patched %s (%s)", patch.name, why)
    return patch


def _check_resolver_shape() -> None:
    """The seam: ExchangeResolver must still look classes up by name in freqtrade.exchange."""
    import inspect

    import freqtrade.exchange as ft_exchange
    from freqtrade.exchange import MAP_EXCHANGE_CHILDCLASS, Exchange
    from freqtrade.resolvers import exchange_resolver

    stock = getattr(ft_exchange, "Bingx", None)
    problems = []
    if not (inspect.isclass(stock) and issubclass(stock, Exchange)):
        problems.append("freqtrade.exchange.Bingx is not an Exchange subclass")
    if getattr(exchange_resolver, "exchanges", None) is not ft_exchange:
        problems.append("ExchangeResolver no longer resolves classes from freqtrade.exchange")
    if not callable(getattr(exchange_resolver.ExchangeResolver, "_load_exchange", None)):
        problems.append("ExchangeResolver._load_exchange is gone")
    if MAP_EXCHANGE_CHILDCLASS.get("bingx", "bingx") != "bingx":
        problems.append(f"freqtrade maps 'bingx' to {MAP_EXCHANGE_CHILDCLASS['bingx']!r}")
    if problems:
        raise IncompatibleFreqtrade(
            "bingx-closeall-plugin cannot install into freqtrade: " + "; ".join(problems) + f" ({_versions()})"
        )


def is_installed() -> bool:
    with _lock:
        return bool(PATCHES)


def install() -> list[Patch]:
    """Make freqtrade resolve exchange ``bingx`` to the plugin's futures class. Idempotent.

    Raises IncompatibleFreqtrade (naming the versions found) when freqtrade is outside the tested range
    or its seam changed, instead of silently running freqtrade's spot-only class.
    """
    with _lock:
        if PATCHES:
            return list(PATCHES)
        if os.environ.get("BINGX_FREQTRADE_PLUGIN", "1").strip().lower() in ("0", "false", "no", "off"):
            logger.warning("BINGX_FREQTRADE_PLUGIN is off: freqtrade's own (spot-only) Bingx class stays in use")
            return []
        check_freqtrade_version()
        _check_resolver_shape()
        import freqtrade.exchange as ft_exchange

        from .exchange import Bingx

        stock = ft_exchange.Bingx
        if not issubclass(Bingx, stock):
            raise IncompatibleFreqtrade(f"the plugin's Bingx does not subclass freqtrade's ({_versions()})")
        _apply(ft_exchange, "Bingx", Bingx,
               "ExchangeResolver looks exchange classes up by name in freqtrade.exchange; "
               "freqtrade's Bingx is spot-only")
        logger.info("bingx-closeall-plugin installed into freqtrade (%s)", _versions())
        return list(PATCHES)


def uninstall() -> None:
    """Undo every patch in reverse order; a no-op when nothing is installed."""
    with _lock:
        while PATCHES:
            patch = PATCHES.pop()
            if getattr(patch.target, patch.attribute, None) is not patch.replacement:
                logger.warning("%s was changed by someone else after the plugin patched it; restoring anyway",
                               patch.name)
            setattr(patch.target, patch.attribute, patch.original)
