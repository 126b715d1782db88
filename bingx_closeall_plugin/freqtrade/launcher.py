"""freqtrade-bingx: freqtrade's own command line with the BingX futures plugin installed first.

Arguments are freqtrade's, unchanged (``trade``, ``backtesting``, ``download-data``, ``list-markets`` ...).
One difference in exit codes: freqtrade 2026.9 logs a configuration error and exits 0 (``main()`` leaves
``return_code`` unset on ``ConfigurationError``); the launcher exits 2 then, as freqtrade does for every
other ``OperationalException``, so a supervisor sees that the bot did not start. Without freqtrade installed
(the ``[freqtrade]`` extra), one line says how to install it and the exit code is 2, never a traceback.
"""

from __future__ import annotations

import logging
import sys

from ..core.redaction import mask

__all__ = ["CONFIG_ERROR_EXIT", "main"]

CONFIG_ERROR_EXIT = 2  # freqtrade's own code for a FreqtradeException at start-up
NO_FREQTRADE = ("freqtrade-bingx: freqtrade is not installed; install the plugin with its freqtrade extra: "
                "pip install 'bingx-closeall-plugin[freqtrade]' (from a clone: pip install '.[freqtrade]')")  # one line

logger = logging.getLogger(__name__)


class _ConfigurationErrorSeen(logging.Filter):
    """Notes freqtrade.main's "Configuration error: ..." record and lets every record through.

    A filter, not a handler: freqtrade's setup_logging (dictConfig) removes the handlers of the
    "freqtrade" logger once the config is read, but keeps its filters.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and str(record.msg).startswith("Configuration error:"):
            self.seen = True
        return True


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(mask(str(code)), file=sys.stderr)  # sys.exit("message") semantics
    return 1


def main(argv: list[str] | None = None) -> int:
    """Install the plugin, run freqtrade's main with ``argv`` (default: the command line), return its code."""
    try:
        import freqtrade  # noqa: F401 - only: is the extra installed?
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("freqtrade"):
            raise  # something freqtrade itself needs is missing: freqtrade's own error says what
        print(NO_FREQTRADE, file=sys.stderr)
        raise SystemExit(CONFIG_ERROR_EXIT) from None
    from .install import IncompatibleFreqtrade, add_log_filter, install, revert

    try:
        install()
    except IncompatibleFreqtrade as e:
        print(mask(f"freqtrade-bingx: {e}"), file=sys.stderr)
        raise SystemExit(CONFIG_ERROR_EXIT) from None

    from freqtrade.main import main as freqtrade_main

    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] in (["--version"], ["-V"]):  # freqtrade's own lines follow: the OS, Python, ccxt and freqtrade
        from .compat import plugin_version, versions

        print(f"bingx-closeall-plugin {plugin_version()} ({versions()})")

    watcher = _ConfigurationErrorSeen()
    freqtrade_logger = logging.getLogger("freqtrade")  # the logger freqtrade.main reports errors on
    watch = add_log_filter(freqtrade_logger, watcher,
                           "freqtrade exits 0 on a configuration error; the launcher exits 2")
    try:
        freqtrade_main(args)
        code = 0  # pragma: no cover - freqtrade's main always ends in sys.exit()
    except SystemExit as e:
        code = _exit_code(e.code)
    finally:
        if watch is not None:
            revert(watch)
    if code == 0 and watcher.seen:
        code = CONFIG_ERROR_EXIT
    raise SystemExit(code)


if __name__ == "__main__":
    main()
