"""Envelopes for the Tally simulator tests, built with lxml, and how a client reads answers."""

from __future__ import annotations

from decimal import Decimal

import httpx
from lxml import etree

COMPANY = "Shree Auto Parts Distribution Pvt Ltd"
PARTY = "Shree Auto Parts (DLR042)"
ITEM = "BP-220 Brake Pad Set"


def sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, tag)
    node.text = text
    return node


def leg(
    voucher: etree._Element, ledger: str, amount: str, *, party: bool = False, tag: str = "LEDGERENTRIES.LIST"
):
    entry = sub(voucher, tag)
    sub(entry, "LEDGERNAME", ledger)
    sub(entry, "ISDEEMEDPOSITIVE", "Yes" if Decimal(amount) < 0 else "No")
    if party:
        sub(entry, "ISPARTYLEDGER", "Yes")
    sub(entry, "AMOUNT", amount)
    return entry


def sales(
    number: str | None = "INV-1",
    *,
    remote_id: str | None = "rid-1",
    day: str = "20261122",
    party: str = PARTY,
    quantity: int = 4,
    cgst: str = "522.00",
    sgst: str | None = None,
    action: str = "Create",
) -> etree._Element:
    """The reference's intra-state voucher (apis.md 4.2): 4 x 1450.00 at 18 %, one godown.

    The party is debited the items plus twice ``cgst``; an ``sgst`` that differs unbalances it.
    """
    voucher = etree.Element("VOUCHER", VCHTYPE="Sales", ACTION=action, OBJVIEW="Invoice Voucher View")
    if remote_id is not None:
        voucher.set("REMOTEID", remote_id)
    sub(voucher, "DATE", day)
    sub(voucher, "VOUCHERTYPENAME", "Sales")
    if number is not None:
        sub(voucher, "VOUCHERNUMBER", number)
    sub(voucher, "PARTYLEDGERNAME", party)
    amount = Decimal("1450.00") * quantity
    total = amount + Decimal(cgst) * 2
    leg(voucher, party, f"-{total:.2f}", party=True)
    entry = sub(voucher, "ALLINVENTORYENTRIES.LIST")
    sub(entry, "STOCKITEMNAME", ITEM)
    sub(entry, "ISDEEMEDPOSITIVE", "No")
    sub(entry, "RATE", "1450.00/Nos")
    sub(entry, "ACTUALQTY", f" {quantity} Nos")
    sub(entry, "BILLEDQTY", f" {quantity} Nos")
    sub(entry, "AMOUNT", f"{amount:.2f}")
    batch = sub(entry, "BATCHALLOCATIONS.LIST")
    sub(batch, "GODOWNNAME", "Pune WH")
    allocation = sub(entry, "ACCOUNTINGALLOCATIONS.LIST")
    sub(allocation, "LEDGERNAME", "Sales GST 18%")
    sub(allocation, "ISDEEMEDPOSITIVE", "No")
    sub(allocation, "AMOUNT", f"{amount:.2f}")
    leg(voucher, "Output CGST 9%", cgst)
    leg(voucher, "Output SGST 9%", cgst if sgst is None else sgst)
    return voucher


def legacy_import(*objects: etree._Element, company: str | None = COMPANY, report: str = "Vouchers") -> bytes:
    root = etree.Element("ENVELOPE")
    sub(sub(root, "HEADER"), "TALLYREQUEST", "Import Data")
    data = sub(sub(root, "BODY"), "IMPORTDATA")
    description = sub(data, "REQUESTDESC")
    sub(description, "REPORTNAME", report)
    if company is not None:
        sub(sub(description, "STATICVARIABLES"), "SVCURRENTCOMPANY", company)
    request_data = sub(data, "REQUESTDATA")
    for item in objects:
        etree.SubElement(request_data, "TALLYMESSAGE").append(item)
    return etree.tostring(root)


def v1_import(*objects: etree._Element, company: str = COMPANY) -> bytes:
    root = etree.Element("ENVELOPE")
    header = sub(root, "HEADER")
    for tag, value in (("VERSION", "1"), ("TALLYREQUEST", "Import"), ("TYPE", "Data"), ("ID", "Vouchers")):
        sub(header, tag, value)
    body = sub(root, "BODY")
    sub(sub(sub(body, "DESC"), "STATICVARIABLES"), "SVCURRENTCOMPANY", company)
    data = sub(body, "DATA")
    for item in objects:
        sub(data, "TALLYMESSAGE").append(item)
    return etree.tostring(root)


def day_book(first: str, last: str, company: str = COMPANY) -> bytes:
    root = etree.Element("ENVELOPE")
    sub(sub(root, "HEADER"), "TALLYREQUEST", "Export Data")
    description = sub(sub(sub(root, "BODY"), "EXPORTDATA"), "REQUESTDESC")
    sub(description, "REPORTNAME", "Day Book")
    variables = sub(description, "STATICVARIABLES")
    for tag, value in (("SVCURRENTCOMPANY", company), ("SVFROMDATE", first), ("SVTODATE", last)):
        sub(variables, tag, value)
    sub(variables, "SVEXPORTFORMAT", "$$SysName:XML")
    return etree.tostring(root)


def collection(object_type: str, *formulas: str, name: str = "Probe", first: str | None = None) -> bytes:
    root = etree.Element("ENVELOPE")
    header = sub(root, "HEADER")
    for tag, value in (("VERSION", "1"), ("TALLYREQUEST", "Export"), ("TYPE", "Collection"), ("ID", name)):
        sub(header, tag, value)
    description = sub(sub(root, "BODY"), "DESC")
    variables = sub(description, "STATICVARIABLES")
    sub(variables, "SVCURRENTCOMPANY", COMPANY)
    if first is not None:
        sub(variables, "SVFROMDATE", first)
    tdl = sub(sub(description, "TDL"), "TDLMESSAGE")
    node = etree.SubElement(tdl, "COLLECTION", NAME=name)
    sub(node, "TYPE", object_type)
    sub(node, "FETCH", "*")
    if formulas:
        sub(node, "FILTER", ",".join(f"F{i}" for i in range(len(formulas))))
    for index, formula in enumerate(formulas):
        etree.SubElement(tdl, "SYSTEM", TYPE="Formulae", NAME=f"F{index}").text = formula
    return etree.tostring(root)


def answer(response: httpx.Response) -> etree._Element:
    """Parse an answer the way Tally's clients do: decode, strip &#4;, then XML."""
    assert response.status_code == 200, response.text
    encoding = "utf-16-le" if "utf-16" in response.headers["content-type"] else "utf-8"
    text = response.content.decode(encoding).replace("&#4;", "")
    return etree.fromstring(text.encode("utf-8"))
