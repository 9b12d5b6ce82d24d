"""Map portal orders onto each target's keys and check them before anything is posted.

Checks that need the whole picture (credit, tax as the target will compute it) live here;
per-line checks on mapped keys and prices are Great Expectations on the line frame (see
expectations/suites.py), so each failure names the expectation that failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dealer_sync.models import Dealer, MappedLine, MappedOrder, Order, PriceList, TaxTreatment
from dealer_sync.money import Money, total
from dealer_sync.store import MappingKind, QuarantineItem
from dealer_sync.tax import line_tax, tax_key, tax_lines, treatment_for

SALES_ORDER = "salesorder"
INVOICE = "invoice"


@dataclass(frozen=True)
class TargetTables:
    """One target system's mapping tables, loaded once per batch."""

    system: str
    customers: dict[str, str]  # dealer code -> customer id
    items: dict[str, str]  # SKU -> item id
    taxes: dict[str, str]  # tax key -> tax id
    warehouses: dict[str, str] = field(default_factory=dict)  # portal warehouse code -> location id


@dataclass(frozen=True)
class MappingContext:
    dealers: dict[str, Dealer]
    price_lists: dict[str, PriceList]
    outstanding: dict[str, Money]  # dealer code -> open invoice balances in the ledger
    warehouses: dict[str, str | None]  # order id -> portal warehouse code
    home_state: str
    targets: tuple[TargetTables, ...]
    document_prefix: dict[str, str]  # system -> prefix of our document numbers ("SO-", "INV-")
    home_country: str = "IN"
    hsn: dict[str, str] = field(default_factory=dict)  # SKU -> HSN/SAC code, from the portal catalog


@dataclass
class MappingResult:
    accepted: list[tuple[Order, dict[str, MappedOrder]]] = field(default_factory=list)
    quarantined: list[QuarantineItem] = field(default_factory=list)
    line_rows: list[dict[str, Any]] = field(default_factory=list)


def order_payload(order: Order) -> dict[str, Any]:
    return order.model_dump(mode="json")


def quarantine(order: Order, reason: str, check: str) -> QuarantineItem:
    return QuarantineItem("order", order.id, order_payload(order), reason, check)


def tax_code(target: TargetTables, treatment: TaxTreatment, rate: Decimal, currency: str) -> str | None:
    """The target's tax code for a line: None when unmapped, "" when no tax applies to the line."""
    code = target.taxes.get(tax_key(treatment, rate))
    if code is None and not tax_lines(Money.zero(currency), rate, treatment):
        return ""  # zero-rated, exempt, reverse charge or a 0 % rate: nothing to map
    return code


def line_frame_rows(
    order: Order, ctx: MappingContext, target: TargetTables, treatment: TaxTreatment
) -> list[dict[str, Any]]:
    """The rows the ``order_lines`` expectation suite checks, one per line, with None where unmapped."""
    dealer = ctx.dealers.get(order.dealer_id)
    price_list = ctx.price_lists.get(dealer.price_list_id or "") if dealer else None
    rows = []
    for line in order.lines:
        list_price = price_list.price_for(line.sku) if price_list else None
        rows.append(
            {
                "line_key": f"{order.id}#{line.line_no}@{target.system}",
                "order_id": order.id,
                "dealer_id": order.dealer_id,
                "customer_id": target.customers.get(order.dealer_id),
                "sku": line.sku,
                "item_id": target.items.get(line.sku),
                "quantity": line.quantity,
                "unit_price": line.unit_price.amount,
                "list_price": list_price.amount if list_price else None,
                "tax_rate": line.tax_rate,
                "tax_code": tax_code(target, treatment, line.tax_rate, order.currency),
                "currency": order.currency,
            }
        )
    return rows


