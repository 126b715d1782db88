"""bingx-closeall: flatten BingX perpetual futures accounts from a terminal.

Configs are read as freqtrade reads them (:mod:`bingx_closeall_plugin.config`): ``-c`` repeated merges
files into one account; ``--account`` (repeated) names several accounts, each its own config file(s).
Every output names its target: the endpoint (live, demo, or the URL) and the account.

Ctrl-C: before anything was sent, exit 1 saying so. Once the flatten runs, a first Ctrl-C lets the
request in flight be answered, sends nothing more, prints what happened and exits 1, or 0 if the account
was verified flat with its orders cancelled; a second Ctrl-C abandons at once with what is known. Never a
traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, TextIO

import ccxt

from .closeall import MAX_RECV_WINDOW_MS, Interrupted, StopSignal, check_arguments, connection_refused
from .config import ENV_OVERRIDES, ConfigFileError, load_config
from .errors import BingXError, InvalidInput
from .exchange import BingX
from .flatten import DEFAULT_RATE_LIMIT_WAIT, FlattenReport, flatten, read_account
from .redaction import MaskingStream, SecretMasker, error_text, mask
from .symbols import CurrencyMap, currency_map, display_name, unified_name
from .urls import api_urls as root_urls

logger = logging.getLogger("bingx_closeall_plugin.cli")

EXIT_CODES_HELP = """exit codes:
  0  flat: every position closed and verified (or nothing was open); with --dry-run, read fine
  1  not flat: something failed or is still open, the operator declined, or Ctrl-C
  2  usage or config error (an unknown symbol included); nothing was sent
  3  authentication or permission refused by BingX
  4  rate limited by BingX beyond --max-wait
  5  network error or BingX unavailable

