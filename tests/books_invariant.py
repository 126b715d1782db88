"""The one invariant between a bot's books and BingX, checked after every crash, restart and race.

For the bot's pairs:
  * a trade is open in the database exactly when its position is open on BingX, same side, same amount;
  * every trade a flatten closed (its exit order is one closeAllPositions placed, or the test names it) has
    exit reason ``force_exit``; every closed trade carries BingX's fill price (``close_rate`` is the
    amount-weighted ``avgPrice`` of its filled exit orders) and fee (``fee_close`` is their commission over
    their quote amount);
  * no stop or take-profit rests for a flat position;
  * nothing is reopened: no trade the checker once saw closed is open again, no fill reversed a position
    (``sim.reversals()``);
  * a position or order the bot does not own (on a pair outside its whitelist) is untouched;
  * the bot runs, and its log holds no traceback.

``BooksInvariant(sim, bot)`` snapshots what the bot does not own when it is made; ``violations()`` lists every
breach (empty when all holds); ``wait_holds(timeout)`` waits, bounded, until it holds and fails with the last
list otherwise (a restarted bot needs a few loop iterations to agree with BingX: the issue gives it 90 s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

TRIGGERS = {"STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT", "TRIGGER_MARKET", "TRIGGER_LIMIT"}
RESTART_BOUND_S = 90.0
SETTLE_BOUND_S = 30.0  # a running bot books what BingX did within a few loop iterations


def native(pair: str) -> str:
    """freqtrade's ``BTC/USDT:USDT`` as BingX's ``BTC-USDT`` (the test pairs need no currency renames)."""
    return pair.split(":")[0].replace("/", "-")


def _signed_qty(position: dict[str, Any]) -> float:
    qty = float(position["positionAmt"])
    return -abs(qty) if position.get("positionSide") == "SHORT" else qty


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 + 1e-6 * max(abs(a), abs(b))


@dataclass
class BooksInvariant:
    sim: Any
    bot: Any
    pairs: list[str] | None = None  # the bot's pairs; its config's whitelist by default
    closed_seen: set[int] = field(default_factory=set)
    # breaches already reported: a soak that goes on after one counts it once, not in every later cycle
    acknowledged: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.pairs is None:
            self.pairs = list(self.bot.config["exchange"]["pair_whitelist"])
        self.symbols = {native(p) for p in self.pairs}
        self.foreign = self._foreign_snapshot()

    # ------------------------------------------------------------------ what the bot does not own
    def _foreign_snapshot(self) -> dict[str, Any]:
        positions = {(p["symbol"], p["positionSide"]): p["positionAmt"] for p in self.sim.positions()
                     if p["symbol"] not in self.symbols}
        orders = sorted(str(o["orderId"]) for o in self.sim.open_orders() if o["symbol"] not in self.symbols)
        return {"positions": positions, "orders": orders}

    # ------------------------------------------------------------------ the checks
    def violations(self, flattened: set[int] | frozenset[int] = frozenset()) -> list[str]:
        """Every breach of the invariant now; ``flattened``: trade ids the test knows a flatten closed."""
        found: list[str] = []
        trades = self.bot.db("SELECT * FROM trades ORDER BY id")
        found += self._positions_match_trades(trades)
        found += self._closed_trades_carry_fills(trades, set(flattened))
        found += self._no_stop_on_flat()
        found += self._nothing_reopened(trades)
        now = self._foreign_snapshot()
        if now != self.foreign:
            found.append(f"what the bot does not own changed: {self.foreign} -> {now}")
        found += self._bot_healthy()
        return [f for f in found if f not in self.acknowledged]

    def _positions_match_trades(self, trades: list[dict[str, Any]]) -> list[str]:
        found = []
        on_bingx: dict[str, float] = {}
        for p in self.sim.positions():
            if p["symbol"] in self.symbols:
                on_bingx[p["symbol"]] = on_bingx.get(p["symbol"], 0.0) + _signed_qty(p)
        in_books: dict[str, float] = {}
        for t in trades:
            if t["is_open"]:
                sym = native(t["pair"])
                in_books[sym] = in_books.get(sym, 0.0) + (-t["amount"] if t["is_short"] else t["amount"])
        for sym in sorted(self.symbols):
            have, book = on_bingx.get(sym, 0.0), in_books.get(sym, 0.0)
            if not _close(have, book):
                found.append(f"{sym}: BingX holds {have:+g}, the open trades {book:+g}")
        return found

    def _closed_trades_carry_fills(self, trades: list[dict[str, Any]], flattened: set[int]) -> list[str]:
        found = []
        bingx = {str(o["orderId"]): o for o in self.sim.orders()}
        closers = self.sim.close_all_order_ids()
        for t in trades:
            if t["is_open"]:
                continue
            entry_side = "sell" if t["is_short"] else "buy"
            exits = self.bot.db("SELECT * FROM orders WHERE ft_trade_id = ? AND ft_order_side != ? "
                                "AND status = 'closed' AND filled > 0", (t["id"], entry_side))
            if not exits:
                found.append(f"trade {t['id']} ({t['pair']}) is closed without a filled exit order")
                continue
            if (t["id"] in flattened or any(o["order_id"] in closers for o in exits)) \
                    and t["exit_reason"] != "force_exit":
                found.append(f"trade {t['id']} ({t['pair']}) was flattened but booked {t['exit_reason']!r}")
            fills = [bingx.get(o["order_id"]) for o in exits]
            if any(f is None for f in fills):
                found.append(f"trade {t['id']}: an exit order BingX does not know: {[o['order_id'] for o in exits]}")
                continue
            qty = sum(float(f["executedQty"]) for f in fills)
            quote = sum(float(f["cumQuote"]) for f in fills)
            fee = sum(abs(float(f["commission"])) for f in fills)
            avg = sum(float(f["executedQty"]) * float(f["avgPrice"]) for f in fills) / qty
            if t["close_rate"] is None or not _close(t["close_rate"], avg):
                found.append(f"trade {t['id']}: close_rate {t['close_rate']} is not BingX's fill price {avg}")
            if quote and (t["fee_close"] is None or abs(t["fee_close"] - fee / quote) > 1e-3 * (fee / quote)):
                found.append(f"trade {t['id']}: fee_close {t['fee_close']} is not BingX's fee {fee / quote}")
        return found

    def _no_stop_on_flat(self) -> list[str]:
        held = {p["symbol"] for p in self.sim.positions()}
        found = [f"{o['symbol']}: {o['type']} {o['orderId']} rests for a flat position"
                 for o in self.sim.open_orders()
                 if o["symbol"] in self.symbols and o["symbol"] not in held and o["type"] in TRIGGERS]
        found += [f"trade {row['trade_id']}: closed but order {row['order_id']} is open in the database"
                  for row in self.bot.db("SELECT o.order_id, t.id AS trade_id FROM orders o JOIN trades t "
                                         "ON t.id = o.ft_trade_id WHERE t.is_open = 0 AND o.ft_is_open = 1")]
        return found

    def _nothing_reopened(self, trades: list[dict[str, Any]]) -> list[str]:
        found = [f"trade {t['id']} ({t['pair']}) was closed and is open again" for t in trades
                 if t["is_open"] and t["id"] in self.closed_seen]
        self.closed_seen |= {t["id"] for t in trades if not t["is_open"]}
        found += [f"a fill reversed or over-closed a position: {r}" for r in self.sim.reversals()]
        return found

    def _bot_healthy(self) -> list[str]:
        found = []
        if self.bot.proc is None or self.bot.proc.poll() is not None:
            found.append("the bot is not running")
        if "Traceback" in self.bot.output():
            found.append("the bot logged a traceback:\n" + self.bot.output().split("Traceback", 1)[1][:1500])
        return found

    def wait_holds(self, timeout: float = RESTART_BOUND_S,
                   flattened: set[int] | frozenset[int] = frozenset()) -> None:
        """Until the invariant holds (bounded); fails naming what still breaks it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.violations(flattened)
            if not found:
                return
            if time.monotonic() >= deadline:
                self.acknowledged |= set(found)
                raise AssertionError(f"books and BingX disagree {timeout:.0f} s on:\n  " + "\n  ".join(found))
            time.sleep(0.5)


