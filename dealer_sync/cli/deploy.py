"""``dealer-sync deploy`` and ``dealer-sync secrets register``: put this clone onto a Prefect server.

Deploy is safe to repeat: the work pool is created once, blocks are overwritten, automations are
replaced by name, and ``prefect deploy`` updates deployments in place.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dealer_sync.cli.common import fail, load_settings, prefect_api_url
from dealer_sync.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]

secrets_app = typer.Typer(help="Credentials as Prefect Secret blocks.", no_args_is_help=True)


def require_api() -> str:
    """The Prefect API URL, checked to answer; a clear error says how to get one."""
    url = prefect_api_url()
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        fail(f"the Prefect API at {url} does not answer: {problem}")
    return url


def ensure_work_pool(name: str) -> bool:
    """Create the process work pool unless it exists; True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
        except ObjectAlreadyExists:
            return False
    return True


def register_blocks_and_automations(settings: Settings) -> list[str]:
    from deployments.automations import announce_crashes, crash_on_silence
    from deployments.blocks import register_ops_webhook, register_secrets

    done = [f"secret block {entry.block} (from {entry.source})" for entry in register_secrets(settings)]
    crash_on_silence()
    done.append("automation: runs without heartbeat are marked Crashed")
    block_id = register_ops_webhook(settings)
    if block_id is None:
        done.append("no ops webhook (DEALER_SYNC_ALERTS__SLACK_WEBHOOK_URL): crashed runs are not announced")
    else:
        announce_crashes(block_id)
        done.append("automation: crashed runs are announced to the ops webhook")
    return done


def deploy_environment(settings: Settings) -> dict[str, str]:
    """What prefect.yaml's deploy-time placeholders read; the worker's own placeholder stays unset."""
    env = dict(os.environ)
    env["DEALER_SYNC_BUSINESS_TIMEZONE"] = settings.business_timezone
    env.pop("DEALER_SYNC_WORKER_HOME", None)  # resolved on each worker at run time, never baked in
    return env


def deploy(
    prefect_file: Annotated[
        Path, typer.Option(help="the deployments file", exists=True, dir_okay=False)
    ] = PROJECT_ROOT / "prefect.yaml",
) -> None:
    """Create the work pool, register blocks and automations, and deploy every flow in prefect.yaml."""
    from deployments.catalog import WORK_POOL

    settings = load_settings()
    api = require_api()
    typer.echo(f"Prefect API: {api}")
    created = ensure_work_pool(WORK_POOL)
    typer.echo(f"work pool {WORK_POOL}: {'created' if created else 'exists'}")
    for line in register_blocks_and_automations(settings):
        typer.echo(line)
    command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"]
    command += ["--prefect-file", str(prefect_file)]
    env = deploy_environment(settings)
    result = subprocess.run(command, cwd=prefect_file.parent, env=env, check=False)
    if result.returncode != 0:
        fail(f"prefect deploy failed (exit {result.returncode}); its output is above")
    typer.echo(f"deployed; start a worker with `make worker` (pool {WORK_POOL})")


@secrets_app.command("register")
def register() -> None:
    """Save the OAuth secrets found in the environment as Prefect Secret blocks."""
    from deployments.blocks import register_secrets

    settings = load_settings()
    require_api()
    registered: list[Any] = register_secrets(settings)
    if not registered:
        fail("no secret found: set DEALER_SYNC_ZOHO_BOOKS__CLIENT_SECRET, ..._REFRESH_TOKEN and the like")
    for entry in registered:
        typer.echo(f"saved {entry.block} (from {entry.source})")
    typer.echo(
        "On workers, set DEALER_SYNC_ZOHO_INVENTORY__SECRET_BLOCK=zoho-inventory, "
        "DEALER_SYNC_ZOHO_BOOKS__SECRET_BLOCK=zoho-books and DEALER_SYNC_SECRET_BLOCK_PREFIX=dealer-sync "
        "(or the prefixes you chose), and remove the secrets from their environment."
    )
