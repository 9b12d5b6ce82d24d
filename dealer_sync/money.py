"""Money as an exact Decimal amount in an ISO 4217 currency, rounded to that currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationInfo,
    field_validator,
)

# Currencies whose minor unit is not 1/100 (ISO 4217). Everything else uses two places.
_MINOR_UNIT_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}


class CurrencyMismatchError(ValueError):
    """Raised when two amounts in different currencies meet in arithmetic or a comparison."""


def minor_unit_exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (INR 2, JPY 0, KWD 3)."""
    return _MINOR_UNIT_EXPONENTS.get(currency, 2)


_QUANTA: dict[int, Decimal] = {e: Decimal(1).scaleb(-e) for e in {2, *_MINOR_UNIT_EXPONENTS.values()}}
"""One minor unit per exponent, made once: ``quantize`` runs for every amount read."""


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit, as invoices and GST returns do."""
    return amount.quantize(_QUANTA[minor_unit_exponent(currency)], ROUND_HALF_UP)


def to_decimal(value: Any) -> Decimal:
    """Convert str/int/Decimal to Decimal, refusing floats: a float has already lost cents."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, float):
        raise ValueError(
            f"float {value!r} is not accepted for money or quantities; pass a str or Decimal"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a number") from exc
    else:
        raise ValueError(f"{type(value).__name__} is not an amount")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def _check_currency(code: str) -> str:
    if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
        raise ValueError(f"currency must be a three-letter ISO 4217 code such as 'INR', got {code!r}")
    return code


Currency = Annotated[str, AfterValidator(_check_currency)]
ExactDecimal = Annotated[Decimal, BeforeValidator(to_decimal)]
"""A Decimal field that refuses floats; use it for quantities and rates."""


class Money(BaseModel):
    """An amount in one currency, always rounded to the currency's minor unit on creation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: Currency
    amount: ExactDecimal

    @field_validator("amount")
    @classmethod
    def _round_to_minor_unit(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")
        return quantize(amount, currency) if currency else amount

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Shorthand constructor: ``Money.of("12.50", "INR")``."""
        return cls(amount=to_decimal(amount), currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal(0), currency=currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        return cls(amount=Decimal(minor).scaleb(-minor_unit_exponent(currency)), currency=currency)

    @property
    def minor_units(self) -> int:
        """The amount as an integer count of minor units (paise, cents): exact for comparisons."""
        return int(self.amount.scaleb(minor_unit_exponent(self.currency)))

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency} with {other.currency} amounts"
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def times(self, factor: Decimal | int | str) -> Money:
        """Multiply by a quantity or rate, rounding the product once to the minor unit."""
        return Money(amount=self.amount * to_decimal(factor), currency=self.currency)

    def percent(self, rate: Decimal | int | str) -> Money:
        """``rate`` percent of this amount, rounded half-up (how a tax line is computed)."""
        return Money(amount=self.amount * to_decimal(rate) / 100, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def total(amounts: list[Money], currency: str) -> Money:
    """Sum amounts that must all be in ``currency``; an empty list sums to zero."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
