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

from dealer_sync.store import SyncStore
from sandbox.ledgers import LedgerSandbox
from sandbox.network import NetworkSpec
from sandbox.world import SandboxWorld, serve_world


@dataclass
class DemoResult:
    data_dir: Path
    target: str = "zoho_books"
    flows: list[dict[str, Any]] = field(default_factory=list)
    second_pass: dict[str, Any] = field(default_factory=dict)
    new_documents_on_second_pass: int = 0
    documents: dict[str, int] = field(default_factory=dict)
    quarantine_open: int = 0
    reconciliation: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "accounting_target": self.target,
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


@contextmanager
def seeded_sandbox(
    data_dir: Path, spec: NetworkSpec, minute_seconds: float, target: str = "zoho_books"
) -> Iterator[SandboxWorld]:
    """Fresh store and portal (SQLite) in ``data_dir``, simulators served and seeded."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    store_url = f"sqlite:///{data_dir / 'store.db'}"
    portal_url = f"sqlite:///{data_dir / 'portal.db'}"
    with serve_world(store_url, portal_url, spec, minute_seconds=minute_seconds, target=target) as world:
        world.env["DEALER_SYNC_DATA_DIR"] = str(data_dir)
        yield world


def _document_counts(world: SandboxWorld) -> dict[str, int]:
    return {
        "sales_orders": len(world.zoho.inventory.state.list_salesorders()),
        "invoices": len(world.ledger.invoices()),
        "payments": world.ledger.payment_count(),
        "credit_notes": world.ledger.credit_note_count(),
    }


def _finance_activity(ledger: LedgerSandbox) -> None:
    """What finance does in the ledger between runs: a full payment, a part payment, a credit."""
    invoices = [i for i in ledger.invoices() if not i.voided]
    if len(invoices) < 3:
        return
    full, part, credited = invoices[0], invoices[1], invoices[2]
    ledger.record_payment(full.id, full.balance)
    ledger.record_payment(part.id, Decimal("500.00"))
    ledger.record_credit_note(credited.id, Decimal("100.00"))


def run_demo(
    data_dir: Path, spec: NetworkSpec | None = None, minute_seconds: float = 2.0, target: str = "zoho_books"
) -> DemoResult:
    """Run inventory refresh, order-to-invoice, pullback and a second pass against the sandbox."""
    from flows.inventory_refresh import inventory_refresh
    from flows.invoice_payment_pullback import invoice_payment_pullback
    from flows.order_to_invoice import order_to_invoice
    from flows.reconciliation import reconciliation
    from tasks.environment import close_environments

    spec = spec or NetworkSpec(seed=42, orders=60)
    result = DemoResult(data_dir=data_dir, target=target)
    saved = dict(os.environ)
    try:
        with seeded_sandbox(data_dir, spec, minute_seconds, target) as world:
            env = world.env
            os.environ.update(env)
            result.flows.append(inventory_refresh(full=True))
            result.flows.append(order_to_invoice())
            _finance_activity(world.ledger)
            result.flows.append(invoice_payment_pullback())
            result.flows.append(inventory_refresh())
            before = _document_counts(world)
            result.second_pass = order_to_invoice()
            after = _document_counts(world)
            result.documents = after
            result.new_documents_on_second_pass = sum(after.values()) - sum(before.values())
            days = sorted(
                {o.confirmed_at.astimezone(ZoneInfo("Asia/Kolkata")).date() for o in world.network.orders}
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
