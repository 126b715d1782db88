"""The async twin of :class:`bingx_closeall_plugin.core.exchange.BingX`, on ``ccxt.async_support``.

Kept in its own module because importing ``ccxt.async_support`` costs most of a second; the package
imports it only when ``AsyncBingX`` is first used.
"""

from __future__ import annotations

from typing import Any

import ccxt
import ccxt.async_support

from .ccxt_params import CloseArgs
from .closeall import CloseAllResult, close_plan
from .exchange import (
    BingXCloseAllMixin,
    ClosedOrder,
    ClosedPositions,
    check_ccxt_shape,
    close_all_args,
    close_by_id_plan,
    close_position_args,
    closeall_args,
    closed_by_id,
    closed_order,
    closed_positions,
)
from .plans import run_async
from .redaction import mask_exception, secrets_of

__all__ = ["AsyncBingX"]


class AsyncBingX(BingXCloseAllMixin, ccxt.async_support.bingx):
    """``ccxt.async_support.bingx`` whose close-all keeps everything BingX answered."""

    async def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        # ccxt's one HTTP call: every request error starts here, with the signed URL in its text.
        try:
            return await super().fetch(url, method, headers, body)
        except ccxt.BaseError as e:
            mask_exception(e, secrets_of(self))
            raise

    async def closeall(self, symbol: str | None = None, params: dict[str, Any] | None = None) -> CloseAllResult:
        """The plugin's own, awaitable: see :meth:`bingx_closeall_plugin.BingX.closeall`."""
        return await self._close(closeall_args(self, params, symbol))

    async def _close(self, args: CloseArgs) -> CloseAllResult:
        return await run_async(self, close_plan(self, args.symbol, args.recv_window, args.inverse))

    async def close_all_positions(self, params: dict[str, Any] | None = None) -> ClosedPositions:
        return closed_positions(self, await self._close(close_all_args(self, params)))

    async def close_position(self, symbol: str, side: str | None = None,
                             params: dict[str, Any] | None = None) -> ClosedOrder:
        args = close_position_args(self, symbol, params)
        if args.position_id is not None:
            return closed_by_id(self, await run_async(self, close_by_id_plan(args)), args)
        return closed_order(self, await self._close(args))


check_ccxt_shape(AsyncBingX)
