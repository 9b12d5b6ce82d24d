"""Xero as an AccountingSystem: what the flows need, in Xero's calls and shapes.

Invoices are created AUTHORISED, so there is nothing to finalize. Every list filters on
``If-Modified-Since`` and sorts by ``UpdatedDateUTC``, so ``changed`` reads only what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from connectors.accounting import DocumentKind, LedgerDocument, LedgerRow
from connectors.http.errors import ConnectorError
from connectors.xero.client import BATCH_SIZE, XeroClient, XeroCredentials
from connectors.xero.wire import XeroCreditNote, XeroInvoice, XeroPayment, parse_xero_time
from dealer_sync.models import CreditNote, Invoice, MappedOrder, Payment

_WIRE: dict[str, tuple[type[XeroInvoice] | type[XeroPayment] | type[XeroCreditNote], str]] = {
    "invoice": (XeroInvoice, "InvoiceID"),
    "payment": (XeroPayment, "PaymentID"),
    "credit_note": (XeroCreditNote, "CreditNoteID"),
}


def _customer_id(kind: DocumentKind, row: dict[str, Any]) -> str | None:
    """Invoices and credit notes name their contact; a payment names it on its invoice."""
    holder = row.get("Invoice") if kind == "payment" else row
    contact = holder.get("Contact") if isinstance(holder, dict) else None
    value = contact.get("ContactID") if isinstance(contact, dict) else None
    return str(value) if value else None


def ledger_row(kind: DocumentKind, row: dict[str, Any]) -> LedgerRow:
    """A list row as a LedgerRow; an unreadable change time makes it a row with a problem."""
    wire, id_field = _WIRE[kind]
    key = str(row.get(id_field) or "?")
    customer_id = _customer_id(kind, row)
    try:
        stamp = parse_xero_time(str(row["UpdatedDateUTC"]))
    except (KeyError, ValueError) as exc:
        return LedgerRow(kind, key, row, None, customer_id, problem=f"unreadable UpdatedDateUTC: {exc}")

    def build(dealer_id: str | None) -> LedgerDocument:
        return wire.model_validate(row).canonical(dealer_id)

    return LedgerRow(kind, key, row, stamp, customer_id, build)


class XeroAccounting:
    """Invoices created AUTHORISED with our number; payments and credit notes read back."""

    system = "xero"
    batch_size = BATCH_SIZE  # invoices in one POST with summarizeErrors=false
    in_flight = 1  # batches go one at a time: 60 requests a minute is plenty for 50 invoices each

    def __init__(self, client: XeroClient | XeroCredentials) -> None:
        self.client = client if isinstance(client, XeroClient) else client.get_client()

    def create_invoice(self, order: MappedOrder) -> str:
        return self.client.create_invoice(order).invoice_id

    def create_invoices(self, orders: Sequence[MappedOrder]) -> list[str | ConnectorError]:
        return self.client.create_invoices(orders)

    def find_invoices(self, document_number: str) -> list[str]:
        return [invoice.invoice_id for invoice in self.client.find_invoices(document_number)]

    def finalize_invoices(self, invoice_ids: Sequence[str]) -> dict[str, ConnectorError]:
        """Nothing to do: invoices are created AUTHORISED, receivable from the start."""
        return {}

    def changed(self, kind: DocumentKind, since: datetime | None) -> Iterator[list[LedgerRow]]:
        pages: Callable[[datetime | None], Iterator[list[dict[str, Any]]]] = {
            "invoice": self.client.invoice_pages,
            "payment": self.client.payment_pages,
            "credit_note": self.client.credit_note_pages,
        }[kind]
        for page in pages(since):
            yield [ledger_row(kind, row) for row in page]

    def invoices_for_period(self, first: date, last: date) -> Iterator[Invoice]:
        """Every invoice: Xero's list pages carry each one's tax total already."""
        del first, last
        for page in self.client.invoice_pages():
            for row in page:
                yield XeroInvoice.model_validate(row).canonical(None)

    def payments(self) -> Iterator[Payment]:
        """Every payment that stands; deleted (reversed) ones are no payments."""
        for page in self.client.payment_pages():
            for row in page:
                payment = XeroPayment.model_validate(row)
                if payment.status != "DELETED":
                    yield payment.canonical(None)

    def credit_notes(self) -> Iterator[CreditNote]:
        for page in self.client.credit_note_pages():
            for row in page:
                yield XeroCreditNote.model_validate(row).canonical(None)

    def close(self) -> None:
        self.client.close()
