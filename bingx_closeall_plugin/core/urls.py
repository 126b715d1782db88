"""Pointing ccxt's bingx at another host: the simulator, or any BingX-compatible root."""

from __future__ import annotations

import functools

import ccxt

__all__ = ["api_urls"]


@functools.cache
def _sections() -> tuple[str, ...]:
    # ccxt's bingx builds every URL from urls['api'][section] (spot, swap, contract, ...); the sections are
    # the same for every instance of a given ccxt, so one throwaway instance tells them.
    return tuple(ccxt.bingx().urls["api"])


def api_urls(base_url: str) -> dict[str, str]:
    """ccxt's ``urls['api']`` with every section at ``base_url``'s ``/openApi`` (a trailing ``/openApi`` is
    accepted), for a client's ``urls["api"]`` or freqtrade's ``ccxt_config: {"urls": {"api": ...}}``."""
    base = base_url.strip().rstrip("/")
    base = base.removesuffix("/openApi")
    return dict.fromkeys(_sections(), base + "/openApi")
