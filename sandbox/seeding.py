"""Seed the simulators from a generated network and record the mappings in the store.

This is the one sandbox module that knows our store: it plays the part of the onboarding a
real installation does once (creating customers and items, and mapping them). Zoho Inventory is
always the inventory system; the ledger is whichever accounting simulator is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dealer_sync.store import MappingKind, SyncStore
from sandbox.ledgers import LedgerSandbox
from sandbox.network import Network
from sandbox.zoho import ZohoSandbox
from sandbox.zoho.ledger import gst_tax_ids, seed_books_customers

DEMO_CLIENT_ID = "1000.DEALERSYNCSANDBOX"
INVENTORY = "zoho_inventory"


@dataclass
class SeededIds:
    """Ids the simulators gave to what the network holds, per system."""

    locations: dict[str, str] = field(default_factory=dict)  # warehouse code -> location id
    items: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> SKU -> item id
    customers: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> dealer -> id
    taxes: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> tax key -> id


def seed_inventory(sandbox: ZohoSandbox, network: Network) -> SeededIds:
    """Warehouses, stocked items, customers and taxes in Zoho Inventory."""
    ids = SeededIds()
    inventory = sandbox.inventory.state
    for code, name in network.warehouses:
        ids.locations[code] = inventory.add_location(name).location_id
    items = {}
    for item in network.items:
        if not item.in_inventory:
            continue
        stock = {ids.locations[code]: qty for code, qty in item.stock.items()}
        items[item.sku] = inventory.add_item(
            item.name, item.sku, item.list_price, stock=stock, gst_rate=item.tax_rate, hsn_or_sac=item.hsn
        ).item_id
    ids.items[INVENTORY] = items
    ids.customers[INVENTORY] = seed_books_customers(sandbox, network, "inventory")
    ids.taxes[INVENTORY] = gst_tax_ids(sandbox, "inventory")
    return ids


def seed_network(sandbox: ZohoSandbox, ledger: LedgerSandbox, network: Network) -> SeededIds:
    """Zoho Inventory and the chosen ledger, seeded alike from one network."""
    ids = seed_inventory(sandbox, network)
    seeded = ledger.seed(network)
    ids.items[ledger.system] = seeded.items
    ids.customers[ledger.system] = seeded.customers
    ids.taxes[ledger.system] = seeded.taxes
    return ids


def seed_mappings(store: SyncStore, ids: SeededIds) -> None:
    """What an operator maps once when going live: customers, items, taxes and warehouses."""
    for system in ids.customers:
        store.mappings.put_many(
            MappingKind.DEALER_CUSTOMER, system, [(d, c, None) for d, c in ids.customers[system].items()]
        )
        store.mappings.put_many(
            MappingKind.SKU_ITEM, system, [(s, i, None) for s, i in ids.items[system].items()]
        )
        store.mappings.put_many(
            MappingKind.TAX_CODE, system, [(k, t, None) for k, t in ids.taxes[system].items()]
        )
    store.mappings.put_many(
        MappingKind.WAREHOUSE, INVENTORY, [(loc, code, None) for code, loc in ids.locations.items()]
    )
