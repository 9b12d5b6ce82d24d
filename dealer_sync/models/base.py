"""The base every canonical model shares: strict, immutable, whitespace-trimmed."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from dealer_sync.money import Money, to_decimal


class CanonicalModel(BaseModel):
    """Our own models forbid unknown fields: a typo in a mapping must fail, not vanish."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
"""An identifier in some system; never empty."""

Quantity = Annotated[Decimal, BeforeValidator(to_decimal)]
"""A count of units; Decimal because units may be fractional (kg, m)."""

PositiveQuantity = Annotated[Decimal, BeforeValidator(to_decimal), Field(gt=0)]
Percent = Annotated[Decimal, BeforeValidator(to_decimal), Field(ge=0, le=100)]


def require_currency(currency: str, *amounts: Money | None) -> None:
    """Fail with the offending amount when a document mixes currencies."""
    for amount in amounts:
        if amount is not None and amount.currency != currency:
            raise ValueError(f"amount {amount} is not in the document currency {currency}")


def require_equal(label: str, stated: Money, computed: Money) -> None:
    """Totals must add up exactly; say by how much they do not."""
    if stated != computed:
        raise ValueError(
            f"{label} is {stated} but the parts add up to {computed} "
            f"(difference {stated - computed})"
        )
