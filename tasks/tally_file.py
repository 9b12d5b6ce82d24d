"""Tally file mode: the checked, mapped import file of a window's confirmed orders; nothing else changes.

For sites that dealer-sync cannot reach over HTTP: the orders pass the checks and mapping
order-to-invoice applies for the ``tally`` target, and the good ones become the window's import
file (``connectors/tally/files.py``). The portal, the outbox and the quarantine are left alone:
rejected orders are reported to the caller, not quarantined. Vouchers carry our invoice numbers
(``INV-<order number>``), so a re-import, or a later switch to HTTP mode, alters them in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.portal_sql.client import SqlPortal
from connectors.tally.bodies import TallyNaming, sales_voucher
from connectors.tally.files import import_file_name, write_import_file
from dealer_sync.db import make_engine
from dealer_sync.models import MappedOrder, Order
from dealer_sync.settings import Settings
from dealer_sync.store import SyncStore
from dealer_sync.timeutil import business_day_bounds, zone
from expectations.suites import ORDER_LINES
from tasks.order_mapping import MappingContext, load_target_tables, map_orders
from tasks.order_to_invoice import document_prefixes

TALLY = "tally"
DEFAULT_FOLDER = "tally-import"

WindowBound = date | datetime
"""A window bound: a date (that business day's first instant) or an aware instant at one."""


class TallyImportError(ValueError):
    """The file cannot be written as asked: bad window, missing configuration, a failed batch."""


@dataclass(frozen=True)
class RejectedOrder:
    """An order left out of the file, and why (the check it failed, in order-to-invoice's words)."""

    order_id: str
    order_number: str | None
    check: str
    reason: str


@dataclass(frozen=True)
class TallyImportResult:
    """What ``write_tally_import`` did. ``path`` is None when no file was written."""

    company: str
    first_day: date
    last_day: date  # inclusive
    since: datetime
    until: datetime  # exclusive
    path: Path | None
    vouchers: int
    replaced: bool  # a file for this window was there before and was replaced
    written: list[str] = field(default_factory=list)  # document numbers in the file
    rejected: list[RejectedOrder] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "company": self.company,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "path": str(self.path) if self.path else None,
            "vouchers": self.vouchers,
            "replaced": self.replaced,
            "written": list(self.written),
            "rejected": [
                {"order_id": r.order_id, "order_number": r.order_number, "check": r.check, "reason": r.reason}
                for r in self.rejected
            ],
        }


def business_day(bound: WindowBound, name: str, timezone: str) -> date:
    """The business day a bound starts; an instant must be that day's midnight in ``timezone``.

    A file covers whole business days (its vouchers are dated by them and its name says which),
    so a window cut mid-day would share its file name with the rest of that day and replace it.
    """
    if not isinstance(bound, datetime):
        return bound
    if bound.tzinfo is None or bound.utcoffset() is None:
        raise TallyImportError(f"--{name} {bound.isoformat()} has no timezone offset; add one, e.g. +05:30")
    local = bound.astimezone(zone(timezone))
    if business_day_bounds(local.date(), timezone)[0] != bound:
        raise TallyImportError(
            f"--{name} {local.isoformat()} is not the start of a business day in {timezone}; an import "
            f"file covers whole days: give a date ({local.date().isoformat()}) or that day's midnight"
        )
    return local.date()


def window_days(since: WindowBound, until: WindowBound, timezone: str) -> tuple[date, date]:
    """The first and last (inclusive) business days of [since, until)."""
    first = business_day(since, "since", timezone)
    end = business_day(until, "until", timezone)
    if end <= first:
        raise TallyImportError(f"--until ({end}) must be after --since ({first})")
    return first, end - timedelta(days=1)


def selection_folder(directory: Path, order_ids: Sequence[str]) -> Path:
    """Where a file of chosen orders goes: beside, never over, the whole window's file."""
    digest = hashlib.sha256("\n".join(sorted(set(order_ids))).encode("utf-8")).hexdigest()[:10]
    return directory / f"orders-{digest}"