credentials: -c/--config FILE (freqtrade config; repeat to merge, later files win, e.g.
-c config.json -c secrets.json), else FREQTRADE__EXCHANGE__KEY / FREQTRADE__EXCHANGE__SECRET,
else BINGX_API_KEY / BINGX_API_SECRET. Several accounts: --account FILE[,FILE] per account."""

# Other commands of bingx-closeall (``bingx-closeall NAME ...``): name -> module with ``main(argv) -> int``,
# imported only when asked for, so the close path never pays for them.
SUBCOMMANDS: dict[str, str] = {"guard": "bingx_closeall_plugin.guard"}

EXIT_FLAT, EXIT_OPEN, EXIT_USAGE, EXIT_AUTH, EXIT_RATE_LIMIT, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4, 5
# Where two accounts end differently, the code reported is the first of these that any of them had.
_EXIT_PRIORITY = (EXIT_USAGE, EXIT_AUTH, EXIT_RATE_LIMIT, EXIT_UNAVAILABLE, EXIT_OPEN, EXIT_FLAT)
# --max-wait's ceiling: BingX's longest documented block (its error penalty) is 480 s.
MAX_WAIT_LIMIT_S = 600.0
# After a first Ctrl-C: the requests in flight get their answer (the client's 10 s timeout bounds each).
INTERRUPT_GRACE_S = 15.0


class ConfigError(Exception):
    """A usage or configuration problem, found before anything is sent."""


@dataclass
class Account:
    label: str  # the config file(s), or the environment variable with the key masked to a short prefix
    key: str
    secret: str
    urls: dict[str, str] | None  # ccxt urls['api'] override, from --base-url or the freqtrade config
    sandbox: bool
    # ccxt_config.commonCurrencies of the bot's config: the bot's symbol names, so --symbol means what it means there
    currencies: dict[str, str] | None = None


@dataclass
class Outcome:
    account: Account
    code: int
    report: FlattenReport | None = None
    message: str = ""
    positions: list[dict[str, Any]] | None = None
    orders: list[dict[str, Any]] | None = None
    currencies: CurrencyMap | None = None  # the account's ccxt names of BingX symbols, for the tables


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bingx-closeall",
        description="Close every BingX perpetual futures position (or one symbol's) in one request.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--symbol", help="only this symbol: ccxt's BTC/USDT:USDT (ccxt's names, e.g. TRUMP/USDT:USDT "
                        "is BingX's TRUMPSOL-USDT) or BingX's BTC-USDT (capitals)")
    parser.add_argument("--recv-window", type=int, metavar="MS", help=f"BingX recvWindow, 1..{MAX_RECV_WINDOW_MS} ms")
    parser.add_argument("--dry-run", action="store_true",
                        help="show what would be closed and cancelled; send nothing that trades")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask; close at once")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    parser.add_argument("--keep-orders", action="store_true",
                        help="do not cancel open orders (they can reopen positions)")
    parser.add_argument("--max-wait", type=float, default=DEFAULT_RATE_LIMIT_WAIT, metavar="SECONDS",
                        help="wait out a BingX rate limit that ends within this many seconds, then close "
                             f"(default {DEFAULT_RATE_LIMIT_WAIT:g}; 0: fail at once)")
    parser.add_argument("--base-url", default=None,
                        help="root of a BingX-compatible API, e.g. http://127.0.0.1:8765 (env BINGX_BASE_URL)")
    parser.add_argument("--sandbox", action="store_true", help="BingX's demo-money environment")
    parser.add_argument("-c", "--config", action="append", default=[], metavar="FILE",
                        help="freqtrade config to read exchange.key/secret (and urls) from; repeated, the files merge "
                             "into one account as freqtrade merges them (later files win)")
    parser.add_argument("--account", action="append", default=[], metavar="FILE[,FILE...]",
                        help="close several accounts: one --account per account, each its freqtrade config file(s), "
                             "comma-separated files merged like -c")
    parser.add_argument("--coin-m", action="store_true", help="close coin-M (inverse) positions instead of USDT-M")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug log on stderr, HTTP trace included (secrets masked)")
    return parser


def api_urls(base_url: str, flag: str = "--base-url") -> dict[str, str]:
    base = base_url.strip().rstrip("/")
    if not base:
        raise ConfigError(f"{flag} is empty: give the API root, e.g. http://127.0.0.1:8765, or leave it unset "
                          "for live BingX")
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"{flag} {base_url!r} must start with http:// or https://")
    return root_urls(base)


def accounts_from(args: argparse.Namespace) -> list[Account]:
    # An empty --base-url or BINGX_BASE_URL (a script's unset variable) is an error, never a silent fall back
    # to live BingX.
    base_url, flag = args.base_url, "--base-url"
    if base_url is None and "BINGX_BASE_URL" in os.environ:
        base_url, flag = os.environ["BINGX_BASE_URL"], "BINGX_BASE_URL"
    urls = api_urls(base_url, flag) if base_url is not None else None
    if args.sandbox and urls:
        raise ConfigError(f"--sandbox and {flag} exclude each other: the sandbox has its own address")
    if args.config and args.account:
        raise ConfigError("-c/--config (one account, files merged) and --account (one per account) exclude each other")
    groups = [args.config] if args.config else [[name for name in group.split(",") if name] for group in args.account]
    if any(not group for group in groups):
        raise ConfigError("--account needs a config file name")
    overriding = sorted(name for name in ENV_OVERRIDES if name in os.environ)
    if len(groups) > 1 and overriding:
        # freqtrade would put it over every config: every account would get the same key.
        raise ConfigError(f"{' and '.join(overriding)} would override the key of every --account: unset it, "
                          "or give each account's key in its own config")
    if groups:
        return [account_from_config(group, urls, args.sandbox) for group in groups]
    for key_var, secret_var in (("FREQTRADE__EXCHANGE__KEY", "FREQTRADE__EXCHANGE__SECRET"),
                                ("BINGX_API_KEY", "BINGX_API_SECRET")):
        key, secret = os.environ.get(key_var, ""), os.environ.get(secret_var, "")
        if key and secret:
            return [Account(f"{key_var} {short_key(key)}", key, secret, urls, args.sandbox)]
        if key or secret:
            raise ConfigError(f"{key_var} and {secret_var} go together: only one of them is set")
    raise ConfigError("no credentials: pass -c CONFIG (a freqtrade config), or set FREQTRADE__EXCHANGE__KEY and "
                      "FREQTRADE__EXCHANGE__SECRET, or BINGX_API_KEY and BINGX_API_SECRET")


def short_key(key: str) -> str:
    """The API key masked to a short prefix: enough to tell two accounts apart, never enough to use."""
    return key[:min(4, len(key) // 4)] + "…"


def account_from_config(paths: list[str], urls: dict[str, str] | None, sandbox: bool) -> Account:
    path = ",".join(paths)  # the account's name in the output, as it was given
    try:
        config = load_config(paths)
    except ConfigFileError as e:
        raise ConfigError(str(e)) from None
    exchange = config.get("exchange") if isinstance(config, dict) else None
    if not isinstance(exchange, dict):
        raise ConfigError(f"config {path!r} has no 'exchange' section")
    name = exchange.get("name")
    if name is not None and str(name).lower() != "bingx":
        raise ConfigError(f"config {path!r} is for exchange {name!r}, not bingx")
    key, secret = exchange.get("key"), exchange.get("secret")
    for field_name, value in (("key", key), ("secret", secret)):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"config {path!r}: exchange.{field_name} is missing or empty (put it in the config, in a "
                              "second -c file, or in FREQTRADE__EXCHANGE__" + field_name.upper() + ")")
    ccxt_config = exchange.get("ccxt_config") or {}
    url_section = ccxt_config.get("urls") if isinstance(ccxt_config, dict) else None
    if not isinstance(ccxt_config, dict) or not isinstance(url_section or {}, dict):
        raise ConfigError(f"config {path!r}: exchange.ccxt_config must be an object, and its urls too")
    currencies = ccxt_config.get("commonCurrencies")
    if currencies is not None and not (isinstance(currencies, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in currencies.items())):
        raise ConfigError(f"config {path!r}: exchange.ccxt_config.commonCurrencies must map codes to codes")
    if urls is None:
        # A bot pointed at another root (the simulator, a proxy) keeps it: the same urls freqtrade's ccxt uses.
        config_urls = (url_section or {}).get("api")
        if isinstance(config_urls, dict) and config_urls:
            urls = {str(k): str(v) for k, v in config_urls.items()}
        elif isinstance(config_urls, str):
            urls = api_urls(config_urls)
    return Account(path, str(key), str(secret), urls, sandbox or bool(exchange.get("sandbox")), currencies)


@dataclass(frozen=True)
class Target:
    """Where an account's requests go, for every line an operator reads before and after a close."""

    endpoint: str  # "live", "demo" (BingX's VST demo money) or "custom"
    url: str
    account: str

    def __str__(self) -> str:
        where = {"live": "LIVE BingX", "demo": "BingX demo (VST)"}.get(self.endpoint, "custom endpoint")
        return f"{where} {self.url}, account {self.account}"

    def to_dict(self) -> dict[str, str]:
        return {"endpoint": self.endpoint, "url": self.url, "account": self.account}


