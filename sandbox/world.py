"""A whole sandbox world: simulators seeded from one network, a seeded portal and store.

The demo, ``dealer-sync sandbox up``, the flow tests and the benchmark all build their world
here, so each runs against the same setup whichever accounting target it picks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from connectors.portal_sql.database import init_portal
from dealer_sync.db import make_engine
from dealer_sync.store import SyncStore
from sandbox.ledgers import LedgerSandbox
from sandbox.network import Network, NetworkSpec, generate, seed_portal
from sandbox.seeding import DEMO_CLIENT_ID, SeededIds, seed_mappings, seed_network
from sandbox.targets import ledger_sandbox
from sandbox.zoho import ZohoEndpoints, ZohoSandbox
from sandbox.zoho.ledger import zoho_environment

# Sandbox credentials: they only open the local simulators, never a real system.
SANDBOX_CREDENTIALS = (DEMO_CLIENT_ID, "sandbox-client-secret", "1000.sandbox-refresh-token")


@dataclass
class SandboxWorld:
    zoho: ZohoSandbox  # Zoho Inventory (and Zoho Books, used when it is the target)
    endpoints: ZohoEndpoints
    ledger: LedgerSandbox  # the accounting target's simulator
    network: Network
    ids: SeededIds
    env: dict[str, str]  # DEALER_SYNC_* variables pointing dealer-sync at all of it


@contextmanager
def serve_world(
    store_url: str,
    portal_url: str,
    spec: NetworkSpec,
    *,
    minute_seconds: float = 2.0,
    target: str = "zoho_books",
    credentials: tuple[str, str, str] = SANDBOX_CREDENTIALS,
) -> Iterator[SandboxWorld]:
    """Seed the portal and the store (migrated) at these URLs and the simulators; serve them."""
    zoho = ZohoSandbox(minute_seconds=minute_seconds, seed=spec.seed)
    zoho.register_client(*credentials)
    ledger = ledger_sandbox(target, zoho, credentials, minute_seconds, spec.seed)
    network = generate(spec)
    portal = make_engine(portal_url)
    try:
        init_portal(portal)
        seed_portal(portal, network)
    finally:
        portal.dispose()
    ids = seed_network(zoho, ledger, network)
    store = SyncStore.open(store_url, migrate=True)
    try:
        seed_mappings(store, ids)
    finally:
        store.close()
    with zoho.serve() as endpoints, ledger.serve() as ledger_env:
        env = zoho_environment(
            "ZOHO_INVENTORY",
            endpoints.inventory_url,
            endpoints,
            zoho.organization.organization_id,
            credentials,
            minute_seconds,
        )
        env |= ledger_env | {"DEALER_SYNC_STORE_URL": store_url, "DEALER_SYNC_PORTAL_URL": portal_url}
        yield SandboxWorld(zoho, endpoints, ledger, network, ids, env)
