"""The guard's options and what they are checked against, before it watches anything (exit 2 otherwise).

Bots come from ``--bot URL`` (login from ``--bot-user`` and ``BINGX_GUARD_BOT_PASSWORD``) or from
``--bot-config FILE`` (a freqtrade config: its ``api_server`` section gives the address and the login, its
``exchange`` section the BingX account). The BingX account is read by the CLI's own helpers: ``--config``,
else the bot configs, else ``BINGX_API_KEY``/``BINGX_API_SECRET``; ``--base-url``/``BINGX_BASE_URL`` as in
the CLI. Each bot config's own account is watched on its own (:func:`guard_accounts`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import dataclass
from typing import Any

from ..cli.accounts import Account, ConfigError, accounts_from
from ..cli.command import MAX_WAIT_LIMIT_S
from ..core.flatten import DEFAULT_RATE_LIMIT_WAIT
from .notify import DEFAULT_TELEGRAM_API

__all__ = ["Bot", "Limit", "Watched", "bot_from_config", "bots_from", "build_parser", "check_options",
           "guard_accounts", "parse_limit"]

BOT_PASSWORD_ENV = "BINGX_GUARD_BOT_PASSWORD"  # noqa: S105 - an environment variable's name, not a password
TELEGRAM_TOKEN_ENV = "BINGX_GUARD_TELEGRAM_TOKEN"  # noqa: S105 - an environment variable's name, not a token
DEFAULT_STATE = "bingx-guard-state.json"


@dataclass(frozen=True)
class Bot:
    name: str
    api_url: str  # .../api/v1
    user: str
    password: str
    config: str | None = None  # the bot's freqtrade config (--bot-config): its BingX account is that config's


@dataclass(frozen=True)
class Limit:
    """An amount of the asset, or a percentage of the reference (``10%``)."""

    value: float
    percent: bool

    def of(self, reference: float) -> float:
        return reference * self.value / 100 if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{self.value:g}"


def parse_limit(text: str, option: str) -> Limit:
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw)
    except ValueError:
        raise ConfigError(f"{option} {text!r} must be an amount (500) or a percentage (10%)") from None
    if not math.isfinite(value) or value <= 0 or (percent and value >= 100):
        raise ConfigError(f"{option} {text!r} must be above 0" + (" and below 100%" if percent else ""))
    return Limit(value, percent)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bingx-closeall guard",
        description="Watch freqtrade bots' heartbeats and a BingX account's equity; when a rule trips, ask the bot "
                    "to flatten (POST /api/v1/closeall), else flatten the account directly. Stays tripped until "
                    "re-armed with --rearm.",
        epilog="Secrets from the environment: BINGX_API_KEY/BINGX_API_SECRET, "
               f"{BOT_PASSWORD_ENV}, {TELEGRAM_TOKEN_ENV}.")
    watch = p.add_argument_group("what to watch")
    watch.add_argument("--bot", action="append", default=[], metavar="URL",
                       help="a freqtrade REST API, e.g. http://127.0.0.1:8080 (repeatable)")
    watch.add_argument("--bot-user", default=None, help=f"login for --bot (password from {BOT_PASSWORD_ENV})")
    watch.add_argument("--bot-config", action="append", default=[], metavar="FILE",
                       help="a bot's freqtrade config: its api_server and its BingX keys (repeatable)")
    watch.add_argument("--max-silence", type=float, default=120.0, metavar="S",
                       help="trip when a bot's loop has not run for this long, or its API is down (default 120)")
    watch.add_argument("--floor", type=float, default=None, metavar="AMOUNT", help="trip when equity is below AMOUNT")
    watch.add_argument("--max-drawdown", default=None, metavar="AMOUNT|PCT%",
                       help="trip when equity is this far below its high-water mark")
    watch.add_argument("--max-loss", default=None, metavar="AMOUNT|PCT%",
                       help="trip when equity is this far below the start value")
    watch.add_argument("--start-equity", type=float, default=None, metavar="AMOUNT",
                       help="start value for --max-loss (default: the first equity read, kept in the state file)")
    watch.add_argument("--asset", default="USDT", help="the wallet asset whose equity is watched (default USDT)")
    watch.add_argument("--unreachable-alert", type=float, default=None, metavar="S",
                       help="alert (never trip) when BingX has not answered for this long")
    account = p.add_argument_group("BingX account (as bingx-closeall)")
    account.add_argument("--config", default=None, metavar="FILE", help="freqtrade config with exchange.key/secret")
    account.add_argument("--base-url", default=None, help="root of a BingX-compatible API (env BINGX_BASE_URL)")
    account.add_argument("--sandbox", action="store_true", help="BingX's demo-money environment")
    timing = p.add_argument_group("timing")
    timing.add_argument("--interval", type=float, default=10.0, metavar="S", help="seconds between checks (default 10)")
    timing.add_argument("--bot-deadline", type=float, default=20.0, metavar="S",
                        help="how long the bot gets to answer /closeall before a direct flatten (default 20)")
    timing.add_argument("--max-wait", type=float, default=DEFAULT_RATE_LIMIT_WAIT, metavar="S",
                        help="direct flatten: wait out a BingX rate limit this short "
                             f"(default {DEFAULT_RATE_LIMIT_WAIT:g})")
    timing.add_argument("--http-timeout", type=float, default=5.0, metavar="S",
                        help="timeout of each health read (default 5)")
    timing.add_argument("--alert-after", type=int, default=3, metavar="N",
                        help="alert after N failed equity reads in a row (default 3)")
    notify = p.add_argument_group("notifications")
    notify.add_argument("--webhook", action="append", default=[], metavar="URL",
                        help="POST a JSON event here (repeatable)")
    notify.add_argument("--telegram-chat", default=None, metavar="ID",
                        help=f"Telegram chat (token from {TELEGRAM_TOKEN_ENV})")
    notify.add_argument("--telegram-api-url", default=DEFAULT_TELEGRAM_API, metavar="URL", help="Bot API root")
    run = p.add_argument_group("running")
    run.add_argument("--state", default=DEFAULT_STATE, metavar="FILE", help=f"state file (default {DEFAULT_STATE})")
    run.add_argument("--dry-run", action="store_true", help="trip and report as usual; send nothing that trades")
    run.add_argument("--once", action="store_true", help="one check, then exit (0 armed, 1 tripped)")
    run.add_argument("--rearm", action="store_true", help="re-arm a tripped guard (the running one, or the state file)")
    run.add_argument("--status", action="store_true",
                     help="each account armed or tripped, why, the flatten, each bot's last loop; exit 0 armed, "
                          "1 any tripped")
    run.add_argument("--json", action="store_true", help="with --status: the raw state file as JSON")
    run.add_argument("-v", "--verbose", action="store_true", help="debug log, HTTP trace included (secrets masked)")
    return p


def _http_url(url: str, option: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise ConfigError(f"{option} {url!r} must be an http:// or https:// URL")
    return url


def check_options(args: argparse.Namespace) -> None:
    def positive(name: str, value: float | None, ceiling: float = 86_400.0) -> None:
        if value is not None and not 0 < value <= ceiling:  # NaN fails this too
            raise ConfigError(f"--{name} must be above 0 and at most {ceiling:g}, got {value}")

    positive("interval", args.interval, 3600.0)
    positive("max-silence", args.max_silence)
    positive("bot-deadline", args.bot_deadline, 600.0)
    positive("http-timeout", args.http_timeout, 60.0)
    positive("unreachable-alert", args.unreachable_alert)
    positive("floor", args.floor, math.inf)
    positive("start-equity", args.start_equity, math.inf)
    if not 0 <= args.max_wait <= MAX_WAIT_LIMIT_S:
        raise ConfigError(f"--max-wait must be between 0 and {MAX_WAIT_LIMIT_S:g} seconds, got {args.max_wait}")
    if args.alert_after < 1:
        raise ConfigError(f"--alert-after must be 1 or more, got {args.alert_after}")
    args.drawdown = parse_limit(args.max_drawdown, "--max-drawdown") if args.max_drawdown is not None else None
    args.loss = parse_limit(args.max_loss, "--max-loss") if args.max_loss is not None else None
    if args.start_equity is not None and args.loss is None:
        raise ConfigError("--start-equity is the reference of --max-loss: give --max-loss too")
    if (args.bot or args.bot_config) and args.max_silence <= args.interval:
        raise ConfigError(f"--max-silence ({args.max_silence:g} s) must be longer than --interval "
                          f"({args.interval:g} s), or every check could trip")
    if not (args.bot or args.bot_config or args.floor or args.drawdown or args.loss):
        raise ConfigError("nothing to watch: give --bot/--bot-config, or --floor/--max-drawdown/--max-loss")
    args.webhook = [_http_url(url, "--webhook") for url in args.webhook]
    args.telegram_api_url = _http_url(args.telegram_api_url, "--telegram-api-url")
    token = os.environ.get(TELEGRAM_TOKEN_ENV, "")
    if bool(token) != bool(args.telegram_chat):
        raise ConfigError(f"Telegram needs both {TELEGRAM_TOKEN_ENV} and --telegram-chat (one of them is missing)")
    args.telegram_token = token or None
    if not args.asset.isalnum():
        raise ConfigError(f"--asset {args.asset!r} is not an asset code")


def _read_json(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as e:
        raise ConfigError(f"cannot read config {path!r}: {e.strerror or e}") from None
    except ValueError as e:
        raise ConfigError(f"config {path!r} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {path!r} is not a JSON object")
    return data


def bot_from_config(path: str) -> Bot:
    api = _read_json(path).get("api_server")
    if not isinstance(api, dict) or not api.get("enabled"):
        raise ConfigError(f"config {path!r}: api_server is not enabled; the guard reads the bot's REST API")
    host = str(api.get("listen_ip_address") or "127.0.0.1")
    # listening everywhere: reach it locally (the guard connects to the address, it binds nothing)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - replaces it, binds nothing
    port = api.get("listen_port")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"config {path!r}: api_server.listen_port is missing or not a port")
    user, password = api.get("username"), api.get("password")
    if not isinstance(user, str) or not user or not isinstance(password, str) or not password:
        raise ConfigError(f"config {path!r}: api_server.username and password are needed for the guard's login")
    host = f"[{host}]" if ":" in host else host
    return Bot(path, f"http://{host}:{port}/api/v1", user, password, path)


def bots_from(args: argparse.Namespace) -> list[Bot]:
    bots = [bot_from_config(path) for path in args.bot_config]
    if args.bot:
        password = os.environ.get(BOT_PASSWORD_ENV, "")
        if not args.bot_user or not password:
            raise ConfigError(f"--bot needs the bot's REST API login: --bot-user and {BOT_PASSWORD_ENV}")
        for url in args.bot:
            base = _http_url(url, "--bot")
            base = base if base.endswith("/api/v1") else base + "/api/v1"
            bots.append(Bot(url.strip().rstrip("/"), base, args.bot_user, password))
    names = [bot.api_url for bot in bots]
    if len(set(names)) != len(names):
        raise ConfigError("the same bot API is given twice")
    return bots


@dataclass(frozen=True)
class Watched:
    """One BingX account and the bots that trade on it: watched, tripped and flattened on its own."""

    account: Account
    bots: list[Bot]

    @property
    def name(self) -> str:
        return self.account.label


def guard_accounts(args: argparse.Namespace, bots: list[Bot]) -> list[Watched]:
    """Each BingX account with its bots: ``--config`` (one account for every bot), else each bot config's own
    account (bots whose configs name the same key share one, and trip together), ``--bot`` URLs with the
    environment's account; with no bot config, the environment's account for every bot."""
    def read(config: list[str], per_bot: list[str]) -> list[Account]:
        return accounts_from(argparse.Namespace(base_url=args.base_url, sandbox=args.sandbox, config=config,
                                                account=per_bot))

    if args.config:
        return [Watched(read([args.config], [])[0], bots)]
    configured = [bot for bot in bots if bot.config]
    if not configured:
        return [Watched(read([], [])[0], bots)]
    groups: dict[str, Watched] = {}
    for bot, account in zip(configured, read([], [str(bot.config) for bot in configured]), strict=True):
        watched = groups.setdefault(account.key, Watched(account, []))
        watched.bots.append(bot)
    by_url = [bot for bot in bots if not bot.config]
    if by_url:
        try:
            account = read([], [])[0]
        except ConfigError:
            raise ConfigError("--bot URLs beside --bot-config need their account: --config, or BINGX_API_KEY and "
                              "BINGX_API_SECRET") from None
        groups.setdefault(account.key, Watched(account, [])).bots.extend(by_url)
    return list(groups.values())