def write_tally_import(
    settings: Settings,
    since: WindowBound,
    until: WindowBound,
    order_ids: Sequence[str] | None = None,
    directory: Path | None = None,
    naming: TallyNaming | None = None,
) -> TallyImportResult:
    """Write the import file of the window's confirmed orders (or of these ids among them).

    Args:
        settings: names the company (``tally.company``), the portal, the store and the timezone.
        since: first business day (a date, or its midnight as an aware instant).
        until: the day after the last one (exclusive), in the same forms.
        order_ids: only these orders (still only if confirmed in the window); their file goes
            to a folder of its own under ``directory`` so the whole window's file is kept.
        directory: default ``<data_dir>/tally-import``.
        naming: the company's ledger names (default: those HTTP mode uses).

    When no order can be written, no file is created; a file already there for the window is
    replaced by one with no vouchers, so vouchers since withdrawn are not imported from it.

    Raises:
        TallyImportError: the window is bad, no company is configured, or the line expectations
            failed for the batch as a whole.
    """
    timezone = settings.business_timezone
    first, last = window_days(since, until, timezone)
    company = settings.tally.company
    if not company:
        raise TallyImportError(
            "no Tally company is configured: set DEALER_SYNC_TALLY__COMPANY to the company the "
            "file is imported into"
        )
    start, end = business_day_bounds(first, timezone)[0], business_day_bounds(last, timezone)[1]
    naming = naming or TallyNaming()

    store = SyncStore.open(settings.resolved_store_url())
    portal = SqlPortal(make_engine(settings.resolved_portal_url()), timezone)
    try:
        orders, malformed = portal.orders(since=start, until=end, ids=list(order_ids) if order_ids else None)
        rejected = [
            RejectedOrder(r.key, r.payload.get("number"), r.failed_check or "order is well-formed", r.reason)
            for r in malformed
        ]
        good, refused = _map_and_validate(orders, portal, store, settings)
    finally:
        store.close()
        portal.engine.dispose()
    rejected += refused
    vouchers: list[MappedOrder] = []
    for order, mapped in good:
        problem = _voucher_problem(mapped, settings.tally.currency, naming)
        if problem:
            rejected.append(RejectedOrder(order.id, order.number, *problem))
        else:
            vouchers.append(mapped)
    if order_ids:
        found = {o.id for o in orders} | {r.key for r in malformed}
        rejected += [
            RejectedOrder(i, None, "confirmed in the window", f"no confirmed order {i} in {first}..{last}")
            for i in sorted(set(order_ids) - found)
        ]

    folder = directory if directory is not None else settings.data_dir / DEFAULT_FOLDER
    if order_ids:
        folder = selection_folder(folder, order_ids)
    rejected.sort(key=lambda r: (r.order_number or "", r.order_id))
    result = TallyImportResult(company, first, last, start, end, None, 0, False, rejected=rejected)
    if not vouchers and not (folder / import_file_name(company, first, last)).exists():
        return result
    written = write_import_file(folder, vouchers, company=company, first=first, last=last, naming=naming)
    return TallyImportResult(
        company,
        first,
        last,
        start,
        end,
        written.path,
        written.vouchers,
        written.replaced,
        written=sorted({m.document_number for m in vouchers}),
        rejected=rejected,
    )


def _map_and_validate(
    orders: list[Order], portal: SqlPortal, store: SyncStore, settings: Settings
) -> tuple[list[tuple[Order, MappedOrder]], list[RejectedOrder]]:
    """Order-to-invoice's checkpoints and line expectations, for the tally target alone."""
    if not orders:
        return [], []
    dealers, _ = portal.dealers()
    ctx = MappingContext(
        dealers=dealers,
        price_lists=portal.price_lists(),
        outstanding=portal.outstanding_by_dealer(),
        warehouses=portal.order_warehouses([o.id for o in orders]),
        home_state=settings.home_state,
        targets=(load_target_tables(store.mappings, TALLY, with_warehouses=True),),
        document_prefix=document_prefixes(TALLY),
        home_country=settings.home_country,
        hsn=portal.hsn_codes(),
    )
    result = map_orders(orders, ctx)
    by_id = {o.id: o for o in orders}
    rejected = [
        RejectedOrder(q.entity_key, by_id[q.entity_key].number, q.failed_expectation or "", q.reason)
        for q in result.quarantined
    ]
    problems: dict[str, list[str]] = {}
    if result.line_rows:
        from expectations.runner import validate_frame  # GX is slow to import: only here

        report = validate_frame(pd.DataFrame(result.line_rows), ORDER_LINES)
        if report.batch_failed:
            raise TallyImportError(
                f"order line expectations failed for the whole batch: {report.table_failures}"
            )
        for line_key, names in report.failures.items():
            problems.setdefault(line_key.split("#", 1)[0], []).extend(f"{line_key}: {n}" for n in names)
    accepted = [(o, m[TALLY]) for o, m in result.accepted if o.id not in problems]
    accounted = {o.id for o, _ in accepted} | {r.order_id for r in rejected}
    for order in orders:
        if order.id in accounted:
            continue
        found = problems.get(order.id) or ["a key is unmapped"]
        rejected.append(RejectedOrder(order.id, order.number, found[0].split(": ", 1)[-1], "; ".join(found)))
    return accepted, rejected


def _voucher_problem(order: MappedOrder, currency: str, naming: TallyNaming) -> tuple[str, str] | None:
    """What HTTP mode's Tally connector would refuse the order for (check, reason), if anything."""
    if order.currency != currency:
        return (
            "in the company's currency",
            f"{order.document_number} is in {order.currency}; the Tally company books in {currency}",
        )
    try:
        sales_voucher(order, naming)
    except ValueError as exc:  # VoucherBuildError, TallyXmlError: it cannot become a voucher
        return "accepted by tally", str(exc)
    return None


__all__ = [
    "RejectedOrder",
    "TallyImportError",
    "TallyImportResult",
    "WindowBound",
    "business_day",
    "window_days",
    "write_tally_import",
]
