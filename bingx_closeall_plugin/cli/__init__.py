"""bingx-closeall, the command: flatten BingX perpetual futures accounts from a terminal.

``command`` is the command (arguments, the confirmation, masked output and logging); ``accounts`` the
accounts and their endpoints, with ``config`` (freqtrade configs, read as freqtrade reads them) and ``clients``
(each account's ccxt client); ``press`` every account at once, on threads or across forked processes; ``run``
the flatten of each account on its own thread, Ctrl-C and the exit codes; ``gate`` every close before any
other request; ``output`` what is printed. Built on the core only. ``python -m bingx_closeall_plugin.cli`` is
the command.
"""

from .command import (
           MAX_WAIT_LIMIT_S,
           Account,
           ConfigError,
           build_parser,
           entry,
           main,
           setup_logging,
           short_key,
           target_of,
)

__all__ = ["MAX_WAIT_LIMIT_S", "Account", "ConfigError", "build_parser", "entry", "main", "setup_logging", "short_key",
           "target_of"]
