"""What the guard does once tripped, step by step: ask every bot to close, read what is open, flatten directly.

Each step is a function of what it needs (the bots, the exchange, the secrets to mask), called by
:meth:`.watch.Guard._act`, which decides between them and records the outcome.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Executor, TimeoutError as FutureTimeout
from typing import Any

import ccxt
import requests

from ..cli.run import describe_error
from ..core.flatten import flatten, read_account
from ..core.redaction import mask
from .config import Bot

logger = logging.getLogger("bingx_closeall_plugin.guard")


def ask_bots(pool: Executor, bots: list[Bot], bot_deadline: float, secrets: tuple[str, ...]) -> dict[str, str]:
    """Every bot asked ``POST /closeall`` at once; each one's answer, or why there was none, by the deadline."""
    def ask(bot: Bot) -> str:
        try:
            response = requests.post(f"{bot.api_url}/closeall", json={}, auth=(bot.user, bot.password),
                                     timeout=(min(3.0, bot_deadline), bot_deadline))
        except requests.RequestException as e:
            return f"no answer ({type(e).__name__})"
        try:
            body = response.json()
        except ValueError:
            body = {}
        status = body.get("status") if isinstance(body, dict) else None
        result = body.get("result") or body.get("detail") if isinstance(body, dict) else None
        return mask(f"{status or 'HTTP ' + str(response.status_code)}: {result or ''}".strip(), secrets)

    asked = {bot.name: pool.submit(ask, bot) for bot in bots}
    deadline = time.monotonic() + bot_deadline + 1.0
    answers = {}
    for name, future in asked.items():
        try:
            answers[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            answers[name] = f"no answer within --bot-deadline {bot_deadline:g} s"
    return answers


def open_positions(exchange: Any, secrets: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """The account's open positions after the bots were asked; None if BingX could not say."""
    try:
        return read_account(exchange)[0]
    except ccxt.BaseError as e:
        logger.warning("could not read positions after asking the bots: %s", describe_error(e, secrets))
        return None


def flatten_directly(exchange: Any, max_wait: float, secrets: tuple[str, ...]) -> tuple[bool, str]:
    """The account flattened through the core's one close path: (flat with no order left, what happened)."""
    try:
        report = flatten(exchange, None, rate_limit_wait=max_wait)
    except ccxt.BaseError as e:
        return False, f"the close failed: {describe_error(e, secrets)}"
    text = (f"{len(report.success)} close order(s) in {report.close_requests} request(s), "
            f"{len(report.cancelled_orders or [])} order(s) cancelled, "
            f"{len(report.remaining_positions)} still open")
    if report.error is not None:
        text += f"; {describe_error(report.error, secrets)}"
    if report.orders_left:
        text += f"; open orders may remain: {report.cancel_error}"
    return report.flat and not report.orders_left, text
