"""Portal orders and their lines, with a status lifecycle and totals that must add up."""

from __future__ import annotations

from datetime import date
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
from dealer_sync.models.parties import TaxTreatment
from dealer_sync.money import Currency, Money, total
from dealer_sync.timeutil import UtcDateTime


class OrderStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"


_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.DRAFT: frozenset({OrderStatus.SUBMITTED, OrderStatus.CANCELLED}),
    OrderStatus.SUBMITTED: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.INVOICED, OrderStatus.CANCELLED}),
    # An invoiced order is undone with a credit note in the ledger, never by cancelling it here.
    OrderStatus.INVOICED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class InvalidTransitionError(ValueError):
    """An order was asked to move to a status its lifecycle does not allow."""


class TaxLine(CanonicalModel):
    """One tax component of a line or document: CGST 9%, SGST 9%, IGST 18%, VAT 20%."""

    name: str = Field(min_length=1)
    rate: Percent
    amount: Money


class OrderLine(CanonicalModel):
    line_no: int = Field(ge=1)
    sku: Id
    description: str | None = None
    quantity: PositiveQuantity
    unit_price: Money
    amount: Money
    tax_rate: Percent = Field(description="total tax rate in percent, e.g. 18")
    tax_amount: Money
    tax_lines: tuple[TaxLine, ...] = ()

    @model_validator(mode="after")
    def _adds_up(self) -> Self:
        currency = self.unit_price.currency
        require_currency(currency, self.amount, self.tax_amount, *(t.amount for t in self.tax_lines))
        if self.unit_price.amount < 0:
            raise ValueError(f"line {self.line_no}: unit price cannot be negative")
        require_equal(f"line {self.line_no} amount", self.amount, self.unit_price.times(self.quantity))
        if self.tax_lines:
            require_equal(
                f"line {self.line_no} tax",
                self.tax_amount,
                total([t.amount for t in self.tax_lines], currency),
            )
        return self


class Order(CanonicalModel):
    """A dealer's order as the portal (its system of record) holds it.

    ``version`` increases with every change in the portal; it is part of every idempotency
    key derived from the order, so an edited order is a new effect and a rerun is not.
    """

    id: Id
    number: Id
    dealer_id: Id
    status: OrderStatus
    currency: Currency
    lines: tuple[OrderLine, ...] = Field(min_length=1)
    subtotal: Money
    tax_total: Money
    total: Money
    placed_at: UtcDateTime
    confirmed_at: UtcDateTime | None = None
    business_date: date
    price_list_id: Id | None = None
    tax_treatment: TaxTreatment | None = None
    version: int = Field(default=1, ge=1)
    updated_at: UtcDateTime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        line_numbers = [line.line_no for line in self.lines]
        if len(set(line_numbers)) != len(line_numbers):
            raise ValueError(f"order {self.number}: duplicate line numbers {sorted(line_numbers)}")
        require_currency(self.currency, self.subtotal, self.tax_total, self.total)
        for line in self.lines:
            require_currency(self.currency, line.unit_price)
        require_equal("subtotal", self.subtotal, total([ln.amount for ln in self.lines], self.currency))
        require_equal(
            "tax total", self.tax_total, total([ln.tax_amount for ln in self.lines], self.currency)
        )
        require_equal("total", self.total, self.subtotal + self.tax_total)
        needs_confirmation = self.status in (OrderStatus.CONFIRMED, OrderStatus.INVOICED)
        if needs_confirmation and self.confirmed_at is None:
            raise ValueError(f"order {self.number} is {self.status.value} but has no confirmed_at")
        return self

    def can_become(self, status: OrderStatus) -> bool:
        return status in _TRANSITIONS[self.status]

    def transition(self, status: OrderStatus) -> Order:
        """Return the order in its new status, or refuse a move the lifecycle forbids."""
        if not self.can_become(status):
            allowed = ", ".join(sorted(s.value for s in _TRANSITIONS[self.status])) or "none"
            raise InvalidTransitionError(
                f"order {self.number} cannot go from {self.status.value} to {status.value} "
                f"(allowed: {allowed})"
            )
        return self.model_copy(update={"status": status, "version": self.version + 1})
