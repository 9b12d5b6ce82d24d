"""Zoho Inventory payloads as read (tolerant), and their canonical forms."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from connectors.zoho.wire import ZohoDecimal, ZohoId, ZohoRecord, ZohoTime
from dealer_sync.models import Item, StockLevel, Warehouse


class ZohoLocation(ZohoRecord):
    location_id: ZohoId
    location_name: str
    is_primary: bool = False
    status: str = "active"

    def canonical(self) -> Warehouse:
        return Warehouse(
            id=self.location_id,
            name=self.location_name,
            is_primary=self.is_primary,
            active=self.status == "active",
        )


class ZohoLocationStock(ZohoRecord):
    """One location's stock of one item (the ``locations[]`` entries of an item detail).

    ``location_available_for_sale_stock`` is on hand less what confirmed sales orders hold;
    where an organisation's payload lacks it, the committed figure is used instead.
    """

    location_id: ZohoId
    location_name: str = ""
    location_stock_on_hand: ZohoDecimal
    location_available_for_sale_stock: ZohoDecimal | None = None
    location_committed_stock: ZohoDecimal | None = None


class ZohoItem(ZohoRecord):
    item_id: ZohoId
    name: str
    sku: str = ""
    status: str = "active"
    unit: str = "pcs"
    hsn_or_sac: str | None = None
    tax_percentage: ZohoDecimal | None = None
    last_modified_time: ZohoTime | None = None
    locations: list[ZohoLocationStock] = Field(default_factory=list)

    def canonical(self) -> Item:
        return Item(
            id=self.item_id,
            sku=self.sku,
            name=self.name,
            unit=self.unit,
            hsn_or_sac=self.hsn_or_sac,
            tax_rate=self.tax_percentage,
            active=self.status == "active",
            updated_at=self.last_modified_time,
        )

    def stock_levels(self, as_of: datetime) -> list[StockLevel]:
        levels = []
        for loc in self.locations:
            on_hand = loc.location_stock_on_hand
            if loc.location_available_for_sale_stock is not None:
                available = loc.location_available_for_sale_stock
                committed = on_hand - available
            else:
                committed = loc.location_committed_stock or on_hand * 0
                available = on_hand - committed
            levels.append(
                StockLevel(
                    item_id=self.item_id,
                    sku=self.sku,
                    warehouse_id=loc.location_id,
                    on_hand=on_hand,
                    committed=max(committed, committed * 0),
                    available=available,
                    as_of=self.last_modified_time or as_of,
                )
            )
        return levels


class ZohoDocumentLine(ZohoRecord):
    item_id: ZohoId | None = None
    sku: str | None = None
    quantity: ZohoDecimal


class ZohoSalesOrder(ZohoRecord):
    salesorder_id: ZohoId
    salesorder_number: str
    reference_number: str | None = None
    customer_id: ZohoId | None = None
    status: str = "draft"
    total: ZohoDecimal | None = None
    last_modified_time: ZohoTime | None = None
    line_items: list[ZohoDocumentLine] = Field(default_factory=list)  # detail responses only
