from decimal import Decimal

from connectors.portal_sql.client import SqlPortal
from dealer_sync.db import make_engine
from flows.inventory_refresh import inventory_refresh
from flows.order_to_invoice import order_to_invoice
from sandbox.network import NetworkSpec


def portal(world) -> SqlPortal:
    return SqlPortal(make_engine(world.db_url), "Asia/Kolkata")


def expected_open(world, orders) -> dict[tuple[str, str], Decimal]:
    held: dict[tuple[str, str], Decimal] = {}
    for order in orders:
        for line in order.lines:
            key = (line.sku, order.warehouse_code)
            held[key] = held.get(key, Decimal(0)) + line.quantity
    return held


def test_first_run_publishes_available_to_promise_net_of_portal_reservations(world_factory):
    world = world_factory(NetworkSpec(seed=21, orders=15, bad_share=0.0))
    summary = inventory_refresh()
    stocked = [i for i in world.network.items if i.in_inventory]
    levels = len(stocked) * len(world.network.warehouses)
    assert (summary["in"], summary["synced"], summary["quarantined"]) == (levels, levels, 0)

    held = expected_open(world, world.network.orders)  # every order is confirmed, none posted yet
    rows = portal(world).availability()
    for item in stocked:
        for code, on_hand in item.stock.items():
            row = rows[(item.sku, code)]
            reserved = held.get((item.sku, code), Decimal(0))
            assert (row.on_hand, row.committed, row.reserved) == (on_hand, 0, reserved)
            assert row.available == on_hand - reserved


def test_posted_orders_move_from_portal_reservation_to_inventory_commitment(world_factory):
    world = world_factory(NetworkSpec(seed=22, orders=15, bad_share=0.0))
    inventory_refresh()
    order_to_invoice()
    inventory_refresh()  # incremental: confirmed sales orders bumped the items' modified time

    committed = expected_open(world, world.network.orders)
    rows = portal(world).availability()
    for (sku, code), quantity in committed.items():
        row = rows[(sku, code)]
        assert row.committed == quantity, (sku, code)
        assert row.reserved == 0  # not counted twice
        assert row.available == row.on_hand - quantity


def test_an_unmapped_warehouse_is_quarantined_and_the_cursor_only_reads_changes(world_factory):
    world = world_factory(NetworkSpec(seed=23, orders=5, bad_share=0.0, skus=6))
    new_location = world.sandbox.inventory.state.add_location("Surat WH")  # nobody mapped it
    first_item = next(iter(world.ids.items["zoho_inventory"].values()))
    world.sandbox.inventory.state.set_stock(first_item, new_location.location_id, 7)
    summary = inventory_refresh()
    stocked = [i for i in world.network.items if i.in_inventory]
    assert summary["quarantined"] == len(stocked)  # every item now has a Surat level
    assert summary["synced"] == len(stocked) * len(world.network.warehouses)
    records = world.store.quarantine.list(flow="inventory_refresh", limit=100)
    assert all("warehouse_code" in r.reason for r in records)
    assert world.store.cursors.get("inventory_refresh", "zoho_inventory", "item") is not None


def test_incremental_runs_read_recent_changes_and_a_due_full_sweep_reads_everything(world_factory):
    world = world_factory(NetworkSpec(seed=24, orders=4, bad_share=0.0, skus=8))
    levels_per_item = len(world.network.warehouses)
    stocked = [i for i in world.network.items if i.in_inventory]
    inventory_refresh()  # no sweep recorded yet: a full sweep
    world.sandbox.clock.advance(3600)
    changed = world.ids.items["zoho_inventory"][stocked[0].sku]
    location = world.ids.locations[world.network.warehouses[0][0]]
    world.sandbox.inventory.state.adjust_stock(changed, location, 5)
    inventory_refresh()  # reads the cursor's edge again (lookback) and the changed item
    only_recent = inventory_refresh()
    assert only_recent["in"] == levels_per_item  # just the item changed an hour later
    swept = inventory_refresh(full_sweep_hours=0)
    assert swept["in"] == len(stocked) * levels_per_item
