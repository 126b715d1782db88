"""bingx-closeall guard, the command: its start-up checks, ``--rearm`` and ``--status``, and the watch loop.

Exit codes: 0 stopped by SIGTERM/SIGINT (or ``--once``/``--status`` armed); 1 ``--once``/``--status`` tripped;
2 bad configuration, found before watching; 3 BingX refused the keys at start-up.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from typing import Any

import ccxt

from ..cli.accounts import ConfigError, make_exchange
from ..cli.command import setup_logging as cli_logging
from ..cli.run import EXIT_AUTH, EXIT_USAGE, describe_error
from ..core.redaction import SecretMasker, mask
from .config import bots_from, build_parser, check_options, guard_accounts
from .notify import Notifier
from .state import AccountStates, StateError, StateFile, accounts_of, rearm
from .status import status_text
from .watch import Guard

logger = logging.getLogger("bingx_closeall_plugin.guard")

__all__ = ["main"]

REARM_WAIT_S = 60.0  # --rearm waits this long for a running guard to take its request
# A check brought forward to a bot's silence deadline runs this much after it: the rule is "silent for longer
# than --max-silence", so the check must see the silence past it, not equal to it.
DUE_MARGIN_S = 0.05


def setup_logging(verbose: bool) -> SecretMasker:
    """The CLI's masked stderr logging at WARNING, the plugin's own lines (what the guard did, and why) at INFO."""
    masker = cli_logging(verbose, SecretMasker(), logging.WARNING)
    logging.getLogger("bingx_closeall_plugin").setLevel(logging.DEBUG if verbose else logging.INFO)
    return masker


def do_rearm(state_file: StateFile) -> int:
    if state_file.held_elsewhere():
        state_file.request_rearm("bingx-closeall guard --rearm")
        deadline = time.monotonic() + REARM_WAIT_S
        while state_file.rearm_path.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if state_file.rearm_path.exists():
            print(f"bingx-closeall guard: re-arm requested; the running guard takes it at its next check "
                  f"({state_file.rearm_path})", file=sys.stderr)
        else:
            print("bingx-closeall guard: the running guard took the re-arm request", file=sys.stderr)
        return 0
    state, now = state_file.load(), time.time()
    if state.get("accounts") is not None:  # several accounts: each one re-armed
        state_file.save({**state, "tripped": False,
                         "accounts": {name: rearm(s, now) for name, s in accounts_of(state).items()}})
    else:
        state_file.save(rearm(state, now))
    print(f"bingx-closeall guard: {state_file.path} re-armed" + ("" if state["tripped"] else " (it was not tripped)"),
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    masker = setup_logging(args.verbose)
    state_file = StateFile(args.state)
    try:
        if args.rearm or args.status:
            if args.rearm:
                return do_rearm(state_file)
            state = state_file.load()
            text = (json.dumps(state, indent=2, sort_keys=True) if args.json
                    else status_text(state, args.state, running=state_file.held_elsewhere()))
            print(mask(text))
            return 1 if state["tripped"] else 0
        check_options(args)
        watched = guard_accounts(args, bots_from(args))
        state_file.check_writable()
        state_file.acquire()
        states = AccountStates(state_file, [w.name for w in watched]) if len(watched) > 1 else None
        if states is None:
            state_file.load()
    except (ConfigError, StateError) as e:
        print(f"bingx-closeall guard: {mask(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    guards = []
    for w in watched:
        secrets = (w.account.key, w.account.secret, *(b.password for b in w.bots), args.telegram_token or "")
        masker.add(*secrets)
        notifier = Notifier(args.webhook, args.telegram_token, args.telegram_chat, args.telegram_api_url, secrets,
                            name=f"bingx-guard {args.state}" + (f" [{w.name}]" if states else ""))
        guards.append(Guard(args, w.bots, make_exchange(w.account, args.verbose),
                            states.section(w.name) if states else state_file, notifier,
                            tuple(x for x in secrets if x), w.name if states else ""))
    try:
        for guard in guards:
            code = start_up(guard)
            if code is not None:
                return code
        return run(guards)
    finally:
        for guard in guards:
            guard.close()


def start_up(guard: Guard) -> int | None:
    """The keys read once, each bot's login tried: an exit code to stop with, or None to watch."""
    where = f" of {guard.name}" if guard.name else ""
    try:
        guard.read_equity()
    except (ccxt.AuthenticationError, ccxt.PermissionDenied) as e:
        print(f"bingx-closeall guard: BingX refused the keys{where}: {describe_error(e, guard.secrets)}",
              file=sys.stderr)
        return EXIT_AUTH
    except Exception as e:  # noqa: BLE001 - unreachable now is judged by the checks, not fatal at start-up
        logger.debug("start-up equity read failed: %s", mask(f"{type(e).__name__}: {e}", guard.secrets))
    for bot in guard.bots:  # a bot that is up and refuses the login is a configuration error; a bot down is not
        if guard.health(bot).auth_failed:
            print(f"bingx-closeall guard: bot {bot.name} refused the guard's login at {bot.api_url}: check the "
                  "user and password (api_server.username/password)", file=sys.stderr)
            return EXIT_USAGE
    return None


def run(guards: list[Guard]) -> int:
    """Each account's watch on its own thread, so that one account's trip, flatten or rate limit never delays
    another's checks; SIGTERM/SIGINT end them all after the check (or flatten) in progress."""
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    a = guards[0].args
    for guard in guards:
        guard.log.warning("guard watching %d bot(s)%s%s%s every %g s; state %s%s", len(guard.bots),
                          f", floor {a.floor:g}" if a.floor else "",
                          f", max drawdown {a.drawdown}" if a.drawdown else "",
                          f", max loss {a.loss}" if a.loss else "", a.interval, guard.state_file.path,
                          " (DRY RUN: nothing that trades is sent)" if a.dry_run else "")
    threads = [threading.Thread(target=watch, args=(guard, stop), name=f"watch-{i}", daemon=True)
               for i, guard in enumerate(guards)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(0.2)
    if a.once:
        return 1 if any(guard.state["tripped"] for guard in guards) else 0
    logger.warning("guard stopped; state kept in %s", guards[0].state_file.path)
    return 0


def watch(guard: Guard, stop: threading.Event) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            guard.check()
        except Exception as e:  # noqa: BLE001 - the guard's own fault: logged, never a trip, the watch goes on
            guard.log.error("check failed (the guard's fault, nothing was judged): %s",
                            mask(f"{type(e).__name__}: {e}", guard.secrets))
        if guard.args.once:
            return
        pause = max(0.0, guard.args.interval - (time.monotonic() - started))
        due = guard.silence_due()  # a bot's silence passing --max-silence before the next check: check then
        if due is not None:
            pause = min(pause, max(0.0, due + DUE_MARGIN_S - time.time()))
        stop.wait(pause)
