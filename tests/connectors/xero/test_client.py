"""Xero client and wire models: MS-JSON, canonical forms, batches, daily limit, token rotation."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.oauth import FileRefreshTokenStore
from connectors.http.transport import RetryPolicy, decode_json
from connectors.xero.bodies import IDEMPOTENCY_KEY_MAX, invoice_body, invoice_key
from connectors.xero.client import if_modified_since
from connectors.xero.wire import XeroInvoice, parse_xero_time
from dealer_sync.models import InvoiceStatus
from tests.connectors.xero.support import CLIENT_ID, World, client_for, xero_order

# apis.md 3.2's create answer, as Xero writes it (numbers with fractions read as Decimal).
SAMPLE = b"""{ "Type": "ACCREC", "InvoiceID": "ed255415-e141-4150-aab7-89c3bbbb851c",
  "InvoiceNumber": "INV-DLR042-000123", "Reference": "PORTAL-ORD-8812",
  "Contact": { "ContactID": "430fa14a-f945-44d3-9f97-5df5e28441b8", "Name": "Shree Auto Parts" },
  "Date": "/Date(1763769600000+0000)/", "DueDate": "/Date(1766361600000+0000)/",
  "Status": "AUTHORISED", "LineAmountTypes": "Exclusive",
  "LineItems": [ { "LineItemID": "5f7a612b-fdcc-4d33-90fa-a9f6bc6db32f", "ItemCode": "BP-220",
      "Description": "Brake Pad Set BP-220", "Quantity": 4.0000, "UnitAmount": 1450.00,
      "TaxType": "OUTPUT2", "TaxAmount": 870.00, "LineAmount": 5800.00, "AccountCode": "200",
      "Tracking": [], "ValidationErrors": [] } ],
  "SubTotal": 5800.00, "TotalTax": 870.00, "Total": 6670.00,
  "AmountDue": 6670.00, "AmountPaid": 0.00, "AmountCredited": 0.00, "CurrencyCode": "NZD",
  "CurrencyRate": 1.000000, "HasErrors": false, "IsDiscounted": false, "SomethingNew": 1,
  "UpdatedDateUTC": "/Date(1763806500000+0000)/", "StatusAttributeString": "OK" }"""


def test_ms_json_and_iso_times_read_as_utc_instants():
    assert parse_xero_time("/Date(1763806500000+0000)/") == datetime(2025, 11, 22, 10, 15, tzinfo=UTC)
    assert parse_xero_time("/Date(1763806500000)/") == datetime(2025, 11, 22, 10, 15, tzinfo=UTC)
    assert parse_xero_time("/Date(1763806500000+0530)/") == datetime(2025, 11, 22, 10, 15, tzinfo=UTC)
    assert parse_xero_time("2026-11-21T00:00:00") == datetime(2026, 11, 21, tzinfo=UTC)
    assert if_modified_since(datetime(2026, 11, 21, 5, 30, 0, 900, tzinfo=UTC)) == "2026-11-21T05:29:59"


def test_the_sample_invoice_reads_tolerantly_into_a_canonical_invoice():
    wire = XeroInvoice.model_validate(decode_json(SAMPLE))
    invoice = wire.canonical("DLR042")
    assert (invoice.issue_date, invoice.due_date) == (date(2025, 11, 22), date(2025, 12, 22))
    assert (invoice.subtotal.amount, invoice.tax_total.amount, invoice.total.amount) == (
        Decimal("5800.00"),
        Decimal("870.00"),
        Decimal("6670.00"),
    )
    assert invoice.currency == "NZD" and invoice.status is InvoiceStatus.SENT
    assert invoice.balance.amount == Decimal("6670.00") and invoice.reference == "PORTAL-ORD-8812"
    assert invoice.customer_id == "430fa14a-f945-44d3-9f97-5df5e28441b8" and invoice.dealer_id == "DLR042"


def test_the_invoice_body_carries_our_number_and_xero_keys(world: World):
    order = xero_order(world, "PO-7", tax_type=world.inter_18)
    body = invoice_body(order)
    assert (body["Type"], body["Status"], body["LineAmountTypes"]) == ("ACCREC", "AUTHORISED", "Exclusive")
    assert (body["InvoiceNumber"], body["Reference"], body["Contact"]) == (
        "DOC-PO-7",
        "PO-7",
        {"ContactID": world.contact_id},
    )
    assert (body["Date"], body["DueDate"]) == ("2026-11-22", "2026-12-22")
    assert body["LineItems"] == [
        {
            "ItemCode": "BP-1",
            "Description": "BP-1",
            "Quantity": 2,
            "UnitAmount": 100,
            "TaxType": world.inter_18,
        }
    ]
    assert invoice_key("DOC-PO-7") == invoice_key("DOC-PO-7") != invoice_key("DOC-PO-8")
    assert len(invoice_key("N" * 400)) <= IDEMPOTENCY_KEY_MAX


def test_xero_computes_the_tax_of_the_mapped_tax_type(world: World):
    client = client_for(world)
    created = client.create_invoice(xero_order(world, "PO-TAX", tax_type=world.intra_18))
    assert (created.sub_total, created.total_tax, created.total) == (
        Decimal("200.00"),
        Decimal("36.00"),
        Decimal("236.00"),
    )


def test_a_batch_create_answers_every_order_in_one_call(world: World):
    client = client_for(world)
    client.create_invoice(xero_order(world, "PO-B2"))
    orders = [
        xero_order(world, "PO-B1"),
        xero_order(world, "PO-B2"),  # its number is taken
        xero_order(world, "PO-B3").model_copy(update={"customer_id": "nobody"}),
        xero_order(world, "PO-B4"),
    ]
    before = world.posts()
    results = client.create_invoices(orders)
    assert world.posts() == before + 1
    assert isinstance(results[0], str) and isinstance(results[3], str)
    assert isinstance(results[1], ConnectorError) and results[1].kind is ErrorKind.DUPLICATE
    assert isinstance(results[2], ConnectorError) and results[2].kind is ErrorKind.BAD_REQUEST
    assert client.find_invoices("DOC-PO-B1")[0].invoice_id == results[0]
    assert world.invoice_count() == 3


def test_a_big_batch_goes_50_a_call_and_a_failed_call_fails_its_orders_only(world: World):
    client = client_for(world)
    orders = [xero_order(world, f"PO-M{n:03d}") for n in range(60)]
    results = client.create_invoices(orders)
    assert all(isinstance(r, str) for r in results) and len(set(results)) == 60
    assert world.faults.call_count("POST", "/api.xro/2.0/Invoices") == 2
    world.faults.update(error_5xx_rate=1.0, methods=["POST"])
    failed = client.create_invoices([xero_order(world, "PO-X1"), xero_order(world, "PO-X2")])
    assert [r.kind for r in failed if isinstance(r, ConnectorError)] == [ErrorKind.UNCERTAIN] * 2


def test_the_daily_limit_ends_the_run_quickly_as_rate_limited(world: World):
    world.faults.update(daily_limit=3, rate_limit_per_minute=None)
    client = client_for(world, retry=RetryPolicy())  # the default policy: up to a minute of retries
    client.find_invoices("DOC-1")
    client.find_invoices("DOC-2")
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        for n in range(3):
            client.find_invoices(f"DOC-{n + 3}")
    assert time.monotonic() - started < 2.0  # no waiting out hours of Retry-After
    error = caught.value
    assert error.kind is ErrorKind.RATE_LIMITED and error.retry_after is not None and error.retry_after > 1000
    calls = world.faults.counters()["total"]
    with pytest.raises(ConnectorError) as again:
        client.find_invoices("DOC-9")
    assert again.value.kind is ErrorKind.RATE_LIMITED and not again.value.retryable
    assert world.faults.counters()["total"] == calls  # refused here, never sent


def test_the_declared_daily_budget_stops_us_before_xero_does(world: World):
    client = client_for(world, requests_per_day=2)
    client.find_invoices("DOC-1")
    client.find_invoices("DOC-2")
    with pytest.raises(ConnectorError) as caught:
        client.find_invoices("DOC-3")
    assert caught.value.kind is ErrorKind.RATE_LIMITED and "a day" in caught.value.message
    assert world.faults.status_count(429) == 0


def test_the_rotated_refresh_token_is_saved_and_the_next_run_starts_from_it(world: World, tmp_path):
    store = FileRefreshTokenStore(tmp_path / "xero-refresh-token")
    first = client_for(world, refresh_token_store=store)
    first.find_invoices("DOC-1")
    assert store.load() == world.sandbox.tokens.latest_refresh_token(CLIENT_ID)
    world.sandbox.tokens.end_grace()  # the configured seed token is dead now
    second = client_for(world, refresh_token_store=store)
    second.find_invoices("DOC-1")
    assert store.load() == world.sandbox.tokens.latest_refresh_token(CLIENT_ID)


def test_without_a_token_file_the_process_keeps_the_chain(world: World):
    client_for(world).find_invoices("DOC-1")
    world.sandbox.tokens.end_grace()  # the configured seed token is dead now
    client_for(world).find_invoices("DOC-1")  # the next run of this process starts from the newest
    with pytest.raises(ConnectorError) as caught:
        client_for(world, token_url=world.endpoints.token_url + "?other-chain").find_invoices("DOC-1")
    assert caught.value.kind is ErrorKind.AUTH  # a chain of its own starts from the dead seed
