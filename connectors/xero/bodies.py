"""Wire bodies of the Xero documents we create, rendered from a MappedOrder, and their keys."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from connectors.zoho.bodies import number
from dealer_sync.models import MappedOrder

IDEMPOTENCY_KEY_MAX = 128  # apis.md 3.5 [V]
NO_TAX = "NONE"


def invoice_body(order: MappedOrder) -> dict[str, Any]:
    """An ACCREC invoice numbered with our document number, AUTHORISED at once (no drafts).

    Lines name the item by ItemCode (its sales account comes from the item) and the tax by
    TaxType; amounts are tax-exclusive, so Xero computes the tax from the TaxType's rate.
    """
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": order.customer_id},
        "InvoiceNumber": order.document_number,
        "Reference": order.order_number,
        "Date": order.business_date.isoformat(),
        "DueDate": (order.business_date + timedelta(days=order.payment_terms_days)).isoformat(),
        "LineAmountTypes": "Exclusive",
        "Status": "AUTHORISED",
        "CurrencyCode": order.currency,
        "LineItems": [
            {
                "ItemCode": line.item_id,
                "Description": line.description or line.sku,
                "Quantity": number(line.quantity),
                "UnitAmount": number(line.unit_price.amount),
                "TaxType": line.tax_id or NO_TAX,
            }
            for line in order.lines
        ],
    }


def _bounded(prefix: str, text: str) -> str:
    key = f"{prefix}{text}"
    if len(key) <= IDEMPOTENCY_KEY_MAX:
        return key
    return f"{prefix}sha256-{hashlib.sha256(text.encode()).hexdigest()}"


def invoice_key(document_number: str) -> str:
    """The Idempotency-Key of one invoice's create: the same number always sends the same key."""
    return _bounded("dealer-sync-invoice-", document_number)


def batch_key(document_numbers: Sequence[str]) -> str:
    """The Idempotency-Key of a batch: the same numbers in the same order, the same key."""
    digest = hashlib.sha256("\n".join(document_numbers).encode()).hexdigest()
    return f"dealer-sync-invoices-{digest}"
