"""bingx-closeall's run: each account flattened on its own thread, Ctrl-C, and the exit code of each.

:func:`run_account` turns one account's flatten (or its read, for ``--dry-run``) into an :class:`Outcome`:
an exit code, the report and what to tell the operator; :func:`run_threads` runs accounts at once, each on a
thread of this process, and watches for Ctrl-C (:class:`Interrupts`). :mod:`.press` decides how a press's
accounts are spread over processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import select
import signal
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

import ccxt

from ..core.closeall import check_arguments, connection_refused
from ..core.errors import BingXError
from ..core.flatten import FlattenReport, flatten, read_account
from ..core.plans import Interrupted, StopSignal
from ..core.redaction import error_text, mask
from ..core.symbols import CurrencyMap, currency_map, display_name
from .accounts import Account, ConfigError, account_names, make_exchange, target_of
from .gate import AccountSignal, CloseGate

# The exit codes, as bingx-closeall --help lists them (cli.EXIT_CODES_HELP).
EXIT_FLAT, EXIT_OPEN, EXIT_USAGE, EXIT_AUTH, EXIT_RATE_LIMIT, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4, 5
# Where two accounts end differently, the code reported is the first of these that any of them had.
EXIT_PRIORITY = (EXIT_USAGE, EXIT_AUTH, EXIT_RATE_LIMIT, EXIT_UNAVAILABLE, EXIT_OPEN, EXIT_FLAT)
# After a first Ctrl-C: the requests in flight get their answer (the client's 10 s timeout bounds each).
INTERRUPT_GRACE_S = 15.0


@dataclass
class Outcome:
    account: Account
    code: int
    report: FlattenReport | None = None
    message: str = ""
    positions: list[dict[str, Any]] | None = None
    orders: list[dict[str, Any]] | None = None
    currencies: CurrencyMap | None = None  # the account's ccxt names of BingX symbols, for the tables


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
    """One account's flatten (or read, for ``--dry-run``); in a press, ``stop`` is its :class:`.gate.AccountSignal`
    and its close waits for every account's client to be built, then goes out with theirs."""
    try:
        return _run_account(account, args, native, inverse, stop)
    finally:
        if isinstance(stop, AccountSignal):
            stop.leave()  # ended without a close (refused, interrupted): the others' requests need not wait for it


def _run_account(account: Account, args: argparse.Namespace, native: str | None, inverse: bool,
                 stop: StopSignal | None) -> Outcome:
    exchange = make_exchange(account, args.verbose)
    secrets = (account.key, account.secret)
    try:
        if args.symbol is not None:
            # This account's names (its config may add some): TRUMP/USDT:USDT is BingX's TRUMPSOL-USDT.
            native, inverse = check_arguments(args.symbol, None, args.coin_m, exchange)
        if args.dry_run:
            positions, orders = read_account(exchange, native, inverse=inverse)
            return Outcome(account, EXIT_FLAT, positions=positions, orders=orders, currencies=currency_map(exchange))
        if isinstance(stop, AccountSignal):
            stop.gate.built()
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


class Watch(Protocol):
    """What :func:`run_threads` watches for Ctrl-C: :class:`Interrupts`, or a worker's relay of the operator's."""

    second: Any

    def interrupted(self) -> bool: ...


class Grace:
    """A press's two moments under Ctrl-C, for the loop that waits on its accounts (threads, or processes): the
    first Ctrl-C, which stops every account at its next request, and the abandon, at a second Ctrl-C or once
    :data:`INTERRUPT_GRACE_S` has passed since the first."""

    def __init__(self, interrupts: Watch) -> None:
        self.interrupts = interrupts
        self.ends: float | None = None  # set at the first Ctrl-C

    def first(self) -> bool:
        """True once: when the first Ctrl-C is seen."""
        if self.ends is None and self.interrupts.interrupted():
            self.ends = time.monotonic() + INTERRUPT_GRACE_S
            return True
        return False

    def over(self) -> bool:
        return bool(self.interrupts.second.is_set()) or (self.ends is not None and time.monotonic() > self.ends)


def announce(accounts: list[Account], args: argparse.Namespace, native: str | None) -> None:
    """The line before the closes go out: per account for one (or with ``-v``), else one line for all."""
    sys.stdout.flush()
    target = f" for {display_name(native, account_names(accounts[0]))}" if native else ""
    if len(accounts) == 1 or args.verbose:
        for account in accounts:
            print(f"[{account.label}] sending closeAllPositions{target} to {target_of(account).url}...",
                  file=sys.stderr)
    else:
        where = sorted({target_of(account).url for account in accounts})
        print(f"sending closeAllPositions{target} to {len(accounts)} accounts at "
              f"{', '.join(where[:3])}{' and more' if len(where) > 3 else ''}...", file=sys.stderr)
    sys.stderr.flush()


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


