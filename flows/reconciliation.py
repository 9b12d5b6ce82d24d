"""Nightly reconciliation: portal, inventory and ledger diffed three ways, every difference classified."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from dealer_sync.reconcile.classify import Findings, classify
from dealer_sync.reconcile.snapshot import Snapshots
from dealer_sync.report import ReconciliationReport, render_text
from dealer_sync.settings import Settings
from dealer_sync.timeutil import business_date, business_day_bounds, utcnow
from flows.alerts import alert_ops
from flows.common import current_run_id
from flows.runners import task_runner_for
from tasks.environment import environment
from tasks.reconcile_partitions import classify_in_partitions
from tasks.reconciliation import (
    Window,
    deliver_reconciliation_report,
    refs_of,
    snapshot_availability,
    snapshot_inventory,
    snapshot_ledger,
    snapshot_portal,
    store_findings,
    to_report_findings,
    write_reconciliation_report,
)
from tasks.reporting import artifact_key

FLOW = "reconciliation"


def resolve_window(first_day: date | None, last_day: date | None, timezone: str) -> Window:
    """The business days to reconcile; by default the day before the (scheduled) start."""
    if first_day is None:
        started = flow_run.get_scheduled_start_time() or utcnow()
        first_day = business_date(started, timezone) - timedelta(days=1)
    last_day = last_day or first_day
    if last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    since, _ = business_day_bounds(first_day, timezone)
    _, until = business_day_bounds(last_day, timezone)
    return Window(since=since, until=until, first_day=first_day, last_day=last_day)


@flow(name="nightly-reconciliation", task_runner=ThreadPoolTaskRunner(max_workers=3), on_failure=[alert_ops])
def reconciliation(
    first_day: date | None = None,
    last_day: date | None = None,
    in_flight_hours: float = 2.0,
    deliver: bool = True,
    heal: bool = False,
) -> dict[str, Any]:
    """Reconcile the business days [first_day, last_day] (default: yesterday) and report to finance.

    Report files are written before delivery, so a failed email or Slack post (which fails the
    run) never loses them. With ``heal``, missing invoices are re-posted through order-to-invoice
    (exactly once) and re-checked in the same run.
    """
    env = environment()
    run_id = current_run_id()
    window = resolve_window(first_day, last_day, env.settings.business_timezone)
    ledger_f = snapshot_ledger.submit(env, window)
    inventory_f = snapshot_inventory.submit(env, window)
    availability_f = snapshot_availability.submit(env)
    ledger = ledger_f.result()
    portal = snapshot_portal(env, window, refs_of(ledger["invoices"]))
    inventory = inventory_f.result()
    as_of = utcnow()

    def take_snapshots() -> Any:
        return Snapshots(
            portal_orders=portal["portal_orders"],
            portal_lines=portal["portal_lines"],
            sales_orders=inventory["sales_orders"],
            sales_order_lines=inventory["sales_order_lines"],
            invoices=ledger["invoices"].drop("in_window"),
            payments=ledger["payments"],
            credit_notes=ledger["credit_notes"],
            portal_accounts=portal["portal_accounts"],
            availability=availability_f.result(),
        )

    in_flight = timedelta(hours=in_flight_hours)
    findings = classify_snapshots(env.settings, take_snapshots(), as_of=as_of, in_flight=in_flight)
    healed: dict[str, Any] | None = None
    if heal:
        missing = findings.frame.filter(pl.col("category") == "missing_invoice")["order_key"].to_list()
        if missing:
            healed = _heal(env, missing)
            ledger = snapshot_ledger(env, window)
            portal = snapshot_portal(env, window, refs_of(ledger["invoices"]))
            inventory = snapshot_inventory(env, window)
            findings = classify_snapshots(env.settings, take_snapshots(), as_of=utcnow(), in_flight=in_flight)

    counts = {name: frame.height for name, frame in {**portal, **inventory, **ledger}.items()}
    store_findings(env, run_id, findings.frame, counts)
    report = ReconciliationReport(
        window_start=window.first_day,
        window_end=window.last_day,
        generated_at=as_of,
        findings=to_report_findings(findings.frame),
        matched=dict(findings.matched),
    )
    files = write_reconciliation_report(env, report)
    _publish(report, files)
    summary: dict[str, Any] = {
        "flow": FLOW,
        "run_id": run_id,
        "window": [window.first_day.isoformat(), window.last_day.isoformat()],
        "findings": len(report.findings),
        "findings_by_category": {s.category: s.count for s in report.summary},
        "report_files": {
            "csv": str(files.csv_path),
            "html": str(files.html_path),
            "chart": str(files.chart_path),
        },
        "healed": healed,
    }
    if deliver:
        summary["delivered"] = deliver_reconciliation_report(env, report, files)
    return summary


def classify_snapshots(
    settings: Settings, snapshots: Snapshots, *, as_of: datetime, in_flight: timedelta
) -> Findings:
    """Classify in one piece, or in ``settings.reconcile_partitions`` partitions on the task runner
    ``settings.task_runner`` names (threads here, or Dask workers): the findings are the same.

    The runner is chosen here, while the flow runs, not where the flow is decorated or started: a
    deployment's worker runs the decorated ``reconciliation`` object from this file, so a runner
    given with ``reconciliation.with_options(...)`` by whoever starts a run would not apply to
    scheduled runs, and the flow's own runner also carries the snapshot tasks, whose
    ``SyncEnvironment`` (clients, engines, locks) cannot be pickled to a Dask worker. Nor is this a
    subflow with its own runner: Prefect sends the flow run's context, parameters included, with
    every task it submits to Dask, so a subflow taking the snapshots as a parameter would ship all
    of them with each partition. The partition tasks are therefore submitted to a runner started
    for them alone, inside this flow run: each carries only its partition, and their task runs
    show under the reconciliation's flow run.
    """
    partitions = settings.reconcile_partitions
    if partitions <= 1:
        return classify(snapshots, as_of=as_of, in_flight=in_flight)
    runner = task_runner_for(settings, default_threads=min(partitions, os.cpu_count() or 1))
    return classify_in_partitions(snapshots, as_of, partitions, in_flight=in_flight, task_runner=runner)


def _heal(env: Any, order_keys: list[str]) -> dict[str, Any]:
    """Re-post missing invoices through the exactly-once path, by portal order id."""
    from flows.order_to_invoice import order_to_invoice

    ids = env.portal.order_ids_for_numbers(order_keys)
    return dict(order_to_invoice(order_ids=ids)) if ids else {}


def _publish(report: ReconciliationReport, files: Any) -> None:
    create_table_artifact(
        key=artifact_key(FLOW, "by-category"),
        table=[
            {
                "category": s.category,
                "currency": s.currency,
                "count": s.count,
                "money_at_stake": str(s.money_at_stake),
                "high": s.high,
                "oldest_days": s.oldest_age_days,
            }
            for s in report.summary
        ],
        description=f"reconciliation {report.label}: findings by category",
    )
    create_markdown_artifact(
        key=artifact_key(FLOW, "top-findings"),
        markdown=(
            f"```\n{render_text(report, limit=25)}\n```\n\nFiles: `{files.html_path}`, `{files.csv_path}`"
        ),
        description=f"reconciliation {report.label}: top findings",
    )
