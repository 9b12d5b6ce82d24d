"""``dealer-sync portal``: the embedded SQL dealer portal."""

from __future__ import annotations

import typer

from connectors.portal_sql.database import init_portal
from dealer_sync.cli.common import load_settings, portal_engine, redact

app = typer.Typer(help="Manage the embedded SQL dealer portal.", no_args_is_help=True)


@app.command()
def init() -> None:
    """Create the portal's tables (safe to run again: existing tables are kept)."""
    settings = load_settings()
    created = init_portal(portal_engine(settings))
    url = redact(settings.resolved_portal_url())
    if created:
        typer.echo(f"portal {url}: created {len(created)} tables ({', '.join(created)})")
    else:
        typer.echo(f"portal {url}: already initialised")
