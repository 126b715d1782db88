"""bingx-closeall's output: the tables, the one JSON document, and the last line (FLAT or NOT FLAT).

Everything printed here goes through the masked ``sys.stdout`` / ``sys.stderr`` that :func:`.command.main` sets up.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from ..core.symbols import CurrencyMap, display_name, unified_name
from .accounts import target_of
from .run import (
    EXIT_AUTH,
    EXIT_FLAT,
    EXIT_OPEN,
    EXIT_PRIORITY,
    EXIT_RATE_LIMIT,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    Outcome,
)


def print_outcomes(outcomes: list[Outcome], args: argparse.Namespace, elapsed: float = 0.0) -> int:
    code = next(c for c in EXIT_PRIORITY if any(o.code == c for o in outcomes))
    final = final_line(outcomes, args, code, elapsed)
    if args.json:
        documents = [json_document(o) for o in outcomes]
        if len(documents) == 1:
            document = documents[0]
        else:
            document = {"accounts": [{"config": o.account.label, **d}
                                     for o, d in zip(outcomes, documents, strict=True)],
                        "exit_code": code}
        document.update(flat=code == EXIT_FLAT and not args.dry_run, elapsed_s=round(elapsed, 3), final=final)
        sys.stdout.write(json.dumps(document) + "\n")  # one write: the masking sees whole strings
    elif len(outcomes) > 1 and not args.verbose:
        # Many accounts: one line each, readable at 100; the tables behind -v, everything in --json.
        for outcome in outcomes:
            print(account_line(outcome, args), file=sys.stdout)
    else:
        for outcome in outcomes:
            if args.dry_run and outcome.positions is not None:
                print_positions(outcome, sys.stdout)
            else:
                print_report(outcome, sys.stdout)
    sys.stdout.flush()
    for outcome in outcomes:  # each error once, here, on stderr
        if outcome.message and outcome.code != EXIT_FLAT:
            print(f"bingx-closeall: [{outcome.account.label}] {outcome.message}", file=sys.stderr)
    sys.stderr.flush()
    # The last line an operator reads: stdout, unless stdout holds the one JSON document.
    print(final, file=sys.stderr if args.json else sys.stdout, flush=True)
    return code


# What to do next, by exit code, for the NOT FLAT line.
_NEXT_STEP = {
    EXIT_USAGE: "fix the command or config named above and run again",
    EXIT_AUTH: "fix the API key (trade permission, IP whitelist) or close them in BingX's app",
    EXIT_RATE_LIMIT: "run again once BingX's rate limit ends, or close them in BingX's app",
    EXIT_UNAVAILABLE: "check the network and BingX's status, run again, or close them in BingX's app",
    EXIT_OPEN: "run bingx-closeall again, or close them in BingX's app",
}


def final_line(outcomes: list[Outcome], args: argparse.Namespace, code: int, elapsed: float) -> str:
    """One line to trust at a glance: FLAT with the time to verified flat, or NOT FLAT, what remains, what to do."""
    where = str(target_of(outcomes[0].account)) if len(outcomes) == 1 else f"all {len(outcomes)} accounts"
    if args.dry_run and code == EXIT_FLAT:
        positions = sum(len(o.positions or []) for o in outcomes)
        orders = sum(len(o.orders or []) for o in outcomes)
        return f"DRY RUN: nothing was sent; {positions} position(s) and {orders} open order(s) on {where}"
    if code == EXIT_FLAT:
        return f"FLAT: {where} verified flat in {elapsed:.2f} s"
    remains = [f"[{o.account.label}] {remains_of(o)}" for o in outcomes if o.code != EXIT_FLAT]
    check = "; check with --dry-run" if not args.dry_run else ""
    return (f"NOT FLAT after {elapsed:.2f} s: {'; '.join(remains)}. "
            f"Next: {_NEXT_STEP.get(code, _NEXT_STEP[EXIT_OPEN])}{check}")


def account_line(outcome: Outcome, args: argparse.Namespace) -> str:
    """One account in one line: FLAT or NOT FLAT, what was closed and cancelled, or what remains."""
    head = f"[{outcome.account.label}]"
    if args.dry_run and outcome.positions is not None:
        return f"{head} {len(outcome.positions)} position(s), {len(outcome.orders or [])} open order(s)"
    report = outcome.report
    done = ("" if report is None else f"{len(report.success)} close order(s) in {report.close_requests} request(s), "
            f"{len(report.cancelled_orders or [])} order(s) cancelled")
    if outcome.code == EXIT_FLAT:
        return f"{head} FLAT: {done}"
    return f"{head} NOT FLAT (exit {outcome.code}): {remains_of(outcome)}" + (f"; {done}" if done else "")


def side_and_size(position: dict[str, Any]) -> str:
    """LONG 0.01 / SHORT 0.2: one-way mode's BOTH with a signed amount, said as a trader says it."""
    side, amount = str(position.get("positionSide") or "BOTH").upper(), str(position.get("positionAmt") or "?")
    if side == "BOTH":
        side = "SHORT" if amount.startswith("-") else "LONG"
    return f"{side} {amount.lstrip('-')}"


