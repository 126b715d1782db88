"""Every freqtrade name the plugin uses, and the check that the installed freqtrade still has each with its shape.

The plugin calls, overrides, wraps and reads freqtrade's internals (freqtrade has no extension points for a
third-party exchange or RPC command). Each one is listed here, once, so :func:`signature_problems` can refuse a
release whose seams moved before anything is patched (:func:`~.install.install`), never at the press of the panic
button: a method with its parameters (:data:`SIGNATURES`), a class attribute, column or property
(:data:`ATTRIBUTES`), an attribute freqtrade's constructors set (:data:`INSTANCE_ATTRIBUTES`) and every module-level
name and enum member the plugin imports (:data:`NAMES`). ``tests/test_freqtrade_seams.py`` reads the plugin's code
and fails when it uses a freqtrade name that is not listed.

Parameters are the newest supported release's; where a supported release differs, :mod:`.releases` says how and
the check expects that release's shape.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from . import releases

__all__ = ["ATTRIBUTES", "INSTANCE_ATTRIBUTES", "NAMES", "SIGNATURES", "expected_parameters", "signature_problems"]

# (module, Class.method, parameter names): every freqtrade and ccxt method the plugin overrides, wraps or calls.
SIGNATURES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # freqtrade's Bingx (and the Exchange it extends), which the plugin subclasses: what it overrides, calls on
    # itself (super() and self) and calls on the bot's exchange, resolved through Bingx as the plugin's calls are
    ('freqtrade.rpc.api_server.webserver', 'ApiServer.configure_app', ('self', 'app', 'config')),
    ('freqtrade.exchange.bingx', 'Bingx.__init__',
     ('self', 'config', 'exchange_config', 'validate', 'load_leverage_tiers')),
    ('freqtrade.exchange.bingx', 'Bingx._get_funding_fees_from_exchange', ('self', 'pair', 'since')),
    ('freqtrade.exchange.bingx', 'Bingx._get_params',
     ('self', 'side', 'ordertype', 'leverage', 'reduceOnly', 'time_in_force')),
    ('freqtrade.exchange.bingx', 'Bingx._init_ccxt', ('self', 'exchange_config', 'sync', 'ccxt_kwargs')),
    ('freqtrade.exchange.bingx', 'Bingx._lev_prep', ('self', 'pair', 'leverage', 'side', 'accept_fail')),
    ('freqtrade.exchange.bingx', 'Bingx._log_exchange_response', ('self', 'endpoint', 'response', 'add_info')),
    ('freqtrade.exchange.bingx', 'Bingx._order_contracts_to_amount', ('self', 'order')),
    ('freqtrade.exchange.bingx', 'Bingx._set_leverage', ('self', 'leverage', 'pair', 'accept_fail')),
    ('freqtrade.exchange.bingx', 'Bingx.additional_exchange_init', ('self',)),
    ('freqtrade.exchange.bingx', 'Bingx.cache_leverage_tiers', ('self', 'tiers', 'stake_currency')),
    ('freqtrade.exchange.bingx', 'Bingx.cancel_order', ('self', 'order_id', 'pair', 'params')),
    ('freqtrade.exchange.bingx', 'Bingx.check_order_canceled_empty', ('self', 'order')),
    ('freqtrade.exchange.bingx', 'Bingx.create_stoploss',
     ('self', 'pair', 'amount', 'stop_price', 'order_types', 'side', 'leverage')),
    ('freqtrade.exchange.bingx', 'Bingx.dry_run_liquidation_price',
     ('self', 'pair', 'open_rate', 'is_short', 'amount', 'stake_amount', 'leverage', 'wallet_balance', 'open_trades')),
    ('freqtrade.exchange.bingx', 'Bingx.exchange_has', ('self', 'endpoint')),
    ('freqtrade.exchange.bingx', 'Bingx.fetch_funding_rate', ('self', 'pair')),
    ('freqtrade.exchange.bingx', 'Bingx.fetch_order', ('self', 'order_id', 'pair', 'params')),
    ('freqtrade.exchange.bingx', 'Bingx.fetch_order_or_stoploss_order',
     ('self', 'order_id', 'pair', 'stoploss_order')),
    ('freqtrade.exchange.bingx', 'Bingx.fetch_orders', ('self', 'pair', 'since', 'params')),
    ('freqtrade.exchange.bingx', 'Bingx.fetch_positions', ('self', 'pair', 'params')),
    ('freqtrade.exchange.bingx', 'Bingx.get_contract_size', ('self', 'pair')),
    ('freqtrade.exchange.bingx', 'Bingx.price_to_precision', ('self', 'pair', 'price', 'rounding_mode')),
    ('freqtrade.exchange.bingx', 'Bingx.get_fee',
     ('self', 'symbol', 'order_type', 'side', 'amount', 'price', 'taker_or_maker')),
    ('freqtrade.exchange.bingx', 'Bingx.get_maintenance_ratio_and_amt', ('self', 'pair', 'notional_value')),
    ('freqtrade.exchange.bingx', 'Bingx.get_max_leverage', ('self', 'pair', 'stake_amount')),
    ('freqtrade.exchange.bingx', 'Bingx.get_pair_base_currency', ('self', 'pair')),
    ('freqtrade.exchange.bingx', 'Bingx.get_precision_amount', ('self', 'pair')),
    ('freqtrade.exchange.bingx', 'Bingx.get_precision_price', ('self', 'pair')),
    # quotes.py: a loop pass's one ticker read answers freqtrade's top-of-book and ticker asks
    ('freqtrade.exchange.bingx', 'Bingx.fetch_l2_order_book', ('self', 'pair', 'limit')),
    ('freqtrade.exchange.bingx', 'Bingx.fetch_ticker', ('self', 'pair')),
    ('freqtrade.exchange.bingx', 'Bingx.get_rate',
     ('self', 'pair', 'refresh', 'side', 'is_short', 'order_book', 'ticker')),
    ('freqtrade.exchange.bingx', 'Bingx.load_cached_leverage_tiers', ('self', 'stake_currency', 'cache_time')),
    ('freqtrade.exchange.bingx', 'Bingx.load_leverage_tiers', ('self',)),
    ('freqtrade.exchange.bingx', 'Bingx.market_is_future', ('self', 'market')),
    ('freqtrade.exchange.bingx', 'Bingx.parse_leverage_tier', ('self', 'tier')),
    ('freqtrade.exchange.bingx', 'Bingx.set_margin_mode',
     ('self', 'pair', 'margin_mode', 'accept_fail', 'params')),
    ('freqtrade.freqtradebot', 'FreqtradeBot._notify_exit',
     ('self', 'trade', 'order_type', 'fill', 'sub_trade', 'order')),
    ('freqtrade.freqtradebot', 'FreqtradeBot.cancel_stoploss_on_exchange', ('self', 'trade', 'allow_nonblocking')),
    ('freqtrade.freqtradebot', 'FreqtradeBot.execute_entry',
     ('self', 'pair', 'stake_amount', 'price', 'is_short', 'ordertype', 'enter_tag', 'trade', 'mode', 'leverage_')),
    ('freqtrade.freqtradebot', 'FreqtradeBot.execute_trade_exit',
     ('self', 'trade', 'limit', 'exit_check', 'exit_tag', 'ordertype', 'sub_trade_amt', 'skip_custom_exit_price')),
    ('freqtrade.freqtradebot', 'FreqtradeBot.handle_cancel_enter',
     ('self', 'trade', 'order', 'order_obj', 'reason', 'replacing')),
    ('freqtrade.freqtradebot', 'FreqtradeBot.handle_cancel_exit', ('self', 'trade', 'order', 'order_obj', 'reason')),
    ('freqtrade.freqtradebot', 'FreqtradeBot.handle_onexchange_order', ('self', 'trade')),
    ('freqtrade.freqtradebot', 'FreqtradeBot.handle_protections', ('self', 'pair', 'side')),
    ('freqtrade.freqtradebot', 'FreqtradeBot.handle_stoploss_on_exchange', ('self', 'trade')),
    ('freqtrade.freqtradebot', 'FreqtradeBot.handle_trade', ('self', 'trade')),
    ('freqtrade.freqtradebot', 'FreqtradeBot.manage_open_orders', ('self',)),
    ('freqtrade.freqtradebot', 'FreqtradeBot.process', ('self',)),
    ('freqtrade.freqtradebot', 'FreqtradeBot.startup', ('self',)),
    ('freqtrade.freqtradebot', 'FreqtradeBot.update_trade_state',
     ('self', 'trade', 'order_id', 'action_order', 'stoploss_order', 'send_msg')),
    ('freqtrade.strategy.interface', 'IStrategy.confirm_trade_exit',
     ('self', 'pair', 'trade', 'order_type', 'amount', 'rate', 'time_in_force', 'exit_reason', 'current_time',
      'kwargs')),
    ('freqtrade.strategy.interface', 'IStrategy.get_strategy_name', ('self',)),
    ('freqtrade.persistence.trade_model', 'Order.order_by_id', ('order_id', 'pair')),
    ('freqtrade.persistence.trade_model', 'Order.parse_from_ccxt_object', ('order', 'pair', 'side', 'amount', 'price')),
    ('freqtrade.persistence.trade_model', 'Order.update_from_ccxt_object', ('self', 'order')),
    ('freqtrade.rpc.rpc', 'RPC._rpc_force_exit', ('self', 'trade_id', 'ordertype', 'amount', 'price')),
    ('freqtrade.rpc.rpc_manager', 'RPCManager.send_msg', ('self', 'msg')),
    ('freqtrade.rpc.telegram', 'Telegram._force_exit_action', ('self', 'trade_id')),
    ('freqtrade.rpc.telegram', 'Telegram._init_telegram_app', ('self',)),
    ('freqtrade.rpc.telegram', 'Telegram._send_msg',
     ('self', 'msg', 'parse_mode', 'disable_notification', 'keyboard', 'callback_path', 'reload_able', 'query')),
    ('freqtrade.persistence.trade_model', 'LocalTrade.adjust_stop_loss',
     ('self', 'current_price', 'stoploss', 'initial', 'allow_refresh')),
    ('freqtrade.persistence.trade_model', 'Trade.commit', ()),
    ('freqtrade.persistence.trade_model', 'Trade.rollback', ()),  # hooks: a failed sweep leaves the session clean
    ('freqtrade.persistence.trade_model', 'LocalTrade.get_custom_data', ('self', 'key', 'default')),
    ('freqtrade.persistence.trade_model', 'LocalTrade.get_open_trades', ()),
    ('freqtrade.persistence.trade_model', 'Trade.get_trades', ('trade_filter', 'include_orders')),
    ('freqtrade.persistence.trade_model', 'LocalTrade.recalc_trade_from_orders', ('self', 'is_closing')),
    ('freqtrade.persistence.trade_model', 'LocalTrade.set_custom_data', ('self', 'key', 'value')),
    ('freqtrade.wallets', 'Wallets.update', ('self', 'require_update')),
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
# (module, Class.attribute): columns the plugin reads or writes, properties, class attributes (the sessions
# init_db sets, a strategy's annotated settings).
ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ('freqtrade.exchange.bingx', 'Bingx._ccxt_params'),
    ('freqtrade.exchange.bingx', 'Bingx.id'),
    ('freqtrade.exchange.bingx', 'Bingx.markets'),
    ('freqtrade.exchange.bingx', 'Bingx.precisionMode'),
    ('freqtrade.exchange.bingx', 'Bingx.precision_mode_price'),
    ('freqtrade.strategy.interface', 'IStrategy.stoploss'),
    ('freqtrade.persistence.trade_model', 'Order.ft_is_open'),
    ('freqtrade.persistence.trade_model', 'Order.ft_trade_id'),  # settle.sweep: closed trades' open rows
    ('freqtrade.persistence.trade_model', 'Order.id'),
    ('freqtrade.persistence.trade_model', 'Order.ft_order_side'),
    ('freqtrade.persistence.trade_model', 'Order.ft_order_tag'),
    ('freqtrade.persistence.trade_model', 'Order.ft_pair'),  # releases.order_by_id before 2026.8
    ('freqtrade.persistence.trade_model', 'Order.order_date'),
    ('freqtrade.persistence.trade_model', 'Order.order_date_utc'),
    ('freqtrade.persistence.trade_model', 'Order.order_id'),
    ('freqtrade.persistence.trade_model', 'Order.session'),
    ('freqtrade.persistence.trade_model', 'Order.status'),  # settle: a cancelled order's row ended
    ('freqtrade.persistence.trade_model', 'Trade.amount'),
    ('freqtrade.persistence.trade_model', 'Trade.amount_precision'),
    ('freqtrade.persistence.trade_model', 'Trade.amount_requested'),
    ('freqtrade.persistence.custom_data', 'CustomDataWrapper.use_db'),
    ('freqtrade.persistence.custom_data', '_CustomData.cd_key'),
    ('freqtrade.persistence.custom_data', '_CustomData.cd_type'),
    ('freqtrade.persistence.custom_data', '_CustomData.cd_value'),
    ('freqtrade.persistence.custom_data', '_CustomData.created_at'),
    ('freqtrade.persistence.custom_data', '_CustomData.ft_trade_id'),
    ('freqtrade.persistence.custom_data', '_CustomData.session'),
    ('freqtrade.persistence.trade_model', 'Trade.base_currency'),
    ('freqtrade.persistence.trade_model', 'Trade.close_rate'),
    ('freqtrade.persistence.trade_model', 'Trade.contract_size'),
    ('freqtrade.persistence.trade_model', 'Trade.enter_tag'),
    ('freqtrade.persistence.trade_model', 'LocalTrade.entry_side'),
    ('freqtrade.persistence.trade_model', 'Trade.exchange'),
    ('freqtrade.persistence.trade_model', 'Trade.exit_order_status'),
    ('freqtrade.persistence.trade_model', 'Trade.exit_reason'),
    ('freqtrade.persistence.trade_model', 'LocalTrade.exit_side'),
    ('freqtrade.persistence.trade_model', 'Trade.fee_close'),
    ('freqtrade.persistence.trade_model', 'Trade.fee_open'),
    ('freqtrade.persistence.trade_model', 'Trade.funding_fees'),
    ('freqtrade.persistence.trade_model', 'LocalTrade.has_open_orders'),
    ('freqtrade.persistence.trade_model', 'LocalTrade.has_open_sl_orders'),
    ('freqtrade.persistence.trade_model', 'Trade.id'),
    ('freqtrade.persistence.trade_model', 'Trade.is_open'),
    ('freqtrade.persistence.trade_model', 'Trade.is_short'),
    ('freqtrade.persistence.trade_model', 'Trade.leverage'),
    ('freqtrade.persistence.trade_model', 'Trade.open_date'),
    ('freqtrade.persistence.trade_model', 'LocalTrade.open_date_utc'),
    ('freqtrade.persistence.trade_model', 'Trade.open_rate'),
    ('freqtrade.persistence.trade_model', 'Trade.open_rate_requested'),
    ('freqtrade.persistence.trade_model', 'Trade.orders'),
    ('freqtrade.persistence.trade_model', 'Trade.pair'),
    ('freqtrade.persistence.trade_model', 'Trade.precision_mode'),
    ('freqtrade.persistence.trade_model', 'Trade.precision_mode_price'),
    ('freqtrade.persistence.trade_model', 'Trade.price_precision'),
    ('freqtrade.persistence.trade_model', 'Trade.session'),
    ('freqtrade.persistence.trade_model', 'Trade.stake_amount'),
    ('freqtrade.persistence.trade_model', 'Trade.stake_currency'),
    ('freqtrade.persistence.trade_model', 'Trade.strategy'),
    ('freqtrade.persistence.trade_model', 'Trade.timeframe'),
    ('freqtrade.persistence.trade_model', 'Trade.trading_mode'),
)
# (module, Class, attribute): attributes freqtrade's constructors set on the instance (no class attribute to check).
INSTANCE_ATTRIBUTES: tuple[tuple[str, str, str], ...] = (
    ('freqtrade.exchange.bingx', 'Bingx', '_api'),
    ('freqtrade.exchange.bingx', 'Bingx', '_cache_lock'),  # the rate caches resized under freqtrade's own lock
    ('freqtrade.exchange.bingx', 'Bingx', '_entry_rate_cache'),
    ('freqtrade.exchange.bingx', 'Bingx', '_exit_rate_cache'),
    ('freqtrade.exchange.bingx', 'Bingx', '_config'),
    ('freqtrade.exchange.bingx', 'Bingx', 'margin_mode'),
    ('freqtrade.exchange.bingx', 'Bingx', 'trading_mode'),
    ('freqtrade.freqtradebot', 'FreqtradeBot', '_exit_lock'),
    ('freqtrade.freqtradebot', 'FreqtradeBot', 'config'),
    ('freqtrade.freqtradebot', 'FreqtradeBot', 'exchange'),
    ('freqtrade.freqtradebot', 'FreqtradeBot', 'rpc'),
    ('freqtrade.freqtradebot', 'FreqtradeBot', 'state'),
    ('freqtrade.freqtradebot', 'FreqtradeBot', 'strategy'),
    ('freqtrade.freqtradebot', 'FreqtradeBot', 'trading_mode'),
    ('freqtrade.freqtradebot', 'FreqtradeBot', 'wallets'),
    ('freqtrade.rpc.rpc', 'RPC', '_config'),
    ('freqtrade.rpc.rpc', 'RPC', '_freqtrade'),
    ('freqtrade.rpc.rpc_manager', 'RPCManager', '_rpc'),
    ('freqtrade.rpc.rpc', 'RPCHandler', '_config'),
)
# (module, name or Class.MEMBER): what the plugin imports from freqtrade, and the enum members it uses.
NAMES: tuple[tuple[str, str], ...] = (
    ('freqtrade', '__version__'),
    ('freqtrade.constants', 'BuySell'),
    ('freqtrade.enums', 'ExitCheckTuple'),
    ('freqtrade.enums', 'ExitType'),
    ('freqtrade.enums', 'MarginMode'),
    ('freqtrade.enums', 'PriceType'),
    ('freqtrade.enums', 'RPCMessageType'),
    ('freqtrade.enums', 'RunMode'),
    ('freqtrade.enums', 'State'),
    ('freqtrade.enums', 'TradingMode'),
    ('freqtrade.enums', 'ExitType.FORCE_EXIT'),
    ('freqtrade.enums', 'ExitType.LIQUIDATION'),
    ('freqtrade.enums', 'ExitType.SOLD_ON_EXCHANGE'),
    ('freqtrade.enums', 'ExitType.STOPLOSS_ON_EXCHANGE'),
    ('freqtrade.enums', 'MarginMode.CROSS'),
    ('freqtrade.enums', 'MarginMode.ISOLATED'),
    ('freqtrade.enums', 'MarginMode.NONE'),
    ('freqtrade.enums', 'PriceType.INDEX'),
    ('freqtrade.enums', 'PriceType.LAST'),
    ('freqtrade.enums', 'PriceType.MARK'),
    ('freqtrade.enums', 'RPCMessageType.WARNING'),
    ('freqtrade.enums', 'RunMode.DRY_RUN'),
    ('freqtrade.enums', 'RunMode.LIVE'),
    ('freqtrade.enums', 'State.PAUSED'),
    ('freqtrade.enums', 'State.RUNNING'),
    ('freqtrade.enums', 'State.STOPPED'),
    ('freqtrade.enums', 'TradingMode.FUTURES'),
    ('freqtrade.enums', 'TradingMode.SPOT'),
    ('freqtrade.exceptions', 'DDosProtection'),
    ('freqtrade.exceptions', 'InvalidOrderException'),
    ('freqtrade.exceptions', 'OperationalException'),
    ('freqtrade.exceptions', 'TemporaryError'),
    ('freqtrade.exchange', 'Bingx'),
    ('freqtrade.exchange', 'Exchange'),
    ('freqtrade.exchange', 'MAP_EXCHANGE_CHILDCLASS'),
    ('freqtrade.exchange', 'timeframe_to_minutes'),
    ('freqtrade.exchange', 'MAP_EXCHANGE_CHILDCLASS.get'),
    ('freqtrade.exchange.bingx', 'Bingx'),
    ('freqtrade.exchange.bingx', 'Bingx._ft_has'),
    ('freqtrade.exchange.common', 'retrier'),
    ('freqtrade.exchange.exchange_types', 'CcxtOrder'),
    ('freqtrade.exchange.exchange_types', 'CcxtPosition'),
    ('freqtrade.exchange.exchange_types', 'FtHas'),
    ('freqtrade.exchange.exchange_utils', 'ROUND_DOWN'),
    ('freqtrade.exchange.exchange_utils', 'ROUND_UP'),
    ('freqtrade.exchange.exchange_types', 'OrderBook'),
    ('freqtrade.exchange.exchange_types', 'Ticker'),
    ('freqtrade.freqtradebot', 'FreqtradeBot'),
    ('freqtrade.main', 'main'),
    ('freqtrade.misc', 'deep_merge_dicts'),
    ('freqtrade.persistence', 'Order'),
    ('freqtrade.persistence.custom_data', 'CustomDataWrapper'),
    ('freqtrade.persistence.custom_data', '_CustomData'),
    ('freqtrade.persistence', 'Trade'),
    ('freqtrade.plugins.pairlist.pairlist_helpers', 'expand_pairlist'),
    ('freqtrade.resolvers', 'exchange_resolver'),
    ('freqtrade.resolvers.exchange_resolver', 'ExchangeResolver'),
    ('freqtrade.rpc', 'RPC'),
    ('freqtrade.rpc', 'RPCException'),
    ('freqtrade.rpc', 'RPCManager'),
    ('freqtrade.rpc', 'telegram'),
    ('freqtrade.rpc.api_server.api_auth', 'http_basic_or_jwt_token'),
    ('freqtrade.rpc.api_server.api_schemas', 'ForceExitPayload'),
    ('freqtrade.rpc.api_server.deps', 'get_rpc'),
    ('freqtrade.rpc.api_server.deps', 'is_trading_mode'),
    ('freqtrade.rpc.api_server.webserver', 'ApiServer'),
    ('freqtrade.rpc.telegram', 'Application'),
    ('freqtrade.rpc.telegram', 'Telegram'),
    ('freqtrade.rpc.telegram', 'authorized_only'),
    ('freqtrade.rpc.telegram', 'safe_async_db'),
    ('freqtrade.strategy.strategy_wrapper', 'strategy_safe_wrapper'),
    ('freqtrade.util', 'FtTTLCache'),
    ('freqtrade.util', 'dt_now'),
    ('freqtrade.util', 'dt_ts'),
    ('freqtrade.wallets', 'Wallets'),
)


def expected_parameters(module: str, qualname: str, line: tuple[int, int] | None = None) -> tuple[str, ...] | None:
    """The parameters ``module.qualname`` has on freqtrade release ``line`` (default: the installed one); None
    where the plugin does not use it on that release (:data:`.releases.CHANGES`)."""
    line = releases.installed_line() if line is None else line
    for change in releases.CHANGES:
        if (change.module, change.qualname) == (module, qualname):
            return change.parameters(line)
    for listed_module, listed, params in SIGNATURES:
        if (listed_module, listed) == (module, qualname):
            return params
    raise KeyError(f"{module}.{qualname} is not a listed seam")


def _resolve(module_name: str, dotted: str, originals: Mapping[tuple[int, str], Any] | None = None) -> Any:
    """``module.dotted``; with ``originals`` ((id(owner), name) -> what was there), freqtrade's own method where a
    hook of the plugin replaced it (:func:`.install.signature_problems` passes them: checked after install too)."""
    target: Any = importlib.import_module(module_name)
    for part in dotted.split("."):
        owner, target = target, getattr(target, part)
        target = (originals or {}).get((id(owner), part), target)
    return target


def _sets_attribute(cls: type, attribute: str) -> bool:
    """Some constructor in ``cls``'s MRO assigns ``self.attribute``."""
    for klass in inspect.getmro(cls):
        init = vars(klass).get("__init__")
        if init is None:
            continue
        try:
            source = inspect.getsource(init)
        except (OSError, TypeError):
            continue
        if f"self.{attribute} =" in source or f"self.{attribute}: " in source:
            return True
    return False


