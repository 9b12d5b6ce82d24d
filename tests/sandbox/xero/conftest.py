"""A Xero sandbox on loopback with one connected app, and an API session holding a token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from sandbox.xero import XeroEndpoints, XeroSandbox

CLIENT_ID, SECRET, REFRESH = "SIMTESTCLIENT", "sim-test-secret", "sim-test-refresh-0"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@dataclass
class Org:
    sandbox: XeroSandbox
    endpoints: XeroEndpoints
    contact_id: str
    tax_type: str  # GST 18% as CGST 9 + SGST 9


def token(endpoints: XeroEndpoints, refresh_token: str, *, secret: str = SECRET) -> httpx.Response:
    return httpx.post(
        endpoints.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(CLIENT_ID, secret),
    )


@pytest.fixture
def org() -> Iterator[Org]:
    sandbox = XeroSandbox(minute_seconds=1.0, now=NOW, frozen_clock=True, seed=5)
    sandbox.register_client(CLIENT_ID, SECRET, REFRESH)
    state = sandbox.state
    contact = state.create_contact({"Name": "Shree Auto Parts"})
    rate = state.add_tax_rate("GST 18% (CGST+SGST)", [("CGST", 9), ("SGST", 9)])
    sales = {"UnitPrice": "1450.00", "TaxType": rate.tax_type}
    state.create_item({"Code": "BP-220", "Name": "Brake Pad Set", "SalesDetails": sales})
    sandbox.api.faults.update(rate_limit_per_minute=None, daily_limit=None, max_concurrent=None)
    with sandbox.serve() as endpoints:
        yield Org(sandbox, endpoints, contact.contact_id, rate.tax_type)


@pytest.fixture
def api(org: Org) -> Iterator[httpx.Client]:
    answer = token(org.endpoints, REFRESH).json()
    headers = {"Authorization": f"Bearer {answer['access_token']}", "xero-tenant-id": org.sandbox.tenant_id}
    with httpx.Client(base_url=org.endpoints.base_url, headers=headers, timeout=5.0) as client:
        yield client


def invoice(org: Org, number: str | None = "INV-1", **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": org.contact_id},
        "Date": "2026-11-22",
        "DueDate": "2026-12-22",
        "LineAmountTypes": "Exclusive",
        "Status": "AUTHORISED",
        "LineItems": [
            {"ItemCode": "BP-220", "Quantity": 4, "UnitAmount": "1450.00", "TaxType": org.tax_type}
        ],
    }
    if number is not None:
        body["InvoiceNumber"] = number
    body.update(overrides)
    return body
