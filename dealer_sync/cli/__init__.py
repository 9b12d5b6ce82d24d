"""The ``dealer-sync`` command line."""

from __future__ import annotations

import typer

from dealer_sync.cli import backfill, db, demo, deploy, portal, quarantine, run, sandbox, status, tally

app = typer.Typer(
    name="dealer-sync",
    help="Keep a dealer portal, an inventory system and an accounting system in sync.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(portal.app, name="portal")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(run.app, name="run")
app.add_typer(tally.app, name="tally")
app.command("status")(status.status)
app.command("demo")(demo.demo)
app.command("backfill")(backfill.backfill)
app.command("deploy")(deploy.deploy)
app.add_typer(deploy.secrets_app, name="secrets")

__all__ = ["app"]
