"""The aiohttp application of the simulator and :class:`BingXSimulator`, its lifecycle wrapper."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import hmac
import json
import math
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import markets as _markets
from .account import Account, BingXError, symbol_not_exist
from .faults import Fault, FaultTable

CLOSE_ALL_LIMIT_PER_SECOND = 5
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
INTERVALS_MS = {
    "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
    "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000, "1M": 2_592_000_000,
}


@dataclass
class RequestRecord:
    """One request as the simulator saw it. Never holds the signature, the secret or the API key."""

    method: str
    path: str
    params: dict[str, Any]
    api_key_ok: bool
    http_status: int | None
    code: int | None
    started: float
    finished: float | None


class _Drop(Exception):
    """Internal: abort the connection without an answer."""


Handler = Callable[[dict[str, str], "BingXSimulator"], Any]


def _parse_bool(value: Any) -> bool | None:
    if value is None:
        return None
    return str(value).strip().lower() in ("true", "1")


def _float(params: dict[str, str], key: str) -> float | None:
    value = params.get(key)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        raise BingXError(109400, f"Invalid parameters, {key}: {value!r} is not a number") from None


def _int(params: dict[str, str], key: str, default: int | None = None) -> int | None:
    value = params.get(key)
    if value in (None, ""):
        return default
    try:
        return int(float(value))
    except ValueError:
        raise BingXError(109400, f"Invalid parameters, {key}: {value!r} is not an integer") from None


def _hash01(*parts: Any) -> float:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


class BingXSimulator:
    """A local BingX perpetual-futures REST double; see the package docstring for scope."""

    def __init__(self, api_key: str = "sim-key", api_secret: str = "sim-secret", latency_ms: float = 0,
                 hedge_mode: bool = False, clock_offset_ms: int = 0, host: str = "127.0.0.1", port: int = 0):
        self.api_key = api_key
        self._api_secret = api_secret
        self.latency_ms = self._initial_latency_ms = latency_ms
        self.clock_offset_ms = self._initial_clock_offset_ms = clock_offset_ms
        self.host = host
        self.port = port
        self._initial_hedge = hedge_mode
        self.account = Account(now_ms=self.server_time_ms, hedge_mode=hedge_mode)
        self._faults = FaultTable()
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._rate: dict[str, collections.deque[float]] = {}
        self._rate_lock = threading.Lock()
        self._base_prices = _markets.default_prices()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ lifecycle
    def server_time_ms(self) -> int:
        return int(time.time() * 1000) + int(self.clock_offset_ms)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> BingXSimulator:
        if self._thread is not None:
            return self
        self._ready.clear()
        self._start_error = None
        self._thread = threading.Thread(target=self._run, name="bingx-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("BingX simulator did not start listening in time")
        if self._start_error is not None:
            err = self._start_error
            self.stop()
            raise RuntimeError(f"BingX simulator failed to start: {err}") from err
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                if self._runner is not None:
                    loop.run_until_complete(asyncio.wait_for(self._runner.cleanup(), 5))
            except Exception:  # noqa: BLE001 - best effort on shutdown
                pass
            loop.close()

    async def _serve(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._runner = runner
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None
        self._loop = None
        self._runner = None

    def __enter__(self) -> BingXSimulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reset(self) -> None:
        """Clean account, no faults, empty request log and rate-limit windows, the latency and clock
        offset given at construction; key/secret/port kept."""
        self.account.reset(hedge_mode=self._initial_hedge)
        self.latency_ms = self._initial_latency_ms
        self.clock_offset_ms = self._initial_clock_offset_ms
        self._faults.clear()
        self.clear_requests()
        with self._rate_lock:
            self._rate.clear()

    # ------------------------------------------------------------------ test-facing API
    def set_price(self, symbol: str, price: float) -> None:
        self.account.set_price(symbol, price)

    def set_balance(self, asset: str, amount: float) -> None:
        self.account.set_balance(asset, amount)

    def seed_position(self, symbol: str, side: str, qty: float, entry_price: float | None = None,
                      leverage: int = 10, margin_type: str = "CROSSED") -> dict[str, Any]:
        return self.account.seed_position(symbol, side, qty, entry_price, leverage, margin_type)

    def seed_order(self, symbol: str, side: str, type: str, quantity: float, stop_price: float | None = None,
                   price: float | None = None, reduce_only: bool = True, position_side: str = "BOTH") -> int:
        o = self.account.place_order(symbol, side, type, quantity, price=price, stop_price=stop_price,
                                     position_side=position_side, reduce_only=reduce_only, validate=False)
        return o.order_id

    def positions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return self.account.list_positions(symbol)

    def reversals(self) -> list[dict[str, Any]]:
        """Every fill that took a position past zero (one-way) or beyond its size (hedge), oldest first.

        A close must never do either; tests of the close path expect this to stay empty.
        """
        with self.account.lock:
            return [dict(r) for r in self.account.reversals]

    def open_orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return self.account.list_orders(symbol, open_only=True)

    def orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return self.account.list_orders(symbol)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return [dataclasses.replace(r, params=dict(r.params)) for r in self._log]

    def requests_to(self, path_suffix: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.path.endswith(path_suffix)]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def inject(self, path_suffix: str, fault: Fault, times: int = 1) -> None:
        self._faults.add(path_suffix, fault, times)

    def clear_faults(self) -> None:
        """Disarm every fault, leaving the account as it is (``reset()`` also wipes the account)."""
        self._faults.clear()

    def pending_faults(self) -> list[dict[str, Any]]:
        """The faults still armed: suffix, kind, shots remaining."""
        return self._faults.pending()

    # ------------------------------------------------------------------ HTTP plumbing
    @staticmethod
    def _json(payload: Any, status: int = 200) -> web.Response:
        return web.Response(text=json.dumps(payload, separators=(",", ":")), status=status,
                            content_type="application/json")

    async def _read_params(self, request: web.Request) -> tuple[dict[str, str], str | None, str]:
        """Merged params, the signature, and the exact string the signature covers."""
        raw_path = request.raw_path
        raw_query = raw_path.split("?", 1)[1] if "?" in raw_path else ""
        params: dict[str, str] = {}
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

    def _check_auth(self, request: web.Request, params: dict[str, str], signature: str | None,
                    signed: str) -> None:
        key = request.headers.get("X-BX-APIKEY", "")
        if not key or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            raise BingXError(100413, "Incorrect apiKey")
        secret = self._api_secret.encode()
        candidates = {signed, urllib.parse.unquote(signed), urllib.parse.unquote_plus(signed)}
        ok = signature is not None and any(
            hmac.compare_digest(hmac.new(secret, c.encode(), hashlib.sha256).hexdigest(), signature.lower())
            for c in candidates)
        if not ok:
            raise BingXError(100001, "Signature verification failed")
        ts = params.get("timestamp")
        recv = _int(params, "recvWindow", DEFAULT_RECV_WINDOW) or DEFAULT_RECV_WINDOW
        recv = min(recv, MAX_RECV_WINDOW)
        try:
            ts_val = int(ts) if ts else None
        except ValueError:
            ts_val = None
        if ts_val is None or abs(self.server_time_ms() - ts_val) > recv:
            raise BingXError(100421, "Null timestamp or timestamp mismatch")

    def _rate_check(self, key: str) -> None:
        now = time.monotonic()
        with self._rate_lock:
            window = self._rate.setdefault(key, collections.deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= CLOSE_ALL_LIMIT_PER_SECOND:
                unblock = self.server_time_ms() + int(max(0.0, 1.0 - (now - window[0])) * 1000) + 1
                raise BingXError(100410, "The endpoint trigger frequency limit rule is currently in the disabled "
                                         f"period and will be unblocked after {unblock}")
            window.append(now)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        path = request.path
        method = request.method.upper()
        try:
            params, signature, signed = await self._read_params(request)
        except Exception:  # noqa: BLE001 - malformed input
            params, signature, signed = {}, None, ""
        key_ok = hmac.compare_digest(request.headers.get("X-BX-APIKEY", "").encode(), self.api_key.encode())
        record = RequestRecord(method=method, path=path, params=dict(params), api_key_ok=key_ok,
                               http_status=None, code=None, started=started, finished=None)
        with self._log_lock:
            self._log.append(record)

        def done(resp: web.StreamResponse | None, code: int | None) -> web.StreamResponse:
            with self._log_lock:
                record.http_status = resp.status if resp is not None else None
                record.code = code
                record.finished = time.monotonic()
            if resp is None:
                raise _Drop()
            return resp

        if self.latency_ms:
            await asyncio.sleep(float(self.latency_ms) / 1000.0)

        if path.startswith("/_sim/"):
            if path == "/_sim/state" and method == "GET":
                return done(self._json({"code": 0, "msg": "", "data": self._state()}), 0)
            return done(self._json({"code": 100400, "msg": "this api is not exist"}, status=404), 100400)

        rel = path[len("/openApi/"):] if path.startswith("/openApi/") else path.lstrip("/")
        entry = self._routes.get((method, rel))
        if entry is None:
            return done(self._json({"code": 100400, "msg": "this api is not exist"}, status=404), 100400)
        handler, private = entry

        fault = self._faults.take(path)
        try:
            if fault is not None and fault.kind == "error":
                return done(self._json({"code": fault.code, "msg": fault.msg, "data": {}}), fault.code)
            if fault is not None and not fault.executes:
                if fault.kind == "lost_reply":
                    self._drop(request)
                    return done(None, None)
                if fault.kind == "http_error":
                    return done(web.Response(text=fault.payload, status=fault.status, content_type="text/html"), None)
                if fault.kind == "body":
                    return done(self._raw(fault), None)
            payload = self._execute(request, rel, handler, private, params, signature, signed, fault)
            code = payload.get("code")
            if fault is not None and fault.kind == "lost_reply":
                self._drop(request)
                return done(None, code)
            if fault is not None and fault.kind == "http_error":
                return done(web.Response(text=fault.payload, status=fault.status, content_type="text/html"), None)
            if fault is not None and fault.kind == "body":
                return done(self._raw(fault), code)
            if fault is not None and fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            return done(self._json(payload), code)
        except _Drop:
            raise web.HTTPException() from None  # unreachable in practice; connection already closed

    @staticmethod
    def _raw(fault: Fault) -> web.Response:
        return web.Response(text=fault.payload, status=fault.status, content_type="application/json")

    @staticmethod
    def _drop(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.abort() if hasattr(transport, "abort") else transport.close()

    def _execute(self, request: web.Request, rel: str, handler: Handler, private: bool, params: dict[str, str],
                 signature: str | None, signed: str, fault: Fault | None) -> dict[str, Any]:
        try:
            if private:
                self._check_auth(request, params, signature, signed)
                self.account.settle_funding()
            if rel.endswith("trade/closeAllPositions"):
                self._rate_check(self.api_key)
                data = self._close_all(params, inverse=rel.startswith("cswap/"), fault=fault)
            else:
                data = handler(params, self)
        except BingXError as err:
            return {"code": err.code, "msg": err.msg, "data": {}}
        payload: dict[str, Any] = {"code": 0, "msg": "", "timestamp": self.server_time_ms(), "data": data}
        return payload

    def _state(self) -> dict[str, Any]:
        acc = self.account
        return {
            "hedgeMode": acc.hedge_mode,
            "positions": acc.list_positions(),
            "openOrders": acc.list_orders(open_only=True),
            "balances": acc.balance_rows(sorted(acc.balances)),
            "faults": self._faults.pending(),
            "requests": len(self.requests),
        }

    # ------------------------------------------------------------------ market data helpers
    def _synthetic(self, symbol: str, t: int) -> float:
        """Deterministic synthetic price path of ``symbol`` at ``t`` (ms) around its default price."""
        base = self._base_prices[symbol]
        phase = _hash01(symbol) * 2 * math.pi
        hours = t / 3_600_000.0
        return base * (1.0 + 0.03 * math.sin(hours / 37.0 + phase) + 0.01 * math.sin(hours / 3.1 + 2 * phase)
                       + 0.004 * math.sin(hours * 2.3 + phase))

    def _candles(self, symbol: str, params: dict[str, str], mark: bool, time_key: str) -> list[dict[str, Any]]:
        interval = params.get("interval") or "1m"
        if interval not in INTERVALS_MS:
            raise BingXError(109400, f"Invalid parameters, interval: {interval} is not supported")
        step = INTERVALS_MS[interval]
        limit = _int(params, "limit", 500) or 500
        limit = max(1, min(limit, 1440))
        now = self.server_time_ms()
        start = _int(params, "startTime")
        end = _int(params, "endTime")
        last_open = (min(end, now) if end is not None else now) // step * step
        if start is not None:
            first = -(-start // step) * step
            opens = list(range(first, last_open + 1, step))[:limit]
        else:
            opens = list(range(last_open - (limit - 1) * step, last_open + 1, step))
        prec = self.account.info[symbol]["price_prec"]
        current = self.account.prices[symbol]
        rows = []
        for t in opens:
            o = self._synthetic(symbol, t)
            c = current if t == now // step * step else self._synthetic(symbol, t + step)
            wiggle = 0.0005 + 0.002 * _hash01(symbol, t)
            h = max(o, c) * (1 + wiggle)
            lo = min(o, c) * (1 - wiggle)
            vol = 0.0 if mark else round(100 + 1000 * _hash01(symbol, t, "v"), 2)
            row = {"open": f"{o:.{prec}f}", "close": f"{c:.{prec}f}", "high": f"{h:.{prec}f}",
                   "low": f"{lo:.{prec}f}", "volume": f"{vol:.2f}"}
            if time_key == "openTime":
                row["openTime"] = t
                row["closeTime"] = t
            else:
                row["time"] = t
            rows.append(row)
        return rows

    def _ticker_row(self, symbol: str) -> dict[str, Any]:
        inf = self.account.info[symbol]
        prec = inf["price_prec"]
        now = self.server_time_ms()
        last = self.account.prices[symbol]
        open_ = self._synthetic(symbol, now - 86_400_000)
        tick = 10 ** -prec
        return {
            "symbol": symbol,
            "priceChange": f"{last - open_:.{prec}f}",
            "priceChangePercent": f"{(last - open_) / open_ * 100:.2f}%",
            "lastPrice": f"{last:.{prec}f}",
            "lastQty": "1",
            "highPrice": f"{max(last, open_) * 1.01:.{prec}f}",
            "lowPrice": f"{min(last, open_) * 0.99:.{prec}f}",
            "volume": "100000.00",
            "quoteVolume": f"{100000 * last:.2f}",
            "openPrice": f"{open_:.{prec}f}",
            "openTime": now - 86_400_000,
            "closeTime": now,
            "bidPrice": f"{last - tick:.{prec}f}",
            "bidQty": "10",
            "askPrice": f"{last + tick:.{prec}f}",
            "askQty": "10",
        }

    def _premium_row(self, symbol: str) -> dict[str, Any]:
        prec = self.account.info[symbol]["price_prec"]
        now = self.server_time_ms()
        interval = 8 * 3_600_000
        return {
            "symbol": symbol,
            "markPrice": f"{self.account.prices[symbol]:.{prec}f}",
            "indexPrice": f"{self.account.prices[symbol]:.{prec}f}",
            "lastFundingRate": "0.00010000",
            "nextFundingTime": (now // interval + 1) * interval,
            "fundingIntervalHours": 8,
            "updateTime": now,
        }

    def _symbol(self, params: dict[str, str], inverse: bool | None = None, required: bool = True) -> str | None:
        symbol = params.get("symbol")
        if not symbol:
            if required:
                raise BingXError(109400, "Invalid parameters, symbol: This field is required.")
            return None
        inf = self.account.info.get(symbol)
        if inf is None or (inverse is not None and inf["inverse"] != inverse):
            raise symbol_not_exist(symbol)
        return symbol

    # ------------------------------------------------------------------ close all
    def _close_all(self, params: dict[str, str], inverse: bool, fault: Fault | None) -> dict[str, Any]:
        symbol = params.get("symbol") or None
        if symbol is not None:
            self._symbol(params, inverse=inverse)
        failed_syms = fault.symbols if fault is not None and fault.kind == "failed" else ()
        reopen = [(fault.symbol, fault.side, fault.qty)] if fault is not None and fault.kind == "reopen" else []
        success, failed = self.account.close_all_positions(symbol, inverse, failed_syms, reopen)
        if inverse:  # the documented coin-M answer carries the ids as strings
            return {"success": [str(i) for i in success], "failed": [str(i) for i in failed] if failed else None}
        return {"success": success, "failed": failed}

    # ------------------------------------------------------------------ routes
    def _build_routes(self) -> dict[tuple[str, str], tuple[Handler, bool]]:
        acc = self.account
        routes: dict[tuple[str, str], tuple[Handler, bool]] = {}

        def public(method: str, *paths: str) -> Callable[[Handler], Handler]:
            def deco(fn: Handler) -> Handler:
                for p in paths:
                    routes[(method, p)] = (fn, False)
                return fn
            return deco

        def private(method: str, *paths: str) -> Callable[[Handler], Handler]:
            def deco(fn: Handler) -> Handler:
                for p in paths:
                    routes[(method, p)] = (fn, True)
                return fn
            return deco

        # ---------------- public market data
        @public("GET", "swap/v2/server/time", "cswap/v1/server/time", "spot/v1/server/time")
        def server_time(p, s):
            return {"serverTime": s.server_time_ms()}

        @public("GET", "swap/v2/quote/contracts")
        def contracts(p, s):
            rows = _markets.linear_contracts()
            if p.get("symbol"):
                rows = [r for r in rows if r["symbol"] == p["symbol"]]
                if not rows:
                    raise symbol_not_exist(p["symbol"])
            return rows

        @public("GET", "cswap/v1/market/contracts")
        def cswap_contracts(p, s):
            return _markets.inverse_contracts()

        @public("GET", "spot/v1/common/symbols")
        def spot_symbols(p, s):
            return {"symbols": []}

        @public("GET", "swap/v2/quote/ticker")
        def ticker(p, s):
            sym = s._symbol(p, inverse=False, required=False)
            if sym:
                return s._ticker_row(sym)
            return [s._ticker_row(x) for x, inf in acc.info.items() if not inf["inverse"]]

        @public("GET", "cswap/v1/market/ticker")
        def cswap_ticker(p, s):
            sym = s._symbol(p, inverse=True, required=False)
            syms = [sym] if sym else [x for x, inf in acc.info.items() if inf["inverse"]]
            return [s._ticker_row(x) for x in syms]

        @public("GET", "swap/v2/quote/bookTicker")
        def book_ticker(p, s):
            sym = s._symbol(p, inverse=False)
            row = s._ticker_row(sym)
            return {"book_ticker": {"symbol": sym, "bid_price": row["bidPrice"], "bid_qty": row["bidQty"],
                                    "ask_price": row["askPrice"], "ask_qty": row["askQty"]}}

        @public("GET", "swap/v2/quote/price", "swap/v1/ticker/price")
        def price(p, s):
            sym = s._symbol(p, inverse=False, required=False)
            now = s.server_time_ms()

            def row(x: str) -> dict[str, Any]:
                return {"symbol": x, "price": f"{acc.prices[x]:.{acc.info[x]['price_prec']}f}", "time": now}
            if sym:
                return row(sym)
            return [row(x) for x, inf in acc.info.items() if not inf["inverse"]]

        def depth(p, s, inverse):
            sym = s._symbol(p, inverse=inverse)
            limit = _int(p, "limit", 20)
            if limit not in DEPTH_LIMITS:
                raise BingXError(109400, f"Invalid parameters, limit: must be one of {list(DEPTH_LIMITS)}")
            prec = acc.info[sym]["price_prec"]
            tick = 10 ** -prec
            mid = acc.prices[sym]
            bids = [[f"{mid - (i + 1) * tick:.{prec}f}", f"{1 + 10 * _hash01(sym, 'b', i):.4f}"]
                    for i in range(limit) if mid - (i + 1) * tick > 0]
            asks = [[f"{mid + (i + 1) * tick:.{prec}f}", f"{1 + 10 * _hash01(sym, 'a', i):.4f}"]
                    for i in range(limit)]
            asks.reverse()  # BingX lists asks from the far end down to the best ask
            return {"T": s.server_time_ms(), "bids": bids, "asks": asks}

        routes[("GET", "swap/v2/quote/depth")] = (lambda p, s: depth(p, s, False), False)
        routes[("GET", "cswap/v1/market/depth")] = (lambda p, s: depth(p, s, True), False)

        routes[("GET", "swap/v3/quote/klines")] = (
            lambda p, s: s._candles(s._symbol(p, inverse=False), p, False, "time"), False)
        routes[("GET", "swap/v2/quote/klines")] = routes[("GET", "swap/v3/quote/klines")]
        routes[("GET", "cswap/v1/market/klines")] = (
            lambda p, s: s._candles(s._symbol(p, inverse=True), p, False, "time"), False)
        routes[("GET", "swap/v1/market/markPriceKlines")] = (
            lambda p, s: s._candles(s._symbol(p, inverse=False), p, True, "openTime"), False)

        @public("GET", "swap/v2/quote/premiumIndex")
        def premium(p, s):
            sym = s._symbol(p, inverse=False, required=False)
            if sym:
                return s._premium_row(sym)
            return [s._premium_row(x) for x, inf in acc.info.items() if not inf["inverse"]]

        @public("GET", "cswap/v1/market/premiumIndex")
        def cswap_premium(p, s):
            sym = s._symbol(p, inverse=True, required=False)
            syms = [sym] if sym else [x for x, inf in acc.info.items() if inf["inverse"]]
            return [s._premium_row(x) for x in syms]

        @public("GET", "swap/v2/quote/fundingRate")
        def funding_history(p, s):
            sym = s._symbol(p, inverse=False)
            interval = 8 * 3_600_000
            limit = max(1, min(_int(p, "limit", 100) or 100, 1000))
            now = s.server_time_ms()
            end = min(_int(p, "endTime", now) or now, now)
            start = _int(p, "startTime")
            last = end // interval * interval
            if start is not None:
                first = -(-start // interval) * interval
                times = list(range(first, last + 1, interval))[:limit]
            else:
                times = list(range(last - (limit - 1) * interval, last + 1, interval))
            return [{"symbol": sym, "fundingRate": "0.00010000", "fundingTime": t} for t in reversed(times)]

        @public("GET", "swap/v2/quote/openInterest")
        def open_interest(p, s):
            sym = s._symbol(p, inverse=False)
            return {"openInterest": f"{1_000_000 * acc.prices[sym]:.2f}", "symbol": sym, "time": s.server_time_ms()}

        @public("GET", "swap/v2/quote/trades")
        def trades(p, s):
            sym = s._symbol(p, inverse=False)
            limit = max(1, min(_int(p, "limit", 50) or 50, 1000))
            now = s.server_time_ms()
            prec = acc.info[sym]["price_prec"]
            px = acc.prices[sym]
            return [{"time": now - i * 1000, "isBuyerMaker": bool(i % 2), "price": f"{px:.{prec}f}",
                     "qty": "1", "quoteQty": f"{px:.2f}"} for i in range(limit)]

        # ---------------- private account
        @private("GET", "wallets/v1/capital/config/getall")
        def currencies(p, s):
            out = []
            for coin in ("USDT", "BTC", "ETH"):
                out.append({"coin": coin, "name": coin, "networkList": [{
                    "name": coin, "network": "ERC20" if coin != "BTC" else "BTC", "isDefault": True,
                    "minConfirm": "12", "withdrawEnable": True, "depositEnable": True, "withdrawFee": "1",
                    "withdrawMax": "1000000", "withdrawMin": "10", "depositMin": "1", "withdrawPrecision": "8",
                    "depositPrecision": "8", "contractAddress": "", "needTagOrMemo": "false",
                    "displayName": coin}]})
            return out

        @private("GET", "swap/v3/user/balance")
        def balance_v3(p, s):
            return acc.balance_rows(["USDT"])

        @private("GET", "swap/v2/user/balance")
        def balance_v2(p, s):
            return {"balance": acc.balance_rows(["USDT"])[0]}

        @private("GET", "cswap/v1/user/balance")
        def balance_cswap(p, s):
            return [{k: v for k, v in r.items() if k not in ("userId", "realisedProfit")}
                    for r in acc.balance_rows(["BTC", "ETH"])]

        @private("GET", "swap/v2/user/positions")
        def positions(p, s):
            sym = s._symbol(p, inverse=False, required=False)
            return acc.list_positions(sym, inverse=False)

        @private("GET", "cswap/v1/user/positions")
        def cswap_positions(p, s):
            sym = s._symbol(p, inverse=True, required=False)
            return acc.list_positions(sym, inverse=True)

        @private("GET", "swap/v2/user/commissionRate")
        def commission(p, s):
            return {"commission": {"takerCommissionRate": _markets.TAKER_FEE,
                                   "makerCommissionRate": _markets.MAKER_FEE}}

        @private("GET", "cswap/v1/user/commissionRate")
        def cswap_commission(p, s):
            return {"takerCommissionRate": str(_markets.TAKER_FEE), "makerCommissionRate": str(_markets.MAKER_FEE)}

        @private("GET", "swap/v2/user/income")
        def income(p, s):
            sym = s._symbol(p, inverse=False, required=False)
            kind = p.get("incomeType")
            start = _int(p, "startTime")
            end = _int(p, "endTime")
            limit = max(1, min(_int(p, "limit", 100) or 100, 1000))
            with acc.lock:
                rows = [dict(r) for r in acc.income
                        if (sym is None or r["symbol"] == sym) and (not kind or r["incomeType"] == kind)
                        and (start is None or r["time"] >= start) and (end is None or r["time"] <= end)
                        and not acc.info[r["symbol"]]["inverse"]]
            return rows[-limit:]

        @private("GET", "swap/v1/maintMarginRatio")
        def maint_margin(p, s):
            sym = s._symbol(p, inverse=False)
            tiers = [(0, 300_000, "0.004000"), (300_000, 800_000, "0.005000"), (800_000, 3_000_000, "0.010000"),
                     (3_000_000, 12_000_000, "0.025000"), (12_000_000, 70_000_000, "0.050000")]
            return [{"tier": f"Tier {i + 1}", "symbol": sym, "minPositionVal": str(lo), "maxPositionVal": str(hi),
                     "maintMarginRatio": r, "maintAmount": "0.000000"} for i, (lo, hi, r) in enumerate(tiers)]

        # ---------------- private settings
        def get_leverage(p, s, inverse):
            return acc.leverage_row(s._symbol(p, inverse=inverse))

        def post_leverage(p, s, inverse):
            sym = s._symbol(p, inverse=inverse)
            side = (p.get("side") or "").upper()
            if side not in ("LONG", "SHORT", "BOTH"):
                raise BingXError(109400, "Invalid parameters, side: must be LONG, SHORT or BOTH")
            raw = p.get("leverage")
            try:
                lev = int(raw) if raw is not None else None
            except ValueError:
                lev = None
            if lev is None:
                raise BingXError(109400, "Invalid parameters, leverage: must be an integer")
            return acc.set_leverage(sym, side, lev)

        for inv, prefix in ((False, "swap/v2"), (True, "cswap/v1")):
            routes[("GET", f"{prefix}/trade/leverage")] = ((lambda i: lambda p, s: get_leverage(p, s, i))(inv), True)
            routes[("POST", f"{prefix}/trade/leverage")] = ((lambda i: lambda p, s: post_leverage(p, s, i))(inv), True)

        def get_margin_type(p, s, inverse):
            sym = s._symbol(p, inverse=inverse)
            return {"symbol": sym, "marginType": acc.margin_type.get(sym, "CROSSED")}

        def post_margin_type(p, s, inverse):
            sym = s._symbol(p, inverse=inverse)
            acc.set_margin_type(sym, (p.get("marginType") or "").upper())
            return {}

        for inv, prefix in ((False, "swap/v2"), (True, "cswap/v1")):
            routes[("GET", f"{prefix}/trade/marginType")] = (
                (lambda i: lambda p, s: get_margin_type(p, s, i))(inv), True)
            routes[("POST", f"{prefix}/trade/marginType")] = (
                (lambda i: lambda p, s: post_margin_type(p, s, i))(inv), True)

        @private("GET", "swap/v1/positionSide/dual")
        def get_dual(p, s):
            return {"dualSidePosition": "true" if acc.hedge_mode else "false"}

        @private("POST", "swap/v1/positionSide/dual")
        def post_dual(p, s):
            value = (p.get("dualSidePosition") or "").lower()
            if value not in ("true", "false"):
                raise BingXError(109400, "Invalid parameters, dualSidePosition: must be true or false")
            acc.set_hedge_mode(value == "true")
            return {"dualSidePosition": value}

        # ---------------- private trading
        def new_order(p, s, inverse, test=False):
            sym = s._symbol(p, inverse=inverse)
            qty = _float(p, "quantity")
            price_ = _float(p, "price")
            cost = _float(p, "quoteOrderQty")
            if qty is None and cost is not None:
                qty = cost / (price_ or acc.prices[sym])
            if test:
                return {"order": {"symbol": sym, "orderId": acc.next_id(), "side": p.get("side"),
                                  "positionSide": p.get("positionSide", "BOTH"), "type": p.get("type")}}
            o = acc.place_order(sym, p.get("side", ""), p.get("type", ""), qty, price=price_,
                                stop_price=_float(p, "stopPrice"), position_side=p.get("positionSide"),
                                reduce_only=_parse_bool(p.get("reduceOnly")),
                                client_order_id=p.get("clientOrderID") or p.get("clientOrderId") or "",
                                time_in_force=p.get("timeInForce") or "GTC",
                                working_type=p.get("workingType") or "MARK_PRICE",
                                close_position=bool(_parse_bool(p.get("closePosition"))))
            return {"order": acc.render_new_order(o)}

        routes[("POST", "swap/v2/trade/order")] = (lambda p, s: new_order(p, s, False), True)
        routes[("POST", "swap/v2/trade/order/test")] = (lambda p, s: new_order(p, s, False, test=True), True)
        routes[("POST", "cswap/v1/trade/order")] = (lambda p, s: new_order(p, s, True), True)

        def order_id(p):
            oid = p.get("orderId")
            if oid in (None, ""):
                if not (p.get("clientOrderID") or p.get("clientOrderId")):
                    raise BingXError(109400, "Invalid parameters, orderId: This field is required.")
                return None
            try:
                return int(oid)
            except ValueError:
                raise BingXError(109400, f"Invalid parameters, orderId: {oid!r}") from None

        def query_order(p, s, inverse):
            sym = s._symbol(p, inverse=inverse)
            return {"order": acc.get_order(sym, order_id(p), p.get("clientOrderID") or p.get("clientOrderId"))}

        def cancel_order(p, s, inverse):
            sym = s._symbol(p, inverse=inverse)
            return {"order": acc.cancel_order(sym, order_id(p), p.get("clientOrderID") or p.get("clientOrderId"))}

        routes[("GET", "swap/v2/trade/order")] = (lambda p, s: query_order(p, s, False), True)
        routes[("GET", "cswap/v1/trade/orderDetail")] = (lambda p, s: query_order(p, s, True), True)
        routes[("DELETE", "swap/v2/trade/order")] = (lambda p, s: cancel_order(p, s, False), True)
        routes[("DELETE", "cswap/v1/trade/cancelOrder")] = (lambda p, s: cancel_order(p, s, True), True)

        def cancel_all(p, s, inverse):
            sym = s._symbol(p, inverse=inverse, required=False)
            return {"success": acc.cancel_all(sym, inverse=inverse), "failed": None}

        routes[("DELETE", "swap/v2/trade/allOpenOrders")] = (lambda p, s: cancel_all(p, s, False), True)
        routes[("DELETE", "cswap/v1/trade/allOpenOrders")] = (lambda p, s: cancel_all(p, s, True), True)

        def open_orders(p, s, inverse):
            sym = s._symbol(p, inverse=inverse, required=False)
            return {"orders": acc.list_orders(sym, open_only=True, inverse=inverse)}

        routes[("GET", "swap/v2/trade/openOrders")] = (lambda p, s: open_orders(p, s, False), True)
        routes[("GET", "cswap/v1/trade/openOrders")] = (lambda p, s: open_orders(p, s, True), True)

        def history(p, s, inverse, finished_only=True):
            sym = s._symbol(p, inverse=inverse, required=False)
            limit = max(1, min(_int(p, "limit", 500) or 500, 1000))
            start = _int(p, "startTime")
            end = _int(p, "endTime")
            rows = [r for r in acc.list_orders(sym, inverse=inverse)
                    if (not finished_only or r["status"] in ("FILLED", "CANCELLED"))
                    and (start is None or r["time"] >= start) and (end is None or r["time"] <= end)]
            return {"orders": rows[-limit:]}

        routes[("GET", "swap/v2/trade/allOrders")] = (lambda p, s: history(p, s, False), True)
        routes[("GET", "swap/v1/trade/fullOrder")] = (lambda p, s: history(p, s, False, finished_only=False), True)
        routes[("GET", "cswap/v1/trade/orderHistory")] = (lambda p, s: history(p, s, True), True)

        def fills(p, s, inverse):
            sym = s._symbol(p, inverse=inverse, required=not inverse)
            start = _int(p, "startTs", _int(p, "startTime"))
            end = _int(p, "endTs", _int(p, "endTime"))
            oid = p.get("orderId")
            with acc.lock:
                rows = [dict(f) for f in acc.fills
                        if (sym is None or f["symbol"] == sym) and acc.info[f["symbol"]]["inverse"] == inverse
                        and (start is None or f["filledTime"] >= start) and (end is None or f["filledTime"] <= end)
                        and (not oid or f["orderId"] == oid)]
            return rows

        routes[("GET", "swap/v2/trade/allFillOrders")] = (lambda p, s: {"fill_orders": fills(p, s, False)}, True)
        routes[("GET", "swap/v2/trade/fillHistory")] = (
            lambda p, s: {"fill_history_orders": fills(p, s, False)}, True)
        routes[("GET", "cswap/v1/trade/allFillOrders")] = (lambda p, s: fills(p, s, True), True)

        # closeAllPositions is dispatched specially (rate limit + faults); registered for routing
        routes[("POST", "swap/v2/trade/closeAllPositions")] = (lambda p, s: None, True)
        routes[("POST", "cswap/v1/trade/closeAllPositions")] = (lambda p, s: None, True)

        @private("POST", "swap/v1/trade/closePosition")
        def close_position(p, s):
            pid = p.get("positionId")
            with acc.lock:
                pos = next((x for x in acc.positions.values() if str(x.position_id) == str(pid)), None)
                if pos is None:
                    raise BingXError(101205, "No position to close")
                side = "SELL" if pos.side == "LONG" else "BUY"
                o = acc.place_order(pos.symbol, side, "MARKET", pos.qty,
                                    position_side=pos.side if acc.hedge_mode else "BOTH",
                                    reduce_only=None if acc.hedge_mode else True, validate=False)
                return {"orderId": o.order_id, "positionId": str(pid), "symbol": o.symbol,
                        "side": "Ask" if side == "SELL" else "Bid", "type": "MARKET",
                        "positionSide": pos.side.capitalize(), "origQty": acc._fmt_qty(o.symbol, o.qty)}

        return routes
