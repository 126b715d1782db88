"""install(): every patch the plugin applies to freqtrade, guarded, listed in PATCHES, undoable.

freqtrade has no entry point for third-party exchanges or RPC commands, so the plugin patches, and only
these (each listed with its reason in :data:`PATCHES` once applied):

- ``freqtrade.exchange.Bingx``: ``ExchangeResolver._load_exchange`` looks exchange classes up by name
  (``getattr(freqtrade.exchange, name.title())``); the plugin's futures subclass takes the name.
- ``RPC._rpc_force_exit``: ``/forceexit all`` from every front end (Telegram, REST, FreqUI,
  freqtrade-client) goes through it; ``all`` on live BingX futures becomes the one-request flatten.
- ``FreqtradeBot.startup``: registers the bot for the strategy hook and finishes an interrupted flatten.
- ``ApiServer.configure_app``: adds ``POST /api/v1/closeall`` and a ``/forceexit`` that keeps details.
- ``Telegram._init_telegram_app`` and ``Telegram._force_exit_action``: ``/closeall`` and words for
  ``/forceexit all``; ``telegram.bot_api_url`` (a self-hosted Telegram Bot API server, which freqtrade
  has no setting for) and the bot token masked in every log handler.
- ``Telegram._send_msg``: every chat message freqtrade or the plugin sends, masked (key, secret,
  signatures): freqtrade forwards exception texts (its own and ccxt's) to the chat.
- ``RPCManager.send_msg``: the texts of every RPC message (status, warnings, reasons) masked before any
  handler (Telegram, Discord, webhooks, the REST message stream) gets them.

Each patch checks that its target exists and has the expected signature, keeps the original and is
recorded in :data:`PATCHES`, so :func:`uninstall` can put everything back; a failed install undoes what
it did. Set ``BINGX_FREQTRADE_PLUGIN=0`` to switch it off.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["PATCHES", "TESTED_FREQTRADE", "IncompatibleFreqtrade", "Patch", "install", "is_installed", "uninstall"]

# The freqtrade release line the plugin is tested against (pyproject's [freqtrade] extra pins the same).
TESTED_FREQTRADE = (2026, 9)


class IncompatibleFreqtrade(ImportError):
    """The installed freqtrade is outside the tested range, or its seam changed shape."""


@dataclass(frozen=True)
class Patch:
    """One attribute the plugin replaced: where, what was there, what is there now, and why."""

    target: Any  # the module or class patched
    attribute: str
    original: Any
    replacement: Any
    why: str

    @property
    def name(self) -> str:
        return f"{getattr(self.target, '__name__', self.target)}.{self.attribute}"


# Every patch applied, in order. A later issue appends its flatten hooks here through _apply().
PATCHES: list[Patch] = []
_lock = threading.RLock()


def _versions() -> str:
    import ccxt
    import freqtrade

    return f"freqtrade {freqtrade.__version__}, ccxt {ccxt.__version__}"


def check_freqtrade_version(version: str | None = None) -> None:
    """Raise IncompatibleFreqtrade unless freqtrade is a 2026.9.x release (or a 2026.9 dev build)."""
    if version is None:
        import freqtrade

        version = freqtrade.__version__
    match = re.match(r"^(\d+)\.(\d+)", version)
    if not match or (int(match.group(1)), int(match.group(2))) != TESTED_FREQTRADE:
        raise IncompatibleFreqtrade(
            f"bingx-closeall-plugin's freqtrade layer is tested with freqtrade "
            f"{TESTED_FREQTRADE[0]}.{TESTED_FREQTRADE[1]}.x; found freqtrade {version}. "
            f"Install `bingx-closeall-plugin[freqtrade]` to get a matching freqtrade."
        )


def _apply(target: Any, attribute: str, replacement: Any, why: str) -> Patch:
    if not hasattr(target, attribute):
        raise IncompatibleFreqtrade(
            f"cannot patch {getattr(target, '__name__', target)}.{attribute}: it does not exist ({_versions()})"
        )
    patch = Patch(target, attribute, getattr(target, attribute), replacement, why)
    setattr(target, attribute, replacement)
    PATCHES.append(patch)
    logger.debug("bingx plugin patched %s (%s)", patch.name, why)
    return patch


def _check_resolver_shape() -> None:
    """The seam: ExchangeResolver must still look classes up by name in freqtrade.exchange."""
    import inspect

    import freqtrade.exchange as ft_exchange
    from freqtrade.exchange import MAP_EXCHANGE_CHILDCLASS, Exchange
    from freqtrade.resolvers import exchange_resolver

    stock = getattr(ft_exchange, "Bingx", None)
    problems = []
    if not (inspect.isclass(stock) and issubclass(stock, Exchange)):
        problems.append("freqtrade.exchange.Bingx is not an Exchange subclass")
    if getattr(exchange_resolver, "exchanges", None) is not ft_exchange:
        problems.append("ExchangeResolver no longer resolves classes from freqtrade.exchange")
    if not callable(getattr(exchange_resolver.ExchangeResolver, "_load_exchange", None)):
        problems.append("ExchangeResolver._load_exchange is gone")
    if MAP_EXCHANGE_CHILDCLASS.get("bingx", "bingx") != "bingx":
        problems.append(f"freqtrade maps 'bingx' to {MAP_EXCHANGE_CHILDCLASS['bingx']!r}")
    if problems:
        raise IncompatibleFreqtrade(
            "bingx-closeall-plugin cannot install into freqtrade: " + "; ".join(problems) + f" ({_versions()})"
        )


def is_installed() -> bool:
    with _lock:
        return bool(PATCHES)


def install() -> list[Patch]:
    """Make freqtrade resolve exchange ``bingx`` to the plugin's futures class. Idempotent.

    Raises IncompatibleFreqtrade (naming the versions found) when freqtrade is outside the tested range
    or its seam changed, instead of silently running freqtrade's spot-only class.
    """
    with _lock:
        if PATCHES:
            return list(PATCHES)
        if os.environ.get("BINGX_FREQTRADE_PLUGIN", "1").strip().lower() in ("0", "false", "no", "off"):
            logger.warning("BINGX_FREQTRADE_PLUGIN is off: freqtrade's own (spot-only) Bingx class stays in use")
            return []
        check_freqtrade_version()
        _check_resolver_shape()
        import freqtrade.exchange as ft_exchange

        from .exchange import Bingx

        stock = ft_exchange.Bingx
        if not issubclass(Bingx, stock):
            raise IncompatibleFreqtrade(f"the plugin's Bingx does not subclass freqtrade's ({_versions()})")
        try:
            _apply(ft_exchange, "Bingx", Bingx,
                   "ExchangeResolver looks exchange classes up by name in freqtrade.exchange; "
                   "freqtrade's Bingx is spot-only")
            _install_flatten_hooks()
        except BaseException:
            uninstall()  # all or nothing: never a half-installed plugin
            raise
        logger.info("bingx-closeall-plugin installed into freqtrade (%s)", _versions())
        return list(PATCHES)


def _check_signature(function: Any, expected: tuple[str, ...], where: str) -> None:
    import inspect

    if not callable(function):
        raise IncompatibleFreqtrade(f"cannot hook {where}: it is not callable ({_versions()})")
    found = tuple(inspect.signature(function).parameters)
    if found != expected:
        raise IncompatibleFreqtrade(
            f"cannot hook {where}: expected parameters {expected}, found {found} ({_versions()})"
        )


def _install_flatten_hooks() -> None:
    """The one-request flatten under /forceexit all, /closeall (REST, Telegram) and crash recovery."""
    from freqtrade.freqtradebot import FreqtradeBot
    from freqtrade.rpc import RPC, RPCManager
    from freqtrade.rpc.api_server.webserver import ApiServer
    from freqtrade.rpc.telegram import Telegram

    from ..redaction import mask, mask_root_handlers, secrets_of
    from . import telegram as tg
    from .flatten import get_flattener, register_bot
    from .reconcile import recover_interrupted
    from .rest_api import router

    targets = [
        (RPC, "_rpc_force_exit", ("self", "trade_id", "ordertype", "amount", "price")),
        (FreqtradeBot, "startup", ("self",)),
        (ApiServer, "configure_app", ("self", "app", "config")),
        (Telegram, "_init_telegram_app", ("self",)),
        (Telegram, "_force_exit_action", ("self", "trade_id")),
        (Telegram, "_send_msg", ("self", "msg", "parse_mode", "disable_notification", "keyboard", "callback_path",
                                 "reload_able", "query")),
        (RPCManager, "send_msg", ("self", "msg")),
    ]
    for cls, name, params in targets:
        _check_signature(getattr(cls, name, None), params, f"{cls.__name__}.{name}")

    original_force_exit = RPC._rpc_force_exit

    def _rpc_force_exit(self: Any, trade_id: str, ordertype: str | None = None, *,
                        amount: float | None = None, price: float | None = None) -> dict[str, Any]:
        if str(trade_id) == "all" and amount is None and price is None:
            from freqtrade.enums import State
            from freqtrade.rpc import RPCException

            flattener = get_flattener(self._freqtrade)
            if flattener.applies():
                if self._freqtrade.state == State.STOPPED:
                    raise RPCException("trader is not running")
                return flattener.force_exit_all()
        return original_force_exit(self, trade_id, ordertype, amount=amount, price=price)

    original_startup = FreqtradeBot.startup

    def startup(self: Any) -> None:
        if (self.config.get("telegram") or {}).get("enabled"):
            tg.bot_api_url(self.config["telegram"])  # a bad telegram.bot_api_url stops the bot, clearly
        original_startup(self)
        register_bot(self)
        if get_flattener(self).applies():
            recover_interrupted(self)

    original_configure_app = ApiServer.configure_app

    def configure_app(self: Any, app: Any, config: Any) -> Any:
        from fastapi import Depends
        from freqtrade.rpc.api_server.api_auth import http_basic_or_jwt_token
        from freqtrade.rpc.api_server.deps import is_trading_mode

        # Registered before freqtrade's routers: Starlette serves the first route that matches.
        app.include_router(router, prefix="/api/v1", tags=["BingX"],
                           dependencies=[Depends(http_basic_or_jwt_token), Depends(is_trading_mode)])
        return original_configure_app(self, app, config)

    tg.check_application_builder()
    original_init_app = Telegram._init_telegram_app

    def _init_telegram_app(self: Any) -> Any:
        mask_root_handlers(str(self._config["telegram"].get("token") or ""))  # PTB logs URLs holding it
        app = tg.build_application(self._config["telegram"]) or original_init_app(self)
        for handler in tg.handlers(self):
            app.add_handler(handler)
        return app

    original_send_msg = Telegram._send_msg

    async def _send_msg(self: Any, msg: str, *args: Any, **kwargs: Any) -> None:
        await original_send_msg(self, tg.masked(self, msg), *args, **kwargs)

    original_rpc_send_msg = RPCManager.send_msg

    def send_msg(self: Any, msg: Any) -> None:
        secrets = secrets_of(self._rpc._config.get("exchange") or {})
        if isinstance(msg, dict):
            # Plain strings only: enum members (the message type, order types) keep their type.
            msg = {key: mask(value, secrets) if type(value) is str else value for key, value in msg.items()}
        original_rpc_send_msg(self, msg)

    original_force_exit_action = Telegram._force_exit_action

    async def _force_exit_action(self: Any, trade_id: str) -> None:
        await tg.force_exit_action(original_force_exit_action, self, trade_id)

    _apply(RPC, "_rpc_force_exit", _rpc_force_exit,
           "/forceexit all from every front end: one BingX closeAllPositions instead of one order per trade")
    _apply(FreqtradeBot, "startup", startup,
           "register the bot for the strategy hook; finish a flatten the bot died in")
    _apply(ApiServer, "configure_app", configure_app,
           "POST /api/v1/closeall, and /forceexit answers that keep the flatten's details")
    _apply(Telegram, "_init_telegram_app", _init_telegram_app, "the /closeall command and its confirmation")
    _apply(Telegram, "_force_exit_action", _force_exit_action, "/forceexit all says what happened")
    _apply(Telegram, "_send_msg", _send_msg,
           "every chat message masked: freqtrade forwards exception texts (signed URLs) to the chat")
    _apply(RPCManager, "send_msg", send_msg,
           "every RPC message's texts masked before Telegram, Discord, webhooks or the message stream get them")


def uninstall() -> None:
    """Undo every patch in reverse order; a no-op when nothing is installed."""
    with _lock:
        while PATCHES:
            patch = PATCHES.pop()
            if getattr(patch.target, patch.attribute, None) is not patch.replacement:
                logger.warning("%s was changed by someone else after the plugin patched it; restoring anyway",
                               patch.name)
            setattr(patch.target, patch.attribute, patch.original)
