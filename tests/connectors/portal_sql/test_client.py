from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from connectors.portal_sql import schema
from connectors.portal_sql.client import AvailabilityRow, SqlPortal
from connectors.portal_sql.database import init_portal
from dealer_sync.db import make_engine
from dealer_sync.models import (
    DealerAccount,
    Invoice,
    InvoiceStatus,
    OrderStatus,
    Payment,
)
from dealer_sync.money import Money
from sandbox.network import BadKind, NetworkSpec, generate, seed_portal


@pytest.fixture
def seeded(db_url):
    engine = make_engine(db_url)
    init_portal(engine)
    network = generate(NetworkSpec(seed=7, orders=40, bad_share=0.25))
    seed_portal(engine, network)
    yield SqlPortal(engine, "Asia/Kolkata"), network
    engine.dispose()


def test_confirmed_orders_come_back_as_canonical_models_and_malformed_ones_as_rejects(seeded):
    portal, network = seeded
    orders, rejected = portal.orders()
    negative = {oid for oid, kind in network.bad_orders.items() if kind is BadKind.NEGATIVE_QUANTITY}
    assert {r.key for r in rejected} == negative  # the only kind the model itself refuses
    assert all("quantity" in r.reason and r.payload["lines"] for r in rejected)
    assert len(orders) + len(rejected) == len(network.orders)
    first = next(o for o in orders if o.id == network.orders[0].id)
    assert first.status is OrderStatus.CONFIRMED
    assert first.total == Money.of(network.orders[0].subtotal + network.orders[0].tax_total, "INR")
    assert first.business_date == network.orders[0].confirmed_at.astimezone(ZoneInfo("Asia/Kolkata")).date()


def test_orders_by_window_and_by_id(seeded):
    portal, network = seeded
    cut = network.orders[10].confirmed_at
    early, _ = portal.orders(until=cut)
    late, _ = portal.orders(since=cut)
    assert all(o.confirmed_at < cut for o in early) and all(o.confirmed_at >= cut for o in late)
    good = network.good_orders[3]
    picked, _ = portal.orders(ids=[good.id, "no-such-order"])
    assert [o.id for o in picked] == [good.id]


def test_order_ids_list_what_orders_reads_in_the_same_order(seeded):
    """The flow lists a window's ids, then reads them a batch at a time: the same orders, the
    malformed ones included (each batch quarantines its own), oldest first."""
    portal, network = seeded
    cut = network.orders[20].confirmed_at
    for window in ({}, {"until": cut}, {"since": cut}, {"ids": [o.id for o in network.orders[5:9]]}):
        orders, rejected = portal.orders(**window)
        ids = portal.order_ids(**window)
        assert set(ids) == {o.id for o in orders} | {r.key for r in rejected}
        assert [i for i in ids if i in {o.id for o in orders}] == [o.id for o in orders]
    every = portal.order_ids()
    assert len(every) == len(network.orders)
    pages = [portal.orders(ids=every[start : start + 7]) for start in range(0, len(every), 7)]
    assert [o.id for good, _ in pages for o in good] == [o.id for o in portal.orders()[0]]
    portal.mark_invoiced([(o.id, o.version, f"INV-{o.number}") for o in portal.orders(ids=every[:3])[0]])
    assert not set(portal.order_ids()) & set(every[:3])  # invoiced: no longer listed as confirmed


def test_dealers_and_price_lists(seeded):
    portal, network = seeded
    dealers, rejected = portal.dealers()
    assert not rejected and set(dealers) == {d.code for d in network.dealers}
    [price_list] = portal.price_lists().values()
    item = network.items[0]
    assert price_list.price_for(item.sku) == Money.of(item.list_price, "INR")


def test_mark_invoiced_moves_only_the_version_that_was_read(seeded):
    portal, _ = seeded
    orders, _ = portal.orders()
    a, b = orders[0], orders[1]
    with portal.engine.begin() as connection:  # the dealer edits b in the portal meanwhile
        connection.execute(update(schema.orders).where(schema.orders.c.id == b.id).values(version=2))
    assert portal.mark_invoiced([(a.id, a.version, "INV-1"), (b.id, b.version, "INV-2")]) == 1
    assert portal.mark_invoiced([(a.id, a.version, "INV-1")]) == 0  # already invoiced: no-op
    still_confirmed, _ = portal.orders(ids=[a.id, b.id])
    assert [o.id for o in still_confirmed] == [b.id]
    invoiced, _ = portal.orders(statuses=[OrderStatus.INVOICED])
    assert [o.id for o in invoiced] == [a.id]


def test_open_quantities_sum_confirmed_lines_by_sku_and_warehouse(seeded):
    portal, network = seeded
    quantities = portal.open_order_quantities()
    assert any(ln.quantity < 0 for o in network.orders for ln in o.lines)  # the case is present
    expected: dict[tuple[str, str], Decimal] = {}
    for order in network.orders:
        for line in order.lines:
            if line.quantity <= 0:
                continue  # malformed lines reserve nothing
            key = (line.sku, order.warehouse_code)
            expected[key] = expected.get(key, Decimal(0)) + line.quantity
    assert quantities == expected
    skipped = portal.open_order_quantities(exclude_order_ids=[o.id for o in network.orders])
    assert skipped == {}


def test_availability_and_account_upserts_are_idempotent(seeded):
    portal, _ = seeded
    now = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    row = AvailabilityRow("BP-200", "PUNE", Decimal(40), Decimal(6), Decimal(4), Decimal(30), now)
    portal.upsert_availability([row])
    portal.upsert_availability([row])
    assert portal.availability()[("BP-200", "PUNE")] == row
    portal.upsert_availability([AvailabilityRow("BP-200", "PUNE", Decimal(41), 0, 0, Decimal(41), now)])
    assert portal.availability()[("BP-200", "PUNE")].on_hand == Decimal(41)

    inr = lambda v: Money.of(v, "INR")  # noqa: E731
    invoice = Invoice(
        id="I1", number="INV-1", customer_id="C1", dealer_id="DLR001", reference="PO-000001",
        status=InvoiceStatus.SENT, issue_date=date(2026, 11, 22), due_date=date(2026, 12, 22),
        currency="INR", subtotal=inr("100"), tax_total=inr("18"), total=inr("118"), balance=inr("118"),
        updated_at=now,
    )
    payment = Payment(id="P1", customer_id="C1", dealer_id="DLR001", amount=inr("50"),
                      paid_on=date(2026, 11, 23), updated_at=now)
    assert portal.upsert_account([invoice], [payment], []) == 2
    portal.upsert_account([invoice.model_copy(update={"balance": inr("68")})], [payment], [])
    docs = portal.account_documents(["DLR001"])["DLR001"]
    assert [d["balance"] for d in docs["invoices"]] == [Decimal("68")]
    assert docs["payments"][0]["unapplied"] == Decimal("50")

    account = DealerAccount(
        dealer_id="DLR001", currency="INR", credit_limit=inr("1000"), outstanding=inr("68"),
        overdue=inr("0"), unapplied_credit=inr("50"), available_credit=inr("982"), as_of=now,
    )
    assert portal.upsert_dealer_accounts([account]) == 1
    assert portal.upsert_dealer_accounts([account]) == 1
