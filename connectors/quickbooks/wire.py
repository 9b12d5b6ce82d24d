"""QBO payloads as read (tolerant readers), and their canonical forms.

QBO keeps no document status: an invoice's state follows from ``TotalAmt`` and ``Balance``
(a voided invoice keeps its lines but drops to zero, with ``PrivateNote`` "Voided" [S]); a
credit memo's unapplied credit is ``RemainingCredit`` (or ``Balance``). Amounts are parsed from
JSON as Decimal; timestamps carry the company's offset and become aware UTC instants.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from connectors.quickbooks.bodies import reference_of
from connectors.wire import wire_decimal
from dealer_sync.models import (
    Allocation,
    CreditNote,
    CreditNoteStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
)
from dealer_sync.money import Money

HOME_CURRENCY = "INR"  # the company's, when an answer carries no CurrencyRef [U]


def _decimal(value: Any) -> Decimal:
    return wire_decimal(value)


def _time(value: Any) -> Any:
    """``2026-11-22T10:08:51-08:00`` -> aware UTC; a naive timestamp is refused, not guessed."""
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(f"{value!r} has no offset")
        return parsed.astimezone(dt.UTC)
    return value


QboDecimal = Annotated[Decimal, BeforeValidator(_decimal)]
QboTime = Annotated[dt.datetime, BeforeValidator(_time)]
QboId = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int | str) else v)]


class QboRecord(BaseModel):
    """Vendor payloads may grow fields at any time: ignore what we do not read."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class QboRef(QboRecord):
    value: QboId
    name: str | None = None


class QboMetaData(QboRecord):
    create_time: QboTime | None = Field(default=None, alias="CreateTime")
    last_updated_time: QboTime = Field(alias="LastUpdatedTime")


class QboLinkedTxn(QboRecord):
    txn_id: QboId = Field(alias="TxnId")
    txn_type: str = Field(alias="TxnType")


class QboSalesItemLineDetail(QboRecord):
    item_ref: QboRef | None = Field(default=None, alias="ItemRef")
    qty: QboDecimal | None = Field(default=None, alias="Qty")
    unit_price: QboDecimal | None = Field(default=None, alias="UnitPrice")
    tax_code_ref: QboRef | None = Field(default=None, alias="TaxCodeRef")


class QboLine(QboRecord):
    """A line of any DetailType; sales lines carry their detail, payment lines their links."""

    line_num: int | None = Field(default=None, alias="LineNum")
    description: str | None = Field(default=None, alias="Description")
    amount: QboDecimal = Field(default=Decimal(0), alias="Amount")
    detail_type: str | None = Field(default=None, alias="DetailType")
    sales: QboSalesItemLineDetail | None = Field(default=None, alias="SalesItemLineDetail")
    linked: list[QboLinkedTxn] = Field(default_factory=list, alias="LinkedTxn")


class QboTxnTaxDetail(QboRecord):
    total_tax: QboDecimal = Field(default=Decimal(0), alias="TotalTax")


class _QboTransaction(QboRecord):
    id: QboId = Field(alias="Id")
    txn_date: dt.date = Field(alias="TxnDate")
    customer_ref: QboRef = Field(alias="CustomerRef")
    currency_ref: QboRef | None = Field(default=None, alias="CurrencyRef")
    total_amt: QboDecimal = Field(alias="TotalAmt")
    lines: list[QboLine] = Field(default_factory=list, alias="Line")
    linked: list[QboLinkedTxn] = Field(default_factory=list, alias="LinkedTxn")
    private_note: str | None = Field(default=None, alias="PrivateNote")
    meta: QboMetaData = Field(alias="MetaData")

    @property
    def currency(self) -> str:
        return self.currency_ref.value if self.currency_ref is not None else HOME_CURRENCY

    @property
    def customer_id(self) -> str:
        return self.customer_ref.value

    @property
    def updated_at(self) -> dt.datetime:
        return self.meta.last_updated_time

    def money(self, value: Decimal) -> Money:
        return Money(amount=value, currency=self.currency)


