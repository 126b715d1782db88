"""The simulator's HTTP server and :class:`BingXSimulator`, its lifecycle and test-facing wrapper.

The endpoints live by BingX's API areas in :mod:`.api` (market, user, trade, and the simulator's own
``/_sim/`` control); requests are read and checked in :mod:`.auth`. This module routes each request,
applies closeAllPositions' rate limit and the armed faults, and keeps the request log.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import auth
from .account import Account
from .api import ROUTES, control, trade
from .api.common import Handler, Params
from .faults import Fault, FaultTable
from .holds import Hold, HoldTable
from .records import BingXError

CLOSE_ALL_LIMIT_PER_SECOND = 5  # BingX's page for closeAllPositions: "rate limitation by UID: 5/s"


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


class BingXSimulator:
    """A local BingX perpetual-futures REST double; see the package docstring for scope."""

    def __init__(self, api_key: str = "sim-key", api_secret: str = "sim-secret",  # noqa: S107 - a double's
                 latency_ms: float = 0,
                 hedge_mode: bool = False, clock_offset_ms: int = 0, host: str = "127.0.0.1", port: int = 0,
                 extra_contracts: int = 0):
        self.api_key = api_key
        self._api_secret = api_secret
        self.latency_ms = self._initial_latency_ms = latency_ms
        self.clock_offset_ms = self._initial_clock_offset_ms = clock_offset_ms
        self.host = host
        self.port = port
        self._initial_hedge = hedge_mode
        self.account = Account(now_ms=self.server_time_ms, hedge_mode=hedge_mode, extra_contracts=extra_contracts)
        self._faults = FaultTable()
        self._holds = HoldTable()
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        # reset() starts a new account: a request that arrived before it (still in its latency, or answered to a
        # client that gave up) must not execute on the new one, as a test's late close would on the next test's
        self._generation = 0
        self._in_flight = 0  # requests being handled now (in their latency, parked in a hold, executing)
        self._rate: dict[str, collections.deque[float]] = {}
        self._rate_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None

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
            except Exception:  # noqa: BLE001, S110 - best effort on shutdown: the thread ends either way
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
        self._holds.clear()
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
        offset given at construction; key/secret/port kept. A request that arrived before the reset and is still
        being handled (in its latency) is dropped, never executed on the new account."""
        self.account.reset(hedge_mode=self._initial_hedge)
        self.latency_ms = self._initial_latency_ms
        self.clock_offset_ms = self._initial_clock_offset_ms
        with self._log_lock:
            self._generation += 1
        self._faults.clear()
        self._holds.clear()
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

    def seed_order(self, symbol: str, side: str, type: str,  # noqa: A002 - BingX's parameter name
                   quantity: float, stop_price: float | None = None, price: float | None = None,
                   reduce_only: bool = True, position_side: str = "BOTH") -> int:
        o = self.account.place_order(symbol, side, type, quantity, price=price, stop_price=stop_price,
                                     position_side=position_side, reduce_only=reduce_only, validate=False)
        return o.order_id

    def positions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return self.account.list_positions(symbol)

    def drop_order(self, order_id: int | str) -> None:
        """Remove an order from every read (open orders, order query, history): an order BingX no longer lists."""
        with self.account.lock:
            self.account.orders.pop(int(order_id), None)

    def reversals(self) -> list[dict[str, Any]]:
        """Every fill that took a position past zero (one-way) or beyond its size (hedge), oldest first.

        A close must never do either; tests of the close path expect this to stay empty.
        """
        with self.account.lock:
            return [dict(r) for r in self.account.reversals]

    def close_all_order_ids(self) -> set[str]:
        """The ids (as strings) of every order closeAllPositions placed since the last reset."""
        with self.account.lock:
            return {str(i) for i in self.account.close_all_orders}

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

    def hold(self, path_suffix: str, when: str = "before", method: str | None = None,
             match: Any = None, times: int = 1, timeout: float = 60.0) -> Hold:
        """Park the next request to ``path_suffix`` (of ``method``, whose parameters ``match``) before BingX
        would execute it or after (executed, not yet answered), until the returned :class:`Hold` is released.

        For crash tests: wait for ``hold.wait_reached()``, kill the client, then ``hold.release()``.
        """
        return self._holds.add(Hold(path_suffix, when=when, method=method, match=match, times=times,
                                    timeout=timeout))

    def clear_holds(self) -> None:
        """Forget every hold; a request still parked is dropped (its connection aborted, never executed
        if it was held before execution)."""
        self._holds.clear()

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

    def in_flight(self) -> int:
        """How many requests the simulator is handling right now (answered or dropped ones are not counted)."""
        with self._log_lock:
            return self._in_flight

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        with self._log_lock:
            self._in_flight += 1
        try:
            return await self._handle(request)
        finally:
            with self._log_lock:
                self._in_flight -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        path = request.path
        method = request.method.upper()
        try:
            params, signature, signed = await auth.read_params(request)
        except Exception:  # noqa: BLE001 - malformed input: answered as a request without parameters
            params, signature, signed = {}, None, ""
        key_ok = auth.key_matches(request, self.api_key)
        generation = self._generation
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
        if generation != self._generation:
            return done(None, None)  # the account it was sent to was reset meanwhile: dropped, never executed

        if path.startswith("/_sim/"):
            own = control.ROUTES.routes.get((method, path[len("/_sim/"):]))
            if own is not None:
                return done(self._json({"code": 0, "msg": "", "data": own[0](params, self)}), 0)
            return done(self._json({"code": 100400, "msg": "this api is not exist"}, status=404), 100400)

        rel = path[len("/openApi/"):] if path.startswith("/openApi/") else path.lstrip("/")
        entry = ROUTES.get((method, rel))
        if entry is None:
            return done(self._json({"code": 100400, "msg": "this api is not exist"}, status=404), 100400)
        handler, private = entry

        try:
            held = self._holds.take(method, path, params, "before")
            if held is not None and await held.park(params):
                self._drop(request)  # released with drop=True: BingX never saw it
                return done(None, None)
            fault = self._faults.take(path)
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
            held = self._holds.take(method, path, params, "after")
            if held is not None and await held.park(params):
                self._drop(request)  # executed; the answer is lost
                return done(None, code)
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

    def _execute(self, request: web.Request, rel: str, handler: Handler, private: bool, params: Params,
                 signature: str | None, signed: str, fault: Fault | None) -> dict[str, Any]:
        try:
            if private:
                auth.check_auth(request, params, signature, signed, self.api_key, self._api_secret,
                                self.server_time_ms)
                self.account.settle_funding()
            if rel.endswith("trade/closeAllPositions"):
                self._rate_check(self.api_key)
                data = trade.close_all(params, self, inverse=rel.startswith("cswap/"), fault=fault)
            else:
                data = handler(params, self)
        except BingXError as err:
            return {"code": err.code, "msg": err.msg, "data": {}}
        payload: dict[str, Any] = {"code": 0, "msg": "", "timestamp": self.server_time_ms(), "data": data}
        return payload
