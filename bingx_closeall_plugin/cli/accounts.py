"""bingx-closeall's accounts: which credentials, which endpoint, and the ccxt client for each.

From the command line, freqtrade configs (read as freqtrade reads them, :mod:`bingx_closeall_plugin.cli.config`)
or the environment; an empty base URL is an error, never a silent fall back to live BingX. Everything here
runs before anything is sent: a problem is a :class:`ConfigError` (exit 2).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from ..core.exchange import BingX
from ..core.symbols import CurrencyMap, currency_map
from ..core.urls import api_urls as root_urls
from . import clients
from .config import ENV_OVERRIDES, ConfigFileError, load_config


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
    exchange = clients.template(sandbox=False)
    section = exchange.urls["test" if account.sandbox else "api"]["swap"]
    url = exchange.implode_hostname(section)
    return Target("demo" if account.sandbox else "live", url.removesuffix("/openApi"), account.label)


def make_exchange(account: Account, verbose: bool) -> BingX:
    exchange = clients.client_for(account.key, account.secret, account.currencies, account.sandbox)
    if account.urls:
        exchange.urls["api"] = {**exchange.urls["api"], **account.urls}
    exchange.verbose = verbose
    return exchange


def account_names(account: Account) -> CurrencyMap:
    """The ccxt names the account's exchange will use, without building its client."""
    return currency_map(clients.template(account.currencies) if account.currencies else None)
