"""install(): every patch the plugin applies to freqtrade, guarded, listed in PATCHES, undoable.

freqtrade has no entry point for third-party exchanges or RPC commands, so the plugin patches, and only
these (each listed with its reason in :data:`PATCHES` once applied):

- ``freqtrade.exchange.Bingx``: ``ExchangeResolver._load_exchange`` looks exchange classes up by name
  (``getattr(freqtrade.exchange, name.title())``); the plugin's futures subclass takes the name.
- ``RPC._rpc_force_exit``: ``/forceexit all`` from every front end (Telegram, REST, FreqUI,
  freqtrade-client) goes through it; ``all`` on live BingX futures becomes the one-request flatten.
- ``FreqtradeBot.startup``: registers the bot for the strategy hook and finishes an interrupted flatten.
- ``FreqtradeBot.process``: one loop iteration is the scope of the exchange class's one open-orders read,
  which answers freqtrade's per-trade order and stop queries (:mod:`.open_orders`).
- ``FreqtradeBot.handle_stoploss_on_exchange`` and ``FreqtradeBot.handle_trade``: the loop leaves a trade
  alone once a flatten has sent its close (:meth:`~.flatten.Flattener.leaves_alone`), until the flatten is done.
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
- ``Wallets.update``: the flatten's bookkeeping refreshes the wallets once instead of after every trade it
  closes; the class-level hook defers only the updates of the thread inside
  :func:`~.reconcile.one_wallet_sync` (a thread-local), so no wallet object is ever shadowed.

And at run time, recorded when they happen (:func:`add_log_filter`, :func:`shadow`, :func:`attach`):

- the bot's one :class:`~.flatten.Flattener`, kept on the ``FreqtradeBot`` object;

- a :class:`~bingx_closeall_plugin.redaction.SecretMasker` on each of freqtrade's log handlers (the
  exchange class adds it once freqtrade has configured logging), and the launcher's watch on the
  ``freqtrade`` logger for the configuration error freqtrade exits 0 on;
- an instance ``nonce`` on a plain ``ccxt.bingx`` that :func:`~bingx_closeall_plugin.closeall.set_clock_offset`
  resynchronised (the bot's own ccxt objects are the plugin's classes, built as such, and need none).

Each patch checks that its target exists and has the expected signature, keeps the original and is
recorded in :data:`PATCHES`, so :func:`uninstall` can put everything back; a failed install undoes what
it did. Set ``BINGX_FREQTRADE_PLUGIN=0`` to switch it off.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["MISSING", "PATCHES", "SIGNATURES", "TESTED_FREQTRADE", "UNTESTED_OPT_IN", "IncompatibleFreqtrade", "Patch",
           "add_log_filter", "attach", "install", "is_installed", "is_patched", "revert", "shadow", "uninstall"]

# The freqtrade release line the plugin is tested against (pyproject's [freqtrade] extra pins the same).
TESTED_FREQTRADE = (2026, 9)


class IncompatibleFreqtrade(ImportError):
    """The installed freqtrade is outside the tested range, or its seam changed shape."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # Patch.original of an instance attribute that did not exist (it is deleted on undo)


@dataclass(frozen=True)
class Patch:
    """One change the plugin made to an object it does not own: where, what was there, what is there now, why.

    An attribute patch (``undo`` None) is undone by setting ``original`` back, or deleting the attribute when
    it was :data:`MISSING` (an instance attribute that shadowed its class's). Anything else (a log filter
    added) carries its own ``undo``.
    """

    target: Any  # the module, class or object changed
    attribute: str
    original: Any
    replacement: Any
    why: str
    undo: Callable[[], None] | None = None

    @property
    def name(self) -> str:
        return f"{getattr(self.target, '__name__', type(self.target).__name__)}.{self.attribute}"

    def restore(self) -> None:
        if self.undo is not None:
            self.undo()
            return
        if getattr(self.target, self.attribute, None) is not self.replacement:
            logger.warning("%s was changed by someone else after the plugin patched it; restoring anyway", self.name)
        if self.original is MISSING:
            if self.attribute in vars(self.target):
                delattr(self.target, self.attribute)
        else:
            setattr(self.target, self.attribute, self.original)


