"""Dealers and how their sales are taxed."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from dealer_sync.models.base import CanonicalModel, Id
from dealer_sync.money import Currency, Money

GSTIN_PATTERN = re.compile(r"^\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")


class TaxRegime(StrEnum):
    GST = "gst"
    VAT = "vat"
    NONE = "none"


class TaxKind(StrEnum):
    """How a sale is taxed under its regime."""

    INTRA_STATE = "intra_state"  # GST: CGST + SGST
    INTER_STATE = "inter_state"  # GST: IGST
    STANDARD = "standard"  # VAT at the item's rate
    REVERSE_CHARGE = "reverse_charge"  # VAT accounted for by the buyer
    ZERO_RATED = "zero_rated"  # exports
    EXEMPT = "exempt"


_KINDS_BY_REGIME: dict[TaxRegime, set[TaxKind]] = {
    TaxRegime.GST: {TaxKind.INTRA_STATE, TaxKind.INTER_STATE, TaxKind.ZERO_RATED, TaxKind.EXEMPT},
    TaxRegime.VAT: {TaxKind.STANDARD, TaxKind.REVERSE_CHARGE, TaxKind.ZERO_RATED, TaxKind.EXEMPT},
    TaxRegime.NONE: {TaxKind.EXEMPT},
}


class TaxTreatment(CanonicalModel):
    """The tax rule for one sale: regime, kind and (for GST) the place of supply."""

    regime: TaxRegime
    kind: TaxKind
    place_of_supply: str | None = Field(default=None, description="state code, e.g. 'MH'")

    @model_validator(mode="after")
    def _kind_fits_regime(self) -> Self:
        if self.kind not in _KINDS_BY_REGIME[self.regime]:
            raise ValueError(f"tax kind {self.kind.value} does not exist under {self.regime.value}")
        domestic_gst = self.kind in (TaxKind.INTRA_STATE, TaxKind.INTER_STATE)
        if self.regime is TaxRegime.GST and domestic_gst and not self.place_of_supply:
            raise ValueError("GST intra/inter-state treatment needs a place of supply")
        return self


class Dealer(CanonicalModel):
    """A dealer as the portal (its system of record) knows it."""

    id: Id
    name: str = Field(min_length=1)
    email: str | None = None
    currency: Currency
    credit_limit: Money
    country: str = Field(default="IN", pattern=r"^[A-Z]{2}$")
    state: str | None = Field(default=None, description="state/region code for place of supply")
    tax_registration: str | None = Field(default=None, description="GSTIN or VAT number")
    price_list_id: Id | None = None
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.credit_limit.currency != self.currency:
            raise ValueError(
                f"credit limit is in {self.credit_limit.currency} but the dealer trades in "
                f"{self.currency}"
            )
        if self.credit_limit.amount < 0:
            raise ValueError("credit limit cannot be negative")
        gstin = self.tax_registration if self.country == "IN" else None
        if gstin and not GSTIN_PATTERN.match(gstin):
            raise ValueError(f"{gstin!r} is not a valid 15-character GSTIN")
        return self
