"""Finding categories: what each means, how severe it is, and the remedy and detail templates.

Templates are data so that finance-facing wording lives in one place. A placeholder ``{name}`` is
filled from the finding's column (or a helper field the classifier computes) of the same name;
``{name:shell}`` quotes the value for a POSIX shell, so a remedy stays a command one can paste even
when a key holds a space or a ``#``. The classifier renders templates as vectorised polars string
expressions, never row by row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

Severity = Literal["high", "medium", "low"]
SEVERITY_ORDER: Final[tuple[Severity, ...]] = ("high", "medium", "low")

ORDER_TO_INVOICE: Final = "dealer-sync run order-to-invoice --order-id {order_key:shell}"
INVENTORY_REFRESH: Final = "dealer-sync run inventory-refresh --full"
PULLBACK: Final = "dealer-sync run invoice-payment-pullback"


class Category(StrEnum):
    """Every outcome of comparing a record; all but ``MATCHED`` are emitted as findings."""

    MATCHED = "matched"
    IN_FLIGHT = "in_flight"
    MISSING_INVOICE = "missing_invoice"
    ORPHAN_INVOICE = "orphan_invoice"
    DUPLICATE_INVOICE = "duplicate_invoice"
    CANCELLED_ORDER_POSTED = "cancelled_order_posted"
    CURRENCY_MISMATCH = "currency_mismatch"
    DEALER_MISMATCH = "dealer_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    TAX_MISMATCH = "tax_mismatch"
    ROUNDING_DIFFERENCE = "rounding_difference"
    MISSING_SALES_ORDER = "missing_sales_order"
    ORPHAN_SALES_ORDER = "orphan_sales_order"
    DUPLICATE_SALES_ORDER = "duplicate_sales_order"
    QUANTITY_MISMATCH = "quantity_mismatch"
    STALE_AVAILABILITY = "stale_availability"
    NEGATIVE_AVAILABILITY = "negative_availability"
    OUTSTANDING_MISMATCH = "outstanding_mismatch"
    UNAPPLIED_PAYMENT = "unapplied_payment"
    UNAPPLIED_CREDIT = "unapplied_credit"


@dataclass(frozen=True)
class CategoryInfo:
    """A category's fixed severity, its meaning for finance, and its remedy and detail templates.

    ``remedies`` maps a variant name to a template; ``"default"`` is always present. A category has
    variants where the right action depends on the record (void an unpaid invoice, credit a paid one).
    """

    severity: Severity
    meaning: str
    remedies: Mapping[str, str]
    detail: str

    def __post_init__(self) -> None:
        if "default" not in self.remedies:
            raise ValueError("a category needs a default remedy")
        object.__setattr__(self, "remedies", MappingProxyType(dict(self.remedies)))

    @property
    def remedy(self) -> str:
        """The default remedy template."""
        return self.remedies["default"]


def _info(severity: Severity, meaning: str, detail: str, remedy: str, **variants: str) -> CategoryInfo:
    return CategoryInfo(severity, meaning, {"default": remedy, **variants}, detail)


CATEGORIES: Final[Mapping[Category, CategoryInfo]] = MappingProxyType(
    {
        Category.IN_FLIGHT: _info(
            "low",
            "A confirmed order not yet fully posted, still inside the in-flight window.",
            "Order {order_key} ({portal_amount}, dealer {dealer_key}) was confirmed {age_text} ago, "
            "inside the {window_text} in-flight window, and has no {missing} yet.",
            "none yet: order-to-invoice posts it on its next run; if it is still missing after that, run "
            + ORDER_TO_INVOICE,
        ),
        Category.MISSING_INVOICE: _info(
            "high",
            "A confirmed order with no live invoice, past the in-flight window: revenue not billed.",
            "Order {order_key} ({portal_amount}, dealer {dealer_key}) was confirmed {age_text} ago and has "
            "no invoice in the ledger.",
            ORDER_TO_INVOICE,
        ),
        Category.ORPHAN_INVOICE: _info(
            "high",
            "An invoice whose reference is empty or names no portal order: billed without an order.",
            "Invoice {invoice_key} ({ledger_amount}, {status}, dealer {dealer_key}) {reference_text}.",
            "set the reference number of invoice {invoice_key} to the portal order it bills; if it bills "
            "no order, void it in the accounting system, then run " + PULLBACK,
            paid="set the reference number of invoice {invoice_key} to the portal order it bills; if it "
            "bills no order, issue a credit note against it (it has been paid) and refund or reapply the "
            "payment, then run " + PULLBACK,
            void="set the reference number of invoice {invoice_key} to the portal order it was meant for; "
            "it is void, so no money is at stake",
        ),
        Category.DUPLICATE_INVOICE: _info(
            "high",
            "A second live invoice for an order that another invoice already bills.",
            "Invoice {invoice_key} ({ledger_amount}) bills order {order_key} a second time; invoice "
            "{other_key} already bills it.",
            "void duplicate invoice {invoice_key} in the accounting system (order {order_key} is billed by "
            "invoice {other_key}), then run " + PULLBACK,
            paid="issue a credit note against duplicate invoice {invoice_key} in the accounting system and "
            "refund or reapply its payment (order {order_key} is billed by invoice {other_key}), then run "
            + PULLBACK,
        ),
        Category.CANCELLED_ORDER_POSTED: _info(
            "high",
            "A live invoice or sales order for an order the portal has cancelled (or not confirmed).",
            "Order {order_key} is {order_status} in the portal but {document} is still live ({amount_text}).",
            "void invoice {invoice_key} in the accounting system (order {order_key} is {order_status}), "
            "then run " + PULLBACK,
            paid="issue a credit note against invoice {invoice_key} in the accounting system and refund or "
            "reapply its payment (order {order_key} is {order_status}), then run " + PULLBACK,
            sales_order="cancel sales order {so_key} in the inventory system to release its stock "
            "(order {order_key} is {order_status})",
        ),
        Category.CURRENCY_MISMATCH: _info(
            "high",
            "An invoice in a different currency from its order; amounts are not compared across currencies.",
            "Invoice {invoice_key} is in {ledger_currency} ({ledger_amount}) but order {order_key} is in "
            "{portal_currency} ({portal_amount}).",
            "void invoice {invoice_key} in the accounting system and invoice order {order_key} again in "
            "{portal_currency} ({portal_amount}), then run " + PULLBACK,
            paid="issue a credit note against invoice {invoice_key} in the accounting system, refund or "
            "reapply its payment, and invoice order {order_key} again in {portal_currency} "
            "({portal_amount}), then run " + PULLBACK,
        ),
        Category.DEALER_MISMATCH: _info(
            "high",
            "An invoice or sales order booked to another customer than the order's dealer (or unmapped).",
            "{document} is booked to dealer {other_dealer} but order {order_key} belongs to dealer "
            "{dealer_key}.",
            "move invoice {invoice_key} to the customer of dealer {dealer_key} in the accounting system "
            "(credit note and re-invoice), then run " + PULLBACK,
            unmapped_invoice="map the accounting customer of invoice {invoice_key} to dealer {dealer_key} "
            "in the sync store's dealer mappings, then run " + PULLBACK,
            sales_order="move sales order {so_key} to the customer of dealer {dealer_key} in the inventory "
            "system",
            unmapped_sales_order="map the inventory customer of sales order {so_key} to dealer "
            "{dealer_key} in the sync store's dealer mappings",
        ),
        Category.AMOUNT_MISMATCH: _info(
            "high",
            "Invoice total differs from the order total by more than one minor unit per order line.",
            "Invoice {invoice_key} totals {ledger_amount} but order {order_key} totals {portal_amount}: "
            "{direction} by {diff_amount}, beyond the rounding tolerance of {tolerance} minor units.",
            "issue a credit note of {diff_amount} against invoice {invoice_key} in the accounting system so "
            "that order {order_key} is billed {portal_amount}, then run " + PULLBACK,
            underbilled="issue a supplementary invoice of {diff_amount} to dealer {dealer_key} referencing "
            "order {order_key} (invoice {invoice_key} is short), then run " + PULLBACK,
        ),
        Category.TAX_MISMATCH: _info(
            "high",
            "Invoice tax differs from the order tax beyond the rounding tolerance (wrong rate or split).",
            "Invoice {invoice_key} charges tax {ledger_tax} but order {order_key} has tax {portal_tax}: "
            "{diff_amount} apart{tax_note}.",
            "correct the tax on invoice {invoice_key} to {portal_tax} in the accounting system (credit note "
            "or supplementary invoice) and check the tax treatment mapped for dealer {dealer_key}, then run "
            + PULLBACK,
        ),
        Category.ROUNDING_DIFFERENCE: _info(
            "low",
            "Invoice and order differ by at least one and at most one minor unit per order line.",
            "Invoice {invoice_key} ({ledger_amount}) and order {order_key} ({portal_amount}) differ by "
            "{diff_amount} in {what}, within the rounding tolerance of {tolerance} minor units.",
            "no correction needed: post {diff_amount} on invoice {invoice_key} to the rounding account",
        ),
        Category.MISSING_SALES_ORDER: _info(
            "medium",
            "A confirmed or invoiced order with no live sales order: its stock is not reserved.",
            "Order {order_key} ({portal_amount}, dealer {dealer_key}) was confirmed {age_text} ago and has "
            "no sales order in the inventory system, so its stock is not reserved.",
            ORDER_TO_INVOICE,
        ),
        Category.ORPHAN_SALES_ORDER: _info(
            "medium",
            "A live sales order whose reference is empty or names no portal order: stock held for nothing.",
            "Sales order {so_key} (dealer {dealer_key}) {reference_text}.",
            "set the reference number of sales order {so_key} to the portal order it fulfils, or cancel it "
            "in the inventory system to release its stock",
        ),
        Category.DUPLICATE_SALES_ORDER: _info(
            "medium",
            "A second live sales order for an order: its stock is reserved twice.",
            "Sales order {so_key} reserves stock for order {order_key} ({portal_amount}) a second time; "
            "sales order {other_key} already does.",
            "cancel duplicate sales order {so_key} in the inventory system (order {order_key} is reserved "
            "by sales order {other_key})",
        ),
        Category.QUANTITY_MISMATCH: _info(
            "medium",
            "An order line's quantity differs from its sales order line (or the SKU is on one side only).",
            "Order {order_key} has {portal_qty} of sku {sku}; sales order {so_key} has {inventory_qty}.",
            "set the quantity of sku {sku} on sales order {so_key} to {portal_qty} in the inventory system",
            portal_only="add sku {sku} x {portal_qty} to sales order {so_key} in the inventory system",
            inventory_only="remove sku {sku} from sales order {so_key} in the inventory system (order "
            "{order_key} does not have it)",
        ),
        Category.STALE_AVAILABILITY: _info(
            "medium",
            "Portal availability differs from the inventory system's (or one side has no row).",
            "The portal shows {portal_qty} available of sku {sku} in warehouse {warehouse_key}; the "
            "inventory system has {inventory_qty} (tolerance {tolerance}).",
            INVENTORY_REFRESH,
        ),
        Category.NEGATIVE_AVAILABILITY: _info(
            "medium",
            "The portal shows negative availability: committed stock exceeds stock on hand.",
            "The portal shows {portal_qty} available of sku {sku} in warehouse {warehouse_key}; the "
            "inventory system has {inventory_qty}.",
            INVENTORY_REFRESH,
            overcommitted="release or correct the over-committed stock of sku {sku} in warehouse "
            "{warehouse_key} in the inventory system (committed exceeds on hand), then run "
            + INVENTORY_REFRESH,
        ),
        Category.OUTSTANDING_MISMATCH: _info(
            "high",
            "The outstanding a dealer sees in the portal differs from the ledger's open invoice balances.",
            "The portal shows dealer {dealer_key} owing {portal_amount}; the ledger's open invoices total "
            "{ledger_amount} ({diff_amount} apart).",
            PULLBACK,
        ),
        Category.UNAPPLIED_PAYMENT: _info(
            "medium",
            "A payment not (fully) applied to invoices: the dealer's invoices look more overdue than "
            "they are.",
            "Payment {payment_key} of {ledger_amount} from dealer {dealer_key}, received {paid_on}, has "
            "{diff_amount} not applied to any invoice.",
            "apply payment {payment_key} ({diff_amount} unapplied) to the open invoices of dealer "
            "{dealer_key} in the accounting system (or refund it), then run " + PULLBACK,
        ),
        Category.UNAPPLIED_CREDIT: _info(
            "low",
            "A credit note with a balance left to apply.",
            "Credit note {credit_note_key} of {ledger_amount} for dealer {dealer_key}{against} has "
            "{diff_amount} not applied.",
            "apply credit note {credit_note_key} ({diff_amount} open) to the open invoices of dealer "
            "{dealer_key} in the accounting system (or refund it), then run " + PULLBACK,
        ),
    }
)
"""Every emitted category. ``Category.MATCHED`` has no entry: matched records are counted, not listed."""

FINDING_CATEGORIES: Final[tuple[Category, ...]] = tuple(CATEGORIES)


def severity_of(category: Category | str) -> Severity:
    """The fixed severity of a category (an orphan invoice that is void is the one exception: low)."""
    return CATEGORIES[Category(category)].severity
