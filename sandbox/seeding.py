"""Seed the Zoho simulators from a generated network and record the mappings in the store.

This is the one sandbox module that knows our store: it plays the part of the onboarding a
real installation does once (creating customers and items, and mapping them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from dealer_sync.store import MappingKind, SyncStore
from sandbox.network import GST_RATES, Network
from sandbox.zoho import ZohoSandbox

DEMO_CLIENT_ID = "1000.DEALERSYNCSANDBOX"
INVENTORY, LEDGER = "zoho_inventory", "zoho_books"


@dataclass
class SeededIds:
    """Ids the simulators gave to what the network holds, per system."""

    locations: dict[str, str] = field(default_factory=dict)  # warehouse code -> location id
    items: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> SKU -> item id
    customers: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> dealer -> id
    taxes: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> tax key -> id


def seed_zoho(sandbox: ZohoSandbox, network: Network) -> SeededIds:
    ids = SeededIds(items={INVENTORY: {}, LEDGER: {}}, customers={INVENTORY: {}, LEDGER: {}})
    inventory, books = sandbox.inventory.state, sandbox.books.state
    for code, name in network.warehouses:
        ids.locations[code] = inventory.add_location(name).location_id
    for item in network.items:
        if not item.in_inventory:
            continue
        stock = {ids.locations[code]: qty for code, qty in item.stock.items()}
        created = inventory.add_item(
            item.name, item.sku, item.list_price, stock=stock, gst_rate=item.tax_rate, hsn_or_sac=item.hsn
        )
        ids.items[INVENTORY][item.sku] = created.item_id
        ids.items[LEDGER][item.sku] = books.add_item(
            item.name, item.sku, item.list_price, gst_rate=item.tax_rate, hsn_or_sac=item.hsn
        ).item_id
    for dealer in network.dealers:
        if not dealer.mapped:
            continue
        fields = {
            "company_name": dealer.name,
            "contact_type": "customer",
            "customer_sub_type": "business",
            "gst_treatment": "business_gst",
            "gst_no": dealer.gstin,
            "place_of_contact": dealer.state,
            "email": dealer.email,
        }
        ids.customers[INVENTORY][dealer.code] = inventory.add_contact(dealer.name, **fields).contact_id
        ids.customers[LEDGER][dealer.code] = books.add_contact(dealer.name, **fields).contact_id
    for system, state in ((INVENTORY, inventory), (LEDGER, books)):
        ids.taxes[system] = {}
        for rate in GST_RATES:
            group, igst = state.taxes.gst_pair(Decimal(rate))
            ids.taxes[system][f"gst:intra_state:{rate}"] = group.tax_id
            ids.taxes[system][f"gst:inter_state:{rate}"] = igst.tax_id
    return ids


def seed_mappings(store: SyncStore, ids: SeededIds) -> None:
    """What an operator maps once when going live: customers, items, taxes and warehouses."""
    for system in (INVENTORY, LEDGER):
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
