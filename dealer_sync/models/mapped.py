"""An order mapped onto one target system's keys: what a connector turns into its wire body."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from dealer_sync.models.base import CanonicalModel, Id, Percent, PositiveQuantity
from dealer_sync.models.orders import TaxLine
from dealer_sync.models.parties import TaxTreatment
from dealer_sync.money import Currency, Money


class MappedLine(CanonicalModel):
    line_no: int = Field(ge=1)
    sku: Id
    item_id: Id
    description: str | None = None
    quantity: PositiveQuantity
    unit_price: Money
    amount: Money
    tax_rate: Percent
    tax_id: Id | None = Field(default=None, description="the target's tax or tax group for this line")
    tax_lines: tuple[TaxLine, ...] = ()
    hsn_or_sac: str | None = None


class MappedOrder(CanonicalModel):
    """A portal order in a target's terms. ``document_number`` is ours, so it can be searched."""

    target_system: str
    order_id: Id
    order_number: Id
    version: int = Field(ge=1)
    dealer_id: Id
    customer_id: Id
    document_number: Id
    currency: Currency
    business_date: date
    payment_terms_days: int = 30
    warehouse_id: Id | None = None
    tax_treatment: TaxTreatment
    tax_registration: str | None = None
    lines: tuple[MappedLine, ...] = Field(min_length=1)
    subtotal: Money
    tax_total: Money
    total: Money
