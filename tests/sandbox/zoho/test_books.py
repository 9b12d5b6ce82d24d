"""Zoho Books: GST on invoices, payments, credit notes, derived status, searches."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from sandbox.zoho import BooksState, ZohoEndpoints, ZohoSandbox
from sandbox.zoho.common import format_time
from tests.sandbox.zoho.support import grant


@pytest.fixture
def ledger(sandbox: ZohoSandbox) -> dict[str, str]:
    """A Maharashtra dealer on Net 30 and a GST18 item (the organisation is in MH)."""
    state = sandbox.books.state
    dealer = state.add_contact(
        "Shree Auto Parts",
        place_of_contact="MH",
        payment_terms=30,
        gst_treatment="business_gst",
        gst_no="27AAAAA0000A1Z5",
    )
    item = state.add_item("Brake Pad Set BP-220", "BP-220", "1450.00", hsn_or_sac="87083000")
    return {"customer": dealer.contact_id, "item": item.item_id}


def _invoice(
    ids: dict[str, str], *, rate: object = "333.50", quantity: object = 3, **extra: object
) -> dict[str, object]:
    return {
        "customer_id": ids["customer"],
        "date": "2026-11-22",
        "line_items": [{"item_id": ids["item"], "rate": rate, "quantity": quantity}],
        **extra,
    }


def _send(books: httpx.Client, payload: dict[str, object]) -> dict[str, object]:
    response = books.post("/invoices", params={"send": "true"}, json=payload)
    assert response.status_code == 201, response.text
    invoice: dict[str, object] = response.json()["invoice"]
    return invoice


def test_taxes_include_gst_groups_and_igst_twins(books: httpx.Client) -> None:
    taxes = {t["tax_name"]: t for t in books.get("/settings/taxes").json()["taxes"]}
    assert taxes["GST18"]["tax_type"] == "tax_group"
    assert [c["tax_name"] for c in taxes["GST18"]["taxes"]] == ["CGST9", "SGST9"]
    assert taxes["IGST18"]["tax_percentage"] == 18
    assert {"GST5", "GST12", "GST28", "IGST5", "IGST12", "IGST28", "CGST2.5"} <= set(taxes)


def test_intra_state_invoice_splits_cgst_sgst_per_component_half_up(
    books: httpx.Client, ledger: dict[str, str]
) -> None:
    response = books.post("/invoices", json=_invoice(ledger))
    assert response.status_code == 201
    assert response.json()["message"] == "The invoice has been created."
    invoice = response.json()["invoice"]

    # 1000.50 x 9% = 90.045 -> 90.05 each (half up; half-even would give 90.04).
    line = invoice["line_items"][0]
    assert (line["item_total"], line["tax_name"]) == (1000.5, "GST18")
    assert [(t["tax_name"], t["tax_amount"]) for t in invoice["taxes"]] == [
        ("CGST9", 90.05),
        ("SGST9", 90.05),
    ]
    assert (invoice["sub_total"], invoice["tax_total"], invoice["total"]) == (1000.5, 180.1, 1180.6)
    assert '"sub_total":1000.50' in response.text
    assert (invoice["status"], invoice["balance"], invoice["due_date"]) == (
        "draft",
        1180.6,
        "2026-12-22",
    )


def test_inter_state_invoice_charges_igst(books: httpx.Client, ledger: dict[str, str]) -> None:
    invoice = books.post("/invoices", json=_invoice(ledger, place_of_supply="KA")).json()["invoice"]
    assert invoice["line_items"][0]["tax_name"] == "IGST18"
    assert [(t["tax_name"], t["tax_amount"]) for t in invoice["taxes"]] == [("IGST18", 180.09)]
    assert invoice["total"] == 1180.59


def test_taxes_add_up_per_component_over_lines(
    sandbox: ZohoSandbox, books: httpx.Client, ledger: dict[str, str]
) -> None:
    gst5 = sandbox.books.state.add_item("Grease G-1", "G-1", "99.99", gst_rate=5)
    payload = _invoice(ledger)
    payload["line_items"] = [
        {"item_id": ledger["item"], "rate": "333.50", "quantity": 3},
        {"item_id": ledger["item"], "rate": "0.50", "quantity": 1},
        {"item_id": gst5.item_id, "quantity": 2},
    ]
    invoice = books.post("/invoices", json=payload).json()["invoice"]
    # 90.05 + round(0.045) 0.05 = 90.10 per half of GST18; 199.98 x 2.5% = 4.9995 -> 5.00.
    assert [(t["tax_name"], t["tax_amount"]) for t in invoice["taxes"]] == [
        ("CGST9", 90.1),
        ("SGST9", 90.1),
        ("CGST2.5", 5.0),
        ("SGST2.5", 5.0),
    ]
    assert invoice["tax_total"] == 190.2
    assert invoice["total"] == invoice["sub_total"] + 190.2


def test_own_invoice_number_must_be_unique(books: httpx.Client, ledger: dict[str, str]) -> None:
    own = {"ignore_auto_number_generation": "true"}
    payload = _invoice(ledger, invoice_number="INV-DLR042-000123")
    assert books.post("/invoices", params=own, json=payload).status_code == 201
    again = books.post("/invoices", params=own, json=payload)
    assert again.status_code == 400
    assert again.json()["code"] != 0
    missing = books.post("/invoices", params=own, json=_invoice(ledger))
    assert missing.status_code == 400
    auto = books.post("/invoices", json=payload).json()["invoice"]["invoice_number"]
    assert auto == "INV-000001"


def test_payments_make_an_invoice_partially_paid_then_paid(
    sandbox: ZohoSandbox, books: httpx.Client, ledger: dict[str, str]
) -> None:
    invoice = _send(books, _invoice(ledger))
    invoice_id = str(invoice["invoice_id"])
    sandbox.clock.advance(60)
    first = books.post(
        "/customerpayments",
        json={
            "customer_id": ledger["customer"],
            "payment_mode": "banktransfer",
            "amount": 500.00,
            "date": "2026-11-25",
            "reference_number": "UTR-1",
            "invoices": [{"invoice_id": invoice_id, "amount_applied": 500.00}],
        },
    )
    assert first.status_code == 201
    assert first.json()["payment"]["invoices"][0]["balance_amount"] == 680.6

    after_first = books.get(f"/invoices/{invoice_id}").json()["invoice"]
    assert (after_first["status"], after_first["payment_made"], after_first["balance"]) == (
        "partially_paid",
        500.0,
        680.6,
    )
    assert after_first["last_modified_time"] > invoice["last_modified_time"]

    payment = sandbox.books.state.record_payment(
        ledger["customer"], "700.00", {invoice_id: "680.60"}, reference_number="UTR-2"
    )
    assert payment.unused_amount == Decimal("19.40")
    paid = books.get(f"/invoices/{invoice_id}").json()["invoice"]
    assert (paid["status"], paid["balance"]) == ("paid", 0.0)
    assert [p["amount"] for p in paid["payments"]] == [500.0, 680.6]

    listed = books.get(
        "/customerpayments",
        params={
            "customer_id": ledger["customer"],
            "sort_column": "created_time",
            "sort_order": "A",
        },
    )
    assert [p["reference_number"] for p in listed.json()["customerpayments"]] == ["UTR-1", "UTR-2"]
    one = books.get(f"/customerpayments/{payment.payment_id}").json()["payment"]
    assert (one["amount"], one["unused_amount"]) == (700.0, 19.4)
    contact = books.get(f"/contacts/{ledger['customer']}").json()["contact"]
    assert (
        contact["outstanding_receivable_amount"],
        contact["unused_credits_receivable_amount"],
    ) == (0.0, 19.4)


@pytest.mark.parametrize(
    ("amount", "applied"),
    [("2000.00", "1180.61"), ("100.00", "200.00"), ("100.00", "0")],
)
def test_over_application_is_rejected_and_changes_nothing(
    sandbox: ZohoSandbox, books: httpx.Client, ledger: dict[str, str], amount: str, applied: str
) -> None:
    invoice_id = _send(books, _invoice(ledger))["invoice_id"]
    response = books.post(
        "/customerpayments",
        json={
            "customer_id": ledger["customer"],
            "payment_mode": "cash",
            "amount": amount,
            "date": "2026-11-25",
            "invoices": [{"invoice_id": invoice_id, "amount_applied": applied}],
        },
    )
    assert response.status_code == 400
    assert response.json()["code"] != 0
    assert sandbox.books.state.list_payments() == []
    assert books.get(f"/invoices/{invoice_id}").json()["invoice"]["balance"] == 1180.6


def test_draft_invoices_take_no_payment_and_paid_ones_cannot_be_voided(
    sandbox: ZohoSandbox, books: httpx.Client, ledger: dict[str, str]
) -> None:
    state: BooksState = sandbox.books.state
    draft = state.create_invoice(_invoice(ledger))
    response = books.post(
        "/customerpayments",
        json={
            "customer_id": ledger["customer"],
            "payment_mode": "cash",
            "amount": 10,
            "date": "2026-11-25",
            "invoices": [{"invoice_id": draft.invoice_id, "amount_applied": 10}],
        },
    )
    assert response.status_code == 400
    assert books.post(f"/invoices/{draft.invoice_id}/status/sent").json()["code"] == 0
    state.record_payment(ledger["customer"], 10, {draft.invoice_id: 10})
    refused = books.post(f"/invoices/{draft.invoice_id}/status/void")
    assert refused.status_code == 400
    other = state.create_invoice(_invoice(ledger))
    assert books.post(f"/invoices/{other.invoice_id}/status/void").status_code == 200
    voided = books.get(f"/invoices/{other.invoice_id}").json()["invoice"]
    assert (voided["status"], voided["balance"]) == ("void", 0.0)


def test_credit_notes_reduce_invoice_balance_and_close_when_used_up(
    books: httpx.Client, ledger: dict[str, str]
) -> None:
    invoice_id = _send(books, _invoice(ledger))["invoice_id"]
    created = books.post(
        "/creditnotes",
        params={"ignore_auto_number_generation": "true"},
        json={
            "customer_id": ledger["customer"],
            "date": "2026-11-23",
            "creditnote_number": "CN-29",
            "reference_number": "RMA-7",
            "line_items": [{"item_id": ledger["item"], "rate": "100.00", "quantity": 2}],
        },
    )
    assert created.status_code == 201
    note = created.json()["creditnote"]
    assert (note["status"], note["total"], note["balance"]) == ("open", 236.0, 236.0)

    applied = books.post(
        f"/creditnotes/{note['creditnote_id']}/invoices",
        json={"invoices": [{"invoice_id": invoice_id, "amount_applied": 200}]},
    )
    assert applied.json()["message"] == "Credits have been applied to the invoice(s)."
    invoice = books.get(f"/invoices/{invoice_id}").json()["invoice"]
    assert (invoice["credits_applied"], invoice["balance"], invoice["status"]) == (
        200.0,
        980.6,
        "partially_paid",
    )
    assert invoice["credits"][0]["creditnotes_number"] == "CN-29"

    too_much = books.post(
        f"/creditnotes/{note['creditnote_id']}/invoices",
        json={"invoices": [{"invoice_id": invoice_id, "amount_applied": 37}]},
    )
    assert too_much.status_code == 400
    books.post(
        f"/creditnotes/{note['creditnote_id']}/invoices",
        json={"invoice_id": invoice_id, "amount_applied": 36},
    )
    closed = books.get(f"/creditnotes/{note['creditnote_id']}").json()["creditnote"]
    assert (closed["status"], closed["balance"]) == ("closed", 0.0)
    credited = books.get(f"/creditnotes/{note['creditnote_id']}/invoices").json()
    assert [c["credited_amount"] for c in credited["invoices_credited"]] == [200.0, 36.0]
    listed = books.get("/creditnotes", params={"status": "closed"}).json()["creditnotes"]
    assert [c["creditnote_number"] for c in listed] == ["CN-29"]


def test_credit_and_payment_together_settle_an_invoice(
    sandbox: ZohoSandbox, books: httpx.Client, ledger: dict[str, str]
) -> None:
    state = sandbox.books.state
    invoice_id = str(_send(books, _invoice(ledger))["invoice_id"])
    note = state.create_credit_note(
        {
            "customer_id": ledger["customer"],
            "line_items": [{"name": "Goodwill", "rate": "180.60", "quantity": 1}],
        }
    )
    state.apply_credit(note.creditnote_id, {invoice_id: "180.60"})
    state.record_payment(ledger["customer"], 1000, {invoice_id: 1000})
    assert state.invoice_status(invoice_id) == "paid"
    assert books.get(f"/invoices/{invoice_id}").json()["invoice"]["status"] == "paid"


def test_overdue_follows_the_simulated_clock(
    sandbox: ZohoSandbox, endpoints: ZohoEndpoints, books: httpx.Client, ledger: dict[str, str]
) -> None:
    invoice = _send(books, _invoice(ledger))
    assert (invoice["status"], invoice["due_date"]) == ("sent", "2026-12-22")

    sandbox.clock.set(datetime(2026, 12, 22, 18, 29, tzinfo=UTC))  # 23:59 IST, due today
    # A month later the access token has expired, as it would have: refresh it.
    assert books.get("/invoices").status_code == 401
    fresh = grant(endpoints.accounts_url).json()["access_token"]
    books.headers["Authorization"] = f"Zoho-oauthtoken {fresh}"
    assert books.get(f"/invoices/{invoice['invoice_id']}").json()["invoice"]["status"] == "sent"
    sandbox.clock.advance(120)  # 00:01 IST on the 23rd
    assert books.get(f"/invoices/{invoice['invoice_id']}").json()["invoice"]["status"] == "overdue"
    overdue = books.get("/invoices", params={"status": "overdue"}).json()["invoices"]
    assert [i["invoice_id"] for i in overdue] == [invoice["invoice_id"]]
    unpaid = books.get("/invoices", params={"filter_by": "Status.Unpaid"}).json()["invoices"]
    assert len(unpaid) == 1


def test_search_invoices_by_reference_number(books: httpx.Client, ledger: dict[str, str]) -> None:
    first = books.post("/invoices", json=_invoice(ledger, reference_number="SO-DLR042-000123"))
    books.post("/invoices", json=_invoice(ledger, reference_number="SO-DLR042-000124"))

    def refs(**params: str) -> list[str]:
        return [
            i["reference_number"] for i in books.get("/invoices", params=params).json()["invoices"]
        ]

    assert refs(reference_number="SO-DLR042-000123") == ["SO-DLR042-000123"]
    assert sorted(refs(reference_number_startswith="SO-DLR042")) == [
        "SO-DLR042-000123",
        "SO-DLR042-000124",
    ]
    assert refs(reference_number="SO-NOPE") == []
    number = first.json()["invoice"]["invoice_number"]
    assert [
        i["invoice_number"]
        for i in books.get("/invoices", params={"invoice_number": number}).json()["invoices"]
    ] == [number]


def test_invoices_modified_after_a_watermark(
    sandbox: ZohoSandbox, books: httpx.Client, ledger: dict[str, str]
) -> None:
    state = sandbox.books.state
    old = state.create_invoice(_invoice(ledger), send=True)
    watermark = format_time(sandbox.clock.now(), state.tz)
    sandbox.clock.advance(60)
    new = state.create_invoice(_invoice(ledger), send=True)

    def changed() -> list[str]:
        body = books.get(
            "/invoices",
            params={"last_modified_time": watermark, "sort_column": "last_modified_time"},
        ).json()
        return [i["invoice_id"] for i in body["invoices"]]

    assert changed() == [new.invoice_id]
    sandbox.clock.advance(60)
    state.record_payment(ledger["customer"], 100, {old.invoice_id: 100})
    assert changed() == [old.invoice_id, new.invoice_id]
    in_range = books.get("/invoices", params={"date_start": "2026-11-23"}).json()["invoices"]
    assert in_range == []


def test_contacts_create_list_and_reject_a_duplicate_name(books: httpx.Client) -> None:
    created = books.post(
        "/contacts",
        json={
            "contact_name": "Ganesh Motors",
            "company_name": "Ganesh Motors Pvt Ltd",
            "contact_type": "customer",
            "credit_limit": 50000,
            "payment_terms": 15,
            "gst_treatment": "business_gst",
            "gst_no": "29AAAAA0000A1Z5",
            "place_of_contact": "KA",
            "billing_address": {"city": "Bengaluru", "state_code": "KA"},
        },
    )
    assert created.status_code == 201
    contact = created.json()["contact"]
    assert (contact["payment_terms_label"], contact["credit_limit"]) == ("Net 15", 50000.0)
    assert books.post("/contacts", json={"contact_name": "Ganesh Motors"}).status_code == 400
    listed = books.get("/contacts", params={"sort_column": "last_modified_time"}).json()
    assert [c["contact_name"] for c in listed["contacts"]] == ["Ganesh Motors"]


def test_items_create_list_get(books: httpx.Client) -> None:
    created = books.post(
        "/items",
        json={"name": "Oil Filter OF-7", "rate": 240, "sku": "OF-7", "hsn_or_sac": "84212300"},
    )
    assert created.status_code == 201
    item_id = created.json()["item"]["item_id"]
    assert books.get(f"/items/{item_id}").json()["item"]["tax_name"] == "GST18"
    assert [i["sku"] for i in books.get("/items").json()["items"]] == ["OF-7"]
    assert books.post("/items", json={"name": "No Rate"}).status_code == 400
