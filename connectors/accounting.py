"""What the flows need of an accounting system, whichever vendor it is.

Each accounting connector keeps its vendor's shapes (wire models, pages, error tables) and adds
one adapter, ``connectors/<vendor>/accounting.py``, that keeps this protocol. order-to-invoice,
the pullback and the reconciliation talk to the protocol only, so a new ledger is a new adapter
and a simulator, never a change to a flow.

The promises every adapter keeps (the contract suite in tests/connectors/test_accounting_contract.py
checks them against each simulator):

* ``create_invoice`` creates one invoice numbered ``order.document_number`` (our number is the
  handle for a later lookup) and returns the ledger's id of it. A failure is a ConnectorError of
  the shared kinds; a write whose outcome is unknown is UNCERTAIN, a number the ledger already
  holds is DUPLICATE, never a second invoice.
* ``create_invoices`` does the same for many orders, in the ledger's own batches where it has
  them (``batch_size`` > 1: QuickBooks' /batch, Xero's multi-invoice POST, a Tally envelope of
  many vouchers), and answers per order: the id, or that order's ConnectorError.
* ``find_invoices`` returns the ids of invoices carrying our number: none, one, or (a fault of
  the ledger's) several.
* ``finalize_invoices`` makes created invoices count as receivables (Zoho's drafts are marked
  sent); it is harmless to repeat and a no-op where the ledger has no draft state. It answers
  the invoices it could not finalize (id -> error; empty when all are), so one failure holds back
  only its own order; an AUTH failure is raised.
* ``changed`` yields pages of ``LedgerRow``: documents changed at or after ``since`` (a superset
  is allowed; rows without a change time are never dropped by the caller's window).
* ``invoices_for_period`` yields every invoice as canonical ``Invoice`` (open ones anywhere in
  time count for outstanding balances) with its tax total wherever it is dated ``first..last``.
* ``payments`` and ``credit_notes`` yield every one, canonical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from connectors.http.errors import ConnectorError
from connectors.http.overlap import overlapped
from dealer_sync.models import CreditNote, Invoice, MappedOrder, Payment

DocumentKind = Literal["invoice", "payment", "credit_note"]
DOCUMENT_KINDS: tuple[DocumentKind, ...] = ("invoice", "payment", "credit_note")
LedgerDocument = Invoice | Payment | CreditNote


def each_order(
    create: Callable[[MappedOrder], str], orders: Sequence[MappedOrder], in_flight: int = 1
) -> list[str | ConnectorError]:
    """``create_invoices`` for a ledger without batches: one request an order, up to ``in_flight``
    at once, answered in the orders' order; an auth failure is not repeated per order."""
    answers: dict[int, str | ConnectorError] = dict(overlapped(create, orders, in_flight))
    return [answers[index] for index in range(len(orders))]


@dataclass(frozen=True)
class LedgerRow:
    """One document as read, before it is mapped: enough to window it, route it, or quarantine it.

    ``raw`` is the vendor's payload, kept as the quarantine record when the row cannot be read.
    ``changed_at`` is None where the ledger keeps no change time (Tally): such rows are always
    taken. ``problem`` says why a row is unreadable before any mapping is tried.
    """

    kind: DocumentKind
    key: str
    raw: Mapping[str, Any]
    changed_at: datetime | None
    customer_id: str | None
    build: Callable[[str | None], LedgerDocument] | None = None
    problem: str | None = None

    def canonical(self, dealer_id: str | None) -> LedgerDocument:
        """The canonical document; raises ValueError (pydantic's ValidationError is one) if bad."""
        if self.build is None:
            raise ValueError(self.problem or f"{self.kind} {self.key} cannot be read")
        return self.build(dealer_id)


class AccountingSystem(Protocol):
    """An accounting ledger as the flows see it. Plain client code: no Prefect inside."""

    system: str  # the name mapping tables, the outbox and the audit use for this ledger
    batch_size: int  # invoices one create request can carry; 1: the ledger creates one at a time
    in_flight: int  # with batch_size 1: create requests a batch may have in flight at once

    def create_invoice(self, order: MappedOrder) -> str: ...

    def create_invoices(self, orders: Sequence[MappedOrder]) -> list[str | ConnectorError]: ...

    def find_invoices(self, document_number: str) -> list[str]: ...

    def finalize_invoices(self, invoice_ids: Sequence[str]) -> dict[str, ConnectorError]: ...

    def changed(self, kind: DocumentKind, since: datetime | None) -> Iterator[list[LedgerRow]]: ...

    def invoices_for_period(self, first: date, last: date) -> Iterator[Invoice]: ...

    def payments(self) -> Iterator[Payment]: ...

    def credit_notes(self) -> Iterator[CreditNote]: ...

    def close(self) -> None: ...
