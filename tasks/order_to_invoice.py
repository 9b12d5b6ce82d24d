"""Prefect tasks of order-to-invoice: each works on a batch and records per-order outcomes."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from connectors.http.errors import ConnectorError
from dealer_sync.models import MappedOrder, Order, OrderStatus
from dealer_sync.records import Rejected
from dealer_sync.store import Intent, OutboxStatus, QuarantineItem
from dealer_sync.store.outbox import OutboxState
from expectations.suites import ORDER_LINES
from tasks.environment import SyncEnvironment
from tasks.order_mapping import INVOICE, SALES_ORDER, MappingContext, load_target_tables, map_orders
from tasks.policy import batch_task
from tasks.posting import PostReport, post_claims
from tasks.targets import LedgerInvoices, ZohoSalesOrders

FLOW = "order_to_invoice"
INVENTORY = "zoho_inventory"
SALES_ORDER_PREFIX, INVOICE_PREFIX = "SO-", "INV-"


def document_prefixes(ledger: str) -> dict[str, str]:
    """Our document numbers per system: the handle every lookup after an uncertain write uses."""
    return {INVENTORY: SALES_ORDER_PREFIX, ledger: INVOICE_PREFIX}


def entity_of(system: str) -> str:
    return SALES_ORDER if system == INVENTORY else INVOICE


@dataclass(frozen=True)
class OrderIntents:
    """The two effects of one order version: its sales order and its invoice."""

    order_id: str
    version: int
    sales_order_key: str
    invoice_key: str


@dataclass(frozen=True)
class PostedDocuments:
    """A batch's documents in one target after posting: their outbox states, and those created
    whose follow-up step (confirm, mark sent) failed. Such a document is done in the outbox but
    not ready: its order waits for the next run, which repeats the step (it is harmless to)."""

    states: dict[str, OutboxState]
    unfinished: dict[str, str]  # outbox key -> why its follow-up step failed

    def ready(self, key: str) -> bool:
        state = self.states.get(key)
        return state is not None and state.status is OutboxStatus.DONE and key not in self.unfinished


def follow_up(
    step: str, states: dict[str, OutboxState], failed: dict[str, ConnectorError]
) -> PostedDocuments:
    """The batch's states with each document whose ``step`` failed named, by its outbox key."""
    key_of = {state.external_id: key for key, state in states.items() if state.external_id}
    unfinished = {key_of[doc_id]: f"{step} failed: {error}" for doc_id, error in failed.items()}
    return PostedDocuments(states, unfinished)


