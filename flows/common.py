"""What every flow does around its tasks: the run record, conservation, artifacts, a red state."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prefect.runtime import deployment, flow_run

from dealer_sync.settings import Settings
from dealer_sync.store import ConservationError, RunCounts
from tasks.environment import SyncEnvironment, environment
from tasks.outcomes import RunOutcomes
from tasks.reporting import publish_run_artifacts


class RunFailedError(RuntimeError):
    """A batch failed after its retries, or a record has no outcome: the run must show red."""


@dataclass
class FlowRun:
    flow: str
    run_id: str
    env: SyncEnvironment
    outcomes: RunOutcomes = field(default_factory=RunOutcomes)

    def summary(self) -> dict[str, Any]:
        counts = self.outcomes.counts()
        return {
            "flow": self.flow,
            "run_id": self.run_id,
            "in": counts.in_count,
            "synced": counts.synced,
            "quarantined": counts.quarantined,
            "deferred": counts.deferred,
        }


def scheduled_cutoff() -> datetime | None:
    """A deployment run's scheduled start, or None when the flow was called directly.

    A scheduled run covers what was due at its scheduled time, not whatever happened before it
    finally started: a late run (a worker down for an hour) and the catch-up runs after it then
    split the work by schedule instead of the first one taking everything.
    """
    if deployment.get_id() is None:
        return None
    return flow_run.get_scheduled_start_time()


def current_run_id() -> str:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else f"local-{uuid.uuid4()}"


@contextmanager
def recorded_run(
    flow: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    parameters: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> Iterator[FlowRun]:
    """Open the run log, yield the run, then check conservation, publish, and fail loudly."""
    env = environment(settings)
    run = FlowRun(flow=flow, run_id=current_run_id(), env=env)
    env.store.runs.start(run.run_id, flow, since=since, until=until, parameters=parameters)
    error: BaseException | None = None
    try:
        yield run
    except BaseException as exc:
        error = exc
        raise
    finally:
        counts = run.outcomes.counts()
        publish_run_artifacts(flow, run.outcomes, counts)
        problem = _problem(run, counts, error)
        env.store.runs.finish(run.run_id, counts, "failed" if problem else "completed", problem)
        if problem and error is None:
            if not counts.conserved:
                raise ConservationError(problem)
            raise RunFailedError(problem)


def _problem(run: FlowRun, counts: RunCounts, error: BaseException | None) -> str | None:
    if error is not None:
        return f"{type(error).__name__}: {error}"
    if run.outcomes.batch_errors:
        return f"{len(run.outcomes.batch_errors)} batch(es) failed: " + "; ".join(run.outcomes.batch_errors)
    if not counts.conserved:
        c = counts
        return (
            f"{run.flow}: {c.in_count} records in but {c.synced + c.quarantined + c.deferred} accounted for"
        )
    return None


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
