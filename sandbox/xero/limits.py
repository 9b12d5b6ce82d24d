"""Xero's rate-limit signals on top of the shared fault injector (apis.md 3.4, 7.3).

The shared ``FaultInjector`` keeps the budgets (minute, day, concurrency per tenant) and the
random faults; Xero differs only in what it says about them, so this subclass changes only the
two places that speak: the headers of every answer and the 429 itself.

* Every answer: ``X-MinLimit-Remaining``, ``X-DayLimit-Remaining`` (when a daily budget is set)
  and ``X-AppMinLimit-Remaining`` [V]. The app-wide limit (10,000 a minute) is never enforced
  here; its header counts the minute's calls of every tenant [U].
* A 429: ``Retry-After`` (from the injector) plus ``X-Rate-Limit-Problem`` = ``minute`` | ``day``
  [V] | ``concurrent`` [U: apis.md lists minute/day/appminute only; concurrency is a stated
  limit, its problem word is a guess].
"""

from __future__ import annotations

import time

from starlette.types import Send

from sandbox.faults import FaultConfig, FaultInjector, RejectKind, _Rejection, _Window
from sandbox.xero.wire import render_fault_error

APP_LIMIT_PER_MINUTE = 10_000
PROBLEMS: dict[RejectKind, str] = {"rate_limit": "minute", "daily_limit": "day", "concurrency": "concurrent"}


def xero_fault_config(*, seed: int = 0, minute_seconds: float = 60.0) -> FaultConfig:
    """Xero's per-tenant limits: 60 a minute, 5,000 a day, 5 at once (apis.md 3.4)."""
    return FaultConfig(
        seed=seed,
        minute_seconds=minute_seconds,
        rate_limit_per_minute=60,
        daily_limit=5000,
        max_concurrent=5,
    )


class XeroFaultInjector(FaultInjector):
    """The shared injector, answering with Xero's limit headers instead of Zoho's."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        super().__init__(config or xero_fault_config(), render_error=render_fault_error)

    def _admit(self, tenant: str) -> tuple[_Rejection | None, dict[str, str]]:
        rejection, _zoho_headers = super()._admit(tenant)
        return rejection, self.remaining_headers(tenant)

    def remaining_headers(self, tenant: str) -> dict[str, str]:
        """What is left of the tenant's minute and day, and of the app's minute."""
        now = time.monotonic()
        with self._lock:
            cfg = self._config
            minute_length, day_length = cfg.minute_seconds, 1440 * cfg.minute_seconds

            headers = {}
            if cfg.rate_limit_per_minute is not None:
                left = cfg.rate_limit_per_minute - _used(self._minute.get(tenant), now, minute_length)
                headers["X-MinLimit-Remaining"] = str(max(left, 0))
            if cfg.daily_limit is not None:
                left = cfg.daily_limit - _used(self._day.get(tenant), now, day_length)
                headers["X-DayLimit-Remaining"] = str(max(left, 0))
            app_used = sum(_used(window, now, minute_length) for window in self._minute.values())
            headers["X-AppMinLimit-Remaining"] = str(max(APP_LIMIT_PER_MINUTE - app_used, 0))
            return headers

    async def _send_error(self, send: Send, status: int, kind: RejectKind, headers: dict[str, str]) -> None:
        if status == 429 and kind in PROBLEMS:
            headers = {**headers, "X-Rate-Limit-Problem": PROBLEMS[kind]}
        await super()._send_error(send, status, kind, headers)


def _used(window: _Window | None, now: float, length: float) -> int:
    """Requests counted in a budget window that is still running (an expired one counts none)."""
    return window.count if window is not None and now - window.start < length else 0
