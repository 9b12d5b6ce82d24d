"""The audit log of every write to an external system."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Engine, func, insert, select

from dealer_sync.store.schema import AuditEntry


@dataclass(frozen=True)
class AuditEvent:
    system: str
    operation: str
    entity: str
    entity_key: str
    outcome: str
    idempotency_key: str | None = None
    external_id: str | None = None
    status_code: int | None = None
    detail: str | None = None
    run_id: str | None = None


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, events: list[AuditEvent]) -> None:
        if not events:
            return
        with self._engine.begin() as connection:
            connection.execute(insert(AuditEntry), [asdict(e) for e in events])

    def count(self, system: str | None = None, outcome: str | None = None) -> int:
        query = select(func.count()).select_from(AuditEntry)
        if system is not None:
            query = query.where(AuditEntry.system == system)
        if outcome is not None:
            query = query.where(AuditEntry.outcome == outcome)
        with self._engine.connect() as connection:
            return int(connection.scalar(query) or 0)
