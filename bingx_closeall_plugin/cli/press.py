"""bingx-closeall's press: every account at once, on the threads of one process or split across processes.

One interpreter runs one thread at a time, and each account costs CPU before its close can go: copying its
client, signing, ``requests``' plumbing (about 2 ms together). At 100 accounts that is 0.2 s of one core in
front of the last close, and the press was 2.3 times one account's. So past :data:`ACCOUNTS_PER_PROCESS`
accounts, and where the machine has more than one CPU for it, the press forks worker processes once ccxt is
imported (an import is a third of a second of CPU: forked, no worker pays it again), gives each a contiguous
share of the accounts, and runs each share on threads as a single press would (:func:`.run.run_threads`).

What holds across the processes, as it holds across threads:

- one :class:`.gate.CloseGate` in shared memory: every account's client built before any close goes, every
  close handed over before any other request of any account;
- Ctrl-C: the workers ignore SIGINT, and the process the operator started relays it (a terminal sends it to
  every process of the group, a ``kill -INT`` only to the one it names): the first stops every account at its
  next request, the second abandons at once with what each worker knew;
- the outcomes come back in the accounts' order, each as its worker computed it (exit code, report, message).
  A worker that ends without sending them is reported for each of its accounts: whether their closes went out
  is then unknown, and the message says to check with ``--dry-run``;
- a share whose process cannot be forked (out of memory, a process limit) is pressed on a thread of the process
  the operator started, under the same gate: slower, never left out.

``--processes 1`` keeps every account on the threads of one process; where ``fork`` is not available (Windows),
that is the only way, and outside Linux it is the default (:func:`worker_count`).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
import time
from typing import Any

from . import clients
from .accounts import Account
from .gate import CloseGate
from .run import EXIT_OPEN, Grace, Interrupts, Outcome, announce, run_threads, tell_interrupted

logger = logging.getLogger(__name__)

__all__ = ["ACCOUNTS_PER_PROCESS", "ReportedError", "run_all", "run_processes", "worker_count"]

# Fewer accounts than this per process are not worth a fork: 20 accounts cost about 40 ms of CPU before the
# last close, about what starting and answering a worker costs.
ACCOUNTS_PER_PROCESS = 20
# After the second Ctrl-C (or the grace's end), how long a worker has to send what it knew.
ABANDON_WAIT_S = 2.0
# The workers' own bound on a press, beyond which the process the operator started stops waiting for them:
# a flatten's requests are bounded by the client's 10 s timeout, its rate-limit waits by --max-wait.
_POLL_S = 0.05


class ReportedError(Exception):
    """A flatten's error as its worker process reported it: its masked text, and its class's name (``kind``).

    An exception does not always survive pickling (ccxt's carry their own constructors), and the outcome's
    code and message were already computed from the real one in the worker: what comes back only needs to say
    that the flatten ended in an error, and which."""

    def __init__(self, text: str, kind: str = "") -> None:
        super().__init__(text)
        self.kind = kind

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return type(self), (str(self), self.kind)


def worker_count(accounts: int, requested: int | None = None) -> int:
    """How many processes press ``accounts`` accounts: ``requested`` (``--processes``) if given, else on Linux one
    per CPU this process may run on, at most one per :data:`ACCOUNTS_PER_PROCESS` accounts; 1 without ``fork``.

    Elsewhere the default is one process: macOS's system libraries are not safe to use in a forked child (which
    is why Python starts its processes there by ``spawn``), and a press cannot wait for a spawned interpreter to
    import ccxt again. ``--processes`` there is the operator's choice."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if requested is not None:
        return max(1, min(requested, accounts))
    if not sys.platform.startswith("linux"):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, accounts // ACCOUNTS_PER_PROCESS))


def run_all(accounts: list[Account], args: argparse.Namespace, native: str | None, inverse: bool,
            interrupts: Interrupts) -> list[Outcome]:
    """Every account at once (a press, or the reads before the question); the outcomes in the accounts' order."""
    clients.prepare([(account.currencies, account.sandbox) for account in accounts])
    if not args.dry_run:
        announce(accounts, args, native)
    count = worker_count(len(accounts), args.processes)
    if count > 1:
        return run_processes(accounts, args, native, inverse, interrupts, count)
    return run_threads(accounts, args, native, inverse, interrupts, CloseGate(len(accounts)))


class _Relayed:
    """A worker's view of the operator's Ctrl-C: the events the process the operator started sets."""

    def __init__(self, first: Any, second: Any) -> None:
        self.first, self.second = first, second

    def interrupted(self) -> bool:
        return bool(self.first.is_set())


def _shares(accounts: int, count: int) -> list[range]:
    size, extra = divmod(accounts, count)
    shares, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        shares.append(range(start, end))
        start = end
    return shares


def _portable(outcome: Outcome) -> bytes:
    """The outcome, pickled to cross to the parent: its report's error replaced by a :class:`ReportedError`, and
    its account left behind (the parent has it). If it still cannot be pickled, its code and message alone."""
    report = outcome.report
    if report is not None and report.error is not None and not isinstance(report.error, ReportedError):
        report.error = ReportedError(outcome.message or str(report.error), type(report.error).__name__)
    outcome.account = None  # type: ignore[assignment]
    try:
        return pickle.dumps(outcome)
    except Exception as e:  # noqa: BLE001 - any object pickle refuses: what the operator must know still goes
        logger.debug("an outcome could not be pickled: %s", e)
        return pickle.dumps(Outcome(None, outcome.code, message=outcome.message  # type: ignore[arg-type]
                                    or "its report could not be passed on; check with --dry-run"))


