"""A Xero organisation on loopback with one connected app, and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from pydantic import SecretStr

from connectors.xero.client import XeroClient, XeroCredentials
from dealer_sync.models import MappedOrder
from sandbox.xero import XeroEndpoints, XeroSandbox
from tests.connectors.zoho.test_contract import FAST, mapped

CLIENT_ID, SECRET, REFRESH = "CONTRACTXEROAPP", "contract-xero-secret", "contract-xero-refresh"
ITEM = "BP-1"


@dataclass
class World:
    sandbox: XeroSandbox
    endpoints: XeroEndpoints
    contact_id: str
    intra_18: str  # TaxType of GST 18% as CGST 9 + SGST 9
    inter_18: str  # TaxType of IGST 18%

    @property
    def faults(self) -> Any:
        return self.sandbox.api.faults

    def invoice_count(self) -> int:
        return len(self.sandbox.state.list_invoices())

    def posts(self) -> int:
        return sum(c["count"] for c in self.faults.counters()["calls"] if c["method"] == "POST")


@contextmanager
def world_on_loopback(*, now: datetime | None = None, frozen: bool = False) -> Iterator[World]:
    sandbox = XeroSandbox(minute_seconds=1.0, seed=3, now=now, frozen_clock=frozen)
    sandbox.register_client(CLIENT_ID, SECRET, REFRESH)
    state = sandbox.state
    contact = state.create_contact({"Name": "Shree Auto"})
    intra = state.add_tax_rate("GST 18% (CGST+SGST)", [("CGST", 9), ("SGST", 9)])
    inter = state.add_tax_rate("IGST 18%", [("IGST", 18)])
    state.create_item({"Code": ITEM, "Name": "Brake Pad", "SalesDetails": {"UnitPrice": "100.00"}})
    with sandbox.serve() as endpoints:
        yield World(sandbox, endpoints, contact.contact_id, intra.tax_type, inter.tax_type)


def credentials_for(world: World, **overrides: Any) -> XeroCredentials:
    fields: dict[str, Any] = {
        "base_url": world.endpoints.base_url,
        "token_url": world.endpoints.token_url,
        "tenant_id": world.sandbox.tenant_id,
        "client_id": CLIENT_ID,
        "client_secret": SecretStr(SECRET),
        "refresh_token": SecretStr(REFRESH),
        "requests_per_minute": 60,
        "max_concurrent": 5,
        "requests_per_day": 5000,
        "timeout_seconds": 2.0,
        "minute_seconds": 1.0,
    }
    fields.update(overrides)
    return XeroCredentials(**fields)


def client_for(world: World, **overrides: Any) -> XeroClient:
    retry = overrides.pop("retry", FAST)
    return XeroClient(credentials_for(world, **overrides), retry=retry)


def xero_order(world: World, number: str, *, tax_type: str | None = None) -> MappedOrder:
    """The contract suite's order (2 x 100.00, inter-state) with Xero's keys for its contact and item."""
    ids = SimpleNamespace(ids={"xero": (world.contact_id, ITEM)})
    order = mapped(SimpleNamespace(name="xero"), ids, number).model_copy(update={"target_system": "xero"})
    if tax_type is None:
        return order
    lines = tuple(line.model_copy(update={"tax_id": tax_type}) for line in order.lines)
    return order.model_copy(update={"lines": lines})
