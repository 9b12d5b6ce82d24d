"""``dealer-sync quarantine``: records that could not be synced."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from dealer_sync.cli.common import fail, load_settings, open_store, print_json

app = typer.Typer(help="List and inspect quarantined records.", no_args_is_help=True)


@app.command("list")
def list_(
    flow: Annotated[str | None, typer.Option(help="only this flow")] = None,
    entity: Annotated[str | None, typer.Option(help="only this entity, e.g. order")] = None,
    status: Annotated[str, typer.Option(help="open, replayed or all")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List quarantined records, oldest first."""
    if status not in ("open", "replayed", "all"):
        fail(f"--status must be open, replayed or all, not {status!r}", code=2)
    store = open_store(load_settings())
    records = store.quarantine.list(
        status=None if status == "all" else status, flow=flow, entity=entity, limit=limit
    )
    if as_json:
        print_json([{k: v for k, v in asdict(r).items() if k != "payload"} for r in records])
        return
    if not records:
        typer.echo("no quarantined records")
        return
    typer.echo(f"{'id':>6}  {'flow':<24} {'entity':<10} {'key':<24} {'status':<9} reason")
    for r in records:
        reason = r.reason if len(r.reason) <= 60 else r.reason[:57] + "..."
        typer.echo(
            f"{r.id:>6}  {r.flow:<24} {r.entity:<10} {r.entity_key:<24} {r.status:<9} {reason}"
        )


@app.command()
def show(
    record_id: Annotated[int, typer.Argument(help="quarantine record id")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show one quarantined record with its payload."""
    store = open_store(load_settings())
    record = store.quarantine.get(record_id)
    if record is None:
        fail(f"no quarantine record {record_id}")
    if as_json:
        print_json(asdict(record))
        return
    for key, value in asdict(record).items():
        if key != "payload":
            typer.echo(f"{key:>18}: {value}")
    typer.echo("           payload:")
    print_json(record.payload)


@app.command("replay")
def replay_(
    record_ids: Annotated[list[int] | None, typer.Argument(help="quarantine record ids")] = None,
    flow: Annotated[str | None, typer.Option(help="replay every open record of this flow")] = None,
    all_open: Annotated[bool, typer.Option("--all", help="replay every open record")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Run quarantined records through their flow again (after fixing a mapping or the source).

    Records that pass now sync and close; the others stay open with the new reason.
    """
    from dealer_sync.replay import replay

    if not record_ids and not flow and not all_open:
        fail("name record ids, or --flow FLOW, or --all", code=2)
    store = open_store(load_settings())
    if record_ids:
        records = [r for rid in record_ids if (r := store.quarantine.get(rid)) is not None]
        missing = set(record_ids) - {r.id for r in records}
        if missing:
            fail(f"no quarantine record {', '.join(map(str, sorted(missing)))}")
        records = [r for r in records if r.status == "open"]
    else:
        records = store.quarantine.list(status="open", flow=flow, limit=1_000_000)
    if not records:
        typer.echo("nothing to replay")
        return
    try:
        result = replay(store, records)
    except ValueError as exc:
        fail(str(exc), code=2)
    if as_json:
        print_json(asdict(result))
        return
    typer.echo(f"replayed {result.replayed} records: {result.closed} closed, {result.still_open} still open")
    for run in result.runs:
        typer.echo(
            f"  {run['flow']}: in {run['in']}, synced {run['synced']}, "
            f"quarantined {run['quarantined']}, deferred {run['deferred']}"
        )
