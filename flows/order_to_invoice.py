"""Order-to-invoice: confirmed portal orders become a sales order and an invoice, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prefect import flow
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner

from dealer_sync.store import OutboxStatus
from dealer_sync.store.outbox import OutboxState
from flows.alerts import alert_ops
from flows.common import FlowRun, chunks, recorded_run, scheduled_cutoff
from tasks.order_to_invoice import (
    FLOW,
    OrderIntents,
    fetch_portal_orders,
    map_and_validate_orders,
    mark_portal_orders_invoiced,
    post_invoices,
    post_sales_orders,
    record_order_intents,
)
from tasks.reporting import Progress


@dataclass
class BatchRun:
    """The futures of one batch's task chain."""

    order_ids: list[str]
    mapped: PrefectFuture[Any]
    intents: PrefectFuture[list[OrderIntents]]
    sales_orders: PrefectFuture[dict[str, OutboxState]]
    invoices: PrefectFuture[dict[str, OutboxState]]
    marked: PrefectFuture[list[str]]


@flow(name="order-to-invoice", task_runner=ThreadPoolTaskRunner(max_workers=4), on_failure=[alert_ops])
def order_to_invoice(
    since: datetime | None = None,
    until: datetime | None = None,
    order_ids: list[str] | None = None,
    batch_size: int = 100,
    max_rounds: int = 3,
    lease_seconds: float = 300.0,
) -> dict[str, object]:
    """Post confirmed orders in [since, until) (or these ids): sales order, then invoice, then mark.

    Every order ends synced (invoiced in the ledger and marked in the portal), quarantined
    (with the failed check), or deferred (tried again by the next run). A rerun never posts twice.
    """
    if since is None and until is None and not order_ids:
        until = scheduled_cutoff()
    parameters = {"order_ids": order_ids, "batch_size": batch_size, "max_rounds": max_rounds}
    with recorded_run(FLOW, since=since, until=until, parameters=parameters) as run:
        env = run.env
        orders, rejected = fetch_portal_orders(env, run.run_id, since, until, order_ids)
        run.outcomes.took_in("order", [o.id for o in orders] + [r.entity_key for r in rejected])
        run.outcomes.quarantined(rejected)
        batches = []
        for batch in chunks(orders, batch_size):
            mapped = map_and_validate_orders.submit(env, run.run_id, batch)
            intents = record_order_intents.submit(env, run.run_id, mapped)
            sales_orders = post_sales_orders.submit(env, run.run_id, intents, max_rounds, lease_seconds)
            invoices = post_invoices.submit(env, run.run_id, intents, sales_orders, max_rounds, lease_seconds)
            marked = mark_portal_orders_invoiced.submit(env, intents, invoices)
            batches.append(BatchRun([o.id for o in batch], mapped, intents, sales_orders, invoices, marked))
        progress = Progress(FLOW, len(batches))
        for batch_run in batches:
            collect_batch(run, batch_run)
            progress.advance()
        synced = [key for (entity, key), r in run.outcomes.records.items() if r.outcome.value == "synced"]
        env.store.quarantine.resolve_keys(FLOW, "order", synced, run.run_id)  # replays that now pass
        return run.summary()


def collect_batch(run: FlowRun, batch: BatchRun) -> None:
    """Give every order of the batch exactly one outcome, even when the batch failed."""
    try:
        _, quarantined = batch.mapped.result()
        run.outcomes.quarantined(quarantined)
        so_states = batch.sales_orders.result()
        invoice_states = batch.invoices.result()
        invoiced = set(batch.marked.result())
        for intent in batch.intents.result():
            so = so_states.get(intent.sales_order_key)
            inv = invoice_states.get(intent.invoice_key)
            if intent.order_id in invoiced:
                run.outcomes.synced("order", [intent.order_id])
            elif so is not None and so.status is OutboxStatus.FAILED:
                run.outcomes.quarantined_key(
                    "order", intent.order_id, f"sales order refused: {so.last_error}"
                )
            elif inv is not None and inv.status is OutboxStatus.FAILED:
                run.outcomes.quarantined_key("order", intent.order_id, f"invoice refused: {inv.last_error}")
            else:
                last = (inv.last_error if inv else None) or (so.last_error if so else None)
                run.outcomes.deferred("order", intent.order_id, last or "not posted yet")
    except Exception as exc:  # one failed batch must not hide the others
        run.outcomes.batch_errors.append(f"{type(exc).__name__}: {exc}")
        for order_id in batch.order_ids:
            if ("order", order_id) not in run.outcomes.records:
                run.outcomes.deferred("order", order_id, f"batch failed: {exc}")
