"""Xero payloads as read (tolerant: unknown fields ignored), and their canonical forms.

Dates arrive as MS-JSON, ``/Date(1763769600000+0000)/`` (apis.md 3.1): a document date is
midnight UTC of that day, ``UpdatedDateUTC`` an instant. ISO text is read too.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from connectors.wire import wire_decimal
from dealer_sync.models import (
    Allocation,
    CreditNote,
    CreditNoteStatus,
    Invoice,
    InvoiceStatus,
    Payment,
)
from dealer_sync.money import Money

# Xero sends CurrencyCode on every invoice and credit note; a payment names it only on its
# invoice. This default covers a payment whose invoice reference leaves it out.
DEFAULT_CURRENCY = "INR"
_MS_JSON = re.compile(r"^/Date\((-?\d+)([+-]\d{2})?(\d{2})?\)/$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_xero_time(value: str) -> dt.datetime:
    """An aware UTC instant from MS-JSON or ISO text (naive ISO text is UTC, as Xero writes it).

    The MS-JSON offset says where the instant was shown, not a shift of it: the milliseconds
    are UTC already.
    """
    text = value.strip()
    match = _MS_JSON.match(text)
    if match:
        return _EPOCH + dt.timedelta(milliseconds=int(match.group(1)))
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def _time(value: Any) -> Any:
    if isinstance(value, str) and value:
        try:
            return parse_xero_time(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a Xero timestamp") from exc
    return value


def _date(value: Any) -> Any:
    if isinstance(value, str) and value:
        try:
            return parse_xero_time(value).date()
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a Xero date") from exc
    return value


def _decimal(value: Any) -> Decimal:
    """Amounts are JSON numbers (decoded as Decimal); numeric text is accepted, floats are not."""
    return wire_decimal(value, blank_is_zero=True, floats=False)


XeroTime = Annotated[dt.datetime, BeforeValidator(_time)]
XeroDate = Annotated[dt.date, BeforeValidator(_date)]
XeroDecimal = Annotated[Decimal, BeforeValidator(_decimal)]


class XeroRecord(BaseModel):
    """Vendor payloads may grow fields at any time: ignore what we do not read."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class XeroContactRef(XeroRecord):
    contact_id: str = Field(alias="ContactID")
    name: str | None = Field(default=None, alias="Name")


class XeroLineItem(XeroRecord):
    line_item_id: str | None = Field(default=None, alias="LineItemID")
    item_code: str | None = Field(default=None, alias="ItemCode")
    description: str | None = Field(default=None, alias="Description")
    quantity: XeroDecimal = Field(default=Decimal(0), alias="Quantity")
    unit_amount: XeroDecimal = Field(default=Decimal(0), alias="UnitAmount")
    tax_type: str | None = Field(default=None, alias="TaxType")
    tax_amount: XeroDecimal = Field(default=Decimal(0), alias="TaxAmount")
    line_amount: XeroDecimal = Field(default=Decimal(0), alias="LineAmount")


_INVOICE_STATUS = {
    "DRAFT": InvoiceStatus.DRAFT,
    "SUBMITTED": InvoiceStatus.DRAFT,  # awaiting approval: not yet a receivable
    "PAID": InvoiceStatus.PAID,
    "VOIDED": InvoiceStatus.VOID,
    "DELETED": InvoiceStatus.VOID,
}


class XeroInvoice(XeroRecord):
    """An invoice of a list page or a create answer (both carry totals and lines)."""

    invoice_id: str = Field(alias="InvoiceID")
    invoice_number: str = Field(alias="InvoiceNumber")
    type: str = Field(default="ACCREC", alias="Type")
    reference: str | None = Field(default=None, alias="Reference")
    contact: XeroContactRef = Field(alias="Contact")
    date: XeroDate = Field(alias="Date")
    due_date: XeroDate | None = Field(default=None, alias="DueDate")
    status: str = Field(alias="Status")
    line_amount_types: str | None = Field(default=None, alias="LineAmountTypes")
    line_items: list[XeroLineItem] = Field(default_factory=list, alias="LineItems")
    sub_total: XeroDecimal | None = Field(default=None, alias="SubTotal")
    total_tax: XeroDecimal | None = Field(default=None, alias="TotalTax")
    total: XeroDecimal = Field(alias="Total")
    amount_due: XeroDecimal = Field(alias="AmountDue")
    amount_paid: XeroDecimal = Field(default=Decimal(0), alias="AmountPaid")
    amount_credited: XeroDecimal = Field(default=Decimal(0), alias="AmountCredited")
    currency_code: str = Field(default=DEFAULT_CURRENCY, alias="CurrencyCode")
    updated_at: XeroTime = Field(alias="UpdatedDateUTC")

    def canonical(self, dealer_id: str | None) -> Invoice:
        """The canonical invoice: totals, tax and balance as Xero states them.

        Lines are left out, as for Zoho: Xero names a line's tax by TaxType, not by rate, and a
        description-only line (no quantity) would not be a canonical line.
        """
        c = self.currency_code

        def money(value: Decimal) -> Money:
            return Money(amount=value, currency=c)

        status = _INVOICE_STATUS.get(self.status)
        if status is None:  # AUTHORISED (and anything newer): open
            settled = self.amount_paid + self.amount_credited
            status = InvoiceStatus.PARTIALLY_PAID if settled > 0 else InvoiceStatus.SENT
        balance = Decimal(0) if status is InvoiceStatus.VOID else self.amount_due
        adjustment = Decimal(0)
        if self.sub_total is not None and self.total_tax is not None:
            adjustment = self.total - self.sub_total - self.total_tax
        return Invoice(
            id=self.invoice_id,
            number=self.invoice_number,
            customer_id=self.contact.contact_id,
            dealer_id=dealer_id,
            reference=self.reference or None,
            status=status,
            issue_date=self.date,
            due_date=self.due_date or self.date,
            currency=c,
            subtotal=money(self.sub_total) if self.sub_total is not None else None,
            tax_total=money(self.total_tax) if self.total_tax is not None else None,
            adjustment=money(adjustment) if adjustment else None,
            total=money(self.total),
            balance=money(balance),
            updated_at=self.updated_at,
        )


