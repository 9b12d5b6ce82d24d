"""Shared Zoho wire pieces (apis.md 1.1-1.9): envelope, errors, paging, auth, clock, GST, admin."""

# Where the API reference marks a fact [U] (unverified), the choice made here is marked [U] too:
# plausible, but tests and connectors must not treat it as ground truth.

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar, Protocol, TypeVar
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Scope

from sandbox.faults import FaultConfig, FaultInjector, RejectKind, admin_faults_change, duplicate_requested

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]

# -- error codes ------------------------------------------------------------------------------
# HTTP statuses are [V] (Zoho's error page); most body codes are not documented per case.
CODE_OK = 0
CODE_INVALID_VALUE = 2  # [U] "Invalid value passed for <field>"
CODE_INVALID_JSON = 4  # [U] body is not valid JSON / JSONString
CODE_INVALID_URL = 5  # [U] "Invalid URL Passed" (HTTP 404)
CODE_INVALID_ORG = 6  # [U] organization_id missing or not this organisation's (HTTP 400)
CODE_METHOD_NOT_ALLOWED = 37  # [U] (HTTP 405)
CODE_RATE_LIMIT = 44  # [U] per-minute or concurrency limit (HTTP 429)
CODE_DAILY_LIMIT = 45  # [U] daily limit (HTTP 429)
CODE_NOT_AUTHORISED = 57  # [S] missing, invalid or expired access token (HTTP 401)
CODE_INTERNAL = 1000  # [V] "Internal error" (HTTP 500)
CODE_ALREADY_EXISTS = 1001  # [U] own document number already used (HTTP 400)
CODE_DOES_NOT_EXIST = 1002  # [V] "<X> does not exist." (HTTP 404 on paths, 400 in bodies [U])
CODE_INVALID_STATE = 1003  # [U] transition not allowed in the document's status (HTTP 400)
CODE_CONTACT_EXISTS = 3062  # [U] contact_name already used (HTTP 400)

NOT_AUTHORISED_MESSAGE = "You are not authorized to perform this operation"


class ZohoError(Exception):
    """A Zoho-shaped failure: HTTP status plus ``{"code": n, "message": ...}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"HTTP {status} code {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> Response:
        return WireResponse({"code": self.code, "message": self.message}, status_code=self.status)


def invalid_value(field_name: str, detail: str = "") -> ZohoError:
    message = f"Invalid value passed for {field_name}"
    return ZohoError(400, CODE_INVALID_VALUE, f"{message}. {detail}" if detail else message)


def does_not_exist(label: str, *, status: int = 404) -> ZohoError:
    return ZohoError(status, CODE_DOES_NOT_EXIST, f"{label} does not exist.")


def invalid_state(message: str) -> ZohoError:
    return ZohoError(400, CODE_INVALID_STATE, message)


# -- wire JSON ----------------------------------------------------------------------------------


def wire_json(value: object) -> str:
    """JSON where a Decimal is written as a number with its own exponent (money: 2 places).

    The stdlib encoder turns Decimal into float or refuses it; Zoho sends ``1450.00``-style
    numbers, and clients parsing with ``parse_float=Decimal`` must get the exact amount back.
    """
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def _encode(value: object, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append(json.dumps(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as JSON")
        out.append(format(abs(value) if value == 0 else value, "f"))
    elif isinstance(value, int | float):
        out.append(json.dumps(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, datetime):
        raise TypeError("render datetimes with format_time() in the organisation's timezone")
    elif isinstance(value, date):
        out.append(f'"{value.isoformat()}"')
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


class WireResponse(Response):
    """JSON rendered with ``wire_json``; Zoho sends ``application/json;charset=UTF-8``."""

    media_type = "application/json;charset=UTF-8"

    def render(self, content: Any) -> bytes:
        return wire_json(content).encode("utf-8")


def envelope(message: str = "success", *, status: int = 200, **resources: object) -> WireResponse:
    """Zoho's success envelope: ``{"code": 0, "message": ..., <resource>: ...}``."""
    return WireResponse({"code": CODE_OK, "message": message, **resources}, status_code=status)


# -- numbers ------------------------------------------------------------------------------------

CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> Decimal:
    """Round to 2 places, half up (Zoho rounds tax per line this way)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def quantity(value: Decimal) -> Decimal:
    """Integral quantities render as ``4``, others keep their digits (``2.5``)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def stock_text(value: Decimal) -> str:
    return format(quantity(value), "f")


def to_decimal(value: object, field_name: str) -> Decimal:
    """Accept JSON numbers (parsed as Decimal) and numeric strings, as Zoho does."""
    if isinstance(value, bool) or value is None:
        raise invalid_value(field_name)
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise invalid_value(field_name) from exc
    if not number.is_finite():
        raise invalid_value(field_name)
    return number


# -- clock and timestamps -----------------------------------------------------------------------


