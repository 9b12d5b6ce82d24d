from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from dealer_sync.timeutil import UtcDateTime, business_date, business_day_bounds, zone


class Stamped(BaseModel):
    at: UtcDateTime


def test_naive_timestamps_are_refused_with_a_hint():
    with pytest.raises(ValidationError, match="has no timezone"):
        Stamped(at=datetime(2026, 11, 22, 10, 0))


def test_aware_timestamps_are_stored_in_utc():
    ist = timezone(timedelta(hours=5, minutes=30))
    stamped = Stamped(at=datetime(2026, 11, 22, 10, 15, tzinfo=ist))
    assert stamped.at == datetime(2026, 11, 22, 4, 45, tzinfo=UTC)
    assert stamped.at.tzinfo is UTC
    assert Stamped(at="2026-11-22T10:15:02+05:30").at.hour == 4


def test_an_order_at_2330_local_is_the_next_day_in_utc_but_booked_on_the_local_date():
    # 23:30 in New York on 22 Nov is 04:30 UTC on 23 Nov: the ledger books it on the 22nd.
    ny = zone("America/New_York")
    placed = datetime(2026, 11, 22, 23, 30, tzinfo=ny)
    assert placed.astimezone(UTC).date() == date(2026, 11, 23)
    assert business_date(placed, "America/New_York") == date(2026, 11, 22)


def test_early_morning_in_india_is_the_previous_day_in_utc():
    placed = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 01:30 IST on the 23rd
    assert business_date(placed, "Asia/Kolkata") == date(2026, 11, 23)


def test_business_day_bounds_cover_exactly_one_local_day():
    start, end = business_day_bounds(date(2026, 11, 22), "Asia/Kolkata")
    assert start == datetime(2026, 11, 21, 18, 30, tzinfo=UTC)
    assert end - start == timedelta(days=1)
    # across a DST change the business day is 23 hours long
    start, end = business_day_bounds(date(2026, 3, 8), "America/New_York")
    assert end - start == timedelta(hours=23)


def test_unknown_timezone_names_the_bad_value():
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        zone("Mars/Olympus")
