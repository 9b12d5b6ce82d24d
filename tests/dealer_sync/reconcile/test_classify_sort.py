"""Findings that tie on every other sort key come out ordered by dealer and currency."""

from __future__ import annotations

import polars as pl

from dealer_sync.reconcile.classify import FINDING_SCHEMA, _sort


def _finding(dealer: str, currency: str) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(FINDING_SCHEMA.names())
    row.update(
        category="outstanding_mismatch",
        severity="high",
        dealer_key=dealer,
        currency=currency,
        money_at_stake_minor=500,
    )
    return row


def test_ties_are_broken_by_dealer_then_currency() -> None:
    rows = [_finding("d2", "INR"), _finding("d1", "USD"), _finding("d1", "INR"), _finding("d2", "EUR")]
    wanted = [("d1", "INR"), ("d1", "USD"), ("d2", "EUR"), ("d2", "INR")]
    for ordering in (rows, rows[::-1]):
        frame = _sort(pl.DataFrame(ordering, schema=FINDING_SCHEMA))
        assert list(zip(frame["dealer_key"], frame["currency"], strict=True)) == wanted
