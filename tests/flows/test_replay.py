from typer.testing import CliRunner

from dealer_sync.cli import app
from dealer_sync.replay import replay
from dealer_sync.store import MappingKind
from flows.order_to_invoice import order_to_invoice
from sandbox.network import BadKind, NetworkSpec


def test_fixing_a_mapping_and_replaying_syncs_the_order_and_closes_its_record(world_factory):
    world = world_factory(NetworkSpec(seed=41, orders=25, bad_share=0.25))
    order_to_invoice()
    unmapped = [oid for oid, kind in world.network.bad_orders.items() if kind is BadKind.UNMAPPED_DEALER]
    assert unmapped
    records = [r for r in world.store.quarantine.list(limit=100) if r.entity_key in unmapped]
    assert len(records) == len(unmapped)

    # the operator creates the customer in both systems and maps it
    ghost = next(d for d in world.network.dealers if not d.mapped)
    for system, state in (
        ("zoho_inventory", world.sandbox.inventory.state),
        ("zoho_books", world.sandbox.books.state),
    ):
        contact = state.add_contact(ghost.name, gst_no=ghost.gstin, place_of_contact=ghost.state)
        world.store.mappings.put(MappingKind.DEALER_CUSTOMER, system, ghost.code, contact.contact_id)

    result = replay(world.store, records)
    assert (result.replayed, result.closed, result.still_open) == (len(records), len(records), 0)
    numbers = {o.number for o in world.network.orders if o.id in unmapped}
    invoiced = {i.reference_number for i in world.sandbox.books.state.list_invoices()}
    assert numbers <= invoiced
    other_bad = set(world.network.bad_orders) - set(unmapped)
    assert {r.entity_key for r in world.store.quarantine.list(status="open", limit=100)} == other_bad


def test_replay_without_a_fix_keeps_the_record_open_with_its_reason(world_factory):
    world = world_factory(NetworkSpec(seed=42, orders=20, bad_share=0.25))
    order_to_invoice()
    record = next(
        r
        for r in world.store.quarantine.list(limit=100)
        if world.network.bad_orders[r.entity_key] is BadKind.OFF_PRICE_LIST
    )
    result = CliRunner().invoke(app, ["quarantine", "replay", str(record.id)])
    assert result.exit_code == 0, result.output
    assert "0 closed, 1 still open" in result.output
    again = world.store.quarantine.get(record.id)
    assert again.status == "open" and again.occurrences == 2 and "list_price" in again.reason
    assert CliRunner().invoke(app, ["quarantine", "replay"]).exit_code == 2
