"""BingX's REST API as the simulator serves it, one module per API area of BingX's documentation.

- :mod:`.market`: public market data (server time, contracts, tickers, depth, klines, funding);
- :mod:`.user`: the account (balances, positions, fees, income) and its settings (leverage, margin
  type, position mode);
- :mod:`.trade`: orders, cancels, order and fill history, closeAllPositions, closePosition;
- :mod:`.control`: the simulator's own ``/_sim/`` endpoints, not BingX's.

Each module declares its routes in a :class:`~.common.RouteTable`; :data:`ROUTES` joins the three BingX
areas. A handler takes the merged request parameters and a :class:`~.common.Venue` (what it needs of the
simulator: the routes never import the server, which imports them) and returns the answer's ``data``,
or raises :class:`~..records.BingXError` for a refusal.
"""

from __future__ import annotations

from . import market, trade, user
from .common import Handler, Params, RouteTable, Venue

__all__ = ["ROUTES", "Handler", "Params", "RouteTable", "Venue"]

# (HTTP method, path after /openApi/) -> (handler, signed)
ROUTES: dict[tuple[str, str], tuple[Handler, bool]] = {**market.ROUTES.routes, **user.ROUTES.routes,
                                                       **trade.ROUTES.routes}
