"""The ``freqtrade-bingx`` entry point, outside the ``freqtrade`` package on purpose.

Importing :mod:`bingx_closeall_plugin.freqtrade` installs the plugin (a strategy's import is a guard), and an
install that refuses (freqtrade missing, or an untested release) would then fail as an import traceback.
Started from here, the package leaves the install to :func:`.freqtrade.launcher.main`, which turns a refusal
into one line and exit code 2.
"""

from __future__ import annotations

import sys

__all__ = ["LAUNCHING", "main"]

LAUNCHING = False  # read by bingx_closeall_plugin.freqtrade at import: the launcher installs, not the import


def main(argv: list[str] | None = None) -> int:
    global LAUNCHING
    LAUNCHING = True
    from .freqtrade.launcher import main as launch

    return launch(argv)


if __name__ == "__main__":
    sys.exit(main())
