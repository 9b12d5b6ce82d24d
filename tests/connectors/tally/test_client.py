"""TallyClient over real HTTP to the simulator: names, GST, idempotency, errors, faults, pullback."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.transport import RetryPolicy
from connectors.tally.accounting import TallyAccounting
from connectors.tally.bodies import TallyNaming, gst_ledgers
from connectors.tally.errors import TallyCompanyError
from connectors.tally.wire import TallyCreditNote, TallyLedger, TallyReceipt, TallySalesVoucher
from dealer_sync.models import CreditNoteStatus, InvoiceStatus, TaxKind, TaxLine
from dealer_sync.store import Intent, OutboxStatus
from sandbox.tally import TallySimulator
from tasks.posting import post_claims
from tasks.targets import LedgerInvoices
from tests.connectors.tally.support import (
    BANK,
    BRAKE_PAD,
    CAFE_PARTY,
    DAY,
    HINDI_PARTY,
    MARKUP_ITEM,
    MARKUP_PARTY,
    client_for,
    inr,
    order,
    seeded_simulator,
)

WINDOW = (date(2026, 11, 1), date(2026, 11, 30))


def rows(pages: object) -> list[dict]:
    return [r for page in pages for r in page]  # type: ignore[attr-defined]


def tax(name: str, rate: str, amount: str) -> TaxLine:
    return TaxLine(name=name, rate=Decimal(rate), amount=inr(amount))


@pytest.mark.parametrize(
    ("party", "item"),
    [(HINDI_PARTY, BRAKE_PAD), (CAFE_PARTY, MARKUP_ITEM), (MARKUP_PARTY, MARKUP_ITEM)],
    ids=["devanagari", "accents", "markup-and-quotes"],
)
def test_names_round_trip_through_import_and_every_export(client, sim, party, item):
    mapped = order("N1", party=party, lines=[(item, "99.99", 3, 18)])
    client.create_invoice(mapped)
    assert sim.state.find_vouchers("Sales")[0].party == party  # Tally stored the name as sent

    found = client.find_invoices("INV-N1")
    assert [v.customer for v in found] == [party]
    assert found[0].inventory_entries[0].item == item
    day_book = [
        TallySalesVoucher.model_validate(r) for r in rows(client.invoice_pages(date_start=DAY, date_end=DAY))
    ]
    assert [(v.customer, v.inventory_entries[0].item) for v in day_book] == [(party, item)]
    assert day_book[0].canonical("DLR042").customer_id == party
    assert party in {ledger.name for ledger in client.ledgers()}
    assert party in {TallyLedger.model_validate(r).name for r in rows(client.contact_pages())}


def test_a_company_whose_name_needs_escaping_is_addressed_exactly():
    company = 'श्री & Co <India> "Pvt" Ltd\'s'
    simulator = TallySimulator(company=company)
    simulator.state.add_ledger("Cash", "Cash-in-Hand")
    with simulator.serve() as url, client_for(url, company=company) as tally:
        assert "Cash" in {ledger.name for ledger in tally.ledgers()}
        assert tally.last_alter_ids() == (1, 0)
    with (
        simulator.serve() as url,
        client_for(url, company=company.replace("&", "and")) as other,
        pytest.raises(TallyCompanyError),
    ):
        other.ledgers()


def test_an_intra_state_order_balances_and_comes_back_with_cgst_and_sgst(client, sim):
    mapped = order("8812", lines=[(BRAKE_PAD, "1450.00", 4, 18)])
    created = client.create_invoice(mapped)
    assert created.id == "INV-8812" and created.master_id == "1"

    voucher = client.invoice_detail("INV-8812")
    assert voucher.tax_lines() == (tax("CGST", "9", "522.00"), tax("SGST", "9", "522.00"))
    invoice = voucher.canonical("DLR042")
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        inr("5800.00"),
        inr("1044.00"),
        inr("6844.00"),
    )
    assert invoice.lines[0].tax_lines == mapped.lines[0].tax_lines
    assert (invoice.status, invoice.balance, invoice.due_date) == (
        InvoiceStatus.SENT,
        inr("6844.00"),
        date(2026, 12, 22),
    )
    assert sim.state.bill_outstanding(HINDI_PARTY, "INV-8812") == Decimal("6844.00")


def test_an_inter_state_order_balances_and_comes_back_with_igst(client):
    mapped = order(
        "KA-1", party=CAFE_PARTY, kind=TaxKind.INTER_STATE, place="KA", lines=[(BRAKE_PAD, "333.50", 3, 18)]
    )
    client.create_invoice(mapped)
    voucher = client.invoice_detail("INV-KA-1")
    assert voucher.state == "Karnataka"
    assert voucher.tax_lines() == (tax("IGST", "18", "180.09"),)
    invoice = voucher.canonical("DLR007")
    assert invoice.total == inr("1180.59") and invoice.lines[0].tax_lines == mapped.lines[0].tax_lines


def test_a_mixed_rate_order_keeps_each_lines_rate_and_one_leg_per_tax_and_rate(client):
    mapped = order("MIX", lines=[(BRAKE_PAD, "1000.50", 1, 18), (MARKUP_ITEM, "100.05", 3, 12)])
    client.create_invoice(mapped)
    voucher = client.invoice_detail("INV-MIX")
    assert set(voucher.tax_lines()) == {
        tax("CGST", "9", "90.05"),
        tax("SGST", "9", "90.05"),
        tax("CGST", "6", "18.01"),
        tax("SGST", "6", "18.01"),
    }
    invoice = voucher.canonical("DLR042")
    assert [line.tax_rate for line in invoice.lines] == [Decimal(18), Decimal(12)]
    assert [line.tax_lines for line in invoice.lines] == [line.tax_lines for line in mapped.lines]
    assert invoice.total == mapped.total


def test_reimporting_the_same_order_alters_the_one_voucher_and_reports_a_duplicate(client, sim):
    mapped = order("R1")
    client.create_invoice(mapped)
    first = sim.state.find_vouchers("Sales")[0]
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(mapped)
    assert caught.value.kind is ErrorKind.DUPLICATE
    vouchers = sim.state.find_vouchers("Sales")
    assert len(vouchers) == 1 and vouchers[0].master_id == first.master_id
    assert vouchers[0].alter_id > first.alter_id  # Tally altered it in place
    assert [v.id for v in client.find_invoices("INV-R1")] == ["INV-R1"]


def test_a_voucher_number_taken_by_a_hand_made_voucher_is_a_duplicate(client, sim):
    client.create_invoice(order("HAND"))
    sim.state.vouchers[0].remote_id = "entered-in-tally-by-hand"  # same number, not our REMOTEID
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(order("HAND"))
    assert caught.value.kind is ErrorKind.DUPLICATE
    assert "Voucher Number 'INV-HAND' already exists!" in str(caught.value)
    assert len(sim.state.find_vouchers("Sales")) == 1
    assert [v.id for v in client.find_invoices("INV-HAND")] == ["entered-in-tally-by-hand"]


def test_a_missing_ledger_is_a_bad_request_carrying_tallys_line_error(client, sim):
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(order("M1", party="Nobody & Co"))
    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert "Ledger 'Nobody & Co' does not exist!" in str(caught.value)
    assert caught.value.vendor_code == "LINEERROR"

    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(order("M2", lines=[(BRAKE_PAD, "10.00", 1, 3)]))  # no 3% ledgers yet
    assert "Ledger 'Output CGST 1.5%' does not exist!" in str(caught.value)
    client.create_ledgers(gst_ledgers(TallyNaming(), [Decimal(3)]))
    client.create_invoice(order("M2", lines=[(BRAKE_PAD, "10.00", 1, 3)]))
    assert client.invoice_detail("INV-M2").tax_lines() == (
        tax("CGST", "1.5", "0.15"),
        tax("SGST", "1.5", "0.15"),
    )
    assert [v.number for v in sim.state.find_vouchers("Sales")] == ["INV-M2"]


def test_many_vouchers_travel_in_one_envelope_and_a_refused_one_is_told_apart(client, sim):
    clean = client.create_invoices([order(f"B{n}") for n in range(3)])
    assert clean == ["INV-B0", "INV-B1", "INV-B2"]
    assert sim.state.requests["import:Vouchers"] == 1

    mixed = client.create_invoices([order("B3"), order("B4", party="Nobody & Co"), order("B5")])
    assert (mixed[0], mixed[2]) == ("INV-B3", "INV-B5")
    refused = mixed[1]
    assert isinstance(refused, ConnectorError) and refused.kind is ErrorKind.BAD_REQUEST
    assert "Ledger 'Nobody & Co' does not exist!" in str(refused)
    numbers = sorted(v.number for v in sim.state.find_vouchers("Sales"))
    assert numbers == ["INV-B0", "INV-B1", "INV-B2", "INV-B3", "INV-B5"]  # none twice

    again = client.create_invoices([order("B0"), order("B6")])  # B0 is there: found, not doubled
    assert again == ["INV-B0", "INV-B6"]
    assert len(sim.state.find_vouchers("Sales")) == 6


def test_an_unknown_stock_item_and_an_unknown_godown_name_themselves(client):
    with pytest.raises(ConnectorError, match="Stock Item 'Ghost' does not exist!"):
        client.create_invoice(order("S1", lines=[("Ghost", "1.00", 1, 18)]))
    with pytest.raises(ConnectorError, match="Godown 'Nashik WH' does not exist!"):
        client.create_invoice(order("S2", warehouse="Nashik WH"))


def test_reads_are_retried_through_5xx_and_timeouts(sim, url):
    retry = RetryPolicy(max_attempts=8, max_total_seconds=20, backoff_initial=0.01, backoff_max=0.05)
    sim.faults.update(error_5xx_rate=0.5, seed=5)
    with client_for(url, retry=retry) as tally:
        for _ in range(4):
            assert tally.ledgers()
    assert sim.faults.status_count(500) > 0

    sim.faults.update(error_5xx_rate=0.0, timeout_rate=0.5, hang_seconds=0.6, seed=3)
    with client_for(url, timeout_seconds=0.25, retry=retry) as tally:
        for _ in range(3):
            assert tally.ledgers()
    assert sim.faults.fault_count("timeout") > 0


@pytest.mark.parametrize("fault", ["error_5xx_rate", "timeout_rate"])
def test_an_import_that_may_have_landed_is_uncertain_and_sent_once(sim, url, fault):
    sim.faults.update(**{fault: 1.0, "hang_seconds": 0.6})
    with client_for(url, timeout_seconds=0.25) as tally, pytest.raises(ConnectorError) as caught:
        tally.create_invoice(order("U1"))
    assert caught.value.kind is ErrorKind.UNCERTAIN
    assert sim.faults.counters()["total"] == 1  # no blind repeat: the caller looks up first


def test_a_response_dropped_after_commit_is_healed_by_lookup_through_the_outbox(store, sim, url):
    mapped = order("D1")
    intent = Intent(
        "tally", "invoice", mapped.order_id, 1, mapped.document_number, mapped.model_dump(mode="json")
    )
    store.outbox.record_intents([intent], "run-1")
    sim.faults.update(drop_after_commit_rate=1.0)
    with client_for(url) as tally:
        target = LedgerInvoices(TallyAccounting(tally))
        first = post_claims(store, target, store.outbox.claim("tally", "invoice", "w1"), "run-1")
        assert intent.key in first.deferred  # the import landed, the answer did not
        assert len(sim.state.find_vouchers("Sales")) == 1

        sim.faults.update(drop_after_commit_rate=0.0)
        claims = store.outbox.claim("tally", "invoice", "w1")
        assert claims[0].needs_lookup
        second = post_claims(store, target, claims, "run-2")
    assert second.done == {intent.key: "INV-D1"}
    assert store.outbox.get(intent.key).status is OutboxStatus.DONE
    assert len(sim.state.find_vouchers("Sales")) == 1
    assert sim.state.requests["import:Vouchers"] == 1  # healed by lookup, not by a second import


def test_pullback_reads_receipts_and_credit_notes_booked_by_finance(client, sim, url):
    client.create_invoice(order("P1"))  # 6844.00
    client.create_invoice(order("P2", party=CAFE_PARTY, kind=TaxKind.INTER_STATE, place="KA"))  # 6844.00
    admin = httpx.Client(base_url=url, timeout=5)
    paid = admin.post(
        "/__admin/receipts",
        json={
            "party": HINDI_PARTY,
            "amount": "7000.00",
            "date": "2026-11-25",
            "against": {"INV-P1": "6844.00"},
            "reference": "UTR-1",
        },
    )
    assert paid.status_code == 200, paid.text
    credited = admin.post(
        "/__admin/credit-notes",
        json={
            "party": CAFE_PARTY,
            "taxable": "1000.00",
            "date": "2026-11-26",
            "sales_ledger": "Sales GST 18%",
            "taxes": {"Output IGST 18%": "180.00"},
            "invoice": "INV-P2",
            "applied": "1000.00",
            "number": "CN-1",
            "reason": "2 pads returned",
        },
    )
    assert credited.status_code == 200, credited.text
    refused = admin.post(
        "/__admin/receipts",
        json={"party": HINDI_PARTY, "amount": "1", "date": "2026-11-25", "against": {"NOPE": "1"}},
    )
    assert refused.status_code == 400 and "Bill 'NOPE'" in refused.json()["error"]

    [payment] = [TallyReceipt.model_validate(r).canonical("DLR042") for r in rows(client.payment_pages())]
    assert (payment.amount, payment.mode, payment.reference) == (inr("7000.00"), BANK, "UTR-1")
    assert [(a.invoice_id, a.amount) for a in payment.allocations] == [("INV-P1", inr("6844.00"))]
    assert payment.unapplied == inr("156.00")

    [note] = [TallyCreditNote.model_validate(r).canonical("DLR007") for r in rows(client.credit_note_pages())]
    assert (note.number, note.invoice_id, note.total, note.balance, note.status, note.reason) == (
        "CN-1",
        "INV-P2",
        inr("1180.00"),
        inr("180.00"),
        CreditNoteStatus.OPEN,
        "2 pads returned",
    )
    invoices = {
        v.number: v.canonical(None)
        for v in (
            TallySalesVoucher.model_validate(r)
            for r in rows(client.invoice_pages(date_start=WINDOW[0], date_end=WINDOW[1]))
        )
    }
    assert (invoices["INV-P1"].status, invoices["INV-P1"].balance) == (InvoiceStatus.PAID, inr("0.00"))
    assert (invoices["INV-P2"].status, invoices["INV-P2"].balance) == (
        InvoiceStatus.PARTIALLY_PAID,
        inr("5844.00"),
    )


def test_cancelled_vouchers_read_as_void_and_settle_nothing(client, sim):
    client.create_invoice(order("V1"))
    client.create_invoice(order("V2"))
    sim.state.cancel_voucher("INV-V1")
    bounced = sim.state.record_receipt(HINDI_PARTY, "1000.00", on=DAY, against={"INV-V2": "1000.00"})
    sim.state.cancel_voucher(bounced.remote_id)  # the cheque bounced
    void, open_ = (client.invoice_detail(n).canonical("DLR042") for n in ("INV-V1", "INV-V2"))
    assert (void.status, void.balance) == (InvoiceStatus.VOID, inr("0.00"))
    assert (open_.status, open_.balance) == (InvoiceStatus.SENT, inr("6844.00"))


def test_alter_ids_give_an_incremental_read(client):
    client.create_invoice(order("A1"))
    _, vouchers_before = client.last_alter_ids()
    client.create_invoice(order("A2"))
    newer = [r["VOUCHERNUMBER"] for r in rows(client.invoice_pages(alter_id_after=vouchers_before))]
    assert newer == ["INV-A2"]
    assert [r["VOUCHERNUMBER"] for r in rows(client.invoice_pages())] == ["INV-A1", "INV-A2"]
    windowed = client.invoice_pages(
        date_start=DAY, date_end=DAY + timedelta(days=40), alter_id_after=vouchers_before
    )
    assert [r["VOUCHERNUMBER"] for r in rows(windowed)] == ["INV-A2"]


def test_a_closed_company_fails_the_run_as_configuration_and_books_nothing(client, sim):
    sim.state.is_open = False
    for call in (lambda: client.create_invoice(order("C1")), client.ledgers):
        with pytest.raises(ConnectorError) as caught:
            call()
        assert caught.value.kind is ErrorKind.AUTH
    assert sim.state.find_vouchers() == []


def test_marking_sent_is_a_no_op_and_what_tally_cannot_take_is_refused_before_sending(client, sim):
    client.mark_invoices_sent(["INV-1", "INV-2"])
    assert sim.faults.counters()["total"] == 0
    usd = order("USD")
    usd = usd.model_copy(update={"currency": "USD"})
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(usd)
    assert caught.value.kind is ErrorKind.BAD_REQUEST
    with pytest.raises(ConnectorError) as caught:
        client.find_invoices('INV-"1"')  # a TDL string cannot hold a double quote
    assert caught.value.kind is ErrorKind.BAD_REQUEST
    assert sim.faults.counters()["total"] == 0  # none of it reached Tally


@pytest.fixture(scope="module")
def shared() -> object:
    simulator = seeded_simulator()
    with simulator.serve() as url, client_for(url) as tally:
        yield simulator, tally


names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cn")), min_size=1, max_size=30
).filter(lambda s: s.strip() == s and s != "")
SERIALS = itertools.count(1)  # hypothesis replays examples: every one needs its own number
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    party=names,
    item=names,
    price=prices,
    quantity=st.integers(min_value=1, max_value=500),
    rate=st.sampled_from([0, 5, 12, 18, 28]),
    inter=st.booleans(),
)
def test_generated_names_and_amounts_round_trip_through_tally(
    shared, party, item, price, quantity, rate, inter
):
    simulator, tally = shared
    simulator.state.add_ledger(party, "Sundry Debtors")
    simulator.state.add_stock_item(item)
    kind, place = (TaxKind.INTER_STATE, "KA") if inter else (TaxKind.INTRA_STATE, "MH")
    mapped = order(
        f"H{next(SERIALS)}",
        party=party,
        lines=[(item, price, quantity, rate)],
        kind=kind,
        place=place,
        warehouse=None,
    )
    tally.create_invoice(mapped)
    [voucher] = tally.find_invoices(mapped.document_number)
    invoice = voucher.canonical("DLR042")
    assert (voucher.customer, voucher.inventory_entries[0].item) == (party, item)
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        mapped.subtotal,
        mapped.tax_total,
        mapped.total,
    )
    # A tax that rounds to 0.00 (0.01 at 5 %) leaves no ledger leg, so nothing to split by line.
    assert invoice.lines[0].tax_lines == tuple(t for t in mapped.lines[0].tax_lines if not t.amount.is_zero())
    assert invoice.lines[0].quantity == quantity and invoice.lines[0].unit_price == inr(price)
