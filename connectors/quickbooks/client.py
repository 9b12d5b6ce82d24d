"""QuickBooks Online client: invoices created once by DocNumber (singly or in batches), query pages.

No Prefect here: tasks and the accounting adapter wrap it. Every call carries ``minorversion``;
every write a deterministic ``requestid`` (apis.md 2.5), so the transport's retries of a write
(after a 429) and a caller's repeat of the same POST replay QBO's first answer, never a second
invoice. Whether a DocNumber is already taken is asked before creating: QBO only refuses one
(6140) when the company warns on duplicates, and otherwise would accept a second.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.http.budget import BudgetSpec, budget_for
from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.oauth import FileRefreshTokenStore, RefreshingTokenAuth, RefreshTokenStore
from connectors.http.transport import RestTransport, RetryPolicy
from connectors.quickbooks.auth import QuickBooksTokenSource
from connectors.quickbooks.bodies import invoice_body, request_id
from connectors.quickbooks.errors import QuickBooksError, fault_error, quickbooks_error
from connectors.quickbooks.query import (
    CREDIT_MEMO,
    CUSTOMER,
    INVOICE,
    MAX_RESULTS,
    PAYMENT,
    Entity,
    StartPositionPaginator,
    changed_since,
    dated,
    quote,
    select,
)
from connectors.quickbooks.wire import QboInvoice
from dealer_sync.models import MappedOrder
from dealer_sync.settings import QuickBooksSettings

BATCH_SIZE = 30  # apis.md 2.4: 30 items per batch request


@dataclass(frozen=True)
class QuickBooksCredentials:
    """Everything needed to reach one QBO company (realm). Secrets stay SecretStr throughout."""

    base_url: str  # https://quickbooks.api.intuit.com (sandbox: https://sandbox-quickbooks.api.intuit.com)
    token_url: str
    realm_id: str
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr  # seeds the store once; the store then holds the newest
    refresh_token_store: RefreshTokenStore | None = None
    minor_version: int = 75
    requests_per_minute: int = 500
    max_concurrent: int = 10
    timeout_seconds: float = 30.0
    minute_seconds: float = 60.0
    batches_per_minute: int = 40  # apis.md 2.4

    def __repr__(self) -> str:
        return f"QuickBooksCredentials(base_url={self.base_url!r}, realm_id={self.realm_id!r})"

    @classmethod
    def from_settings(cls, settings: QuickBooksSettings) -> QuickBooksCredentials:
        """From plain settings values; secrets kept in Prefect blocks are resolved by the caller."""
        realm, client_id = settings.tenant_id, settings.client_id
        secret, refresh = settings.client_secret, settings.refresh_token
        if realm is None or client_id is None or secret is None or refresh is None:
            named = {
                "tenant_id": realm,
                "client_id": client_id,
                "client_secret": secret,
                "refresh_token": refresh,
            }
            missing = ", ".join(name for name, value in named.items() if value is None)
            raise ValueError(f"QuickBooks settings lack {missing}")
        store = FileRefreshTokenStore(settings.refresh_token_file) if settings.refresh_token_file else None
        return cls(
            base_url=settings.base_url,
            token_url=settings.token_url,
            realm_id=realm,
            client_id=client_id,
            client_secret=secret,
            refresh_token=refresh,
            refresh_token_store=store,
            minor_version=settings.minor_version,
            requests_per_minute=settings.requests_per_minute,
            max_concurrent=settings.max_concurrent,
            timeout_seconds=settings.timeout_seconds,
            minute_seconds=settings.minute_seconds,
        )


class QuickBooksClient:
    """A plain httpx client of one QBO company."""

    system = "quickbooks"

    def __init__(
        self,
        credentials: QuickBooksCredentials,
        *,
        retry: RetryPolicy | None = None,
        page_size: int = MAX_RESULTS,
    ) -> None:
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.paginator = StartPositionPaginator(page_size=page_size)
        self._token_source = QuickBooksTokenSource(
            credentials.token_url,
            credentials.client_id,
            credentials.client_secret,
            credentials.refresh_token,
            store=credentials.refresh_token_store,
            timeout=credentials.timeout_seconds,
        )
        self.auth = RefreshingTokenAuth(self._token_source, scheme="Bearer")
        self._http = httpx.Client(
            base_url=f"{credentials.base_url.rstrip('/')}/v3/company/{credentials.realm_id}",
            auth=self.auth,
            timeout=credentials.timeout_seconds,
            headers={"Accept": "application/json"},
        )
        spec = BudgetSpec(
            credentials.requests_per_minute, credentials.max_concurrent, credentials.minute_seconds
        )
        self.transport = RestTransport(
            system=self.system,
            client=self._http,
            budget=budget_for(self.system, credentials.realm_id, spec),
            error_table=quickbooks_error,
            retry=self.retry,
        )
        self._batch_budget = budget_for(
            f"{self.system}_batch",
            credentials.realm_id,
            BudgetSpec(
                credentials.batches_per_minute, credentials.max_concurrent, credentials.minute_seconds
            ),
        )

    def __enter__(self) -> QuickBooksClient:
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
        json_body: Any = None,
        write: bool = False,
    ) -> dict[str, Any]:
        """One request with ``minorversion``; an answer that is not a JSON object is unreadable."""
        merged = {"minorversion": self.credentials.minor_version, **(params or {})}
        body = self.transport.request(method, path, params=merged, json_body=json_body, write=write)
        if not isinstance(body, dict):
            raise QuickBooksError(
                f"QuickBooks answered {method} {path} without a JSON object",
                kind=ErrorKind.UNCERTAIN if write else ErrorKind.RETRY,
            )
        return body

    def query(self, statement: str) -> dict[str, Any]:
        """The ``QueryResponse`` of one statement (``{}`` when nothing matched)."""
        answer = self.call("GET", "/query", params={"query": statement})
        response = answer.get("QueryResponse")
        if not isinstance(response, dict):
            raise QuickBooksError("QuickBooks answered a query without QueryResponse", kind=ErrorKind.RETRY)
        return response

    def pages(self, entity: Entity, conditions: Sequence[str] = ()) -> Iterator[list[dict[str, Any]]]:
        """Every page of ``SELECT * FROM <entity> WHERE ...``, in Id order."""

        def fetch(start: int, size: int) -> list[dict[str, Any]]:
            rows = self.query(select(entity, conditions, start=start, size=size)).get(entity.name) or []
            return [row for row in rows if isinstance(row, dict)]

        yield from self.paginator.pages(fetch)

    # -- invoices --------------------------------------------------------------------------------

    def create_invoice(self, order: MappedOrder) -> QboInvoice:
        """Create the invoice numbered ``order.document_number``; DUPLICATE if that number exists.

        A POST that fails without a clear answer is UNCERTAIN: look the number up before trying
        again (a repeat of the same body would replay QBO's first answer anyway).
        """
        found = self.find_invoices(order.document_number)
        if found:
            raise QuickBooksError(
                f"invoice {order.document_number} already exists in QuickBooks as {[i.id for i in found]}",
                kind=ErrorKind.DUPLICATE,
            )
        body = invoice_body(order)
        answer = self.call(
            "POST",
            INVOICE.path,
            params={"requestid": request_id("invoice", body)},
            json_body=body,
            write=True,
        )
        record = answer.get(INVOICE.name)
        if not isinstance(record, dict):
            raise QuickBooksError(
                f"QuickBooks answered the create of {order.document_number} without an Invoice",
                kind=ErrorKind.UNCERTAIN,
            )
        return QboInvoice.model_validate(record)

    def find_invoices(self, doc_number: str) -> list[QboInvoice]:
        """Invoices carrying ``doc_number``: none, one, or (a fault of the ledger's) several."""
        rows = [row for page in self.pages(INVOICE, [f"DocNumber = {quote(doc_number)}"]) for row in page]
        return [QboInvoice.model_validate(r) for r in rows if r.get("DocNumber") == doc_number]

    def existing_doc_numbers(self, doc_numbers: Sequence[str]) -> dict[str, list[str]]:
        """Which of these numbers invoices already carry (number -> invoice ids), in one query."""
        if not doc_numbers:
            return {}
        listed = ", ".join(quote(n) for n in doc_numbers)
        found: dict[str, list[str]] = {}
        for page in self.pages(INVOICE, [f"DocNumber IN ({listed})"]):
            for row in page:
                if row.get("DocNumber") in doc_numbers:
                    found.setdefault(str(row["DocNumber"]), []).append(str(row.get("Id")))
        return found

    def create_invoices(
        self, orders: Sequence[MappedOrder], *, check_existing: bool = True
    ) -> list[str | ConnectorError]:
        """Create many through ``/batch``, 30 to a request; per order, the invoice id or its error.

        With ``check_existing``, numbers already taken are DUPLICATE without being sent (one query
        per batch: QBO refuses a repeated number only when the company is set to warn). A caller
        that knows these are first attempts (an outbox that looks up after any doubt) can skip
        it and spend the request budget on creates alone. Answers are matched by ``bId`` (QBO
        does not promise their order, apis.md 2.7); an item without an answer, or a batch that
        failed as a whole after it may have run, is UNCERTAIN for each of its orders.
        """
        results: list[str | ConnectorError] = []
        for start in range(0, len(orders), BATCH_SIZE):
            results.extend(self._create_chunk(orders[start : start + BATCH_SIZE], check_existing))
        return results

    def _create_chunk(self, chunk: Sequence[MappedOrder], check_existing: bool) -> list[str | ConnectorError]:
        results: dict[int, str | ConnectorError] = {}
        try:
            existing = self.existing_doc_numbers([o.document_number for o in chunk]) if check_existing else {}
        except ConnectorError as exc:
            return [exc] * len(chunk)
        items: list[dict[str, Any]] = []
        sent: dict[str, tuple[int, MappedOrder]] = {}
        seen: set[str] = set()
        for index, order in enumerate(chunk):
            number = order.document_number
            if number in existing or number in seen:
                where = existing.get(number) or ["an earlier order of this batch"]
                results[index] = QuickBooksError(
                    f"invoice {number} already exists in QuickBooks as {where}", kind=ErrorKind.DUPLICATE
                )
                continue
            seen.add(number)
            bid = f"b{index}"
            sent[bid] = (index, order)
            items.append({"bId": bid, "operation": "create", "Invoice": invoice_body(order)})
        if items:
            results.update(self._send_batch(items, sent))
        return [results[index] for index in range(len(chunk))]

    def _send_batch(
        self, items: list[dict[str, Any]], sent: Mapping[str, tuple[int, MappedOrder]]
    ) -> dict[int, str | ConnectorError]:
        body = {"BatchItemRequest": items}
        try:
            with self._batch_budget.slot(max_wait=self.retry.max_total_seconds):
                answer = self.call(
                    "POST",
                    "/batch",
                    params={"requestid": request_id("batch", body)},
                    json_body=body,
                    write=True,
                )
        except ConnectorError as exc:
            return {index: exc for index, _ in sent.values()}
        by_bid = {
            str(item.get("bId")): item
            for item in answer.get("BatchItemResponse") or []
            if isinstance(item, dict)
        }
        results: dict[int, str | ConnectorError] = {}
        for bid, (index, order) in sent.items():
            results[index] = self._batch_result(by_bid.get(bid), order)
        return results

    def _batch_result(self, item: Mapping[str, Any] | None, order: MappedOrder) -> str | ConnectorError:
        number = order.document_number
        if item is None:
            return QuickBooksError(f"the batch answered nothing for {number}", kind=ErrorKind.UNCERTAIN)
        fault = item.get("Fault")
        if isinstance(fault, Mapping):
            return fault_error(fault, status=None, context=f"invoice {number}")
        record = item.get(INVOICE.name)
        if not isinstance(record, Mapping) or record.get("DocNumber") != number or not record.get("Id"):
            return QuickBooksError(
                f"the batch answered {number} without its invoice", kind=ErrorKind.UNCERTAIN
            )
        return str(record["Id"])

    # -- pages of documents ----------------------------------------------------------------------

    def invoice_pages(
        self,
        modified_since: datetime | None = None,
        date_start: date | None = None,
        date_end: date | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Invoices changed at or after ``modified_since`` and/or dated within the window."""
        yield from self.pages(INVOICE, changed_since(modified_since) + dated(date_start, date_end))

    def payment_pages(self, modified_since: datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        yield from self.pages(PAYMENT, changed_since(modified_since))

    def credit_memo_pages(self, modified_since: datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        yield from self.pages(CREDIT_MEMO, changed_since(modified_since))

    def customer_pages(self) -> Iterator[list[dict[str, Any]]]:
        yield from self.pages(CUSTOMER)
