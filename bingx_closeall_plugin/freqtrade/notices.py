"""A flatten's trade notifications, held while it writes the books and sent once the bot's exit lock is free.

freqtrade sends two RPC messages for every trade it closes (``exit``, then ``exit_fill`` from
``update_trade_state``), and ``RPCManager.send_msg`` logs each whole message ("Sending rpc message: ...", rendered
by freqtrade's console handler) before it hands it to every RPC module (Telegram, Discord, webhooks, the REST
message stream). At 200 trades that is 400 messages, all under the bot's exit lock and before the last trade is
closed in the database. They change no trade and no order: the messages are built where freqtrade builds them
(their figures are those of that moment), kept in order on the booking thread, and sent by :func:`release` once
the flatten has let go of the exit lock (:meth:`.flatten.Flattener.bookkeeping` holds, ``Flattener._own``
releases). Messages from every other thread, and the flatten's own notices before its books (a rate-limit wait),
go out at once, as before.

If the bot dies between the books' last commit and :func:`release`, those messages are lost, as freqtrade's own
are when it dies between a commit and its ``send_msg``; the books are already written.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..core.redaction import error_text

logger = logging.getLogger(__name__)

__all__ = ["hold", "holding", "keep", "release"]

_local = threading.local()  # .messages: [(RPCManager, message)] held on this thread, or absent


def hold() -> None:
    """From now on this thread's RPC messages are kept until :func:`release` (idempotent)."""
    if getattr(_local, "messages", None) is None:
        _local.messages = []


def holding() -> bool:
    return getattr(_local, "messages", None) is not None


def keep(manager: Any, message: Any) -> None:
    """Keep ``message`` (already masked) for ``manager`` (freqtrade's ``RPCManager``) until :func:`release`."""
    _local.messages.append((manager, message))


def release() -> int:
    """Send this thread's held messages, in order, and stop holding; returns how many were sent."""
    messages = getattr(_local, "messages", None)
    _local.messages = None
    for manager, message in messages or []:
        try:
            manager.send_msg(message)
        except Exception as e:  # noqa: BLE001 - freqtrade's modules catch their own; a notice never undoes books
            logger.warning(f"Could not send a held notification: {error_text(e)}")
    return len(messages or [])