# Every change applied, in order: the hooks install() applies, then what the plugin changes at run time.
PATCHES: list[Patch] = []
_lock = threading.RLock()
_installed = False


def _freqtrade_version() -> str:
    import freqtrade

    return str(freqtrade.__version__)


def _versions() -> str:
    import ccxt
    import freqtrade

    return f"freqtrade {freqtrade.__version__}, ccxt {ccxt.__version__}"


# The operator's opt-in to a freqtrade newer than the tested line (see check_freqtrade_version).
UNTESTED_OPT_IN = "BINGX_FREQTRADE_UNTESTED"

# Every freqtrade and ccxt method the plugin overrides, wraps or calls, with its parameters in the tested
# releases (freqtrade 2026.9, ccxt 4.5): (module, Class.method, parameter names). A release that renames,
# adds or drops a parameter of any of them is refused at install, before anything is patched.
SIGNATURES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # freqtrade.exchange.Bingx, subclassed by the plugin's futures class (freqtrade's methods it overrides)
    ("freqtrade.exchange.bingx", "Bingx.__init__",
     ("self", "config", "exchange_config", "validate", "load_leverage_tiers")),
    ("freqtrade.exchange.bingx", "Bingx._init_ccxt", ("self", "exchange_config", "sync", "ccxt_kwargs")),
    ("freqtrade.exchange.bingx", "Bingx.additional_exchange_init", ("self",)),
    ("freqtrade.exchange.bingx", "Bingx._lev_prep", ("self", "pair", "leverage", "side", "accept_fail")),
    ("freqtrade.exchange.bingx", "Bingx._set_leverage", ("self", "leverage", "pair", "accept_fail")),
    ("freqtrade.exchange.bingx", "Bingx.set_margin_mode", ("self", "pair", "margin_mode", "accept_fail", "params")),
    ("freqtrade.exchange.bingx", "Bingx.get_max_leverage", ("self", "pair", "stake_amount")),
    ("freqtrade.exchange.bingx", "Bingx.cancel_order", ("self", "order_id", "pair", "params")),
    ("freqtrade.exchange.bingx", "Bingx.fetch_positions", ("self", "pair", "params")),
    ("freqtrade.exchange.bingx", "Bingx._get_funding_fees_from_exchange", ("self", "pair", "since")),
    ("freqtrade.exchange.bingx", "Bingx.load_leverage_tiers", ("self",)),
    ("freqtrade.exchange.bingx", "Bingx.parse_leverage_tier", ("self", "tier")),
    ("freqtrade.exchange.bingx", "Bingx.dry_run_liquidation_price",
     ("self", "pair", "open_rate", "is_short", "amount", "stake_amount", "leverage", "wallet_balance", "open_trades")),
    # FreqtradeBot's methods the flatten and the recovery call
    ("freqtrade.freqtradebot", "FreqtradeBot.handle_onexchange_order", ("self", "trade")),
    ("freqtrade.freqtradebot", "FreqtradeBot.update_trade_state",
     ("self", "trade", "order_id", "action_order", "stoploss_order", "send_msg")),
    ("freqtrade.freqtradebot", "FreqtradeBot._notify_exit",
     ("self", "trade", "order_type", "fill", "sub_trade", "order")),
    # what the flatten does itself with a stop it cancelled unfilled (freqtrade's Trade.update_order, one commit)
    ("freqtrade.exchange.exchange", "Exchange.check_order_canceled_empty", ("self", "order")),
    ("freqtrade.persistence.trade_model", "Order.update_from_ccxt_object", ("self", "order")),
    # ccxt's bingx, subclassed (sync and async): what the subclasses override
    *((module, f"bingx.{name}", params) for module in ("ccxt", "ccxt.async_support") for name, params in (
        ("fetch2", ("self", "path", "api", "method", "params", "config")),
        ("fetch", ("self", "url", "method", "headers", "body")),
        ("handle_errors", ("self", "httpCode", "reason", "url", "method", "headers", "body", "response",
                           "requestHeaders", "requestBody")),
        ("nonce", ("self",)),
        ("close_all_positions", ("self", "params")),
        ("close_position", ("self", "symbol", "side", "params")),
    )),
)
# Instance attributes the plugin uses, set in a constructor (no signature to compare): (module, Class, attribute).
INSTANCE_ATTRIBUTES: tuple[tuple[str, str, str], ...] = (
    ("freqtrade.freqtradebot", "FreqtradeBot", "_exit_lock"),  # the flatten holds it so no exit runs beside it
)


