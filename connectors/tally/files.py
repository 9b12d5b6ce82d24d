"""File mode: the import XML of one window's Sales vouchers, for sites that import into Tally by hand.

One file per company and window, named from them alone, written to a temporary file in the same
folder and renamed over the old one: a rerun replaces the file, a reader never sees half of it.
Every voucher carries its REMOTEID, so importing a replaced file again alters, never doubles.
The file is UTF-16 with a BOM and an XML declaration [U: Tally's file import is not covered by
apis.md; UTF-16 is what its HTTP server is sent by the mature clients].
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from connectors.tally.bodies import TallyNaming, sales_voucher
from connectors.tally.xml import import_envelope
from dealer_sync.models import MappedOrder


@dataclass(frozen=True)
class ImportFile:
    path: Path
    vouchers: int
    replaced: bool  # a file for this window was there before


def import_file_name(company: str, first: date, last: date) -> str:
    """``sales-<company slug>-<hash>-<first>-<last>.xml``: readable, and unique per company.

    The hash keeps two companies apart even when their names fold to the same ASCII slug (a
    Devanagari name folds to nothing at all).
    """
    slug = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-")[:40] or "company"
    digest = hashlib.sha256(company.encode("utf-8")).hexdigest()[:8]
    return f"sales-{slug}-{digest}-{first:%Y%m%d}-{last:%Y%m%d}.xml"


def render_import(orders: Sequence[MappedOrder], company: str, naming: TallyNaming) -> bytes:
    """The import envelope of these orders, in document-number order, as file bytes."""
    vouchers = [sales_voucher(order, naming) for order in sorted(orders, key=lambda o: o.document_number)]
    envelope = import_envelope("Vouchers", company, vouchers)
    content: bytes = etree.tostring(envelope, encoding="UTF-16", xml_declaration=True, pretty_print=True)
    return content


def _latest_versions(orders: Sequence[MappedOrder]) -> list[MappedOrder]:
    """One voucher per document number: the order's latest version wins."""
    latest: dict[str, MappedOrder] = {}
    for order in orders:
        kept = latest.get(order.document_number)
        if kept is None or order.version > kept.version:
            latest[order.document_number] = order
    return list(latest.values())


def write_import_file(
    folder: Path,
    orders: Sequence[MappedOrder],
    *,
    company: str,
    first: date,
    last: date,
    naming: TallyNaming | None = None,
) -> ImportFile:
    """Write (or replace) the window's import file atomically; every order must be dated in it.

    An empty window still writes a file with no vouchers, so that a rerun after every order of
    the window was withdrawn does not leave the old vouchers waiting to be imported.
    """
    if last < first:
        raise ValueError(f"the window ends ({last}) before it starts ({first})")
    outside = [o.document_number for o in orders if not first <= o.business_date <= last]
    if outside:
        raise ValueError(f"orders dated outside {first}..{last}: {', '.join(sorted(outside))}")
    latest = _latest_versions(orders)
    content = render_import(latest, company, naming or TallyNaming())
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / import_file_name(company, first, last)
    replaced = target.exists()
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(folder)
    return ImportFile(path=target, vouchers=len(latest), replaced=replaced)


def _sync_directory(folder: Path) -> None:
    """Make the rename itself durable where the platform allows opening a directory."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
