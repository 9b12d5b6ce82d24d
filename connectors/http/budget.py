"""A declared request budget per system and tenant, shared by every thread of the process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyrate_limiter import Duration, Limiter, Rate

from connectors.http.errors import BudgetExhaustedError

WINDOW_MARGIN_MS = 25
WINDOW_MARGIN_SHARE = 0.01


@dataclass(frozen=True)
class BudgetSpec:
    """The vendor's limits, as declared in settings (Zoho: 100 a minute per org)."""

    requests_per_minute: int
    max_concurrent: int
    minute_seconds: float = 60.0  # shorter in tests, where the simulators scale time alike


class RequestBudget:
    """Rate and concurrency limits for one (system, tenant), plus a shared cool-down after 429.

    One object per process and tenant (see ``budget_for``), so that concurrent tasks spend from
    the same budget instead of each believing it has the whole quota.
    """

    def __init__(self, spec: BudgetSpec) -> None:
        self.spec = spec
        window_ms = max(1, int(Duration.SECOND * spec.minute_seconds))
        # The vendor counts requests when they arrive, we when they leave: a first request slowed
        # on its way (connection set-up, a token refresh) arrives later than it left, and the
        # request that follows it a full window later would land inside the vendor's window.
        # A margin of 1% (at least 25 ms) keeps us under the limit at ~1% of the throughput.
        interval_ms = window_ms + max(WINDOW_MARGIN_MS, int(window_ms * WINDOW_MARGIN_SHARE))
        self._limiter = Limiter(Rate(spec.requests_per_minute, interval_ms), buffer_ms=5)
        self._concurrency = threading.BoundedSemaphore(spec.max_concurrent)
        # One thread at a time waits at the limiter; the rest queue here, woken in turn. Without it
        # every waiter sleeps until the next free slot and all race for it, and under load one
        # thread can lose that race for a minute while its batch waits on it.
        self._turnstile = threading.Lock()
        self._lock = threading.Lock()
        self._resume_at = 0.0

    def cool_down(self, seconds: float) -> None:
        """Stop everyone sending for ``seconds`` (the vendor said Retry-After)."""
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    @contextmanager
    def slot(self, max_wait: float) -> Iterator[None]:
        """Hold one request slot; wait at most ``max_wait`` seconds for it, else raise."""
        deadline = time.monotonic() + max_wait
        with self._lock:
            pause = self._resume_at - time.monotonic()
        if pause > 0:
            if pause > max_wait:
                raise BudgetExhaustedError(
                    f"the vendor asked for a {pause:.1f}s pause, longer than the {max_wait:.1f}s allowed",
                    retry_after=pause,
                )
            time.sleep(pause)
        if not self._concurrency.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise BudgetExhaustedError(f"no free connection within {max_wait:.1f}s")
        try:
            if not self._turnstile.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise self._spent(max_wait)
            try:
                remaining = max(0.0, deadline - time.monotonic())
                if not self._limiter.try_acquire("requests", blocking=True, timeout=remaining):
                    raise self._spent(max_wait)
            finally:
                self._turnstile.release()
            yield
        finally:
            self._concurrency.release()

    def _spent(self, max_wait: float) -> BudgetExhaustedError:
        return BudgetExhaustedError(
            f"request budget of {self.spec.requests_per_minute} a minute spent; "
            f"no slot within {max_wait:.1f}s"
        )


_budgets: dict[tuple[str, str], RequestBudget] = {}
_budgets_lock = threading.Lock()


def budget_for(system: str, tenant: str, spec: BudgetSpec) -> RequestBudget:
    """The process-wide budget of one tenant of one system (created on first use)."""
    with _budgets_lock:
        budget = _budgets.get((system, tenant))
        if budget is None or budget.spec != spec:
            budget = RequestBudget(spec)
            _budgets[(system, tenant)] = budget
        return budget
