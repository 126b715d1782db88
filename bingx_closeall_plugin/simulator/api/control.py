"""The simulator's own endpoints under ``/_sim/`` (not BingX's): a read of its whole state, for a person or
a script looking at a running simulator (``bingx-simulator``)."""

from __future__ import annotations

from typing import Any

from .common import Params, RouteTable, Venue

# paths after /_sim/; answered without a signature, and never faulted
ROUTES = RouteTable()


@ROUTES.public("GET", "state")
def state(p: Params, s: Venue) -> Any:
    acc = s.account
    return {
        "hedgeMode": acc.hedge_mode,
        "positions": acc.list_positions(),
        "openOrders": acc.list_orders(open_only=True),
        "balances": acc.balance_rows(sorted(acc.balances)),
        "faults": s.pending_faults(),
        "requests": len(s.requests),
    }
