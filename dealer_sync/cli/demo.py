"""``dealer-sync demo``: the whole embedded setup on one machine, in one command."""

from __future__ import annotations

from typing import Annotated

import typer

from connectors.portal_sql.database import init_portal
from dealer_sync.cli.common import load_settings, open_store, portal_engine, print_json
from dealer_sync.cli.status import collect_status, render_status


def demo(
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Migrate the store, initialise the embedded portal and show the status."""
    settings = load_settings()
    open_store(settings, migrate=True).close()
    init_portal(portal_engine(settings))
    data = collect_status(settings)
    if as_json:
        print_json(data)
    else:
        typer.echo(render_status(data))
