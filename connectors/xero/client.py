"""Xero Accounting API client: invoices created once by our number, pages of what changed.

A plain typed httpx client with no Prefect inside. Every call carries the ``xero-tenant-id``
header and goes through the shared RestTransport (bounded retries, the declared budget, and the
rule that a write whose outcome is unknown is UNCERTAIN, never blindly repeated). Writes also
carry an ``Idempotency-Key`` derived from our document numbers, so a repeat of the same create
gets Xero's first answer back instead of a second invoice (apis.md 3.5).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.http.budget import BudgetSpec
from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.oauth import FileRefreshTokenStore, RefreshingTokenAuth, RefreshTokenStore
from connectors.http.pagination import PageNumberPaginator
from connectors.http.transport import RestTransport, RetryPolicy
from connectors.xero.auth import MemoryRefreshTokenStore, XeroTokenSource
from connectors.xero.bodies import batch_key, invoice_body, invoice_key
from connectors.xero.budget import xero_budget
from connectors.xero.errors import XeroDailyLimitError, XeroError, element_error, xero_error
from connectors.xero.wire import XeroInvoice
from dealer_sync.models import MappedOrder
from dealer_sync.settings import XeroSettings

PAGE_SIZE = 100  # Xero's page (apis.md 3.3)
BATCH_SIZE = 50  # invoices per call: Xero's guidance [U]
TENANT_HEADER = "xero-tenant-id"


@dataclass(frozen=True)
class XeroCredentials:
    """Everything needed to reach one Xero organisation (tenant)."""

    base_url: str
    token_url: str
    tenant_id: str
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr  # the seed of the rotation; the store holds the newest one
    refresh_token_store: RefreshTokenStore | None = field(default=None, compare=False)
    requests_per_minute: int = 60
    max_concurrent: int = 5
    requests_per_day: int | None = 5000
    timeout_seconds: float = 30.0
    minute_seconds: float = 60.0

    def __repr__(self) -> str:
        return f"XeroCredentials(base_url={self.base_url!r}, tenant_id={self.tenant_id!r})"

    @classmethod
    def from_settings(cls, settings: XeroSettings) -> XeroCredentials:
        """From ``DEALER_SYNC_XERO__*`` settings whose secrets are already resolved."""
        missing = [
            name
            for name in ("tenant_id", "client_id", "client_secret", "refresh_token")
            if getattr(settings, name) is None
        ]
        if missing:
            raise ValueError(f"Xero settings lack {', '.join(missing)}")
        assert settings.tenant_id and settings.client_id
        assert settings.client_secret is not None and settings.refresh_token is not None
        store = FileRefreshTokenStore(settings.refresh_token_file) if settings.refresh_token_file else None
        return cls(
            base_url=settings.base_url,
            token_url=settings.token_url,
            tenant_id=settings.tenant_id,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            refresh_token=settings.refresh_token,
            refresh_token_store=store,
            requests_per_minute=settings.requests_per_minute,
            max_concurrent=settings.max_concurrent,
            requests_per_day=settings.requests_per_day,
            timeout_seconds=settings.timeout_seconds,
            minute_seconds=settings.minute_seconds,
        )

    def get_client(self, *, retry: RetryPolicy | None = None) -> XeroClient:
        return XeroClient(self, retry=retry)


@dataclass(frozen=True)
class XeroRequest:
    """A request's JSON body together with its own headers (Idempotency-Key, If-Modified-Since)."""

    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


class XeroTransport(RestTransport):
    """The shared transport; ``json_body`` may be a XeroRequest carrying per-request headers."""

    def encode_body(self, body: Any) -> dict[str, Any]:
        if isinstance(body, XeroRequest):
            encoded: dict[str, Any] = {"headers": dict(body.headers)}
            if body.body is not None:
                encoded["json"] = body.body
            return encoded
        return super().encode_body(body)


def if_modified_since(instant: datetime) -> str:
    """Xero's header format, UTC without an offset (apis.md 3.3), a second early.

    Whole seconds only, and one second before ``instant``, so a record changed at ``instant``
    is in the answer whether Xero compares strictly or not (a superset is fine for callers).
    """
    moment = instant.astimezone(UTC).replace(microsecond=0) - timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


