"""Xero's error table: HTTP status, rate-limit headers and validation messages onto our kinds.

Bodies (apis.md 3.6): a 400 is ``{"ErrorNumber": 10, "Type": "ValidationException", "Message",
"Elements": [{..., "ValidationErrors": [{"Message"}]}]}``; a refused element of a
``summarizeErrors=false`` answer carries ``HasErrors`` and its own ``ValidationErrors``. Other
statuses carry little we rely on: 401 (token), 403 (tenant not connected or no
``xero-tenant-id``), 404, 429 (``Retry-After`` and ``X-Rate-Limit-Problem``), 5xx.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.transport import parse_retry_after

# ACCREC numbers are unique: "Invoice # must be unique." [S]; contact names likewise [S].
_DUPLICATE_WORDS = ("must be unique", "already exists", "already assigned")
# Xero staff name the daily problem "day"; some clients report "Daily" (apis.md 3.4).
_DAILY_PROBLEMS = ("day", "daily")


class XeroError(ConnectorError):
    """Any failure talking to Xero."""


class XeroAuthError(XeroError):
    """Refresh token, app credentials or tenant refused: configuration, fail the run."""

    def __init__(self, message: str, status_code: int | None = None, vendor_code: str | None = None) -> None:
        super().__init__(message, kind=ErrorKind.AUTH, status_code=status_code, vendor_code=vendor_code)


class XeroDailyLimitError(XeroError):
    """The tenant's 5,000 calls of the day are spent (apis.md 3.4).

    RATE_LIMITED with Xero's Retry-After, which can be many hours: the transport must not wait
    it out, so this error is not retryable here. The run ends cleanly and defers the rest.
    """

    def __init__(self, message: str, retry_after: float | None, status_code: int | None = 429) -> None:
        super().__init__(
            message,
            kind=ErrorKind.RATE_LIMITED,
            status_code=status_code,
            vendor_code="day",
            retry_after=retry_after,
        )

    @property
    def retryable(self) -> bool:
        return False


def validation_messages(body: Any) -> list[str]:
    """Every ``ValidationErrors[].Message`` of a body or an element, else its ``Message``."""
    if not isinstance(body, Mapping):
        return []
    sources = [body, *(e for e in body.get("Elements") or [] if isinstance(e, Mapping))]
    messages = [
        str(error.get("Message"))
        for source in sources
        for error in source.get("ValidationErrors") or []
        if isinstance(error, Mapping) and error.get("Message")
    ]
    if not messages and body.get("Message"):
        messages.append(str(body["Message"]))
    if not messages and body.get("Detail"):
        messages.append(str(body["Detail"]))
    return messages


def _vendor_code(body: Any) -> str | None:
    if isinstance(body, Mapping):
        for key in ("Type", "ErrorNumber", "Title"):
            if body.get(key) is not None:
                return str(body[key])
    return None


def element_error(element: Mapping[str, Any], label: str) -> XeroError:
    """A refused element of a batch: DUPLICATE for a number already used, else BAD_REQUEST."""
    messages = validation_messages(element) or ["refused without a message"]
    text = f"Xero refused {label}: {'; '.join(messages)}"
    duplicate = any(word in m.lower() for m in messages for word in _DUPLICATE_WORDS)
    kind = ErrorKind.DUPLICATE if duplicate else ErrorKind.BAD_REQUEST
    return XeroError(text, kind=kind, status_code=200, vendor_code="ValidationException")


def xero_error(response: httpx.Response, body: Any) -> XeroError:
    """Classify one failed Xero response."""
    status = response.status_code
    code = _vendor_code(body)
    messages = validation_messages(body)
    text = f"Xero answered {status}: {'; '.join(messages) or response.reason_phrase}"
    if status == 429:
        problem = response.headers.get("X-Rate-Limit-Problem", "").strip().lower()
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if problem in _DAILY_PROBLEMS:
            return XeroDailyLimitError(f"{text} (the day's calls are spent)", retry_after)
        return XeroError(
            f"{text} ({problem or 'limit'})",
            kind=ErrorKind.RATE_LIMITED,
            status_code=status,
            vendor_code=problem or None,
            retry_after=retry_after,
        )
    if status in (401, 403):  # a bad token survives one refresh only when configuration is wrong
        return XeroAuthError(text, status, code)
    if status == 404:
        return XeroError(text, kind=ErrorKind.NOT_FOUND, status_code=status, vendor_code=code)
    if status >= 500:
        return XeroError(text, kind=ErrorKind.RETRY, status_code=status, vendor_code=code)
    if any(word in m.lower() for m in messages for word in _DUPLICATE_WORDS):
        return XeroError(text, kind=ErrorKind.DUPLICATE, status_code=status, vendor_code=code)
    return XeroError(text, kind=ErrorKind.BAD_REQUEST, status_code=status, vendor_code=code)
