"""Xero's declared budget: the shared per-minute and concurrency limits plus a daily cap.

Xero allows 5,000 calls a day per tenant (apis.md 3.4). The process counts its own calls
against that, and once Xero says the day is spent (a 429 with ``X-Rate-Limit-Problem: day``)
every further call fails at once until Xero's Retry-After has passed. Both failures are
RATE_LIMITED and not retryable: the run defers the rest instead of sleeping for hours.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from connectors.http.budget import BudgetSpec, RequestBudget
from connectors.http.errors import BudgetExhaustedError

MINUTES_A_DAY = 1440


class DailyBudgetSpentError(BudgetExhaustedError):
    """No call left today; retrying within this run cannot help."""

    @property
    def retryable(self) -> bool:
        return False


class DailyCappedBudget(RequestBudget):
    """A RequestBudget that also stops at ``per_day`` calls per (scaled) day."""

    def __init__(self, spec: BudgetSpec, per_day: int | None) -> None:
        super().__init__(spec)
        self.per_day = per_day
        self._day_lock = threading.Lock()
        self._day_start = time.monotonic()
        self._day_count = 0
        self._spent_until = 0.0

    @property
    def day_seconds(self) -> float:
        return MINUTES_A_DAY * self.spec.minute_seconds

    def exhaust_day(self, retry_after: float | None) -> None:
        """Xero said the day is spent: refuse every call until ``retry_after`` has passed."""
        now = time.monotonic()
        wait = retry_after if retry_after is not None else self._day_start + self.day_seconds - now
        with self._day_lock:
            self._spent_until = max(self._spent_until, now + max(wait, 0.0))

    def _spend_one(self) -> None:
        now = time.monotonic()
        with self._day_lock:
            if now < self._spent_until:
                raise DailyBudgetSpentError(
                    "Xero's daily call limit is spent", retry_after=self._spent_until - now
                )
            if self.per_day is None:
                return
            if now - self._day_start >= self.day_seconds:
                self._day_start, self._day_count = now, 0
            if self._day_count >= self.per_day:
                raise DailyBudgetSpentError(
                    f"the declared {self.per_day} Xero calls a day are spent",
                    retry_after=self._day_start + self.day_seconds - now,
                )
            self._day_count += 1

    @contextmanager
    def slot(self, max_wait: float) -> Iterator[None]:
        self._spend_one()
        with super().slot(max_wait):
            yield


_budgets: dict[tuple[str, str], DailyCappedBudget] = {}
_budgets_lock = threading.Lock()


def xero_budget(base_url: str, tenant_id: str, spec: BudgetSpec, per_day: int | None) -> DailyCappedBudget:
    """The process-wide budget of one Xero tenant (created on first use, or when it changed)."""
    with _budgets_lock:
        budget = _budgets.get((base_url, tenant_id))
        if budget is None or budget.spec != spec or budget.per_day != per_day:
            budget = DailyCappedBudget(spec, per_day)
            _budgets[(base_url, tenant_id)] = budget
        return budget
