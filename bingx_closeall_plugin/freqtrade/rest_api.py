"""The REST side of the flatten: ``POST /api/v1/closeall`` and a ``/forceexit`` that keeps the details.

Both routes sit behind freqtrade's own login (``http_basic_or_jwt_token``) and trading-mode check. The
``/forceexit`` route is freqtrade's (same payload, same RPC method), registered ahead of it only because
freqtrade's ``ResultMsg`` response model drops every key but ``result``: FreqUI and
``freqtrade-client forceexit all`` read ``result`` as before and also get what happened.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from freqtrade.enums import State
from freqtrade.rpc import RPC, RPCException
from freqtrade.rpc.api_server.api_schemas import ForceExitPayload
from freqtrade.rpc.api_server.deps import get_rpc
from pydantic import BaseModel, ConfigDict

from ..errors import InvalidSymbol
from .flatten import get_flattener

logger = logging.getLogger(__name__)

__all__ = ["CloseAllPayload", "FlattenAnswer", "router", "rpc_close_all"]

router = APIRouter()


class FlattenAnswer(BaseModel):
    """freqtrade's ``ResultMsg`` (``result``) plus the flatten's details."""

    model_config = ConfigDict(extra="allow")
    result: str


class CloseAllPayload(BaseModel):
    symbol: str | None = None


def rpc_close_all(rpc: RPC, symbol: str | None = None) -> dict[str, Any]:
    """The account-wide kill switch, for every front end (REST, Telegram)."""
    freqtrade = rpc._freqtrade
    if freqtrade.state == State.STOPPED:
        raise RPCException("trader is not running")
    flattener = get_flattener(freqtrade)
    if not flattener.applies():
        raise RPCException("/closeall needs a live (not dry-run) BingX futures bot started with freqtrade-bingx")
    return flattener.close_all(symbol)


@router.post("/closeall", response_model=FlattenAnswer, tags=["Trades"])
def closeall(payload: CloseAllPayload | None = None, rpc: RPC = Depends(get_rpc)) -> dict[str, Any]:
    try:
        return rpc_close_all(rpc, payload.symbol if payload else None)
    except InvalidSymbol as e:
        raise HTTPException(status_code=400, detail=str(e)) from None


@router.post("/forceexit", response_model=FlattenAnswer, tags=["Trades"])
def forceexit(payload: ForceExitPayload, rpc: RPC = Depends(get_rpc)) -> dict[str, Any]:
    ordertype = payload.ordertype.value if payload.ordertype else None
    return rpc._rpc_force_exit(str(payload.tradeid), ordertype, amount=payload.amount, price=payload.price)