def signature_problems() -> list[str]:
    """Every checked method whose parameters differ from the tested releases' (empty: all match)."""
    import importlib
    import inspect

    problems = []
    for module_name, qualname, expected in SIGNATURES:
        try:
            target: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                target = getattr(target, part)
            found = tuple(inspect.signature(target).parameters)
        except (ImportError, AttributeError, TypeError, ValueError) as e:
            problems.append(f"{module_name}.{qualname}: missing ({type(e).__name__})")
            continue
        if found != expected:
            problems.append(f"{module_name}.{qualname}: expected parameters {expected}, found {found}")
    for module_name, class_name, attribute in INSTANCE_ATTRIBUTES:
        try:
            source = inspect.getsource(getattr(importlib.import_module(module_name), class_name).__init__)
        except (ImportError, AttributeError, OSError, TypeError) as e:
            problems.append(f"{module_name}.{class_name}.{attribute}: cannot check ({type(e).__name__})")
            continue
        if f"self.{attribute} =" not in source:
            problems.append(f"{module_name}.{class_name}.__init__ no longer sets self.{attribute}")
    return problems


def untested_opt_in(environ: Any = None) -> bool:
    value = (os.environ if environ is None else environ).get(UNTESTED_OPT_IN, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def check_freqtrade_version(version: str | None = None, allow_untested: bool | None = None) -> bool:
    """The version policy. Returns True for the tested line (2026.9.x), False for a newer release the operator
    opted into (``BINGX_FREQTRADE_UNTESTED=1``); raises IncompatibleFreqtrade for anything else.

    An opted-in newer release still has to pass :func:`signature_problems` (install() checks it for every
    release), so the opt-in never runs the plugin on a freqtrade whose seams moved.
    """
    if version is None:
        import freqtrade

        version = freqtrade.__version__
    if allow_untested is None:
        allow_untested = untested_opt_in()
    tested = f"{TESTED_FREQTRADE[0]}.{TESTED_FREQTRADE[1]}.x"
    match = re.match(r"^(\d+)\.(\d+)", version)
    line = (int(match.group(1)), int(match.group(2))) if match else None
    if line == TESTED_FREQTRADE:
        return True
    if line is not None and line > TESTED_FREQTRADE and allow_untested:
        return False
    if line is not None and line > TESTED_FREQTRADE:
        raise IncompatibleFreqtrade(
            f"bingx-closeall-plugin's freqtrade layer is tested with freqtrade {tested}; found freqtrade {version}, "
            f"a newer release. Either install a tested freqtrade (pip install 'freqtrade=={tested[:-2]}.*', or the "
            f"plugin's [freqtrade] extra), or set {UNTESTED_OPT_IN}=1 to run it if every method the plugin hooks "
            "still has its tested signature (checked at start-up; it refuses otherwise)."
        )
    raise IncompatibleFreqtrade(
        f"bingx-closeall-plugin's freqtrade layer is tested with freqtrade {tested}; found freqtrade {version}. "
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


def shadow(obj: Any, attribute: str, replacement: Any, why: str) -> Patch:
    """Set an instance attribute over its class's (which must exist) and record it; undone by deleting it."""
    with _lock:
        if not hasattr(type(obj), attribute):
            raise IncompatibleFreqtrade(f"cannot shadow {type(obj).__name__}.{attribute}: the class has none "
                                        f"({_versions()})")
        original = vars(obj).get(attribute, MISSING)
        patch = Patch(obj, attribute, original, replacement, why)
        setattr(obj, attribute, replacement)
        PATCHES.append(patch)
        return patch


def attach(obj: Any, attribute: str, value: Any, why: str) -> Patch:
    """Give ``obj`` (e.g. the bot) a new attribute of the plugin's, recorded; undone by deleting it."""
    with _lock:
        if attribute in vars(obj) or hasattr(type(obj), attribute):
            raise IncompatibleFreqtrade(f"{type(obj).__name__} already has {attribute} ({_versions()})")
        patch = Patch(obj, attribute, MISSING, value, why)
        setattr(obj, attribute, value)
        PATCHES.append(patch)
        return patch


def add_log_filter(holder: logging.Filterer, log_filter: logging.Filter, why: str) -> Patch | None:
    """``holder.addFilter(log_filter)`` (a handler or a logger), recorded; None when it was there already."""
    with _lock:
        if log_filter in holder.filters:
            return None
        holder.addFilter(log_filter)
        patch = Patch(holder, "filters", None, log_filter, why, undo=lambda: holder.removeFilter(log_filter))
        PATCHES.append(patch)
        return patch


def revert(patch: Patch) -> None:
    """Undo one recorded change now (e.g. a filter needed only while freqtrade's main runs)."""
    with _lock:
        if patch in PATCHES:
            PATCHES.remove(patch)
            patch.restore()


def is_patched(target: Any, attribute: str) -> bool:
    """True when ``target.attribute`` is the plugin's recorded replacement, still in place."""
    with _lock:
        return any(p.target is target and p.attribute == attribute and getattr(target, attribute, None) is p.replacement
                   for p in PATCHES)


def is_installed() -> bool:
    with _lock:
        return _installed


def install() -> list[Patch]:
    """Make freqtrade resolve exchange ``bingx`` to the plugin's futures class. Idempotent.

    Raises IncompatibleFreqtrade (naming the versions found) when freqtrade is outside the tested range
    or its seam changed, instead of silently running freqtrade's spot-only class.
    """
    global _installed
    with _lock:
        if _installed:
            return list(PATCHES)
        if os.environ.get("BINGX_FREQTRADE_PLUGIN", "1").strip().lower() in ("0", "false", "no", "off"):
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
            _install_clock_hook()
        except BaseException:
            uninstall()  # all or nothing: never a half-installed plugin
            raise
        _installed = True
        # Before freqtrade configures logging nobody sees this; announce_active() says it again once it has.
        logger.debug("bingx-closeall-plugin installed into freqtrade (%s)", _versions())
        return list(PATCHES)


_announced = False


def plugin_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bingx-closeall-plugin")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def announce_active() -> None:
    """One INFO line, once per process, that the plugin is active: its version, freqtrade's and ccxt's, and
    the patches applied. Called by the plugin's exchange class, which freqtrade builds after it has set up
    its logging (install() runs before that, when no handler would show it)."""
    global _announced
    with _lock:
        if _announced or not _installed:
            return
        _announced = True
        names = [p.name for p in PATCHES if p.undo is None and not isinstance(p.target, logging.Filterer)]
        logger.info("bingx-closeall-plugin %s active (%s); %d patches applied: %s", plugin_version(), _versions(),
                    len(names), ", ".join(dict.fromkeys(names)))


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
    from freqtrade.wallets import Wallets

    from ..redaction import mask, mask_root_handlers, secrets_of
    from . import telegram as tg
    from .flatten import get_flattener, register_bot
    from .reconcile import recover_interrupted, wallet_updates_deferred
    from .rest_api import router

    targets = [
        (RPC, "_rpc_force_exit", ("self", "trade_id", "ordertype", "amount", "price")),
        (FreqtradeBot, "startup", ("self",)),
        (FreqtradeBot, "process", ("self",)),
        (FreqtradeBot, "handle_stoploss_on_exchange", ("self", "trade")),
        (FreqtradeBot, "handle_trade", ("self", "trade")),
        (FreqtradeBot, "execute_entry", ("self", "pair", "stake_amount", "price", "is_short", "ordertype",
                                         "enter_tag", "trade", "mode", "leverage_")),
        (ApiServer, "configure_app", ("self", "app", "config")),
        (Telegram, "_init_telegram_app", ("self",)),
        (Telegram, "_force_exit_action", ("self", "trade_id")),
        (Wallets, "update", ("self", "require_update")),
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

    original_process = FreqtradeBot.process

    def process(self: Any) -> None:
        from .exchange import Bingx

        if not isinstance(self.exchange, Bingx):
            return original_process(self)
        with self.exchange.loop_iteration():
            return original_process(self)

    original_handle_stoploss = FreqtradeBot.handle_stoploss_on_exchange

    def handle_stoploss_on_exchange(self: Any, trade: Any) -> bool:
        if get_flattener(self).leaves_alone(trade):
            return False  # "not closed by its stop": the flatten closes it
        return original_handle_stoploss(self, trade)

    original_handle_trade = FreqtradeBot.handle_trade

    def handle_trade(self: Any, trade: Any) -> bool:
        if get_flattener(self).leaves_alone(trade):
            return False  # "no exit": the flatten's close is already out
        return original_handle_trade(self, trade)

    original_execute_entry = FreqtradeBot.execute_entry

    def execute_entry(self: Any, pair: str, stake_amount: float, price: float | None = None, **kwargs: Any) -> bool:
        with get_flattener(self).entry() as allowed:
            if not allowed:
                logger.warning(f"Entry for {pair} skipped: a BingX flatten is in progress.")
                return False
            return original_execute_entry(self, pair, stake_amount, price, **kwargs)

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

    original_update = Wallets.update

    def update(self: Any, require_update: bool = True) -> None:
        if wallet_updates_deferred(self):
            return None
        return original_update(self, require_update)

    _apply(RPC, "_rpc_force_exit", _rpc_force_exit,
           "/forceexit all from every front end: one BingX closeAllPositions instead of one order per trade")
    _apply(FreqtradeBot, "startup", startup,
           "register the bot for the strategy hook; finish a flatten the bot died in")
    _apply(FreqtradeBot, "process", process,
           "one BingX open-orders read per loop iteration answers every order and stop query of that iteration")
    _apply(FreqtradeBot, "handle_stoploss_on_exchange", handle_stoploss_on_exchange,
           "the loop leaves a trade alone once a flatten sent its close: no stop re-placed after the flatten's "
           "cancel, and the exit lock freed for the flatten's bookkeeping")
    _apply(FreqtradeBot, "handle_trade", handle_trade,
           "the loop prices no exit for a trade whose close a flatten already sent")
    _apply(FreqtradeBot, "execute_entry", execute_entry,
           "no trade is opened while a flatten runs: the flatten would close it, or book it as nobody's")
    _apply(ApiServer, "configure_app", configure_app,
           "POST /api/v1/closeall, and /forceexit answers that keep the flatten's details")
    _apply(Telegram, "_init_telegram_app", _init_telegram_app, "the /closeall command and its confirmation")
    _apply(Telegram, "_force_exit_action", _force_exit_action, "/forceexit all says what happened")
    _apply(Wallets, "update", update,
           "one wallet refresh after the flatten's bookkeeping, not two signed requests per trade it closes")
    _apply(Telegram, "_send_msg", _send_msg,
           "every chat message masked: freqtrade forwards exception texts (signed URLs) to the chat")
    _apply(RPCManager, "send_msg", send_msg,
           "every RPC message's texts masked before Telegram, Discord, webhooks or the message stream get them")


def _install_clock_hook() -> None:
    """Record the instance nonce the close path gives a plain ccxt bingx (e.g. a strategy's own client)."""
    from .. import closeall

    def record(exchange: Any, nonce: Any) -> None:
        shadow(exchange, "nonce", nonce, "a plain ccxt bingx signs with the local clock; this one follows BingX's")

    closeall.shadow_nonce = record  # the plugin's own module: not a patch of anyone else's


def _remove_clock_hook() -> None:
    from .. import closeall

    closeall.shadow_nonce = closeall.default_shadow_nonce


def uninstall() -> None:
    """Undo every patch in reverse order, the run-time ones included; a no-op when nothing is installed."""
    global _installed
    with _lock:
        _remove_clock_hook()
        while PATCHES:
            PATCHES.pop().restore()
        _installed = False
