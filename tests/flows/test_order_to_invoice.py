from collections import Counter

from flows.order_to_invoice import order_to_invoice
from sandbox.network import NetworkSpec


def documents_per_order(world):
    sales_orders = Counter(so.reference_number for so in world.sandbox.inventory.state.list_salesorders())
    invoices = Counter(inv.reference for inv in world.ledger.invoices())
    return sales_orders, invoices


def test_good_orders_get_one_sales_order_and_one_invoice_and_bad_ones_are_quarantined(world_factory):
    world = world_factory(NetworkSpec(seed=11, orders=30, bad_share=0.2))
    summary = order_to_invoice()

    good = {o.number for o in world.network.good_orders}
    bad = world.network.bad_orders
    assert summary["in"] == 30
    assert summary["synced"] == len(good)
    assert summary["quarantined"] == len(bad)
    assert summary["deferred"] == 0

    sales_orders, invoices = documents_per_order(world)
    assert sales_orders == Counter({number: 1 for number in good})
    assert invoices == Counter({number: 1 for number in good})
    quarantined = {r.entity_key: r for r in world.store.quarantine.list(limit=1000)}
    assert set(quarantined) == set(bad)
    assert all(r.reason for r in quarantined.values())


def test_a_second_run_writes_nothing_new(world_factory):
    world = world_factory(NetworkSpec(seed=12, orders=20, bad_share=0.1))
    order_to_invoice()
    before = documents_per_order(world)
    summary = order_to_invoice()
    assert documents_per_order(world) == before
    assert summary["synced"] == 0  # every good order is already invoiced in the portal
    assert summary["in"] == len(world.network.bad_orders)
