"""UTC instants and business dates: every timestamp is aware UTC, the business date sits beside it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def require_utc(value: datetime) -> datetime:
    """Reject naive datetimes (their zone is a guess) and normalise aware ones to UTC."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(
            f"timestamp {value.isoformat()} has no timezone; give an offset such as +05:30 or Z"
        )
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(require_utc)]
"""A timezone-aware instant, stored in UTC."""


def zone(name: str) -> ZoneInfo:
    """Look up an IANA timezone with an error that names the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}; use an IANA name such as 'Asia/Kolkata'") from exc


def business_date(instant: datetime, timezone: str) -> date:
    """The calendar date of ``instant`` in the business's timezone (what the ledger books it on)."""
    return require_utc(instant).astimezone(zone(timezone)).date()


def business_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC half-open interval [start, end) that makes up one business day."""
    tz = zone(timezone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + timedelta(days=1)
    return start.astimezone(UTC), datetime(end.year, end.month, end.day, tzinfo=tz).astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
