"""A seeded QBO simulator on loopback and a raw HTTP session with a live access token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from sandbox.quickbooks import QuickBooksEndpoints, QuickBooksSandbox
from sandbox.zoho.common import wire_json

CLIENT_ID, SECRET, REFRESH = "ABsimClient", "sim-secret", "AB11sim-refresh"


@dataclass
class Company:
    """Ids the seeded company gave its customer, items and GST 18% codes."""

    customer: str
    other_customer: str
    item: str
    cheap_item: str
    gst18: str  # CGST 9 + SGST 9
    igst18: str


def seed(sandbox: QuickBooksSandbox) -> Company:
    state = sandbox.state
    return Company(
        customer=state.create("Customer", {"DisplayName": "Shree Auto Parts (DLR042)"})["Id"],
        other_customer=state.create("Customer", {"DisplayName": "Café Müller (DLR043)"})["Id"],
        item=state.create("Item", {"Name": "Brake Pad Set BP-220", "Sku": "BP-220", "UnitPrice": 1450})["Id"],
        cheap_item=state.create("Item", {"Name": "Oil Filter OF-201", "Sku": "OF-201", "UnitPrice": "99.50"})[
            "Id"
        ],
        gst18=state.add_tax_code("GST18", [("CGST9", Decimal(9)), ("SGST9", Decimal(9))]),
        igst18=state.add_tax_code("IGST18", [("IGST18", Decimal(18))]),
    )


class Session:
    """Plain httpx calls to the API of one realm, with a token from the token endpoint."""

    def __init__(self, endpoints: QuickBooksEndpoints, refresh_token: str = REFRESH) -> None:
        self.endpoints = endpoints
        grant = httpx.post(
            endpoints.token_url,
            auth=(CLIENT_ID, SECRET),
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        )
        grant.raise_for_status()
        self.refresh_token = grant.json()["refresh_token"]
        self.http = httpx.Client(
            base_url=f"{endpoints.base_url}/v3/company/{endpoints.realm_id}",
            headers={"Authorization": f"Bearer {grant.json()['access_token']}", "Accept": "application/json"},
            timeout=10,
        )

    def post(self, path: str, body: Any, **params: Any) -> httpx.Response:
        content = wire_json(body).encode()  # Decimal amounts as exact JSON numbers
        headers = {"Content-Type": "application/json"}
        return self.http.post(path, content=content, headers=headers, params={"minorversion": 75, **params})

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params={"minorversion": 75, **params})

    def query(self, statement: str) -> httpx.Response:
        return self.get("/query", query=statement)

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, f"{self.endpoints.base_url}/__admin/{path}", json=body)


def invoice(
    company: Company,
    number: str | None = "INV-1",
    *,
    qty: int = 4,
    price: str = "1450",
    tax: str | None = None,
    customer: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": company.item}, "Qty": qty, "UnitPrice": Decimal(price)}
    if tax is not None:
        detail["TaxCodeRef"] = {"value": tax}
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer or company.customer},
        "TxnDate": "2026-11-22",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal(price) * qty,
                "Description": "Brake Pad Set BP-220",
                "SalesItemLineDetail": detail,
            }
        ],
        **extra,
    }
    if number is not None:
        body["DocNumber"] = number
    return body


@contextmanager
def running(**kwargs: Any) -> Iterator[tuple[QuickBooksSandbox, Company, Session]]:
    sandbox = QuickBooksSandbox(**{"minute_seconds": 1.0, **kwargs})
    sandbox.register_client(CLIENT_ID, SECRET, REFRESH)
    company = seed(sandbox)
    with sandbox.serve() as endpoints:
        yield sandbox, company, Session(endpoints)


def exact(response: httpx.Response) -> Any:
    """The body with every fractional number as a Decimal (as the connector reads it)."""
    return json.loads(response.content, parse_float=Decimal)
