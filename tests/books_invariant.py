"""The books-and-BingX invariant, checked after a bot's flatten (a race, a crash, a restart) settles.

:func:`violations` reads the simulator and the bot's sqlite database and lists every way they disagree;
:func:`assert_books_agree` fails with that list. Self-contained: it needs only a
:class:`~bingx_closeall_plugin.simulator.BingXSimulator` and a :class:`freqtrade_bot.FreqtradeBot` (its ``db``).

The rules, for the bot's pairs:

- a trade is open in the database exactly when its position is open on BingX (one open trade per position);
- every trade the flatten closed carries BingX's fill: one filled exit order recorded, its id one of BingX's
  filled orders, the trade's close rate its average price, its exit fee BingX's commission, exit reason
  ``force_exit`` (``exit_reason``);
- no stop or take-profit rests on BingX for a flat position, and the database holds no open stoploss order
  for a closed trade;
- nothing is reopened: no fill took a position past zero (``sim.reversals()``), and no trade the flatten
  closed is open again;
- a position or order the bot does not own (``foreign``) is untouched: same side and size, its orders resting.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# BingX's conditional orders that protect a position; none may rest once the position is flat.
PROTECTIVE_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET",
                    "TRAILING_TP_SL")
REL_TOL = 1e-6

__all__ = ["assert_books_agree", "native", "settled", "violations"]


def native(pair: str) -> str:
    """freqtrade's ``BTC/USDT:USDT`` -> BingX's ``BTC-USDT`` (the suite's simulator lists plain assets)."""
    return pair.split(":")[0].replace("/", "-")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b), 1e-12)


def _trades(bot: Any) -> list[dict[str, Any]]:
    return bot.db("SELECT * FROM trades")


def settled(sim: Any, bot: Any, closed_ids: Iterable[int] = ()) -> bool:
    """The database says what BingX says (open trades exactly on the open bot positions) and every trade in
    ``closed_ids`` that is closed has its exit reason written: the point at which :func:`violations` is read."""
    trades = _trades(bot)
    pairs = {native(t["pair"]) for t in trades}
    open_symbols = sorted(native(t["pair"]) for t in trades if t["is_open"])
    positions = sorted(p["symbol"] for p in sim.positions() if p["symbol"] in pairs)
    wanted = set(closed_ids)
    return open_symbols == positions and all(t["exit_reason"] for t in trades if t["id"] in wanted and not t["is_open"])


