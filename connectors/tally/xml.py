"""Tally's XML envelopes, built and read with lxml only: every text is escaped by construction.

Facts from the shared API reference, section 4 (apis.md): requests travel as UTF-16 LE
(``text/xml;charset=utf-16``), as both mature clients send them; answers are read in whatever
encoding they declare (BOM, charset, or UTF-16 sniffed from the first bytes), and the ``&#4;``
references and raw control characters Tally puts in answers are stripped before parsing, because
XML 1.0 forbids them. Import requests use the legacy dialect (``Import Data`` / ``Vouchers`` or
``All Masters``), exports the legacy Day Book or a version-1 collection with inline TDL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

XmlElement = Any
"""An ``lxml.etree._Element``; lxml has no type hints, so mypy sees Any."""

REQUEST_ENCODING = "utf-16-le"
REQUEST_CONTENT_TYPE = "text/xml;charset=utf-16"
UDF_NAMESPACE = "TallyUDF"
EXPORT_FORMAT = "$$SysName:XML"

# XML 1.0 forbids these characters, raw or as references; Tally's answers contain them (&#4;).
_FORBIDDEN_RAW = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F]")
_CHAR_REF = re.compile(r"&#(x[0-9A-Fa-f]+|[0-9]+);")
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._-]+)", re.IGNORECASE)
_TDL_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


class TallyXmlError(ValueError):
    """An answer that is not readable XML, or a value that XML (or TDL) cannot carry."""


# -- bytes on the wire ---------------------------------------------------------------------------


def encode_request(root: XmlElement) -> bytes:
    """UTF-16 LE without a BOM or declaration, as tally-database-loader and TallyConnector send."""
    text: str = etree.tostring(root, encoding="unicode")
    return text.encode(REQUEST_ENCODING)


def answer_encoding(content: bytes, content_type: str | None) -> str:
    """The codec of an answer: BOM first, then the declared charset, then a sniff of the first bytes.

    Tally's clients send and read ``charset=utf-16`` as little-endian without a BOM (apis.md 4.1),
    so a bare ``utf-16`` charset means LE here, not the big-endian RFC 2781 default.
    """
    if content.startswith(b"\xff\xfe"):
        return "utf-16-le"
    if content.startswith(b"\xfe\xff"):
        return "utf-16-be"
    if content.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    match = _CHARSET.search(content_type or "")
    if match:
        charset = match.group(1).lower().replace("_", "-")
        if charset in ("utf-16", "utf16", "unicode", "utf-16le"):
            return "utf-16-le"
        if charset in ("utf-16be",):
            return "utf-16-be"
        return charset
    if len(content) >= 2 and content[0] != 0 and content[1] == 0:
        return "utf-16-le"
    return "utf-8"


def _strip_forbidden_reference(match: re.Match[str]) -> str:
    token = match.group(1)
    code = int(token[1:], 16) if token[0] in "xX" else int(token)
    forbidden = code < 0x20 and code not in (0x09, 0x0A, 0x0D)
    return "" if forbidden else match.group(0)


def clean_answer(text: str) -> str:
    """Drop what XML 1.0 forbids: ``&#4;``-style references and raw control characters."""
    text = text.lstrip("\ufeff")
    return _CHAR_REF.sub(_strip_forbidden_reference, _FORBIDDEN_RAW.sub("", text))