def target_of(account: Account) -> Target:
    if account.urls:
        url = account.urls.get("swap") or next(iter(account.urls.values()))
        return Target("custom", url.removesuffix("/openApi"), account.label)
    exchange = BingX()
    section = exchange.urls["test" if account.sandbox else "api"]["swap"]
    url = exchange.implode_hostname(section)
    return Target("demo" if account.sandbox else "live", url.removesuffix("/openApi"), account.label)


def make_exchange(account: Account, verbose: bool) -> BingX:
    # ccxt's throttle spaces private calls by up to half a second; a flatten makes a handful of requests,
    # far inside BingX's per-UID limits, and every one of them is urgent.
    config: dict[str, Any] = {"apiKey": account.key, "secret": account.secret, "enableRateLimit": False,
                              "timeout": 10_000}
    if account.currencies:
        config["commonCurrencies"] = account.currencies  # ccxt adds them to its own table, as in the bot
    exchange = BingX(config)
    if account.sandbox:
        exchange.set_sandbox_mode(True)
    if account.urls:
        exchange.urls["api"] = {**exchange.urls["api"], **account.urls}
    exchange.verbose = verbose
    return exchange


def account_names(account: Account) -> CurrencyMap:
    """The ccxt names the account's exchange will use, without building its client."""
    return currency_map(BingX({"commonCurrencies": account.currencies}) if account.currencies else None)


