"""``dealer-sync sandbox``: the local simulators, for trying a mapping before going live."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer

from dealer_sync.cli.common import AccountingTargetOption, load_settings

app = typer.Typer(help="Run the local simulators of the external systems.", no_args_is_help=True)


@app.command()
def up(
    orders: Annotated[int, typer.Option(min=0, max=100_000, help="orders in the seeded network")] = 60,
    seed: Annotated[int, typer.Option(help="seed of the generated network")] = 42,
    minute_seconds: Annotated[
        float, typer.Option(min=0.1, help="length of the vendors' rate-limit minute, in seconds")
    ] = 60.0,
    target: Annotated[
        AccountingTargetOption, typer.Option(help="the accounting system to simulate")
    ] = AccountingTargetOption.zoho_books,
) -> None:
    """Serve seeded simulators on loopback, with a seeded store and portal, until Ctrl-C.

    Prints the base URLs and the DEALER_SYNC_* variables that point the flows at them.
    """
    from sandbox.demo import seeded_sandbox
    from sandbox.network import NetworkSpec

    settings = load_settings()
    data_dir = Path(settings.data_dir) / "sandbox"
    spec = NetworkSpec(seed=seed, orders=orders)
    with seeded_sandbox(data_dir, spec, minute_seconds, target.value) as world:
        typer.echo(f"Zoho accounts:  {world.endpoints.accounts_url}")
        typer.echo(f"Zoho Inventory: {world.endpoints.inventory_url}")
        typer.echo(f"ledger:         {target.value}")
        typer.echo(f"store and portal seeded in {data_dir}")
        typer.echo("\nExport these to run the flows against the sandbox:\n")
        for key in sorted(world.env):
            typer.echo(f"export {key}={world.env[key]}")
        typer.echo("\nPress Ctrl-C to stop.")
        stop = threading.Event()
        try:
            while not stop.wait(3600):  # woken only by Ctrl-C
                pass
        except KeyboardInterrupt:
            typer.echo("stopping")
