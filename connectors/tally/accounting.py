"""Tally Prime as an AccountingSystem: Sales vouchers are invoices, Receipts payments.

Tally keeps no change times (apis.md 4.4), so ``changed`` reads every voucher of a type and its
rows carry no ``changed_at``: the pullback takes them all and its upserts make that harmless.
A voucher is booked as it is imported, so there is nothing to finalize.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from connectors.accounting import DocumentKind, LedgerDocument, LedgerRow
from connectors.http.errors import ConnectorError
from connectors.tally.client import TallyClient
from connectors.tally.wire import TallyCreditNote, TallyReceipt, TallySalesVoucher
from dealer_sync.models import CreditNote, Invoice, MappedOrder, Payment

_WIRE: dict[str, type[TallySalesVoucher] | type[TallyReceipt] | type[TallyCreditNote]] = {
    "invoice": TallySalesVoucher,
    "payment": TallyReceipt,
    "credit_note": TallyCreditNote,
}


def ledger_row(kind: DocumentKind, row: dict[str, Any]) -> LedgerRow:
    """A voucher row as a LedgerRow; its key and party read leniently so a bad one can be kept."""
    wire = _WIRE[kind]
    key = str(row.get("REMOTEID") or row.get("GUID") or row.get("MASTERID") or "?")
    party = str(row.get("PARTYLEDGERNAME") or "").strip() or None

    def build(dealer_id: str | None) -> LedgerDocument:
        return wire.model_validate(row).canonical(dealer_id)

    return LedgerRow(kind, key, row, None, party, build)


class TallyAccounting:
    system = "tally"
    batch_size = 100  # vouchers per import envelope: one request, one Tally transaction [U: no limit known]
    in_flight = 1  # Tally serves one request at a time

    def __init__(self, client: TallyClient) -> None:
        self.client = client

    def create_invoice(self, order: MappedOrder) -> str:
        return self.client.create_invoice(order).id

    def create_invoices(self, orders: Sequence[MappedOrder]) -> list[str | ConnectorError]:
        return self.client.create_invoices(orders)

    def find_invoices(self, document_number: str) -> list[str]:
        return [voucher.id for voucher in self.client.find_invoices(document_number)]

    def finalize_invoices(self, invoice_ids: Sequence[str]) -> dict[str, ConnectorError]:
        """Nothing to do: Tally has no draft state."""
        return {}

    def changed(self, kind: DocumentKind, since: datetime | None) -> Iterator[list[LedgerRow]]:
        del since  # no change times to filter on: every voucher of the kind is read
        pages = {
            "invoice": self.client.invoice_pages,
            "payment": self.client.payment_pages,
            "credit_note": self.client.credit_note_pages,
        }[kind]()
        for page in pages:
            yield [ledger_row(kind, row) for row in page]

    def invoices_for_period(self, first: date, last: date) -> Iterator[Invoice]:
        """Every Sales voucher: Tally's export carries each one's tax legs already."""
        del first, last
        for page in self.client.invoice_pages():
            for row in page:
                yield TallySalesVoucher.model_validate(row).canonical(None)

    def payments(self) -> Iterator[Payment]:
        for page in self.client.payment_pages():
            for row in page:
                yield TallyReceipt.model_validate(row).canonical(None)

    def credit_notes(self) -> Iterator[CreditNote]:
        for page in self.client.credit_note_pages():
            for row in page:
                yield TallyCreditNote.model_validate(row).canonical(None)

    def close(self) -> None:
        self.client.close()
