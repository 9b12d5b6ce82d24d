"""What the accounting system owns: invoices, payments, credit notes, and a dealer's position."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from dealer_sync.models.base import (
    CanonicalModel,
    Id,
    Percent,
    PositiveQuantity,
    require_currency,
    require_equal,
)
from dealer_sync.models.orders import TaxLine
from dealer_sync.money import Currency, Money, total
from dealer_sync.timeutil import UtcDateTime


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"


class InvoiceLine(CanonicalModel):
    line_no: int = Field(ge=1)
    item_id: Id | None = None
    sku: Id | None = None
    description: str | None = None
    quantity: PositiveQuantity
    unit_price: Money
    amount: Money
    tax_rate: Percent = Decimal(0)
    tax_lines: tuple[TaxLine, ...] = ()


class Invoice(CanonicalModel):
    """An invoice as the ledger holds it.

    Lists from some systems carry no lines, and Zoho's list carries no subtotal or tax either;
    then only what is there is checked (total and balance always are).
    ``reference`` carries the portal order number the invoice was raised for.
    """

    id: Id
    number: Id
    customer_id: Id
    dealer_id: Id | None = None
    reference: str | None = None
    status: InvoiceStatus
    issue_date: date
    due_date: date
    currency: Currency
    lines: tuple[InvoiceLine, ...] = ()
    subtotal: Money | None = None
    tax_total: Money | None = None
    adjustment: Money | None = None
    total: Money
    balance: Money
    updated_at: UtcDateTime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        c = self.currency
        require_currency(c, self.subtotal, self.tax_total, self.adjustment, self.total, self.balance)
        if self.lines:
            if self.subtotal is None:
                raise ValueError(f"invoice {self.number} has lines but no subtotal")
            require_equal("subtotal", self.subtotal, total([ln.amount for ln in self.lines], c))
        if self.subtotal is not None and self.tax_total is not None:
            adjustment = self.adjustment or Money.zero(c)
            require_equal("total", self.total, self.subtotal + self.tax_total + adjustment)
        if self.due_date < self.issue_date:
            raise ValueError(f"invoice {self.number}: due date {self.due_date} is before {self.issue_date}")
        if self.balance.amount < 0 or self.balance > self.total:
            raise ValueError(f"invoice {self.number}: balance {self.balance} is outside 0..{self.total}")
        return self

    @property
    def paid(self) -> Money:
        return self.total - self.balance

    def is_overdue(self, today: date) -> bool:
        open_ = self.status not in (InvoiceStatus.VOID, InvoiceStatus.DRAFT)
        return open_ and not self.balance.is_zero() and self.due_date < today


class Allocation(CanonicalModel):
    """Part of a payment or credit applied to one invoice."""

    invoice_id: Id
    amount: Money


class Payment(CanonicalModel):
    id: Id
    customer_id: Id
    dealer_id: Id | None = None
    amount: Money
    paid_on: date
    reference: str | None = None
    mode: str | None = None
    allocations: tuple[Allocation, ...] = ()
    unused: Money | None = Field(
        default=None, description="the ledger's own not-applied figure; lists carry it, not allocations"
    )
    updated_at: UtcDateTime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        c = self.amount.currency
        require_currency(c, self.unused, *(a.amount for a in self.allocations))
        if self.unused is not None and (self.unused.amount < 0 or self.unused > self.amount):
            raise ValueError(f"payment {self.id}: unused {self.unused} is outside 0..{self.amount}")
        if self.amount.amount <= 0:
            raise ValueError(f"payment {self.id}: amount must be positive, got {self.amount}")
        if self.allocated > self.amount:
            raise ValueError(
                f"payment {self.id}: {self.allocated} allocated exceeds the amount {self.amount}"
            )
        return self

    @property
    def allocated(self) -> Money:
        return total([a.amount for a in self.allocations], self.amount.currency)

    @property
    def unapplied(self) -> Money:
        """Not yet applied to an invoice: the ledger's own figure when it gave one."""
        return self.unused if self.unused is not None else self.amount - self.allocated


class CreditNoteStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    VOID = "void"


class CreditNote(CanonicalModel):
    """A return or refund: reduces what a dealer owes once applied to invoices."""

    id: Id
    number: Id
    customer_id: Id
    dealer_id: Id | None = None
    invoice_id: Id | None = Field(default=None, description="the invoice it was raised against")
    status: CreditNoteStatus
    issued_on: date
    currency: Currency
    total: Money
    balance: Money = Field(description="credit not yet applied to any invoice")
    allocations: tuple[Allocation, ...] = ()
    reason: str | None = None
    updated_at: UtcDateTime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        c = self.currency
        require_currency(c, self.total, self.balance, *(a.amount for a in self.allocations))
        if self.total.amount <= 0:
            raise ValueError(f"credit note {self.number}: total must be positive")
        if self.balance.amount < 0 or self.balance > self.total:
            raise ValueError(f"credit note {self.number}: balance {self.balance} is outside 0..{self.total}")
        if self.allocations:
            applied = total([a.amount for a in self.allocations], c)
            require_equal(f"credit note {self.number} applied", applied, self.total - self.balance)
        return self


class DealerAccount(CanonicalModel):
    """A dealer's position as shown in the portal, derived from the ledger."""

    dealer_id: Id
    currency: Currency
    credit_limit: Money
    outstanding: Money
    overdue: Money
    unapplied_credit: Money
    available_credit: Money
    as_of: UtcDateTime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        c = self.currency
        require_currency(
            c, self.credit_limit, self.outstanding, self.overdue, self.unapplied_credit,
            self.available_credit,
        )
        if self.overdue > self.outstanding:
            raise ValueError(f"dealer {self.dealer_id}: overdue exceeds outstanding")
        require_equal(
            f"dealer {self.dealer_id} available credit",
            self.available_credit,
            self.credit_limit - self.outstanding + self.unapplied_credit,
        )
        return self