def worker_name(run_id: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"


def rejected_to_quarantine(rejected: Sequence[Rejected]) -> list[QuarantineItem]:
    return [QuarantineItem(r.entity, r.key, r.payload, r.reason, r.failed_check) for r in rejected]


@batch_task("list_portal_orders")
def list_portal_orders(
    env: SyncEnvironment, since: datetime | None, until: datetime | None, order_ids: list[str] | None
) -> list[str]:
    """Ids of the confirmed orders in the window (or with these ids), oldest first.

    Only ids: each batch reads its own orders (``map_and_validate_orders``), so the first batch
    is posted while later ones are still unread (reading and checking 10,000 orders took ~4 s
    before anything was posted) and a long backfill holds one window of batches in memory.
    """
    return env.portal.order_ids(since=since, until=until, ids=order_ids)


MappedBatch = tuple[list[tuple[Order, dict[str, MappedOrder]]], list[QuarantineItem]]


@batch_task("map_and_validate_orders")
def map_and_validate_orders(env: SyncEnvironment, run_id: str, order_ids: list[str]) -> MappedBatch:
    """Read the batch's orders, then checkpoints and expectations: every order read comes out
    accepted or quarantined (a malformed one too). An order no longer confirmed is not read, so
    the run does not take it in."""
    orders, rejected = env.portal.orders(ids=order_ids)
    accepted, quarantined = _check_and_map(env, orders) if orders else ([], [])
    quarantined = rejected_to_quarantine(rejected) + quarantined
    env.store.quarantine.add(FLOW, run_id, quarantined)
    return accepted, quarantined


def _check_and_map(env: SyncEnvironment, orders: list[Order]) -> MappedBatch:
    """Checkpoints and expectations over well-formed orders: each comes out accepted or quarantined."""
    dealers, _ = env.portal.dealers()
    ctx = MappingContext(
        dealers=dealers,
        price_lists=env.portal.price_lists(),
        outstanding=env.portal.outstanding_by_dealer(),
        warehouses=env.portal.order_warehouses([o.id for o in orders]),
        home_state=env.settings.home_state,
        targets=(
            load_target_tables(env.store.mappings, INVENTORY, with_warehouses=True),
            load_target_tables(env.store.mappings, env.ledger, with_warehouses=True),
        ),
        document_prefix=document_prefixes(env.ledger),
        home_country=env.settings.home_country,
        hsn=env.portal.hsn_codes(),
    )
    result = map_orders(orders, ctx)
    quarantined = list(result.quarantined)
    failed_by_order: dict[str, list[str]] = {}
    if result.line_rows:
        from expectations.runner import validate_frame  # GX is slow to import: only here

        report = validate_frame(pd.DataFrame(result.line_rows), ORDER_LINES)
        if report.batch_failed:
            raise RuntimeError(f"order line expectations failed for the whole batch: {report.table_failures}")
        for line_key, names in report.failures.items():
            order_id = line_key.split("#", 1)[0]
            failed_by_order.setdefault(order_id, [])
            failed_by_order[order_id] += [f"{line_key}: {n}" for n in names]
    by_id = {o.id: o for o in orders}
    accepted = []
    for order, mapped in result.accepted:
        if order.id not in failed_by_order:
            accepted.append((order, mapped))
    accounted = {o.id for o, _ in accepted} | {q.entity_key for q in quarantined}
    for order_id in failed_by_order.keys() | ({o.id for o in orders} - accounted):
        if order_id in {q.entity_key for q in quarantined}:
            continue
        problems = failed_by_order.get(order_id) or ["a key is unmapped"]
        first_check = problems[0].split(": ", 1)[-1]
        quarantined.append(
            QuarantineItem(
                "order", order_id, by_id[order_id].model_dump(mode="json"), "; ".join(problems), first_check
            )
        )
    return accepted, quarantined


@batch_task("record_order_intents")
def record_order_intents(
    env: SyncEnvironment, run_id: str, mapping_result: MappedBatch
) -> list[OrderIntents]:
    """Write both effects of every accepted order to the outbox before any call is made."""
    accepted, _ = mapping_result
    intents: list[Intent] = []
    keys: list[OrderIntents] = []
    for order, mapped in accepted:
        pair = {}
        for system in (INVENTORY, env.ledger):
            intent = Intent(
                target_system=system,
                entity=entity_of(system),
                source_id=order.id,
                source_version=order.version,
                reference=mapped[system].document_number,
                payload=mapped[system].model_dump(mode="json"),
            )
            intents.append(intent)
            pair[system] = intent.key
        keys.append(OrderIntents(order.id, order.version, pair[INVENTORY], pair[env.ledger]))
    env.store.outbox.record_intents(intents, run_id)
    return keys


def _post_rounds(
    env: SyncEnvironment, system: str, keys: list[str], run_id: str, max_rounds: int, lease_seconds: float
) -> PostReport:
    target = ZohoSalesOrders(env.inventory) if system == INVENTORY else LedgerInvoices(env.accounting)
    worker = worker_name(run_id)
    report = PostReport()
    for _ in range(max_rounds):  # bounded: deferred writes get a few more tries in this run
        claims = env.store.outbox.claim(
            system, entity_of(system), worker, keys=keys, limit=len(keys) or 1, lease_seconds=lease_seconds
        )
        if not claims:
            break
        report.merge(post_claims(env.store, target, claims, run_id))
        if not report.deferred:
            break
    _quarantine_rejected(env, run_id, report)
    return report


def _quarantine_rejected(env: SyncEnvironment, run_id: str, report: PostReport) -> None:
    """A target that refuses a document means the record is wrong: keep it for a human."""
    items = []
    for key, reason in report.failed.items():
        state = env.store.outbox.get(key)
        source_id = key.split(":")[2]
        payload = {"outbox_key": key, "reference": state.reference if state else None}
        items.append(QuarantineItem("order", source_id, payload, reason, f"accepted by {key.split(':')[0]}"))
    env.store.quarantine.add(FLOW, run_id, items)


@batch_task("post_sales_orders")
def post_sales_orders(
    env: SyncEnvironment, run_id: str, intents: list[OrderIntents], max_rounds: int, lease_seconds: float
) -> PostedDocuments:
    """Create missing sales orders, then confirm every one whose invoice is still to come."""
    keys = [i.sales_order_key for i in intents]
    _post_rounds(env, INVENTORY, keys, run_id, max_rounds, lease_seconds)
    states = env.store.outbox.states(keys)
    invoices = env.store.outbox.states([i.invoice_key for i in intents])
    to_confirm = [
        state.external_id
        for intent in intents
        if (state := states.get(intent.sales_order_key)) is not None
        and state.status is OutboxStatus.DONE
        and state.external_id
        and (
            invoices.get(intent.invoice_key) is None
            or invoices[intent.invoice_key].status is not OutboxStatus.DONE
        )
    ]
    # Idempotent: a crash before it is healed here. An order whose confirm failed is not invoiced
    # in this run (stock first, then money); the next run confirms it again.
    failed = env.inventory.confirm_sales_orders(to_confirm)
    return follow_up("confirming the sales order", states, failed)


@batch_task("post_invoices")
def post_invoices(
    env: SyncEnvironment,
    run_id: str,
    intents: list[OrderIntents],
    sales_orders: PostedDocuments,
    max_rounds: int,
    lease_seconds: float,
) -> PostedDocuments:
    """Invoice the orders whose sales order exists and is confirmed (stock first, then money)."""
    ready = [i.invoice_key for i in intents if sales_orders.ready(i.sales_order_key)]
    _post_rounds(env, env.ledger, ready, run_id, max_rounds, lease_seconds)
    states = env.store.outbox.states([i.invoice_key for i in intents])
    created = [s.external_id for s in states.values() if s.status is OutboxStatus.DONE and s.external_id]
    # Before the portal is marked: a crash here heals next run, and so does an invoice whose
    # finalizing failed (it stays unmarked in the portal until then).
    failed = env.accounting.finalize_invoices(created)
    return follow_up("finalizing the invoice", states, failed)


@batch_task("mark_portal_orders_invoiced")
def mark_portal_orders_invoiced(
    env: SyncEnvironment, intents: list[OrderIntents], invoices: PostedDocuments
) -> list[str]:
    """Set invoiced orders to invoiced in the portal; return the ids now invoiced there."""
    done = [
        (i.order_id, i.version, invoices.states[i.invoice_key].reference)
        for i in intents
        if invoices.ready(i.invoice_key)
    ]
    env.portal.mark_invoiced(done)
    # Ids only: reading the orders back whole parsed every order and line of the batch again.
    return env.portal.order_ids(statuses=[OrderStatus.INVOICED], ids=[order_id for order_id, _, _ in done])
