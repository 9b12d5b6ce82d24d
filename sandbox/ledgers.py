"""One face for every accounting simulator, so the demo and the flow tests can run against any.

A ``LedgerSandbox`` seeds its simulator from a generated network the way onboarding would
(customers, items, taxes), serves it on loopback, names the settings that point dealer-sync at
it, and does what finance does in the ledger between runs (payments, credit notes). Tests read
its invoices back in one shape, whatever the vendor's.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from sandbox.faults import FaultInjector
from sandbox.network import Network


@dataclass
class SeededLedger:
    """What the simulator calls what the network holds: the rows of our mapping tables."""

    customers: dict[str, str] = field(default_factory=dict)  # dealer code -> customer id
    items: dict[str, str] = field(default_factory=dict)  # SKU -> item id
    taxes: dict[str, str] = field(default_factory=dict)  # tax key ("gst:intra_state:18") -> tax code


@dataclass(frozen=True)
class SandboxInvoice:
    """An invoice as the simulator holds it, in one shape for every vendor."""

    id: str
    number: str
    reference: str | None
    customer_id: str
    total: Decimal
    tax_total: Decimal
    balance: Decimal
    voided: bool = False


class LedgerSandbox(Protocol):
    system: str  # the accounting target's name in settings and mapping tables

    @property
    def faults(self) -> FaultInjector:
        """The faults of the simulator's API (the one the connector writes to)."""
        ...

    def seed(self, network: Network) -> SeededLedger: ...

    def serve(self) -> AbstractContextManager[dict[str, str]]:
        """Serve on loopback; yields the DEALER_SYNC_* variables that point dealer-sync at it,
        ``DEALER_SYNC_ACCOUNTING_TARGET`` included."""
        ...

    def invoices(self) -> list[SandboxInvoice]: ...

    def expire_tokens(self) -> bool:
        """Expire every access token issued so far; False where the ledger has no auth (Tally)."""
        ...

    def tokens_issued(self) -> int:
        """Access tokens issued so far (by refresh grants): how often a client refreshed."""
        ...

    def payment_count(self) -> int: ...

    def credit_note_count(self) -> int: ...

    def record_payment(self, invoice_id: str, amount: Decimal) -> None:
        """Finance receives ``amount`` from the invoice's customer and applies it to the invoice."""
        ...

    def record_credit_note(self, invoice_id: str, amount: Decimal) -> None:
        """Finance credits ``amount`` (before tax) against the invoice and applies it."""
        ...
