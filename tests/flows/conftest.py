"""Fixtures for flow tests: a Prefect API, the Zoho simulators, a seeded portal and store."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from connectors.portal_sql.database import init_portal
from dealer_sync.db import make_engine
from dealer_sync.store import SyncStore
from sandbox.network import Network, NetworkSpec, generate, seed_portal
from sandbox.seeding import DEMO_CLIENT_ID, SeededIds, seed_mappings, seed_zoho
from sandbox.zoho import ZohoEndpoints, ZohoSandbox
from tasks.environment import close_environments

CLIENT_SECRET = "sandbox-client-secret-4f1c9a"
REFRESH_TOKEN = "1000.sandbox-refresh-token-9b2e77d1"


@dataclass
class SyncWorld:
    network: Network
    sandbox: ZohoSandbox
    endpoints: ZohoEndpoints
    store: SyncStore
    ids: SeededIds
    db_url: str


def zoho_env(endpoints: ZohoEndpoints, organization_id: str, minute_seconds: float) -> dict[str, str]:
    env = {}
    for name, url in (("ZOHO_INVENTORY", endpoints.inventory_url), ("ZOHO_BOOKS", endpoints.books_url)):
        prefix = f"DEALER_SYNC_{name}__"
        env.update(
            {
                f"{prefix}BASE_URL": url,
                f"{prefix}ACCOUNTS_URL": endpoints.accounts_url,
                f"{prefix}ORGANIZATION_ID": organization_id,
                f"{prefix}CLIENT_ID": DEMO_CLIENT_ID,
                f"{prefix}CLIENT_SECRET": CLIENT_SECRET,
                f"{prefix}REFRESH_TOKEN": REFRESH_TOKEN,
                f"{prefix}MINUTE_SECONDS": str(minute_seconds),
                f"{prefix}TIMEOUT_SECONDS": "5",
            }
        )
    return env


@pytest.fixture
def world_factory(db_url, monkeypatch, tmp_path, prefect_api):
    """Build a seeded world; tests choose the network (and the simulators' time scale)."""
    opened: list[tuple[SyncStore, object]] = []

    def build(spec: NetworkSpec | None = None, minute_seconds: float = 2.0) -> SyncWorld:
        """``minute_seconds``: the vendors' rate-limit minute, scaled so budgets refill quickly."""
        spec = spec or NetworkSpec()
        for name in list(os.environ):
            if name.startswith("DEALER_SYNC_") and name != "DEALER_SYNC_TEST_PG_URL":
                monkeypatch.delenv(name)
        sandbox = ZohoSandbox(minute_seconds=minute_seconds, seed=spec.seed)
        sandbox.register_client(DEMO_CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
        serving = sandbox.serve()
        endpoints = serving.__enter__()
        network = generate(spec)
        store = SyncStore.open(db_url, migrate=True)
        portal_engine = make_engine(db_url)
        init_portal(portal_engine)
        seed_portal(portal_engine, network)
        portal_engine.dispose()
        ids = seed_zoho(sandbox, network)
        seed_mappings(store, ids)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DEALER_SYNC_STORE_URL", db_url)
        monkeypatch.setenv("DEALER_SYNC_PORTAL_URL", db_url)
        monkeypatch.setenv("DEALER_SYNC_DATA_DIR", str(tmp_path / "data"))
        for key, value in zoho_env(endpoints, sandbox.organization.organization_id, minute_seconds).items():
            monkeypatch.setenv(key, value)
        opened.append((store, serving))
        return SyncWorld(network, sandbox, endpoints, store, ids, db_url)

    yield build
    close_environments()
    for store, serving in opened:
        store.close()
        serving.__exit__(None, None, None)  # type: ignore[attr-defined]
