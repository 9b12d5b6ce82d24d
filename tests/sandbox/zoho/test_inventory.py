"""Zoho Inventory: items and stock per location, paging, incremental filter, sales orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from sandbox.zoho import InventoryState, ZohoEndpoints, ZohoSandbox
from sandbox.zoho.common import format_time
from tests.sandbox.zoho.support import admin_url


@pytest.fixture
def stocked(sandbox: ZohoSandbox) -> dict[str, str]:
    """Two locations, one customer, one item with 30 + 10 on hand."""
    state = sandbox.inventory.state
    pune = state.add_location("Pune WH")
    nashik = state.add_location("Nashik WH")
    dealer = state.add_contact("Shree Auto Parts", place_of_contact="MH")
    item = state.add_item(
        "Brake Pad Set BP-220",
        "BP-220",
        "1450.00",
        stock={"Pune WH": 30, "Nashik WH": 10},
        hsn_or_sac="87083000",
    )
    return {
        "pune": pune.location_id,
        "nashik": nashik.location_id,
        "customer": dealer.contact_id,
        "item": item.item_id,
    }


def _order(ids: dict[str, str], *, quantity: object = 4, **extra: object) -> dict[str, object]:
    line = {
        "item_id": ids["item"],
        "rate": 1450.00,
        "quantity": quantity,
        "location_id": ids["pune"],
    }
    return {"customer_id": ids["customer"], "date": "2026-11-22", "line_items": [line], **extra}


def test_items_page_through_with_page_context(
    sandbox: ZohoSandbox, inventory: httpx.Client
) -> None:
    state = sandbox.inventory.state
    state.add_location("Pune WH")
    for name in ("Axle", "Bearing", "Clutch", "Disc", "Exhaust"):
        state.add_item(name, name[:3].upper(), 100)

    pages = []
    for page in (1, 2, 3):
        body = inventory.get("/items", params={"page": page, "per_page": 2}).json()
        assert body["code"] == 0
        pages.append(body)

    assert [[i["name"] for i in p["items"]] for p in pages] == [
        ["Axle", "Bearing"],
        ["Clutch", "Disc"],
        ["Exhaust"],
    ]
    assert [p["page_context"]["has_more_page"] for p in pages] == [True, True, False]
    assert pages[1]["page_context"] == {
        "page": 2,
        "per_page": 2,
        "has_more_page": True,
        "report_name": "Items",
        "applied_filter": "Status.All",
        "sort_column": "name",
        "sort_order": "A",
    }
    descending = inventory.get("/items", params={"sort_column": "name", "sort_order": "D"})
    assert descending.json()["items"][0]["name"] == "Exhaust"


def test_per_page_defaults_to_and_is_capped_at_200(inventory: httpx.Client) -> None:
    assert inventory.get("/items").json()["page_context"]["per_page"] == 200
    capped = inventory.get("/items", params={"per_page": 500}).json()["page_context"]
    assert capped["per_page"] == 200
    bad = inventory.get("/items", params={"page": 0})
    assert bad.status_code == 400
    assert bad.json()["code"] != 0


def test_last_modified_time_returns_items_modified_after_it(
    sandbox: ZohoSandbox,
    endpoints: ZohoEndpoints,
    token: str,
    inventory: httpx.Client,
    stocked: dict[str, str],
) -> None:
    state = sandbox.inventory.state
    other = state.add_item("Clutch Plate CP-10", "CP-10", 900, stock={"Pune WH": 5})
    watermark = sandbox.clock.now()
    sandbox.clock.advance(60)
    state.update_item(other.item_id, rate="950")

    for value in (format_time(watermark, state.tz), watermark.strftime("%Y-%m-%dT%H:%M:%SZ")):
        changed = inventory.get("/items", params={"last_modified_time": value}).json()["items"]
        assert [i["item_id"] for i in changed] == [other.item_id]
        assert changed[0]["last_modified_time"] == "2026-11-22T10:16:00+0530"

    # A "+" left unencoded arrives as a space: the simulator refuses it, as Zoho misreads it.
    raw_query = (
        f"organization_id={sandbox.organization.organization_id}"
        f"&last_modified_time={format_time(watermark, state.tz)}"
    )
    unencoded_plus = httpx.get(
        f"{endpoints.inventory_url}/items?{raw_query}",
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
    )
    assert unencoded_plus.status_code == 400
    assert unencoded_plus.json()["code"] == 2


def test_item_detail_has_locations_as_strings_and_list_leaves_them_out_by_default(
    endpoints: ZohoEndpoints, inventory: httpx.Client, stocked: dict[str, str]
) -> None:
    item = inventory.get(f"/items/{stocked['item']}").json()["item"]
    assert item["stock_on_hand"] == 40
    assert [
        (loc["location_name"], loc["location_stock_on_hand"], loc["is_primary"])
        for loc in item["locations"]
    ] == [("Pune WH", "30", True), ("Nashik WH", "10", False)]
    assert "locations" not in inventory.get("/items").json()["items"][0]

    switched = httpx.put(
        f"{admin_url(endpoints.inventory_url)}/settings", json={"list_includes_locations": True}
    )
    assert switched.json() == {"legacy_warehouses": False, "list_includes_locations": True}
    assert len(inventory.get("/items").json()["items"][0]["locations"]) == 2


def test_list_filtered_by_location_reports_that_locations_stock(
    inventory: httpx.Client, stocked: dict[str, str]
) -> None:
    items = inventory.get("/items", params={"location_id": stocked["nashik"]}).json()["items"]
    assert items[0]["stock_on_hand"] == 10
    assert items[0]["available_for_sale_stock"] == 10


def test_itemdetails_returns_several_items_with_locations(
    sandbox: ZohoSandbox, inventory: httpx.Client, stocked: dict[str, str]
) -> None:
    other = sandbox.inventory.state.add_item("Disc D-1", "D-1", 10, stock={"Pune WH": 1})
    body = inventory.get(
        "/itemdetails", params={"item_ids": f"{stocked['item']},{other.item_id}"}
    ).json()
    assert [i["sku"] for i in body["items"]] == ["BP-220", "D-1"]
    assert all("locations" in i for i in body["items"])


def test_legacy_warehouses_shape_behind_a_switch(
    sandbox: ZohoSandbox, inventory: httpx.Client, stocked: dict[str, str]
) -> None:
    sandbox.inventory.state.configure(legacy_warehouses=True)
    item = inventory.get(f"/items/{stocked['item']}").json()["item"]
    assert "locations" not in item
    assert item["warehouses"][0]["warehouse_name"] == "Pune WH"
    assert item["warehouses"][0]["warehouse_available_for_sale_stock"] == 30
    warehouses = inventory.get("/settings/warehouses").json()["warehouses"]
    assert [w["warehouse_id"] for w in warehouses] == [stocked["pune"], stocked["nashik"]]


def test_create_sales_order_with_own_number_and_reject_a_duplicate_number(
    inventory: httpx.Client, stocked: dict[str, str]
) -> None:
    own = {"ignore_auto_number_generation": "true"}
    payload = _order(
        stocked, salesorder_number="SO-DLR042-000123", reference_number="PORTAL-ORD-8812"
    )
    created = inventory.post("/salesorders", params=own, json=payload)

    assert created.status_code == 201
    order = created.json()["salesorder"]
    assert order["salesorder_number"] == "SO-DLR042-000123"
    assert order["status"] == "draft"
    assert (order["sub_total"], order["tax_total"], order["total"]) == (5800.0, 1044.0, 6844.0)
    assert '"total":6844.00' in created.text

    again = inventory.post("/salesorders", params=own, json=payload)
    assert again.status_code == 400
    assert again.json()["code"] != 0
    found = inventory.get("/salesorders", params={"reference_number": "PORTAL-ORD-8812"})
    assert [o["salesorder_id"] for o in found.json()["salesorders"]] == [order["salesorder_id"]]


def test_without_the_flag_numbers_are_generated(
    inventory: httpx.Client, stocked: dict[str, str]
) -> None:
    numbers = [
        inventory.post("/salesorders", json=_order(stocked, salesorder_number="MINE")).json()[
            "salesorder"
        ]["salesorder_number"]
        for _ in range(2)
    ]
    assert numbers == ["SO-00001", "SO-00002"]


def test_confirm_commits_stock_and_bumps_the_items_last_modified_time(
    sandbox: ZohoSandbox, inventory: httpx.Client, stocked: dict[str, str]
) -> None:
    order_id = inventory.post("/salesorders", json=_order(stocked)).json()["salesorder"][
        "salesorder_id"
    ]
    draft_view = inventory.get(f"/items/{stocked['item']}").json()["item"]
    assert draft_view["committed_stock"] == 0
    watermark = sandbox.clock.now()
    sandbox.clock.advance(30)

    confirmed = inventory.post(f"/salesorders/{order_id}/status/confirmed")
    assert confirmed.json() == {"code": 0, "message": "Sales Order has been marked as confirmed."}
    item = inventory.get(f"/items/{stocked['item']}").json()["item"]
    assert (
        item["stock_on_hand"],
        item["committed_stock"],
        item["available_for_sale_stock"],
        item["actual_available_stock"],
        item["available_stock"],
    ) == (40, 4, 36, 36, 40)
    pune = item["locations"][0]
    assert (
        pune["location_stock_on_hand"],
        pune["location_committed_stock"],
        pune["location_available_for_sale_stock"],
    ) == ("30", "4", "26")
    assert item["last_modified_time"] > draft_view["last_modified_time"]
    since = format_time(watermark, sandbox.inventory.state.tz)
    changed = inventory.get("/items", params={"last_modified_time": since}).json()["items"]
    assert [i["item_id"] for i in changed] == [stocked["item"]]
    assert sandbox.inventory.state.stock(stocked["item"], stocked["pune"]).available_for_sale == 26

    inventory.post(f"/salesorders/{order_id}/status/void")
    item = inventory.get(f"/items/{stocked['item']}").json()["item"]
    assert (item["committed_stock"], item["available_for_sale_stock"]) == (0, 40)
    order = inventory.get(f"/salesorders/{order_id}").json()["salesorder"]
    assert order["status"] == "void"


def test_shipping_a_confirmed_order_reduces_on_hand_and_ends_the_commitment(
    sandbox: ZohoSandbox, endpoints: ZohoEndpoints, inventory: httpx.Client, stocked: dict[str, str]
) -> None:
    order_id = inventory.post("/salesorders", json=_order(stocked)).json()["salesorder"][
        "salesorder_id"
    ]
    inventory.post(f"/salesorders/{order_id}/status/confirmed")
    shipped = httpx.post(f"{admin_url(endpoints.inventory_url)}/salesorders/{order_id}/ship")
    assert shipped.json()["status"] == "fulfilled"
    level = sandbox.inventory.state.stock(stocked["item"], stocked["pune"])
    assert (level.on_hand, level.committed) == (Decimal(26), Decimal(0))


def test_bulk_confirm_takes_at_most_25_orders(
    sandbox: ZohoSandbox, inventory: httpx.Client, stocked: dict[str, str]
) -> None:
    state: InventoryState = sandbox.inventory.state
    ids = [state.create_salesorder(_order(stocked, quantity=1)).salesorder_id for _ in range(26)]

    too_many = inventory.post(
        "/salesorders/status/confirmed", params={"salesorder_ids": ",".join(ids)}
    )
    assert too_many.status_code == 400
    assert too_many.json()["code"] != 0
    assert {o.status for o in state.list_salesorders()} == {"draft"}

    ok = inventory.post(
        "/salesorders/status/confirmed", params={"salesorder_ids": ",".join(ids[:25])}
    )
    assert ok.status_code == 200
    assert [o.status for o in state.list_salesorders()].count("confirmed") == 25
    assert state.stock(stocked["item"], stocked["pune"]).committed == 25


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"customer_id": "404"}, 400),
        ({"line_items": [{"item_id": "404", "quantity": 1}]}, 400),
        ({"location_id": "404"}, 400),
        ({"line_items": []}, 400),
    ],
)
def test_unknown_references_are_rejected_with_a_zoho_body(
    inventory: httpx.Client, stocked: dict[str, str], change: dict[str, object], status: int
) -> None:
    response = inventory.post("/salesorders", json={**_order(stocked), **change})
    assert response.status_code == status
    assert response.json()["code"] != 0
    assert isinstance(response.json()["message"], str)


@pytest.mark.parametrize("quantity", [0, -1, "abc"])
def test_line_quantity_must_be_positive(
    inventory: httpx.Client, stocked: dict[str, str], quantity: object
) -> None:
    response = inventory.post("/salesorders", json=_order(stocked, quantity=quantity))
    assert response.status_code == 400
    assert response.json()["code"] == 2


def test_organization_id_is_required_and_unknown_ids_are_404(
    endpoints: ZohoEndpoints, token: str, inventory: httpx.Client
) -> None:
    response = httpx.get(
        f"{endpoints.inventory_url}/items", headers={"Authorization": f"Zoho-oauthtoken {token}"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == 6
    missing = inventory.get("/salesorders/123")
    assert missing.status_code == 404
    assert missing.json() == {"code": 1002, "message": "Sales Order does not exist."}
    orgs = inventory.get("/organizations").json()["organizations"]
    assert orgs[0]["organization_id"] == "10234695"


def test_sales_orders_list_filters_by_status_customer_and_modified_time(
    sandbox: ZohoSandbox, inventory: httpx.Client, stocked: dict[str, str]
) -> None:
    state = sandbox.inventory.state
    first = state.create_salesorder(_order(stocked))
    sandbox.clock.advance(timedelta(minutes=5).total_seconds())
    second = state.create_salesorder(_order(stocked))
    state.confirm_salesorder(second.salesorder_id)

    def ids(**params: str) -> list[str]:
        body = inventory.get("/salesorders", params=params).json()
        return [o["salesorder_id"] for o in body["salesorders"]]

    assert ids() == [second.salesorder_id, first.salesorder_id]  # created_time, descending
    assert ids(status="confirmed") == [second.salesorder_id]
    assert ids(customer_id=stocked["customer"], sort_order="A") == [
        first.salesorder_id,
        second.salesorder_id,
    ]
    since = format_time(first.created_time, state.tz)
    assert ids(last_modified_time=since) == [second.salesorder_id]
