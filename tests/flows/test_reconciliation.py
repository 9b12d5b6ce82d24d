"""The nightly reconciliation over a real synced world with known discrepancies injected."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import update

from connectors.portal_sql import schema
from dealer_sync.db import make_engine
from flows.inventory_refresh import inventory_refresh
from flows.invoice_payment_pullback import invoice_payment_pullback
from flows.order_to_invoice import order_to_invoice
from flows.reconciliation import reconciliation
from sandbox.network import NetworkSpec
from tests.loopback import smtp_server, webhook_receiver


@pytest.fixture
def delivery(monkeypatch):
    with smtp_server() as (port, inbox), webhook_receiver() as slack:
        settings = {
            "DEALER_SYNC_SMTP__HOST": "127.0.0.1",
            "DEALER_SYNC_SMTP__PORT": str(port),
            "DEALER_SYNC_SMTP__RECIPIENTS": '["finance@manufacturer.example"]',
            "DEALER_SYNC_SLACK_WEBHOOK_URL": slack.url,
        }
        yield settings, inbox, slack.posts


def test_reconciliation_names_each_injected_difference_and_delivers_the_report(
    world_factory, delivery, monkeypatch
):
    world = world_factory(NetworkSpec(seed=61, orders=16, bad_share=0.25))
    settings, inbox, posts = delivery
    order_to_invoice()
    inventory_refresh(full=True)
    invoice_payment_pullback()

    books = world.sandbox.books.state
    invoices = {i.reference_number: i for i in books.list_invoices()}
    good = world.network.good_orders
    # 1. an invoice for an order the portal never had
    first = invoices[good[0].number]
    orphan = books.create_invoice(
        {
            "customer_id": first.customer_id,
            "reference_number": "PO-GHOST-1",
            "date": "2026-11-21",
            "line_items": [{"item_id": first.lines[0].item_id, "rate": 10, "quantity": 1}],
        }
    )
    books.mark_invoice_sent(orphan.invoice_id)
    # 2. a second invoice for an order that already has one
    second = invoices[good[1].number]
    duplicate = books.create_invoice(
        {
            "customer_id": second.customer_id,
            "reference_number": good[1].number,
            "date": "2026-11-21",
            "line_items": [
                {"item_id": ln.item_id, "rate": ln.rate, "quantity": ln.quantity} for ln in second.lines
            ],
        }
    )
    books.mark_invoice_sent(duplicate.invoice_id)
    # 3. a payment finance recorded after the last pullback: the portal's outstanding is stale
    third = invoices[good[2].number]
    books.record_payment(third.customer_id, Decimal("100.00"), {third.invoice_id: Decimal("100.00")})
    # 4. portal availability edited away from the inventory system's
    engine = make_engine(world.db_url)
    with engine.begin() as connection:
        sku = good[0].lines[0].sku
        connection.execute(
            update(schema.availability)
            .where(
                schema.availability.c.sku == sku,
                schema.availability.c.warehouse_code == good[0].warehouse_code,
            )
            .values(available=schema.availability.c.available + 5)
        )
    engine.dispose()
    for key, value in settings.items():
        monkeypatch.setenv(key, value)

    summary = reconciliation(first_day=date(2026, 11, 19), last_day=date(2026, 11, 22))
    found = summary["findings_by_category"]
    assert found.get("orphan_invoice") == 1
    assert found.get("duplicate_invoice") == 1
    assert found.get("stale_availability") == 1
    assert found.get("missing_invoice") == len(world.network.bad_orders)  # quarantined, never invoiced
    dealer_of = {c: d for d, c in world.ids.customers["zoho_books"].items()}
    touched = {dealer_of[first.customer_id], dealer_of[second.customer_id], dealer_of[third.customer_id]}
    assert found.get("outstanding_mismatch") == len(touched)
    assert found.get("unapplied_payment") is None  # the payment was applied in full

    csv_path = summary["report_files"]["csv"]
    with open(csv_path, encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["findings"]
    assert summary["delivered"] == ["email to 1 recipient(s)", "slack"]
    [message] = inbox.messages
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "text/html" in parts and "image/png" in parts
    attachment = next(p for p in message.walk() if p.get_filename() and p.get_filename().endswith(".csv"))
    attached = list(csv.DictReader(io.StringIO(attachment.get_payload(decode=True).decode("utf-8-sig"))))
    assert len(attached) == summary["findings"]
    assert any("order-to-invoice" in (r.get("remedy") or "") for r in attached)
    [post] = posts
    assert "orphan" in json.dumps(post).lower()


def test_heal_reposts_missing_invoices_exactly_once_and_rechecks_them(world_factory):
    world = world_factory(NetworkSpec(seed=62, orders=10, bad_share=0.0))
    good = world.network.good_orders
    order_to_invoice(order_ids=[o.id for o in good[:7]])  # three orders never got posted
    unposted = {o.number.casefold() for o in good[7:]}

    summary = reconciliation(
        first_day=date(2026, 11, 19), last_day=date(2026, 11, 22), deliver=False, heal=True
    )
    assert summary["healed"]["synced"] == 3
    assert summary["findings_by_category"].get("missing_invoice") is None  # re-checked after healing
    references = [i.reference_number.casefold() for i in world.sandbox.books.state.list_invoices()]
    assert unposted <= set(references) and len(references) == len(set(references)) == len(good)


def test_an_open_credit_note_is_reported_against_the_invoice_number_it_was_raised_on(world_factory):
    """Ledgers name a credit note's invoice by id; finance knows invoices by number."""
    world = world_factory(NetworkSpec(seed=65, orders=6, bad_share=0.0))
    order_to_invoice()
    books = world.sandbox.books.state
    invoice = books.list_invoices()[0]
    books.create_credit_note(  # left open: nothing applied yet
        {
            "customer_id": invoice.customer_id,
            "date": invoice.date.isoformat(),
            "line_items": [{"item_id": invoice.lines[0].item_id, "rate": 100, "quantity": 1}],
        },
        invoice_id=invoice.invoice_id,
    )
    result = reconciliation(first_day=date(2026, 11, 20), last_day=date(2026, 11, 22), deliver=False)
    with open(result["report_files"]["csv"], newline="", encoding="utf-8-sig") as handle:
        rows = [r for r in csv.DictReader(handle) if r["category"] == "unapplied_credit"]
    assert [r["invoice_key"] for r in rows] == [invoice.invoice_number.casefold()]
