"""Wire bodies of the Zoho documents we create, rendered from a MappedOrder."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dealer_sync.models import MappedOrder, TaxKind

_GST_TREATMENT = {
    TaxKind.INTRA_STATE: "business_gst",
    TaxKind.INTER_STATE: "business_gst",
    TaxKind.ZERO_RATED: "overseas",
    TaxKind.EXEMPT: "business_none",
}


def number(value: Decimal) -> float | int:
    """A JSON number for Zoho. Exact for our values: at most 15 significant digits survive a float."""
    if value == value.to_integral_value():
        return int(value)
    if len(value.normalize().as_tuple().digits) > 15:
        raise ValueError(f"{value} has more digits than a JSON number carries exactly")
    return float(value)


def _common(order: MappedOrder) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": order.customer_id,
        "reference_number": order.order_number,
        "date": order.business_date.isoformat(),
        "is_inclusive_tax": False,
        "notes": f"Dealer portal order {order.order_number}",
    }
    treatment = order.tax_treatment
    if treatment.place_of_supply:
        body["place_of_supply"] = treatment.place_of_supply
    if treatment.kind in _GST_TREATMENT:
        body["gst_treatment"] = _GST_TREATMENT[treatment.kind]
        if order.tax_registration:
            body["gst_no"] = order.tax_registration
    if order.warehouse_id:
        body["location_id"] = order.warehouse_id
    return body


def _lines(order: MappedOrder) -> list[dict[str, Any]]:
    lines = []
    for line in order.lines:
        item: dict[str, Any] = {
            "item_id": line.item_id,
            "rate": number(line.unit_price.amount),
            "quantity": number(line.quantity),
        }
        if line.description:
            item["description"] = line.description
        if line.tax_id:
            item["tax_id"] = line.tax_id
        if line.hsn_or_sac:
            item["hsn_or_sac"] = line.hsn_or_sac
        if order.warehouse_id:
            item["location_id"] = order.warehouse_id
        lines.append(item)
    return lines


def sales_order_body(order: MappedOrder) -> dict[str, Any]:
    return {**_common(order), "salesorder_number": order.document_number, "line_items": _lines(order)}


def invoice_body(order: MappedOrder) -> dict[str, Any]:
    return {
        **_common(order),
        "invoice_number": order.document_number,
        "payment_terms": order.payment_terms_days,
        "line_items": _lines(order),
    }
