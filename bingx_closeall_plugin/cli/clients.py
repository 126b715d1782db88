"""bingx-closeall's ccxt clients: one per account, each a copy of a client ccxt built once.

Building a ``ccxt.bingx`` costs about 1.4 ms of CPU (ccxt's constructor merges ``describe()`` into the
instance and walks every one of its ~1,300 attributes to add the camelCase names), and every account of a
press needs its own client before its close can go: at 100 accounts that was a tenth of a second of one
interpreter's time in front of the last close. A client built from the same config differs from another only
in its credentials, its endpoint and its connection pool, so each account's client is a deep copy of one
template built by ccxt for that config, with its own ``requests`` session and its own key: about 0.15 ms.

What the copies share with the template: the logger (process-wide), and three tables that ccxt writes only in
its constructor and reads after, ``api`` (the endpoints), ``has`` (``has_autocorrect``) and ``features``
(``features_generator``), together three quarters of the copy's cost; copied under two processes' contention,
they put 0.1 s on the last of 100 accounts' closes. Everything else is copied deep. The test of this module
checks a copy against a client ccxt builds itself, attribute by attribute, and that a whole flatten through a
copy leaves the shared tables as they were (``tests/test_cli_clients.py``). Where a copy cannot be made (a ccxt
whose client holds something that cannot be copied), the client is built by ccxt, as before: slower, never
wrong.
"""

from __future__ import annotations

import copy
import logging
import threading
from typing import Any

from requests import Session

from ..core.exchange import BingX

logger = logging.getLogger(__name__)

__all__ = ["CONFIG", "SHARED", "build", "client_for", "prepare", "template"]

# ccxt's throttle spaces private calls by up to half a second; a flatten makes a handful of requests, far inside
# BingX's per-UID limits, and every one of them is urgent.
CONFIG: dict[str, Any] = {"enableRateLimit": False, "timeout": 10_000}
# Kept as the template's (not copied): the logger is process-wide, the session is made anew per client, and
# ccxt writes the three tables only while it constructs a client.
SHARED = frozenset({"logger", "api", "has", "features"})
_NOT_COPIED = SHARED | {"session"}

_templates: dict[tuple[tuple[tuple[str, str], ...], bool], BingX] = {}
_lock = threading.Lock()
_copies_fail = False  # set once a copy failed: every later client is built by ccxt


def build(currencies: dict[str, str] | None = None, sandbox: bool = False, **config: Any) -> BingX:
    """A client as ccxt builds it, from the CLI's config (``CONFIG``, the currencies, ``config``)."""
    full: dict[str, Any] = {**CONFIG, **config}
    if currencies:
        full["commonCurrencies"] = currencies  # ccxt adds them to its own table, as in the bot
    exchange = BingX(full)
    if sandbox:
        exchange.set_sandbox_mode(True)
    return exchange


def _key(currencies: dict[str, str] | None, sandbox: bool) -> tuple[tuple[tuple[str, str], ...], bool]:
    return tuple(sorted((currencies or {}).items())), sandbox


def template(currencies: dict[str, str] | None = None, sandbox: bool = False) -> BingX:
    """The client this config's accounts copy (built once per process): for what needs no account of its own."""
    key = _key(currencies, sandbox)
    with _lock:
        built = _templates.get(key)
        if built is None:
            built = _templates[key] = build(currencies, sandbox)
        return built


def prepare(configs: list[tuple[dict[str, str] | None, bool]]) -> None:
    """Build the templates these accounts' clients copy, now: before the press forks its workers, each then
    has them without building its own."""
    for currencies, sandbox in configs:
        template(currencies, sandbox)


def client_for(key: str, secret: str, currencies: dict[str, str] | None = None, sandbox: bool = False) -> BingX:
    """A client of its own for one account: the template for its config, deep-copied, with this key and secret,
    a new connection pool and a new ``origin`` (ccxt's per-client id)."""
    global _copies_fail
    if not _copies_fail:
        original = template(currencies, sandbox)
        try:
            state = {name: value if name in _NOT_COPIED else copy.deepcopy(value)
                     for name, value in vars(original).items()}
        except Exception as e:  # noqa: BLE001 - any failure to copy: build it as ccxt does
            _copies_fail = True
            logger.debug("ccxt's client cannot be copied (%s): each account's is built by ccxt", e)
        else:
            exchange: BingX = BingX.__new__(BingX)
            exchange.__dict__.update(state)
            exchange.session = Session()  # ccxt's own construction, as in Exchange.__init__
            exchange.session.trust_env = exchange.requests_trust_env
            exchange.origin = exchange.uuid()
            exchange.apiKey, exchange.secret = key, secret
            return exchange
    return build(currencies, sandbox, apiKey=key, secret=secret)
