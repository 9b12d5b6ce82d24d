"""Tolerant readers shared by every vendor's wire models.

Vendors send amounts as JSON numbers or numeric text; both become exact Decimals here, and
anything else (a boolean, an object, NaN, infinity) is a ValueError, which pydantic reports as
a validation error naming the field, so the record is quarantined instead of a batch crashing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def wire_decimal(value: Any, *, blank_is_zero: bool = False, floats: bool = True) -> Decimal:
    """``value`` as an exact Decimal.

    ``blank_is_zero``: the vendor leaves zero amounts out or empty (Zoho, Xero). ``floats``: a
    float is taken through its shortest text (JSON decoders that keep numbers exact never give
    one; refuse them where a float would mean an amount was already rounded on our side).
    """
    if blank_is_zero and (value is None or value == ""):
        return Decimal(0)
    exact = isinstance(value, int | str | Decimal) or (floats and isinstance(value, float))
    if isinstance(value, bool) or not exact:
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError as exc:  # InvalidOperation: pydantic only reports ValueErrors
        raise ValueError(f"{value!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number
