"""Wire bodies of the QBO documents we create, rendered from a MappedOrder, and their request ids.

The portal order number rides in ``PrivateNote`` (QBO invoices have no reference field without
custom-field setup [U]), written and read back by the same prefix. Tax is one ``TaxCodeRef`` per
line: QBO works ``TxnTaxDetail`` out from it (apis.md 2.9), so no TaxLine is sent.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

from connectors.zoho.bodies import number
from dealer_sync.models import MappedLine, MappedOrder

REFERENCE_PREFIX = "Dealer portal order "
_REFERENCE = re.compile(rf"^{re.escape(REFERENCE_PREFIX)}(\S+)")
_REQUEST_NAMESPACE = uuid.UUID("6f1c2a4e-4d0b-5e36-9a57-0f2b8c4d9e11")


def _line(line: MappedLine) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "ItemRef": {"value": line.item_id},
        "Qty": number(line.quantity),
        "UnitPrice": number(line.unit_price.amount),
    }
    if line.tax_id:
        detail["TaxCodeRef"] = {"value": line.tax_id}
    body: dict[str, Any] = {
        "LineNum": line.line_no,
        "DetailType": "SalesItemLineDetail",
        "Amount": number(line.amount.amount),
        "SalesItemLineDetail": detail,
    }
    if line.description:
        body["Description"] = line.description
    return body


def invoice_body(order: MappedOrder) -> dict[str, Any]:
    """``DocNumber`` is our number (the handle for lookups); due date from the dealer's terms."""
    return {
        "DocNumber": order.document_number,
        "TxnDate": order.business_date.isoformat(),
        "DueDate": (order.business_date + timedelta(days=order.payment_terms_days)).isoformat(),
        "CustomerRef": {"value": order.customer_id},
        "CurrencyRef": {"value": order.currency},
        "GlobalTaxCalculation": "TaxExcluded",
        "PrivateNote": f"{REFERENCE_PREFIX}{order.order_number}",
        "Line": [_line(line) for line in order.lines],
    }


def reference_of(private_note: str | None) -> str | None:
    """The portal order number in a note we wrote; None for invoices made by hand."""
    match = _REFERENCE.match(private_note or "")
    return match.group(1) if match else None


def request_id(kind: str, body: Any) -> str:
    """A ``requestid`` (36 characters: fits single calls' 50 and batch's 36, apis.md 2.5).

    Deterministic in the whole body, not only the number: a repeat of the same POST replays the
    first answer instead of creating again, while a corrected body (after a refusal QBO would
    otherwise replay forever) gets a fresh id.
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return str(uuid.uuid5(_REQUEST_NAMESPACE, f"{kind}:{canonical}"))
