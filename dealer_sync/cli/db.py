"""``dealer-sync db``: the sync store's schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError

from dealer_sync.cli.common import fail, load_settings, redact
from dealer_sync.db import make_engine
from dealer_sync.store import migrate

app = typer.Typer(help="Migrate the sync store's schema.", no_args_is_help=True)


@app.command()
def upgrade(
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = load_settings()
    url = settings.resolved_store_url()
    try:
        engine = make_engine(url)
        migrate.upgrade(engine, revision)
        typer.echo(f"store {redact(url)} is at revision {migrate.current_revision(engine)}")
    except OperationalError as exc:
        fail(f"cannot reach the sync store at {redact(url)}: {exc.orig}")


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="revision to go back to; 'base' empties the store")],
) -> None:
    """Roll migrations back to REVISION."""
    settings = load_settings()
    engine = make_engine(settings.resolved_store_url())
    migrate.downgrade(engine, revision)
    typer.echo(f"store is at revision {migrate.current_revision(engine) or 'base'}")


@app.command()
def current() -> None:
    """Show the store's revision and the latest one the code knows."""
    settings = load_settings()
    engine = make_engine(settings.resolved_store_url())
    typer.echo(f"current: {migrate.current_revision(engine) or 'base'}")
    typer.echo(f"head:    {migrate.head_revision(engine)}")
