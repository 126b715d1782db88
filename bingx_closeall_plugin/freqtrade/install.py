"""install(): every patch the plugin applies to freqtrade, guarded, listed in PATCHES, undoable.

freqtrade has no entry point for third-party exchanges or RPC commands, so the plugin patches, and only
these (each listed with its reason in :data:`PATCHES` once applied):

- ``freqtrade.exchange.Bingx``: ``ExchangeResolver._load_exchange`` looks exchange classes up by name
  (``getattr(freqtrade.exchange, name.title())``); the plugin's futures subclass takes the name.
- ``RPC._rpc_force_exit``: ``/forceexit all`` from every front end (Telegram, REST, FreqUI,
  freqtrade-client) goes through it; ``all`` on live BingX futures becomes the one-request flatten, and a force
  exit of one trade a running flatten is closing answers that flatten's result instead of sending an exit.
- ``FreqtradeBot.startup``: registers the bot for the strategy hook and finishes an interrupted flatten.
- ``FreqtradeBot.process``: one loop iteration is the scope of the exchange class's one open-orders read,
  which answers freqtrade's per-trade order and stop queries (:mod:`.open_orders`); an iteration does not start
  while a flatten runs (:meth:`~.flatten.Flattener.before_loop_pass`).
- ``FreqtradeBot.handle_stoploss_on_exchange``, ``FreqtradeBot.handle_trade`` and
  ``FreqtradeBot.handle_onexchange_order``: the loop (and ``/reload_trade``) leaves a trade alone from just before
  a flatten sends its close until the flatten has written its books (:meth:`~.flatten.Flattener.leaves_alone`):
  no stop re-placed, no exit priced, no close booked as ``sold_on_exchange`` before the flatten books it.
- ``FreqtradeBot.manage_open_orders``: the loop's open-order pass waits while a flatten has trades claimed (the
  flatten books the cancels and fills of their orders).
- ``FreqtradeBot.execute_entry``: skips an entry (returns False, as a refused entry does) while a flatten
  runs; force entries and the loop's entries both go through it.
- ``ApiServer.configure_app``: adds ``POST /api/v1/closeall`` and a ``/forceexit`` that keeps details.
- ``Telegram._init_telegram_app`` and ``Telegram._force_exit_action``: ``/closeall`` and words for
  ``/forceexit all``; ``telegram.bot_api_url`` (a self-hosted Telegram Bot API server, which freqtrade
  has no setting for) and the bot token masked in every log handler.
- ``Telegram._send_msg``: every chat message freqtrade or the plugin sends, masked (key, secret,
  signatures): freqtrade forwards exception texts (its own and ccxt's) to the chat.
- ``RPCManager.send_msg``: the texts of every RPC message (status, warnings, reasons) masked before any
  handler (Telegram, Discord, webhooks, the REST message stream) gets them.
- ``FreqtradeBot.handle_protections`` (and the RPC messages above): a flatten's per-trade pair locks, protections and
  notifications are done once its books are written and the exit lock is free, before entries resume
  (:mod:`.after_books`); every other thread's at once.
- ``Wallets.update``: the flatten's bookkeeping refreshes the wallets once instead of after every trade it
  closes; the class-level hook defers only the updates of the thread inside
  :func:`~.reconcile.one_wallet_sync` (a thread-local), so no wallet object is ever shadowed.

And at run time, recorded when they happen (:func:`add_log_filter`, :func:`shadow`, :func:`attach`):

- the bot's one :class:`~.flatten.Flattener`, kept on the ``FreqtradeBot`` object;

- a :class:`~bingx_closeall_plugin.core.redaction.SecretMasker` on each of freqtrade's log handlers (the
  exchange class adds it once freqtrade has configured logging), and the launcher's watch on the
  ``freqtrade`` logger for the configuration error freqtrade exits 0 on;
- an instance ``nonce`` on a plain ``ccxt.bingx`` that :func:`~bingx_closeall_plugin.core.clock.set_clock_offset`
  resynchronised (the bot's own ccxt objects are the plugin's classes, built as such, and need none).

Each patch checks that its target exists and has the expected signature, keeps the original and is
recorded in :data:`PATCHES`, so :func:`uninstall` can put everything back; a failed install undoes what
it did. Set ``BINGX_FREQTRADE_PLUGIN=0`` to switch it off.

This module is the install itself; the rest lives beside it and is re-exported here: :mod:`.compat` (the
version policy and the signature checks), :mod:`.patches` (:class:`Patch`, :data:`PATCHES` and the ways a
change is made and undone) and :mod:`.hooks` (the hooks themselves).
"""

