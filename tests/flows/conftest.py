"""Fixtures for flow tests: a Prefect API, the simulators, a seeded portal and store."""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from dealer_sync.store import SyncStore
from sandbox.ledgers import LedgerSandbox
from sandbox.network import Network, NetworkSpec
from sandbox.seeding import DEMO_CLIENT_ID, SeededIds
from sandbox.world import serve_world
from sandbox.zoho import ZohoEndpoints, ZohoSandbox
from tasks.environment import close_environments

CLIENT_SECRET = "sandbox-client-secret-4f1c9a"
REFRESH_TOKEN = "1000.sandbox-refresh-token-9b2e77d1"


@dataclass
class SyncWorld:
    network: Network
    sandbox: ZohoSandbox  # Zoho Inventory, and Zoho Books when it is the ledger
    endpoints: ZohoEndpoints
    store: SyncStore
    ids: SeededIds
    db_url: str
    ledger: LedgerSandbox  # the accounting target's simulator, in one shape for every vendor


@pytest.fixture
def world_factory(db_url, monkeypatch, tmp_path, prefect_api):
    """Build a seeded world; tests choose the network, the ledger and the simulators' time scale."""
    stack = ExitStack()
    stores: list[SyncStore] = []

    def build(
        spec: NetworkSpec | None = None, minute_seconds: float = 2.0, target: str = "zoho_books"
    ) -> SyncWorld:
        """``minute_seconds``: the vendors' rate-limit minute, scaled so budgets refill quickly."""
        spec = spec or NetworkSpec()
        for name in list(os.environ):
            if name.startswith("DEALER_SYNC_") and name != "DEALER_SYNC_TEST_PG_URL":
                monkeypatch.delenv(name)
        world = stack.enter_context(
            serve_world(
                db_url,
                db_url,
                spec,
                minute_seconds=minute_seconds,
                target=target,
                credentials=(DEMO_CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN),
            )
        )
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DEALER_SYNC_DATA_DIR", str(tmp_path / "data"))
        for key, value in world.env.items():
            monkeypatch.setenv(key, value)
        store = SyncStore.open(db_url)
        stores.append(store)
        return SyncWorld(world.network, world.zoho, world.endpoints, store, world.ids, db_url, world.ledger)

    yield build
    close_environments()
    for store in stores:
        store.close()
    stack.close()