# ---------------------------------------------------------------------- the race tests' shorthand
def foreign_changes(sim: Any, foreign: dict[str, dict[str, Any]]) -> list[str]:
    """``foreign``: symbol -> ``{"side": "LONG"|"SHORT", "qty": float, "orders": [ids]}`` that must be as said."""
    found = []
    positions = {p["symbol"]: p for p in sim.positions()}
    resting = {str(o["orderId"]) for o in sim.open_orders()}
    for symbol, own in foreign.items():
        position = positions.get(symbol)
        if position is None:
            found.append(f"{symbol}: the position the bot does not own was closed")
        else:
            side = "LONG" if _signed_qty(position) > 0 else "SHORT"
            if side != own["side"] or not _close(abs(float(position["positionAmt"])), own["qty"]):
                found.append(f"{symbol}: the position the bot does not own changed: {position}")
        found += [f"{symbol}: order {oid} the bot does not own no longer rests"
                  for oid in own.get("orders", ()) if str(oid) not in resting]
    return found


def assert_books_agree(sim: Any, bot: Any, flattened: Any, foreign: dict[str, dict[str, Any]] | None = None,
                       timeout: float = SETTLE_BOUND_S) -> None:
    """Waits (bounded) until the invariant holds with ``flattened`` trade ids, else fails naming every breach; then
    checks ``foreign`` as given."""
    check = BooksInvariant(sim, bot, pairs=[p for p in bot.config["exchange"]["pair_whitelist"]
                                            if native(p) not in (foreign or {})])
    check.wait_holds(timeout, flattened=set(flattened))  # the loop may still be booking a late entry
    problems = foreign_changes(sim, foreign or {})
    assert not problems, "the books and BingX disagree:\n  " + "\n  ".join(problems)
