"""How the simulator reads a request and checks it as BingX does: the parameters from the query and the body,
the ``X-BX-APIKEY`` header, the HMAC-SHA256 signature over the exact string sent, and the timestamp against
``recvWindow`` on the (skewable) server clock."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Callable

from aiohttp import web

from .api.common import Params, int_param
from .records import BingXError

DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000


async def read_params(request: web.Request) -> tuple[Params, str | None, str]:
    """Merged params (query first), the signature, and the exact string the signature covers."""
    raw_path = request.raw_path
    raw_query = raw_path.split("?", 1)[1] if "?" in raw_path else ""
    params: Params = {}
    for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
        params.setdefault(k, v)
    signed = raw_query
    signature = params.pop("signature", None)
    if signature is not None:
        marker = raw_query.rfind("&signature=")
        signed = raw_query[:marker] if marker >= 0 else ""
    if request.can_read_body:
        body = (await request.read()).decode("utf-8", "replace")
        if body.strip():
            if body.lstrip().startswith("{"):
                try:
                    obj = json.loads(body)
                except ValueError:
                    obj = {}
                body_params = {k: (json.dumps(v) if isinstance(v, (dict, list)) else
                                   ("true" if v is True else "false" if v is False else str(v)))
                               for k, v in obj.items()}
                if "signature" in body_params and signature is None:
                    signature = body_params.pop("signature")
                    signed = "&".join(f"{k}={body_params[k]}" for k in sorted(body_params))
                else:
                    body_params.pop("signature", None)
            else:
                pairs = urllib.parse.parse_qsl(body, keep_blank_values=True)
                body_params = {}
                for k, v in pairs:
                    body_params.setdefault(k, v)
                if "signature" in body_params and signature is None:
                    signature = body_params.pop("signature")
                    marker = body.rfind("&signature=")
                    signed = body[:marker] if marker >= 0 else ""
                else:
                    body_params.pop("signature", None)
            for k, v in body_params.items():
                params.setdefault(k, v)
    return params, signature, signed


def key_matches(request: web.Request, api_key: str) -> bool:
    return hmac.compare_digest(request.headers.get("X-BX-APIKEY", "").encode(), api_key.encode())


def check_auth(request: web.Request, params: Params, signature: str | None, signed: str, api_key: str,
               api_secret: str, server_time_ms: Callable[[], int]) -> None:
    """BingX's checks of a signed request, in its order: 100413 key, 100001 signature, 100421 timestamp."""
    if not request.headers.get("X-BX-APIKEY") or not key_matches(request, api_key):
        raise BingXError(100413, "Incorrect apiKey")
    secret = api_secret.encode()
    candidates = {signed, urllib.parse.unquote(signed), urllib.parse.unquote_plus(signed)}
    ok = signature is not None and any(
        hmac.compare_digest(hmac.new(secret, c.encode(), hashlib.sha256).hexdigest(), signature.lower())
        for c in candidates)
    if not ok:
        raise BingXError(100001, "Signature verification failed")
    ts = params.get("timestamp")
    recv = int_param(params, "recvWindow", DEFAULT_RECV_WINDOW) or DEFAULT_RECV_WINDOW
    recv = min(recv, MAX_RECV_WINDOW)
    try:
        ts_val = int(ts) if ts else None
    except ValueError:
        ts_val = None
    if ts_val is None or abs(server_time_ms() - ts_val) > recv:
        raise BingXError(100421, "Null timestamp or timestamp mismatch")
