"""The Tally simulator's own XML plumbing (apis.md 4.1): encodings in and out, safe parsing.

Simulators import nothing of the product, so this is a second, independent reading of the wire
format: a connector bug cannot hide behind a helper both sides share.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

Element = Any  # lxml.etree._Element
UDF_NAMESPACE = "TallyUDF"

# Real answers carry ``&#4;`` (apis.md 4.1); lxml refuses to write one, so the serialised text
# gets it in place of this marker.
CHR4_MARKER = "\ue004DSYNC-CHR4\ue004"

_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._-]+)", re.IGNORECASE)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


class RequestError(ValueError):
    """A request body the simulator cannot read as XML."""


def request_encoding(body: bytes, content_type: str | None) -> str:
    """BOM first, then the charset, then a sniff: UTF-8 and UTF-16 are both accepted."""
    if body.startswith(b"\xff\xfe"):
        return "utf-16-le"
    if body.startswith(b"\xfe\xff"):
        return "utf-16-be"
    if body.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    match = _CHARSET.search(content_type or "")
    if match:
        charset = match.group(1).lower()
        if charset in ("utf-16", "utf16", "unicode", "utf-16le"):
            return "utf-16-le"  # what Tally's clients mean by it: LE, no BOM
        if charset == "utf-16be":
            return "utf-16-be"
        if charset in ("utf-8", "utf8", "us-ascii", "ascii"):
            return "utf-8"
    if len(body) >= 2 and body[0] != 0 and body[1] == 0:
        return "utf-16-le"
    return "utf-8"


def parse_request(body: bytes, encoding: str) -> Element:
    try:
        text = body.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise RequestError(f"the request is not {encoding}: {exc}") from exc
    text = _DECLARATION.sub("", text, count=1).strip()
    if not text:
        raise RequestError("empty request")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise RequestError(f"the request is not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise RequestError("DOCTYPE declarations are not accepted")
    return root


def render(root: Element, encoding: str) -> bytes:
    """Serialise without a declaration (as Tally answers), in the request's encoding."""
    text: str = etree.tostring(root, encoding="unicode")
    text = text.replace(CHR4_MARKER, "&#4;")
    return text.encode("utf-16-le" if encoding.startswith("utf-16") else "utf-8")


def content_type(encoding: str) -> str:
    return "text/xml; charset=utf-16" if encoding.startswith("utf-16") else "text/xml; charset=utf-8"


def sub(parent: Element, tag: str, text: str | None = None, **attributes: str) -> Element:
    node = etree.SubElement(parent, tag)
    for name, value in attributes.items():
        node.set(name, value)
    if text is not None:
        node.text = text
    return node


def new(tag: str, **attributes: str) -> Element:
    node = etree.Element(tag)
    for name, value in attributes.items():
        node.set(name, value)
    return node


def message_holder(parent: Element) -> Element:
    return etree.SubElement(parent, "TALLYMESSAGE", nsmap={"UDF": UDF_NAMESPACE})


def text(parent: Element, tag: str) -> str:
    found = parent.find(tag)
    return "" if found is None else str(found.text or "")


def amount(value: str) -> Decimal:
    """An AMOUNT as the simulator accepts it: a plain signed decimal."""
    cleaned = value.strip()
    if not cleaned:
        return Decimal(0)
    try:
        number = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"'{value}' is not an amount") from exc
    if not number.is_finite():
        raise ValueError(f"'{value}' is not an amount")
    return number


def money_text(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def is_yes(value: str) -> bool:
    return value.strip().lower() in ("yes", "true", "1")