def remains_of(outcome: Outcome) -> str:
    report = outcome.report
    if report is None:
        return "nothing known (see the error above); positions presumably as they were"
    if not report.positions_read:
        text = "positions not read after the failure, presumably still open"
    elif report.remaining_positions:
        names = report.currencies
        text = "still open: " + ", ".join(f"{display_name(p.get('symbol'), names)} {side_and_size(p)}"
                                          for p in report.remaining_positions)
    else:
        text = "no position open"
    if report.orders_left:
        text += "; open orders may remain"
    return text


def print_positions(outcome: Outcome, out: TextIO) -> None:
    print(f"{target_of(outcome.account)}: {len(outcome.positions or [])} open position(s), "
          f"{len(outcome.orders or [])} open order(s)", file=out)
    names = outcome.currencies
    rows = [(display_name(p.get("symbol"), names), p.get("positionSide"), p.get("positionAmt"), p.get("avgPrice"),
             p.get("unrealizedProfit")) for p in outcome.positions or []]
    print_table(("SYMBOL", "SIDE", "AMOUNT", "ENTRY", "UNREALIZED PNL"), rows, out)
    orders = [(display_name(o.get("symbol"), names), o.get("side"), o.get("type"), o.get("origQty"),
               o.get("stopPrice") or o.get("price")) for o in outcome.orders or []]
    if orders:
        print_table(("SYMBOL", "SIDE", "TYPE", "QTY", "PRICE"), orders, out)


def print_table(header: tuple[str, ...], rows: list[tuple[Any, ...]], out: TextIO) -> None:
    if not rows:
        return
    cells = [header, *[tuple("" if value is None else str(value) for value in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print("  " + "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=False)).rstrip(),
              file=out)


def print_report(outcome: Outcome, out: TextIO) -> None:
    report = outcome.report
    if report is None:  # nothing known beyond the error, printed once on stderr
        print(f"{target_of(outcome.account)}: failed, see the error below", file=out)
        return
    print(f"{target_of(outcome.account)}: {len(report.success)} close order(s) in {report.close_requests} request(s)",
          file=out)
    by_id = {order["orderId"]: order for order in report.closed_orders}
    names = report.currencies
    rows = [(display_name(by_id.get(i, {}).get("symbol"), names), by_id.get(i, {}).get("side"),
             by_id.get(i, {}).get("executedQty"), by_id.get(i, {}).get("avgPrice"), i) for i in report.success]
    print_table(("SYMBOL", "SIDE", "QTY", "AVG PRICE", "ORDER ID"), rows, out)
    if report.cancelled_orders is not None:
        print(f"  cancelled open orders: {len(report.cancelled_orders)} "
              f"({len(report.cancelled_openers)} that could open a position, at once; "
              f"{len(report.cancelled_protective)} once their position was flat)", file=out)
    if report.cancel_error:
        print("  cancelling open orders failed (the error is on stderr)", file=out)
    if report.unprotected:
        print("  CANCELLED ON A SYMBOL WHOSE POSITION IS STILL OPEN:", file=out)
        print_orders(report.unprotected, out)
    if report.kept_orders:
        print("  KEPT (stops/take-profits of positions still open):", file=out)
        print_orders(report.kept_orders, out)
    if report.failed:
        print(f"  BingX could not close: {', '.join(map(str, report.failed))}", file=out)
    if report.remaining_positions:
        print("  STILL OPEN:", file=out)
        print_table(("SYMBOL", "SIDE", "AMOUNT"), [(display_name(p.get("symbol"), names), p.get("positionSide"),
                                                   p.get("positionAmt")) for p in report.remaining_positions], out)
    print("  flat" if outcome.code == EXIT_FLAT else "  not flat", file=out)


def print_orders(orders: list[dict[str, Any]], out: TextIO) -> None:
    print_table(("SYMBOL", "SIDE", "TYPE", "STOP", "ORDER ID"),
                [(o.get("symbol"), o.get("side"), o.get("type"), o.get("stopPrice"), o.get("orderId"))
                 for o in orders], out)


def json_document(outcome: Outcome) -> dict[str, Any]:
    if outcome.report is not None:
        document = outcome.report.to_dict()
    elif outcome.positions is not None:
        document = {"dry_run": True, "positions": _named(outcome.positions, outcome.currencies),
                    "open_orders": _named(outcome.orders, outcome.currencies)}
    else:
        document = {"success": [], "failed": [], "symbol": None, "remaining_positions": None}
    document["target"] = target_of(outcome.account).to_dict()
    document["exit_code"] = outcome.code
    if outcome.message:
        document["error"] = outcome.message
    return document


def _named(rows: list[dict[str, Any]] | None, names: CurrencyMap | None) -> list[dict[str, Any]] | None:
    """BingX's rows as sent, each with ccxt's name for its symbol beside BingX's."""
    if rows is None:
        return None
    return [{**row, "unified_symbol": unified_name(row.get("symbol"), names)} for row in rows]
