from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from dealer_sync.models import (
    Allocation,
    CreditNote,
    CreditNoteStatus,
    DealerAccount,
    Invoice,
    InvoiceStatus,
    Payment,
)
from dealer_sync.money import Money

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def inr(amount: str) -> Money:
    return Money.of(amount, "INR")


def invoice(**extra) -> Invoice:
    fields = {
        "id": "982000000567114",
        "number": "INV-DLR042-000123",
        "customer_id": "982000000567001",
        "status": InvoiceStatus.SENT,
        "issue_date": date(2026, 11, 22),
        "due_date": date(2026, 12, 22),
        "currency": "INR",
        "subtotal": inr("5800"),
        "tax_total": inr("1044"),
        "total": inr("6844"),
        "balance": inr("6844"),
        "updated_at": NOW,
    }
    fields.update(extra)
    return Invoice(**fields)


def test_a_partially_paid_invoice_reports_what_was_paid():
    inv = invoice(balance=inr("844"), status=InvoiceStatus.PARTIALLY_PAID)
    assert inv.paid == inr("6000")


def test_invoice_balance_must_lie_between_zero_and_the_total():
    with pytest.raises(ValidationError, match="outside 0..6844.00 INR"):
        invoice(balance=inr("7000"))
    with pytest.raises(ValidationError, match="outside"):
        invoice(balance=inr("-1"))


def test_invoice_total_includes_an_adjustment_such_as_round_off():
    assert invoice(adjustment=inr("0.40"), total=inr("6844.40"), balance=inr("0")).total == inr("6844.40")
    with pytest.raises(ValidationError, match="total is 6844.00 INR but the parts add up to 6844.40"):
        invoice(adjustment=inr("0.40"))


def test_due_date_cannot_precede_the_issue_date():
    with pytest.raises(ValidationError, match="due date 2026-11-01 is before 2026-11-22"):
        invoice(due_date=date(2026, 11, 1))


def test_overdue_means_open_unpaid_and_past_due():
    inv = invoice()
    assert not inv.is_overdue(date(2026, 12, 22))
    assert inv.is_overdue(date(2026, 12, 23))
    assert not invoice(balance=inr("0"), status=InvoiceStatus.PAID).is_overdue(date(2027, 1, 1))
    assert not invoice(status=InvoiceStatus.VOID).is_overdue(date(2027, 1, 1))


def test_payment_allocations_cannot_exceed_the_payment():
    pay = Payment(
        id="9030000079467", customer_id="c1", amount=inr("7000"), paid_on=date(2026, 11, 30),
        allocations=(Allocation(invoice_id="i1", amount=inr("6844")),), updated_at=NOW,
    )
    assert pay.unapplied == inr("156")
    with pytest.raises(ValidationError, match="7000.00 INR allocated exceeds the amount 6844.00 INR"):
        Payment(
            id="p2", customer_id="c1", amount=inr("6844"), paid_on=date(2026, 11, 30),
            allocations=(
                Allocation(invoice_id="i1", amount=inr("6000")),
                Allocation(invoice_id="i2", amount=inr("1000")),
            ),
            updated_at=NOW,
        )
    with pytest.raises(ValidationError, match="amount must be positive"):
        Payment(id="p3", customer_id="c1", amount=inr("0"), paid_on=date(2026, 11, 30), updated_at=NOW)


def test_credit_note_applied_amounts_match_what_left_its_balance():
    note = CreditNote(
        id="cn1", number="CN-1", customer_id="c1", invoice_id="i1", status=CreditNoteStatus.OPEN,
        issued_on=date(2026, 11, 25), currency="INR", total=inr("1180"), balance=inr("180"),
        allocations=(Allocation(invoice_id="i1", amount=inr("1000")),), updated_at=NOW,
    )
    assert note.balance == inr("180")
    with pytest.raises(ValidationError, match="applied is 900.00 INR but the parts add up to 1000.00"):
        CreditNote(
            id="cn1", number="CN-1", customer_id="c1", status=CreditNoteStatus.OPEN,
            issued_on=date(2026, 11, 25), currency="INR", total=inr("1180"), balance=inr("180"),
            allocations=(Allocation(invoice_id="i1", amount=inr("900")),), updated_at=NOW,
        )


def test_dealer_available_credit_is_limit_less_outstanding_plus_unapplied_credit():
    account = DealerAccount(
        dealer_id="DLR042", currency="INR", credit_limit=inr("100000"), outstanding=inr("6844"),
        overdue=inr("0"), unapplied_credit=inr("180"), available_credit=inr("93336"), as_of=NOW,
    )
    assert account.available_credit == inr("93336")
    with pytest.raises(ValidationError, match="available credit"):
        account.model_validate({**account.model_dump(), "available_credit": inr("93156")})
    with pytest.raises(ValidationError, match="overdue exceeds outstanding"):
        account.model_validate({**account.model_dump(), "overdue": inr("7000")})