class XeroInvoiceRef(XeroRecord):
    invoice_id: str = Field(alias="InvoiceID")
    invoice_number: str | None = Field(default=None, alias="InvoiceNumber")
    contact: XeroContactRef | None = Field(default=None, alias="Contact")
    currency_code: str | None = Field(default=None, alias="CurrencyCode")


class XeroPayment(XeroRecord):
    """A receipt (ACCRECPAYMENT): one payment settles one invoice in Xero."""

    payment_id: str = Field(alias="PaymentID")
    date: XeroDate = Field(alias="Date")
    amount: XeroDecimal = Field(alias="Amount")
    reference: str | None = Field(default=None, alias="Reference")
    status: str = Field(default="AUTHORISED", alias="Status")
    payment_type: str | None = Field(default=None, alias="PaymentType")
    invoice: XeroInvoiceRef = Field(alias="Invoice")
    updated_at: XeroTime = Field(alias="UpdatedDateUTC")

    @property
    def customer_id(self) -> str | None:
        return self.invoice.contact.contact_id if self.invoice.contact else None

    def canonical(self, dealer_id: str | None) -> Payment:
        """A deleted payment (a reversed receipt) is no payment: reading one raises ValueError."""
        if self.status == "DELETED":
            raise ValueError(f"payment {self.payment_id} was deleted in Xero")
        if self.customer_id is None:
            raise ValueError(f"payment {self.payment_id} names no contact on its invoice")
        c = self.invoice.currency_code or DEFAULT_CURRENCY
        amount = Money(amount=self.amount, currency=c)
        return Payment(
            id=self.payment_id,
            customer_id=self.customer_id,
            dealer_id=dealer_id,
            amount=amount,
            paid_on=self.date,
            reference=self.reference or None,
            allocations=(Allocation(invoice_id=self.invoice.invoice_id, amount=amount),),
            unused=Money.zero(c),
            updated_at=self.updated_at,
        )


class XeroAllocation(XeroRecord):
    amount: XeroDecimal = Field(alias="Amount")
    invoice: XeroInvoiceRef = Field(alias="Invoice")


_CREDIT_STATUS = {
    "PAID": CreditNoteStatus.CLOSED,  # fully allocated
    "VOIDED": CreditNoteStatus.VOID,
    "DELETED": CreditNoteStatus.VOID,
}


class XeroCreditNote(XeroRecord):
    credit_note_id: str = Field(alias="CreditNoteID")
    credit_note_number: str = Field(alias="CreditNoteNumber")
    type: str = Field(default="ACCRECCREDIT", alias="Type")
    reference: str | None = Field(default=None, alias="Reference")
    contact: XeroContactRef = Field(alias="Contact")
    date: XeroDate = Field(alias="Date")
    status: str = Field(alias="Status")
    total: XeroDecimal = Field(alias="Total")
    remaining_credit: XeroDecimal = Field(default=Decimal(0), alias="RemainingCredit")
    currency_code: str = Field(default=DEFAULT_CURRENCY, alias="CurrencyCode")
    allocations: list[XeroAllocation] = Field(default_factory=list, alias="Allocations")
    updated_at: XeroTime = Field(alias="UpdatedDateUTC")

    def canonical(self, dealer_id: str | None) -> CreditNote:
        """Drafts count as open [choice: CreditNoteStatus has no draft]; ``invoice_id`` is the
        invoice its allocations went to when there is exactly one (Xero records no other)."""
        c = self.currency_code
        status = _CREDIT_STATUS.get(self.status, CreditNoteStatus.OPEN)
        invoices = {a.invoice.invoice_id for a in self.allocations}
        void = status is CreditNoteStatus.VOID
        return CreditNote(
            id=self.credit_note_id,
            number=self.credit_note_number,
            customer_id=self.contact.contact_id,
            dealer_id=dealer_id,
            invoice_id=invoices.pop() if len(invoices) == 1 else None,
            status=status,
            issued_on=self.date,
            currency=c,
            total=Money(amount=self.total, currency=c),
            balance=Money(amount=Decimal(0) if void else self.remaining_credit, currency=c),
            allocations=tuple(
                Allocation(invoice_id=a.invoice.invoice_id, amount=Money(amount=a.amount, currency=c))
                for a in self.allocations
                if a.amount and not void
            ),
            reason=self.reference or None,
            updated_at=self.updated_at,
        )