def _parser() -> Any:
    """No entity expansion, no network, no DTD: an answer can never make us read anything else."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
        encoding="utf-8",  # the text is re-encoded below; a declared encoding must not override it
    )


def parse_answer(content: bytes, content_type: str | None = None) -> XmlElement:
    """Decode, clean and parse one answer; refuse anything that is not plain XML."""
    try:
        text = content.decode(answer_encoding(content, content_type))
    except (LookupError, UnicodeDecodeError) as exc:
        raise TallyXmlError(f"answer is not in a readable encoding: {exc}") from exc
    return parse_text(text)


def parse_text(text: str) -> XmlElement:
    cleaned = clean_answer(text).strip()
    if not cleaned:
        raise TallyXmlError("empty answer")
    try:
        root = etree.fromstring(cleaned.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as exc:
        raise TallyXmlError(f"answer is not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise TallyXmlError("answer carries a DOCTYPE; Tally never sends one")
    return root


# -- building ------------------------------------------------------------------------------------


def child(parent: XmlElement, tag: str, text: str | None = None, **attributes: str) -> XmlElement:
    """Append ``<tag>`` with its text set through lxml (escaped by construction)."""
    element = etree.SubElement(parent, tag)
    try:
        for name, value in attributes.items():
            element.set(name, value)
        if text is not None:
            element.text = text
    except ValueError as exc:  # control characters: XML 1.0 cannot carry them at all
        raise TallyXmlError(f"{tag}: {text!r} has characters XML cannot carry") from exc
    return element


def element(tag: str, **attributes: str) -> XmlElement:
    made = etree.Element(tag)
    try:
        for name, value in attributes.items():
            made.set(name, value)
    except ValueError as exc:
        raise TallyXmlError(f"{tag}: an attribute has characters XML cannot carry") from exc
    return made


def import_envelope(report: str, company: str | None, messages: Iterable[XmlElement]) -> XmlElement:
    """Legacy import dialect: ``Import Data`` with REPORTNAME ``Vouchers`` or ``All Masters``.

    One TALLYMESSAGE per object, as in the reference's masters example, so that Tally's
    LINEERROR and counts are per object.
    """
    root = element("ENVELOPE")
    child(child(root, "HEADER"), "TALLYREQUEST", "Import Data")
    data = child(child(root, "BODY"), "IMPORTDATA")
    description = child(data, "REQUESTDESC")
    child(description, "REPORTNAME", report)
    if company:
        child(child(description, "STATICVARIABLES"), "SVCURRENTCOMPANY", company)
    request_data = child(data, "REQUESTDATA")
    for message in messages:
        holder = etree.SubElement(request_data, "TALLYMESSAGE", nsmap={"UDF": UDF_NAMESPACE})
        holder.append(message)
    return root


def day_book_request(company: str | None, first: date, last: date) -> XmlElement:
    """Legacy Day Book export: every voucher dated ``first`` to ``last`` (both inclusive)."""
    root = element("ENVELOPE")
    child(child(root, "HEADER"), "TALLYREQUEST", "Export Data")
    description = child(child(child(root, "BODY"), "EXPORTDATA"), "REQUESTDESC")
    child(description, "REPORTNAME", "Day Book")
    variables = child(description, "STATICVARIABLES")
    if company:
        child(variables, "SVCURRENTCOMPANY", company)
    child(variables, "SVFROMDATE", tally_date(first))
    child(variables, "SVTODATE", tally_date(last))
    child(variables, "SVEXPORTFORMAT", EXPORT_FORMAT)
    child(variables, "EXPLODEFLAG", "Yes")
    return root


def collection_request(
    company: str | None,
    name: str,
    object_type: str,
    fetch: Sequence[str],
    filters: Sequence[str] = (),
    first: date | None = None,
    last: date | None = None,
) -> XmlElement:
    """Version-1 export of an inline TDL collection (apis.md 4.4, as tally-database-loader does).

    Each filter is a TDL formula; Tally keeps the objects for which every formula is true.
    """
    root = element("ENVELOPE")
    header = child(root, "HEADER")
    child(header, "VERSION", "1")
    child(header, "TALLYREQUEST", "Export")
    child(header, "TYPE", "Collection")
    child(header, "ID", name)
    description = child(child(root, "BODY"), "DESC")
    variables = child(description, "STATICVARIABLES")
    child(variables, "SVEXPORTFORMAT", EXPORT_FORMAT)
    if company:
        child(variables, "SVCURRENTCOMPANY", company)
    if first is not None:
        child(variables, "SVFROMDATE", tally_date(first))
    if last is not None:
        child(variables, "SVTODATE", tally_date(last))
    tdl = child(child(description, "TDL"), "TDLMESSAGE")
    collection = child(tdl, "COLLECTION", NAME=name)
    child(collection, "TYPE", object_type)
    child(collection, "FETCH", ", ".join(fetch))
    names = [f"{name}Filter{index}" for index in range(1, len(filters) + 1)]
    if names:
        child(collection, "FILTER", ",".join(names))
    for formula_name, formula in zip(names, filters, strict=True):
        child(tdl, "SYSTEM", formula, TYPE="Formulae", NAME=formula_name)
    return root


def tdl_equals(field: str, value: str) -> str:
    """``$Field = "value"``. TDL strings have no escape for a double quote, so one is refused."""
    _check_field(field)
    if '"' in value:
        raise TallyXmlError(f"{value!r} contains a double quote, which a TDL string cannot hold")
    return f'${field} = "{value}"'


def tdl_greater(field: str, value: int) -> str:
    _check_field(field)
    return f"${field} > {int(value)}"


def _check_field(field: str) -> None:
    if not _TDL_FIELD.match(field):
        raise TallyXmlError(f"{field!r} is not a TDL method name")


# -- formats -------------------------------------------------------------------------------------


def yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def is_yes(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("yes", "true", "1")


def tally_date(value: date) -> str:
    """Tally's "uni date": ``yyyymmdd`` (apis.md 4.2)."""
    return value.strftime("%Y%m%d")


