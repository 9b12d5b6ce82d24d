"""The whole cycle on one machine: simulators, a seeded network, the three flows, a second pass.

Simulators keep their state in memory, so every demo builds a fresh world in its own folder;
within one demo the second order-to-invoice pass shows that a rerun writes nothing new.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.portal_sql.database import init_portal
from dealer_sync.db import make_engine
from dealer_sync.store import SyncStore
from sandbox.network import Network, NetworkSpec, generate, seed_portal
from sandbox.seeding import DEMO_CLIENT_ID, seed_mappings, seed_zoho
from sandbox.zoho import ZohoEndpoints, ZohoSandbox

# Sandbox credentials: they only open the local simulators, never a real system.
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
SANDBOX_REFRESH_TOKEN = "1000.sandbox-refresh-token"


@dataclass
class DemoResult:
    data_dir: Path
    flows: list[dict[str, Any]] = field(default_factory=list)
    second_pass: dict[str, Any] = field(default_factory=dict)
    new_documents_on_second_pass: int = 0
    documents: dict[str, int] = field(default_factory=dict)
    quarantine_open: int = 0
    reconciliation: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "store_url": f"sqlite:///{self.data_dir / 'store.db'}",
            "portal_url": f"sqlite:///{self.data_dir / 'portal.db'}",
            "flows": self.flows,
            "second_pass": self.second_pass,
            "new_documents_on_second_pass": self.new_documents_on_second_pass,
            "documents_in_simulators": self.documents,
            "quarantine_open": self.quarantine_open,
            "findings_by_category": self.reconciliation.get("findings_by_category", {}),
            "report_files": self.reconciliation.get("report_files", {}),
        }


def sandbox_environment(
    endpoints: ZohoEndpoints, organization_id: str, minute_seconds: float
) -> dict[str, str]:
    """The DEALER_SYNC_* variables that point the connectors at the simulators."""
    env: dict[str, str] = {}
    for name, url in (("ZOHO_INVENTORY", endpoints.inventory_url), ("ZOHO_BOOKS", endpoints.books_url)):
        prefix = f"DEALER_SYNC_{name}__"
        env |= {
            f"{prefix}BASE_URL": url,
            f"{prefix}ACCOUNTS_URL": endpoints.accounts_url,
            f"{prefix}ORGANIZATION_ID": organization_id,
            f"{prefix}CLIENT_ID": DEMO_CLIENT_ID,
            f"{prefix}CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            f"{prefix}REFRESH_TOKEN": SANDBOX_REFRESH_TOKEN,
            f"{prefix}MINUTE_SECONDS": str(minute_seconds),
        }
    return env


@contextmanager
def seeded_sandbox(
    data_dir: Path, spec: NetworkSpec, minute_seconds: float
) -> Iterator[tuple[ZohoSandbox, ZohoEndpoints, Network, dict[str, str]]]:
    """Fresh store and portal in ``data_dir``, simulators served and seeded; yields the env vars."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    store_url = f"sqlite:///{data_dir / 'store.db'}"
    portal_url = f"sqlite:///{data_dir / 'portal.db'}"
    sandbox = ZohoSandbox(minute_seconds=minute_seconds, seed=spec.seed)
    sandbox.register_client(DEMO_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN)
    network = generate(spec)
    store = SyncStore.open(store_url, migrate=True)
    portal = make_engine(portal_url)
    init_portal(portal)
    seed_portal(portal, network)
    portal.dispose()
    seed_mappings(store, seed_zoho(sandbox, network))
    store.close()
    with sandbox.serve() as endpoints:
        env = sandbox_environment(endpoints, sandbox.organization.organization_id, minute_seconds)
        env |= {
            "DEALER_SYNC_DATA_DIR": str(data_dir),
            "DEALER_SYNC_STORE_URL": store_url,
            "DEALER_SYNC_PORTAL_URL": portal_url,
        }
        yield sandbox, endpoints, network, env


def _document_counts(sandbox: ZohoSandbox) -> dict[str, int]:
    return {
        "sales_orders": len(sandbox.inventory.state.list_salesorders()),
        "invoices": len(sandbox.books.state.list_invoices()),
        "payments": len(sandbox.books.state.list_payments()),
        "credit_notes": len(sandbox.books.state.list_credit_notes()),
    }


def _finance_activity(sandbox: ZohoSandbox) -> None:
    """What finance does in the ledger between runs: a full payment, a part payment, a credit."""
    books = sandbox.books.state
    invoices = books.list_invoices()
    if len(invoices) < 3:
        return
    full, part, credited = invoices[0], invoices[1], invoices[2]
    books.record_payment(full.customer_id, full.balance, {full.invoice_id: full.balance})
    books.record_payment(part.customer_id, Decimal("500.00"), {part.invoice_id: Decimal("500.00")})
    note = books.create_credit_note(
        {
            "customer_id": credited.customer_id,
            "date": credited.date.isoformat(),
            "line_items": [{"item_id": credited.lines[0].item_id, "rate": 100, "quantity": 1}],
        },
        invoice_id=credited.invoice_id,
    )
    books.apply_credit(note.creditnote_id, {credited.invoice_id: note.balance})


def run_demo(data_dir: Path, spec: NetworkSpec | None = None, minute_seconds: float = 2.0) -> DemoResult:
    """Run inventory refresh, order-to-invoice, pullback and a second pass against the sandbox."""
    from flows.inventory_refresh import inventory_refresh
    from flows.invoice_payment_pullback import invoice_payment_pullback
    from flows.order_to_invoice import order_to_invoice
    from flows.reconciliation import reconciliation
    from tasks.environment import close_environments

    spec = spec or NetworkSpec(seed=42, orders=60)
    result = DemoResult(data_dir=data_dir)
    saved = dict(os.environ)
    try:
        with seeded_sandbox(data_dir, spec, minute_seconds) as (sandbox, _, network, env):
            os.environ.update(env)
            result.flows.append(inventory_refresh(full=True))
            result.flows.append(order_to_invoice())
            _finance_activity(sandbox)
            result.flows.append(invoice_payment_pullback())
            result.flows.append(inventory_refresh())
            before = _document_counts(sandbox)
            result.second_pass = order_to_invoice()
            after = _document_counts(sandbox)
            result.documents = after
            result.new_documents_on_second_pass = sum(after.values()) - sum(before.values())
            days = sorted(
                {o.confirmed_at.astimezone(ZoneInfo("Asia/Kolkata")).date() for o in network.orders}
            )
            result.reconciliation = reconciliation(first_day=days[0], last_day=days[-1], deliver=False)
            store = SyncStore.open(env["DEALER_SYNC_STORE_URL"])
            result.quarantine_open = sum(store.quarantine.count_open().values())
            store.close()
            close_environments()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return result