def map_orders(orders: list[Order], ctx: MappingContext) -> MappingResult:
    """Check every order and map the good ones onto every target; never raises for one bad order."""
    result = MappingResult()
    committed: dict[str, Money] = {}  # dealer code -> totals accepted earlier in this batch
    for order in orders:
        dealer = ctx.dealers.get(order.dealer_id)
        if dealer is None:
            result.quarantined.append(
                quarantine(order, f"dealer {order.dealer_id} is not in the portal", "dealer exists")
            )
            continue
        try:
            treatment = treatment_for(dealer, ctx.home_state, ctx.home_country)
        except ValueError as exc:
            result.quarantined.append(quarantine(order, str(exc), "place of supply known"))
            continue
        problem = _tax_problem(order, treatment)
        if problem:
            result.quarantined.append(quarantine(order, problem, "tax as the target computes it"))
            continue
        exposure = ctx.outstanding.get(dealer.id, Money.zero(order.currency))
        if dealer.id in committed:
            exposure = exposure + committed[dealer.id]
        if exposure + order.total > dealer.credit_limit:
            result.quarantined.append(
                quarantine(
                    order,
                    f"order total {order.total} with {exposure} outstanding exceeds the credit limit "
                    f"{dealer.credit_limit} of dealer {dealer.id}",
                    "within credit limit",
                )
            )
            continue
        mapped: dict[str, MappedOrder] = {}
        for target in ctx.targets:
            result.line_rows.extend(line_frame_rows(order, ctx, target, treatment))
            built = _map_for_target(order, dealer, treatment, target, ctx)
            if isinstance(built, MappedOrder):
                mapped[target.system] = built
        if len(mapped) == len(ctx.targets):
            result.accepted.append((order, mapped))
            committed[dealer.id] = committed.get(dealer.id, Money.zero(order.currency)) + order.total
        # else: a key is unmapped; the expectation suite names it and quarantines the order
    return result


def _tax_problem(order: Order, treatment: TaxTreatment) -> str | None:
    for line in order.lines:
        expected = line_tax(line.amount, line.tax_rate, treatment)
        if expected != line.tax_amount:
            return (
                f"line {line.line_no} ({line.sku}): portal tax {line.tax_amount} but "
                f"{treatment.kind.value} GST at {line.tax_rate}% comes to {expected}"
            )
    return None


def _map_for_target(
    order: Order, dealer: Dealer, treatment: TaxTreatment, target: TargetTables, ctx: MappingContext
) -> MappedOrder | None:
    customer = target.customers.get(order.dealer_id)
    if customer is None:
        return None
    lines = []
    for line in order.lines:
        item = target.items.get(line.sku)
        code = tax_code(target, treatment, line.tax_rate, order.currency)
        if item is None or code is None:
            return None
        lines.append(
            MappedLine(
                line_no=line.line_no,
                sku=line.sku,
                item_id=item,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
                tax_rate=line.tax_rate,
                tax_id=code or None,
                tax_lines=tax_lines(line.amount, line.tax_rate, treatment),
                hsn_or_sac=ctx.hsn.get(line.sku),
            )
        )
    warehouse_code = ctx.warehouses.get(order.id)
    return MappedOrder(
        target_system=target.system,
        order_id=order.id,
        order_number=order.number,
        version=order.version,
        dealer_id=dealer.id,
        customer_id=customer,
        document_number=f"{ctx.document_prefix.get(target.system, '')}{order.number}",
        currency=order.currency,
        business_date=order.business_date,
        payment_terms_days=dealer.payment_terms_days,
        warehouse_id=target.warehouses.get(warehouse_code) if warehouse_code else None,
        tax_treatment=treatment,
        tax_registration=dealer.tax_registration,
        lines=tuple(lines),
        subtotal=order.subtotal,
        tax_total=total([ln.tax_amount for ln in order.lines], order.currency),
        total=order.total,
    )


def load_target_tables(mappings: Any, system: str, with_warehouses: bool = False) -> TargetTables:
    """Read one target's mapping tables from the store (``mappings``: a store Mappings)."""
    return TargetTables(
        system=system,
        customers=mappings.table(MappingKind.DEALER_CUSTOMER, system),
        items=mappings.table(MappingKind.SKU_ITEM, system),
        taxes=mappings.table(MappingKind.TAX_CODE, system),
        warehouses=(
            {code: loc for loc, code in mappings.table(MappingKind.WAREHOUSE, system).items()}
            if with_warehouses
            else {}
        ),
    )
