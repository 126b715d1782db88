"""freqtrade integration: BingX USDT-M perpetual futures as freqtrade's ``bingx`` exchange.

Importing this package calls :func:`install` (idempotent). freqtrade resolves the exchange *before* it
loads the strategy (``FreqtradeBot.__init__``, ``Backtesting.__init__``), so an import from a strategy
file comes too late for the process it runs in: start the bot with ``freqtrade-bingx`` (the launcher),
which installs first. The import in a strategy is still useful as a guard in the same interpreter
(notebooks, scripts that build the exchange themselves).

Nothing outside this package imports freqtrade.
"""

from __future__ import annotations

from .install import PATCHES, IncompatibleFreqtrade, install, is_installed, uninstall

__all__ = ["PATCHES", "IncompatibleFreqtrade", "install", "is_installed", "request_flatten", "uninstall"]

install()

from .flatten import request_flatten  # noqa: E402 - after install(): it imports the plugin's exchange class
