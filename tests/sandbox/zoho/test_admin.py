"""Admin endpoints: seed and inspect a simulator over HTTP, set faults and the clock, reset."""

from __future__ import annotations

import httpx

from sandbox.zoho import ZohoEndpoints, ZohoSandbox
from tests.sandbox.zoho.support import CLIENT_ID, CLIENT_SECRET, admin_url, grant


def test_seed_inventory_over_http_then_read_it_through_the_api(
    endpoints: ZohoEndpoints, inventory: httpx.Client
) -> None:
    seeded = httpx.post(
        f"{admin_url(endpoints.inventory_url)}/seed",
        json={
            "locations": [{"location_name": "Pune WH"}, {"location_name": "Nashik WH"}],
            "contacts": [
                {"contact_name": "Shree Auto Parts", "contact_id": "7001", "place_of_contact": "MH"}
            ],
            "items": [
                {
                    "item_id": "5001",
                    "name": "Brake Pad Set",
                    "sku": "BP-220",
                    "rate": 1450.00,
                    "stock": {"Pune WH": 30, "Nashik WH": 10},
                }
            ],
            "salesorders": [
                {
                    "customer_id": "7001",
                    "salesorder_number": "SO-9",
                    "status": "confirmed",
                    "line_items": [{"item_id": "5001", "quantity": 5}],
                }
            ],
        },
    )
    assert seeded.status_code == 200, seeded.text
    ids = seeded.json()
    assert (ids["items"], ids["contacts"], len(ids["locations"])) == (["5001"], ["7001"], 2)

    item = inventory.get("/items/5001").json()["item"]
    assert (item["stock_on_hand"], item["committed_stock"], item["available_for_sale_stock"]) == (
        40,
        5,
        35,
    )
    state = httpx.get(f"{admin_url(endpoints.inventory_url)}/state").json()
    assert state["salesorders"][0]["status"] == "confirmed"
    assert state["items"][0]["locations"][0]["location_committed_stock"] == "5"

    adjusted = httpx.post(
        f"{admin_url(endpoints.inventory_url)}/stock",
        json={"item_id": "5001", "location_id": ids["locations"][0], "delta": -10},
    )
    assert adjusted.json() == {
        "item_id": "5001",
        "location_id": ids["locations"][0],
        "on_hand": 20,
        "committed": 5,
        "available_for_sale": 15,
    }


def test_seed_books_with_invoices_payments_and_credits(
    endpoints: ZohoEndpoints, books: httpx.Client
) -> None:
    admin = admin_url(endpoints.books_url)
    seeded = httpx.post(
        f"{admin}/seed",
        json={
            "contacts": [
                {"contact_name": "Shree Auto Parts", "contact_id": "7001", "payment_terms": 30}
            ],
            "items": [{"item_id": "5001", "name": "Brake Pad Set", "rate": 1000}],
            "invoices": [
                {
                    "customer_id": "7001",
                    "invoice_number": "INV-1",
                    "status": "sent",
                    "date": "2026-11-01",
                    "line_items": [{"item_id": "5001", "quantity": 1}],
                }
            ],
        },
    ).json()
    invoice_id = seeded["invoices"][0]
    paid = httpx.post(
        f"{admin}/payments",
        json={
            "customer_id": "7001",
            "payment_mode": "cash",
            "amount": 500,
            "date": "2026-11-10",
            "invoices": [{"invoice_id": invoice_id, "amount_applied": 500}],
        },
    )
    assert paid.status_code == 200
    credited = httpx.post(
        f"{admin}/creditnotes",
        json={
            "customer_id": "7001",
            "line_items": [{"name": "Rebate", "rate": 100, "quantity": 1}],
            "apply_to": {invoice_id: 100},
        },
    )
    assert credited.json()["status"] == "closed"

    invoice = books.get(f"/invoices/{invoice_id}").json()["invoice"]
    assert (
        invoice["total"],
        invoice["payment_made"],
        invoice["credits_applied"],
        invoice["balance"],
        invoice["status"],
    ) == (1180.0, 500.0, 100.0, 580.0, "partially_paid")
    refused = httpx.post(f"{admin}/payments", json={"customer_id": "nobody"})
    assert refused.status_code == 400
    assert refused.json()["code"] != 0


def test_faults_can_be_read_replaced_and_patched_over_http(endpoints: ZohoEndpoints) -> None:
    admin = admin_url(endpoints.books_url)
    assert httpx.get(f"{admin}/faults").json()["rate_limit_per_minute"] == 100
    replaced = httpx.put(f"{admin}/faults", json={"seed": 3, "latency_ms": 5})
    assert (replaced.json()["seed"], replaced.json()["latency_ms"]) == (3, 5.0)
    patched = httpx.patch(f"{admin}/faults", json={"error_5xx_rate": 0.25})
    assert (patched.json()["seed"], patched.json()["error_5xx_rate"]) == (3, 0.25)
    refused = httpx.put(f"{admin}/faults", json={"no_such_fault": 1})
    assert refused.status_code == 400


def test_clock_can_be_pinned_and_moved_over_http(
    sandbox: ZohoSandbox, endpoints: ZohoEndpoints
) -> None:
    admin = admin_url(endpoints.inventory_url)
    pinned = httpx.put(f"{admin}/clock", json={"now": "2027-01-01T00:00:00+05:30", "frozen": True})
    assert pinned.json() == {"now": "2026-12-31T18:30:00+00:00", "frozen": True}
    moved = httpx.put(f"{admin}/clock", json={"advance_seconds": 90})
    assert moved.json()["now"] == "2026-12-31T18:31:30+00:00"
    # One clock for all three simulators.
    assert httpx.get(f"{admin_url(endpoints.books_url)}/clock").json() == moved.json()
    assert httpx.put(f"{admin}/clock", json={"now": "yesterday"}).status_code == 400


def test_reset_empties_state_faults_and_counters(
    sandbox: ZohoSandbox, endpoints: ZohoEndpoints, inventory: httpx.Client
) -> None:
    admin = admin_url(endpoints.inventory_url)
    sandbox.inventory.state.add_location("Pune WH")
    sandbox.inventory.faults.update(latency_ms=1)
    inventory.get("/locations")

    assert httpx.post(f"{admin}/reset").json() == {"reset": True}

    assert httpx.get(f"{admin}/state").json()["locations"] == []
    assert httpx.get(f"{admin}/faults").json()["latency_ms"] == 0
    assert httpx.get(f"{admin}/calls").json()["total"] == 0


def test_accounts_admin_registers_a_client(endpoints: ZohoEndpoints) -> None:
    registered = httpx.post(
        f"{endpoints.accounts_url}/__admin/clients",
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": "1000.second",
        },
    )
    assert registered.status_code == 200
    assert grant(endpoints.accounts_url, refresh_token="1000.second").status_code == 200
    incomplete = httpx.post(f"{endpoints.accounts_url}/__admin/clients", json={"client_id": "x"})
    assert incomplete.status_code == 400
