"""The REST side of the flatten: ``POST /api/v1/closeall`` and a ``/forceexit`` that keeps the details.

Both routes sit behind freqtrade's own login (``http_basic_or_jwt_token``) and trading-mode check. The
``/forceexit`` route is freqtrade's (same payload, same RPC method), registered ahead of it only because
freqtrade's ``ResultMsg`` response model drops every key but ``result``: FreqUI and
``freqtrade-client forceexit all`` read ``result`` as before and also get what happened.

Every answer, error detail and RPC error text leaves through :func:`~bingx_closeall_plugin.core.redaction.mask_value`
/ :func:`~bingx_closeall_plugin.core.redaction.mask_exception` with the bot's key and secret: whatever the flatten
put in it (an exception's text from a failed request carries the signed URL), no signature gets out.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from freqtrade.enums import State
from freqtrade.rpc import RPC, RPCException
from freqtrade.rpc.api_server.api_schemas import ForceExitPayload
from freqtrade.rpc.api_server.deps import get_rpc
from pydantic import BaseModel, ConfigDict

from ..core.errors import InvalidSymbol
from ..core.redaction import mask, mask_exception, mask_value, secrets_of
from .flatten import get_flattener

__all__ = ["CloseAllPayload", "FlattenAnswer", "bot_secrets", "router", "rpc_close_all"]

router = APIRouter()


class FlattenAnswer(BaseModel):
    """freqtrade's ``ResultMsg`` (``result``) plus the flatten's details."""

    model_config = ConfigDict(extra="allow")
    result: str


class CloseAllPayload(BaseModel):
    symbol: str | None = None


def bot_secrets(rpc: RPC) -> tuple[str, ...]:
    """The bot's exchange key and secret, for masking its answers."""
    return secrets_of(rpc._config.get("exchange") or {})


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
def closeall(
    payload: CloseAllPayload | None = None,
    rpc: RPC = Depends(get_rpc),  # noqa: B008 - FastAPI declares dependencies as defaults
) -> dict[str, Any]:
    secrets = bot_secrets(rpc)
    try:
        return mask_value(rpc_close_all(rpc, payload.symbol if payload else None), secrets)
    except InvalidSymbol as e:
        raise HTTPException(status_code=400, detail=mask(str(e), secrets)) from None
    except RPCException as e:  # answered by freqtrade's handler (502 + its text): masked first
        raise mask_exception(e, secrets) from None


@router.post("/forceexit", response_model=FlattenAnswer, tags=["Trades"])
def forceexit(
    payload: ForceExitPayload,
    rpc: RPC = Depends(get_rpc),  # noqa: B008 - FastAPI declares dependencies as defaults
) -> dict[str, Any]:
    ordertype = payload.ordertype.value if payload.ordertype else None
    secrets = bot_secrets(rpc)
    try:
        answer = rpc._rpc_force_exit(str(payload.tradeid), ordertype, amount=payload.amount, price=payload.price)
    except RPCException as e:
        raise mask_exception(e, secrets) from None
    return mask_value(answer, secrets)