def _unpickled(data: bytes, account: Account) -> Outcome:
    try:
        outcome: Outcome = pickle.loads(data)  # noqa: S301 - from our own worker, over its pipe
    except Exception as e:  # noqa: BLE001 - a report that does not load is this account's alone
        logger.debug("an outcome could not be unpickled: %s", e)
        return Outcome(account, EXIT_OPEN, message="its process's report could not be read: whether its close went "
                                                   "out is unknown; check with --dry-run")
    outcome.account = account
    return outcome


def _press_share(conn: Any, accounts: list[Account], args: argparse.Namespace, native: str | None, inverse: bool,
                 gate: CloseGate, first: Any, second: Any) -> None:
    try:
        outcomes = run_threads(accounts, args, native, inverse, _Relayed(first, second), gate, tell=False)
        conn.send([_portable(outcome) for outcome in outcomes])
    finally:
        conn.close()  # also on a failure: the parent then reads the end of the pipe, and reports the share


def _worker(conn: Any, accounts: list[Account], args: argparse.Namespace, native: str | None, inverse: bool,
            gate: CloseGate, first: Any, second: Any) -> None:
    # The operator's process relays Ctrl-C (first, second). Ignored here rather than left to the handler the
    # fork copied: that one writes to the parent's wake-up pipe, and outside it Python's default would raise
    # KeyboardInterrupt at a random point of a flatten.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _press_share(conn, accounts, args, native, inverse, gate, first, second)


class _ShareHere(threading.Thread):
    """A share whose process could not be forked (out of memory, a process limit), pressed on a thread here
    instead: the same gate, the same relayed Ctrl-C, its outcomes through the same pipe."""

    exitcode = None

    def kill(self) -> None:
        """A daemon thread: abandoned with this process's exit."""


def _lost(account: Account, exitcode: int | None, abandoned: bool) -> Outcome:
    why = ("abandoned (second Ctrl-C) before its process reported" if abandoned
           else f"its process ended without a report (exit code {exitcode})")
    return Outcome(account, EXIT_OPEN, message=f"{why}: whether its close went out is unknown; check with --dry-run")


def run_processes(accounts: list[Account], args: argparse.Namespace, native: str | None, inverse: bool,
                  interrupts: Interrupts, count: int) -> list[Outcome]:
    """The accounts split over ``count`` forked processes, each running its share on threads, one gate for all."""
    context = multiprocessing.get_context("fork")
    gate = CloseGate(len(accounts), context)
    first, second = context.Event(), context.Event()
    shares = _shares(len(accounts), count)
    sys.stdout.flush()  # a buffer copied into a worker would be written twice
    sys.stderr.flush()
    workers: list[tuple[Any, Any, range]] = []
    # A Ctrl-C between the fork and the worker's SIG_IGN would raise in the worker: blocked until then (here,
    # it waits and reaches the operator's handler once unblocked below).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for share in shares:
            receive, send = context.Pipe(duplex=False)
            work = (send, [accounts[i] for i in share], args, native, inverse, gate, first, second)
            process: Any = context.Process(target=_worker, name=f"bingx-closeall-{share.start}", args=work,
                                           daemon=True)
            try:
                process.start()
            except OSError as e:  # no fork: the share still goes, from this process
                logger.warning("could not start a process for %d account(s) (%s): pressing them here", len(share), e)
                process = _ShareHere(target=_press_share, args=work, name=f"bingx-closeall-{share.start}",
                                     daemon=True)
                process.start()
            else:
                send.close()
            workers.append((process, receive, share))
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if interrupts.interrupted():  # pressed after the operator's "y": nothing goes out
        first.set()
    results: dict[int, list[bytes]] = {}
    ended: set[int] = set()
    grace = Grace(interrupts)
    abandon_ends: float | None = None
    while len(ended) < len(workers):
        if grace.first():
            first.set()
            tell_interrupted(gate.any_sent)
        if abandon_ends is None and grace.over():
            second.set()
            abandon_ends = time.monotonic() + ABANDON_WAIT_S
        if abandon_ends is not None and time.monotonic() > abandon_ends:
            break
        waiting: dict[Any, int] = {receive: index for index, (_, receive, _) in enumerate(workers)
                                   if index not in ended}
        for ready in multiprocessing.connection.wait(list(waiting), timeout=_POLL_S):
            index = waiting[ready]
            ended.add(index)
            try:
                results[index] = workers[index][1].recv()
            except Exception as e:  # noqa: BLE001 - died before it sent everything, or sent what does not load
                logger.debug("worker %d sent no outcomes: %s", index, e)
    outcomes: list[Outcome] = []
    for index, (process, receive, share) in enumerate(workers):
        got = results.get(index)
        if got is not None and len(got) == len(share):
            outcomes.extend(_unpickled(data, accounts[i]) for i, data in zip(share, got, strict=True))
            process.join(ABANDON_WAIT_S)
        else:
            process.join(0 if abandon_ends is not None else ABANDON_WAIT_S)
            outcomes.extend(_lost(accounts[i], process.exitcode, abandon_ends is not None) for i in share)
        if process.is_alive():
            process.kill()  # abandoned: its requests in flight stay unknown, as a daemon thread's would
        receive.close()
    return outcomes
