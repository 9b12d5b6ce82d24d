"""Sales lines and tax of QBO invoices and credit memos, computed as QBO computes them (apis.md 2.2, 2.9).

A line is ``{"DetailType": "SalesItemLineDetail", "Amount", "SalesItemLineDetail": {"ItemRef",
"Qty", "UnitPrice", "TaxCodeRef"}}`` or a ``DescriptionOnly`` line. QBO works ``TxnTaxDetail`` out
of each line's ``TaxCodeRef`` when the request sends none; here every tax rate of the code is
applied to each line and rounded half up on its own, then summed per rate into ``TaxLine``s.
That is how GST invoices round (and how dealer_sync.tax does), so a CGST+SGST code can differ by
a paisa from its rate applied once; whether QBO rounds per line or per rate is [U].
``TaxCodeRef`` ``NON`` (US style) means untaxed; other codes must exist. Tax-inclusive amounts
and discount or group lines are not simulated (a 6000 Fault says so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.quickbooks.wire import (
    CODE_BUSINESS_VALIDATION,
    CODE_REQUIRED,
    QboFault,
    amount,
    invalid_reference,
    number,
    validation_fault,
)
from sandbox.zoho.common import money

UNTAXED_CODE = "NON"


@dataclass(frozen=True)
class Rate:
    """One tax rate of a tax code: its TaxRate id, name and percentage."""

    rate_id: str
    name: str
    percent: Decimal


@dataclass(frozen=True)
class Lookups:
    """What lines may refer to: item names by id, and the rates of each tax code."""

    item_name: Callable[[str], str | None]
    item_price: Callable[[str], Decimal | None]
    tax_rates: Callable[[str], list[Rate] | None]


@dataclass(frozen=True)
class ComputedLines:
    lines: list[dict[str, Any]]
    subtotal: Decimal
    tax_detail: dict[str, Any]
    total_tax: Decimal


def required(element: str) -> QboFault:
    return validation_fault(
        CODE_REQUIRED,
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def ref_value(payload: Mapping[str, Any], key: str) -> str | None:
    """``{"CustomerRef": {"value": "58"}}`` -> ``"58"``; a bare string is read too."""
    ref = payload.get(key)
    if isinstance(ref, Mapping):
        ref = ref.get("value")
    if ref is None or str(ref).strip() == "":
        return None
    return str(ref).strip()


def _number_field(raw: Mapping[str, Any], key: str, element: str, *, money_value: bool) -> Decimal | None:
    if raw.get(key) is None:
        return None
    try:
        return amount(raw[key]) if money_value else number(raw[key])
    except ValueError as exc:
        raise validation_fault(
            CODE_BUSINESS_VALIDATION, "Invalid Number", f"{element} is not a number", element
        ) from exc


def compute_lines(payload: Mapping[str, Any], lookups: Lookups) -> ComputedLines:
    """Validate the request's ``Line`` and work out amounts and tax; raise a Fault on bad data."""
    raw_lines = payload.get("Line")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise required("Line")
    tax_mode = str(payload.get("GlobalTaxCalculation") or "TaxExcluded")
    if tax_mode == "TaxInclusive":
        raise validation_fault(
            CODE_BUSINESS_VALIDATION, "Unsupported", "TaxInclusive is not simulated", "GlobalTaxCalculation"
        )
    lines: list[dict[str, Any]] = []
    per_rate: dict[str, tuple[Rate, Decimal, Decimal]] = {}
    subtotal = Decimal("0.00")
    for raw in raw_lines:
        if not isinstance(raw, Mapping):
            raise required("Line")
        detail_type = str(raw.get("DetailType") or "")
        if detail_type == "SubTotalLineDetail":
            continue  # QBO writes its own subtotal line on read
        line_no = len(lines) + 1
        if detail_type == "DescriptionOnly":
            lines.append(
                {
                    "Id": str(line_no),
                    "LineNum": line_no,
                    "Description": str(raw.get("Description") or ""),
                    "DetailType": "DescriptionOnly",
                    "DescriptionLineDetail": {},
                }
            )
            continue
        if detail_type != "SalesItemLineDetail":
            raise validation_fault(
                CODE_BUSINESS_VALIDATION,
                "Unsupported line",
                f"DetailType {detail_type or '(none)'} is not simulated",
                "Line.DetailType",
            )
        line, taxes = _sales_line(raw, line_no, lookups, tax_mode != "NotApplicable")
        lines.append(line)
        subtotal += line["Amount"]
        for rate, tax in taxes:
            _, net, sum_tax = per_rate.get(rate.rate_id, (rate, Decimal(0), Decimal(0)))
            per_rate[rate.rate_id] = (rate, net + line["Amount"], sum_tax + tax)
    if not any(line["DetailType"] == "SalesItemLineDetail" for line in lines):
        raise required("Line.SalesItemLineDetail")
    tax_lines = [
        {
            "Amount": money(tax),
            "DetailType": "TaxLineDetail",
            "TaxLineDetail": {
                "TaxRateRef": {"value": rate.rate_id, "name": rate.name},
                "PercentBased": True,
                "TaxPercent": rate.percent,
                "NetAmountTaxable": money(net),
            },
        }
        for rate, net, tax in per_rate.values()
    ]
    total_tax = money(sum((t for _, _, t in per_rate.values()), Decimal(0)))
    return ComputedLines(lines, money(subtotal), {"TotalTax": total_tax, "TaxLine": tax_lines}, total_tax)


