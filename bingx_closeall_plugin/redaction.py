"""Secrets never reach output or logs: a logging filter that masks the key, the secret and signatures.

ccxt logs every request at DEBUG with its URL (which carries ``signature=``) and its headers (which carry
``X-BX-APIKEY``); its verbose mode prints the same. Attach :class:`SecretMasker` to every handler that
may see those records (a handler filter, unlike a logger filter, also sees records propagated from
child loggers such as ``ccxt.base.exchange``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

logger = logging.getLogger(__name__)

__all__ = ["MASK", "SecretMasker", "error_text", "mask", "mask_root_handlers"]

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