def violations(sim: Any, bot: Any, flattened: Iterable[int], *, exit_reason: str = "force_exit",
               foreign: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Every disagreement between the bot's books and the simulator, as sentences (empty: the books agree).

    ``flattened``: the ids of the trades a flatten was asked to close (each must now be closed with BingX's
    fill, unless its position is still open and so is it). ``foreign``: symbol -> ``{"side": "LONG"|"SHORT",
    "qty": float, "orders": [order ids]}`` of positions and orders the bot does not own and must not touch.
    """
    problems: list[str] = []
    trades = {t["id"]: t for t in _trades(bot)}
    bot_symbols = {native(t["pair"]) for t in trades.values()}
    positions = {p["symbol"]: p for p in sim.positions()}
    all_orders = sim.orders()
    fills = {str(o["orderId"]): o for o in all_orders if o["status"] == "FILLED"}
    resting = sim.open_orders()

    # 1. open in the database exactly when open on BingX, one trade per position
    open_by_symbol: dict[str, list[int]] = {}
    for trade in trades.values():
        if trade["is_open"]:
            open_by_symbol.setdefault(native(trade["pair"]), []).append(trade["id"])
    for symbol in sorted(bot_symbols | set(open_by_symbol)):
        owners = open_by_symbol.get(symbol, [])
        if symbol in positions and not owners and symbol not in (foreign or {}):
            problems.append(f"{symbol}: a position is open on BingX but no trade is open for it")
        if owners and symbol not in positions:
            problems.append(f"{symbol}: trade(s) {owners} open in the database but BingX holds no position")
        if len(owners) > 1:
            problems.append(f"{symbol}: {len(owners)} open trades {owners} for one position")

    # 2. every trade the flatten closed carries BingX's fill and the force-exit reason
    for trade_id in sorted(set(flattened)):
        trade = trades.get(trade_id)
        if trade is None:
            problems.append(f"trade {trade_id}: gone from the database")
            continue
        if trade["is_open"]:
            continue  # checked above against its position
        label = f"trade {trade_id} ({trade['pair']})"
        if trade["exit_reason"] != exit_reason:
            problems.append(f"{label}: exit reason {trade['exit_reason']!r}, not {exit_reason!r}")
        exit_side = "buy" if trade["is_short"] else "sell"
        exits = bot.db("SELECT * FROM orders WHERE ft_trade_id = ? AND ft_order_side = ? AND status = 'closed' "
                       "AND filled > 0", (trade_id, exit_side))
        if len(exits) != 1:
            problems.append(f"{label}: {len(exits)} filled exit orders recorded, not 1: "
                            f"{[o['order_id'] for o in exits]}")
            continue
        (order,) = exits
        fill = fills.get(str(order["order_id"]))
        if fill is None:
            problems.append(f"{label}: exit order {order['order_id']} is no filled order of BingX's")
            continue
        if not _close(float(trade["close_rate"] or 0), float(fill["avgPrice"])):
            problems.append(f"{label}: close rate {trade['close_rate']} is not BingX's fill price {fill['avgPrice']}")
        if not _close(float(order["filled"] or 0), abs(float(fill["executedQty"]))):
            problems.append(f"{label}: exit filled {order['filled']}, BingX filled {fill['executedQty']}")
        if not _close(abs(float(trade["fee_close_cost"] or 0)), abs(float(fill["commission"]))):
            problems.append(f"{label}: exit fee {trade['fee_close_cost']} is not BingX's commission "
                            f"{fill['commission']}")

    # 3. no stop or take-profit rests for a flat position; none open in the books for a closed trade
    for o in resting:
        if o["type"] in PROTECTIVE_TYPES and o["symbol"] not in positions:
            problems.append(f"{o['symbol']}: {o['type']} {o['orderId']} rests for a flat position")
    for row in bot.db("SELECT o.order_id, t.id AS trade_id FROM orders o JOIN trades t ON t.id = o.ft_trade_id "
                      "WHERE t.is_open = 0 AND o.ft_is_open = 1"):
        problems.append(f"trade {row['trade_id']}: closed but order {row['order_id']} is open in the database")

    # 4. nothing reopened or reversed
    for reversal in sim.reversals():
        problems.append(f"a fill reversed or over-closed a position: {reversal}")

    # 5. what the bot does not own is untouched
    resting_ids = {str(o["orderId"]) for o in resting}
    for symbol, own in (foreign or {}).items():
        position = positions.get(symbol)
        if position is None:
            problems.append(f"{symbol}: the position the bot does not own was closed")
        else:
            side = position["positionSide"]
            if side == "BOTH":  # one-way: the amount's sign says the side
                side = "LONG" if float(position["positionAmt"]) > 0 else "SHORT"
            if side != own["side"] or not _close(abs(float(position["positionAmt"])), own["qty"]):
                problems.append(f"{symbol}: the position the bot does not own changed: {position}")
        for order_id in own.get("orders", ()):
            if str(order_id) not in resting_ids:
                problems.append(f"{symbol}: order {order_id} the bot does not own no longer rests")
    return problems


def assert_books_agree(sim: Any, bot: Any, flattened: Iterable[int], **kwargs: Any) -> None:
    problems = violations(sim, bot, flattened, **kwargs)
    assert not problems, "the books and BingX disagree:\n  " + "\n  ".join(problems)
