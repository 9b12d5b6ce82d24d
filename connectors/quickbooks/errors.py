"""QuickBooks Online's error table: HTTP status and Fault codes mapped onto our error kinds.

A Fault is ``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type"}}`` with
``code`` a string (apis.md 2.6); some answers spell it ``fault``/``error`` in lower case [S],
which is read too. The throttle answer is XML even when JSON was asked for (apis.md 2.4), and
came with HTTP 403 before 429: its text is matched, whatever the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.transport import parse_retry_after


class QuickBooksError(ConnectorError):
    """Any failure talking to QuickBooks Online."""


class QuickBooksAuthError(QuickBooksError):
    """Client, refresh token or realm rejected: a configuration problem, fail the run."""

    def __init__(self, message: str, status_code: int | None = None, vendor_code: str | None = None) -> None:
        super().__init__(message, kind=ErrorKind.AUTH, status_code=status_code, vendor_code=vendor_code)


# apis.md 2.5: 6140 Duplicate Doc Num (also matched by its message: an Intuit blog gives 6210),
# 6240 Duplicate Name Exists, 610 Object Not Found, 120 Authorization Failure, 3200 bad token.
_DUPLICATE_CODES = frozenset({"6140", "6240"})
_DUPLICATE_WORDS = ("duplicate document number", "duplicate name exists", "duplicate doc num")
_NOT_FOUND_CODES = frozenset({"610"})
_AUTH_CODES = frozenset({"100", "120", "3100", "3200"})
_AUTH_TYPES = frozenset({"authentication", "authenticationfault", "authorization", "authorizationfault"})
_THROTTLE_WORDS = ("throttleexceeded", "errorcode=003001")


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in mapping:
            return mapping[key]
    return None


def fault_of(body: Any) -> Mapping[str, Any] | None:
    """The Fault object of an answer body, in either spelling."""
    if not isinstance(body, Mapping):
        return None
    fault = _first(body, "Fault", "fault")
    return fault if isinstance(fault, Mapping) else None


def fault_error(fault: Mapping[str, Any], *, status: int | None = None, context: str = "") -> QuickBooksError:
    """Classify one Fault (a whole answer's, or one batch item's)."""
    errors = _first(fault, "Error", "error")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) else {}
    code = str(_first(first, "code") or "") or None
    message = str(_first(first, "Message", "message") or "")
    detail = str(_first(first, "Detail", "detail") or "")
    fault_type = str(_first(fault, "type") or "")
    where = f" {context}" if context else ""
    text = f"QuickBooks refused{where}: {fault_type} {code or '-'} {message}".rstrip()
    if detail and detail != message:
        text = f"{text}: {detail}"
    lowered = f"{message} {detail}".lower()
    kind = ErrorKind.BAD_REQUEST
    if any(word in lowered for word in _THROTTLE_WORDS) or code in ("3001", "003001"):
        kind = ErrorKind.RATE_LIMITED
    elif code in _AUTH_CODES or fault_type.lower() in _AUTH_TYPES:
        kind = ErrorKind.AUTH
    elif code in _DUPLICATE_CODES or any(word in lowered for word in _DUPLICATE_WORDS):
        kind = ErrorKind.DUPLICATE
    elif code in _NOT_FOUND_CODES:
        kind = ErrorKind.NOT_FOUND
    elif fault_type.lower() == "systemfault":
        kind = ErrorKind.RETRY
    return QuickBooksError(text, kind=kind, status_code=status, vendor_code=code)


def quickbooks_error(response: httpx.Response, body: Any) -> QuickBooksError:
    """The error table the transport uses for every non-2xx answer."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    text = response.text.lower() if body is None else ""
    if status == 429 or any(word in text for word in _THROTTLE_WORDS):
        # Intuit documents no Retry-After (apis.md 2.4, [U]); the transport waits 1 s without one.
        return QuickBooksError(
            f"QuickBooks throttled the request (HTTP {status})",
            kind=ErrorKind.RATE_LIMITED,
            status_code=status,
            vendor_code="3001",
            retry_after=retry_after,
        )
    fault = fault_of(body)
    if status in (401, 403):
        error = fault_error(fault, status=status) if fault is not None else None
        return QuickBooksAuthError(
            error.message if error else f"QuickBooks answered {status}: not authorised",
            status,
            error.vendor_code if error else None,
        )
    if status == 404:  # objects that do not exist are 400/610; a 404 is a wrong URL or realm
        return QuickBooksAuthError(f"QuickBooks answered 404 for {response.request.url.path}", status)
    if status >= 500:
        kind = ErrorKind.RETRY
        message = fault_error(fault).message if fault is not None else response.reason_phrase
        return QuickBooksError(f"QuickBooks answered {status}: {message}", kind=kind, status_code=status)
    if fault is not None:
        return fault_error(fault, status=status)
    return QuickBooksError(
        f"QuickBooks answered {status} {response.reason_phrase}",
        kind=ErrorKind.BAD_REQUEST,
        status_code=status,
    )
