"""A seeded QBO company on loopback, orders mapped onto it, and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from connectors.quickbooks.client import QuickBooksClient, QuickBooksCredentials
from dealer_sync.models import MappedLine, MappedOrder, TaxKind, TaxRegime, TaxTreatment
from dealer_sync.money import Money, total
from dealer_sync.tax import tax_lines
from sandbox.quickbooks import QuickBooksEndpoints, QuickBooksSandbox
from tests.connectors.zoho.test_contract import FAST

CLIENT_ID, SECRET, REFRESH = "ABcontractClient", "contract-secret", "AB11contract-refresh"
DAY = date(2026, 11, 22)


@dataclass
class World:
    sandbox: QuickBooksSandbox
    endpoints: QuickBooksEndpoints
    customer: str
    item: str
    taxes: dict[str, str]  # "intra_state:18" / "inter_state:18" -> tax code id


def seed(sandbox: QuickBooksSandbox) -> tuple[str, str, dict[str, str]]:
    state = sandbox.state
    customer = state.create("Customer", {"DisplayName": "Shree Auto Parts (DLR042)"})["Id"]
    item = state.create("Item", {"Name": "Brake Pad Set BP-220", "Sku": "BP-220", "UnitPrice": 1450})["Id"]
    taxes = {
        "intra_state:18": state.add_tax_code("GST18", [("CGST9", Decimal(9)), ("SGST9", Decimal(9))]),
        "inter_state:18": state.add_tax_code("IGST18", [("IGST18", Decimal(18))]),
    }
    return customer, item, taxes


@contextmanager
def world(**kwargs: Any) -> Iterator[World]:
    sandbox = QuickBooksSandbox(**{"minute_seconds": 1.0, "seed": 3, **kwargs})
    sandbox.register_client(CLIENT_ID, SECRET, REFRESH)
    customer, item, taxes = seed(sandbox)
    with sandbox.serve() as endpoints:
        yield World(sandbox, endpoints, customer, item, taxes)


def credentials(world: World, **overrides: Any) -> QuickBooksCredentials:
    fields: dict[str, Any] = {
        "base_url": world.endpoints.base_url,
        "token_url": world.endpoints.token_url,
        "realm_id": world.endpoints.realm_id,
        "client_id": CLIENT_ID,
        "client_secret": SecretStr(SECRET),
        "refresh_token": SecretStr(REFRESH),
        "requests_per_minute": 1000,
        "max_concurrent": 8,
        "timeout_seconds": 2.0,
        "minute_seconds": 1.0,
    }
    fields.update(overrides)
    return QuickBooksCredentials(**fields)


def client_for(world: World, *, page_size: int = 1000, **overrides: Any) -> QuickBooksClient:
    retry = overrides.pop("retry", FAST)
    return QuickBooksClient(credentials(world, **overrides), retry=retry, page_size=page_size)


def inr(value: str | int | Decimal) -> Money:
    return Money.of(value, "INR")


def order(
    world: World,
    number: str,
    *,
    lines: list[tuple[str, int, int]] | None = None,
    kind: TaxKind = TaxKind.INTRA_STATE,
    on: date = DAY,
    customer: str | None = None,
) -> MappedOrder:
    """An order mapped onto the seeded company; ``lines`` are (unit price, quantity, GST %).

    Tax is computed as the mapping computes it (dealer_sync.tax), line by line, half up.
    """
    treatment = TaxTreatment(regime=TaxRegime.GST, kind=kind, place_of_supply="MH")
    mapped = []
    for index, (price, quantity, rate) in enumerate(lines or [("1450.00", 4, 18)], start=1):
        amount = inr(price).times(quantity)
        mapped.append(
            MappedLine(
                line_no=index,
                sku="BP-220",
                item_id=world.item,
                description="Brake Pad Set BP-220",
                quantity=Decimal(quantity),
                unit_price=inr(price),
                amount=amount,
                tax_rate=Decimal(rate),
                tax_id=world.taxes[f"{kind.value}:{rate}"] if rate else None,
                tax_lines=tax_lines(amount, Decimal(rate), treatment),
            )
        )
    subtotal = total([line.amount for line in mapped], "INR")
    tax = total([t.amount for line in mapped for t in line.tax_lines], "INR")
    return MappedOrder(
        target_system="quickbooks",
        order_id=number,
        order_number=number,
        version=1,
        dealer_id="DLR042",
        customer_id=customer or world.customer,
        document_number=f"INV-{number}",
        currency="INR",
        business_date=on,
        tax_treatment=treatment,
        lines=tuple(mapped),
        subtotal=subtotal,
        tax_total=tax,
        total=subtotal + tax,
    )
