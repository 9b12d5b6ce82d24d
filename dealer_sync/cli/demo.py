"""``dealer-sync demo``: the whole embedded setup on one machine, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dealer_sync.cli.common import (
    AccountingTargetOption,
    fail,
    load_settings,
    patient_ephemeral_server,
    print_json,
)


def demo(
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    orders: Annotated[int, typer.Option(min=1, max=100_000, help="orders in the generated network")] = 60,
    seed: Annotated[int, typer.Option(help="seed of the generated network")] = 42,
    target: Annotated[
        AccountingTargetOption, typer.Option(help="the accounting system to post to and read back from")
    ] = AccountingTargetOption.zoho_books,
) -> None:
    """Start the simulators, seed a dealer network, run the flows twice and summarise.

    Everything lives in DATA_DIR/demo (SQLite store and portal), rebuilt on every run.
    """
    from sandbox.demo import run_demo
    from sandbox.network import NetworkSpec

    settings = load_settings()
    data_dir = Path(settings.data_dir) / "demo"
    try:
        with patient_ephemeral_server():
            result = run_demo(data_dir, NetworkSpec(seed=seed, orders=orders), target=target.value)
    except Exception as exc:  # the flows have logged the details; say what failed and where
        fail(f"demo failed: {type(exc).__name__}: {exc}")
    if as_json:
        print_json(result.as_dict())
        return
    typer.echo("")
    typer.echo(f"dealer-sync demo: {orders} portal orders, Zoho Inventory and {target.value} simulators")
    typer.echo(f"{'flow':<28} {'in':>6} {'synced':>7} {'quarantined':>12} {'deferred':>9}")
    for summary in [*result.flows, {**result.second_pass, "flow": "order_to_invoice (again)"}]:
        typer.echo(
            f"{summary['flow']:<28} {summary['in']:>6} {summary['synced']:>7} "
            f"{summary['quarantined']:>12} {summary['deferred']:>9}"
        )
    typer.echo(f"new documents written by the second pass: {result.new_documents_on_second_pass}")
    typer.echo(f"documents in the simulators: {result.documents}")
    found = result.reconciliation.get("findings_by_category", {})
    typer.echo(
        f"reconciliation: {sum(found.values())} findings " + ", ".join(f"{k} {v}" for k, v in found.items())
    )
    for kind, path in result.reconciliation.get("report_files", {}).items():
        typer.echo(f"  report {kind}: {path}")
    typer.echo(f"store:  {result.as_dict()['store_url']}")
    typer.echo(f"portal: {result.as_dict()['portal_url']}")
    typer.echo(
        f"quarantine: {result.quarantine_open} open records; see them with "
        f"DEALER_SYNC_STORE_URL={result.as_dict()['store_url']} dealer-sync quarantine list"
    )