class QboInvoice(_QboTransaction):
    doc_number: str | None = Field(default=None, alias="DocNumber")
    due_date: dt.date | None = Field(default=None, alias="DueDate")
    tax: QboTxnTaxDetail | None = Field(default=None, alias="TxnTaxDetail")
    balance: QboDecimal = Field(alias="Balance")

    def status(self) -> InvoiceStatus:
        if self.total_amt == 0 and (self.private_note or "").lower().startswith("voided"):
            return InvoiceStatus.VOID
        if self.total_amt > 0 and self.balance == 0:
            return InvoiceStatus.PAID
        if self.balance < self.total_amt:
            return InvoiceStatus.PARTIALLY_PAID
        return InvoiceStatus.SENT  # overdue is a matter of the due date, judged by the reader

    def _lines(self) -> tuple[InvoiceLine, ...]:
        """Sales lines; one without Qty (amount only) reads as one unit at its amount."""
        sales = [line for line in self.lines if line.detail_type == "SalesItemLineDetail"]
        result = []
        for number, line in enumerate(sales, start=1):
            detail = line.sales or QboSalesItemLineDetail()
            quantity = detail.qty if detail.qty is not None else Decimal(1)
            price = detail.unit_price if detail.unit_price is not None else line.amount
            result.append(
                InvoiceLine(
                    line_no=line.line_num or number,
                    item_id=detail.item_ref.value if detail.item_ref else None,
                    description=line.description,
                    quantity=quantity,
                    unit_price=self.money(price),
                    amount=self.money(line.amount),
                )
            )
        return tuple(result)

    def canonical(self, dealer_id: str | None) -> Invoice:
        lines = self._lines()
        subtotal = sum((line.amount.amount for line in lines), Decimal(0))
        tax = self.tax.total_tax if self.tax is not None else Decimal(0)
        adjustment = self.total_amt - subtotal - tax  # discounts and rounding lines
        return Invoice(
            id=self.id,
            number=self.doc_number or self.id,
            customer_id=self.customer_id,
            dealer_id=dealer_id,
            reference=reference_of(self.private_note),
            status=self.status(),
            issue_date=self.txn_date,
            due_date=self.due_date or self.txn_date,
            currency=self.currency,
            lines=lines,
            subtotal=self.money(subtotal),
            tax_total=self.money(tax),
            adjustment=self.money(adjustment) if adjustment else None,
            total=self.money(self.total_amt),
            balance=self.money(self.balance),
            updated_at=self.updated_at,
        )


class QboPayment(_QboTransaction):
    unapplied_amt: QboDecimal | None = Field(default=None, alias="UnappliedAmt")
    payment_ref_num: str | None = Field(default=None, alias="PaymentRefNum")
    payment_method_ref: QboRef | None = Field(default=None, alias="PaymentMethodRef")

    def allocations(self) -> tuple[Allocation, ...]:
        """Money applied per invoice. A payment that also spends credit memos applies more to
        invoices than it brings; which share is cash cannot be told per invoice, so such a
        payment lists none and its unapplied amount stands alone."""
        if any(link.txn_type != "Invoice" for line in self.lines for link in line.linked):
            return ()
        return tuple(
            Allocation(invoice_id=link.txn_id, amount=self.money(line.amount))
            for line in self.lines
            for link in line.linked[:1]
            if line.amount > 0
        )

    def canonical(self, dealer_id: str | None) -> Payment:
        return Payment(
            id=self.id,
            customer_id=self.customer_id,
            dealer_id=dealer_id,
            amount=self.money(self.total_amt),
            paid_on=self.txn_date,
            reference=self.payment_ref_num,
            mode=self.payment_method_ref.name if self.payment_method_ref else None,
            allocations=self.allocations(),
            unused=self.money(self.unapplied_amt) if self.unapplied_amt is not None else None,
            updated_at=self.updated_at,
        )


class QboCreditMemo(_QboTransaction):
    doc_number: str | None = Field(default=None, alias="DocNumber")
    balance: QboDecimal | None = Field(default=None, alias="Balance")
    remaining_credit: QboDecimal | None = Field(default=None, alias="RemainingCredit")

    def canonical(self, dealer_id: str | None) -> CreditNote:
        remaining = self.remaining_credit if self.remaining_credit is not None else self.balance
        if remaining is None:
            raise ValueError(f"credit memo {self.id} says neither RemainingCredit nor Balance")
        invoice = next((link.txn_id for link in self.linked if link.txn_type == "Invoice"), None)
        return CreditNote(
            id=self.id,
            number=self.doc_number or self.id,
            customer_id=self.customer_id,
            dealer_id=dealer_id,
            invoice_id=invoice,
            status=CreditNoteStatus.CLOSED if remaining == 0 else CreditNoteStatus.OPEN,
            issued_on=self.txn_date,
            currency=self.currency,
            total=self.money(self.total_amt),
            balance=self.money(remaining),
            reason=self.private_note,
            updated_at=self.updated_at,
        )
