"""Zoho Inventory client: locations, items with stock, sales orders."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from connectors.http.errors import ConnectorError
from connectors.http.overlap import call_each
from connectors.zoho.bodies import sales_order_body
from connectors.zoho.client import ZohoClient, zoho_time
from connectors.zoho_inventory.wire import ZohoItem, ZohoLocation, ZohoSalesOrder
from dealer_sync.models import MappedOrder
from dealer_sync.records import Rejected, describe

ITEM_DETAILS_BATCH = 100  # ids per /itemdetails call
CONFIRM_BATCH = 25  # Zoho confirms at most 25 sales orders at once


class ZohoInventoryClient(ZohoClient):
    system = "zoho_inventory"

    def locations(self) -> list[ZohoLocation]:
        body = self.call("GET", "/locations")
        return [ZohoLocation.model_validate(r) for r in body.get("locations") or []]

    def item_pages(self, modified_since: datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        """Raw item list pages (changed since the cursor when given), oldest change first."""
        params = {
            "last_modified_time": zoho_time(modified_since) if modified_since else None,
            "sort_column": "last_modified_time",
            "sort_order": "A",
        }
        yield from self.pages("/items", "items", "item_id", params)

    def item_details(self, item_ids: Sequence[str]) -> tuple[list[ZohoItem], list[Rejected]]:
        """Full items, with stock per location, in batches over ``/itemdetails``.

        An item whose payload cannot be read comes back as Rejected, not as an exception.
        """
        items: list[ZohoItem] = []
        rejected: list[Rejected] = []
        for start in range(0, len(item_ids), ITEM_DETAILS_BATCH):
            chunk = item_ids[start : start + ITEM_DETAILS_BATCH]
            body = self.call("GET", "/itemdetails", params={"item_ids": ",".join(chunk)})
            for row in body.get("items") or []:
                try:
                    items.append(ZohoItem.model_validate(row))
                except ValidationError as exc:
                    key = str(row.get("item_id", "?")) if isinstance(row, dict) else "?"
                    payload = row if isinstance(row, dict) else {"raw": repr(row)}
                    rejected.append(Rejected("item", key, payload, describe(exc), "item is well-formed"))
        return items, rejected

    def create_sales_order(self, order: MappedOrder) -> ZohoSalesOrder:
        """Create with our own number, so that a lookup can find it after an uncertain outcome."""
        body = self.call(
            "POST",
            "/salesorders",
            params={"ignore_auto_number_generation": "true"},
            json_body=sales_order_body(order),
            write=True,
        )
        return ZohoSalesOrder.model_validate(body["salesorder"])

    def find_sales_orders(self, salesorder_number: str) -> list[ZohoSalesOrder]:
        body = self.call("GET", "/salesorders", params={"salesorder_number": salesorder_number})
        return [
            ZohoSalesOrder.model_validate(r)
            for r in body.get("salesorders") or []
            if r.get("salesorder_number") == salesorder_number
        ]

    def sales_order_pages(self, modified_since: datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        params = {"last_modified_time": zoho_time(modified_since) if modified_since else None}
        yield from self.pages("/salesorders", "salesorders", "salesorder_id", params)

    def sales_order_detail(self, salesorder_id: str) -> ZohoSalesOrder:
        """One sales order with its lines (lists carry none): one call each, so use sparingly."""
        body = self.call("GET", f"/salesorders/{salesorder_id}")
        return ZohoSalesOrder.model_validate(body["salesorder"])

    def confirm_sales_orders(self, salesorder_ids: Sequence[str]) -> dict[str, ConnectorError]:
        """Confirm (and so reserve stock for) sales orders, 25 per call. Confirming twice is harmless.

        Returns the sales orders that could not be confirmed (id -> error; a failed call fails
        every id it carried), to be confirmed by a later run.
        """
        chunks = [salesorder_ids[i : i + CONFIRM_BATCH] for i in range(0, len(salesorder_ids), CONFIRM_BATCH)]

        def confirm(chunk: Sequence[str]) -> None:
            self.call_repeatable(
                "POST", "/salesorders/status/confirmed", params={"salesorder_ids": ",".join(chunk)}
            )

        failed = call_each(confirm, chunks, self.in_flight)
        return {salesorder_id: error for index, error in failed.items() for salesorder_id in chunks[index]}
