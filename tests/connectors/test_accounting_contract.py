"""The AccountingSystem contract, one suite for every ledger, over real HTTP to its simulator.

Each case builds the adapter exactly as a flow run does (settings from the DEALER_SYNC_*
variables the simulator's LedgerSandbox names -> tasks.environment.accounting_system), so a
ledger passes only if its configuration, connector and adapter work together. The promises are
those in connectors/accounting.py; vendor-specific ones live in each connector's own tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.accounting import AccountingSystem
from connectors.http.errors import ConnectorError, ErrorKind
from dealer_sync.models import MappedLine, MappedOrder, TaxKind, TaxRegime, TaxTreatment
from dealer_sync.money import Money, total
from dealer_sync.settings import Settings
from dealer_sync.tax import tax_lines
from sandbox.ledgers import LedgerSandbox, SeededLedger
from sandbox.network import NetworkSpec, generate
from sandbox.seeding import DEMO_CLIENT_ID
from sandbox.targets import ledger_sandbox
from sandbox.zoho import ZohoSandbox
from tasks.environment import accounting_system

TARGETS = ["zoho_books", "tally", "xero", "quickbooks"]
CREDENTIALS = (DEMO_CLIENT_ID, "contract-secret-5d1e", "1000.contract-refresh-77a0")
DAY = date(2026, 11, 20)


@dataclass
class Ledger:
    sandbox: LedgerSandbox
    seeded: SeededLedger
    accounting: AccountingSystem


@pytest.fixture(params=TARGETS)
def ledger(request, tmp_path: Path, monkeypatch) -> Iterator[Ledger]:
    for name in [n for n in os.environ if n.startswith("DEALER_SYNC_")]:
        if name != "DEALER_SYNC_TEST_PG_URL":
            monkeypatch.delenv(name)
    zoho = ZohoSandbox(minute_seconds=1.0, seed=5)
    zoho.register_client(*CREDENTIALS)
    sandbox = ledger_sandbox(request.param, zoho, CREDENTIALS, minute_seconds=1.0, seed=5)
    seeded = sandbox.seed(generate(NetworkSpec(seed=5, dealers=3, skus=4, orders=0)))
    with zoho.serve(), sandbox.serve() as env:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DEALER_SYNC_DATA_DIR", str(tmp_path))
        accounting = accounting_system(Settings())
        try:
            yield Ledger(sandbox, seeded, accounting)
        finally:
            accounting.close()


def order(ledger: Ledger, number: str, quantity: int = 2) -> MappedOrder:
    """``quantity`` x 100.00 at 18 % intra-state GST (CGST 9 + SGST 9) for a seeded customer."""
    treatment = TaxTreatment(regime=TaxRegime.GST, kind=TaxKind.INTRA_STATE, place_of_supply="MH")
    sku, item = next(iter(ledger.seeded.items.items()))
    amount = Money.of(100 * quantity, "INR")
    line = MappedLine(
        line_no=1,
        sku=sku,
        item_id=item,
        quantity=Decimal(quantity),
        unit_price=Money.of(100, "INR"),
        amount=amount,
        tax_rate=Decimal(18),
        tax_id=ledger.seeded.taxes["gst:intra_state:18"],
        tax_lines=tax_lines(amount, Decimal(18), treatment),
    )
    tax = total([t.amount for t in line.tax_lines], "INR")
    return MappedOrder(
        target_system=ledger.accounting.system,
        order_id=number,
        order_number=number,
        version=1,
        dealer_id="D1",
        customer_id=next(iter(ledger.seeded.customers.values())),
        document_number=f"INV-{number}",
        currency="INR",
        business_date=DAY,
        payment_terms_days=30,
        tax_treatment=treatment,
        lines=(line,),
        subtotal=amount,
        tax_total=tax,
        total=amount + tax,
    )


def test_an_invoice_is_created_once_with_our_number_and_read_back_with_its_tax(ledger):
    created = ledger.accounting.create_invoice(order(ledger, "C-1"))
    assert ledger.accounting.find_invoices("INV-C-1") == [created]
    assert ledger.accounting.find_invoices("INV-NOPE") == []
    ledger.accounting.finalize_invoices([created])
    ledger.accounting.finalize_invoices([created])  # harmless to repeat

    try:  # a repeat is refused as a duplicate, or answered with the same invoice
        again = ledger.accounting.create_invoice(order(ledger, "C-1"))
    except ConnectorError as exc:
        assert exc.kind is ErrorKind.DUPLICATE
    else:
        assert again == created
    assert [i.number for i in ledger.sandbox.invoices()] == ["INV-C-1"]

    (invoice,) = [i for i in ledger.accounting.invoices_for_period(DAY, DAY) if i.id == created]
    assert (invoice.number, invoice.reference) == ("INV-C-1", "C-1")
    assert invoice.total.amount == Decimal("236.00") and invoice.tax_total is not None
    assert invoice.tax_total.amount == Decimal("36.00")
    assert invoice.balance == invoice.total and invoice.issue_date == DAY


def test_a_dropped_answer_is_uncertain_and_the_lookup_finds_the_one_invoice(ledger):
    ledger.sandbox.faults.update(drop_after_commit_rate=1.0, methods=["POST", "PUT"])
    with pytest.raises(ConnectorError) as caught:
        ledger.accounting.create_invoice(order(ledger, "C-2"))
    assert caught.value.kind is ErrorKind.UNCERTAIN
    ledger.sandbox.faults.update(drop_after_commit_rate=0.0)
    assert len(ledger.accounting.find_invoices("INV-C-2")) == 1
    assert len(ledger.sandbox.invoices()) == 1


def test_an_unknown_customer_is_a_bad_request_not_a_retry(ledger):
    bad = order(ledger, "C-3").model_copy(update={"customer_id": "no-such-customer-0000"})
    with pytest.raises(ConnectorError) as caught:
        ledger.accounting.create_invoice(bad)
    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert ledger.sandbox.invoices() == []


def test_payments_and_credit_notes_read_back_canonical_and_settle_the_invoice(ledger):
    first = ledger.accounting.create_invoice(order(ledger, "C-4"))
    second = ledger.accounting.create_invoice(order(ledger, "C-5", quantity=5))
    ledger.accounting.finalize_invoices([first, second])
    ledger.sandbox.record_payment(first, Decimal("236.00"))
    ledger.sandbox.record_payment(second, Decimal("100.00"))
    ledger.sandbox.record_credit_note(second, Decimal("50.00"))

    payments = list(ledger.accounting.payments())
    assert sorted(p.amount.amount for p in payments) == [Decimal("100.00"), Decimal("236.00")]
    assert [p.unapplied.amount for p in payments] == [0, 0]  # both applied in full
    assert {a.invoice_id for p in payments for a in p.allocations} <= {first, second}  # where listed
    (note,) = list(ledger.accounting.credit_notes())
    assert note.invoice_id in (second, None)  # Zoho's credit-note list does not name the invoice
    assert note.total.amount >= Decimal("50.00")

    invoices = {i.id: i for i in ledger.accounting.invoices_for_period(DAY, DAY)}
    sandbox = {i.id: i for i in ledger.sandbox.invoices()}
    assert invoices[first].balance.amount == 0 == sandbox[first].balance
    assert invoices[second].balance.amount == sandbox[second].balance
    assert invoices[second].balance.amount < Decimal("490.00")  # 590 less the payment, less the credit


def test_changed_rows_carry_key_customer_and_a_canonical_document(ledger):
    created = ledger.accounting.create_invoice(order(ledger, "C-6"))
    ledger.accounting.finalize_invoices([created])
    before = ledger.accounting.invoices_for_period(DAY, DAY)
    assert [i.id for i in before] == [created]

    rows = [row for page in ledger.accounting.changed("invoice", None) for row in page]
    (row,) = [r for r in rows if r.key == created]
    assert row.problem is None and row.customer_id == order(ledger, "C-6").customer_id
    invoice = row.canonical("D1")
    assert invoice.dealer_id == "D1" and invoice.number == "INV-C-6"
    if row.changed_at is not None:  # ledgers that keep change times filter on them
        later = row.changed_at + timedelta(days=1)
        newer = [r for page in ledger.accounting.changed("invoice", later) for r in page if r.key == created]
        assert all(r.changed_at is None or r.changed_at >= later for r in newer)


def test_every_target_the_settings_accept_is_in_this_suite():
    from typing import get_args

    from dealer_sync.settings import AccountingTarget

    assert sorted(TARGETS) == sorted(get_args(AccountingTarget))