from __future__ import annotations

import logging

from . import switches
from .compat import (
    INSTANCE_ATTRIBUTES,
    SIGNATURES,
    TESTED_FREQTRADE,
    UNTESTED_OPT_IN,
    IncompatibleFreqtrade,
    check_freqtrade_version,
    check_resolver_shape,
    freqtrade_version as _freqtrade_version,
    plugin_version,
    signature_problems as _seam_problems,
    untested_opt_in,
    versions as _versions,
)
from .hooks import install_clock_hook, install_flatten_hooks, remove_clock_hook
from .patches import (
    LOCK,
    MISSING,
    PATCHES,
    Patch,
    add_log_filter,
    announce_active,
    attach,
    is_patched,
    patch_attribute,
    revert,
    shadow,
)

logger = logging.getLogger(__name__)

__all__ = ["INSTANCE_ATTRIBUTES", "MISSING", "PATCHES", "SIGNATURES", "TESTED_FREQTRADE", "UNTESTED_OPT_IN",
           "IncompatibleFreqtrade", "Patch", "add_log_filter", "announce_active", "attach", "check_freqtrade_version",
           "install", "is_installed", "is_patched", "plugin_version", "revert", "shadow", "signature_problems",
           "uninstall", "untested_opt_in"]

_installed = False


def signature_problems() -> list[str]:
    """:func:`.seams.signature_problems` for the installed release, with freqtrade's own method wherever a hook of
    the plugin replaced it (so it holds after install too)."""
    with LOCK:
        originals = {(id(p.target), p.attribute): p.original for p in PATCHES if p.undo is None}
    return _seam_problems(originals=originals)


def is_installed() -> bool:
    with LOCK:
        return _installed


def install() -> list[Patch]:
    """Make freqtrade resolve exchange ``bingx`` to the plugin's futures class. Idempotent.

    Raises IncompatibleFreqtrade (naming the versions found) when freqtrade is outside the tested range
    or its seam changed, instead of silently running freqtrade's spot-only class.
    """
    global _installed
    with LOCK:
        if _installed:
            return list(PATCHES)
        if not switches.on(switches.FREQTRADE_PLUGIN):
            logger.warning("BINGX_FREQTRADE_PLUGIN is off: freqtrade's own (spot-only) Bingx class stays in use")
            return []
        tested = check_freqtrade_version()
        problems = signature_problems()
        if problems:
            raise IncompatibleFreqtrade(
                f"bingx-closeall-plugin cannot install into freqtrade ({_versions()}): "
                + "; ".join(problems) + ". Install a tested freqtrade (the plugin's [freqtrade] extra).")
        if not tested:
            logger.warning("freqtrade %s is newer than the tested %d.%d.x; running because %s is set and every "
                           "hooked method has its tested signature", _freqtrade_version(), *TESTED_FREQTRADE,
                           UNTESTED_OPT_IN)
        check_resolver_shape()
        import freqtrade.exchange as ft_exchange

        from .exchange import Bingx

        stock = ft_exchange.Bingx
        if not issubclass(Bingx, stock):
            raise IncompatibleFreqtrade(f"the plugin's Bingx does not subclass freqtrade's ({_versions()})")
        try:
            patch_attribute(ft_exchange, "Bingx", Bingx,
                            "ExchangeResolver looks exchange classes up by name in freqtrade.exchange; "
                            "freqtrade's Bingx is spot-only")
            install_flatten_hooks()
            install_clock_hook()
        except BaseException:
            uninstall()  # all or nothing: never a half-installed plugin
            raise
        _installed = True
        # Before freqtrade configures logging nobody sees this; announce_active() says it again once it has.
        logger.debug("bingx-closeall-plugin installed into freqtrade (%s)", _versions())
        return list(PATCHES)


def uninstall() -> None:
    """Undo every patch in reverse order, the run-time ones included; a no-op when nothing is installed."""
    global _installed
    with LOCK:
        remove_clock_hook()
        while PATCHES:
            PATCHES.pop().restore()
        _installed = False
