"""Items, warehouses, stock levels and price lists."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from dealer_sync.models.base import CanonicalModel, Id, Percent, Quantity
from dealer_sync.money import Currency, Money
from dealer_sync.timeutil import UtcDateTime


class Warehouse(CanonicalModel):
    id: Id
    name: str
    is_primary: bool = False
    active: bool = True


class Item(CanonicalModel):
    """A stocked item as the inventory system (its system of record) knows it."""

    id: Id
    sku: Id
    name: str
    unit: str = "pcs"
    hsn_or_sac: str | None = None
    tax_rate: Percent | None = None
    active: bool = True
    updated_at: UtcDateTime | None = None


class StockLevel(CanonicalModel):
    """Stock of one item in one warehouse at one instant.

    ``committed`` is what confirmed sales orders hold; ``available`` is the inventory system's
    own figure (on hand minus committed). On hand may be negative where the system allows it.
    """

    item_id: Id
    sku: Id
    warehouse_id: Id
    on_hand: Quantity
    committed: Quantity = Field(ge=0)
    available: Quantity
    as_of: UtcDateTime

    def available_to_promise(self, reserved: Quantity) -> Quantity:
        """What the portal may still sell: on hand less committed less portal reservations."""
        return self.on_hand - self.committed - reserved


class PriceList(CanonicalModel):
    """Unit prices by SKU in one currency; the portal prices orders from it."""

    id: Id
    name: str
    currency: Currency
    prices: dict[str, Money]

    @model_validator(mode="after")
    def _one_currency(self) -> Self:
        for sku, price in self.prices.items():
            if price.currency != self.currency:
                raise ValueError(f"price of {sku} is in {price.currency}, list is in {self.currency}")
            if price.amount < 0:
                raise ValueError(f"price of {sku} is negative")
        return self

    def price_for(self, sku: str) -> Money | None:
        return self.prices.get(sku)
