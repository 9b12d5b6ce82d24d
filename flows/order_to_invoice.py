"""Order-to-invoice: confirmed portal orders become a sales order and an invoice, exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from dealer_sync.store import OutboxStatus
from expectations.suites import ORDER_LINES
from expectations.warm import warm_up_in_background
from flows.alerts import alert_ops
from flows.common import FlowRun, chunks, recorded_run, scheduled_cutoff
from flows.pipeline import BatchFutures, Stage, run_batches
from tasks.environment import SyncEnvironment
from tasks.order_to_invoice import (
    FLOW,
    OrderIntents,
    PostedDocuments,
    list_portal_orders,
    map_and_validate_orders,
    mark_portal_orders_invoiced,
    post_invoices,
    post_sales_orders,
    record_order_intents,
)
from tasks.reporting import Progress

LANES: Final = {"portal": 1, "inventory": 1, "ledger": 2}
"""Tasks running at once per system: two of a vendor's lane keep its budget busy while one of its
batches ends (outbox writes, the confirm or mark-sent calls); each task has several requests in
flight (connectors/http/overlap.py)."""
BATCH_WINDOW: Final = 6
"""Batches in the chain at once: sales orders run up to a few batches ahead of the invoices."""
FIRST_BATCH: Final = 25
"""The first batch is small: its sales orders (and their confirmation) fit in the first moments of
the inventory system's budget, so the ledger starts on invoices within seconds while the next,
full batches are prepared."""


def batches_of(order_ids: list[str], batch_size: int) -> list[list[str]]:
    """A small first batch, then ``batch_size`` at a time."""
    first = min(batch_size, FIRST_BATCH)
    return [order_ids[:first], *chunks(order_ids[first:], batch_size)] if order_ids else []


def order_stages(
    env: SyncEnvironment, run_id: str, max_rounds: int, lease_seconds: float
) -> list[Stage[list[str]]]:
    """One batch's chain: read, check and map, record intents, sales orders, invoices, mark in the portal."""
    return [
        Stage("mapped", "portal", lambda ids, _: map_and_validate_orders.submit(env, run_id, ids)),
        Stage("intents", "portal", lambda _, done: record_order_intents.submit(env, run_id, done["mapped"])),
        Stage(
            "sales_orders",
            "inventory",
            lambda _, done: post_sales_orders.submit(env, run_id, done["intents"], max_rounds, lease_seconds),
        ),
        Stage(
            "invoices",
            "ledger",
            lambda _, done: post_invoices.submit(
                env, run_id, done["intents"], done["sales_orders"], max_rounds, lease_seconds
            ),
        ),
        Stage(
            "marked",
            "portal",
            lambda _, done: mark_portal_orders_invoiced.submit(env, done["intents"], done["invoices"]),
        ),
    ]


@flow(
    name="order-to-invoice",
    task_runner=ThreadPoolTaskRunner(max_workers=sum(LANES.values())),
    on_failure=[alert_ops],
)
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
        warm_up_in_background(ORDER_LINES)  # GX's start-up overlaps listing and reading the first batch
        batches = batches_of(list_portal_orders(env, since, until, order_ids), batch_size)
        progress = Progress(FLOW, len(batches))

        def batch_ended(batch: BatchFutures[list[str]]) -> None:
            collect_batch(run, batch)
            progress.advance()

        stages = order_stages(env, run.run_id, max_rounds, lease_seconds)
        run_batches(batches, stages, LANES, BATCH_WINDOW, on_end=batch_ended)
        synced = [key for (entity, key), r in run.outcomes.records.items() if r.outcome.value == "synced"]
        env.store.quarantine.resolve_keys(FLOW, "order", synced, run.run_id)  # replays that now pass
        return run.summary()


def collect_batch(run: FlowRun, batch: BatchFutures[list[str]]) -> None:
    """Give every order the batch read exactly one outcome, even when the batch failed.

    The orders read are taken in here; if reading failed, the batch's ids are (each deferred).
    """
    futures = batch.futures
    try:
        accepted, quarantined = futures["mapped"].result()
    except Exception as exc:
        run.outcomes.took_in("order", batch.batch)
        defer_failed_batch(run, batch.batch, exc)
        return
    run.outcomes.took_in("order", [order.id for order, _ in accepted] + [q.entity_key for q in quarantined])
    run.outcomes.quarantined(quarantined)
    try:
        sales_orders: PostedDocuments = futures["sales_orders"].result()
        invoices: PostedDocuments = futures["invoices"].result()
        invoiced = set(futures["marked"].result())
        intents: list[OrderIntents] = futures["intents"].result()
        for intent in intents:
            so = sales_orders.states.get(intent.sales_order_key)
            inv = invoices.states.get(intent.invoice_key)
            if intent.order_id in invoiced:
                run.outcomes.synced("order", [intent.order_id])
            elif so is not None and so.status is OutboxStatus.FAILED:
                run.outcomes.quarantined_key(
                    "order", intent.order_id, f"sales order refused: {so.last_error}"
                )
            elif inv is not None and inv.status is OutboxStatus.FAILED:
                run.outcomes.quarantined_key("order", intent.order_id, f"invoice refused: {inv.last_error}")
            else:
                last = (
                    invoices.unfinished.get(intent.invoice_key)
                    or sales_orders.unfinished.get(intent.sales_order_key)
                    or (inv.last_error if inv else None)
                    or (so.last_error if so else None)
                )
                run.outcomes.deferred("order", intent.order_id, last or "not posted yet")
    except Exception as exc:
        defer_failed_batch(run, [order.id for order, _ in accepted], exc)


def defer_failed_batch(run: FlowRun, order_ids: list[str], exc: Exception) -> None:
    """One failed batch must not hide the others: its orders (taken in) without an outcome are deferred."""
    run.outcomes.batch_errors.append(f"{type(exc).__name__}: {exc}")
    for order_id in order_ids:
        if ("order", order_id) not in run.outcomes.records:
            run.outcomes.deferred("order", order_id, f"batch failed: {exc}")
