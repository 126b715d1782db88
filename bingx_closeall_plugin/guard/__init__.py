"""bingx-closeall guard: the account-equity watchdog, a subcommand of bingx-closeall.

``watch`` is the watch loop and its command; ``config`` its arguments and the bots it watches; ``state``
the state file (armed, tripped, re-armed); ``notify`` the Telegram messages. It reads accounts as the CLI
does (``cli.accounts``) and flattens through the core; nothing of freqtrade is imported.
"""

from .watch import Equity, Guard, main

__all__ = ["Equity", "Guard", "main"]
