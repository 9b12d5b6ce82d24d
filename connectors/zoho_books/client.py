"""Zoho Books client: invoices (created exactly once by number), payments, credit notes, contacts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from connectors.http.errors import ConnectorError
from connectors.http.overlap import call_each
from connectors.zoho.bodies import invoice_body
from connectors.zoho.client import ZohoClient, zoho_time
from connectors.zoho_books.wire import ZohoCreditNote, ZohoInvoice
from dealer_sync.models import MappedOrder


class ZohoBooksClient(ZohoClient):
    system = "zoho_books"

    def create_invoice(self, order: MappedOrder) -> ZohoInvoice:
        """Create with our own invoice number: the handle for a lookup after an uncertain outcome."""
        body = self.call(
            "POST",
            "/invoices",
            params={"ignore_auto_number_generation": "true"},
            json_body=invoice_body(order),
            write=True,
        )
        return ZohoInvoice.model_validate(body["invoice"])

    def mark_invoices_sent(self, invoice_ids: Sequence[str]) -> dict[str, ConnectorError]:
        """Approve drafts so they count as receivables; marking a sent invoice again is harmless.

        Returns the invoices that could not be marked (id -> error), to be marked by a later run.
        """

        def mark_sent(invoice_id: str) -> None:
            self.call_repeatable("POST", f"/invoices/{invoice_id}/status/sent")

        failed = call_each(mark_sent, invoice_ids, self.in_flight)
        return {invoice_ids[index]: error for index, error in failed.items()}

    def find_invoices(self, invoice_number: str) -> list[ZohoInvoice]:
        body = self.call("GET", "/invoices", params={"invoice_number": invoice_number})
        return [
            ZohoInvoice.model_validate(r)
            for r in body.get("invoices") or []
            if r.get("invoice_number") == invoice_number
        ]

    def invoice_pages(
        self,
        modified_since: datetime | None = None,
        date_start: date | None = None,
        date_end: date | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Invoice list pages (no lines, no tax), by change time and/or invoice date (inclusive)."""
        params = {
            "last_modified_time": zoho_time(modified_since) if modified_since else None,
            "date_start": date_start.isoformat() if date_start else None,
            "date_end": date_end.isoformat() if date_end else None,
            "sort_column": "last_modified_time",
            "sort_order": "A",
        }
        yield from self.pages("/invoices", "invoices", "invoice_id", params)

    def invoice_detail(self, invoice_id: str) -> ZohoInvoice:
        """One invoice with its subtotal and tax (lists carry neither)."""
        return ZohoInvoice.model_validate(self.call("GET", f"/invoices/{invoice_id}")["invoice"])

    def payment_pages(self) -> Iterator[list[dict[str, Any]]]:
        """Payments newest change first: Zoho documents no modified-since filter for them."""
        params = {"sort_column": "last_modified_time", "sort_order": "D"}
        yield from self.pages("/customerpayments", "customerpayments", "payment_id", params)

    def credit_note_detail(self, creditnote_id: str) -> ZohoCreditNote:
        """One credit note with the invoice it was raised against (lists leave that out)."""
        return ZohoCreditNote.model_validate(self.call("GET", f"/creditnotes/{creditnote_id}")["creditnote"])

    def credit_note_pages(self) -> Iterator[list[dict[str, Any]]]:
        """All credit notes: Zoho neither filters nor sorts them by modification time."""
        yield from self.pages("/creditnotes", "creditnotes", "creditnote_id", {"sort_column": "created_time"})

    def contact_pages(self) -> Iterator[list[dict[str, Any]]]:
        yield from self.pages("/contacts", "contacts", "contact_id", {"sort_column": "last_modified_time"})
