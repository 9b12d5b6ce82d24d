"""Backfills: a past window cut into chunks, one deployment run per chunk, each created once.

Planning is pure (no Prefect; the clock only when no ``now`` is given): ``plan_backfill`` checks
the window and the chunk length and returns every chunk with its flow parameters and idempotency key.
``submit_backfill`` then asks the Prefect API for one flow run per chunk. The key is built from
the deployment, the chunk's bounds and the generation, so running the same backfill again returns
the runs it already created; an operator bumps the generation to run a window deliberately again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from dealer_sync.timeutil import business_day_bounds, zone
from deployments.catalog import DeploymentSpec, WindowKind

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

MAX_CHUNKS: Final = 1000
BACKFILL_TAG: Final = "backfill"
CONTEXT_KEY: Final = "dealer_sync_backfill"

ChunkUnit = Literal["m", "h", "d"]
_CHUNK = re.compile(r"(\d+)([mhd])")

Bound = datetime | date
"""A window bound: an aware instant, or a date meaning its first instant in the business timezone."""


class BackfillError(ValueError):
    """A backfill that cannot be planned as asked; the message says what to change."""


class BackfillSubmitError(RuntimeError):
    """The Prefect API refused or could not be reached; the message says what to do."""


@dataclass(frozen=True)
class ChunkSize:
    """A chunk length: minutes and hours are absolute, days are calendar days in the business zone."""

    amount: int
    unit: ChunkUnit

    @classmethod
    def parse(cls, text: str) -> ChunkSize:
        match = _CHUNK.fullmatch(text.strip())
        if match is None:
            raise BackfillError(f"--chunk {text!r} is not <N>m, <N>h or <N>d (e.g. 30m, 6h, 1d)")
        amount = int(match.group(1))
        if amount == 0:
            raise BackfillError(f"--chunk {text!r} is zero; give a positive length such as 1d")
        unit = cast(ChunkUnit, match.group(2))  # the pattern allows only these
        return cls(amount, unit)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class Chunk:
    """One flow run's share of the window: [start, end) in UTC, with what the flow is given."""

    index: int  # 1-based
    start: datetime
    end: datetime
    label: str
    parameters: dict[str, str | bool]
    idempotency_key: str


@dataclass(frozen=True)
class BackfillPlan:
    spec: DeploymentSpec
    since: datetime
    until: datetime
    chunk: ChunkSize
    generation: int
    timezone: str
    chunks: tuple[Chunk, ...]

    @property
    def tags(self) -> list[str]:
        return [BACKFILL_TAG, f"generation-{self.generation}"]


class Outcome(StrEnum):
    CREATED = "created"
    EXISTING = "already exists"


@dataclass(frozen=True)
class ChunkResult:
    chunk: Chunk
    outcome: Outcome
    flow_run_id: uuid.UUID
    flow_run_name: str
    state: str | None


