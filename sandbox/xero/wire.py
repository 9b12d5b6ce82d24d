"""Xero's wire pieces (apis.md 3.1, 3.6): MS-JSON dates, amounts, the envelope and error bodies.

Where apis.md marks a fact [U] or is silent, the choice made here is marked [U] too: tests and
connectors must not treat it as Xero's behaviour.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.faults import RejectKind
from sandbox.zoho.common import wire_json

PROVIDER_NAME = "Dealer Sync Sandbox"
ZERO_ID = "00000000-0000-0000-0000-000000000000"  # the id of an element that failed (apis.md 3.6)
CENT = Decimal("0.01")
QUANTITY_PLACES = Decimal("0.0001")  # Xero renders quantities with four places ("4.0000")
_MS_JSON = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- dates --------------------------------------------------------------------------------------


def ms_json(value: datetime | date) -> str:
    """``/Date(1763769600000+0000)/``: a date is midnight UTC, an instant its UTC milliseconds."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    millis = (value.astimezone(UTC) - _EPOCH) // timedelta(milliseconds=1)
    return f"/Date({millis}+0000)/"


def date_string(value: date) -> str:
    """The ``DateString`` beside a ``Date``: ``2026-11-22T00:00:00`` (apis.md 3.1)."""
    return f"{value.isoformat()}T00:00:00"


def parse_request_date(value: object, field_name: str) -> date:
    """Requests may send ``2019-03-11``, ``2019-03-11T00:00:00`` or MS-JSON (apis.md 3.1)."""
    text = str(value or "").strip()
    match = _MS_JSON.match(text)
    try:
        if match:
            return (_EPOCH + timedelta(milliseconds=int(match.group(1)))).date()
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ValidationError(f"{field_name} is not a valid date") from exc


def parse_modified_since(value: str) -> datetime:
    """``If-Modified-Since: 2026-11-21T00:00:00`` is UTC without an offset (apis.md 3.3).

    An offset or an HTTP date are accepted too [U: what else Xero accepts].
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        parsed = parsedate_to_datetime(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# -- numbers ------------------------------------------------------------------------------------


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def quantity_out(value: Decimal) -> Decimal:
    return value.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def to_decimal(value: object, field_name: str) -> Decimal:
    """JSON numbers (parsed as Decimal) and numeric strings; anything else is a validation error."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"{field_name} must be a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValidationError(f"{field_name} must be a number") from exc
    if not number.is_finite():
        raise ValidationError(f"{field_name} must be a number")
    return number


# -- responses ----------------------------------------------------------------------------------


class XeroResponse(Response):
    """JSON with Decimals written exactly (``1450.00``), as Xero's amounts read."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return wire_json(content).encode("utf-8")


def envelope_body(now: datetime, **resources: object) -> dict[str, object]:
    """Xero's success wrapper: ``{"Id", "Status": "OK", "ProviderName", "DateTimeUTC", ...}``."""
    return {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": ms_json(now).replace("+0000", ""),  # the spec's example has no offset here
        **resources,
    }


def envelope(now: datetime, status_code: int = 200, **resources: object) -> XeroResponse:
    return XeroResponse(envelope_body(now, **resources), status_code)


class ValidationError(Exception):
    """One element refused: its messages become ``ValidationErrors[].Message`` (apis.md 3.6)."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


class ApiError(Exception):
    """A whole request refused, with Xero's body for it."""

    def __init__(self, status: int, body: Mapping[str, object]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = dict(body)

    def response(self) -> XeroResponse:
        return XeroResponse(self.body, self.status)


def validation_exception(elements: list[dict[str, object]] | None = None, *messages: str) -> ApiError:
    """The 400 of apis.md 3.6: ErrorNumber 10, ``Elements[]`` with their ValidationErrors [V]."""
    body: dict[str, object] = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
    }
    if elements is not None:
        body["Elements"] = elements
    if messages:
        body["Elements"] = [*(elements or []), {"ValidationErrors": [{"Message": m} for m in messages]}]
    return ApiError(400, body)


def post_data_invalid(message: str) -> ApiError:
    """A body that is not JSON of the expected shape [U: ErrorNumber 14 from client code]."""
    return ApiError(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message})


def problem(status: int, title: str, detail: str) -> ApiError:
    """The problem-details body Xero sends for 401/403/404/429/5xx [U: shape from client code]."""
    return ApiError(
        status,
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        },
    )


def render_fault_error(kind: RejectKind) -> tuple[bytes, str]:
    """Bodies of injected failures; the headers that matter (Retry-After, X-Rate-Limit-Problem)
    come from the limits layer [U: Xero's 429 and 5xx bodies]."""
    titles = {
        "server_error": (500, "Internal Server Error", "An error occurred in Xero."),
        "rate_limit": (429, "Too Many Requests", "Rate limit exceeded: minute"),
        "daily_limit": (429, "Too Many Requests", "Rate limit exceeded: day"),
        "concurrency": (429, "Too Many Requests", "Rate limit exceeded: concurrent"),
    }
    status, title, detail = titles[kind]
    body = problem(status, title, detail).body
    return wire_json(body).encode("utf-8"), XeroResponse.media_type


async def read_json(request: Request) -> Any:
    """The request's JSON (numbers with a fraction as Decimal), or PostDataInvalidException."""
    raw = await request.body()
    if not raw.strip():
        raise post_data_invalid("The request body is empty")
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise post_data_invalid("Invalid Json data") from exc


def elements_of(body: Any, collection: str) -> list[dict[str, Any]]:
    """``{"Invoices": [...]}``, or one bare object (Xero takes both) [S]."""
    if isinstance(body, dict) and collection in body:
        rows = body[collection]
    elif isinstance(body, dict):
        rows = [body]
    else:
        rows = body
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise post_data_invalid(f"Expected {collection} as a list of objects")
    return rows
