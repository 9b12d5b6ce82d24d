"""Tolerant readers for Zoho payload fields shared by both products."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from connectors.wire import wire_decimal
from connectors.zoho.client import parse_zoho_time


def _decimal(value: Any) -> Decimal:
    """Zoho sends stock as strings or numbers, money as numbers; all become exact Decimals."""
    return wire_decimal(value, blank_is_zero=True)


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