@dataclass
class BackfillSummary:
    plan: BackfillPlan
    results: list[ChunkResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    def as_dict(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "flow": plan.spec.flow,
            "deployment": plan.spec.full_name,
            "since": plan.since.isoformat(),
            "until": plan.until.isoformat(),
            "chunk": str(plan.chunk),
            "generation": plan.generation,
            "chunks": len(plan.chunks),
            "created": self.count(Outcome.CREATED),
            "existing": self.count(Outcome.EXISTING),
            "runs": [
                {
                    "index": r.chunk.index,
                    "window": r.chunk.label,
                    "parameters": r.chunk.parameters,
                    "idempotency_key": r.chunk.idempotency_key,
                    "outcome": r.outcome.value,
                    "flow_run_id": str(r.flow_run_id),
                    "flow_run_name": r.flow_run_name,
                    "state": r.state,
                }
                for r in self.results
            ],
        }


def backfill_key(full_name: str, lower: str, upper: str, generation: int) -> str:
    """The idempotency key of one chunk's run.

    Prefect keeps keys unique per flow (not per deployment) and never frees one, so the key names
    the deployment, the chunk's bounds (UTC instants or business dates) and the generation.
    """
    return f"backfill:{full_name}:{lower}..{upper}:g{generation}"


def _utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _as_instant(bound: Bound, name: str, timezone: str) -> datetime:
    if isinstance(bound, datetime):
        if bound.tzinfo is None or bound.utcoffset() is None:
            raise BackfillError(f"--{name} {bound.isoformat()} has no timezone offset; add one, e.g. +05:30")
        return bound.astimezone(UTC)
    return business_day_bounds(bound, timezone)[0]


def _as_business_day(bound: Bound, name: str, timezone: str) -> date:
    """A date, or an instant that is exactly the start of a business day, as that day."""
    if not isinstance(bound, datetime):
        return bound
    instant = _as_instant(bound, name, timezone)
    day = instant.astimezone(zone(timezone)).date()
    if business_day_bounds(day, timezone)[0] != instant:
        raise BackfillError(
            f"--{name} {_show(bound, timezone)} is not the start of a business day in {timezone}; "
            "this flow takes whole days: give dates such as 2026-11-01"
        )
    return day


def _too_many(spec: DeploymentSpec, chunk: ChunkSize) -> BackfillError:
    return BackfillError(
        f"the window makes more than {MAX_CHUNKS} chunks of {chunk} for {spec.flow}; "
        "use a bigger --chunk (or a shorter window)"
    )


def _instant_bounds(since: datetime, until: datetime, chunk: ChunkSize, timezone: str) -> Iterator[datetime]:
    """Chunk boundaries after ``since`` up to ``until``: absolute steps, or local calendar days.

    Days are added to the local wall-clock time and converted back, never as 24 hours, so a chunk
    that spans a DST change is 23 or 25 hours long and the next one starts at the same local time.
    Each boundary is computed from ``since`` (not from the previous one), so no error accumulates.
    """
    tz = zone(timezone)
    local_since = since.astimezone(tz).replace(tzinfo=None)
    k = 1
    while True:
        try:
            if chunk.unit == "d":
                local = local_since + timedelta(days=k * chunk.amount)
                boundary = local.replace(tzinfo=tz).astimezone(UTC)
            elif chunk.unit == "h":
                boundary = since + timedelta(hours=k * chunk.amount)
            else:
                boundary = since + timedelta(minutes=k * chunk.amount)
        except OverflowError:  # a chunk longer than the calendar: it ends with the window
            boundary = until
        if boundary >= until:
            yield until
            return
        yield boundary
        k += 1


def plan_backfill(
    spec: DeploymentSpec,
    since: Bound,
    until: Bound,
    chunk: ChunkSize,
    *,
    timezone: str,
    generation: int = 1,
    now: datetime | None = None,
) -> BackfillPlan:
    """Split [since, until) into chunks for ``spec``'s deployment, or say why it cannot be done.

    Args:
        spec: the deployment to backfill.
        since: first instant (or business date) of the window.
        until: end of the window, exclusive: an instant, or a date whose day is not included.
        chunk: the length of each run's window; the last chunk may be shorter.
        timezone: the business timezone (dates, calendar-day chunks, business days).
        generation: bumped by an operator to run the same window again on purpose.
        now: the present, for checking that the window lies in the past (default: the clock).
    """
    if spec.window is WindowKind.NONE:
        raise BackfillError(
            f"{spec.flow} reads the current state only: there is nothing to backfill; "
            f"to re-read every item now, run `dealer-sync run {spec.flow} --full`"
        )
    if generation < 1:
        raise BackfillError(f"--generation {generation} must be 1 or more")
    now = now or datetime.now(UTC)
    if spec.window is WindowKind.BUSINESS_DAYS:
        first, end_day = (
            _as_business_day(since, "since", timezone),
            _as_business_day(until, "until", timezone),
        )
        _check_window(
            business_day_bounds(first, timezone)[0],
            business_day_bounds(end_day, timezone)[0],
            until,
            timezone,
            now,
        )
        if chunk.unit != "d":
            raise BackfillError(f"{spec.flow} takes whole business days: give --chunk in days, e.g. 1d or 7d")
        chunks = _business_day_chunks(spec, first, end_day, chunk, timezone, generation)
    else:
        start, end = _as_instant(since, "since", timezone), _as_instant(until, "until", timezone)
        _check_window(start, end, until, timezone, now)
        chunks = _instant_chunks(spec, start, end, chunk, timezone, generation)
    return BackfillPlan(spec, chunks[0].start, chunks[-1].end, chunk, generation, timezone, chunks)


def _check_window(start: datetime, end: datetime, until: Bound, timezone: str, now: datetime) -> None:
    if start >= end:
        raise BackfillError("--since must be before --until")
    if end > now:
        raise BackfillError(f"--until {_show(until, timezone)} is in the future; a backfill covers the past")


def _show(bound: Bound, timezone: str) -> str:
    """A bound as the operator thinks of it: a date, or an instant in the business timezone."""
    if isinstance(bound, datetime) and bound.utcoffset() is not None:
        return bound.astimezone(zone(timezone)).isoformat()
    return bound.isoformat()


def _instant_chunks(
    spec: DeploymentSpec, since: datetime, until: datetime, chunk: ChunkSize, timezone: str, generation: int
) -> tuple[Chunk, ...]:
    tz = zone(timezone)
    chunks: list[Chunk] = []
    lower = since
    for upper in _instant_bounds(since, until, chunk, timezone):
        if len(chunks) == MAX_CHUNKS:
            raise _too_many(spec, chunk)
        lower_text, upper_text = _utc_text(lower), _utc_text(upper)
        chunks.append(
            Chunk(
                index=len(chunks) + 1,
                start=lower,
                end=upper,
                label=(
                    f"{lower.astimezone(tz).isoformat(timespec='minutes')} .. "
                    f"{upper.astimezone(tz).isoformat(timespec='minutes')}"
                ),
                parameters={"since": lower.isoformat(), "until": upper.isoformat()},
                idempotency_key=backfill_key(spec.full_name, lower_text, upper_text, generation),
            )
        )
        lower = upper
    return tuple(chunks)


def _business_day_chunks(
    spec: DeploymentSpec, first: date, end_day: date, chunk: ChunkSize, timezone: str, generation: int
) -> tuple[Chunk, ...]:
    """Whole days [first, end_day): each chunk runs the flow for first_day..last_day inclusive."""
    total_days = (end_day - first).days
    if -(-total_days // chunk.amount) > MAX_CHUNKS:
        raise _too_many(spec, chunk)
    chunks: list[Chunk] = []
    for offset in range(0, total_days, chunk.amount):
        lower = first + timedelta(days=offset)
        upper = first + timedelta(days=min(offset + chunk.amount, total_days))
        last_day = upper - timedelta(days=1)
        chunks.append(
            Chunk(
                index=len(chunks) + 1,
                start=business_day_bounds(lower, timezone)[0],
                end=business_day_bounds(upper, timezone)[0],
                label=f"{lower.isoformat()} .. {upper.isoformat()}",
                # Report files only: finance gets the nightly email, not one per backfilled day.
                parameters={
                    "first_day": lower.isoformat(),
                    "last_day": last_day.isoformat(),
                    "deliver": False,
                },
                idempotency_key=backfill_key(
                    spec.full_name, lower.isoformat(), last_day.isoformat(), generation
                ),
            )
        )
    return tuple(chunks)


def submit_backfill(
    plan: BackfillPlan, client: SyncPrefectClient, *, submission: str | None = None
) -> Iterator[ChunkResult]:
    """Create (or find) the flow run of every chunk, in order, yielding each as it is known.

    Prefect returns the existing run when an idempotency key was used before, with no flag saying
    so. Each request therefore carries a token unique to this submission in the run's context: the
    run came from this request exactly when the returned run carries our token back. That holds
    under concurrent backfills too, unlike looking the keys up first.

    Raises:
        BackfillSubmitError: the API is unreachable, the deployment does not exist, or the API
            refused a run; chunks yielded before that are in place.
    """
    import httpx
    from prefect.exceptions import ObjectNotFound

    token = submission or uuid.uuid4().hex
    api = str(client.api_url)
    problem = client.api_healthcheck()
    if problem is not None:
        raise BackfillSubmitError(
            f"cannot reach the Prefect API at {api} ({type(problem).__name__}: {problem}); "
            "start the server or point PREFECT_API_URL at it"
        )
    try:
        deployment = client.read_deployment_by_name(plan.spec.full_name)
    except ObjectNotFound:
        raise BackfillSubmitError(
            f"deployment {plan.spec.full_name} does not exist on the Prefect API at {api}; "
            "deploy it first (make deploy), or check PREFECT_API_URL"
        ) from None
    except httpx.HTTPError as exc:
        raise BackfillSubmitError(f"the Prefect API at {api} failed: {_http_problem(exc)}") from exc
    for chunk in plan.chunks:
        try:
            run = client.create_flow_run_from_deployment(
                deployment.id,
                parameters=dict(chunk.parameters),
                tags=plan.tags,
                idempotency_key=chunk.idempotency_key,
                context={CONTEXT_KEY: {"submission": token, "generation": plan.generation}},
            )
        except (httpx.HTTPError, ObjectNotFound) as exc:
            raise BackfillSubmitError(
                f"the Prefect API at {api} refused the run of chunk {chunk.index} ({chunk.label}): "
                f"{_http_problem(exc)}"
            ) from exc
        yield ChunkResult(
            chunk=chunk,
            outcome=Outcome.CREATED if _submitted_by(run, token) else Outcome.EXISTING,
            flow_run_id=run.id,
            flow_run_name=run.name,
            state=run.state.name if run.state else None,
        )


def _submitted_by(run: FlowRun, token: str) -> bool:
    marker = run.context.get(CONTEXT_KEY)
    return isinstance(marker, dict) and marker.get("submission") == token


def _http_problem(exc: Exception) -> str:
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        try:
            detail = exc.response.json().get("detail")
        except ValueError:
            detail = None
        return f"HTTP {exc.response.status_code}{f': {detail}' if detail else ''}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
