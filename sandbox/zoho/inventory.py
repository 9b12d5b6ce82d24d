"""Zoho Inventory v1 simulator: locations, items with stock per location, customers, sales orders.

Stock fields (apis.md 1.7; Zoho's exact semantics are [U]). Let ``on_hand`` be the units in a
location and ``committed`` the quantities on sales orders that are confirmed and neither shipped
nor void, counted at each line's location. Entries of ``locations[]`` carry strings; item-level
fields are numbers (sums over all locations, or one location's when the list is filtered by
``location_id`` / ``warehouse_id``):

- ``location_stock_on_hand`` / ``stock_on_hand``: on_hand.
- ``location_available_stock`` / ``available_stock``: on_hand. Zoho describes it as "based on
  shipments and receives"; it is NOT net of sales orders.
- ``location_committed_stock`` / ``committed_stock``, and the ``actual_committed`` pair:
  committed.
- ``location_available_for_sale_stock`` / ``available_for_sale_stock``, and the
  ``actual_available_for_sale`` pair: on_hand - committed.
- ``location_actual_available_stock`` / ``actual_available_stock``: on_hand - committed
  ("minus ordered stock", as in apis.md's 40/40/34 example).

Available-to-promise is therefore ``available_for_sale_stock`` (= ``stock_on_hand -
committed_stock``). It may go negative: confirming more than is on hand is allowed, as overselling
is in Zoho. There are no bills or receives here, so accounting and physical stock coincide. The
legacy shape (``legacy_warehouses``) renders the same values as numbers in ``warehouses[]`` with
``warehouse_*`` names.

Sales orders are created ``draft``; ``confirmed`` commits stock; ``void`` releases it; the admin
helper ``ship_salesorder`` fulfils an order (on hand drops, commitment ends). Confirming, voiding
and shipping bump the items' ``last_modified_time`` so an incremental refresh sees the change.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.faults import FaultConfig, duplicate_requested
from sandbox.zoho.common import (
    CODE_ALREADY_EXISTS,
    DocLine,
    ItemRef,
    Organization,
    SimClock,
    TokenRegistry,
    Totals,
    ZohoApiSimulator,
    ZohoError,
    ZohoState,
    admin_call,
    build_line,
    check_tax_mode,
    compute_totals,
    does_not_exist,
    envelope,
    flag,
    id_list,
    invalid_state,
    invalid_value,
    modified_after,
    money,
    paginate,
    parse_date,
    quantity,
    read_body,
    rows_of,
    stock_text,
    text_matches,
    to_decimal,
)

BULK_CONFIRM_LIMIT = 25  # trieb-work/zoho-ts#13: "API handles max 25 salesorders at once" [S]


@dataclass
class Location:
    location_id: str
    location_name: str
    is_primary: bool
    status: str = "active"


@dataclass
class InventoryItem:
    item_id: str
    name: str
    sku: str
    rate: Decimal
    created_time: datetime
    last_modified_time: datetime
    purchase_rate: Decimal = Decimal("0.00")
    unit: str = "pcs"
    status: str = "active"
    description: str = ""
    hsn_or_sac: str = ""
    is_taxable: bool = True
    intra_tax_id: str = ""
    inter_tax_id: str = ""
    stock: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class SalesOrder:
    salesorder_id: str
    salesorder_number: str
    customer_id: str
    customer_name: str
    date: dt.date
    status: str
    location_id: str
    place_of_supply: str
    lines: list[DocLine]
    totals: Totals
    created_time: datetime
    last_modified_time: datetime
    reference_number: str = ""
    shipment_date: dt.date | None = None
    gst_treatment: str = ""
    gst_no: str = ""
    pricebook_id: str = ""
    notes: str = ""


@dataclass(frozen=True)
class StockLevel:
    """One item in one location, as the simulator computes it."""

    item_id: str
    location_id: str
    on_hand: Decimal
    committed: Decimal

    @property
    def available_for_sale(self) -> Decimal:
        return self.on_hand - self.committed


class InventoryState(ZohoState):
    """Inventory records behind a lock, with the typed seeding and inspection API."""

    id_base = 4815000000044000

    def __init__(self, *, org: Organization, clock: SimClock) -> None:
        super().__init__(org=org, clock=clock)
        self.legacy_warehouses = False
        self.list_includes_locations = False
        self.locations: dict[str, Location] = {}
        self.items: dict[str, InventoryItem] = {}
        self.salesorders: dict[str, SalesOrder] = {}
        self._so_number = 0

    def _clear(self) -> None:
        self.legacy_warehouses = False
        self.list_includes_locations = False
        self.locations.clear()
        self.items.clear()
        self.salesorders.clear()
        self._so_number = 0

    # -- locations and items ----------------------------------------------------------------

    def add_location(
        self, location_name: str, *, location_id: str | None = None, is_primary: bool | None = None
    ) -> Location:
        """Add a location (a warehouse in legacy orgs); the first one is primary by default."""
        with self.lock:
            primary = not self.locations if is_primary is None else is_primary
            if primary:
                for other in self.locations.values():
                    other.is_primary = False
            location = Location(location_id or self.ids.next(), location_name, primary)
            self.locations[location.location_id] = location
            return copy.deepcopy(location)

    def list_locations(self) -> list[Location]:
        with self.lock:
            return copy.deepcopy(list(self.locations.values()))

    def _location(self, location_id: str, *, status: int = 400) -> Location:
        location = self.locations.get(location_id)
        if location is None:
            raise does_not_exist("Location", status=status)
        return location

    def _location_ref(self, ref: str) -> Location:
        """A location by ID or by name (seed payloads may name locations they create)."""
        found = self.locations.get(ref) or next(
            (loc for loc in self.locations.values() if loc.location_name == ref), None
        )
        if found is None:
            raise does_not_exist("Location", status=400)
        return found

    def primary_location(self) -> Location:
        found = next((loc for loc in self.locations.values() if loc.is_primary), None)
        if found is None:
            raise invalid_value("location_id", "The organisation has no location.")
        return found

    def add_item(
        self,
        name: str,
        sku: str,
        rate: Decimal | int | str,
        *,
        stock: Mapping[str, Decimal | int | str] | None = None,
        item_id: str | None = None,
        gst_rate: Decimal | int | str | None = 18,
        purchase_rate: Decimal | int | str = 0,
        unit: str = "pcs",
        hsn_or_sac: str = "",
        description: str = "",
        status: str = "active",
    ) -> InventoryItem:
        """Add an item with stock per location (keys: location IDs or names).

        ``gst_rate`` picks the GST group (intra) and IGST (inter) preferences; None = not taxable.
        """
        with self.lock:
            now = self.now()
            item = InventoryItem(
                item_id=item_id or self.ids.next(),
                name=name,
                sku=sku,
                rate=money(rate),
                purchase_rate=money(purchase_rate),
                unit=unit,
                hsn_or_sac=hsn_or_sac,
                description=description,
                status=status,
                created_time=now,
                last_modified_time=now,
                is_taxable=gst_rate is not None,
            )
            if gst_rate is not None:
                group, igst = self.taxes.gst_pair(Decimal(gst_rate))
                item.intra_tax_id, item.inter_tax_id = group.tax_id, igst.tax_id
            for ref, qty in (stock or {}).items():
                location = self._location_ref(ref)
                item.stock[location.location_id] = to_decimal(qty, "stock")
            self.items[item.item_id] = item
            return copy.deepcopy(item)

    def _item(self, item_id: str, *, status: int = 404) -> InventoryItem:
        item = self.items.get(item_id)
        if item is None:
            raise does_not_exist("Item", status=status)
        return item

    def get_item(self, item_id: str) -> InventoryItem:
        with self.lock:
            return copy.deepcopy(self._item(item_id))

    def list_items(self) -> list[InventoryItem]:
        with self.lock:
            return copy.deepcopy(list(self.items.values()))

    def update_item(self, item_id: str, **changes: Any) -> InventoryItem:
        """Change item fields (name, rate, status, ...) and bump ``last_modified_time``."""
        with self.lock:
            item = self._item(item_id)
            for key, value in changes.items():
                if key not in (
                    "name",
                    "sku",
                    "rate",
                    "purchase_rate",
                    "unit",
                    "status",
                    "description",
                    "hsn_or_sac",
                ):
                    raise invalid_value(key)
                setattr(item, key, money(value) if key in ("rate", "purchase_rate") else value)
            item.last_modified_time = self.now()
            return copy.deepcopy(item)

    def set_stock(self, item_id: str, location_id: str, on_hand: Decimal | int | str) -> StockLevel:
        with self.lock:
            item = self._item(item_id, status=400)
            location = self._location_ref(location_id)
            item.stock[location.location_id] = to_decimal(on_hand, "quantity")
            item.last_modified_time = self.now()
            return self.stock(item_id, location.location_id)

    def adjust_stock(
        self, item_id: str, location_id: str, delta: Decimal | int | str
    ) -> StockLevel:
        """Add (or, negative, remove) units on hand, like an inventory adjustment."""
        with self.lock:
            location = self._location_ref(location_id)
            current = self._item(item_id, status=400).stock.get(location.location_id, Decimal(0))
            return self.set_stock(
                item_id, location.location_id, current + to_decimal(delta, "quantity_adjusted")
            )

    def stock(self, item_id: str, location_id: str) -> StockLevel:
        with self.lock:
            item = self._item(item_id)
            committed = self._committed().get((item_id, location_id), Decimal(0))
            return StockLevel(
                item_id, location_id, item.stock.get(location_id, Decimal(0)), committed
            )

    def _committed(self) -> dict[tuple[str, str], Decimal]:
        committed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for order in self.salesorders.values():
            if order.status == "confirmed":
                for line in order.lines:
                    committed[(line.item_id, line.location_id)] += line.quantity
        return committed

    def _item_ref(self, item_id: str) -> ItemRef | None:
        item = self.items.get(item_id)
        if item is None:
            return None
        return ItemRef(
            item.item_id,
            item.name,
            item.sku,
            item.rate,
            item.unit,
            item.hsn_or_sac,
            item.description,
            item.is_taxable,
            item.intra_tax_id,
            item.inter_tax_id,
        )

    # -- sales orders -------------------------------------------------------------------------

    def create_salesorder(
        self, payload: Mapping[str, Any], *, own_number: bool = False, duplicate: bool = False
    ) -> SalesOrder:
        """Validate and store a draft sales order from a wire payload.

        ``own_number`` is ``ignore_auto_number_generation=true``: the caller's number is used and
        must be new (else HTTP 400, code 1001 [U]). Without it the number is generated and a
        number in the payload is ignored [U].
        """
        with self.lock:
            check_tax_mode(payload)
            customer = self._contact(str(payload.get("customer_id") or ""), status=400)
            # An own number is checked first; a generated one is taken only once all is valid.
            number = self._take_number(payload, own_number=True) if own_number else ""
            header_ref = str(payload.get("location_id") or payload.get("warehouse_id") or "")
            header = self._location(header_ref) if header_ref else self.primary_location()
            raw_lines = payload.get("line_items")
            if not isinstance(raw_lines, list) or not raw_lines:
                raise invalid_value("line_items", "A sales order needs at least one line.")
            place = self.place_of_supply(payload, customer)
            intra = place == self.org.state_code
            lines = []
            for index, raw in enumerate(raw_lines):
                line = build_line(
                    raw,
                    index=index,
                    line_item_id=self.ids.next(),
                    resolve_item=self._item_ref,
                    taxes=self.taxes,
                    intra=intra,
                    require_item=True,
                )
                line_ref = str(raw.get("location_id") or raw.get("warehouse_id") or "")
                location = self._location(line_ref) if line_ref else header
                line.location_id, line.location_name = location.location_id, location.location_name
                lines.append(line)
            now = self.now()
            order = SalesOrder(
                salesorder_id=self.ids.next(),
                salesorder_number=number or self._take_number(payload, own_number=False),
                customer_id=customer.contact_id,
                customer_name=customer.contact_name,
                date=parse_date(payload["date"], "date") if payload.get("date") else self.today(),
                status="draft",
                location_id=header.location_id,
                place_of_supply=place,
                lines=lines,
                totals=compute_totals(lines),
                created_time=now,
                last_modified_time=now,
                reference_number=str(payload.get("reference_number") or ""),
                shipment_date=(
                    parse_date(payload["shipment_date"], "shipment_date")
                    if payload.get("shipment_date")
                    else None
                ),
                gst_treatment=str(payload.get("gst_treatment") or customer.gst_treatment),
                gst_no=str(payload.get("gst_no") or customer.gst_no),
                pricebook_id=str(payload.get("pricebook_id") or ""),
                notes=str(payload.get("notes") or ""),
            )
            self.salesorders[order.salesorder_id] = order
            if duplicate:
                self._store_twin(order)
            return copy.deepcopy(order)

    def _take_number(self, payload: Mapping[str, Any], own_number: bool) -> str:
        used = {o.salesorder_number for o in self.salesorders.values()}
        if own_number:
            number = str(payload.get("salesorder_number") or "").strip()
            if not number:
                raise invalid_value(
                    "salesorder_number", "Required with ignore_auto_number_generation=true."
                )
            if number in used:
                raise ZohoError(400, CODE_ALREADY_EXISTS, f'Sales Order "{number}" already exists.')
            return number
        while True:
            self._so_number += 1
            number = f"SO-{self._so_number:05d}"
            if number not in used:
                return number

    def _store_twin(self, order: SalesOrder) -> None:
        """A duplicate delivery: same content and reference_number, new ID and number."""
        twin = copy.deepcopy(order)
        twin.salesorder_id = self.ids.next()
        twin.salesorder_number = self._take_number({}, own_number=False)
        for line in twin.lines:
            line.line_item_id = self.ids.next()
        self.salesorders[twin.salesorder_id] = twin

    def _salesorder(self, salesorder_id: str, *, status: int = 404) -> SalesOrder:
        order = self.salesorders.get(salesorder_id)
        if order is None:
            raise does_not_exist("Sales Order", status=status)
        return order

    def get_salesorder(self, salesorder_id: str) -> SalesOrder:
        with self.lock:
            return copy.deepcopy(self._salesorder(salesorder_id))

    def list_salesorders(self) -> list[SalesOrder]:
        with self.lock:
            return copy.deepcopy(list(self.salesorders.values()))

    def confirm_salesorder(self, salesorder_id: str) -> SalesOrder:
        """draft -> confirmed (commits stock). Confirming again is a no-op [U]."""
        with self.lock:
            order = self._salesorder(salesorder_id)
            if order.status in ("void", "fulfilled"):
                raise invalid_state(f"A {order.status} sales order cannot be confirmed.")
            if order.status == "draft":
                self._move(order, "confirmed")
            return copy.deepcopy(order)

    def confirm_salesorders(self, salesorder_ids: list[str]) -> list[SalesOrder]:
        """Bulk confirm, all or nothing: every ID must exist and be confirmable [U]."""
        with self.lock:
            if not salesorder_ids:
                raise invalid_value("salesorder_ids")
            if len(salesorder_ids) > BULK_CONFIRM_LIMIT:
                raise invalid_value(
                    "salesorder_ids",
                    f"At most {BULK_CONFIRM_LIMIT} sales orders can be confirmed at once.",
                )
            orders = [self._salesorder(i, status=400) for i in salesorder_ids]
            for order in orders:
                if order.status in ("void", "fulfilled"):
                    raise invalid_state(f"Sales order {order.salesorder_number} is {order.status}.")
            return [self.confirm_salesorder(o.salesorder_id) for o in orders]

    def void_salesorder(self, salesorder_id: str) -> SalesOrder:
        """draft/confirmed -> void (releases committed stock). Voiding again is a no-op [U]."""
        with self.lock:
            order = self._salesorder(salesorder_id)
            if order.status == "fulfilled":
                raise invalid_state("A fulfilled sales order cannot be voided.")
            if order.status != "void":
                self._move(order, "void")
            return copy.deepcopy(order)

    def ship_salesorder(self, salesorder_id: str) -> SalesOrder:
        """Admin helper: ship a confirmed order in full (on hand drops, commitment ends)."""
        with self.lock:
            order = self._salesorder(salesorder_id)
            if order.status != "confirmed":
                raise invalid_state("Only a confirmed sales order can be shipped.")
            for line in order.lines:
                item = self._item(line.item_id)
                item.stock[line.location_id] = (
                    item.stock.get(line.location_id, Decimal(0)) - line.quantity
                )
            self._move(order, "fulfilled")
            return copy.deepcopy(order)

    def _move(self, order: SalesOrder, status: str) -> None:
        now = self.now()
        order.status = status
        order.last_modified_time = now
        for line in order.lines:
            if line.item_id in self.items:
                self.items[line.item_id].last_modified_time = now

    # -- rendering ------------------------------------------------------------------------------

    def render_item(
        self,
        item: InventoryItem,
        committed: Mapping[tuple[str, str], Decimal],
        *,
        with_locations: bool,
        only_location: str | None = None,
    ) -> dict[str, object]:
        levels = [
            (
                loc,
                item.stock.get(loc.location_id, Decimal(0)),
                committed.get((item.item_id, loc.location_id), Decimal(0)),
            )
            for loc in self.locations.values()
        ]
        counted = [lv for lv in levels if only_location in (None, lv[0].location_id)]
        on_hand = sum((lv[1] for lv in counted), Decimal(0))
        held = sum((lv[2] for lv in counted), Decimal(0))
        intra = self.taxes.get(item.intra_tax_id)
        body: dict[str, object] = {
            "item_id": item.item_id,
            "name": item.name,
            "sku": item.sku,
            "status": item.status,
            "item_type": "inventory",
            "product_type": "goods",
            "unit": item.unit,
            "description": item.description,
            "rate": item.rate,
            "purchase_rate": item.purchase_rate,
            "is_taxable": item.is_taxable,
            "tax_id": intra.tax_id if intra else "",
            "tax_name": intra.tax_name if intra else "",
            "tax_percentage": quantity(intra.tax_percentage) if intra else 0,
            "hsn_or_sac": item.hsn_or_sac,
            "item_tax_preferences": [
                {"tax_id": item.intra_tax_id, "tax_specification": "intra"},
                {"tax_id": item.inter_tax_id, "tax_specification": "inter"},
            ]
            if item.is_taxable
            else [],
            "stock_on_hand": quantity(on_hand),
            "available_stock": quantity(on_hand),
            "actual_available_stock": quantity(on_hand - held),
            "committed_stock": quantity(held),
            "actual_committed_stock": quantity(held),
            "available_for_sale_stock": quantity(on_hand - held),
            "actual_available_for_sale_stock": quantity(on_hand - held),
        }
        if with_locations:
            if self.legacy_warehouses:
                body["warehouses"] = [_warehouse_entry(*lv) for lv in levels]
            else:
                body["locations"] = [_location_entry(*lv) for lv in levels]
        body["created_time"] = self.ts(item.created_time)
        body["last_modified_time"] = self.ts(item.last_modified_time)
        return body

    def render_salesorder(self, order: SalesOrder, *, detail: bool = True) -> dict[str, object]:
        body: dict[str, object] = {
            "salesorder_id": order.salesorder_id,
            "salesorder_number": order.salesorder_number,
            "reference_number": order.reference_number,
            "date": order.date,
            "shipment_date": order.shipment_date.isoformat() if order.shipment_date else "",
            "status": order.status,
            "customer_id": order.customer_id,
            "customer_name": order.customer_name,
            "location_id": order.location_id,
            "currency_code": self.org.currency_code,
            "total": order.totals.total,
        }
        if detail:
            body.update(
                {
                    "place_of_supply": order.place_of_supply,
                    "gst_treatment": order.gst_treatment,
                    "gst_no": order.gst_no,
                    "pricebook_id": order.pricebook_id,
                    "notes": order.notes,
                    "is_inclusive_tax": False,
                    "line_items": [self._render_line(order, line) for line in order.lines],
                    "sub_total": order.totals.sub_total,
                    "tax_total": order.totals.tax_total,
                    "taxes": order.totals.render_taxes(),
                }
            )
        body["created_time"] = self.ts(order.created_time)
        body["last_modified_time"] = self.ts(order.last_modified_time)
        return body

    def _render_line(self, order: SalesOrder, line: DocLine) -> dict[str, object]:
        shipped = line.quantity if order.status == "fulfilled" else Decimal(0)
        body = line.render()
        if self.legacy_warehouses:
            body["warehouse_id"] = line.location_id
            body["warehouse_name"] = line.location_name
        body.update(
            {
                "quantity_invoiced": 0,
                "quantity_packed": quantity(shipped),
                "quantity_shipped": quantity(shipped),
                "is_invoiced": False,
            }
        )
        return body

    def render_location(self, location: Location) -> dict[str, object]:
        if self.legacy_warehouses:
            return {
                "warehouse_id": location.location_id,
                "warehouse_name": location.location_name,
                "is_primary": location.is_primary,
                "status": location.status,
            }
        return {
            "location_id": location.location_id,
            "location_name": location.location_name,
            "type": "general",
            "is_primary": location.is_primary,
            "status": location.status,
        }

    # -- seeding and snapshot ---------------------------------------------------------------

    def configure(
        self, *, legacy_warehouses: bool | None = None, list_includes_locations: bool | None = None
    ) -> dict[str, object]:
        """Set switches (None keeps one) and return them: legacy ``warehouses`` shape; per-location
        arrays in ``GET /items`` lists (off by default, as integrators report)."""
        with self.lock:
            if legacy_warehouses is not None:
                self.legacy_warehouses = legacy_warehouses
            if list_includes_locations is not None:
                self.list_includes_locations = list_includes_locations
            return {
                "legacy_warehouses": self.legacy_warehouses,
                "list_includes_locations": self.list_includes_locations,
            }

    def seed(self, payload: Mapping[str, Any]) -> dict[str, object]:
        """Seed from JSON: settings, locations, contacts, items (stock by location ID or name),
        and sales orders (wire payloads; ``"status": "confirmed"`` confirms them)."""
        with self.lock:
            settings = payload.get("settings") or {}
            if not isinstance(settings, dict):
                raise invalid_value("settings")
            self.configure(
                **{
                    k: bool(v)
                    for k, v in settings.items()
                    if k in ("legacy_warehouses", "list_includes_locations")
                }
            )
            locations = [
                self.add_location(
                    str(row.get("location_name") or row.get("name") or ""),
                    location_id=_opt(row, "location_id"),
                    is_primary=row.get("is_primary"),
                ).location_id
                for row in rows_of(payload.get("locations"), "locations")
            ]
            contacts = self.seed_contacts(payload.get("contacts"))
            items = [self._seed_item(row).item_id for row in rows_of(payload.get("items"), "items")]
            orders = []
            for row in rows_of(payload.get("salesorders"), "salesorders"):
                order = self.create_salesorder(row, own_number=bool(row.get("salesorder_number")))
                if row.get("status") == "confirmed":
                    self.confirm_salesorder(order.salesorder_id)
                orders.append(order.salesorder_id)
            return {
                "locations": locations,
                "contacts": contacts,
                "items": items,
                "salesorders": orders,
            }

    def _seed_item(self, row: Mapping[str, Any]) -> InventoryItem:
        stock = row.get("stock") or {}
        if not isinstance(stock, dict):
            raise invalid_value("stock", "Expected {location: quantity}.")
        return self.add_item(
            str(row.get("name") or ""),
            str(row.get("sku") or ""),
            to_decimal(row.get("rate", 0), "rate"),
            stock=stock,
            item_id=_opt(row, "item_id"),
            gst_rate=row.get("gst_rate", 18),
            purchase_rate=to_decimal(row.get("purchase_rate", 0), "purchase_rate"),
            unit=str(row.get("unit") or "pcs"),
            hsn_or_sac=str(row.get("hsn_or_sac") or ""),
            description=str(row.get("description") or ""),
            status=str(row.get("status") or "active"),
        )

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            committed = self._committed()
            return {
                "organization": self.org.render(),
                "settings": self.configure(),
                "locations": [self.render_location(loc) for loc in self.locations.values()],
                "contacts": [self.render_contact(c) for c in self.contacts.values()],
                "items": [
                    self.render_item(i, committed, with_locations=True) for i in self.items.values()
                ],
                "salesorders": [self.render_salesorder(o) for o in self.salesorders.values()],
            }


def _opt(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    return str(value) if value else None


def _location_entry(location: Location, on_hand: Decimal, held: Decimal) -> dict[str, object]:
    """Per-location stock; the spec types these as strings (numbers are also seen) [V/S]."""
    return {
        "location_id": location.location_id,
        "location_name": location.location_name,
        "status": location.status,
        "is_primary": location.is_primary,
        "location_stock_on_hand": stock_text(on_hand),
        "location_available_stock": stock_text(on_hand),
        "location_actual_available_stock": stock_text(on_hand - held),
        "location_committed_stock": stock_text(held),
        "location_actual_committed_stock": stock_text(held),
        "location_available_for_sale_stock": stock_text(on_hand - held),
        "location_actual_available_for_sale_stock": stock_text(on_hand - held),
    }


def _warehouse_entry(location: Location, on_hand: Decimal, held: Decimal) -> dict[str, object]:
    """Legacy multi-warehouse shape; numbers [S: field names, U: types]."""
    return {
        "warehouse_id": location.location_id,
        "warehouse_name": location.location_name,
        "status": location.status,
        "is_primary": location.is_primary,
        "warehouse_stock_on_hand": quantity(on_hand),
        "warehouse_available_stock": quantity(on_hand),
        "warehouse_actual_available_stock": quantity(on_hand - held),
        "warehouse_committed_stock": quantity(held),
        "warehouse_actual_committed_stock": quantity(held),
        "warehouse_available_for_sale_stock": quantity(on_hand - held),
        "warehouse_actual_available_for_sale_stock": quantity(on_hand - held),
    }


class InventorySimulator(ZohoApiSimulator):
    """Zoho Inventory under ``/inventory/v1``."""

    prefix = "/inventory/v1"
    state: InventoryState

    def __init__(
        self,
        *,
        clock: SimClock,
        tokens: TokenRegistry,
        org: Organization | None = None,
        faults: FaultConfig | None = None,
    ) -> None:
        super().__init__(
            state=InventoryState(org=org or Organization(), clock=clock),
            tokens=tokens,
            faults=faults,
        )

    def api_routes(self) -> list[BaseRoute]:
        return [
            *self.common_routes(),
            self.route("GET", "/locations", self._locations),
            self.route("GET", "/settings/warehouses", self._locations),
            self.route("GET", "/items", self._list_items),
            self.route("GET", "/items/{item_id}", self._get_item),
            self.route("GET", "/itemdetails", self._item_details),
            self.route("POST", "/salesorders", self._create_salesorder),
            self.route("GET", "/salesorders", self._list_salesorders),
            self.route("POST", "/salesorders/status/confirmed", self._bulk_confirm),
            self.route("GET", "/salesorders/{salesorder_id}", self._get_salesorder),
            self.route("POST", "/salesorders/{salesorder_id}/status/confirmed", self._confirm),
            self.route("POST", "/salesorders/{salesorder_id}/status/void", self._void),
        ]

    def extra_admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/__admin/settings", self._admin_settings, methods=["PUT"]),
            Route("/__admin/stock", self._admin_stock, methods=["POST"]),
            Route("/__admin/salesorders/{salesorder_id}/ship", self._admin_ship, methods=["POST"]),
        ]

    # -- API handlers ---------------------------------------------------------------------------

    async def _locations(self, request: Request) -> Response:
        state = self.state
        with state.lock:
            rows = [state.render_location(loc) for loc in state.locations.values()]
        if request.url.path.endswith("/warehouses"):
            return envelope(warehouses=rows)
        return envelope(locations=rows)

    async def _list_items(self, request: Request) -> Response:
        params = request.query_params
        state = self.state
        after = modified_after(params, state.tz)
        only = params.get("location_id") or params.get("warehouse_id")
        status = params.get("status") or {
            "Status.Active": "active",
            "Status.Inactive": "inactive",
        }.get(params.get("filter_by", ""))
        with state.lock:
            if only:
                state._location(only)
            rows = [
                i
                for i in state.items.values()
                if text_matches(params, "sku", i.sku)
                and text_matches(params, "name", i.name)
                and (status is None or i.status == status)
                and (after is None or i.last_modified_time > after)
            ]
            page, context = paginate(
                params,
                rows,
                report_name="Items",
                default_column="name",
                default_order="A",
                columns={
                    "name": lambda i: i.name.lower(),
                    "sku": lambda i: i.sku,
                    "rate": lambda i: i.rate,
                    "created_time": lambda i: i.created_time,
                    "last_modified_time": lambda i: i.last_modified_time,
                },
                id_of=lambda i: i.item_id,
            )
            committed = state._committed()
            body = [
                state.render_item(
                    i, committed, with_locations=state.list_includes_locations, only_location=only
                )
                for i in page
            ]
        return envelope(items=body, page_context=context)

    async def _get_item(self, request: Request) -> Response:
        state = self.state
        with state.lock:
            item = state._item(request.path_params["item_id"])
            return envelope(item=state.render_item(item, state._committed(), with_locations=True))

    async def _item_details(self, request: Request) -> Response:
        """Bulk detail; unknown IDs are left out [U]."""
        state = self.state
        ids = id_list(request.query_params, "item_ids")
        if not ids:
            raise invalid_value("item_ids")
        with state.lock:
            committed = state._committed()
            rows = [
                state.render_item(state.items[i], committed, with_locations=True)
                for i in ids
                if i in state.items
            ]
        return envelope(items=rows)

    async def _create_salesorder(self, request: Request) -> Response:
        payload = await read_body(request)
        state = self.state
        with state.lock:
            order = state.create_salesorder(
                payload,
                own_number=flag(request.query_params, "ignore_auto_number_generation"),
                duplicate=duplicate_requested(request.scope),
            )
            body = state.render_salesorder(order)
        return envelope("Sales Order has been created.", status=201, salesorder=body)

    async def _list_salesorders(self, request: Request) -> Response:
        params = request.query_params
        state = self.state
        after = modified_after(params, state.tz)
        status = params.get("status")
        customer = params.get("customer_id")
        with state.lock:
            rows = [
                o
                for o in state.salesorders.values()
                if text_matches(params, "salesorder_number", o.salesorder_number)
                and text_matches(params, "reference_number", o.reference_number)
                and (customer is None or o.customer_id == customer)
                and (status is None or o.status == status)
                and (after is None or o.last_modified_time > after)
            ]
            page, context = paginate(
                params,
                rows,
                report_name="Sales Orders",
                default_column="created_time",
                columns={
                    "created_time": lambda o: o.created_time,
                    "date": lambda o: o.date,
                    "salesorder_number": lambda o: o.salesorder_number,
                    "customer_name": lambda o: o.customer_name.lower(),
                    "total": lambda o: o.totals.total,
                    "last_modified_time": lambda o: o.last_modified_time,
                },
                id_of=lambda o: o.salesorder_id,
            )
            body = [state.render_salesorder(o, detail=False) for o in page]
        return envelope(salesorders=body, page_context=context)

    async def _get_salesorder(self, request: Request) -> Response:
        with self.state.lock:
            order = self.state.get_salesorder(request.path_params["salesorder_id"])
            return envelope(salesorder=self.state.render_salesorder(order))

    async def _confirm(self, request: Request) -> Response:
        self.state.confirm_salesorder(request.path_params["salesorder_id"])
        return envelope("Sales Order has been marked as confirmed.")

    async def _void(self, request: Request) -> Response:
        self.state.void_salesorder(request.path_params["salesorder_id"])
        return envelope("Sales Order has been voided.")

    async def _bulk_confirm(self, request: Request) -> Response:
        self.state.confirm_salesorders(id_list(request.query_params, "salesorder_ids"))
        return envelope("The selected sales orders have been confirmed.")  # [U] message

    # -- admin handlers ---------------------------------------------------------------------

    async def _admin_settings(self, request: Request) -> Response:
        return await admin_call(
            request,
            lambda body: self.state.configure(
                legacy_warehouses=body.get("legacy_warehouses"),
                list_includes_locations=body.get("list_includes_locations"),
            ),
        )

    async def _admin_stock(self, request: Request) -> Response:
        """``{"item_id", "location_id", "quantity"}`` sets on hand; ``"delta"`` adjusts it."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            item_id, location_id = str(body.get("item_id")), str(body.get("location_id"))
            if body.get("delta") is not None:
                level = self.state.adjust_stock(item_id, location_id, body["delta"])
            else:
                level = self.state.set_stock(item_id, location_id, body.get("quantity", 0))
            return _render_level(level)

        return await admin_call(request, action)

    async def _admin_ship(self, request: Request) -> Response:
        def action(body: dict[str, Any]) -> dict[str, object]:
            order = self.state.ship_salesorder(request.path_params["salesorder_id"])
            return self.state.render_salesorder(order)

        return await admin_call(request, action)


def _render_level(level: StockLevel) -> dict[str, object]:
    return {
        "item_id": level.item_id,
        "location_id": level.location_id,
        "on_hand": quantity(level.on_hand),
        "committed": quantity(level.committed),
        "available_for_sale": quantity(level.available_for_sale),
    }
