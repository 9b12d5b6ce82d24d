"""Helpers shared by the CLI commands: settings, opening the store, printing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, Final, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from dealer_sync.db import make_engine
from dealer_sync.settings import Settings
from dealer_sync.store import StoreNotMigratedError, SyncStore


class AccountingTargetOption(StrEnum):
    """The accounting targets as a CLI choice (the names settings.accounting_target takes)."""

    zoho_books = "zoho_books"
    tally = "tally"
    quickbooks = "quickbooks"
    xero = "xero"


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        fail(f"invalid settings ({problems})", code=2)


def redact(url: str) -> str:
    """A database URL fit for printing: the password is hidden."""
    return make_url(url).render_as_string(hide_password=True)


def open_store(settings: Settings, *, migrate: bool = False) -> SyncStore:
    url = settings.resolved_store_url()
    try:
        return SyncStore.open(url, migrate=migrate)
    except StoreNotMigratedError as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(f"cannot reach the sync store at {redact(url)}: {exc.orig}")


def portal_engine(settings: Settings) -> Engine:
    return make_engine(settings.resolved_portal_url())


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, sort_keys=True))


def prefect_api_url() -> str:
    """The Prefect server's API URL; refuse rather than let Prefect start a throwaway local one."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        fail(
            "PREFECT_API_URL is not set: start a server (`make server`) or name yours, e.g. "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    return str(url)


EPHEMERAL_SERVER_STARTUP_SECONDS: Final = 90
"""How long a command that runs flows in this process (``run``, ``demo``) lets Prefect's temporary
server take to start when no PREFECT_API_URL is set. Prefect's default, 20 s, is not enough on a busy
two-core machine, where the command then fails before any flow has run."""


@contextmanager
def patient_ephemeral_server() -> Iterator[None]:
    """Give the temporary Prefect server ``EPHEMERAL_SERVER_STARTUP_SECONDS`` to start, unless the
    user has set PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: theirs wins."""
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

    if PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.name in os.environ:
        yield
        return
    with temporary_settings(
        {PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: EPHEMERAL_SERVER_STARTUP_SECONDS}
    ):
        yield