def parse_tally_date(value: Any) -> date:
    text = str(value or "").strip()
    if not re.fullmatch(r"\d{8}", text):
        raise ValueError(f"{text!r} is not a yyyymmdd date")
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def _number(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return number


def parse_amount(value: Any) -> Decimal:
    """``-6844.00`` -> Decimal. Foreign-currency forms (``... = -₹ 8300.00``) keep the base part."""
    if isinstance(value, Decimal):
        return value
    text = str(value or "").strip()
    if not text:
        return Decimal(0)
    text = text.rsplit("=", 1)[-1]
    negative = "-" in text
    digits = re.sub(r"[^0-9.]", "", text)
    if not digits:
        raise ValueError(f"{value!r} is not an amount")
    number = _number(digits)
    return -number if negative else number


def parse_quantity(value: Any) -> tuple[Decimal, str]:
    """``" 4 Nos"`` -> (4, "Nos"); a compound unit (``4 Nos = 2 Box``) keeps its first part."""
    text = str(value or "").split("=", 1)[0].strip()
    if not text:
        raise ValueError("empty quantity")
    number, _, unit = text.partition(" ")
    return _number(number.replace(",", "")), unit.strip()


def parse_rate(value: Any) -> tuple[Decimal, str]:
    """``1450.00/Nos`` -> (1450.00, "Nos")."""
    text = str(value or "").strip()
    if not text:
        raise ValueError("empty rate")
    number, _, unit = text.partition("/")
    return parse_amount(number), unit.strip()


# -- reading -------------------------------------------------------------------------------------


def text_of(parent: XmlElement, tag: str) -> str | None:
    found = parent.find(tag)
    if found is None:
        return None
    return str(found.text or "")


def objects(root: XmlElement, tag: str) -> list[XmlElement]:
    """Every ``tag`` element anywhere in an answer: Day Book and collection answers nest differently."""
    return list(root.iter(tag))


def row(node: XmlElement) -> dict[str, Any]:
    """An element as a JSON-ready dict: attributes and leaf children by tag, ``X.LIST`` as lists.

    Texts are kept exactly as sent (names must round-trip). A repeated leaf keeps its first value
    (in ``NAME.LIST`` the name comes first, its aliases after).
    Children in other namespaces (``UDF:...``) and non-element nodes are left out.
    """
    result: dict[str, Any] = {str(k): str(v) for k, v in node.attrib.items() if "}" not in str(k)}
    for item in node:
        tag = item.tag
        if not isinstance(tag, str) or tag.startswith("{"):
            continue
        if tag.endswith(".LIST"):
            key = tag[: -len(".LIST")]
            if not isinstance(result.get(key), list):  # a same-named attribute gives way
                result[key] = []
            result[key].append(row(item))
        elif len(item):
            result.setdefault(tag, row(item))
        else:
            result.setdefault(tag, str(item.text or ""))
    return result
