"""Which freqtrade the plugin runs on: the version policy and the shape of every seam it hooks.

:func:`~.install.install` refuses, before anything is patched, a freqtrade outside the tested release line
(unless the operator opted into a newer one) and any release where a method the plugin overrides, wraps or
calls changed its parameters (:data:`SIGNATURES`), so the plugin never runs half-fitting on a freqtrade
whose seams moved. Every refusal is an :class:`IncompatibleFreqtrade` naming the versions found.
"""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["INSTANCE_ATTRIBUTES", "SIGNATURES", "TESTED_FREQTRADE", "UNTESTED_OPT_IN", "IncompatibleFreqtrade",
           "check_freqtrade_version", "check_resolver_shape", "check_signature", "freqtrade_version",
           "plugin_version", "signature_problems", "untested_opt_in", "versions"]

# The freqtrade release line the plugin is tested against (pyproject's [freqtrade] extra pins the same).
TESTED_FREQTRADE = (2026, 9)


class IncompatibleFreqtrade(ImportError):
    """The installed freqtrade is outside the tested range, or its seam changed shape."""


def freqtrade_version() -> str:
    import freqtrade

    return str(freqtrade.__version__)


def versions() -> str:
    import ccxt
    import freqtrade

    return f"freqtrade {freqtrade.__version__}, ccxt {ccxt.__version__}"


def plugin_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bingx-closeall-plugin")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


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
    # (handle_onexchange_order is also wrapped, as is manage_open_orders: the loop leaves a flatten's trades to it)
    ("freqtrade.freqtradebot", "FreqtradeBot.handle_onexchange_order", ("self", "trade")),
    ("freqtrade.freqtradebot", "FreqtradeBot.manage_open_orders", ("self",)),
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


def check_resolver_shape() -> None:
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
            "bingx-closeall-plugin cannot install into freqtrade: " + "; ".join(problems) + f" ({versions()})"
        )


def check_signature(function: Any, expected: tuple[str, ...], where: str) -> None:
    """A method about to be hooked still has its tested parameters; else the install is refused."""
    import inspect

    if not callable(function):
        raise IncompatibleFreqtrade(f"cannot hook {where}: it is not callable ({versions()})")
    found = tuple(inspect.signature(function).parameters)
    if found != expected:
        raise IncompatibleFreqtrade(
            f"cannot hook {where}: expected parameters {expected}, found {found} ({versions()})"
        )
