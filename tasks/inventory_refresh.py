"""Prefect tasks of the inventory refresh: changed items -> stock per location -> portal availability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd

from connectors.portal_sql.client import AvailabilityRow
from connectors.zoho.client import parse_zoho_time
from dealer_sync.models import StockLevel
from dealer_sync.store import MappingKind, OutboxStatus, QuarantineItem
from dealer_sync.timeutil import utcnow
from expectations.suites import INVENTORY_AVAILABILITY
from tasks.environment import SyncEnvironment
from tasks.policy import batch_task

FLOW = "inventory_refresh"
SYSTEM = "zoho_inventory"


@dataclass(frozen=True)
class ChangedItem:
    item_id: str
    modified: datetime | None


@dataclass(frozen=True)
class StockBatchResult:
    synced: list[str]
    quarantined: list[QuarantineItem]
    levels_read: list[str]


@batch_task("fetch_changed_items")
def fetch_changed_items(env: SyncEnvironment, since: datetime | None) -> list[ChangedItem]:
    """Ids of items changed since ``since`` (all items when None), with their change times."""
    changed = []
    for page in env.inventory.item_pages(modified_since=since):
        for row in page:
            stamp = row.get("last_modified_time")
            changed.append(ChangedItem(str(row["item_id"]), parse_zoho_time(stamp) if stamp else None))
    return changed


@batch_task("portal_reservations")
def portal_reservations(env: SyncEnvironment) -> dict[tuple[str, str], Decimal]:
    """What confirmed portal orders hold that the inventory system does not know yet.

    Once an order's sales order exists, the inventory system counts it as committed; counting
    it here too would reserve the stock twice.
    """
    in_inventory = env.store.outbox.source_ids(SYSTEM, "salesorder", OutboxStatus.DONE)
    return env.portal.open_order_quantities(exclude_order_ids=in_inventory)


def stock_key(sku: str, warehouse: str) -> str:
    return f"{sku}@{warehouse}"


@batch_task("refresh_stock_batch")
def refresh_stock_batch(
    env: SyncEnvironment, run_id: str, item_ids: list[str], reserved: dict[tuple[str, str], Decimal]
) -> StockBatchResult:
    """Read stock per location for these items, compute available-to-promise, validate, upsert."""
    as_of = utcnow()
    levels: list[StockLevel] = []
    items, unreadable = env.inventory.item_details(item_ids)
    for item in items:
        levels.extend(item.stock_levels(as_of))
    skus = {item: sku for sku, item in env.store.mappings.table(MappingKind.SKU_ITEM, SYSTEM).items()}
    warehouses = env.store.mappings.table(MappingKind.WAREHOUSE, SYSTEM)
    rows: dict[str, AvailabilityRow] = {}
    frame_rows = []
    # an unreadable item stands for all its stock levels: one "stock" record keyed by the item
    quarantined = [
        QuarantineItem("stock", f"item:{r.key}", r.payload, r.reason, r.failed_check) for r in unreadable
    ]
    keys_read = [q.entity_key for q in quarantined]
    for level in levels:
        sku = skus.get(level.item_id)
        warehouse = warehouses.get(level.warehouse_id)
        key = stock_key(sku or level.sku or level.item_id, warehouse or level.warehouse_id)
        keys_read.append(key)
        held = reserved.get((sku, warehouse), Decimal(0)) if sku and warehouse else Decimal(0)
        frame_rows.append(
            {
                "key": key,
                "sku": sku,
                "warehouse_code": warehouse,
                "item_id": level.item_id,
                "on_hand": level.on_hand,
                "committed": level.committed,
                "reserved": held,
                "available": level.on_hand - level.committed - held,
            }
        )
        if sku and warehouse:
            rows[key] = AvailabilityRow(
                sku,
                warehouse,
                level.on_hand,
                level.committed,
                held,
                level.available_to_promise(held),
                level.as_of,
            )
    failures: dict[str, list[str]] = {}
    if frame_rows:
        from expectations.runner import validate_frame

        report = validate_frame(pd.DataFrame(frame_rows), INVENTORY_AVAILABILITY)
        if report.batch_failed:
            raise RuntimeError(
                f"availability expectations failed for the whole batch: {report.table_failures}"
            )
        failures = report.failures
    by_key = {r["key"]: r for r in frame_rows}
    for key, names in failures.items():
        payload = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in by_key[key].items()}
        quarantined.append(QuarantineItem("stock", key, payload, "; ".join(names), names[0]))
        rows.pop(key, None)
    env.portal.upsert_availability(list(rows.values()))
    env.store.quarantine.add(FLOW, run_id, quarantined)
    env.store.quarantine.resolve_keys(FLOW, "stock", list(rows), run_id)
    return StockBatchResult(synced=list(rows), quarantined=quarantined, levels_read=keys_read)