def _sales_line(
    raw: Mapping[str, Any], line_no: int, lookups: Lookups, taxed: bool
) -> tuple[dict[str, Any], list[tuple[Rate, Decimal]]]:
    detail = raw.get("SalesItemLineDetail")
    if not isinstance(detail, Mapping):
        raise required("Line.SalesItemLineDetail")
    item_id = ref_value(detail, "ItemRef")
    if item_id is None:
        raise required("Line.SalesItemLineDetail.ItemRef")
    item_name = lookups.item_name(item_id)
    if item_name is None:
        raise invalid_reference("Item", item_id, "Line.SalesItemLineDetail.ItemRef")
    qty = _number_field(detail, "Qty", "Line.SalesItemLineDetail.Qty", money_value=False)
    price = _number_field(detail, "UnitPrice", "Line.SalesItemLineDetail.UnitPrice", money_value=False)
    line_amount = _number_field(raw, "Amount", "Line.Amount", money_value=True)
    if line_amount is None:
        raise required("Line.Amount")
    if price is None:
        price = lookups.item_price(item_id) or Decimal(0)
    if qty is not None and money(qty * price) != line_amount:
        # [S] 6070 in client libraries' error lists; QBO wants Amount = UnitPrice x Qty.
        raise validation_fault(
            "6070",
            "Amount is not equal to UnitPrice * Qty",
            f"Amount {line_amount} is not equal to UnitPrice {price} * Qty {qty}",
            "Line.Amount",
        )
    code = ref_value(detail, "TaxCodeRef")
    rates: list[Rate] = []
    if code is not None and code != UNTAXED_CODE:
        found = lookups.tax_rates(code)
        if found is None:
            raise invalid_reference("TaxCode", code, "Line.SalesItemLineDetail.TaxCodeRef")
        rates = found if taxed else []
    sales: dict[str, Any] = {"ItemRef": {"value": item_id, "name": item_name}, "UnitPrice": price}
    if qty is not None:
        sales["Qty"] = qty
    if code is not None:
        sales["TaxCodeRef"] = {"value": code}
    line: dict[str, Any] = {"Id": str(line_no), "LineNum": line_no}
    if raw.get("Description"):
        line["Description"] = str(raw["Description"])
    line |= {"Amount": line_amount, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": sales}
    return line, [(rate, money(line_amount * rate.percent / 100)) for rate in rates]


def subtotal_line(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``SubTotalLineDetail`` line QBO appends on read."""
    total = sum((line["Amount"] for line in lines if line["DetailType"] == "SalesItemLineDetail"), Decimal(0))
    return {"Amount": money(total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