def exit_code_for(error: BaseException) -> int:
    if isinstance(error, (ConfigError, ccxt.BadSymbol, ccxt.BadRequest, ccxt.ArgumentsRequired)):
        return EXIT_USAGE
    if isinstance(error, ccxt.AuthenticationError):
        return EXIT_AUTH
    if isinstance(error, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return EXIT_RATE_LIMIT
    if isinstance(error, (ccxt.NetworkError, ccxt.BadResponse)):
        return EXIT_UNAVAILABLE
    return EXIT_OPEN


def describe_error(error: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """What went wrong, for the operator; masked, as ccxt's network errors carry the signed URL."""
    if isinstance(error, ccxt.RateLimitExceeded):
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            wait = max(0.0, retry_after / 1000 - time.time())
            at = dt.datetime.fromtimestamp(retry_after / 1000).strftime("%Y-%m-%d %H:%M:%S")
            return mask(f"rate limited by BingX: retry after {at} local time (in {wait:.1f} s). {error}", secrets)
        return mask(f"rate limited by BingX: retry in a few seconds. {error}", secrets)
    if isinstance(error, ccxt.BaseError):
        return error_text(error, secrets)
    return mask(str(error), secrets)


def run_account(account: Account, args: argparse.Namespace, native: str | None, inverse: bool,
                stop: StopSignal | None = None) -> Outcome:
    exchange = make_exchange(account, args.verbose)
    secrets = (account.key, account.secret)
    try:
        if args.symbol is not None:
            # This account's names (its config may add some): TRUMP/USDT:USDT is BingX's TRUMPSOL-USDT.
            native, inverse = check_arguments(args.symbol, None, args.coin_m, exchange)
        if args.dry_run:
            positions, orders = read_account(exchange, native, inverse=inverse)
            return Outcome(account, EXIT_FLAT, positions=positions, orders=orders, currencies=currency_map(exchange))
        sys.stdout.flush()
        target = f" for {display_name(native, exchange)}" if native else ""
        print(f"[{account.label}] sending closeAllPositions{target} to {target_of(account).url}...", file=sys.stderr)
        report = flatten(exchange, native, recv_window=args.recv_window, inverse=inverse,
                         cancel_orders=not args.keep_orders, rate_limit_wait=args.max_wait,
                         on_wait=WaitDisplay(account.label, args.max_wait), stop=stop)
        return outcome_of(account, report, secrets)
    except (ccxt.BaseError, ConfigError, Interrupted) as e:
        partial: FlattenReport | None = getattr(e, "flatten_report", None)
        code = exit_code_for(e)
        if partial is None:
            if connection_refused(e):
                return Outcome(account, code, message=f"could not reach {host_of(account)} (connection refused): "
                                                      "nothing was sent")
            return Outcome(account, code, message=describe_error(e, secrets))
        return Outcome(account, code if code != EXIT_FLAT else EXIT_OPEN, partial,
                       refused_message(e, partial, secrets, args.max_wait, host_of(account)))


def host_of(account: Account) -> str:
    return urllib.parse.urlsplit(target_of(account).url).netloc or target_of(account).url


def outcome_of(account: Account, report: FlattenReport, secrets: tuple[str, ...]) -> Outcome:
    """Exit code and message for a flatten that returned its report."""
    if isinstance(report.error, Interrupted):
        return Outcome(account, EXIT_OPEN, report, "interrupted (Ctrl-C) before the account was verified flat; "
                                                   "check with --dry-run")
    if report.error is not None:
        code = exit_code_for(report.error)
        if connection_refused(report.error):
            return Outcome(account, code, report, f"could not reach {host_of(account)} (connection refused) after the "
                                                  "close was sent: positions may remain open; check with --dry-run")
        message = describe_error(report.error, secrets)
        if report.cancel_error:
            message += f"; cancelling open orders failed: {report.cancel_error}"
        return Outcome(account, code if code != EXIT_FLAT else EXIT_OPEN, report, message)
    if report.orders_left:
        # Positions may be flat, but a resting order left behind can reopen one: not done.
        return Outcome(account, EXIT_OPEN, report, f"open orders may remain: {report.cancel_error}")
    return Outcome(account, EXIT_FLAT if report.flat else EXIT_OPEN, report)


def refused_message(error: BaseException, report: FlattenReport, secrets: tuple[str, ...], max_wait: float,
                    host: str = "BingX") -> str:
    """The close did not go through: what is open, what was kept and what was cancelled."""
    if isinstance(error, Interrupted):
        head = "interrupted (Ctrl-C) before a close went through: nothing was closed"
    elif connection_refused(error) and not report.success and not report.cancelled_openers:
        # The close itself was refused at the TCP level (the close path re-raises that at once): it never left.
        head = f"could not reach {host} (connection refused): nothing was sent"
    else:
        who = ("BingX refused the close" if isinstance(error, BingXError) and getattr(error, "code", None)
               else "the close failed")
        head = f"{who} ({describe_error(error, secrets)})"
        if isinstance(error, ccxt.RateLimitExceeded) and getattr(error, "retry_after", None) and max_wait > 0:
            head += f", longer than --max-wait {max_wait:g} s"
    still = (f"{len(report.remaining_positions)} position(s) still open" if report.positions_read
             else "positions not read since, presumably still open")
    kept = (f"their {len(report.kept_orders)} stop/take-profit order(s) were kept" if report.kept_orders
            else "no stop/take-profit order was cancelled")
    text = f"{head}: {still}; {kept}; {len(report.cancelled_openers)} entry order(s) were cancelled"
    if report.cancel_error:
        text += f"; cancelling entry orders failed: {report.cancel_error}"
    return text


class WaitDisplay:
    """Shows a rate-limit wait on stderr as it runs: one updating line on a terminal, else every 5 s."""

    def __init__(self, label: str, max_wait: float) -> None:
        self.label, self.max_wait = label, max_wait
        self.shown_at: float | None = None

    def __call__(self, seconds_left: float, retry_after_ms: int) -> None:
        at = dt.datetime.fromtimestamp(retry_after_ms / 1000).strftime("%H:%M:%S")
        line = (f"[{self.label}] rate limited by BingX until {at} local time: closing again in {seconds_left:4.1f} s "
                f"(--max-wait {self.max_wait:g})")
        if sys.stderr.isatty():
            print("\r" + line, end="" if seconds_left > 1.0 else "\n", file=sys.stderr, flush=True)
        elif self.shown_at is None or self.shown_at - seconds_left >= 5.0:
            self.shown_at = seconds_left
            print(line, file=sys.stderr, flush=True)


def confirm(accounts: list[Account], args: argparse.Namespace, native: str | None, inverse: bool) -> int | None:
    """Ask on the terminal; returns an exit code to stop with, or None to go on.

    Nothing open (no position, and no order to cancel): says so and returns 0 without asking.
    """
    if not sys.stdin.isatty():
        print("bingx-closeall: refusing to close without --yes: standard input is not a terminal; nothing was sent",
              file=sys.stderr)
        return EXIT_USAGE
    positions = orders = 0
    for account in accounts:
        outcome = _read_only(account, args, native, inverse)
        if outcome.code != EXIT_FLAT:
            print(f"bingx-closeall: [{account.label}] {outcome.message}", file=sys.stderr)
            return outcome.code
        positions += len(outcome.positions or [])
        orders += 0 if args.keep_orders else len(outcome.orders or [])
        print_positions(outcome, sys.stderr)
    where = str(target_of(accounts[0])) if len(accounts) == 1 else f"{len(accounts)} accounts (listed above)"
    if positions == 0 and orders == 0:
        print(f"FLAT: nothing open on {where}{' (open orders kept: --keep-orders)' if args.keep_orders else ''}; "
              "nothing was sent", flush=True)
        return EXIT_FLAT
    question = f"Close {positions} position(s) with market orders"
    if orders:
        question += f" and cancel {orders} open order(s)"
    try:
        answer = input(f"{question} on {where}? [y/N] ")
    except (EOFError, KeyboardInterrupt):
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print("bingx-closeall: declined; nothing was sent", file=sys.stderr)
        return EXIT_OPEN
    return None


def _read_only(account: Account, args: argparse.Namespace, native: str | None, inverse: bool) -> Outcome:
    dry = argparse.Namespace(**{**vars(args), "dry_run": True})
    return run_account(account, dry, native, inverse)


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


def setup_logging(verbose: bool, masker: SecretMasker, quiet_level: int = logging.ERROR) -> SecretMasker:
    """One masked stderr handler for the whole process: DEBUG with ``-v``, else ``quiet_level``.

    The CLI's default is ERROR, not WARNING: the close path logs each failure as it happens, and the CLI
    reports each once, at the end.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(masker)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else quiet_level)
    return masker


# Where the environment may hold a key or a secret: masked in the output from the very first line.
_ENV_SECRETS = ("BINGX_API_KEY", "BINGX_API_SECRET", *ENV_OVERRIDES)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:  # `bingx-closeall NAME ...`: another command, its own arguments
        return int(importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:]))
    # Everything this command prints passes through the one masking function: the environment's key and secret
    # from the start, each account's once its config is read (an error text may quote a config value).
    masker = SecretMasker(*(os.environ.get(name, "") for name in _ENV_SECRETS))
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = MaskingStream(stdout, masker), MaskingStream(stderr, masker)
    try:
        return _main(argv, masker)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _main(argv: list[str], masker: SecretMasker) -> int:
    started = time.monotonic()
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose, masker)
    try:
        if args.recv_window is not None and not 0 < args.recv_window <= MAX_RECV_WINDOW_MS:
            raise InvalidInput(f"--recv-window must be between 1 and {MAX_RECV_WINDOW_MS} ms, got {args.recv_window}")
        if not 0 <= args.max_wait <= MAX_WAIT_LIMIT_S:  # NaN fails this too
            raise InvalidInput(f"--max-wait must be between 0 and {MAX_WAIT_LIMIT_S:g} seconds, got {args.max_wait}")
        accounts = accounts_from(args)
        # Checked with each account's own names (a config may add some); each account maps it again in run_account.
        targets = [check_arguments(args.symbol, None, args.coin_m, account_names(account)) for account in accounts]
        native, inverse = targets[0]
    except (ConfigError, ccxt.BaseError) as e:
        print(f"bingx-closeall: {e}", file=sys.stderr)
        return EXIT_USAGE
    for account in accounts:
        masker.add(account.key, account.secret)
    if not args.dry_run and not args.yes:
        try:
            stop = confirm(accounts, args, native, inverse)
        except KeyboardInterrupt:
            print("\nbingx-closeall: interrupted; nothing was sent", file=sys.stderr)
            return EXIT_OPEN
        if stop is not None:
            return stop
        started = time.monotonic()  # the time to flat counts from the operator's "y", not from the question
    with Interrupts() as interrupts:
        outcomes = run_all(accounts, args, native, inverse, interrupts)
        return print_outcomes(outcomes, args, time.monotonic() - started)


def print_outcomes(outcomes: list[Outcome], args: argparse.Namespace, elapsed: float = 0.0) -> int:
    code = next(c for c in _EXIT_PRIORITY if any(o.code == c for o in outcomes))
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


class Interrupts:
    """SIGINT while the flatten runs: counted, never raised (a KeyboardInterrupt at a random point would
    lose the report of a close that went through). Outside the main thread, left to Python."""

    def __init__(self) -> None:
        self.first, self.second = threading.Event(), threading.Event()
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        (self.second if self.first.is_set() else self.first).set()

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def run_all(accounts: list[Account], args: argparse.Namespace, native: str | None, inverse: bool,
            interrupts: Interrupts) -> list[Outcome]:
    """Each account on its own thread (several bots' accounts flatten in about the time of one), watched
    for Ctrl-C: daemon threads, so that a second Ctrl-C can leave without waiting for them."""
    stops = [StopSignal() for _ in accounts]
    results: list[Outcome | None] = [None] * len(accounts)

    def work(i: int) -> None:
        results[i] = run_account(accounts[i], args, native, inverse, stops[i])

    threads = [threading.Thread(target=work, args=(i,), name=f"flatten-{i}", daemon=True) for i in range(len(accounts))]
    for thread in threads:
        thread.start()
    grace_ends: float | None = None
    while any(thread.is_alive() for thread in threads):
        if interrupts.first.is_set() and grace_ends is None:
            grace_ends = time.monotonic() + INTERRUPT_GRACE_S
            for stop in stops:
                stop.set()
            sent = any(stop.requests_sent for stop in stops)
            print("\nbingx-closeall: interrupted; "
                  + ("sending nothing more, waiting for the answer in flight to report "
                     "what happened (Ctrl-C again to abandon at once)" if sent else "nothing was sent"),
                  file=sys.stderr, flush=True)
        if interrupts.second.is_set() or (grace_ends is not None and time.monotonic() > grace_ends):
            break
        for thread in threads:
            thread.join(0.05)
    return [result if result is not None else abandoned(account, stop)
            for result, account, stop in zip(results, accounts, stops, strict=True)]


def abandoned(account: Account, stop: StopSignal) -> Outcome:
    """An account whose flatten was left running by a second Ctrl-C: what its report knew by then."""
    if not stop.requests_sent:
        return Outcome(account, EXIT_OPEN, message="interrupted (Ctrl-C) before anything was sent; nothing was closed")
    report: FlattenReport | None = stop.report
    known = (f"{len(report.success)} close order(s) known so far" if report is not None and report.closes
             else "the close was sent, its answer had not arrived")
    return Outcome(account, EXIT_OPEN, report, f"abandoned (second Ctrl-C): {known}; what happened after is unknown, "
                                               "check with --dry-run")


def entry() -> None:
    try:
        code = main()
    except KeyboardInterrupt:  # before the flatten started (it handles its own): nothing was sent
        print("\nbingx-closeall: interrupted; nothing was sent", file=sys.stderr)
        code = EXIT_OPEN
    sys.exit(code)


if __name__ == "__main__":
    entry()