InvoiceResult = str | ConnectorError
"""Per order of a batch create: the created InvoiceID, or the error for that order."""


class XeroClient:
    """One Xero organisation. No Prefect here: tasks and the accounting adapter wrap it."""

    system = "xero"

    def __init__(self, credentials: XeroCredentials, *, retry: RetryPolicy | None = None) -> None:
        self.credentials = credentials
        store = credentials.refresh_token_store or MemoryRefreshTokenStore(
            credentials.token_url, credentials.client_id, credentials.refresh_token
        )
        self._token_source = XeroTokenSource(
            credentials.token_url,
            credentials.client_id,
            credentials.client_secret,
            credentials.refresh_token,
            store,
            timeout=credentials.timeout_seconds,
        )
        self.auth = RefreshingTokenAuth(self._token_source)
        self._http = httpx.Client(
            base_url=credentials.base_url,
            auth=self.auth,
            timeout=credentials.timeout_seconds,
            headers={TENANT_HEADER: credentials.tenant_id, "Accept": "application/json"},
        )
        spec = BudgetSpec(
            credentials.requests_per_minute, credentials.max_concurrent, credentials.minute_seconds
        )
        self.budget = xero_budget(
            credentials.base_url, credentials.tenant_id, spec, credentials.requests_per_day
        )
        self.transport = XeroTransport(
            system=self.system, client=self._http, budget=self.budget, error_table=self._error, retry=retry
        )

    def _error(self, response: httpx.Response, body: Any) -> ConnectorError:
        error = xero_error(response, body)
        if isinstance(error, XeroDailyLimitError):
            self.budget.exhaust_day(error.retry_after)  # every later call fails fast too
        return error

    def __enter__(self) -> XeroClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        self._token_source.close()

    # -- calls -----------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        write: bool = False,
    ) -> dict[str, Any]:
        """One request through the transport; a 2xx that is not a JSON object is retried."""
        answer = self.transport.request(
            method,
            path,
            params={k: v for k, v in (params or {}).items() if v is not None},
            json_body=XeroRequest(body, dict(headers or {})),
            write=write,
        )
        if not isinstance(answer, dict):
            raise XeroError(
                f"Xero answered {method} {path} without a JSON object",
                kind=ErrorKind.UNCERTAIN if write else ErrorKind.RETRY,
            )
        return answer

    def pages(
        self,
        path: str,
        collection: str,
        id_field: str,
        params: Mapping[str, Any] | None = None,
        *,
        modified_since: datetime | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list (``page=N``, 100 a page), until ``pagination.pageCount``."""
        headers = {"If-Modified-Since": if_modified_since(modified_since)} if modified_since else {}

        def has_more(body: dict[str, Any]) -> bool:
            paging = body.get("pagination")
            if isinstance(paging, dict) and "pageCount" in paging and "page" in paging:
                return int(paging["page"]) < int(paging["pageCount"])
            return len(body.get(collection) or []) >= PAGE_SIZE  # no pagination object: a full page

        paginator = PageNumberPaginator(
            records=lambda body: list(body.get(collection) or []),
            has_more=has_more,
            record_id=lambda record: str(record.get(id_field)),
            per_page=PAGE_SIZE,
        )

        def fetch(paging: dict[str, Any]) -> dict[str, Any]:
            query = {**(params or {}), "page": paging["page"], "pageSize": paging["per_page"]}
            return self.call("GET", path, params=query, headers=headers)

        yield from paginator.pages(fetch)

    # -- invoices --------------------------------------------------------------------------------

    def create_invoice(self, order: MappedOrder) -> XeroInvoice:
        """Create one AUTHORISED invoice numbered ``order.document_number``.

        POST (update-or-create) with no InvoiceID creates (apis.md 3.2). A number Xero already
        holds is DUPLICATE; a repeat within Xero's idempotency window gets the first answer back
        (the same invoice), never a second one.
        """
        answer = self.call(
            "POST",
            "/Invoices",
            body={"Invoices": [invoice_body(order)]},
            headers={"Idempotency-Key": invoice_key(order.document_number)},
            write=True,
        )
        invoices = answer.get("Invoices") or []
        if len(invoices) != 1:
            raise XeroError(
                f"Xero answered the create of {order.document_number} with {len(invoices)} invoices",
                kind=ErrorKind.UNCERTAIN,
            )
        if invoices[0].get("HasErrors"):
            raise element_error(invoices[0], f"invoice {order.document_number}")
        return XeroInvoice.model_validate(invoices[0])

    def create_invoices(self, orders: Sequence[MappedOrder]) -> list[InvoiceResult]:
        """Create many invoices, 50 a call, each element answered alone (``summarizeErrors=false``).

        Returns one result per order, in order: the InvoiceID, or the error for that order (a
        refused element is DUPLICATE or BAD_REQUEST; when a whole call fails, every order of it
        gets that call's error, UNCERTAIN for a write whose outcome is unknown).
        """
        results: list[InvoiceResult] = []
        for start in range(0, len(orders), BATCH_SIZE):
            results.extend(self._create_batch(orders[start : start + BATCH_SIZE]))
        return results

    def _create_batch(self, orders: Sequence[MappedOrder]) -> list[InvoiceResult]:
        numbers = [o.document_number for o in orders]
        try:
            answer = self.call(
                "POST",
                "/Invoices",
                params={"summarizeErrors": "false"},
                body={"Invoices": [invoice_body(o) for o in orders]},
                headers={"Idempotency-Key": batch_key(numbers)},
                write=True,
            )
        except ConnectorError as exc:
            return [exc for _ in orders]
        elements = answer.get("Invoices") or []
        results: list[InvoiceResult] = []
        for index, number in enumerate(numbers):
            element = elements[index] if index < len(elements) and isinstance(elements[index], dict) else None
            if element is None or str(element.get("InvoiceNumber") or number) != number:
                results.append(
                    XeroError(f"Xero's answer has no element for {number}", kind=ErrorKind.UNCERTAIN)
                )
            elif element.get("HasErrors"):
                results.append(element_error(element, f"invoice {number}"))
            else:
                results.append(str(element["InvoiceID"]))
        return results

    def find_invoices(self, invoice_number: str) -> list[XeroInvoice]:
        """Invoices numbered exactly ``invoice_number`` (``InvoiceNumbers=`` filter)."""
        rows = [
            row
            for page in self.pages("/Invoices", "Invoices", "InvoiceID", {"InvoiceNumbers": invoice_number})
            for row in page
        ]
        return [XeroInvoice.model_validate(r) for r in rows if r.get("InvoiceNumber") == invoice_number]

    def invoice(self, invoice_id: str) -> XeroInvoice:
        answer = self.call("GET", f"/Invoices/{invoice_id}")
        return XeroInvoice.model_validate((answer.get("Invoices") or [{}])[0])

    def invoice_pages(self, modified_since: datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        """Invoice rows (read with ``XeroInvoice``), oldest change first; lines and totals included."""
        params = {"order": "UpdatedDateUTC ASC"}
        yield from self.pages("/Invoices", "Invoices", "InvoiceID", params, modified_since=modified_since)

    def payment_pages(self, modified_since: datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        """Payment rows (read with ``XeroPayment``), oldest change first."""
        params = {"order": "UpdatedDateUTC ASC"}
        yield from self.pages("/Payments", "Payments", "PaymentID", params, modified_since=modified_since)

    def credit_note_pages(self, modified_since: datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        """Credit note rows (read with ``XeroCreditNote``), oldest change first."""
        params = {"order": "UpdatedDateUTC ASC"}
        yield from self.pages(
            "/CreditNotes", "CreditNotes", "CreditNoteID", params, modified_since=modified_since
        )

    def contact_pages(self, modified_since: datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        yield from self.pages("/Contacts", "Contacts", "ContactID", modified_since=modified_since)
