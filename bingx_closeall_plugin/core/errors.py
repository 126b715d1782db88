"""BingX's error table: the one place that knows what a BingX code means.

Every row cites the meaning BingX documents for it (the closeAllPositions page of the USDT-M trade API,
and the 2025-10-16 renumbering notice, whose successor codes the table holds beside the old ones).
ccxt 4.5's own bingx table disagrees on several of these (100421 -> BadSymbol, 80014/80001 -> BadRequest,
100410 -> OperationFailed without a retry time, 80018/109414/80020 unmapped); this table wins wherever
a code is listed here, and ccxt's decides for every code it does not list.

Each exception raised from here is a subclass of the ccxt class a ccxt user would catch, and carries
BingX's ``code``, its message as ``bingx_message``, whether it is ``transient``, and for rate limits
``retry_after`` (epoch milliseconds) when BingX said when.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import ccxt

from .redaction import mask, mask_exception

__all__ = [
    "AlreadySubmitted",
    "BingXError",
    "ClockSkew",
    "ERROR_TABLE",
    "ErrorRule",
    "InvalidInput",
    "InvalidSymbol",
    "IpNotWhitelisted",
    "InvalidApiKey",
    "InvalidParameter",
    "NoPositionToClose",
    "OrderMissing",
    "RateLimited",
    "RiskControlRejected",
    "ServiceUnavailable",
    "SignatureRejected",
    "UnknownSymbol",
    "error_from_response",
    "failure_text",
    "parse_error_body",
    "translate",
]


class BingXError(Exception):
    """Mixin of every error BingX answered, with its code and message kept.

    Deliberately not a ccxt class itself: each concrete error below is first the ccxt class a ccxt user
    would catch (a RateLimitExceeded stays a NetworkError, never an ExchangeError).
    """

    transient: bool = False

    def __init__(self, message: str, *, code: int | None = None, bingx_message: str = "", raw: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.bingx_message = bingx_message
        self.raw = raw


# Each concrete class lists the ccxt class first so ``except ccxt.X`` keeps working for ccxt users,
# and BingXError second so the plugin can read the code.
class ClockSkew(ccxt.InvalidNonce, BingXError):
    """The request's timestamp was refused (clock skew or outside recvWindow)."""

    transient = True


class IpNotWhitelisted(ccxt.PermissionDenied, BingXError):
    """This machine's IP is not on the API key's whitelist."""


class InvalidApiKey(ccxt.AuthenticationError, BingXError):
    """The API key is wrong, deleted or for another environment (live vs demo)."""


class SignatureRejected(ccxt.AuthenticationError, BingXError):
    """The signature did not verify: the secret does not belong to the key."""


class RiskControlRejected(ccxt.PermissionDenied, BingXError):
    """BingX's risk control refused the request."""


class RateLimited(ccxt.RateLimitExceeded, BingXError):
    """Rate limited; ``retry_after`` is the epoch ms BingX gave, or None when it gave none.

    In ccxt 4.5 ``RateLimitExceeded`` is not a ``DDoSProtection``: callers that back off on
    DDoSProtection only must catch this too.
    """

    transient = True

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class UnknownSymbol(ccxt.BadSymbol, BingXError):
    """BingX does not list this symbol."""


class InvalidParameter(ccxt.BadRequest, BingXError):
    """BingX refused a parameter (generic 109400)."""


class AlreadySubmitted(ccxt.DuplicateOrderId, BingXError):
    """The same request was already submitted within a second: verify what happened, don't fail."""


class OrderMissing(ccxt.OrderNotFound, BingXError):
    """The order (or position) does not exist or is already filled."""


class NoPositionToClose(ccxt.InvalidOrder, BingXError):
    """There is nothing to close: on the close path this means already flat."""


class ServiceUnavailable(ccxt.ExchangeNotAvailable, BingXError):
    """BingX's service failed or is busy; retried with a bounded backoff."""

    transient = True


class InvalidSymbol(ccxt.BadSymbol, ValueError):
    """A symbol refused locally, before any request was sent."""


class InvalidInput(ccxt.BadRequest, ValueError):
    """An argument refused locally, before any request was sent."""


@dataclass(frozen=True)
class ErrorRule:
    """One row of the table: a code (and optionally a message pattern) and what it means."""

    code: int
    exception: type[BingXError]
    meaning: str  # what BingX documents for the code
    pattern: str | None = None  # regex on BingX's message, for codes that mean several things

    @property
    def transient(self) -> bool:
        return self.exception.transient


