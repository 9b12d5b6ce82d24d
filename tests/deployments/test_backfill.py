"""Backfills: chunks of instants and of business days, validation, keys, and runs created once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from deployments.backfill import (
    MAX_CHUNKS,
    BackfillError,
    BackfillSubmitError,
    ChunkSize,
    Outcome,
    backfill_key,
    plan_backfill,
    submit_backfill,
)
from deployments.catalog import DeploymentSpec, WindowKind, spec_for

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
ORDERS = spec_for("order-to-invoice")
RECON = spec_for("reconciliation")
KOLKATA = "Asia/Kolkata"
BERLIN = "Europe/Berlin"


def plan(spec=ORDERS, since=date(2026, 11, 1), until=date(2026, 11, 4), chunk="1d", tz=KOLKATA, **kw):
    return plan_backfill(spec, since, until, ChunkSize.parse(chunk), timezone=tz, now=NOW, **kw)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def bounds(p):
    return [(c.start, c.end) for c in p.chunks]


# -- chunk lengths ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "amount", "unit"), [("1d", 1, "d"), ("30m", 30, "m"), (" 6h ", 6, "h")])
def test_chunk_lengths_parse(text, amount, unit):
    assert ChunkSize.parse(text) == ChunkSize(amount, unit)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0d", "is zero"),
        ("00h", "is zero"),
        ("1w", "is not <N>m, <N>h or <N>d"),
        ("d", "is not <N>m"),
        ("-1d", "is not <N>m"),
        ("1.5h", "is not <N>m"),
        ("1 d", "is not <N>m"),
        ("", "is not <N>m"),
    ],
)
def test_bad_chunk_lengths_are_refused_with_the_reason(text, message):
    with pytest.raises(BackfillError, match=message):
        ChunkSize.parse(text)


# -- instants -----------------------------------------------------------------------------------


def test_dates_mean_local_midnight_and_until_is_exclusive():
    p = plan()
    # Asia/Kolkata is +05:30: 1 November starts at 18:30 UTC on 31 October.
    assert bounds(p) == [
        (utc(2026, 10, 31, 18, 30), utc(2026, 11, 1, 18, 30)),
        (utc(2026, 11, 1, 18, 30), utc(2026, 11, 2, 18, 30)),
        (utc(2026, 11, 2, 18, 30), utc(2026, 11, 3, 18, 30)),
    ]
    assert [c.index for c in p.chunks] == [1, 2, 3]
    assert p.chunks[0].parameters == {
        "since": "2026-10-31T18:30:00+00:00",
        "until": "2026-11-01T18:30:00+00:00",
    }
    assert p.chunks[0].label == "2026-11-01T00:00+05:30 .. 2026-11-02T00:00+05:30"
    assert (p.since, p.until) == (utc(2026, 10, 31, 18, 30), utc(2026, 11, 3, 18, 30))


def test_the_last_chunk_may_be_shorter():
    p = plan(since=utc(2026, 11, 1, 0, 0), until=utc(2026, 11, 1, 10, 0), chunk="4h")
    assert bounds(p) == [
        (utc(2026, 11, 1, 0), utc(2026, 11, 1, 4)),
        (utc(2026, 11, 1, 4), utc(2026, 11, 1, 8)),
        (utc(2026, 11, 1, 8), utc(2026, 11, 1, 10)),
    ]


def test_chunks_are_contiguous_and_cover_the_window_exactly():
    since, until = utc(2026, 10, 3, 7, 13), utc(2026, 11, 20, 1, 2)
    for chunk in ("170m", "5h", "1d", "3d", "1000d"):
        p = plan(since=since, until=until, chunk=chunk, tz=BERLIN)
        assert p.chunks[0].start == since and p.chunks[-1].end == until, chunk
        assert all(a.end == b.start for a, b in zip(p.chunks, p.chunks[1:], strict=False)), chunk
        assert all(c.start < c.end for c in p.chunks), chunk


def test_minute_and_hour_chunks_are_absolute_durations():
    p = plan(since=utc(2026, 11, 1, 0, 0), until=utc(2026, 11, 1, 1, 0), chunk="20m")
    assert [c.end - c.start for c in p.chunks] == [timedelta(minutes=20)] * 3


def test_day_chunks_follow_local_midnights_across_the_end_of_summer_time():
    # Berlin leaves summer time on Sunday 25 October 2026 at 03:00 CEST: that day has 25 hours.
    p = plan(since=date(2026, 10, 24), until=date(2026, 10, 27), tz=BERLIN)
    assert bounds(p) == [
        (utc(2026, 10, 23, 22), utc(2026, 10, 24, 22)),
        (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),
        (utc(2026, 10, 25, 23), utc(2026, 10, 26, 23)),
    ]
    assert [c.end - c.start for c in p.chunks] == [timedelta(hours=h) for h in (24, 25, 24)]
    assert p.chunks[2].label == "2026-10-26T00:00+01:00 .. 2026-10-27T00:00+01:00"


def test_24h_chunks_are_not_days_across_a_dst_change():
    p = plan(since=date(2026, 10, 24), until=date(2026, 10, 27), chunk="24h", tz=BERLIN)
    # Absolute 24 hours: after the change the boundaries sit at 23:00 local, and a fourth chunk
    # holds the hour left over.
    assert [c.label for c in p.chunks][1:] == [
        "2026-10-25T00:00+02:00 .. 2026-10-25T23:00+01:00",
        "2026-10-25T23:00+01:00 .. 2026-10-26T23:00+01:00",
        "2026-10-26T23:00+01:00 .. 2026-10-27T00:00+01:00",
    ]


def test_day_chunks_from_23_30_local_keep_23_30_across_the_dst_change():
    since = datetime.fromisoformat("2026-10-24T23:30:00+02:00")
    until = datetime.fromisoformat("2026-10-26T12:00:00+01:00")
    p = plan(since=since, until=until, tz=BERLIN)
    assert [c.label for c in p.chunks] == [
        "2026-10-24T23:30+02:00 .. 2026-10-25T23:30+01:00",
        "2026-10-25T23:30+01:00 .. 2026-10-26T12:00+01:00",
    ]
    assert p.chunks[0].end - p.chunks[0].start == timedelta(hours=25)


def test_23_30_local_is_the_previous_utc_date_in_kolkata_but_chunks_stay_local():
    since = datetime.fromisoformat("2026-11-01T23:30:00+05:30")  # 18:00 UTC on 1 November
    p = plan(since=since, until=date(2026, 11, 4))
    assert [c.label for c in p.chunks] == [
        "2026-11-01T23:30+05:30 .. 2026-11-02T23:30+05:30",
        "2026-11-02T23:30+05:30 .. 2026-11-03T23:30+05:30",
        "2026-11-03T23:30+05:30 .. 2026-11-04T00:00+05:30",
    ]


# -- business days --------------------------------------------------------------------------------


def test_business_days_become_first_day_last_day_with_until_exclusive():
    p = plan(RECON)
    assert [c.parameters for c in p.chunks] == [
        {"first_day": "2026-11-01", "last_day": "2026-11-01", "deliver": False},
        {"first_day": "2026-11-02", "last_day": "2026-11-02", "deliver": False},
        {"first_day": "2026-11-03", "last_day": "2026-11-03", "deliver": False},
    ]
    assert p.chunks[0].label == "2026-11-01 .. 2026-11-02"


def test_business_day_chunks_of_several_days_and_a_short_last_one():
    p = plan(RECON, since=date(2026, 11, 1), until=date(2026, 11, 8), chunk="3d")
    assert [(c.parameters["first_day"], c.parameters["last_day"]) for c in p.chunks] == [
        ("2026-11-01", "2026-11-03"),
        ("2026-11-04", "2026-11-06"),
        ("2026-11-07", "2026-11-07"),
    ]


def test_business_days_across_the_dst_change_are_whole_local_days():
    p = plan(RECON, since=date(2026, 10, 24), until=date(2026, 10, 27), tz=BERLIN)
    assert [c.parameters["first_day"] for c in p.chunks] == ["2026-10-24", "2026-10-25", "2026-10-26"]
    assert p.chunks[1].end - p.chunks[1].start == timedelta(hours=25)


def test_a_business_day_may_be_given_as_the_instant_it_starts():
    # 18:30 UTC on 31 October is midnight of 1 November in Kolkata.
    p = plan(RECON, since=utc(2026, 10, 31, 18, 30), until=date(2026, 11, 2))
    assert [c.parameters["first_day"] for c in p.chunks] == ["2026-11-01"]


def test_business_days_refuse_a_time_inside_a_day():
    since = datetime.fromisoformat("2026-11-01T23:30:00+05:30")
    with pytest.raises(
        BackfillError, match=r"--since 2026-11-01T23:30:00\+05:30 is not the start of a business"
    ):
        plan(RECON, since=since)


def test_business_days_refuse_chunks_that_are_not_days():
    with pytest.raises(BackfillError, match="reconciliation takes whole business days: give --chunk in days"):
        plan(RECON, chunk="12h")


# -- validation -----------------------------------------------------------------------------------


def test_inventory_refresh_has_nothing_to_backfill():
    with pytest.raises(BackfillError, match=r"nothing to backfill.*dealer-sync run inventory-refresh --full"):
        plan(spec_for("inventory-refresh"))


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        (date(2026, 11, 4), date(2026, 11, 4), "--since must be before --until"),
        (date(2026, 11, 5), date(2026, 11, 4), "--since must be before --until"),
        (utc(2026, 11, 1, 12), utc(2026, 11, 1, 12), "--since must be before --until"),
        (date(2026, 11, 30), date(2026, 12, 3), r"--until 2026-12-03 is in the future"),
        (utc(2026, 12, 1), utc(2026, 12, 2, 3), r"--until 2026-12-02T08:30:00\+05:30 is in the future"),
        (datetime(2026, 11, 1), date(2026, 11, 4), "--since 2026-11-01T00:00:00 has no timezone offset"),
    ],
)
def test_bad_windows_are_refused_with_the_reason(since, until, message):
    with pytest.raises(BackfillError, match=message):
        plan(since=since, until=until)


def test_a_window_ending_now_is_allowed_and_today_is_not_reconciled():
    assert len(plan(since=utc(2026, 12, 1), until=NOW, chunk="1h").chunks) == 26
    # 2 December in Kolkata has begun (07:30 local) but is not over: reconciling it is refused.
    assert len(plan(RECON, since=date(2026, 12, 1), until=date(2026, 12, 2)).chunks) == 1
    with pytest.raises(BackfillError, match="in the future"):
        plan(RECON, since=date(2026, 12, 1), until=date(2026, 12, 3))


def test_too_many_chunks_asks_for_a_bigger_chunk():
    ok = plan(since=utc(2026, 1, 1), until=utc(2026, 1, 1) + timedelta(hours=MAX_CHUNKS), chunk="1h")
    assert len(ok.chunks) == MAX_CHUNKS
    with pytest.raises(BackfillError, match=rf"more than {MAX_CHUNKS} chunks of 1h.*use a bigger --chunk"):
        plan(
            since=utc(2026, 1, 1), until=utc(2026, 1, 1) + timedelta(hours=MAX_CHUNKS, minutes=1), chunk="1h"
        )
    with pytest.raises(BackfillError, match="use a bigger --chunk"):
        plan(RECON, since=date(2020, 1, 1), until=date(2026, 1, 1))


@pytest.mark.parametrize("chunk", ["5d", "999999999d", "99999999999999999999h", "99999999999999999999m"])
def test_a_chunk_longer_than_the_window_is_one_chunk(chunk):
    assert bounds(plan(chunk=chunk)) == [(utc(2026, 10, 31, 18, 30), utc(2026, 11, 3, 18, 30))]


def test_a_business_day_chunk_longer_than_the_window_is_one_chunk():
    p = plan(RECON, chunk="99999999999999999999d")
    assert [c.parameters for c in p.chunks] == [
        {"first_day": "2026-11-01", "last_day": "2026-11-03", "deliver": False}
    ]


def test_generation_must_be_positive():
    with pytest.raises(BackfillError, match="--generation 0 must be 1 or more"):
        plan(generation=0)


# -- idempotency keys -----------------------------------------------------------------------------


def keys(p):
    return [c.idempotency_key for c in p.chunks]


def test_keys_name_the_deployment_the_chunk_and_the_generation():
    p = plan()
    assert keys(p)[0] == (
        "backfill:order-to-invoice/hourly-business-hours:2026-10-31T18:30:00Z..2026-11-01T18:30:00Z:g1"
    )
    assert keys(plan(RECON))[0] == "backfill:nightly-reconciliation/nightly:2026-11-01..2026-11-01:g1"
    assert len(set(keys(p))) == 3


def test_the_same_window_gives_the_same_keys_however_it_is_written():
    by_date = plan()
    by_offset = plan(since=datetime.fromisoformat("2026-11-01T00:00+05:30"), until=utc(2026, 11, 3, 18, 30))
    assert keys(by_date) == keys(by_offset) == keys(plan())


def test_another_generation_or_deployment_gives_other_keys():
    first = keys(plan())
    assert set(first).isdisjoint(keys(plan(generation=2)))
    assert set(first).isdisjoint(keys(plan(spec_for("invoice-payment-pullback"))))
    assert backfill_key("a/b", "x", "y", 1) != backfill_key("a/b", "x", "y", 2)


def test_an_overlapping_backfill_shares_the_keys_of_the_chunks_it_repeats():
    assert keys(plan(until=date(2026, 11, 6)))[:3] == keys(plan())


# -- submission against a real Prefect API --------------------------------------------------------


@pytest.fixture(scope="module")
def probe(prefect_api):
    """A deployment of a stand-in flow that takes an instants window (nothing ever runs it)."""
    from prefect import flow

    @flow(name="backfill-probe")
    def backfill_probe(since: datetime | None = None, until: datetime | None = None) -> None:
        """Never run: a worker-less deployment only collects Scheduled runs."""

    backfill_probe.to_deployment(name="probe").apply()
    return DeploymentSpec("probe", "backfill-probe", "probe", "tests:backfill_probe", WindowKind.INSTANTS)


def submit(p, submission=None):
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return list(submit_backfill(p, client, submission=submission))


def test_each_run_is_reported_created_by_exactly_one_of_two_concurrent_backfills(probe):
    p = plan(probe, since=utc(2026, 9, 1), until=utc(2026, 9, 1, 8), chunk="1h")
    barrier = threading.Barrier(2)

    def race(name):
        barrier.wait(timeout=30)
        return submit(p, submission=name)

    with ThreadPoolExecutor(max_workers=2) as pool:
        left, right = pool.map(race, ["left", "right"])
    for a, b in zip(left, right, strict=True):
        assert a.flow_run_id == b.flow_run_id, a.chunk.label
        assert {a.outcome, b.outcome} == {Outcome.CREATED, Outcome.EXISTING}, a.chunk.label
    assert [r.outcome for r in submit(p)] == [Outcome.EXISTING] * 8


def test_a_missing_deployment_is_named_before_anything_is_submitted(probe):
    missing = replace(probe, deployment="not-there")
    with pytest.raises(
        BackfillSubmitError, match=r"deployment backfill-probe/not-there does not exist.*make deploy"
    ):
        submit(plan(missing, since=utc(2026, 9, 2), until=utc(2026, 9, 3)))
