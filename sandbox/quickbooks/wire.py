"""QuickBooks Online wire pieces (apis.md 2.1-2.6): Fault bodies, the throttle XML, times, JSON.

Where the API reference marks a fact [U] (unverified), the choice made here is marked [U] too:
plausible, but tests and connectors must not treat it as ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from starlette.responses import Response

from sandbox.faults import RejectKind
from sandbox.zoho.common import money, wire_json

JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml"

# Error codes a simulator should emit (apis.md 2.5). `code` travels as a string.
CODE_AUTHORIZATION = "120"  # [V] Authorization Failure: the token is not for this realm (HTTP 401)
CODE_AUTHENTICATION = "3200"  # [V] bad or expired access token (HTTP 401)
CODE_THROTTLE = "3001"  # [S] ThrottleExceeded (HTTP 429, XML body)
CODE_NOT_FOUND = "610"  # [V] Object Not Found
CODE_INVALID_REFERENCE = "2500"  # [V] Invalid Reference Id
CODE_BUSINESS_VALIDATION = "6000"  # [V] business validation error
CODE_DUPLICATE_DOC_NUMBER = "6140"  # [V] Duplicate Doc Num (when the company warns on duplicates)
CODE_DUPLICATE_NAME = "6240"  # [V] Duplicate Name Exists
CODE_REQUIRED = "2020"  # [U] Required param missing
CODE_INVALID_STRING = "2050"  # [U] string too long (DocNumber is at most 21 characters [S])
CODE_QUERY_PARSER = "4000"  # [U] Error parsing query
CODE_SYSTEM = "10000"  # [U] An application error has occurred (HTTP 500)
CODE_UNSUPPORTED = "500"  # [U] operation the simulator does not implement

DOC_NUMBER_MAX = 21  # [S] QBO's DocNumber field holds 21 characters


def qbo_time(value: datetime, tz: ZoneInfo) -> str:
    """QBO's timestamp style: ``2026-11-22T10:08:51-08:00``, whole seconds, in the company zone."""
    return value.astimezone(tz).replace(microsecond=0).isoformat()


def response_time(value: datetime, tz: ZoneInfo) -> str:
    """The ``time`` beside every answer carries milliseconds: ``2026-11-22T10:08:51.123-08:00``."""
    return value.astimezone(tz).isoformat(timespec="milliseconds")


def parse_qbo_time(text: str, tz: ZoneInfo) -> datetime:
    """A timestamp or a bare date (midnight in the company's zone) as an aware UTC instant."""
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def amount(value: object) -> Decimal:
    """A JSON number (parsed as Decimal) or numeric text, rounded to cents half up; else ValueError."""
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return money(number)


def number(value: object) -> Decimal:
    """An exact number (quantities, rates) without rounding; ValueError when it is not one."""
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    try:
        parsed = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number") from exc
    if not parsed.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return parsed


def as_date(value: object, element: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise validation_fault(
            CODE_BUSINESS_VALIDATION, "Invalid date", f"{element}: use yyyy-mm-dd", element
        ) from exc


class QboResponse(Response):
    """JSON rendered exactly (Decimal as number), as ``application/json;charset=UTF-8``."""

    media_type = JSON_TYPE

    def render(self, content: Any) -> bytes:
        return wire_json(content).encode("utf-8")


@dataclass(frozen=True)
class ErrorItem:
    code: str
    message: str
    detail: str = ""
    element: str = ""

    def render(self) -> dict[str, str]:
        return {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}


class QboFault(Exception):
    """A QBO failure: HTTP status and ``{"Fault": {"Error": [...], "type": ...}, "time": ...}``."""

    def __init__(self, status: int, fault_type: str, errors: list[ErrorItem]) -> None:
        super().__init__(f"HTTP {status} {fault_type}: {'; '.join(e.message for e in errors)}")
        self.status = status
        self.fault_type = fault_type
        self.errors = errors

    def fault(self) -> dict[str, object]:
        """The ``Fault`` object, as it also appears inside a BatchItemResponse."""
        return {"Error": [e.render() for e in self.errors], "type": self.fault_type}

    def response(self, time_text: str) -> QboResponse:
        return QboResponse({"Fault": self.fault(), "time": time_text}, status_code=self.status)


def validation_fault(code: str, message: str, detail: str = "", element: str = "") -> QboFault:
    """HTTP 400 ValidationFault (apis.md 2.6): bad data, quarantine it."""
    return QboFault(400, "ValidationFault", [ErrorItem(code, message, detail, element)])


def invalid_reference(entity: str, ref: object, element: str) -> QboFault:
    """2500 for a Ref to something that does not exist; the Detail wording is [U]."""
    return validation_fault(
        CODE_INVALID_REFERENCE,
        "Invalid Reference Id",
        f"Invalid Reference Id : {entity} assigned to this transaction does not exist: {ref}",
        element,
    )


def not_found(entity: str, entity_id: str) -> QboFault:
    return validation_fault(
        CODE_NOT_FOUND,
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive or deleted. "
        f"{entity} Id={entity_id}",
    )


def authentication_fault() -> QboFault:
    """A missing, wrong or expired access token: HTTP 401, code 3200 [V]; the texts are [S]."""
    return QboFault(
        401,
        "AUTHENTICATION",
        [
            ErrorItem(
                CODE_AUTHENTICATION,
                "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "Authentication Failed",
            )
        ],
    )


def authorization_fault() -> QboFault:
    """A valid token used for another realm: 120 Authorization Failure, HTTP 401 (apis.md 2.5)."""
    return QboFault(
        401,
        "AuthorizationFault",
        [ErrorItem(CODE_AUTHORIZATION, "Authorization Failure", "Authorization Failure : realm mismatch")],
    )


def query_fault(detail: str) -> QboFault:
    return validation_fault(CODE_QUERY_PARSER, "Error parsing query", f"QueryParserError: {detail}")


def throttle_xml(time_text: str) -> bytes:
    """The throttle answer: XML even when JSON was asked for (apis.md 2.4, python-quickbooks#43)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse time="{escape(time_text)}" xmlns="http://schema.intuit.com/finance/v3">'
        f'<Fault type="SERVICE"><Error code="{CODE_THROTTLE}">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    ).encode()


def render_fault_error(kind: RejectKind) -> tuple[bytes, str]:
    """Bodies of the failures the FaultInjector answers with (its 429s and 500s).

    Every 429 (per-minute budget, concurrency) gets the throttle XML. The injector also sends a
    ``Retry-After`` header, which Intuit does not document (apis.md 2.4, [U]). A 500 is a JSON
    SystemFault [U: code and wording].
    """
    now = response_time(datetime.now(UTC), ZoneInfo("UTC"))
    if kind == "server_error":
        fault = QboFault(
            500,
            "SystemFault",
            [
                ErrorItem(
                    CODE_SYSTEM,
                    "An application error has occurred while processing your request",
                    "System Failure Error: An unexpected error occurred while accessing or saving "
                    "your data. Please wait a few minutes and try again.",
                )
            ],
        )
        return wire_json({"Fault": fault.fault(), "time": now}).encode(), JSON_TYPE
    return throttle_xml(now), XML_TYPE