class SimClock:
    """The simulators' "now": real time by default; tests and demos can pin it and move it.

    Business time (timestamps, due dates, token expiry) reads this clock. Rate-limit budgets do
    not: they run on the real monotonic clock so that ``Retry-After`` means real seconds.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._base = _aware(start) if start is not None else datetime.now(UTC)
        self._anchor = time.monotonic()
        self._frozen = frozen

    def now(self) -> datetime:
        """Current simulated time, UTC, whole seconds (what Zoho renders is what is stored)."""
        with self._lock:
            current = self._base
            if not self._frozen:
                current += timedelta(seconds=time.monotonic() - self._anchor)
        return current.replace(microsecond=0)

    def today(self, tz: ZoneInfo) -> date:
        return self.now().astimezone(tz).date()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def set(self, when: datetime, *, frozen: bool | None = None) -> None:
        with self._lock:
            self._base = _aware(when)
            self._anchor = time.monotonic()
            if frozen is not None:
                self._frozen = frozen

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._base += timedelta(seconds=seconds)

    def freeze(self) -> None:
        self.set(self.now(), frozen=True)

    def unfreeze(self) -> None:
        self.set(self.now(), frozen=False)

    def snapshot(self) -> dict[str, object]:
        return {"now": self.now().isoformat(), "frozen": self.frozen}


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("the simulated clock needs a timezone-aware datetime")
    return value.astimezone(UTC)


def format_time(value: datetime, tz: ZoneInfo) -> str:
    """Zoho's timestamp style: ``2026-11-22T10:15:02+0530`` in the organisation's timezone."""
    return value.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S%z")


def parse_time(text: str, tz: ZoneInfo, field_name: str) -> datetime:
    """Parse ``yyyy-MM-ddTHH:mm:ssZ`` where Z is ``+0530``, ``+05:30`` or ``Z``; naive = org tz.

    A ``+`` that was not URL-encoded arrives as a space and is rejected, as the real API would
    misread it (apis.md 1.8 says to encode it as %2B).
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise invalid_value(field_name) from exc
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def parse_date(value: object, field_name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise invalid_value(field_name, "Use yyyy-mm-dd.") from exc


class IdSequence:
    """Numeric-looking string IDs (the real API sends IDs as strings, apis.md)."""

    def __init__(self, base: int) -> None:
        self._base = base
        self._next = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._next += 1
            return str(self._base + self._next)

    def reset(self) -> None:
        with self._lock:
            self._next = 0


# -- OAuth tokens -------------------------------------------------------------------------------


class TokenError(Exception):
    """A token request the accounts server refuses (rendered as ``{"error": ...}``)."""

    def __init__(self, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.description = description


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    refresh_tokens: set[str] = field(default_factory=set)


@dataclass
class AccessToken:
    access_token: str
    client_id: str
    refresh_token: str
    issued_at: datetime
    expires_at: datetime


class TokenRegistry:
    """Clients, refresh tokens and issued access tokens, shared by the accounts and API sims."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, OAuthClient] = {}
        self._tokens: dict[str, AccessToken] = {}
        self._issues: dict[str, list[float]] = {}
        self._issued_total = 0

    def register_client(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        with self._lock:
            client = self._clients.setdefault(client_id, OAuthClient(client_id, client_secret))
            client.client_secret = client_secret
            client.refresh_tokens.add(refresh_token)

    def issue(
        self,
        *,
        refresh_token: str,
        client_id: str,
        client_secret: str,
        ttl_seconds: int,
        cap: int,
        cap_window_seconds: float,
    ) -> AccessToken:
        """Mint an access token, or raise TokenError (bad client/refresh token, or the cap)."""
        with self._lock:
            client = self._clients.get(client_id)
            if (
                client is None
                or not secrets.compare_digest(client.client_secret, client_secret)
                or refresh_token not in client.refresh_tokens
            ):
                # apis.md: a bad refresh token answers {"error": "invalid_code"}. The real server
                # may say "invalid_client" for a wrong client id/secret [U]; one code kept here.
                raise TokenError("invalid_code")
            now = time.monotonic()
            recent = [t for t in self._issues.get(refresh_token, []) if now - t < cap_window_seconds]
            if len(recent) >= cap:
                self._issues[refresh_token] = recent
                raise TokenError(
                    "Access Denied",
                    "You have made too many requests continuously. Please try again after some time.",
                )
            recent.append(now)
            self._issues[refresh_token] = recent
            issued_at = self._clock.now()
            token = AccessToken(
                access_token=f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}",
                client_id=client_id,
                refresh_token=refresh_token,
                issued_at=issued_at,
                expires_at=issued_at + timedelta(seconds=ttl_seconds),
            )
            self._tokens[token.access_token] = token
            self._issued_total += 1
            return token

    def is_valid(self, access_token: str) -> bool:
        now = self._clock.now()
        with self._lock:
            token = self._tokens.get(access_token)
            return token is not None and now < token.expires_at

    def expire_all(self) -> int:
        """Make every issued access token expired now, so a test can force a 401."""
        past = self._clock.now() - timedelta(seconds=1)
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, past)
            return len(self._tokens)

    def issued_count(self, refresh_token: str | None = None) -> int:
        with self._lock:
            if refresh_token is None:
                return self._issued_total
            return sum(1 for t in self._tokens.values() if t.refresh_token == refresh_token)

    def reset(self) -> None:
        with self._lock:
            self._clients.clear()
            self._tokens.clear()
            self._issues.clear()
            self._issued_total = 0

    def snapshot(self) -> dict[str, object]:
        now = self._clock.now()
        with self._lock:
            return {
                "clients": sorted(self._clients),
                "issued": self._issued_total,
                "active": sum(1 for t in self._tokens.values() if now < t.expires_at),
            }

    def require(self, authorization: str | None) -> None:
        """Check ``Authorization: Zoho-oauthtoken <token>``; anything else is a 401, code 57."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "zoho-oauthtoken" or not self.is_valid(token.strip()):
            raise ZohoError(401, CODE_NOT_AUTHORISED, NOT_AUTHORISED_MESSAGE)


# -- organisation -------------------------------------------------------------------------------


@dataclass
class Organization:
    """The one organisation a simulator serves; its state decides intra- vs inter-state GST."""

    organization_id: str = "10234695"
    name: str = "Dealer Network Sandbox"
    state_code: str = "MH"
    time_zone: str = "Asia/Kolkata"
    currency_code: str = "INR"
    currency_symbol: str = "Rs."
    country: str = "India"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def check(self, organization_id: str | None) -> None:
        if organization_id != self.organization_id:
            raise ZohoError(400, CODE_INVALID_ORG, "Invalid value passed for organization_id")

    def render(self) -> dict[str, object]:
        return {
            "organization_id": self.organization_id,
            "name": self.name,
            "is_default_org": True,
            "time_zone": self.time_zone,
            "language_code": "en",
            "currency_code": self.currency_code,
            "currency_symbol": self.currency_symbol,
            "country": self.country,
            "state_code": self.state_code,
        }


# -- request parsing ----------------------------------------------------------------------------


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON body (numbers as Decimal), or the older ``JSONString=`` form field."""
    raw = await request.body()
    if not raw.strip():
        return {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        values = parse_qs(raw.decode("utf-8")).get("JSONString")
        raw = values[0].encode() if values else b""
    try:
        body = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ZohoError(400, CODE_INVALID_JSON, "Invalid value passed for JSONString") from exc
    if not isinstance(body, dict):
        raise ZohoError(400, CODE_INVALID_JSON, "Invalid value passed for JSONString")
    return body


def flag(params: QueryParams, name: str) -> bool:
    return params.get(name, "").strip().lower() == "true"


def id_list(params: QueryParams, name: str) -> list[str]:
    return [part.strip() for part in params.get(name, "").split(",") if part.strip()]


def text_matches(params: QueryParams, name: str, value: str) -> bool:
    """Zoho's search variants: ``name`` (exact), ``name_startswith``, ``name_contains``."""
    exact = params.get(name)
    if exact is not None and value != exact:
        return False
    prefix = params.get(f"{name}_startswith")
    if prefix is not None and not value.lower().startswith(prefix.lower()):
        return False
    part = params.get(f"{name}_contains")
    return part is None or part.lower() in value.lower()


def modified_after(params: QueryParams, tz: ZoneInfo) -> datetime | None:
    """``last_modified_time``: records modified strictly after it [U: strict vs inclusive]."""
    text = params.get("last_modified_time")
    return None if text is None else parse_time(text, tz, "last_modified_time")


def _int_param(params: QueryParams, name: str, default: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise invalid_value(name) from exc
    if value < 1:
        raise invalid_value(name)
    return value


MAX_PER_PAGE = 200


def _id_key(record_id: str) -> tuple[int, int, str]:
    """Numeric IDs in numeric order; a seeded non-numeric ID sorts after them, by text."""
    return (0, int(record_id), "") if record_id.isdigit() else (1, 0, record_id)


def paginate(
    params: QueryParams,
    records: Sequence[T],
    *,
    report_name: str,
    columns: Mapping[str, Callable[[T], Any]],
    default_column: str,
    id_of: Callable[[T], str],
    default_order: str = "D",
    applied_filter: str = "Status.All",
) -> tuple[list[T], dict[str, object]]:
    """Sort, then cut one page; ``page_context`` as in apis.md 1.3 (per_page default/max 200).

    Ties are broken by ID so pages never overlap or skip a record while nothing changes.
    A ``per_page`` above 200 is clamped to 200 [U: the real API may refuse it].
    """
    page = _int_param(params, "page", 1)
    per_page = min(_int_param(params, "per_page", MAX_PER_PAGE), MAX_PER_PAGE)
    column = params.get("sort_column", default_column)
    if column not in columns:
        raise invalid_value("sort_column")
    order = params.get("sort_order", default_order).upper()
    if order not in ("A", "D"):
        raise invalid_value("sort_order")
    key = columns[column]
    ordered = sorted(records, key=lambda r: (key(r), _id_key(id_of(r))), reverse=order == "D")
    start = (page - 1) * per_page
    context: dict[str, object] = {
        "page": page,
        "per_page": per_page,
        "has_more_page": len(ordered) > start + per_page,
        "report_name": report_name,
        "applied_filter": applied_filter,
        "sort_column": column,
        "sort_order": order,
    }
    return list(ordered[start : start + per_page]), context


# -- GST ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tax:
    """A tax or tax group (apis.md 1.9); ``tax_specification``: intra (CGST+SGST) or inter."""

    tax_id: str
    tax_name: str
    tax_percentage: Decimal
    tax_type: str  # "tax" | "tax_group"
    tax_specific_type: str  # "cgst" | "sgst" | "igst" | "" for groups [U: field values]
    tax_specification: str  # "intra" | "inter" [U: on the tax itself]
    components: tuple[str, ...] = ()

    def render(self, table: TaxTable) -> dict[str, object]:
        body: dict[str, object] = {
            "tax_id": self.tax_id,
            "tax_name": self.tax_name,
            "tax_percentage": quantity(self.tax_percentage),
            "tax_type": self.tax_type,
            "tax_specific_type": self.tax_specific_type,
            "tax_specification": self.tax_specification,
            "status": "active",
        }
        if self.components:
            body["taxes"] = [
                {
                    "tax_id": t.tax_id,
                    "tax_name": t.tax_name,
                    "tax_percentage": quantity(t.tax_percentage),
                }
                for t in table.components(self)
            ]
        return body


GST_RATES = (Decimal(5), Decimal(12), Decimal(18), Decimal(28))


def _gst_taxes() -> list[Tax]:
    """GST5/12/18/28 groups (CGST+SGST halves) and their IGST counterparts, with fixed IDs.

    Fixed IDs let Inventory and Books (which share taxes in a real organisation) agree.
    """
    taxes: list[Tax] = []
    number = 0

    def next_id() -> str:
        nonlocal number
        number += 1
        return str(982000000557000 + number)

    for rate in GST_RATES:
        half = quantity(rate / 2)
        cgst = Tax(next_id(), f"CGST{half}", half, "tax", "cgst", "intra")
        sgst = Tax(next_id(), f"SGST{half}", half, "tax", "sgst", "intra")
        group = Tax(next_id(), f"GST{rate}", rate, "tax_group", "", "intra", (cgst.tax_id, sgst.tax_id))
        igst = Tax(next_id(), f"IGST{rate}", rate, "tax", "igst", "inter")
        taxes.extend([cgst, sgst, group, igst])
    return taxes


class TaxTable:
    """The organisation's taxes; swaps a GST group and its IGST twin by place of supply."""

    def __init__(self, taxes: Iterable[Tax] | None = None) -> None:
        self._taxes = {t.tax_id: t for t in (taxes if taxes is not None else _gst_taxes())}

    def all(self) -> list[Tax]:
        return list(self._taxes.values())

    def get(self, tax_id: str) -> Tax | None:
        return self._taxes.get(tax_id)

    def by_name(self, tax_name: str) -> Tax | None:
        return next((t for t in self._taxes.values() if t.tax_name == tax_name), None)

    def components(self, tax: Tax) -> list[Tax]:
        return [self._taxes[tax_id] for tax_id in tax.components]

    def effective(self, tax: Tax, *, intra: bool) -> Tax:
        """Intra-state: the CGST+SGST group of the same rate; inter-state: IGST [U: swap]."""
        if tax.tax_specific_type in ("cgst", "sgst"):
            return tax
        wanted = "tax_group" if intra else "tax"
        for candidate in self._taxes.values():
            if (
                candidate.tax_percentage == tax.tax_percentage
                and candidate.tax_type == wanted
                and candidate.tax_specification == ("intra" if intra else "inter")
            ):
                return candidate
        return tax

    def gst_pair(self, rate: Decimal) -> tuple[Tax, Tax]:
        """(intra group, inter IGST) for a GST rate, e.g. 18 -> (GST18, IGST18)."""
        for tax in self._taxes.values():
            if tax.tax_type == "tax_group" and tax.tax_percentage == rate:
                return tax, self.effective(tax, intra=False)
        raise ValueError(f"no GST group for {rate}%; simulated rates: {list(GST_RATES)}")


# -- document lines and totals ------------------------------------------------------------------


@dataclass
class ItemRef:
    """What a document line takes from an item when the caller leaves fields out."""

    item_id: str
    name: str
    sku: str
    rate: Decimal
    unit: str
    hsn_or_sac: str
    description: str
    is_taxable: bool
    intra_tax_id: str
    inter_tax_id: str


@dataclass
class LineTax:
    tax_id: str
    tax_name: str
    tax_percentage: Decimal
    tax_amount: Decimal


@dataclass
class DocLine:
    line_item_id: str
    item_id: str
    name: str
    sku: str
    description: str
    rate: Decimal
    quantity: Decimal
    unit: str
    hsn_or_sac: str
    tax_id: str
    tax_name: str
    tax_type: str
    tax_percentage: Decimal
    item_total: Decimal
    line_taxes: list[LineTax]
    location_id: str = ""
    location_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def render(self) -> dict[str, object]:
        body: dict[str, object] = {
            "line_item_id": self.line_item_id,
            "item_id": self.item_id,
            "name": self.name,
            "sku": self.sku,
            "description": self.description,
            "rate": self.rate,
            "quantity": quantity(self.quantity),
            "unit": self.unit,
            "hsn_or_sac": self.hsn_or_sac,
            "tax_id": self.tax_id,
            "tax_name": self.tax_name,
            "tax_type": self.tax_type,
            "tax_percentage": quantity(self.tax_percentage),
            "item_total": self.item_total,
            "line_item_taxes": [
                {"tax_id": t.tax_id, "tax_name": t.tax_name, "tax_amount": t.tax_amount}
                for t in self.line_taxes
            ],
        }
        if self.location_id:
            body["location_id"] = self.location_id
            body["location_name"] = self.location_name
        body.update(self.extra)
        return body


@dataclass
class Totals:
    sub_total: Decimal
    tax_total: Decimal
    total: Decimal
    taxes: list[LineTax]

    def render_taxes(self) -> list[dict[str, object]]:
        return [{"tax_id": t.tax_id, "tax_name": t.tax_name, "tax_amount": t.tax_amount} for t in self.taxes]


# Line fields echoed back when a caller sends them (links between documents).
PASSTHROUGH_LINE_FIELDS = ("salesorder_item_id", "invoice_item_id", "invoice_id", "item_order")


def build_line(
    raw: object,
    *,
    index: int,
    line_item_id: str,
    resolve_item: Callable[[str], ItemRef | None],
    taxes: TaxTable,
    intra: bool,
    require_item: bool,
) -> DocLine:
    """Validate one request line and compute its tax, per component, rounded half up.

    Tax per component = round_half_up(item_total * component % / 100, 2), so a GST18 line of
    1000.50 carries CGST 90.05 + SGST 90.05 (180.10), while IGST18 on it is 180.09.
    """
    if not isinstance(raw, dict):
        raise invalid_value(f"line_items[{index}]")
    item: ItemRef | None = None
    item_id = str(raw.get("item_id") or "")
    if item_id:
        item = resolve_item(item_id)
        if item is None:
            raise does_not_exist("Item", status=400)
    elif require_item:
        raise invalid_value("item_id", "Every line needs an item_id.")
    elif not raw.get("name") and not raw.get("description"):
        raise invalid_value("name", "A line without item_id needs a name.")
    qty = to_decimal(raw.get("quantity", 1), "quantity")
    if qty <= 0:
        raise invalid_value("quantity", "Quantity must be greater than zero.")
    if "rate" in raw:
        rate = to_decimal(raw["rate"], "rate")
    elif item is not None:
        rate = item.rate
    else:
        raise invalid_value("rate")
    if rate < 0:
        raise invalid_value("rate", "Rate cannot be negative.")
    if to_decimal(raw.get("discount", 0), "discount") != 0:
        raise invalid_value("discount", "Line discounts are not simulated.")
    tax = _line_tax(raw, item, taxes, intra)
    item_total = money(money(rate) * qty)
    line_taxes: list[LineTax] = []
    if tax is not None:
        parts = taxes.components(tax) or [tax]
        line_taxes = [
            LineTax(p.tax_id, p.tax_name, p.tax_percentage, money(item_total * p.tax_percentage / 100))
            for p in parts
        ]
    return DocLine(
        line_item_id=line_item_id,
        item_id=item_id,
        name=str(raw.get("name") or (item.name if item else "")),
        sku=item.sku if item else "",
        description=str(raw.get("description") or (item.description if item else "")),
        rate=money(rate),
        quantity=qty,
        unit=str(raw.get("unit") or (item.unit if item else "")),
        hsn_or_sac=str(raw.get("hsn_or_sac") or (item.hsn_or_sac if item else "")),
        tax_id=tax.tax_id if tax else "",
        tax_name=tax.tax_name if tax else "",
        tax_type=tax.tax_type if tax else "",
        tax_percentage=tax.tax_percentage if tax else Decimal(0),
        item_total=item_total,
        line_taxes=line_taxes,
        extra={k: raw[k] for k in PASSTHROUGH_LINE_FIELDS if k in raw},
    )


def _line_tax(raw: dict[str, Any], item: ItemRef | None, taxes: TaxTable, intra: bool) -> Tax | None:
    tax_id = str(raw.get("tax_id") or "")
    if tax_id:
        tax = taxes.get(tax_id)
        if tax is None:
            raise does_not_exist("Tax", status=400)
        return taxes.effective(tax, intra=intra)
    if item is None or not item.is_taxable:
        return None
    preferred = taxes.get(item.intra_tax_id if intra else item.inter_tax_id)
    return taxes.effective(preferred, intra=intra) if preferred else None


def compute_totals(lines: Sequence[DocLine]) -> Totals:
    """Document totals: taxes[] sums each component over the lines, in first-seen order."""
    sub_total = money(sum((line.item_total for line in lines), Decimal(0)))
    by_tax: dict[str, LineTax] = {}
    for line in lines:
        for part in line.line_taxes:
            seen = by_tax.get(part.tax_id)
            if seen is None:
                by_tax[part.tax_id] = LineTax(
                    part.tax_id, part.tax_name, part.tax_percentage, part.tax_amount
                )
            else:
                seen.tax_amount += part.tax_amount
    tax_total = money(sum((t.tax_amount for t in by_tax.values()), Decimal(0)))
    return Totals(sub_total, tax_total, money(sub_total + tax_total), list(by_tax.values()))


def check_tax_mode(payload: Mapping[str, Any]) -> None:
    if payload.get("is_inclusive_tax") in (True, "true"):
        raise invalid_value("is_inclusive_tax", "Tax-inclusive rates are not simulated.")


# -- contacts (same shape in Inventory and Books) -----------------------------------------------


@dataclass
class Contact:
    contact_id: str
    contact_name: str
    created_time: datetime
    last_modified_time: datetime
    company_name: str = ""
    contact_type: str = "customer"
    customer_sub_type: str = "business"
    status: str = "active"
    email: str = ""
    phone: str = ""
    credit_limit: Decimal = Decimal("0.00")
    pricebook_id: str = ""
    contact_number: str = ""
    payment_terms: int = 0
    payment_terms_label: str = "Due on Receipt"
    billing_address: dict[str, str] = field(default_factory=dict)
    shipping_address: dict[str, str] = field(default_factory=dict)
    gst_treatment: str = ""
    gst_no: str = ""
    place_of_contact: str = ""
    currency_code: str = "INR"
    contact_persons: list[dict[str, Any]] = field(default_factory=list)


CONTACT_TEXT_FIELDS = (
    "company_name",
    "contact_type",
    "customer_sub_type",
    "status",
    "email",
    "phone",
    "pricebook_id",
    "contact_number",
    "payment_terms_label",
    "gst_treatment",
    "gst_no",
    "place_of_contact",
    "currency_code",
)
ADDRESS_FIELDS = (
    "attention",
    "address",
    "street2",
    "city",
    "state",
    "state_code",
    "zip",
    "country",
    "phone",
)


def _address(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: str(value[k]) for k in ADDRESS_FIELDS if k in value}


def contact_from_payload(payload: Mapping[str, Any], *, contact_id: str, now: datetime) -> Contact:
    name = str(payload.get("contact_name") or "").strip()
    if not name:
        raise invalid_value("contact_name", "Contact name is required.")
    contact = Contact(contact_id=contact_id, contact_name=name, created_time=now, last_modified_time=now)
    for key in CONTACT_TEXT_FIELDS:
        if payload.get(key) is not None:
            setattr(contact, key, str(payload[key]))
    if payload.get("credit_limit") is not None:
        contact.credit_limit = money(to_decimal(payload["credit_limit"], "credit_limit"))
    if payload.get("payment_terms") is not None:
        terms = to_decimal(payload["payment_terms"], "payment_terms")
        if terms < 0 or terms != terms.to_integral_value():
            raise invalid_value("payment_terms")
        contact.payment_terms = int(terms)
        if "payment_terms_label" not in payload:
            label = f"Net {contact.payment_terms}" if terms else "Due on Receipt"
            contact.payment_terms_label = label
    contact.billing_address = _address(payload.get("billing_address"))
    contact.shipping_address = _address(payload.get("shipping_address"))
    persons = payload.get("contact_persons")
    if isinstance(persons, list):
        contact.contact_persons = [dict(p) for p in persons if isinstance(p, dict)]
    return contact


def render_contact(contact: Contact, tz: ZoneInfo, **extra: object) -> dict[str, object]:
    return {
        "contact_id": contact.contact_id,
        "contact_name": contact.contact_name,
        "company_name": contact.company_name,
        "contact_type": contact.contact_type,
        "customer_sub_type": contact.customer_sub_type,
        "status": contact.status,
        "email": contact.email,
        "phone": contact.phone,
        "credit_limit": contact.credit_limit,
        "pricebook_id": contact.pricebook_id,
        "contact_number": contact.contact_number,
        "payment_terms": contact.payment_terms,
        "payment_terms_label": contact.payment_terms_label,
        "billing_address": contact.billing_address,
        "shipping_address": contact.shipping_address,
        "gst_treatment": contact.gst_treatment,
        "gst_no": contact.gst_no,
        "place_of_contact": contact.place_of_contact,
        "currency_code": contact.currency_code,
        "contact_persons": contact.contact_persons,
        **extra,
        "created_time": format_time(contact.created_time, tz),
        "last_modified_time": format_time(contact.last_modified_time, tz),
    }


# -- state and simulator bases ------------------------------------------------------------------


class SimState(Protocol):
    """What the shared admin endpoints need from a simulator's state."""

    lock: threading.RLock

    def reset(self) -> None: ...

    def seed(self, payload: Mapping[str, Any]) -> dict[str, object]: ...

    def snapshot(self) -> dict[str, object]: ...


class ZohoState:
    """Base of the Inventory and Books states: lock, org, clock, IDs, taxes and contacts.

    Public methods return copies of records, so a caller in another thread never holds live state.
    """

    id_base: ClassVar[int] = 4815000000044000

    def __init__(self, *, org: Organization, clock: SimClock) -> None:
        self.lock = threading.RLock()
        self.org = org
        self.clock = clock
        self.ids = IdSequence(self.id_base)
        self.taxes = TaxTable()
        self.contacts: dict[str, Contact] = {}

    @property
    def tz(self) -> ZoneInfo:
        return self.org.tz

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.today(self.tz)

    def ts(self, value: datetime) -> str:
        return format_time(value, self.tz)

    def reset(self) -> None:
        with self.lock:
            self.ids.reset()
            self.contacts.clear()
            self._clear()

    def _clear(self) -> None:
        """Subclasses drop their own records here."""

    def seed(self, payload: Mapping[str, Any]) -> dict[str, object]:
        raise NotImplementedError

    def snapshot(self) -> dict[str, object]:
        raise NotImplementedError

    # contacts

    def add_contact(self, contact_name: str, *, contact_id: str | None = None, **fields: Any) -> Contact:
        """Seed a customer; ``fields`` use the wire names (gst_no, place_of_contact, ...)."""
        return self.create_contact({"contact_name": contact_name, **fields}, contact_id=contact_id)

    def create_contact(
        self, payload: Mapping[str, Any], *, duplicate: bool = False, contact_id: str | None = None
    ) -> Contact:
        """Create from a wire payload; ``contact_id`` only for seeding known IDs."""
        with self.lock:
            contact_id = contact_id or self.ids.next()
            name = str(payload.get("contact_name") or "").strip()
            if any(c.contact_name == name for c in self.contacts.values()):
                raise ZohoError(400, CODE_CONTACT_EXISTS, f'The customer "{name}" already exists.')
            contact = contact_from_payload(payload, contact_id=contact_id, now=self.now())
            self.contacts[contact.contact_id] = contact
            if duplicate:
                # A duplicate delivery gets past the name check: it is the harm being simulated.
                twin = copy.deepcopy(contact)
                twin.contact_id = self.ids.next()
                self.contacts[twin.contact_id] = twin
            return copy.deepcopy(contact)

    def get_contact(self, contact_id: str) -> Contact:
        with self.lock:
            return copy.deepcopy(self._contact(contact_id))

    def _contact(self, contact_id: str, *, status: int = 404) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise does_not_exist("Contact", status=status)
        return contact

    def list_contacts(self) -> list[Contact]:
        with self.lock:
            return copy.deepcopy(list(self.contacts.values()))

    def render_contact(self, contact: Contact) -> dict[str, object]:
        return render_contact(contact, self.tz)

    def place_of_supply(self, payload: Mapping[str, Any], contact: Contact) -> str:
        """Request value, else the contact's place_of_contact, else the organisation's state."""
        return str(payload.get("place_of_supply") or contact.place_of_contact or self.org.state_code)

    def seed_contacts(self, rows: object) -> list[str]:
        return [
            self.create_contact(row, contact_id=str(row.get("contact_id") or "") or None).contact_id
            for row in rows_of(rows, "contacts")
        ]


def rows_of(rows: object, name: str) -> list[Mapping[str, Any]]:
    if rows is None:
        return []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise invalid_value(name, "Expected a list of objects.")
    return rows


def render_fault_error(kind: RejectKind) -> tuple[bytes, str]:
    """Zoho bodies for injected failures: 500 is [V] code 1000; 429 codes are [U]."""
    bodies = {
        "server_error": (CODE_INTERNAL, "Internal error"),
        "rate_limit": (
            CODE_RATE_LIMIT,
            "You have made too many requests continuously. Please try again after some time.",
        ),
        "concurrency": (
            CODE_RATE_LIMIT,
            "You have exceeded the maximum number of concurrent requests.",
        ),
        "daily_limit": (
            CODE_DAILY_LIMIT,
            "You have reached the maximum number of API requests for the day.",
        ),
    }
    code, message = bodies[kind]
    return wire_json({"code": code, "message": message}).encode(), WireResponse.media_type


def _organization_tenant(scope: Scope) -> str:
    """Budgets are per organisation (apis.md 1.4); requests without one share a budget."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("organization_id")
    return values[0] if values else "-"


def _route_templates(routes: Sequence[BaseRoute]) -> Callable[[Scope], str]:
    def template(scope: Scope) -> str:
        partial = None
        for route in routes:
            match, _ = route.matches(scope)
            if match is Match.FULL and isinstance(route, Route):
                return route.path
            if match is Match.PARTIAL and isinstance(route, Route) and partial is None:
                partial = route.path
        return partial or scope["path"]

    return template


async def _not_found(request: Request, exc: Exception) -> Response:
    return WireResponse({"code": CODE_INVALID_URL, "message": "Invalid URL Passed"}, 404)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    message = "The HTTP method is not allowed for the requested resource"
    return WireResponse({"code": CODE_METHOD_NOT_ALLOWED, "message": message}, 405)


class ZohoSimulator:
    """One simulated Zoho server: API routes behind auth and org checks, faults, admin routes.

    Subclasses list their API routes in ``api_routes`` and any extra admin routes in
    ``extra_admin_routes``. Admin routes (``/__admin/...``) take no auth and see no faults.
    """

    prefix: ClassVar[str] = ""

    def __init__(
        self,
        *,
        state: SimState,
        clock: SimClock,
        tokens: TokenRegistry,
        faults: FaultConfig | None = None,
    ) -> None:
        self.state = state
        self.clock = clock
        self.tokens = tokens
        self.faults = FaultInjector(faults, render_error=render_fault_error)
        routes = [*self._admin_routes(), *self.api_routes()]
        app = Starlette(
            routes=routes,
            exception_handlers={404: _not_found, 405: _method_not_allowed},
        )
        self.app: ASGIApp = self.faults.wrap(
            app, route_template=_route_templates(routes), tenant=_organization_tenant
        )

    def api_routes(self) -> list[BaseRoute]:
        return []

    def extra_admin_routes(self) -> list[BaseRoute]:
        return []

    def route(
        self, method: str, path: str, handler: Handler, *, auth: bool = True, org: bool = True
    ) -> Route:
        """An API route under ``prefix``; ZohoError raised by the handler becomes its response."""
        organization = getattr(self.state, "org", None)

        async def endpoint(request: Request) -> Response:
            try:
                if auth:
                    self.tokens.require(request.headers.get("authorization"))
                if org and organization is not None:
                    organization.check(request.query_params.get("organization_id"))
                return await handler(request)
            except ZohoError as exc:
                return exc.response()

        return Route(self.prefix + path, endpoint, methods=[method])

    def reset(self) -> None:
        """Empty state, default faults, zeroed counters. The shared clock is left alone."""
        self.state.reset()
        self.faults.reset()

    # -- admin ----------------------------------------------------------------------------

    def _admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/__admin/state", self._admin_state, methods=["GET"]),
            Route("/__admin/seed", self._admin_seed, methods=["POST"]),
            Route("/__admin/reset", self._admin_reset, methods=["POST"]),
            Route("/__admin/faults", self._admin_faults, methods=["GET", "PUT", "PATCH"]),
            Route("/__admin/calls", self._admin_calls, methods=["GET"]),
            Route("/__admin/clock", self._admin_clock, methods=["GET", "PUT"]),
            *self.extra_admin_routes(),
        ]

    async def _admin_state(self, request: Request) -> Response:
        return WireResponse(self.state.snapshot())

    async def _admin_seed(self, request: Request) -> Response:
        return await admin_call(request, self.state.seed)

    async def _admin_reset(self, request: Request) -> Response:
        self.reset()
        return WireResponse({"reset": True})

    async def _admin_faults(self, request: Request) -> Response:
        payload, status = admin_faults_change(self.faults, request.method, await request.body())
        return WireResponse(payload, status)

    async def _admin_calls(self, request: Request) -> Response:
        return WireResponse(self.faults.counters())

    async def _admin_clock(self, request: Request) -> Response:
        if request.method == "PUT":
            try:
                body = json.loads(await request.body() or b"{}")
                frozen = body.get("frozen")
                if body.get("now") is not None:
                    self.clock.set(datetime.fromisoformat(body["now"]), frozen=frozen)
                elif frozen is not None:
                    self.clock.set(self.clock.now(), frozen=bool(frozen))
                if body.get("advance_seconds") is not None:
                    self.clock.advance(float(body["advance_seconds"]))
            except (ValueError, TypeError, AttributeError) as exc:
                return WireResponse({"error": str(exc)}, 400)
        return WireResponse(self.clock.snapshot())


async def admin_call(request: Request, action: Callable[[dict[str, Any]], dict[str, object]]) -> Response:
    """Run an admin action on the JSON body; Zoho validation errors come back as 400."""
    try:
        body = await read_body(request)
        return WireResponse(action(body))
    except ZohoError as exc:
        return WireResponse({"error": exc.message, "code": exc.code}, 400)


class ZohoApiSimulator(ZohoSimulator):
    """A product API (Inventory, Books): adds the routes both products share.

    ``GET /organizations`` (no organization_id needed), ``GET /settings/taxes`` and customers
    under ``/contacts``.
    """

    state: ZohoState

    def __init__(self, *, state: ZohoState, tokens: TokenRegistry, faults: FaultConfig | None = None) -> None:
        super().__init__(state=state, clock=state.clock, tokens=tokens, faults=faults)

    def common_routes(self) -> list[BaseRoute]:
        return [
            self.route("GET", "/organizations", self._organizations, org=False),
            self.route("GET", "/settings/taxes", self._taxes),
            self.route("GET", "/contacts", self._list_contacts),
            self.route("POST", "/contacts", self._create_contact),
            self.route("GET", "/contacts/{contact_id}", self._get_contact),
        ]

    async def _organizations(self, request: Request) -> Response:
        return envelope(organizations=[self.state.org.render()])

    async def _taxes(self, request: Request) -> Response:
        table = self.state.taxes
        page, context = paginate(
            request.query_params,
            table.all(),
            report_name="Taxes",
            columns={"tax_name": lambda t: t.tax_name},
            default_column="tax_name",
            default_order="A",
            id_of=lambda t: t.tax_id,
        )
        return envelope(taxes=[t.render(table) for t in page], page_context=context)

    async def _list_contacts(self, request: Request) -> Response:
        params = request.query_params
        status = {"Status.Active": "active", "Status.Inactive": "inactive"}.get(params.get("filter_by", ""))
        state = self.state
        with state.lock:
            rows = [
                c
                for c in state.contacts.values()
                if text_matches(params, "contact_name", c.contact_name)
                and text_matches(params, "company_name", c.company_name)
                and (status is None or c.status == status)
            ]
            page, context = paginate(
                params,
                rows,
                report_name="Contacts",
                columns={
                    "contact_name": lambda c: c.contact_name.lower(),
                    "created_time": lambda c: c.created_time,
                    "last_modified_time": lambda c: c.last_modified_time,
                },
                default_column="contact_name",
                default_order="A",
                id_of=lambda c: c.contact_id,
            )
            body = [state.render_contact(c) for c in page]
        return envelope(contacts=body, page_context=context)

    async def _get_contact(self, request: Request) -> Response:
        with self.state.lock:
            contact = self.state.get_contact(request.path_params["contact_id"])
            return envelope(contact=self.state.render_contact(contact))

    async def _create_contact(self, request: Request) -> Response:
        payload = await read_body(request)
        with self.state.lock:
            contact = self.state.create_contact(payload, duplicate=duplicate_requested(request.scope))
            body = self.state.render_contact(contact)
        return envelope("The contact has been added.", status=201, contact=body)
