"""The AccountingSystem contract, one suite for every ledger, over real HTTP to its simulator.

Each case builds the adapter exactly as a flow run does (settings from the DEALER_SYNC_*
variables the simulator's LedgerSandbox names -> tasks.environment.accounting_system), so a
ledger passes only if its configuration, connector and adapter work together. The promises are
those in connectors/accounting.py; vendor-specific ones live in each connector's own tests.
"""

from __future__ import annotations

import os
import threading
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


def test_pages_carry_every_invoice_once(ledger):
    """More invoices than one page holds (Zoho, Tally 200; Xero 100; QBO reads up to 1,000 a page)."""
    orders = [order(ledger, f"P-{n:03d}", quantity=1) for n in range(210)]
    created = ledger.accounting.create_invoices(orders)
    assert all(isinstance(c, str) for c in created), [c for c in created if not isinstance(c, str)][:3]
    read = [i.id for i in ledger.accounting.invoices_for_period(DAY, DAY)]
    assert len(read) == len(set(read)) == 210 and set(read) == set(created)


@pytest.mark.parametrize("ledger", [t for t in TARGETS if t != "tally"], indirect=True)  # Tally: no auth
def test_an_expired_token_is_refreshed_once_even_under_concurrency(ledger):
    ledger.accounting.find_invoices("INV-NONE")  # a first token
    assert ledger.sandbox.expire_tokens()
    issued = ledger.sandbox.tokens_issued()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            ledger.accounting.find_invoices("INV-NONE")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert ledger.sandbox.tokens_issued() == issued + 1


def test_429s_are_waited_out_and_reads_are_retried_through_5xx(ledger, monkeypatch):
    ledger.sandbox.faults.update(rate_limit_per_minute=3, minute_seconds=1.0, max_concurrent=None)
    for _ in range(8):  # our declared budget is the vendor's real one: far above 3 a second
        assert ledger.accounting.find_invoices("INV-NONE") == []
    assert ledger.sandbox.faults.status_count(429) > 0

    ledger.sandbox.faults.update(rate_limit_per_minute=None, error_5xx_rate=0.5, seed=3, methods=["GET"])
    for _ in range(6):
        assert ledger.accounting.find_invoices("INV-NONE") == []


def test_a_write_that_fails_with_5xx_is_not_repeated_blindly(ledger):
    ledger.accounting.find_invoices("INV-NONE")  # token and reads done before the fault
    before = ledger.sandbox.faults.counters()["total"]
    ledger.sandbox.faults.update(error_5xx_rate=1.0, methods=["POST", "PUT"])
    with pytest.raises(ConnectorError) as caught:
        ledger.accounting.create_invoice(order(ledger, "C-7"))
    ledger.sandbox.faults.update(error_5xx_rate=0.0)
    assert caught.value.kind is ErrorKind.UNCERTAIN
    writes = ledger.sandbox.faults.status_count(500)
    assert writes == 1  # one attempt; the caller looks the number up before any other
    assert ledger.sandbox.faults.counters()["total"] - before <= 2  # (QBO looks its number up first)


def test_every_target_the_settings_accept_is_in_this_suite():
    from typing import get_args

    from dealer_sync.settings import AccountingTarget

    assert sorted(TARGETS) == sorted(get_args(AccountingTarget))
