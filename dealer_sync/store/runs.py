"""The run log: what each flow run took in and where every record ended up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, desc, insert, select, update

from dealer_sync.store.schema import RunLog
from dealer_sync.timeutil import utcnow


class ConservationError(RuntimeError):
    """Records went missing: ``in`` is not ``synced + quarantined + deferred``."""


@dataclass(frozen=True)
class RunCounts:
    in_count: int = 0
    synced: int = 0
    quarantined: int = 0
    deferred: int = 0

    def __add__(self, other: RunCounts) -> RunCounts:
        return RunCounts(
            self.in_count + other.in_count,
            self.synced + other.synced,
            self.quarantined + other.quarantined,
            self.deferred + other.deferred,
        )

    @property
    def conserved(self) -> bool:
        return self.in_count == self.synced + self.quarantined + self.deferred

    def check(self, label: str = "run") -> None:
        """Fail loudly when a record has no outcome (or has two)."""
        if not self.conserved:
            accounted = self.synced + self.quarantined + self.deferred
            raise ConservationError(
                f"{label}: {self.in_count} records in but {accounted} accounted for "
                f"(synced {self.synced}, quarantined {self.quarantined}, deferred {self.deferred})"
            )


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    flow: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: RunCounts
    error: str | None


class RunLogRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start(
        self,
        run_id: str,
        flow: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        with self._engine.begin() as connection:
            existing = connection.scalar(select(RunLog.run_id).where(RunLog.run_id == run_id))
            values = {
                "flow": flow,
                "window_since": since,
                "window_until": until,
                "parameters": parameters,
                "status": "running",
                "started_at": utcnow(),
                "finished_at": None,
                "error": None,
            }
            if existing is None:
                connection.execute(insert(RunLog).values(run_id=run_id, **values))
            else:  # a retried flow run keeps its id; start it over
                connection.execute(update(RunLog).where(RunLog.run_id == run_id).values(**values))

    def finish(self, run_id: str, counts: RunCounts, status: str, error: str | None = None) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(RunLog)
                .where(RunLog.run_id == run_id)
                .values(
                    in_count=counts.in_count,
                    synced=counts.synced,
                    quarantined=counts.quarantined,
                    deferred=counts.deferred,
                    status=status,
                    error=error,
                    finished_at=utcnow(),
                )
            )

    def recent(self, flow: str | None = None, limit: int = 20) -> list[RunRecord]:
        query = select(RunLog).order_by(desc(RunLog.started_at)).limit(limit)
        if flow is not None:
            query = query.where(RunLog.flow == flow)
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            RunRecord(
                run_id=row["run_id"],
                flow=row["flow"],
                status=row["status"],
                started_at=row["started_at"],
                finished_at=row["finished_at"],
                counts=RunCounts(row["in_count"], row["synced"], row["quarantined"], row["deferred"]),
                error=row["error"],
            )
            for row in rows
        ]
