"""Secrets never reach output or logs: ONE masking function, :func:`mask`, and what applies it.

Every text that leaves the process goes through :func:`mask`: log records (:class:`SecretMasker`), REST
and chat answers (:func:`mask_value` on the whole answer), and the ``str()`` of the exceptions raised to
callers (:func:`mask_exception`, applied by the close path's drivers and the plugin's ccxt classes).

ccxt logs every request at DEBUG with its URL (which carries ``signature=``) and its headers (which carry
``X-BX-APIKEY``); its verbose mode prints the same. Attach :class:`SecretMasker` to every handler that
may see those records (a handler filter, unlike a logger filter, also sees records propagated from
child loggers such as ``ccxt.base.exchange``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

__all__ = ["MASK", "MaskingStream", "SecretMasker", "error_text", "mask", "mask_exception", "mask_root_handlers",
           "mask_value", "secrets_of"]

MASK = "***"
# BingX signatures are hex HMAC-SHA256 digests, sent as a query parameter or a JSON field.
_SIGNATURE = re.compile(r"(signature[\"']?\s*[=:]\s*[\"']?)[0-9a-fA-F]{16,}")
_API_KEY_HEADER = re.compile(r"(X-BX-APIKEY[\"']?\s*[:=]\s*[\"']?)[^\"',}\s]+", re.IGNORECASE)


def mask(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with every secret, every signature and the API key header's value replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _SIGNATURE.sub(lambda m: m.group(1) + MASK, text)
    return _API_KEY_HEADER.sub(lambda m: m.group(1) + MASK, text)


E = TypeVar("E", bound=BaseException)
# Bounds on the walks below: an answer or an exception chain deeper than this is not the plugin's.
_MAX_DEPTH = 50
_MAX_CHAIN = 50


def secrets_of(holder: Any) -> tuple[str, ...]:
    """The key and secret of a ccxt exchange (``apiKey``/``secret``) or a freqtrade exchange config
    (``key``/``secret``); empty values left out."""
    values: tuple[Any, ...]
    if isinstance(holder, dict):
        values = (holder.get("key"), holder.get("apiKey"), holder.get("secret"))
    else:
        values = (getattr(holder, "apiKey", None), getattr(holder, "secret", None))
    return tuple(str(v) for v in values if isinstance(v, str) and v)


def mask_value(value: Any, secrets: tuple[str, ...] = (), _depth: int = 0) -> Any:
    """``value`` (a JSON-like answer: dicts, lists, strings, numbers) with :func:`mask` applied to every
    string in it, keys included; other leaves unchanged. Returns a copy; the input is not modified."""
    if _depth > _MAX_DEPTH:
        return MASK  # deeper than any answer the plugin builds: nothing of it is shown
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, dict):
        return {mask_value(k, secrets, _depth + 1): mask_value(v, secrets, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [mask_value(v, secrets, _depth + 1) for v in value]
    if isinstance(value, BaseException):
        return error_text(value, secrets)
    return value


def mask_exception(error: E, secrets: tuple[str, ...] = ()) -> E:
    """``error`` itself, its text masked in place: its ``args`` (and those of the exceptions it chains to,
    ``__cause__`` and ``__context__``, and of exceptions held in its args) go through :func:`mask`.

    Class, chaining, traceback and attributes stay as they were, so ``except`` clauses and code reading
    ``code`` or ``retry_after`` work unchanged; only ``str()`` (and a printed traceback) change. ccxt's
    network errors carry the signed URL (``...&signature=<hmac>``) in their message, and so do the
    requests/urllib3 errors they are chained to.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo and len(seen) < _MAX_CHAIN:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        args = []
        for arg in current.args:
            if isinstance(arg, BaseException):
                todo.append(arg)  # masked in place itself; its str() then is
            elif isinstance(arg, str):
                arg = mask(arg, secrets)
            elif isinstance(arg, (bytes, int, float, bool, type(None))):
                pass
            else:
                text = str(arg)
                if mask(text, secrets) != text:
                    arg = mask(text, secrets)
            args.append(arg)
        try:
            current.args = tuple(args)
        except (AttributeError, TypeError):  # an exception type that refuses new args: leave it
            logger.debug("could not mask the text of a %s", type(current).__name__)
        message = getattr(current, "message", None)  # freqtrade's RPCException and PTB's errors keep it here
        if isinstance(message, str):
            try:
                current.message = mask(message, secrets)  # type: ignore[attr-defined]
            except AttributeError:
                pass
        notes = getattr(current, "__notes__", None)
        if isinstance(notes, list):
            current.__notes__ = [mask(n, secrets) if isinstance(n, str) else n for n in notes]
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return error


def error_text(error: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """``"ClassName: message"`` safe to show or log: ccxt's network errors carry the signed URL."""
    return mask(f"{type(error).__name__}: {error}", secrets)


class SecretMasker(logging.Filter):
    """Rewrites each record's message (and any exception text) with :func:`mask` applied."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def add(self, *secrets: str) -> None:
        self.secrets = tuple(sorted({*self.secrets, *(s for s in secrets if s)}, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


def mask_root_handlers(*secrets: str,
                       add_filter: Callable[[logging.Handler, logging.Filter], object] | None = None) -> SecretMasker:
    """Attach one :class:`SecretMasker` (with ``secrets`` added) to every handler of the root logger.

    For hosts that own logging (freqtrade configures its handlers before it builds the exchange, and again
    on a config reload, before building the next one): call it once the handlers exist. Idempotent.
    ``add_filter(handler, masker)`` replaces ``handler.addFilter`` (the freqtrade layer records each one).
    """
    root = logging.getLogger()
    masker = next((f for h in root.handlers for f in h.filters if isinstance(f, SecretMasker)), None)
    if masker is None:
        masker = SecretMasker()
    masker.add(*secrets)
    for handler in root.handlers:
        if masker not in handler.filters:
            (add_filter or logging.Handler.addFilter)(handler, masker)
    return masker


class MaskingStream:
    """A text stream whose every write passes through :func:`mask` with a :class:`SecretMasker`'s secrets.

    A command's stdout and stderr wrapped in it cannot print a secret, whatever a message quotes (a config
    value, an error's text); everything else (``flush``, ``isatty``, ``fileno``, ``encoding``) is the stream's.
    """

    def __init__(self, stream: Any, masker: SecretMasker) -> None:
        self._stream = stream
        self._masker = masker

    def write(self, text: str) -> int:
        self._stream.write(mask(text, self._masker.secrets))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
