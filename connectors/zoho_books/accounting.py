"""Zoho Books as an AccountingSystem: what the flows need, in Zoho's calls and shapes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from connectors.accounting import DocumentKind, LedgerDocument, LedgerRow, each_order
from connectors.http.errors import ConnectorError
from connectors.zoho.client import parse_zoho_time
from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_books.wire import ZohoCreditNote, ZohoInvoice, ZohoPayment
from dealer_sync.models import CreditNote, Invoice, MappedOrder, Payment

_WIRE: dict[str, tuple[type[ZohoInvoice] | type[ZohoPayment] | type[ZohoCreditNote], str]] = {
    "invoice": (ZohoInvoice, "invoice_id"),
    "payment": (ZohoPayment, "payment_id"),
    "credit_note": (ZohoCreditNote, "creditnote_id"),
}
_NOT_RECEIVABLE = ("void", "draft")


def ledger_row(kind: DocumentKind, row: dict[str, Any]) -> LedgerRow:
    """A list row as a LedgerRow; an unreadable change time makes it a row with a problem."""
    wire, id_field = _WIRE[kind]
    key = str(row.get(id_field) or "?")
    customer = row.get("customer_id")
    customer_id = str(customer) if customer is not None else None
    try:
        stamp = parse_zoho_time(str(row["last_modified_time"]))
    except (KeyError, ValueError) as exc:
        return LedgerRow(kind, key, row, None, customer_id, problem=f"unreadable last_modified_time: {exc}")

    def build(dealer_id: str | None) -> LedgerDocument:
        return wire.model_validate(row).canonical(dealer_id)

    return LedgerRow(kind, key, row, stamp, customer_id, build)


class ZohoBooksAccounting:
    """Invoices created with our number (Zoho's drafts then marked sent); payments, credit notes."""

    system = "zoho_books"
    batch_size = 1  # Zoho Books creates invoices one per request

    def __init__(self, client: ZohoBooksClient) -> None:
        self.client = client
        self.in_flight = client.in_flight

    def create_invoice(self, order: MappedOrder) -> str:
        return self.client.create_invoice(order).invoice_id

    def create_invoices(self, orders: Sequence[MappedOrder]) -> list[str | ConnectorError]:
        return each_order(self.create_invoice, orders, self.in_flight)

    def find_invoices(self, document_number: str) -> list[str]:
        return [invoice.invoice_id for invoice in self.client.find_invoices(document_number)]

    def finalize_invoices(self, invoice_ids: Sequence[str]) -> dict[str, ConnectorError]:
        return self.client.mark_invoices_sent(invoice_ids)

    def changed(self, kind: DocumentKind, since: datetime | None) -> Iterator[list[LedgerRow]]:
        """Invoices filter on change time; payments come newest first, so reading stops at
        ``since``; credit notes cannot be filtered or sorted by it, so all are read."""
        if kind == "invoice":
            for page in self.client.invoice_pages(modified_since=since):
                yield [ledger_row(kind, row) for row in page]
        elif kind == "payment":
            for page in self.client.payment_pages():
                rows = [ledger_row(kind, row) for row in page]
                older = [r for r in rows if since and r.changed_at is not None and r.changed_at < since]
                if older:
                    cut = rows.index(older[0])
                    yield rows[:cut]
                    return
                yield rows
        else:
            for page in self.client.credit_note_pages():
                yield [ledger_row(kind, row) for row in page]

    def invoices_for_period(self, first: date, last: date) -> Iterator[Invoice]:
        """Lists carry no tax: the period's receivable invoices are read one by one for it."""
        for page in self.client.invoice_pages():
            for row in page:
                invoice = ZohoInvoice.model_validate(row)
                if first <= invoice.date <= last and invoice.status not in _NOT_RECEIVABLE:
                    invoice = self.client.invoice_detail(invoice.invoice_id)
                yield invoice.canonical(None)

    def payments(self) -> Iterator[Payment]:
        for page in self.client.payment_pages():
            for row in page:
                yield ZohoPayment.model_validate(row).canonical(None)

    def credit_notes(self) -> Iterator[CreditNote]:
        """Lists do not name a note's invoice: an open note (the ones finance must act on) is
        read one by one for it."""
        for page in self.client.credit_note_pages():
            for row in page:
                note = ZohoCreditNote.model_validate(row)
                if note.balance > 0 and note.status == "open":
                    note = self.client.credit_note_detail(note.creditnote_id)
                yield note.canonical(None)

    def close(self) -> None:
        self.client.close()
