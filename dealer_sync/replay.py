"""Replay quarantined records through the flow that quarantined them, after a fix upstream.

Nothing is forced through: each record goes through the same checks again. Those that pass
sync and their quarantine records close; those that fail stay open with the new reason.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dealer_sync.store import SyncStore
from dealer_sync.store.quarantine import Quarantined

FULL_HISTORY = datetime(2000, 1, 1, tzinfo=UTC)
REPLAYABLE_FLOWS = ("order_to_invoice", "inventory_refresh", "invoice_payment_pullback")


@dataclass
class ReplayResult:
    runs: list[dict[str, Any]] = field(default_factory=list)
    replayed: int = 0
    closed: int = 0
    still_open: int = 0


def replay(store: SyncStore, records: list[Quarantined]) -> ReplayResult:
    """Re-run the flows for these records (grouped by flow); report how many closed."""
    from flows.inventory_refresh import inventory_refresh
    from flows.invoice_payment_pullback import invoice_payment_pullback
    from flows.order_to_invoice import order_to_invoice

    result = ReplayResult(replayed=len(records))
    by_flow: dict[str, list[Quarantined]] = defaultdict(list)
    for record in records:
        if record.flow not in REPLAYABLE_FLOWS:
            raise ValueError(f"record {record.id} comes from {record.flow!r}, which cannot be replayed")
        by_flow[record.flow].append(record)
    if "order_to_invoice" in by_flow:
        order_ids = sorted({r.entity_key for r in by_flow["order_to_invoice"]})
        # writes a target refused are failed in the outbox: give them another chance
        keys = [
            r.payload["outbox_key"] for r in by_flow["order_to_invoice"] if "outbox_key" in r.payload
        ]
        store.outbox.reopen(keys)
        result.runs.append(order_to_invoice(order_ids=order_ids))
    if "inventory_refresh" in by_flow:
        result.runs.append(inventory_refresh(full=True))
    if "invoice_payment_pullback" in by_flow:
        # an explicit window re-reads every document and leaves the cursors where they are
        result.runs.append(invoice_payment_pullback(since=FULL_HISTORY))
    still_open = {r.id for r in store.quarantine.list(status="open", limit=1_000_000)}
    result.still_open = sum(1 for r in records if r.id in still_open)
    result.closed = result.replayed - result.still_open
    return result
