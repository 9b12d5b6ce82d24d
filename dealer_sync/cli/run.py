"""``dealer-sync run``: run one flow here and now (a remedy, a catch-up, a backfill window)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer

from dealer_sync.cli.common import fail, patient_ephemeral_server, print_json

app = typer.Typer(help="Run a flow once, in this process.", no_args_is_help=True)

Since = Annotated[
    str | None, typer.Option(help="window start, ISO 8601 with an offset (e.g. 2026-11-01T00:00:00+05:30)")
]
Until = Annotated[str | None, typer.Option(help="window end (exclusive), ISO 8601 with an offset")]
AsJson = Annotated[bool, typer.Option("--json", help="print the run summary as JSON")]


def parse_instant(value: str | None, name: str) -> datetime | None:
    """Validate a window bound before any flow starts: aware, ISO 8601, not in the future."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--{name} {value!r} is not an ISO 8601 date-time", code=2)
    if parsed.tzinfo is None:
        fail(f"--{name} {value!r} has no timezone offset; add one, e.g. +05:30 or Z", code=2)
    if parsed > datetime.now(UTC):
        fail(f"--{name} {value!r} is in the future", code=2)
    return parsed.astimezone(UTC)


def window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    start, end = parse_instant(since, "since"), parse_instant(until, "until")
    if start and end and start >= end:
        fail("--since must be before --until", code=2)
    return start, end


def report(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(summary)
    else:
        typer.echo(
            f"{summary['flow']}: in {summary['in']}, synced {summary['synced']}, "
            f"quarantined {summary['quarantined']}, deferred {summary['deferred']} (run {summary['run_id']})"
        )


def _run(call: Any) -> dict[str, Any]:
    try:
        with patient_ephemeral_server():
            return dict(call())
    except Exception as exc:
        fail(f"the run failed: {type(exc).__name__}: {exc}")


@app.command("order-to-invoice")
def order_to_invoice_(
    since: Since = None,
    until: Until = None,
    order_id: Annotated[list[str] | None, typer.Option("--order-id", help="only these orders")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: AsJson = False,
) -> None:
    """Post confirmed orders (in the window, or the given ids) to inventory and accounting."""
    from flows.order_to_invoice import order_to_invoice

    start, end = window(since, until)
    report(
        _run(lambda: order_to_invoice(since=start, until=end, order_ids=order_id, batch_size=batch_size)),
        as_json,
    )


@app.command("inventory-refresh")
def inventory_refresh_(
    full: Annotated[bool, typer.Option("--full", help="read every item, not just changes")] = False,
    since: Since = None,
    as_json: AsJson = False,
) -> None:
    """Refresh portal availability from the inventory system."""
    from flows.inventory_refresh import inventory_refresh

    start, _ = window(since, None)
    report(_run(lambda: inventory_refresh(full=full, since=start)), as_json)


@app.command("invoice-payment-pullback")
def invoice_payment_pullback_(since: Since = None, until: Until = None, as_json: AsJson = False) -> None:
    """Copy invoices, payments and credit notes into the dealers' accounts in the portal."""
    from flows.invoice_payment_pullback import invoice_payment_pullback

    start, end = window(since, until)
    report(_run(lambda: invoice_payment_pullback(since=start, until=end)), as_json)


@app.command("reconciliation")
def reconciliation_(
    first_day: Annotated[
        str | None, typer.Option(help="first business day, YYYY-MM-DD (default: yesterday)")
    ] = None,
    last_day: Annotated[
        str | None, typer.Option(help="last business day, inclusive (default: first day)")
    ] = None,
    heal: Annotated[
        bool, typer.Option("--heal", help="re-post missing invoices, then re-check them")
    ] = False,
    deliver: Annotated[
        bool, typer.Option("--deliver/--no-deliver", help="email finance and post to Slack")
    ] = True,
    as_json: AsJson = False,
) -> None:
    """Reconcile portal, inventory and ledger for business days; write the report files."""
    from flows.reconciliation import reconciliation

    first, last = business_day(first_day, "first-day"), business_day(last_day, "last-day")
    if first and last and last < first:
        fail("--last-day is before --first-day", code=2)
    if last and not first:
        fail("--last-day needs --first-day", code=2)
    result = _run(lambda: reconciliation(first_day=first, last_day=last, heal=heal, deliver=deliver))
    if as_json:
        print_json(result)
    else:
        by_category = ", ".join(f"{k} {v}" for k, v in sorted(result["findings_by_category"].items()))
        typer.echo(f"reconciliation {' .. '.join(result['window'])}: {result['findings']} finding(s)")
        if by_category:
            typer.echo(f"  {by_category}")
        typer.echo(f"  report: {result['report_files']['html']}")


def business_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--{name} {value!r} is not a date (YYYY-MM-DD)", code=2)
