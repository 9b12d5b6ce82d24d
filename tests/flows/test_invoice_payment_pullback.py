from decimal import Decimal

from connectors.portal_sql.client import SqlPortal
from dealer_sync.db import make_engine
from flows.invoice_payment_pullback import invoice_payment_pullback
from flows.order_to_invoice import order_to_invoice
from sandbox.network import NetworkSpec


def test_invoices_payments_and_credit_notes_reach_each_dealers_account(world_factory):
    world = world_factory(NetworkSpec(seed=31, orders=12, bad_share=0.0))
    order_to_invoice()
    books = world.sandbox.books.state
    invoices = books.list_invoices()
    paid, partial, credited = invoices[0], invoices[1], invoices[2]
    books.record_payment(paid.customer_id, paid.balance, {paid.invoice_id: paid.balance})
    books.record_payment(partial.customer_id, Decimal("100.00"), {partial.invoice_id: Decimal("100.00")})
    note = books.create_credit_note(
        {
            "customer_id": credited.customer_id,
            "date": credited.date.isoformat(),
            "line_items": [{"item_id": credited.lines[0].item_id, "rate": 50, "quantity": 1}],
        },
        invoice_id=credited.invoice_id,
    )
    books.apply_credit(note.creditnote_id, {credited.invoice_id: note.balance})

    summary = invoice_payment_pullback()
    assert summary["in"] == len(invoices) + 2 + 1
    assert summary["synced"] == summary["in"] and summary["quarantined"] == 0

    portal = SqlPortal(make_engine(world.db_url), "Asia/Kolkata")
    dealer_of = {c: d for d, c in world.ids.customers["zoho_books"].items()}
    docs = portal.account_documents(sorted(set(dealer_of.values())))
    balances = {row["invoice_id"]: row["balance"] for d in docs.values() for row in d["invoices"]}
    assert balances[paid.invoice_id] == 0
    assert balances[partial.invoice_id] == partial.balance - Decimal("100.00")
    assert balances[credited.invoice_id] == credited.balance - note.totals.total
    unapplied = [row["unapplied"] for d in docs.values() for row in d["payments"]]
    assert unapplied == [0, 0]  # both payments were applied in full: no credit on account

    from sqlalchemy import select

    from connectors.portal_sql import schema

    with portal.engine.connect() as connection:
        rows = connection.execute(select(schema.dealer_accounts)).mappings()
        accounts = {r["dealer_code"]: r for r in rows}
    for dealer, documents in docs.items():
        if not documents["invoices"]:
            continue
        outstanding = sum(row["balance"] for row in documents["invoices"])
        assert accounts[dealer]["outstanding"] == outstanding
        limit = accounts[dealer]["credit_limit"]
        unapplied = accounts[dealer]["unapplied_credit"]
        assert accounts[dealer]["available_credit"] == limit - outstanding + unapplied


def test_later_runs_read_only_recent_changes_and_unmapped_customers_are_quarantined(world_factory):
    world = world_factory(NetworkSpec(seed=32, orders=6, bad_share=0.0))
    order_to_invoice()
    first = invoice_payment_pullback(lookback_minutes=10)
    assert first["synced"] == len(world.sandbox.books.state.list_invoices())

    books = world.sandbox.books.state
    world.sandbox.clock.advance(60 * 60)  # an hour later, finance invoices a walk-in customer
    stranger = books.add_contact("Walk-in Customer", gst_no="27ABCDE1234F1Z5", place_of_contact="MH")
    item_id = next(iter(world.ids.items["zoho_books"].values()))
    books.create_invoice(
        {"customer_id": stranger.contact_id, "date": books.now().date().isoformat(),
         "line_items": [{"item_id": item_id, "rate": 10, "quantity": 1}]}
    )
    second = invoice_payment_pullback(lookback_minutes=10)
    assert second["quarantined"] == 1  # the cursor's edge (the first invoices) is re-read too
    [record] = world.store.quarantine.list(flow="invoice_payment_pullback")
    assert record.failed_expectation == "dealer_id must be mapped (customer has no dealer)"

    third = invoice_payment_pullback(lookback_minutes=10)
    assert third["in"] == 1  # only the walk-in invoice lies within the lookback of the cursor