# Order matters only within one code: the first rule whose pattern matches wins, a rule without a
# pattern is that code's default.
ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule(80014, ClockSkew, "timestamp is invalid"),
    ErrorRule(100421, ClockSkew, "Null timestamp or timestamp mismatch"),
    ErrorRule(100419, IpNotWhitelisted, "IP does not match IP whitelist"),
    ErrorRule(100413, InvalidApiKey, "Incorrect apiKey"),
    # Not on the closeAllPositions page, but BingX's answer to every signed endpoint with a bad signature.
    ErrorRule(100001, SignatureRejected, "Signature verification failed"),
    ErrorRule(80020, RiskControlRejected, "risk forbidden"),
    ErrorRule(109403, RiskControlRejected, "risk forbidden (successor of 80020 since 2025-10-16)"),
    ErrorRule(100410, RateLimited, "rate limited / endpoint in a disabled period, unblocked after <epoch ms>"),
    ErrorRule(109429, RateLimited, "rate limited (successor of 100410 since 2025-10-16)"),
    # 109400 became a generic "parameter invalid" in the renumbering, absorbing 80014, 80001 and 109414:
    # its message tells what it is.
    ErrorRule(109400, UnknownSymbol, "<SYMBOL>,symbol not exist", pattern=r"symbol not exist"),
    ErrorRule(109400, ClockSkew, "parameter invalid: timestamp (absorbed 80014)", pattern=r"timestamp"),
    ErrorRule(109400, InvalidParameter, "parameter invalid"),
    ErrorRule(109201, AlreadySubmitted, "The same order number is only allowed to be submitted once within 1 second"),
    ErrorRule(80018, OrderMissing, "order is already filled, The order doesn't exist"),
    ErrorRule(109414, OrderMissing, "order not exist"),
    ErrorRule(109421, OrderMissing, "order not found (successor of 80016 since 2025-10-16)"),
    ErrorRule(109422, OrderMissing, "order or position not exist (successor of 80018/80017 since 2025-10-16)"),
    ErrorRule(101205, NoPositionToClose, "No position to close"),
    ErrorRule(80001, ServiceUnavailable, "service has some errors"),
    ErrorRule(109500, ServiceUnavailable, "system busy (since 2025-10-16)"),
)

_RULES_BY_CODE: dict[int, list[ErrorRule]] = {}
for _rule in ERROR_TABLE:
    _RULES_BY_CODE.setdefault(_rule.code, []).append(_rule)

# Both message forms BingX documents for 100410: "... will be unblocked after 1727193814249" and
# "... can retry after time: 1727193970155".
_RETRY_AFTER = re.compile(r"(?:unblocked after|retry after time:?)\s*(\d{12,})")


def parse_error_body(body: Any) -> tuple[int, str] | None:
    """(code, msg) from a BingX answer (dict or JSON text) whose ``code`` is non-zero, else None.

    BingX answers errors as HTTP 200 with a non-zero ``code``, and sometimes as an HTTP error status
    with the same JSON; both arrive here. A body that is not BingX's JSON gives None (kept raw by the caller).
    """
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if code is None:
        return None
    try:
        code_int = int(code)
    except (TypeError, ValueError):
        return None
    if code_int == 0:
        return None
    return code_int, str(body.get("msg") or "")


def rule_for(code: int, msg: str) -> ErrorRule | None:
    for rule in _RULES_BY_CODE.get(code, ()):
        if rule.pattern is None or re.search(rule.pattern, msg, re.IGNORECASE):
            return rule
    return None


def error_from_response(body: Any) -> BingXError | None:
    """The exception for a BingX error answer, or None when the table does not list its code."""
    parsed = parse_error_body(body)
    if parsed is None:
        return None
    code, msg = parsed
    rule = rule_for(code, msg)
    if rule is None:
        return None
    text = f"bingx {code}: {msg}"
    if rule.exception is IpNotWhitelisted:
        text += (" (add this machine's IP to the API key's IP whitelist at BingX's API management page,"
                 " or remove the restriction)")
    if rule.exception is RateLimited:
        match = _RETRY_AFTER.search(msg)
        return RateLimited(text, retry_after=int(match.group(1)) if match else None, code=code, bingx_message=msg,
                           raw=body)
    return rule.exception(text, code=code, bingx_message=msg, raw=body)


_BODY_IN_MESSAGE = re.compile(r"\{.*\}", re.DOTALL)


def translate(error: BaseException) -> BaseException:
    """Re-map an exception a plain ``ccxt.bingx`` raised through ccxt's own table.

    ccxt's bingx puts the answer's body in the message (``"bingx {...}"``); where our table lists the
    code, the returned exception is ours (chained to the original); otherwise ``error`` is returned as is.
    Either way a ccxt error's text (and its chain's) comes back masked: ccxt puts the signed URL in it.
    """
    if not isinstance(error, ccxt.BaseError):
        return error
    if isinstance(error, BingXError):
        return mask_exception(error)
    match = _BODY_IN_MESSAGE.search(str(error))
    if not match:
        return mask_exception(error)
    ours = error_from_response(match.group(0))
    if ours is None:
        return mask_exception(error)
    ours.__cause__ = error
    return mask_exception(ours)


def failure_text(step: str, error: BaseException, state: str) -> str:
    """One sentence for an operator: the step that failed, how, and the state it leaves; secrets masked.

    Only an answer BingX gave (a code from its table, or any ccxt ExchangeError it sent) is "refused by
    BingX": a connection that failed or an answer that never came is said to be that, since the request
    may never have reached BingX (or may have, and executed).
    """
    if isinstance(error, BingXError) and error.code is not None:
        how = f"BingX refused it ({error.code}: {error.bingx_message or error})"
    elif isinstance(error, ccxt.RequestTimeout):
        how = (f"BingX's answer did not arrive in time ({type(error).__name__}); "
               "the request may or may not have executed")
    elif isinstance(error, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        how = f"BingX rate limited it ({type(error).__name__}: {error})"
    elif isinstance(error, ccxt.NetworkError):
        how = f"BingX could not be reached or gave no usable answer ({type(error).__name__}: {error})"
    elif isinstance(error, ccxt.ExchangeError):
        how = f"BingX refused it ({type(error).__name__}: {error})"
    else:
        how = f"it failed ({type(error).__name__}: {error})"
    return mask(f"{step}: {how}. {state}")
