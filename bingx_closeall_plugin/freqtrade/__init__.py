"""freqtrade integration: BingX USDT-M perpetual futures as freqtrade's ``bingx`` exchange.

Importing this package calls :func:`install` (idempotent). freqtrade resolves the exchange *before* it
loads the strategy (``FreqtradeBot.__init__``, ``Backtesting.__init__``), so an import from a strategy
file comes too late for the process it runs in: start the bot with ``freqtrade-bingx`` (the launcher),
which installs first. The import in a strategy is still useful as a guard in the same interpreter
(notebooks, scripts that build the exchange themselves).

Nothing outside this package imports freqtrade. Without freqtrade installed (the ``[freqtrade]`` extra) the
package imports without installing anything, so the launcher can say how to install it; using the package
then raises ImportError with the same advice.
"""

from __future__ import annotations

import sys
from typing import Any

from .install import PATCHES, IncompatibleFreqtrade, install, is_installed, uninstall

__all__ = ["PATCHES", "IncompatibleFreqtrade", "install", "is_installed", "request_flatten", "uninstall"]

INSTALL_HINT = "pip install 'bingx-closeall-plugin[freqtrade]' (from a clone: pip install '.[freqtrade]')"

try:
    import freqtrade as _freqtrade  # noqa: F401 - is the extra installed?
except ModuleNotFoundError as _missing:
    if not (_missing.name or "").startswith("freqtrade"):
        raise
    FREQTRADE_INSTALLED = False
else:
    FREQTRADE_INSTALLED = True
    # Started by freqtrade-bingx, the launcher installs under its own error handling (one line, exit 2).
    if not getattr(sys.modules.get("bingx_closeall_plugin.freqtrade_bingx"), "LAUNCHING", False):
        install()

        from .flatten import request_flatten


def __getattr__(name: str) -> Any:
    if name == "request_flatten":
        if not FREQTRADE_INSTALLED:
            raise ImportError(f"bingx_closeall_plugin.freqtrade needs freqtrade: {INSTALL_HINT}")
        install()  # idempotent; the launcher's process installed already
        from .flatten import request_flatten

        return request_flatten
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
