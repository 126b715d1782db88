"""What every API area of the simulator shares: the route table and the parsing of BingX's parameters."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..records import BingXError, symbol_not_exist

if TYPE_CHECKING:
    from ..account import Account


class Venue(Protocol):
    """What a route takes from the simulator: the account it serves and BingX's clock, and for the simulator's
    own ``/_sim/`` endpoints its bookkeeping. The server (:class:`~..server.BingXSimulator`) is one; the routes
    never import it, as it imports them."""

    @property
    def account(self) -> Account: ...

    @property
    def requests(self) -> Sequence[Any]: ...

    def server_time_ms(self) -> int: ...

    def pending_faults(self) -> list[dict[str, Any]]: ...


Params = dict[str, str]
Handler = Callable[[Params, Venue], Any]

# The two perpetual families and their path prefixes: USDT-M (swap v2) and coin-M (cswap v1).
FAMILIES = ((False, "swap/v2"), (True, "cswap/v1"))


class RouteTable:
    """The routes of one API area: (HTTP method, path after ``/openApi/``) -> (handler, signed)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], tuple[Handler, bool]] = {}

    def add(self, method: str, path: str, handler: Handler, private: bool) -> None:
        self.routes[(method, path)] = (handler, private)

    def public(self, method: str, *paths: str) -> Callable[[Handler], Handler]:
        """Register an unsigned endpoint under every path given."""
        return self._register(method, paths, private=False)

    def private(self, method: str, *paths: str) -> Callable[[Handler], Handler]:
        """Register a signed endpoint (key, signature and timestamp checked first) under every path given."""
        return self._register(method, paths, private=True)

    def _register(self, method: str, paths: tuple[str, ...], private: bool) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            for path in paths:
                self.add(method, path, fn, private)
            return fn
        return deco


def parse_bool(value: Any) -> bool | None:
    if value is None:
        return None
    return str(value).strip().lower() in ("true", "1")


def float_param(params: Params, key: str) -> float | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise BingXError(109400, f"Invalid parameters, {key}: {value!r} is not a number") from None


def int_param(params: Params, key: str, default: int | None = None) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return default
    try:
        return int(float(value))
    except ValueError:
        raise BingXError(109400, f"Invalid parameters, {key}: {value!r} is not an integer") from None


def limit_param(params: Params, default: int, maximum: int) -> int:
    """``limit``, clamped to 1..``maximum`` as BingX does."""
    return max(1, min(int_param(params, "limit", default) or default, maximum))


def symbol_param(params: Params, sim: Venue, inverse: bool | None = None,
                 required: bool = True) -> str | None:
    """The ``symbol`` parameter, checked against the simulator's contracts of the family (None: either)."""
    if not params.get("symbol") and not required:
        return None
    return required_symbol(params, sim, inverse)


def required_symbol(params: Params, sim: Venue, inverse: bool | None = None) -> str:
    """:func:`symbol_param` for an endpoint whose ``symbol`` is mandatory."""
    symbol = params.get("symbol")
    if not symbol:
        raise BingXError(109400, "Invalid parameters, symbol: This field is required.")
    info = sim.account.info.get(symbol)
    if info is None or (inverse is not None and info["inverse"] != inverse):
        raise symbol_not_exist(symbol)
    return symbol


def hash01(*parts: Any) -> float:
    """A deterministic number in [0, 1) from ``parts``: the synthetic market data's only randomness."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64
