"""QuickBooks Online behind the accounting protocol the flows use (connectors.accounting)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from connectors.accounting import AccountingSystem, DocumentKind, LedgerDocument, LedgerRow
from connectors.http.errors import ConnectorError, ErrorKind
from connectors.quickbooks.client import BATCH_SIZE, QuickBooksClient, QuickBooksCredentials
from connectors.quickbooks.errors import QuickBooksError
from connectors.quickbooks.wire import QboCreditMemo, QboInvoice, QboPayment
from dealer_sync.models import CreditNote, Invoice, MappedOrder, Payment

_Doc = TypeVar("_Doc", Invoice, Payment, CreditNote)

_WIRE: dict[DocumentKind, type[QboInvoice] | type[QboPayment] | type[QboCreditMemo]] = {
    "invoice": QboInvoice,
    "payment": QboPayment,
    "credit_note": QboCreditMemo,
}


def _row(kind: DocumentKind, raw: Mapping[str, Any]) -> LedgerRow | None:
    """One document as read; a payload the wire model cannot read becomes a row with a problem.

    None for a zero payment: it only links credit memos to invoices (QBO's way of applying
    credit [S]), moves no money, and the invoices' balances already show it.
    """
    key = str(raw.get("Id") or "?")
    ref = raw.get("CustomerRef")
    customer_id = str(ref["value"]) if isinstance(ref, Mapping) and ref.get("value") is not None else None
    try:
        wire = _WIRE[kind].model_validate(raw)
    except ValidationError as exc:
        return LedgerRow(kind, key, raw, None, customer_id, problem=f"unreadable QuickBooks {kind}: {exc}")
    if isinstance(wire, QboPayment) and wire.total_amt == 0:
        return None
    build: Callable[[str | None], LedgerDocument] = wire.canonical
    return LedgerRow(kind, wire.id, raw, wire.updated_at, wire.customer_id, build=build)


class QuickBooksAccounting:
    """QBO as an AccountingSystem. QBO invoices are live when created: there is nothing to finalise."""

    system = "quickbooks"
    batch_size = BATCH_SIZE  # /batch carries 30 operations
    in_flight = 1  # batches go one at a time: 40 a minute is the binding limit

    def __init__(self, client: QuickBooksClient | QuickBooksCredentials) -> None:
        self.client = client if isinstance(client, QuickBooksClient) else QuickBooksClient(client)

    def create_invoice(self, order: MappedOrder) -> str:
        return self.client.create_invoice(order).id

    def create_invoices(self, orders: Sequence[MappedOrder]) -> list[str | ConnectorError]:
        """Batches without the per-batch number query: the flows batch-create first attempts only
        (tasks/posting.py looks every number up after any doubt), and QBO's own duplicate-number
        warning still refuses a repeat where the company keeps it on (the default)."""
        return self.client.create_invoices(orders, check_existing=False)

    def find_invoices(self, document_number: str) -> list[str]:
        return [invoice.id for invoice in self.client.find_invoices(document_number)]

    def finalize_invoices(self, invoice_ids: Sequence[str]) -> dict[str, ConnectorError]:
        """Nothing to do: QBO has no draft state for invoices."""
        return {}

    def changed(self, kind: DocumentKind, since: datetime | None) -> Iterator[list[LedgerRow]]:
        """Pages of documents whose ``MetaData.LastUpdatedTime`` is at or after ``since``."""
        for page in self._pages(kind, since):
            rows = [row for row in (_row(kind, raw) for raw in page) if row is not None]
            if rows:
                yield rows

    def _pages(self, kind: DocumentKind, since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        if kind == "invoice":
            return self.client.invoice_pages(modified_since=since)
        if kind == "payment":
            return self.client.payment_pages(modified_since=since)
        return self.client.credit_memo_pages(modified_since=since)

    def invoices_for_period(self, first: date, last: date) -> Iterator[Invoice]:
        """Every invoice: a QBO invoice carries its tax wherever it is dated, so the window only
        says which ones the caller will look at closely; open ones anywhere count for balances."""
        del first, last
        yield from self._canonical("invoice", lambda raw: QboInvoice.model_validate(raw).canonical(None))

    def payments(self) -> Iterator[Payment]:
        yield from self._canonical("payment", lambda raw: QboPayment.model_validate(raw).canonical(None))

    def credit_notes(self) -> Iterator[CreditNote]:
        yield from self._canonical(
            "credit_note", lambda raw: QboCreditMemo.model_validate(raw).canonical(None)
        )

    def _canonical(self, kind: DocumentKind, read: Callable[[Mapping[str, Any]], _Doc]) -> Iterator[_Doc]:
        """Each document canonical; one that cannot be read fails loudly, naming it."""
        for page in self.changed(kind, None):
            for row in page:
                try:
                    yield read(row.raw)
                except ValueError as exc:  # pydantic's ValidationError is one
                    raise QuickBooksError(
                        f"QuickBooks {kind} {row.key} cannot be read: {exc}", kind=ErrorKind.BAD_REQUEST
                    ) from exc

    def close(self) -> None:
        self.client.close()


if TYPE_CHECKING:  # mypy holds the adapter to the protocol the flows use
    _KEEPS_PROTOCOL: type[AccountingSystem] = QuickBooksAccounting