class Interrupts:
    """SIGINT from the confirmation to the end of the flatten: counted, never raised (a KeyboardInterrupt at a
    random point would lose the report of a close that went through). Outside the main thread, left to Python.

    Each SIGINT also writes a byte to a wake-up pipe (:func:`signal.set_wakeup_fd`), from the C-level handler, at
    once: Python runs its own handler only between bytecodes, so a Ctrl-C landing just before a blocking read in C
    (``input()`` at the prompt) would have had its handler wait for a line that never came. :meth:`interrupted`
    and :meth:`wait_readable` look at that pipe too.
    """

    def __init__(self) -> None:
        self.first, self.second = threading.Event(), threading.Event()
        self._previous: Any = None
        self._previous_fd = -1
        self._wakeup: tuple[int, int] | None = None  # (read end, write end) of the wake-up pipe
        self._woken = False

    def _handle(self, signum: int, frame: Any) -> None:
        (self.second if self.first.is_set() else self.first).set()

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            if os.name == "posix":  # elsewhere set_wakeup_fd takes a socket, and select() no pipe
                self._wakeup = os.pipe()
                for fd in self._wakeup:
                    os.set_blocking(fd, False)
                self._previous_fd = signal.set_wakeup_fd(self._wakeup[1], warn_on_full_buffer=False)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._wakeup is not None:
            signal.set_wakeup_fd(self._previous_fd)
            for fd in self._wakeup:
                os.close(fd)
            self._wakeup = None
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def interrupted(self) -> bool:
        """A Ctrl-C came, whether or not Python has run its handler yet."""
        return self.first.is_set() or self._drain()

    def wait_readable(self, fd: int) -> bool:
        """Until ``fd`` can be read (True) or a Ctrl-C comes (False), whichever is first, with no window between."""
        if self._wakeup is None:
            return True  # not watched: the caller's read is interrupted as Python does it
        while not self.interrupted():
            readable, _, _ = select.select([fd, self._wakeup[0]], [], [])
            if fd in readable:
                return not self.interrupted()
        return False

    def _drain(self) -> bool:
        if self._wakeup is not None:
            try:
                self._woken = self._woken or signal.SIGINT in os.read(self._wakeup[0], 64)
            except BlockingIOError:
                pass
        return self._woken


def run_threads(accounts: list[Account], args: argparse.Namespace, native: str | None, inverse: bool,
                interrupts: Watch, gate: CloseGate, tell: bool = True) -> list[Outcome]:
    """Each account on its own thread (several bots' accounts flatten in about the time of one), every close
    released together and sent before any other request (:mod:`.gate`), watched for Ctrl-C: daemon threads, so
    that a second Ctrl-C can leave without waiting for them. ``tell``: print the line a first Ctrl-C gets (a
    worker process leaves it to the process the operator started)."""
    stops = [AccountSignal(gate) for _ in accounts]
    results: list[Outcome | None] = [None] * len(accounts)

    def work(i: int) -> None:
        results[i] = run_account(accounts[i], args, native, inverse, stops[i])

    threads = [threading.Thread(target=work, args=(i,), name=f"flatten-{i}", daemon=True) for i in range(len(accounts))]
    if interrupts.interrupted():  # pressed after the operator's "y": nothing goes out
        for stop in stops:
            stop.set()
    for thread in threads:
        thread.start()
    grace = Grace(interrupts)
    while any(thread.is_alive() for thread in threads):
        if grace.first():
            for stop in stops:
                stop.set()
            if tell:
                tell_interrupted(gate.any_sent)
        if grace.over():
            break
        for thread in threads:
            thread.join(0.05)
    return [result if result is not None else abandoned(account, stop)
            for result, account, stop in zip(results, accounts, stops, strict=True)]


def tell_interrupted(sent: bool) -> None:
    print("\nbingx-closeall: interrupted; "
          + ("sending nothing more, waiting for the answer in flight to report "
             "what happened (Ctrl-C again to abandon at once)" if sent else "nothing was sent"),
          file=sys.stderr, flush=True)


def abandoned(account: Account, stop: StopSignal) -> Outcome:
    """An account whose flatten was left running by a second Ctrl-C: what its report knew by then."""
    if not stop.requests_sent:
        return Outcome(account, EXIT_OPEN, message="interrupted (Ctrl-C) before anything was sent; nothing was closed")
    report: FlattenReport | None = stop.report
    known = (f"{len(report.success)} close order(s) known so far" if report is not None and report.closes
             else "the close was sent, its answer had not arrived")
    return Outcome(account, EXIT_OPEN, report, f"abandoned (second Ctrl-C): {known}; what happened after is unknown, "
                                               "check with --dry-run")