def _has_class_attribute(cls: type, attribute: str) -> bool:
    return hasattr(cls, attribute) or any(attribute in getattr(k, "__annotations__", {}) for k in inspect.getmro(cls))


def signature_problems(line: tuple[int, int] | None = None,
                       originals: Mapping[tuple[int, str], Any] | None = None) -> list[str]:
    """Every listed seam missing or shaped differently from what release ``line`` should have (empty: all fit)."""
    line = releases.installed_line() if line is None else line
    problems = []
    checked = [*((m, q) for m, q, _ in SIGNATURES), *((c.module, c.qualname) for c in releases.CHANGES)]
    for module_name, qualname in dict.fromkeys(checked):
        expected = expected_parameters(module_name, qualname, line)
        if expected is None:
            continue  # not used on this release
        try:
            found = tuple(inspect.signature(_resolve(module_name, qualname, originals)).parameters)
        except (ImportError, AttributeError, TypeError, ValueError) as e:
            problems.append(f"{module_name}.{qualname}: missing ({type(e).__name__})")
            continue
        if found != expected:
            problems.append(f"{module_name}.{qualname}: expected parameters {expected}, found {found}")
    for module_name, dotted in ATTRIBUTES:
        class_name, attribute = dotted.rsplit(".", 1)
        try:
            cls = _resolve(module_name, class_name)
        except (ImportError, AttributeError) as e:
            problems.append(f"{module_name}.{dotted}: missing ({type(e).__name__})")
            continue
        if not _has_class_attribute(cls, attribute):
            problems.append(f"{module_name}.{dotted}: missing")
    for module_name, class_name, attribute in INSTANCE_ATTRIBUTES:
        try:
            cls = _resolve(module_name, class_name)
        except (ImportError, AttributeError) as e:
            problems.append(f"{module_name}.{class_name}.{attribute}: cannot check ({type(e).__name__})")
            continue
        if not _sets_attribute(cls, attribute):
            problems.append(f"{module_name}.{class_name}: no constructor sets self.{attribute} any more")
    for module_name, dotted in NAMES:
        try:
            _resolve(module_name, dotted)
        except (ImportError, AttributeError) as e:
            problems.append(f"{module_name}.{dotted}: missing ({type(e).__name__})")
    return problems
