"""Which freqtrade the plugin runs on: the version policy, and the checks of the seams it hooks.

:func:`~.install.install` refuses, before anything is patched, a freqtrade outside the supported releases
(:data:`.releases.SUPPORTED`, 2026.3 to 2026.9; a newer one only if the operator opted in) and any release where
a freqtrade name the plugin uses is gone or a method changed its parameters (:mod:`.seams`), so the plugin never
runs half-fitting on a freqtrade whose seams moved. Every refusal is an :class:`IncompatibleFreqtrade` naming
the versions found.
"""

from __future__ import annotations

import os
from typing import Any

from .releases import NEWEST, OLDEST, release_line, supported_range
from .seams import INSTANCE_ATTRIBUTES, SIGNATURES, expected_parameters, signature_problems

__all__ = ["INSTANCE_ATTRIBUTES", "SIGNATURES", "TESTED_FREQTRADE", "UNTESTED_OPT_IN", "IncompatibleFreqtrade",
           "check_freqtrade_version", "check_resolver_shape", "check_signature", "freqtrade_version",
           "plugin_version", "signature_problems", "untested_opt_in", "versions"]

# The newest freqtrade release line the plugin is tested against; every line from releases.OLDEST up to it is.
TESTED_FREQTRADE = NEWEST


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


# The operator's opt-in to a freqtrade newer than the supported range (see check_freqtrade_version).
UNTESTED_OPT_IN = "BINGX_FREQTRADE_UNTESTED"


def untested_opt_in(environ: Any = None) -> bool:
    value = (os.environ if environ is None else environ).get(UNTESTED_OPT_IN, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def check_freqtrade_version(version: str | None = None, allow_untested: bool | None = None) -> bool:
    """The version policy. Returns True for a supported release (2026.3 to 2026.9), False for a newer release the
    operator opted into (``BINGX_FREQTRADE_UNTESTED=1``); raises IncompatibleFreqtrade for anything else.

    An opted-in newer release still has to pass :func:`signature_problems` (install() checks it for every
    release), so the opt-in never runs the plugin on a freqtrade whose seams moved.
    """
    if version is None:
        import freqtrade

        version = freqtrade.__version__
    if allow_untested is None:
        allow_untested = untested_opt_in()
    line = release_line(version)
    supported = f"bingx-closeall-plugin's freqtrade layer supports freqtrade {supported_range()}"
    if line is not None and OLDEST <= line <= NEWEST:
        return True
    if line is not None and line > NEWEST:
        if allow_untested:
            return False
        raise IncompatibleFreqtrade(
            f"{supported}; found freqtrade {version}, a newer release. Either install a supported freqtrade (pip "
            f"install 'freqtrade=={NEWEST[0]}.{NEWEST[1]}.*', or the plugin's [freqtrade] extra), or set "
            f"{UNTESTED_OPT_IN}=1 to run it if every freqtrade name the plugin uses still has its tested shape "
            "(checked at start-up; it refuses otherwise)."
        )
    raise IncompatibleFreqtrade(
        f"{supported}; found freqtrade {version}{', an older release' if line is not None else ''}. Install a "
        f"supported one: pip install 'freqtrade>={OLDEST[0]}.{OLDEST[1]},<{NEWEST[0]}.{NEWEST[1] + 1}' (or the "
        "plugin's [freqtrade] extra)."
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


def check_signature(function: Any, module: str, qualname: str) -> None:
    """A method about to be hooked still has the parameters :mod:`.seams` lists for the installed release."""
    import inspect

    try:
        expected = expected_parameters(module, qualname)
    except KeyError:  # freqtrade moved the class to another module: the seam list names it where it was
        raise IncompatibleFreqtrade(f"cannot hook {qualname}: {module} is not where the plugin expects it "
                                    f"({versions()})") from None
    if not callable(function):
        raise IncompatibleFreqtrade(f"cannot hook {qualname}: it is not callable ({versions()})")
    found = tuple(inspect.signature(function).parameters)
    if found != expected:
        raise IncompatibleFreqtrade(
            f"cannot hook {qualname}: expected parameters {expected}, found {found} ({versions()})"
        )
