"""File mode: one well-formed import file per window, replaced on a rerun, accepted by Tally."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from lxml import etree

from connectors.tally.bodies import VoucherBuildError
from connectors.tally.files import import_file_name, write_import_file
from connectors.tally.xml import parse_answer
from tests.connectors.tally.support import (
    BRAKE_PAD,
    CAFE_PARTY,
    COMPANY,
    DAY,
    HINDI_PARTY,
    MARKUP_PARTY,
    order,
)

FIRST, LAST = date(2026, 11, 16), date(2026, 11, 22)


def post_file(url: str, content: bytes) -> etree._Element:
    """Post the file as a site's scheduled job would: the bytes as they are on disk."""
    response = httpx.post(url, content=content, headers={"Content-Type": "text/xml"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/xml; charset=utf-16"  # answered in kind
    return parse_answer(response.content, response.headers["content-type"])


def test_a_window_becomes_one_well_formed_utf16_file_that_tally_accepts(tmp_path, sim, url):
    orders = [order("F2", party=MARKUP_PARTY), order("F1"), order("F3", party=CAFE_PARTY, on=FIRST)]
    written = write_import_file(tmp_path, orders, company=COMPANY, first=FIRST, last=LAST)

    assert written.path == tmp_path / import_file_name(COMPANY, FIRST, LAST)
    assert (written.vouchers, written.replaced) == (3, False)
    assert [p.name for p in tmp_path.iterdir()] == [written.path.name]  # no temporary left behind
    content = written.path.read_bytes()
    assert content.startswith(b"\xff\xfe") and "encoding='UTF-16'" in content.decode("utf-16")
    document = etree.fromstring(content)  # well-formed, with its declaration
    assert [v.get("REMOTEID") for v in document.iter("VOUCHER")] == ["INV-F1", "INV-F2", "INV-F3"]
    assert document.findtext(".//SVCURRENTCOMPANY") == COMPANY

    answer = post_file(url, content)
    assert (answer.findtext("CREATED"), answer.findtext("ERRORS")) == ("3", "0")
    parties = {v.number: v.party for v in sim.state.find_vouchers("Sales")}
    assert parties == {"INV-F1": HINDI_PARTY, "INV-F2": MARKUP_PARTY, "INV-F3": CAFE_PARTY}


def test_a_rerun_of_the_window_replaces_the_file_and_reimporting_it_alters(tmp_path, sim, url):
    first = write_import_file(tmp_path, [order("R1"), order("R2")], company=COMPANY, first=FIRST, last=LAST)
    post_file(url, first.path.read_bytes())

    edited = order("R1", lines=[(BRAKE_PAD, "1450.00", 5, 18)], version=2)
    again = write_import_file(
        tmp_path, [order("R1"), edited, order("R2")], company=COMPANY, first=FIRST, last=LAST
    )
    assert again.path == first.path and again.replaced and again.vouchers == 2
    assert len(list(tmp_path.iterdir())) == 1
    document = etree.fromstring(again.path.read_bytes())
    assert [e.text for e in document.iter("BILLEDQTY")][:1] == [" 5 Nos"]  # the latest version won

    answer = post_file(url, again.path.read_bytes())
    assert (answer.findtext("CREATED"), answer.findtext("ALTERED")) == ("0", "2")
    assert len(sim.state.find_vouchers("Sales")) == 2


def test_a_failed_render_leaves_the_previous_file_alone(tmp_path):
    written = write_import_file(tmp_path, [order("K1")], company=COMPANY, first=FIRST, last=LAST)
    before = written.path.read_bytes()
    broken = order("K2").model_copy(update={"total": order("K2").subtotal})
    with pytest.raises(VoucherBuildError):
        write_import_file(tmp_path, [order("K1"), broken], company=COMPANY, first=FIRST, last=LAST)
    assert written.path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_orders_outside_the_window_are_refused(tmp_path):
    with pytest.raises(ValueError, match="INV-LATE"):
        write_import_file(
            tmp_path, [order("LATE", on=date(2026, 11, 23))], company=COMPANY, first=FIRST, last=LAST
        )
    assert list(tmp_path.iterdir()) == []


def test_file_names_are_deterministic_ascii_and_unique_per_company_and_window():
    name = import_file_name(COMPANY, FIRST, LAST)
    assert name == import_file_name(COMPANY, FIRST, LAST)
    assert name.startswith("sales-dealer-sync-demo-pvt-ltd-") and name.endswith("-20261116-20261122.xml")
    hindi = import_file_name("श्री गणेश ट्रेडर्स", FIRST, LAST)
    assert hindi.isascii() and hindi.startswith("sales-company-")
    assert hindi != import_file_name("गणेश", FIRST, LAST)
    assert name != import_file_name(COMPANY, FIRST, DAY.replace(day=23))
