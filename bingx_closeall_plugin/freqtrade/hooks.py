"""The hooks :func:`~.install.install` applies to freqtrade: each one a wrapper around freqtrade's own method.

Every target's signature is checked first (:func:`~.compat.check_signature`), then each hook is applied and
recorded with its reason (:func:`~.patches.patch_attribute`); the list of them, and why each exists, is in
:mod:`.install`'s docstring.
"""

from __future__ import annotations

import logging
from typing import Any

from .compat import check_signature
from .patches import patch_attribute, shadow

logger = logging.getLogger(__name__)

__all__ = ["install_clock_hook", "install_flatten_hooks", "remove_clock_hook"]


def install_flatten_hooks() -> None:
    """The one-request flatten under /forceexit all, /closeall (REST, Telegram) and crash recovery."""
    from freqtrade.freqtradebot import FreqtradeBot
    from freqtrade.persistence import Trade
    from freqtrade.rpc import RPC, RPCManager
    from freqtrade.rpc.api_server.webserver import ApiServer
    from freqtrade.rpc.telegram import Telegram
    from freqtrade.wallets import Wallets

    from ..core.redaction import error_text, mask, mask_root_handlers, secrets_of
    from . import after_books, telegram as tg
    from .flatten import get_flattener, register_bot
    from .reconcile import recover_interrupted, wallet_updates_deferred
    from .rest_api import router
    from .settle import sweep
    from .startup_sync import sync_with_bingx

    # the parameters each must have are listed in .seams (per release where they differ: .releases)
    targets = [
        (RPC, "_rpc_force_exit"), (FreqtradeBot, "startup"), (FreqtradeBot, "process"),
        (FreqtradeBot, "handle_stoploss_on_exchange"), (FreqtradeBot, "handle_trade"),
        (FreqtradeBot, "handle_onexchange_order"), (FreqtradeBot, "manage_open_orders"),
        (FreqtradeBot, "execute_entry"), (FreqtradeBot, "handle_protections"),
        (ApiServer, "configure_app"), (Telegram, "_init_telegram_app"), (Telegram, "_force_exit_action"),
        (Wallets, "update"), (Telegram, "_send_msg"), (RPCManager, "send_msg"),
    ]
    for cls, name in targets:
        check_signature(getattr(cls, name, None), cls.__module__, f"{cls.__name__}.{name}")

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
        # A trade whose close a flatten already sent: its answer, not a second exit order for the same trade
        joined = get_flattener(self._freqtrade).wait_for_claim(trade_id)
        if joined is not None:
            return joined
        return original_force_exit(self, trade_id, ordertype, amount=amount, price=price)

    original_startup = FreqtradeBot.startup

    def startup(self: Any) -> None:
        if (self.config.get("telegram") or {}).get("enabled"):
            tg.bot_api_url(self.config["telegram"])  # a bad telegram.bot_api_url stops the bot, clearly
        flattener = get_flattener(self)
        with flattener.starting():  # a press meanwhile waits for the books to agree with BingX (Flattener.starting)
            original_startup(self)
            register_bot(self)
            if flattener.applies():
                # under the exit lock, as every other writer of trades: a force entry or exit through the REST API
                # (which answers before startup) waits for the recovery and the sync
                with self._exit_lock:
                    recovered = recover_interrupted(self)
                    sync_with_bingx(self, {t.pair for i in recovered
                                           if (t := Trade.session.get(Trade, i)) is not None})

    original_process = FreqtradeBot.process

    def process(self: Any) -> None:
        from .exchange import Bingx

        if not isinstance(self.exchange, Bingx):
            return original_process(self)
        flattener = get_flattener(self)
        flattener.before_loop_pass()  # a pass does not start beside a running flatten
        with self.exchange.loop_iteration():
            original_process(self)
        if flattener.applies() and not flattener.busy():
            try:
                sweep(self)  # an order left open in the books for a closed trade: ended at BingX (settle.sweep)
            except Exception as e:  # noqa: BLE001 - a check after the iteration must never stop the bot's loop
                Trade.rollback()
                logger.warning(f"The check for orders left open for closed trades failed ({error_text(e)}); "
                               "the next loop iteration tries again.")
        return None

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

    original_handle_onexchange_order = FreqtradeBot.handle_onexchange_order

    def handle_onexchange_order(self: Any, trade: Any) -> bool:
        if get_flattener(self).leaves_alone(trade):
            logger.info(f"Trade {trade.id}: its position is being closed by a BingX flatten, which books it.")
            return False  # "not deleted": the flatten books BingX's fills with exit reason force_exit
        return original_handle_onexchange_order(self, trade)

    original_manage_open_orders = FreqtradeBot.manage_open_orders

    def manage_open_orders(self: Any) -> None:
        if get_flattener(self).busy():
            return None  # this iteration's pass waits: the flatten books the orders of its trades, the next runs
        return original_manage_open_orders(self)

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
        if after_books.holding():  # a flatten writing its books on this thread: sent once the exit lock is free
            after_books.keep_message(self, msg)
            return
        original_rpc_send_msg(self, msg)

    original_force_exit_action = Telegram._force_exit_action

    async def _force_exit_action(self: Any, trade_id: str) -> None:
        await tg.force_exit_action(original_force_exit_action, self, trade_id)

    original_handle_protections = FreqtradeBot.handle_protections

    def handle_protections(self: Any, pair: str, side: Any) -> None:
        if after_books.holding():  # a flatten writing its books on this thread: done once the exit lock is free
            after_books.keep_protections(self, pair, side)
            return None
        return original_handle_protections(self, pair, side)

    original_update = Wallets.update

    def update(self: Any, require_update: bool = True) -> None:
        if wallet_updates_deferred(self):
            return None
        return original_update(self, require_update)

    patch_attribute(RPC, "_rpc_force_exit", _rpc_force_exit,
                    "/forceexit all from every front end: one BingX closeAllPositions instead of one order per trade; "
                    "a force exit of a trade a flatten is closing answers that flatten's result")
    patch_attribute(FreqtradeBot, "startup", startup,
                    "register the bot for the strategy hook; finish a flatten the bot died in; make the books agree "
                    "with what BingX did while the bot was down (startup_sync)")
    patch_attribute(FreqtradeBot, "process", process,
                    "one BingX open-orders read per loop iteration answers every order and stop query of that "
                    "iteration; after it, an order left open in the books for a closed trade is ended at BingX; "
                    "none starts while a flatten runs")
    patch_attribute(FreqtradeBot, "handle_stoploss_on_exchange", handle_stoploss_on_exchange,
                    "the loop leaves a trade alone while a flatten closes it: no stop re-placed after the "
                    "flatten's cancel, and the exit lock freed for the flatten's bookkeeping")
    patch_attribute(FreqtradeBot, "handle_trade", handle_trade,
                    "the loop prices no exit for a trade a flatten is closing")
    patch_attribute(FreqtradeBot, "handle_onexchange_order", handle_onexchange_order,
                    "the loop (its wallet check) and /reload_trade do not book a flatten's close as sold_on_exchange "
                    "before the flatten books it as force_exit")
    patch_attribute(FreqtradeBot, "manage_open_orders", manage_open_orders,
                    "the loop's open-order pass waits while a flatten books its trades: no cancel it sent booked "
                    "twice")
    patch_attribute(FreqtradeBot, "execute_entry", execute_entry,
                    "no trade is opened while a flatten runs: the flatten would close it, or book it as nobody's")
    patch_attribute(ApiServer, "configure_app", configure_app,
                    "POST /api/v1/closeall, and /forceexit answers that keep the flatten's details")
    patch_attribute(Telegram, "_init_telegram_app", _init_telegram_app,
                    "the /closeall command and its confirmation")
    patch_attribute(Telegram, "_force_exit_action", _force_exit_action, "/forceexit all says what happened")
    patch_attribute(FreqtradeBot, "handle_protections", handle_protections,
                    "a flatten's per-trade pair locks and protections done once its books are written and the exit "
                    "lock is free, before entries resume (after_books)")
    patch_attribute(Wallets, "update", update,
                    "one wallet refresh after the flatten's bookkeeping, not two signed requests per trade it closes")
    patch_attribute(Telegram, "_send_msg", _send_msg,
                    "every chat message masked: freqtrade forwards exception texts (signed URLs) to the chat")
    patch_attribute(RPCManager, "send_msg", send_msg,
                    "every RPC message's texts masked before Telegram, Discord, webhooks or the message stream "
                    "get them; a flatten's trade notifications sent once its books are written (after_books)")


def install_clock_hook() -> None:
    """Record the instance nonce the close path gives a plain ccxt bingx (e.g. a strategy's own client)."""
    from ..core import clock

    def record(exchange: Any, nonce: Any) -> None:
        shadow(exchange, "nonce", nonce, "a plain ccxt bingx signs with the local clock; this one follows BingX's")

    clock.shadow_nonce = record  # the plugin's own module: not a patch of anyone else's


def remove_clock_hook() -> None:
    from ..core import clock

    clock.shadow_nonce = clock.default_shadow_nonce
