"""Zoho's error table: HTTP status and body ``code`` mapped onto our error kinds."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.transport import parse_retry_after


class ZohoError(ConnectorError):
    """Any failure talking to Zoho."""


class ZohoAuthError(ZohoError):
    """Refresh token, client or organisation rejected: a configuration problem, fail the run."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message, kind=ErrorKind.AUTH, status_code=status_code)


# Zoho does not document a code for "number already exists" (see shared reference, [U]);
# its messages say so in words, which is what this matches.
_ORGANISATION_CODES = ("6", "6041")  # [U] wrong or foreign organization_id

_DUPLICATE_WORDS = ("already exists", "already been", "duplicate")


def zoho_error(response: httpx.Response, body: Any) -> ZohoError:
    """Classify one failed Zoho response."""
    status = response.status_code
    code = str(body.get("code")) if isinstance(body, dict) and "code" in body else None
    message = (
        str(body.get("message")) if isinstance(body, dict) and body.get("message") else response.reason_phrase
    )
    text = f"Zoho answered {status}: {message}"
    if status == 429:
        return ZohoError(
            text,
            kind=ErrorKind.RATE_LIMITED,
            status_code=status,
            vendor_code=code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status == 401 or code == "57":
        return ZohoError(text, kind=ErrorKind.AUTH, status_code=status, vendor_code=code)
    if "organization_id" in message or code in _ORGANISATION_CODES:  # configuration, not data
        return ZohoError(text, kind=ErrorKind.AUTH, status_code=status, vendor_code=code)
    if status == 404:
        return ZohoError(text, kind=ErrorKind.NOT_FOUND, status_code=status, vendor_code=code)
    if status >= 500:
        return ZohoError(text, kind=ErrorKind.RETRY, status_code=status, vendor_code=code)
    if any(word in message.lower() for word in _DUPLICATE_WORDS):
        return ZohoError(text, kind=ErrorKind.DUPLICATE, status_code=status, vendor_code=code)
    return ZohoError(text, kind=ErrorKind.BAD_REQUEST, status_code=status, vendor_code=code)
