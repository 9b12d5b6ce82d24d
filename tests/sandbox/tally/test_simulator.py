"""The Tally simulator over raw HTTP: encodings, import answers, voucher rules, exports, admin, faults."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from lxml import etree

from sandbox.tally import TallySimulator
from tests.sandbox.tally.support import (
    COMPANY,
    ITEM,
    PARTY,
    answer,
    collection,
    day_book,
    legacy_import,
    sales,
    sub,
    v1_import,
)


def counts(root: etree._Element) -> dict[str, str]:
    holder = root if root.tag == "RESPONSE" else root.find("BODY/DATA/IMPORTRESULT")
    return {tag: holder.findtext(tag) for tag in ("CREATED", "ALTERED", "DELETED", "ERRORS", "LASTVCHID")}


def line_errors(root: etree._Element) -> list[str]:
    return [e.text for e in root.iter("LINEERROR")]


def test_the_server_says_it_is_running_on_any_path(tally):
    for path in ("/", "/anything"):
        assert "TallyPrime Server is Running" in tally.get(path).text


@pytest.mark.parametrize(
    ("encode", "content_type", "reply"),
    [
        (lambda t: t.encode("utf-16-le"), "text/xml;charset=utf-16", "utf-16"),
        (lambda t: b"\xff\xfe" + t.encode("utf-16-le"), "text/xml", "utf-16"),
        (lambda t: t.encode("utf-16-le"), "text/xml", "utf-16"),  # sniffed from the first bytes
        (lambda t: t.encode("utf-8"), "text/xml;charset=utf-8", "utf-8"),
        (lambda t: t.encode("utf-8"), None, "utf-8"),
    ],
    ids=["utf16-charset", "utf16-bom", "utf16-sniffed", "utf8", "utf8-default"],
)
def test_utf8_and_utf16_requests_are_answered_in_their_own_encoding(tally, sim, encode, content_type, reply):
    body = encode(legacy_import(sales()).decode("utf-8"))
    headers = {"Content-Type": content_type} if content_type else {}
    response = tally.post("/", content=body, headers=headers)
    assert response.headers["content-type"] == f"text/xml; charset={reply}"
    assert counts(answer(response))["CREATED"] == "1"


def test_a_legacy_import_answers_a_flat_response_and_version_1_an_import_result(tally):
    legacy = answer(tally.post("/", content=legacy_import(sales())))
    assert legacy.tag == "RESPONSE"
    assert counts(legacy) == {"CREATED": "1", "ALTERED": "0", "DELETED": "0", "ERRORS": "0", "LASTVCHID": "1"}
    modern = answer(tally.post("/", content=v1_import(sales("INV-2", remote_id="rid-2"))))
    assert (modern.findtext("HEADER/VERSION"), modern.findtext("HEADER/STATUS")) == ("1", "1")
    assert counts(modern)["CREATED"] == "1" and counts(modern)["LASTVCHID"] == "2"
    refused = answer(tally.post("/", content=v1_import(sales("INV-3", remote_id="rid-3", party="Ghost"))))
    assert refused.find("BODY/DATA/LINEERROR").text == "Ledger 'Ghost' does not exist!"
    assert counts(refused)["ERRORS"] == "1"


def test_each_object_of_a_batch_is_judged_alone(tally, sim):
    batch = legacy_import(sales("INV-A", remote_id="a"), sales("INV-B", remote_id="b", sgst="500.00"))
    result = answer(tally.post("/", content=batch))
    assert (counts(result)["CREATED"], counts(result)["ERRORS"]) == ("1", "1")
    assert line_errors(result) == ["Voucher totals do not match! Dr: 6844.00 Dr  Cr: 6822.00 Cr  Diff: 22.00"]
    assert [v.number for v in sim.state.find_vouchers()] == ["INV-A"]


@pytest.mark.parametrize(
    ("voucher", "message"),
    [
        (sales(day="22-11-2026"), "Voucher date is missing for 'Sales' voucher rid-1."),
        (sales(party="Unknown Traders"), "Ledger 'Unknown Traders' does not exist!"),
        (sales(sgst="0.00"), "Voucher totals do not match!"),
    ],
    ids=["date-format", "missing-ledger", "unbalanced"],
)
def test_vouchers_tally_would_refuse_get_a_line_error(tally, sim, voucher, message):
    result = answer(tally.post("/", content=legacy_import(voucher)))
    assert counts(result)["ERRORS"] == "1" and line_errors(result)[0].startswith(message)
    assert sim.state.find_vouchers() == []


def test_signs_must_agree_with_isdeemedpositive_and_stock_must_exist(tally, sim):
    flipped = sales()
    flipped.find("LEDGERENTRIES.LIST/ISDEEMEDPOSITIVE").text = "No"
    result = answer(tally.post("/", content=legacy_import(flipped)))
    assert "does not agree with ISDEEMEDPOSITIVE No" in line_errors(result)[0]
    ghost = sales()
    ghost.find("ALLINVENTORYENTRIES.LIST/STOCKITEMNAME").text = "Ghost Item"
    assert line_errors(answer(tally.post("/", content=legacy_import(ghost)))) == [
        "Stock Item 'Ghost Item' does not exist!"
    ]


def test_a_known_remoteid_alters_in_place_and_a_taken_number_is_refused(tally, sim):
    tally.post("/", content=legacy_import(sales()))
    before = sim.state.find_vouchers()[0]
    again = answer(tally.post("/", content=legacy_import(sales(quantity=5, cgst="652.50"))))
    assert (counts(again)["CREATED"], counts(again)["ALTERED"]) == ("0", "1")
    [after] = sim.state.find_vouchers()
    assert (after.master_id, after.party_amount) == (before.master_id, Decimal("-8555.00"))
    assert after.alter_id > before.alter_id

    typed_by_hand = answer(tally.post("/", content=legacy_import(sales(remote_id=None))))
    assert line_errors(typed_by_hand) == ["Voucher Number 'INV-1' already exists!"]
    numbered = answer(tally.post("/", content=legacy_import(sales(number=None, remote_id=None))))
    assert counts(numbered)["CREATED"] == "1"
    assert sorted(v.number for v in sim.state.find_vouchers()) == ["1", "INV-1"]

    deleted = answer(tally.post("/", content=legacy_import(sales(action="Delete"))))
    assert counts(deleted)["DELETED"] == "1"
    assert [v.number for v in sim.state.find_vouchers()] == ["1"]


def test_ledger_masters_need_a_known_group_and_markup_travels_escaped(tally, sim):
    ledger = etree.Element("LEDGER", NAME="Output CGST 14%", ACTION="Create")
    for tag, value in (("NAME", "Output CGST 14%"), ("PARENT", "Duties & Taxes"), ("GSTDUTYHEAD", "CGST")):
        sub(ledger, tag, value)
    orphan = etree.Element("LEDGER", NAME="Orphan")
    sub(orphan, "PARENT", "No Such Group")
    body = legacy_import(ledger, orphan, report="All Masters")
    assert b"Duties &amp; Taxes" in body
    result = answer(tally.post("/", content=body))
    assert (counts(result)["CREATED"], line_errors(result)) == (
        "1",
        ["Group 'No Such Group' does not exist!"],
    )
    assert sim.state.ledger("Output CGST 14%").fields["PARENT"] == "Duties & Taxes"


def test_the_day_book_answers_importable_vouchers_for_the_window(tally):
    tally.post("/", content=legacy_import(sales(), sales("INV-2", remote_id="rid-2", day="20261201")))
    response = tally.post("/", content=day_book("20261101", "20261130"))
    assert b"&#4;" in response.content  # as real Tally: invalid XML 1.0 until cleaned
    root = answer(response)
    assert root.findtext("BODY/IMPORTDATA/REQUESTDESC/REPORTNAME") == "Vouchers"
    [voucher] = root.findall("BODY/IMPORTDATA/REQUESTDATA/TALLYMESSAGE/VOUCHER")
    assert (voucher.get("REMOTEID"), voucher.get("VCHTYPE"), voucher.get("ACTION")) == (
        "rid-1",
        "Sales",
        "Create",
    )
    assert voucher.get("VCHKEY") and voucher.findtext("GUID") and voucher.findtext("MASTERID") == "1"
    assert voucher.findtext("ALLINVENTORYENTRIES.LIST/BATCHALLOCATIONS.LIST/GODOWNNAME") == "Pune WH"
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content.decode("utf-8").encode("utf-8"))


def test_collections_filter_vouchers_ledgers_and_report_the_company(tally, sim):
    tally.post("/", content=legacy_import(sales(), sales("INV-2", remote_id="rid-2")))
    found = answer(tally.post("/", content=collection("Voucher", '$VoucherNumber = "inv-2"')))
    assert [v.get("REMOTEID") for v in found.findall("BODY/DATA/COLLECTION/VOUCHER")] == ["rid-2"]
    newer = answer(
        tally.post("/", content=collection("Voucher", "$AlterID > 9", '$VoucherTypeName = "Sales"'))
    )
    assert [v.findtext("VOUCHERNUMBER") for v in newer.iter("VOUCHER")] == ["INV-2"]
    later = answer(tally.post("/", content=collection("Voucher", first="20261123")))
    assert later.findall(".//VOUCHER") == []

    ledgers = answer(tally.post("/", content=collection("Ledger", '$Parent = "Sundry Debtors"')))
    assert [node.get("NAME") for node in ledgers.iter("LEDGER")] == [PARTY]
    company = answer(tally.post("/", content=collection("Company"))).find(".//COMPANY")
    assert (company.get("NAME"), company.findtext("ALTVCHID")) == (COMPANY, "10")

    unknown = answer(tally.post("/", content=collection("Voucher", "$$IsSales:$VoucherTypeName")))
    assert "cannot evaluate" in line_errors(unknown)[0]


def test_another_or_a_closed_company_gets_an_empty_answer(tally, sim):
    assert tally.post("/", content=legacy_import(sales(), company="Other Co")).content == b""
    assert tally.put("/__admin/company", json={"open": False}).json() == {"company": COMPANY, "open": False}
    assert tally.post("/", content=day_book("20261101", "20261130")).content == b""
    assert sim.state.find_vouchers() == []


def test_requests_that_are_not_plain_xml_get_a_line_error(tally):
    bomb = b'<!DOCTYPE E [<!ENTITY a "aaaa">]><ENVELOPE>&a;</ENVELOPE>'
    assert "DOCTYPE" in line_errors(answer(tally.post("/", content=bomb)))[0]
    assert "well-formed" in line_errors(answer(tally.post("/", content=b"<ENVELOPE>")))[0]


def test_admin_books_receipts_and_credit_notes_against_bills(tally, sim):
    tally.post("/", content=legacy_import(sales()))
    bill = etree.SubElement(sim.state.vouchers[0].element.find("LEDGERENTRIES.LIST"), "BILLALLOCATIONS.LIST")
    sub(bill, "NAME", "INV-1")
    sub(bill, "BILLTYPE", "New Ref")
    sub(bill, "AMOUNT", "-6844.00")
    receipt = tally.post(
        "/__admin/receipts",
        json={"party": PARTY, "amount": "5000", "date": "2026-11-28", "against": {"INV-1": "4000"}},
    )
    assert receipt.status_code == 200 and receipt.json()["type"] == "Receipt"
    note = tally.post(
        "/__admin/credit-notes",
        json={
            "party": PARTY,
            "taxable": "1000",
            "date": "2026-11-29",
            "sales_ledger": "Sales GST 18%",
            "taxes": {"Output CGST 9%": "90", "Output SGST 9%": "90"},
            "invoice": "INV-1",
        },
    )
    assert note.status_code == 200 and note.json()["party_amount"] == "1180.00"
    assert sim.state.bill_outstanding(PARTY, "INV-1") == Decimal("1664.00")
    assert (
        tally.post(
            "/__admin/receipts", json={"party": "Ghost", "amount": "1", "date": "2026-11-28"}
        ).status_code
        == 400
    )

    state = tally.get("/__admin/state").json()
    assert [v["type"] for v in state["vouchers"]] == ["Sales", "Receipt", "Credit Note"]
    exported = answer(tally.post("/", content=collection("Voucher", '$VoucherTypeName = "Receipt"')))
    allocations = [
        (b.findtext("NAME"), b.findtext("BILLTYPE"), b.findtext("AMOUNT"))
        for b in exported.iter("BILLALLOCATIONS.LIST")
    ]
    assert allocations[0] == ("INV-1", "Agst Ref", "4000.00") and allocations[1][1:] == (
        "On Account",
        "1000.00",
    )


def test_admin_seeds_and_resets_and_counts(tally, sim):
    seeded = tally.post(
        "/__admin/seed",
        json={
            "gst_rates": [5],
            "ledgers": [{"name": "Café Müller", "parent": "Sundry Debtors", "state": "Goa"}],
            "stock_items": [{"name": "Oil Filter", "unit": "Nos"}],
            "godowns": ["Nashik WH"],
        },
    )
    assert seeded.status_code == 200 and "Café Müller" in seeded.json()["created"]["ledgers"]
    assert tally.post("/__admin/seed", json={"ledgers": [{"name": "X", "parent": "Nope"}]}).status_code == 400
    tally.post("/", content=day_book("20261101", "20261130"))
    calls = tally.get("/__admin/calls").json()
    assert calls["total"] == 1 and calls["calls"] == [{"method": "POST", "path": "/", "count": 1}]
    assert tally.post("/__admin/reset").json() == {"reset": True}
    assert tally.get("/__admin/state").json()["ledgers"] == []


def test_a_duplicate_delivery_is_harmless_only_with_a_remoteid(tally, sim):
    assert tally.patch("/__admin/faults", json={"duplicate_delivery_rate": 1.0}).status_code == 200
    with_id = answer(tally.post("/", content=legacy_import(sales())))
    assert counts(with_id)["CREATED"] == "1"  # the first delivery's answer
    assert len(sim.state.find_vouchers()) == 1  # the second one altered it
    tally.post("/", content=legacy_import(sales(number=None, remote_id=None)))
    assert len(sim.state.find_vouchers()) == 3  # without a REMOTEID, Tally booked it twice


def test_a_drop_after_commit_books_the_voucher_and_cuts_the_answer(tally, sim):
    sim.faults.update(drop_after_commit_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        tally.post("/", content=legacy_import(sales()))
    assert [v.number for v in sim.state.find_vouchers()] == ["INV-1"]
    assert sim.faults.fault_count("drop_after_commit") == 1


def test_state_helpers_book_receipts_and_report_masters(sim: TallySimulator):
    receipt = sim.state.record_receipt(PARTY, "100", on=date(2026, 11, 22))
    assert (receipt.vch_type, receipt.party_amount, receipt.number) == ("Receipt", Decimal("100.00"), "1")
    assert sim.state.snapshot()["stock_items"] == [{"name": ITEM, "BASEUNITS": "Nos", "HSNCODE": "87083000"}]
