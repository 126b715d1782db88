"""bingx-closeall guard: a watchdog outside the bot that flattens when a bot dies or the account bleeds.

Every ``--interval`` seconds, one check: each bot's ``GET /api/v1/health`` (its ``last_process``; a port that
does not answer counts as silence) and one signed balance read at BingX (equity = wallet balance +
unrealised PnL of ``--asset``); a check is brought forward to the moment a bot's silence would pass
``--max-silence``, so a dead bot trips then, not up to ``--interval`` later. Rules: a bot silent longer than
``--max-silence``; equity below ``--floor``, or ``--max-drawdown`` below its high-water mark, or ``--max-loss``
below the start value. When one trips: each bot is asked ``POST /api/v1/closeall`` (its books reconciled by the
bot itself); if none has flattened within ``--bot-deadline`` (a port that refuses is not waited for), the
account is flattened directly through the package's one close path. Then the guard stays tripped, and says so
every check, until an operator runs ``bingx-closeall guard --rearm``. A flatten that failed is tried again at
each check until the account is flat.

The guard's own faults never flatten: a failed equity read is not a drawdown (it alerts after
``--alert-after`` failures in a row; ``--unreachable-alert`` alerts when BingX has not answered for that long),
a bot that refuses the guard's login is alerted about and not judged. It never imports freqtrade.

The modules, by step: :mod:`.config` (the arguments and the bots watched), :mod:`.state` (the state file:
armed, tripped, re-armed), :mod:`.watch` (one check: reads, rules, the trip), :mod:`.respond` (what a trip
sends: the bots asked, the direct flatten), :mod:`.notify` (webhook and Telegram), :mod:`.command` (the
command, its start-up checks and its loop). It reads accounts as the CLI does (``cli.accounts``) and
flattens through the core.
"""

from .command import main
from .watch import Equity, Guard

__all__ = ["Equity", "Guard", "main"]
