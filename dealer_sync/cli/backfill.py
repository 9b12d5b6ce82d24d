"""``dealer-sync backfill``: one deployment run per chunk of a past window, each created once."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from dealer_sync.cli.common import fail, load_settings, prefect_api_url, print_json
from dealer_sync.cli.run import parse_instant
from deployments.backfill import (
    BackfillError,
    BackfillPlan,
    BackfillSubmitError,
    BackfillSummary,
    Bound,
    ChunkResult,
    ChunkSize,
    Outcome,
    plan_backfill,
    submit_backfill,
)
from deployments.catalog import DEPLOYMENTS, spec_for

_UNFINISHED_STATES = frozenset({"Failed", "Crashed", "Cancelled"})


def parse_bound(value: str, name: str) -> Bound:
    """A plain ISO date stays a date (the business day's start); anything else must be an instant."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    instant = parse_instant(value, name)
    assert instant is not None
    return instant


def _progress(result: ChunkResult, total: int, err: bool) -> None:
    width = len(str(total))
    state = f" ({result.state})" if result.outcome is Outcome.EXISTING and result.state else ""
    typer.echo(
        f"[{result.chunk.index:>{width}}/{total}] {result.chunk.label}  {result.outcome.value:<14}"
        f"  {result.flow_run_id}{state}",
        err=err,
    )


def _dry_run(plan: BackfillPlan, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                **BackfillSummary(plan).as_dict(),
                "dry_run": True,
                "runs": [
                    {
                        "index": c.index,
                        "window": c.label,
                        "parameters": c.parameters,
                        "idempotency_key": c.idempotency_key,
                    }
                    for c in plan.chunks
                ],
            }
        )
        return
    width = len(str(len(plan.chunks)))
    for c in plan.chunks:
        typer.echo(f"[{c.index:>{width}}/{len(plan.chunks)}] {c.label}  planned  {c.idempotency_key}")
    typer.echo(
        f"dry run: {len(plan.chunks)} run{'s' if len(plan.chunks) != 1 else ''} of {plan.spec.full_name} "
        f"(generation {plan.generation}); "
        "nothing was submitted"
    )


def backfill(
    flow: Annotated[
        str, typer.Argument(metavar="FLOW", help=f"the flow to backfill: {', '.join(DEPLOYMENTS)}")
    ],
    since: Annotated[
        str,
        typer.Option(
            help="window start: a date (2026-11-01, midnight in the business timezone) "
            "or an ISO 8601 date-time with an offset (2026-11-01T06:00:00+05:30)"
        ),
    ],
    until: Annotated[
        str,
        typer.Option(
            help="window end, EXCLUSIVE, in the past, same forms as --since: "
            "--since 2026-11-01 --until 2026-11-04 covers 1, 2 and 3 November"
        ),
    ],
    chunk: Annotated[
        str,
        typer.Option(
            help="length of each run's window: <N>m, <N>h or <N>d; days are calendar days in the "
            "business timezone (23 or 25 hours across a DST change); the last chunk may be shorter"
        ),
    ] = "1d",
    generation: Annotated[
        int,
        typer.Option(
            min=1,
            help="part of each run's idempotency key: the same backfill again creates nothing; "
            "bump it to run the same windows again on purpose",
        ),
    ] = 1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the chunks; contact nothing")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the summary as JSON (progress to stderr)")
    ] = False,
) -> None:
    """Create one run of FLOW's deployment per chunk of [--since, --until), each exactly once.

    The runs are queued on the Prefect server (PREFECT_API_URL) for the deployment's workers,
    tagged `backfill` and `generation-N`. Running the same backfill again reports every chunk as
    already existing. The reconciliation takes whole business days: give it dates and a chunk in
    days; each chunk becomes its first_day..last_day, and writes its report files without
    emailing finance (one email per backfilled day would bury the nightly one).
    """
    try:
        spec = spec_for(flow)
    except KeyError as exc:
        fail(str(exc.args[0]), code=2)
    timezone = load_settings().business_timezone
    try:
        plan = plan_backfill(
            spec,
            parse_bound(since, "since"),
            parse_bound(until, "until"),
            ChunkSize.parse(chunk),
            timezone=timezone,
            generation=generation,
        )
    except BackfillError as exc:
        fail(str(exc), code=2)
    if dry_run:
        _dry_run(plan, as_json)
        return
    summary = _submit(plan, as_json)
    if as_json:
        print_json(summary.as_dict())
        return
    typer.echo(
        f"{spec.full_name}: {len(plan.chunks)} chunks of {plan.chunk}, generation {generation}: "
        f"created {summary.count(Outcome.CREATED)}, existing {summary.count(Outcome.EXISTING)}"
    )
    ended = [r for r in summary.results if r.outcome is Outcome.EXISTING and r.state in _UNFINISHED_STATES]
    if ended:
        typer.echo(
            f"{len(ended)} existing runs ended Failed, Crashed or Cancelled; to run those windows again, "
            f"narrow --since/--until to them and use --generation {generation + 1}"
        )


def _submit(plan: BackfillPlan, as_json: bool) -> BackfillSummary:
    from prefect.client.orchestration import get_client

    prefect_api_url()  # a backfill queues runs on the server the deployments live on
    summary = BackfillSummary(plan)
    try:
        with get_client(sync_client=True) as client:
            for result in submit_backfill(plan, client):
                summary.results.append(result)
                _progress(result, len(plan.chunks), err=as_json)
    except BackfillSubmitError as exc:
        done = len(summary.results)
        again = (
            f" ({done} of {len(plan.chunks)} chunks were submitted; run the same command again "
            "to finish: nothing is created twice)"
            if done
            else ""
        )
        fail(f"{exc}{again}")
    return summary


__all__ = ["backfill", "parse_bound"]
