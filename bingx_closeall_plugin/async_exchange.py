"""The async twin of :class:`bingx_closeall_plugin.exchange.BingX`, on ``ccxt.async_support``.

Kept in its own module because importing ``ccxt.async_support`` costs most of a second; the package
imports it only when ``AsyncBingX`` is first used.
"""

from __future__ import annotations

import logging
from typing import Any

import ccxt.async_support

from .closeall import CloseAllResult, close_plan, run_async
from .exchange import BingXCloseAllMixin, _close_args, check_ccxt_shape

logger = logging.getLogger(__name__)

__all__ = ["AsyncBingX"]


class AsyncBingX(BingXCloseAllMixin, ccxt.async_support.bingx):  # type: ignore[misc]
    """``ccxt.async_support.bingx`` whose close-all keeps everything BingX answered."""

    async def close_all_positions(self, params: dict[str, Any] | None = None) -> CloseAllResult:  # type: ignore[override]
        native, recv_window, inverse = _close_args(self, params)
        return await run_async(self, close_plan(self, native, recv_window, inverse))

    async def close_position(self, symbol: str, side: str | None = None, params: dict[str, Any] | None = None) -> CloseAllResult:  # type: ignore[override]
        native, recv_window, inverse = _close_args(self, params, symbol)
        return await run_async(self, close_plan(self, native, recv_window, inverse))


check_ccxt_shape(AsyncBingX)
