"""Tolerant readers for Zoho payload fields shared by both products."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from connectors.zoho.client import parse_zoho_time


def _decimal(value: Any) -> Decimal:
    """Zoho sends stock as strings or numbers, money as numbers; all become exact Decimals."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{type(value).__name__} is not a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError as exc:  # InvalidOperation: pydantic only reports ValueErrors
        raise ValueError(f"{value!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _time(value: Any) -> Any:
    if isinstance(value, str) and value:
        try:
            return parse_zoho_time(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a Zoho timestamp") from exc
    return value


ZohoDecimal = Annotated[Decimal, BeforeValidator(_decimal)]
ZohoTime = Annotated[datetime, BeforeValidator(_time)]
ZohoId = Annotated[str, BeforeValidator(lambda v: str(v))]


class ZohoRecord(BaseModel):
    """Vendor payloads may grow fields at any time: ignore what we do not read."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
