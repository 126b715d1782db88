"""bingx-closeall: flatten BingX perpetual futures accounts from a terminal.

Configs are read as freqtrade reads them (:mod:`bingx_closeall_plugin.cli.config`): ``-c`` repeated merges
files into one account; ``--account`` (repeated) names several accounts, each its own config file(s).
Every output names its target: the endpoint (live, demo, or the URL) and the account.

Ctrl-C: before anything was sent, exit 1 saying so. Once the flatten runs, a first Ctrl-C lets the
request in flight be answered, sends nothing more, prints what happened and exits 1, or 0 if the account
was verified flat with its orders cancelled; a second Ctrl-C abandons at once with what is known. Never a
traceback.

This module is the command: its arguments, the confirmation, the masked output and logging. The accounts and
their endpoints are :mod:`.accounts`, the flatten of each and its exit code :mod:`.run`, what is
printed :mod:`.output`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time

import ccxt

from ..core.closeall import MAX_RECV_WINDOW_MS, check_arguments
from ..core.errors import InvalidInput
from ..core.flatten import DEFAULT_RATE_LIMIT_WAIT
from ..core.redaction import MaskingStream, SecretMasker
from .accounts import Account, ConfigError, account_names, accounts_from, short_key, target_of
from .config import ENV_OVERRIDES
from .output import account_line, print_outcomes, print_positions
from .press import ACCOUNTS_PER_PROCESS, run_all
from .run import EXIT_FLAT, EXIT_OPEN, EXIT_USAGE, Interrupts, run_account

# The accounts' names are re-exported: callers and tests reach them through the command's module too.
__all__ = ["MAX_WAIT_LIMIT_S", "Account", "ConfigError", "build_parser", "entry", "main", "setup_logging", "short_key",
           "target_of"]

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

# --max-wait's ceiling: BingX's longest documented block (its error penalty) is 480 s.
MAX_WAIT_LIMIT_S = 600.0


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
    parser.add_argument("--processes", type=int, default=None, metavar="N",
                        help="press several accounts in N processes (default: one per CPU, at most one per "
                             f"{ACCOUNTS_PER_PROCESS} accounts; 1: all on threads of one process)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug log on stderr, HTTP trace included (secrets masked)")
    return parser


def confirm(accounts: list[Account], args: argparse.Namespace, native: str | None, inverse: bool,
            interrupts: Interrupts) -> int | None:
    """Ask on the terminal; returns an exit code to stop with, or None to go on.

    Nothing open (no position, and no order to cancel): says so and returns 0 without asking. A Ctrl-C at any
    moment (a read in flight, between the read and the question, at the question) ends it with exit 1: nothing
    was sent.
    """
    if not sys.stdin.isatty():
        print("bingx-closeall: refusing to close without --yes: standard input is not a terminal; nothing was sent",
              file=sys.stderr)
        return EXIT_USAGE
    positions = orders = 0
    dry = argparse.Namespace(**{**vars(args), "dry_run": True})
    # Several accounts are read at once (each on its own thread), one line each unless -v.
    reads = iter(run_all(accounts, dry, native, inverse, interrupts)) if len(accounts) > 1 else None
    for account in accounts:
        outcome = next(reads) if reads is not None else run_account(account, dry, native, inverse)
        if interrupts.interrupted():
            return _interrupted()
        if outcome.code != EXIT_FLAT:
            print(f"bingx-closeall: [{account.label}] {outcome.message}", file=sys.stderr)
            return outcome.code
        positions += len(outcome.positions or [])
        orders += 0 if args.keep_orders else len(outcome.orders or [])
        if reads is not None and not args.verbose:
            print(account_line(outcome, dry), file=sys.stderr)
        else:
            print_positions(outcome, sys.stderr)
    where = str(target_of(accounts[0])) if len(accounts) == 1 else f"{len(accounts)} accounts (listed above)"
    if positions == 0 and orders == 0:
        print(f"FLAT: nothing open on {where}{' (open orders kept: --keep-orders)' if args.keep_orders else ''}; "
              "nothing was sent", flush=True)
        return EXIT_FLAT
    question = f"Close {positions} position(s) with market orders"
    if orders:
        question += f" and cancel {orders} open order(s)"
    answer = ask(f"{question} on {where}? [y/N] ", interrupts)
    if answer is None:
        return _interrupted()
    if answer.strip().lower() not in ("y", "yes"):
        print("bingx-closeall: declined; nothing was sent", file=sys.stderr)
        return EXIT_OPEN
    return None


def ask(prompt: str, interrupts: Interrupts) -> str | None:
    """The operator's line ("" at the end of input), or None on Ctrl-C.

    Not ``input()``: it blocks in C, where a SIGINT whose Python handler had not run yet is lost (the prompt
    stays until a line comes). The wait here also ends on the wake-up pipe that the C-level handler writes.
    """
    if interrupts.interrupted():
        return None
    print(prompt, end="", flush=True)
    if not interrupts.wait_readable(sys.stdin.fileno()):
        return None
    try:
        return sys.stdin.readline()
    except KeyboardInterrupt:  # not watched (outside the main thread): Python's own Ctrl-C
        return None


def _interrupted() -> int:
    print("\nbingx-closeall: interrupted; nothing was sent", file=sys.stderr)
    return EXIT_OPEN


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
        if args.processes is not None and args.processes < 1:
            raise InvalidInput(f"--processes must be at least 1, got {args.processes}")
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
    # One watch from the question to the end: a Ctrl-C is never raised at a random point, and never lost.
    with Interrupts() as interrupts:
        if not args.dry_run and not args.yes:
            stop = confirm(accounts, args, native, inverse, interrupts)
            if stop is not None:
                return stop
            started = time.monotonic()  # the time to flat counts from the operator's "y", not from the question
        outcomes = run_all(accounts, args, native, inverse, interrupts)
        return print_outcomes(outcomes, args, time.monotonic() - started)


def entry() -> None:
    try:
        code = main()
    except KeyboardInterrupt:  # before the flatten started (it handles its own): nothing was sent
        print("\nbingx-closeall: interrupted; nothing was sent", file=sys.stderr)
        code = EXIT_OPEN
    sys.exit(code)

