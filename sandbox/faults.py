"""Runtime fault injection for every simulator: latency, 5xx, hangs, drops, duplicates, limits."""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ADMIN_PREFIX = "/__admin/"
DUPLICATE_SCOPE_KEY = "sandbox.duplicate_delivery"

RejectKind = Literal["server_error", "rate_limit", "daily_limit", "concurrency"]
ErrorRenderer = Callable[[RejectKind], tuple[bytes, str]]
"""Returns (body, content type) of the system's own error response for a rejection kind."""

FAULT_KINDS = (
    "latency",
    "timeout",
    "error_5xx",
    "drop_after_commit",
    "duplicate_delivery",
    "rate_limit",
    "daily_limit",
    "concurrency",
)


class FaultConfig(BaseModel):
    """What a simulator does wrong, and its rate-limit budgets. Rates are shares in [0, 1].

    ``methods`` limits the random faults and the latency to those HTTP methods (e.g. ``["POST"]``);
    budgets always apply to every API request, as they do on the real systems. Duplicate delivery
    only ever applies to POST: the simulator's create handlers store the record twice.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    latency_ms: float = Field(default=0.0, ge=0, le=60_000)
    error_5xx_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    hang_seconds: float = Field(default=5.0, gt=0, le=120)
    drop_after_commit_rate: float = Field(default=0.0, ge=0, le=1)
    duplicate_delivery_rate: float = Field(default=0.0, ge=0, le=1)
    methods: list[str] | None = None
    rate_limit_per_minute: int | None = Field(default=100, ge=1)
    minute_seconds: float = Field(default=60.0, gt=0, le=3600)
    max_concurrent: int | None = Field(default=10, ge=1)
    daily_limit: int | None = Field(default=None, ge=1)

    @field_validator("methods")
    @classmethod
    def _upper(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [method.upper() for method in value]

    @property
    def time_scale(self) -> float:
        """Real seconds per simulated second (1.0 when a minute lasts 60 s)."""
        return self.minute_seconds / 60.0


@dataclass
class _Window:
    start: float
    count: int = 0


@dataclass(frozen=True)
class _Rejection:
    kind: RejectKind
    retry_after: float


@dataclass(frozen=True)
class _Plan:
    latency: float = 0.0
    hang_seconds: float = 0.0
    error: bool = False
    drop: bool = False
    duplicate: bool = False


def format_retry_after(seconds: float, time_scale: float) -> str:
    """Whole seconds on an unscaled clock (as real servers send); milliseconds when scaled."""
    seconds = max(seconds, 0.001)
    if time_scale == 1.0:
        return str(math.ceil(seconds))
    return f"{math.ceil(seconds * 1000) / 1000:.3f}"


def duplicate_requested(scope: Scope) -> bool:
    """True when the injector decided this POST is delivered twice; create handlers honour it."""
    return bool(scope.get(DUPLICATE_SCOPE_KEY, False))


class FaultInjector:
    """A simulator's fault config, budgets and call counters; ``wrap`` makes the middleware.

    The middleware is pure ASGI and knows no wire format: the simulator passes a renderer for its
    own error bodies. Paths under ``/__admin/`` bypass it (no faults, no limits, no counting), so
    a misbehaving simulator can always be seeded and inspected.

    Random decisions come from one ``random.Random(config.seed)``: the same request sequence
    against the same config sees the same faults. Budgets (per-minute, daily, concurrency) run on
    the real monotonic clock scaled by ``minute_seconds``, because a client honours
    ``Retry-After`` by actually waiting.
    """

    def __init__(self, config: FaultConfig | None = None, *, render_error: ErrorRenderer) -> None:
        self._lock = threading.Lock()
        self._default = config or FaultConfig()
        self._render_error = render_error
        self._config = self._default
        self._rng = random.Random(self._default.seed)
        self._minute: dict[str, _Window] = {}
        self._day: dict[str, _Window] = {}
        self._inflight: Counter[str] = Counter()
        self._calls: Counter[tuple[str, str]] = Counter()
        self._statuses: Counter[int] = Counter()
        self._faults: Counter[str] = Counter()
        self._peak_in_flight = 0

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> FaultConfig:
        """Replace the config; the random sequence restarts from its seed and budgets refill."""
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._minute.clear()
            self._day.clear()
        return config

    def update(self, **changes: Any) -> FaultConfig:
        """Change some fields of the current config (validated like a new config)."""
        merged = {**self._config.model_dump(), **changes}
        return self.configure(FaultConfig.model_validate(merged))

    def reset(self) -> None:
        """Back to the constructor's config, with empty counters."""
        self.configure(self._default)
        with self._lock:
            self._calls.clear()
            self._statuses.clear()
            self._faults.clear()
            self._peak_in_flight = 0

    # -- counters ---------------------------------------------------------------------------

    def call_count(self, method: str, path: str) -> int:
        """Calls seen for a method and route template, e.g. ``("GET", "/books/v3/invoices")``."""
        with self._lock:
            return self._calls[(method.upper(), path)]

    def status_count(self, status: int) -> int:
        with self._lock:
            return self._statuses[status]

    def fault_count(self, kind: str) -> int:
        with self._lock:
            return self._faults[kind]

    def counters(self) -> dict[str, Any]:
        """A JSON-ready snapshot: calls per (method, path template), per status, faults injected."""
        with self._lock:
            calls = [
                {"method": method, "path": path, "count": count}
                for (method, path), count in sorted(self._calls.items())
            ]
            return {
                "total": sum(self._calls.values()),
                "calls": calls,
                "statuses": {str(status): n for status, n in sorted(self._statuses.items())},
                "faults": {kind: self._faults[kind] for kind in FAULT_KINDS},
                "peak_in_flight": self._peak_in_flight,
            }

    # -- decisions --------------------------------------------------------------------------

    def _admit(self, tenant: str) -> tuple[_Rejection | None, dict[str, str]]:
        """Check concurrency first (it consumes nothing), then the daily and minute budgets."""
        now = time.monotonic()
        with self._lock:
            cfg = self._config
            if cfg.max_concurrent is not None and self._inflight[tenant] >= cfg.max_concurrent:
                # Zoho documents no Retry-After [U]; one simulated second is a polite hint.
                return _Rejection("concurrency", cfg.time_scale), {}
            day = minute = None
            if cfg.daily_limit is not None:
                day = self._window(self._day, tenant, now, 1440 * cfg.minute_seconds)
                if day.count >= cfg.daily_limit:
                    retry = day.start + 1440 * cfg.minute_seconds - now
                    return _Rejection("daily_limit", retry), self._daily_headers(day, now)
            if cfg.rate_limit_per_minute is not None:
                minute = self._window(self._minute, tenant, now, cfg.minute_seconds)
                if minute.count >= cfg.rate_limit_per_minute:
                    retry = minute.start + cfg.minute_seconds - now
                    return _Rejection("rate_limit", retry), {}
            if day is not None:
                day.count += 1
            if minute is not None:
                minute.count += 1
            self._inflight[tenant] += 1
            self._peak_in_flight = max(self._peak_in_flight, self._inflight[tenant])
            return None, self._daily_headers(day, now) if day is not None else {}

    @staticmethod
    def _window(windows: dict[str, _Window], tenant: str, now: float, length: float) -> _Window:
        window = windows.get(tenant)
        if window is None or now - window.start >= length:
            window = windows[tenant] = _Window(start=now)
        return window

    def _daily_headers(self, day: _Window, now: float) -> dict[str, str]:
        """Books sends X-Rate-Limit-* that look like the daily quota [U: interpretation]."""
        cfg = self._config
        if cfg.daily_limit is None:
            return {}
        reset = day.start + 1440 * cfg.minute_seconds - now
        return {
            "X-Rate-Limit-Limit": str(cfg.daily_limit),
            "X-Rate-Limit-Remaining": str(max(cfg.daily_limit - day.count, 0)),
            "X-Rate-Limit-Reset": str(math.ceil(reset / cfg.time_scale)),
        }

    def _release(self, tenant: str) -> None:
        with self._lock:
            self._inflight[tenant] -= 1
            if self._inflight[tenant] <= 0:
                del self._inflight[tenant]

    def _plan(self, method: str) -> _Plan:
        """Draw every random fault in a fixed order so a seed gives a reproducible sequence."""
        with self._lock:
            cfg = self._config
            if cfg.methods is not None and method not in cfg.methods:
                return _Plan()
            draws = [self._rng.random() for _ in range(4)]
            return _Plan(
                latency=cfg.latency_ms / 1000.0,
                hang_seconds=cfg.hang_seconds if draws[0] < cfg.timeout_rate else 0.0,
                error=draws[1] < cfg.error_5xx_rate,
                drop=draws[2] < cfg.drop_after_commit_rate,
                duplicate=method == "POST" and draws[3] < cfg.duplicate_delivery_rate,
            )

    def _record(
        self,
        *,
        call: tuple[str, str] | None = None,
        status: int | None = None,
        fault: str | None = None,
    ) -> None:
        with self._lock:
            if call is not None:
                self._calls[call] += 1
            if status is not None:
                self._statuses[status] += 1
            if fault is not None:
                self._faults[fault] += 1

    # -- middleware -------------------------------------------------------------------------

    def wrap(
        self,
        app: ASGIApp,
        *,
        route_template: Callable[[Scope], str],
        tenant: Callable[[Scope], str],
    ) -> ASGIApp:
        """ASGI middleware around ``app``; ``tenant`` names the budget a request draws from."""
        injector = self

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
                await app(scope, receive, send)
                return
            await injector._handle(app, scope, receive, send, route_template(scope), tenant(scope))

        return middleware

    async def _handle(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, template: str, tenant: str
    ) -> None:
        method = scope["method"]
        self._record(call=(method, template))
        rejection, extra_headers = self._admit(tenant)

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._record(status=message["status"])
                headers = list(message.get("headers", []))
                headers.extend((k.lower().encode(), v.encode()) for k, v in extra_headers.items())
                message = {**message, "headers": headers}
            await send(message)

        if rejection is not None:
            self._record(fault=rejection.kind)
            retry = format_retry_after(rejection.retry_after, self._config.time_scale)
            await self._send_error(tracking_send, 429, rejection.kind, {"Retry-After": retry})
            return
        try:
            await self._run(app, scope, receive, tracking_send, method)
        finally:
            self._release(tenant)

    async def _run(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, method: str) -> None:
        plan = self._plan(method)
        if plan.latency > 0:
            self._record(fault="latency")
            await asyncio.sleep(plan.latency)
        if plan.hang_seconds > 0:
            # Hang before touching state, then answer 500: a client that gave up earlier saw a
            # timeout, and nothing was committed either way.
            self._record(fault="timeout")
            await asyncio.sleep(plan.hang_seconds)
            await self._send_error(send, 500, "server_error", {})
            return
        if plan.error:
            self._record(fault="error_5xx")
            await self._send_error(send, 500, "server_error", {})
            return
        if plan.duplicate:
            self._record(fault="duplicate_delivery")
            scope[DUPLICATE_SCOPE_KEY] = True
        if plan.drop:
            self._record(fault="drop_after_commit")
            await app(scope, receive, _dropping(send))
            return
        await app(scope, receive, send)

    async def _send_error(self, send: Send, status: int, kind: RejectKind, headers: dict[str, str]) -> None:
        body, content_type = self._render_error(kind)
        raw_headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        raw_headers.extend((k.lower().encode(), v.encode()) for k, v in headers.items())
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})


def _dropping(send: Send) -> Send:
    """Forward the response head (headers with Content-Length) and swallow the body.

    The app returns without completing the response, so uvicorn closes the connection: the write
    is committed but the client reads a truncated message (httpx: ``RemoteProtocolError``).
    """

    async def dropping_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            await send(message)

    return dropping_send


def admin_faults_change(injector: FaultInjector, method: str, body: bytes) -> tuple[dict[str, Any], int]:
    """The ``/__admin/faults`` endpoint of every simulator: read (GET), replace (PUT), patch.

    Returns the JSON payload and status; each simulator wraps it in its own response type.
    """
    if method == "GET":
        return injector.config.model_dump(), 200
    try:
        changes = json.loads(body or b"{}")
        if method == "PUT":
            config = injector.configure(FaultConfig.model_validate(changes))
        else:
            config = injector.update(**changes)
    except (ValueError, TypeError, ValidationError) as exc:
        return {"error": str(exc)}, 400
    return config.model_dump(), 200
