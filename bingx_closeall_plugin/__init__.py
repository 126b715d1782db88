"""bingx-closeall-plugin: every BingX perpetual futures position closed in one request, nothing lost."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.closeall import CloseAllResult, close_all_positions, close_all_positions_async
from .core.errors import (
    AlreadySubmitted,
    BingXError,
    ClockSkew,
    InvalidApiKey,
    InvalidInput,
    InvalidParameter,
    InvalidSymbol,
    IpNotWhitelisted,
    NoPositionToClose,
    OrderMissing,
    RateLimited,
    RiskControlRejected,
    ServiceUnavailable,
    SignatureRejected,
    UnknownSymbol,
)
from .core.exchange import BingX
from .core.flatten import DEFAULT_RATE_LIMIT_WAIT, FlattenReport, flatten, flatten_async
from .core.symbols import NativeSymbol, parse_symbol, to_native, to_unified

if TYPE_CHECKING:
    from .core.async_exchange import AsyncBingX

__all__ = [
    "AlreadySubmitted",
    "AsyncBingX",
    "DEFAULT_RATE_LIMIT_WAIT",
    "BingX",
    "BingXError",
    "ClockSkew",
    "CloseAllResult",
    "FlattenReport",
    "InvalidApiKey",
    "InvalidInput",
    "InvalidParameter",
    "InvalidSymbol",
    "IpNotWhitelisted",
    "NativeSymbol",
    "NoPositionToClose",
    "OrderMissing",
    "RateLimited",
    "RiskControlRejected",
    "ServiceUnavailable",
    "SignatureRejected",
    "UnknownSymbol",
    "close_all_positions",
    "close_all_positions_async",
    "flatten",
    "flatten_async",
    "parse_symbol",
    "to_native",
    "to_unified",
]


def __getattr__(name: str) -> Any:
    # ccxt.async_support costs most of a second to import: only pay for it when AsyncBingX is used.
    if name == "AsyncBingX":
        from .core.async_exchange import AsyncBingX

        return AsyncBingX
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
