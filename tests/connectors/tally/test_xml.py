"""Envelopes built and read with lxml: shapes from apis.md 4.2-4.4, escaping, encodings, safety."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from connectors.http.errors import ErrorKind
from connectors.tally.bodies import LedgerSpec, TallyNaming, VoucherBuildError, ledger_master, sales_voucher
from connectors.tally.errors import ImportResult, TallyError, import_result, raise_for_import
from connectors.tally.wire import TallyLedger, TallyReceipt, TallySalesVoucher
from connectors.tally.xml import (
    TallyXmlError,
    clean_answer,
    encode_request,
    import_envelope,
    parse_amount,
    parse_answer,
    row,
    tdl_equals,
)
from dealer_sync.models import TaxKind
from tests.connectors.tally.support import BRAKE_PAD, HINDI_PARTY, MARKUP_PARTY, inr, order

NAMING = TallyNaming()

# Printable text XML 1.0 can carry: no control characters, surrogates or non-characters.
names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cn")), min_size=1, max_size=40
).filter(lambda s: s.strip() != "")


def legs(voucher: etree._Element) -> list[tuple[str, str, str]]:
    return [
        (leg.findtext("LEDGERNAME"), leg.findtext("ISDEEMEDPOSITIVE"), leg.findtext("AMOUNT"))
        for leg in voucher.findall("LEDGERENTRIES.LIST")
    ]


def test_an_intra_state_sales_voucher_has_the_reference_shape_and_balances():
    voucher = sales_voucher(order("8812"), NAMING)
    assert voucher.attrib == {
        "REMOTEID": "INV-8812",
        "VCHTYPE": "Sales",
        "ACTION": "Create",
        "OBJVIEW": "Invoice Voucher View",
    }
    assert [voucher.findtext(t) for t in ("DATE", "VOUCHERNUMBER", "REFERENCE", "PARTYLEDGERNAME")] == [
        "20261122",
        "INV-8812",
        "8812",
        HINDI_PARTY,
    ]
    assert voucher.findtext("STATENAME") == voucher.findtext("PLACEOFSUPPLY") == "Maharashtra"
    assert legs(voucher) == [
        (HINDI_PARTY, "Yes", "-6844.00"),
        ("Output CGST 9%", "No", "522.00"),
        ("Output SGST 9%", "No", "522.00"),
    ]
    entry = voucher.find("ALLINVENTORYENTRIES.LIST")
    assert [entry.findtext(t) for t in ("STOCKITEMNAME", "RATE", "ACTUALQTY", "BILLEDQTY", "AMOUNT")] == [
        BRAKE_PAD,
        "1450.00/Nos",
        " 4 Nos",
        " 4 Nos",
        "5800.00",
    ]
    assert entry.findtext("ACCOUNTINGALLOCATIONS.LIST/LEDGERNAME") == "Sales GST 18%"
    assert entry.findtext("BATCHALLOCATIONS.LIST/GODOWNNAME") == "Pune WH"
    amounts = [Decimal(a.text) for a in voucher.iter("AMOUNT") if a.getparent().tag != "BILLALLOCATIONS.LIST"]
    top_level = [Decimal(leg[2]) for leg in legs(voucher)] + [Decimal(entry.findtext("AMOUNT"))]
    assert sum(top_level) == 0 and len(amounts) > len(top_level)


def test_an_inter_state_voucher_carries_one_igst_leg():
    voucher = sales_voucher(order("9", kind=TaxKind.INTER_STATE, place="KA"), NAMING)
    assert legs(voucher) == [(HINDI_PARTY, "Yes", "-6844.00"), ("Output IGST 18%", "No", "1044.00")]
    assert voucher.findtext("STATENAME") == "Karnataka"


def test_tax_that_does_not_add_up_to_the_total_is_refused_before_sending():
    broken = order("7").model_copy(update={"total": inr("6845.00")})
    with pytest.raises(VoucherBuildError, match="would not balance"):
        sales_voucher(broken, NAMING)


def test_markup_characters_are_escaped_by_construction_and_read_back_whole():
    envelope = import_envelope(
        "Vouchers", 'Acme & "Sons" <Pvt>', [sales_voucher(order("1", party=MARKUP_PARTY), NAMING)]
    )
    text = etree.tostring(envelope, encoding="unicode")
    assert "A &amp; B &lt;Traders&gt;" in text and 'Acme &amp; "Sons" &lt;Pvt&gt;' in text
    back = parse_answer(encode_request(envelope), "text/xml;charset=utf-16")
    assert back.findtext(".//PARTYLEDGERNAME") == MARKUP_PARTY
    assert back.findtext(".//SVCURRENTCOMPANY") == 'Acme & "Sons" <Pvt>'
    master = ledger_master(LedgerSpec("Output CGST 9%", "Duties & Taxes", tax_type="GST"))
    assert "<PARENT>Duties &amp; Taxes</PARENT>" in etree.tostring(master, encoding="unicode")


def test_a_name_with_a_control_character_cannot_travel():
    with pytest.raises(TallyXmlError, match="PARTYLEDGERNAME"):
        sales_voucher(order("2", party="Bad\x04Name"), NAMING)


def test_requests_are_utf16_le_without_bom_and_answers_are_read_in_any_declared_encoding():
    envelope = import_envelope("Vouchers", "Café", [])
    body = encode_request(envelope)
    assert body[:4] == "<E".encode("utf-16-le")  # no BOM, no declaration
    answer = f"<RESPONSE><NAME>{HINDI_PARTY}</NAME></RESPONSE>"
    for content, content_type in (
        (answer.encode("utf-16-le"), "text/xml; charset=utf-16"),
        (answer.encode("utf-16-le"), None),  # sniffed
        (b"\xff\xfe" + answer.encode("utf-16-le"), "text/xml; charset=utf-8"),  # the BOM wins
        (b"\xfe\xff" + answer.encode("utf-16-be"), None),
        (answer.encode("utf-8"), "text/xml; charset=utf-8"),
        (b"<?xml version='1.0' encoding='UTF-16'?>" + answer.encode("utf-8"), "text/xml; charset=utf-8"),
    ):
        assert parse_answer(content, content_type).findtext("NAME") == HINDI_PARTY


def test_forbidden_references_and_control_characters_are_stripped_but_text_is_not():
    raw = "<A><B>&#4; Not Applicable</B><C>x\x04y&#x4;</C><D>&amp;#4; &#10;kept</D></A>"
    assert clean_answer(raw) == "<A><B> Not Applicable</B><C>xy</C><D>&amp;#4; &#10;kept</D></A>"
    root = parse_answer(raw.encode("utf-8"))
    assert [root.findtext(t) for t in "BCD"] == [" Not Applicable", "xy", "&#4; \nkept"]


@pytest.mark.parametrize(
    "answer",
    [
        '<!DOCTYPE R [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><R>&b;</R>',
        '<!DOCTYPE R [<!ENTITY e SYSTEM "file:///etc/hostname">]><R>&e;</R>',
        "<R><unclosed></R>",
        "",
    ],
    ids=["entity-expansion", "external-entity", "malformed", "empty"],
)
def test_answers_that_are_not_plain_xml_are_refused(answer):
    with pytest.raises(TallyXmlError):
        parse_answer(answer.encode("utf-8"))


def test_import_results_are_read_in_both_shapes():
    legacy = parse_answer(
        b"<RESPONSE><CREATED>1</CREATED><ALTERED>0</ALTERED><LASTVCHID>4190</LASTVCHID>"
        b"<ERRORS>0</ERRORS></RESPONSE>"
    )
    assert import_result(legacy) == ImportResult(created=1, last_voucher_id="4190")
    version1 = parse_answer(
        b"<ENVELOPE><HEADER><VERSION>1</VERSION><STATUS>1</STATUS></HEADER><BODY><DATA>"
        b"<LINEERROR>Ledger 'X' does not exist!</LINEERROR><IMPORTRESULT><CREATED>0</CREATED>"
        b"<ALTERED>0</ALTERED><ERRORS>1</ERRORS></IMPORTRESULT></DATA></BODY></ENVELOPE>"
    )
    result = import_result(version1)
    assert (result.errors, result.line_errors) == (1, ("Ledger 'X' does not exist!",))
    with pytest.raises(TallyError) as caught:
        import_result(parse_answer(b"<ENVELOPE><BODY/></ENVELOPE>"))
    assert caught.value.kind is ErrorKind.UNCERTAIN


@pytest.mark.parametrize(
    ("result", "kind", "text"),
    [
        (ImportResult(errors=1, line_errors=("Ledger 'Z' does not exist!",)), ErrorKind.BAD_REQUEST, "'Z'"),
        (
            ImportResult(errors=1, line_errors=("Voucher Number 'I-1' already exists!",)),
            ErrorKind.DUPLICATE,
            "I-1",
        ),
        (ImportResult(altered=1), ErrorKind.DUPLICATE, "already exists"),
        (ImportResult(), ErrorKind.BAD_REQUEST, "created nothing"),
    ],
    ids=["line-error", "number-taken", "altered", "nothing"],
)
def test_the_error_table_maps_import_outcomes(result, kind, text):
    with pytest.raises(TallyError) as caught:
        raise_for_import(result, "Sales voucher I-1")
    assert caught.value.kind is kind and text in str(caught.value)
    raise_for_import(ImportResult(created=1), "Sales voucher I-1")  # created: no error


def test_tdl_strings_cannot_hold_a_double_quote():
    assert tdl_equals("VoucherNumber", "INV-1") == '$VoucherNumber = "INV-1"'
    with pytest.raises(TallyXmlError):
        tdl_equals("VoucherNumber", 'INV-"1"')
    with pytest.raises(TallyXmlError):
        tdl_equals("Voucher Number", "x")


def test_ledger_masters_read_both_duty_head_spellings_and_a_name_list():
    for spelling in ("Central Tax", "CGST"):
        ledger = TallyLedger.model_validate(
            {"NAME": "Output CGST 9%", "TAXTYPE": "GST", "GSTDUTYHEAD": spelling}
        )
        assert ledger.gst_duty == "CGST"
    element = etree.fromstring(
        '<LEDGER NAME="Café"><NAME.LIST><NAME>Café</NAME><NAME>Alias</NAME></NAME.LIST>'
        "<PARENT>Sundry Debtors</PARENT></LEDGER>"
    )
    assert TallyLedger.model_validate(row(element)).name == "Café"


def test_a_sent_voucher_reads_back_as_the_canonical_invoice_it_came_from():
    mapped = order("55", lines=[(BRAKE_PAD, "333.50", 3, 18), (BRAKE_PAD, "10.00", 1, 18)])
    record = row(parse_answer(encode_request(sales_voucher(mapped, NAMING))))
    for leg in record["LEDGERENTRIES"][1:]:
        leg["gst_duty_head"] = leg["LEDGERNAME"].split()[1]
    invoice = TallySalesVoucher.model_validate(record).canonical("DLR042")
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        mapped.subtotal,
        mapped.tax_total,
        mapped.total,
    )
    assert [line.tax_lines for line in invoice.lines] == [line.tax_lines for line in mapped.lines]
    assert invoice.due_date.isoformat() == "2026-12-22" and invoice.reference == "55"


@settings(max_examples=60, deadline=None)
@given(party=names, item=names, company=names)
def test_any_printable_name_round_trips_through_an_envelope(party, item, company):
    mapped = order("H", party=party, lines=[(item, "1.00", 1, 0)])  # our models trim names
    envelope = import_envelope("Vouchers", company, [sales_voucher(mapped, NAMING)])
    back = parse_answer(encode_request(envelope), "text/xml;charset=utf-16")
    record = row(back.find(".//VOUCHER"))
    assert record["PARTYLEDGERNAME"] == mapped.customer_id == party.strip()
    assert record["ALLINVENTORYENTRIES"][0]["STOCKITEMNAME"] == mapped.lines[0].item_id == item.strip()
    assert back.findtext(".//SVCURRENTCOMPANY") == company


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False))
def test_amounts_round_trip_through_their_text(value):
    assert parse_amount(format(value, "f")) == value


def test_unreadable_vouchers_fail_validation_so_the_pullback_can_quarantine_them():
    bank_only = {
        "DATE": "20261122",
        "VOUCHERTYPENAME": "Receipt",
        "ALLLEDGERENTRIES": [{"LEDGERNAME": "Bank", "AMOUNT": "-1"}],
    }
    with pytest.raises(ValidationError, match="no party ledger entry"):
        TallyReceipt.model_validate(bank_only)
    with pytest.raises(ValidationError, match="yyyymmdd"):
        TallySalesVoucher.model_validate({**bank_only, "DATE": "22-11-2026"})
    with pytest.raises(ValidationError, match="not an amount"):
        TallyReceipt.model_validate(
            {**bank_only, "PARTYLEDGERNAME": "P", "ALLLEDGERENTRIES": [{"LEDGERNAME": "P", "AMOUNT": "n/a"}]}
        )
