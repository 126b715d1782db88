"""The one secrets scanner of the test suite: the key, the secret, signature-style hex and the real HMACs.

A text leaks when it holds the API key, the API secret (or any extra secret given, e.g. a Telegram token),
a 64-hex string right after ``signature``, or the HMAC-SHA256 BingX checks for any request the simulator
received (rebuilt from its request log with the secret: what ccxt really sent, whatever shape it is in).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

from conftest import API_KEY, API_SECRET

SIGNATURE = re.compile(r"signature\W{0,6}[0-9a-fA-F]{64}", re.IGNORECASE)


def signatures_of(requests_seen: Iterable[Any]) -> set[str]:
    """The HMAC BingX checks for each logged request (its params in the order they were sent)."""
    return {hmac.new(API_SECRET.encode(), "&".join(f"{k}={v}" for k, v in r.params.items()).encode(),
                     hashlib.sha256).hexdigest() for r in requests_seen if r.api_key_ok}


def leaks(text: str, hmacs: Iterable[str] = (), extra: Iterable[str] = ()) -> list[str]:
    """What of the secrets ``text`` carries (names and prefixes only, never the secret itself)."""
    named = [("key", API_KEY), ("secret", API_SECRET), *(("extra secret", s) for s in extra if s)]
    found = [name for name, secret in named if secret in text]
    found += [f"signature: {m.group(0)[:24]}..." for m in SIGNATURE.finditer(text)]
    found += [f"hmac {s[:12]}..." for s in hmacs if s in text or s.upper() in text]
    return found
