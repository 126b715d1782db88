"""What freqtrade does per closed trade that is not the trade's books, held while a flatten writes them.

For every trade it closes, freqtrade's ``update_trade_state`` also sends two RPC messages (``exit``, then
``exit_fill``; ``RPCManager.send_msg`` logs each whole message, rendered by freqtrade's console handler, and hands
it to every RPC module: Telegram, Discord, webhooks, the REST message stream) and runs ``handle_protections``: it
locks the pair for a candle (a committed ``PairLock`` row) and asks every protection, which first sums the profit
of every closed trade (``Wallets.get_starting_balance``). Measured at 200 trades in one flatten, these were about
a third of the time before the last trade was closed in the database, all of it under the bot's exit lock.

Neither changes a trade or an order. On the flatten's own thread, from :meth:`.flatten.Flattener.bookkeeping`
(:func:`hold`) until the flatten has let go of the exit lock (:func:`release`, from ``Flattener._own``), they are
kept in order instead: the messages as freqtrade built them (their figures are those of that moment), the
protections as ``(pair, side)``. :func:`release` runs the protections first, then sends the messages. The
flatten still stops entries until both are done, and the bot's loop starts no pass before the flatten is over
(:meth:`~.flatten.Flattener.before_loop_pass`), so no trade is opened on a pair before its lock is written: the
books stay what freqtrade would write. Every other thread, and the flatten's own notices before its books (a
rate-limit wait), are not held.

If the bot dies between the books' last commit and :func:`release`, the held messages are lost, as freqtrade's
own are when it dies between a commit and its ``send_msg``, and so are the pair locks of one candle (the
restart's own loop then may re-enter those pairs a candle early). ``BINGX_AFTER_BOOKS=0`` switches this off:
each trade's, as freqtrade does it, as it is booked (:mod:`.switches`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..core.redaction import error_text

logger = logging.getLogger(__name__)

__all__ = ["hold", "holding", "keep_message", "keep_protections", "release"]


class _Held(threading.local):
    # None on a thread that holds nothing
    messages: list[tuple[Any, Any]] | None = None  # (RPCManager, message), in the order freqtrade sent them
    protections: list[tuple[Any, Any, Any]] | None = None  # (FreqtradeBot, pair, side), in the order trades closed


_held = _Held()


def hold() -> None:
    """From now on, this thread's RPC messages and protections are kept until :func:`release` (idempotent)."""
    if not holding():
        _held.messages, _held.protections = [], []


def holding() -> bool:
    return _held.messages is not None


def keep_message(manager: Any, message: Any) -> None:
    """Keep ``message`` (already masked) for ``manager`` (freqtrade's ``RPCManager``)."""
    _kept(_held.messages, "keep_message").append((manager, message))


def keep_protections(bot: Any, pair: Any, side: Any) -> None:
    """Keep freqtrade's ``handle_protections(pair, side)`` of ``bot`` for :func:`release`."""
    _kept(_held.protections, "keep_protections").append((bot, pair, side))


def _kept(held: list[Any] | None, caller: str) -> list[Any]:
    if held is None:
        raise RuntimeError(f"{caller}() outside hold()")
    return held


def release() -> tuple[int, int]:
    """Stop holding; run the kept protections (freqtrade's own ``handle_protections``), then send the kept messages,
    each in order. Returns how many of each. An error in one is logged; the others still run."""
    messages, protections = _held.messages or [], _held.protections or []
    _held.messages, _held.protections = None, None
    for bot, pair, side in protections:
        try:
            bot.handle_protections(pair, side)  # not holding any more: freqtrade's own
        except Exception as e:  # noqa: BLE001 - the books are written; a lock that failed must not stop the rest
            logger.warning(f"Could not apply the protections for {pair} after the flatten: {error_text(e)}")
    for manager, message in messages:
        try:
            manager.send_msg(message)
        except Exception as e:  # noqa: BLE001 - freqtrade's modules catch their own; a notice never undoes books
            logger.warning(f"Could not send a held notification: {error_text(e)}")
    return len(protections), len(messages)
