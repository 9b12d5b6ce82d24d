"""Records that could not be synced, with the reason and the payload, until they are replayed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update

from dealer_sync.store.schema import QuarantineRecord
from dealer_sync.timeutil import utcnow

OPEN = "open"
REPLAYED = "replayed"


@dataclass(frozen=True)
class Quarantined:
    id: int
    flow: str
    run_id: str
    entity: str
    entity_key: str
    payload: dict[str, Any]
    reason: str
    failed_expectation: str | None
    status: str
    occurrences: int
    created_at: datetime
    updated_at: datetime
    replayed_at: datetime | None


@dataclass(frozen=True)
class QuarantineItem:
    """What a run hands to quarantine for one record."""

    entity: str
    entity_key: str
    payload: dict[str, Any]
    reason: str
    failed_expectation: str | None = None


def jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    """Vendor payloads hold Decimals (read exactly) and dates: keep them as text in the JSON column."""
    result: dict[str, Any] = json.loads(json.dumps(payload, default=str))
    return result


def _row_to_record(row: QuarantineRecord) -> Quarantined:
    return Quarantined(
        id=row.id,
        flow=row.flow,
        run_id=row.run_id,
        entity=row.entity,
        entity_key=row.entity_key,
        payload=row.payload,
        reason=row.reason,
        failed_expectation=row.failed_expectation,
        status=row.status,
        occurrences=row.occurrences,
        created_at=row.created_at,
        updated_at=row.updated_at,
        replayed_at=row.replayed_at,
    )


class Quarantine:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, flow: str, run_id: str, items: Sequence[QuarantineItem]) -> list[int]:
        """Quarantine records; a record already open for the same key is refreshed, not doubled."""
        from sqlalchemy.orm import Session

        ids: list[int] = []
        with Session(self._engine) as session, session.begin():
            for item in items:
                existing = session.scalars(
                    select(QuarantineRecord).where(
                        QuarantineRecord.flow == flow,
                        QuarantineRecord.entity == item.entity,
                        QuarantineRecord.entity_key == item.entity_key,
                        QuarantineRecord.status == OPEN,
                    )
                ).first()
                if existing is not None:
                    existing.run_id = run_id
                    existing.payload = jsonable(item.payload)
                    existing.reason = item.reason
                    existing.failed_expectation = item.failed_expectation
                    existing.occurrences += 1
                    record = existing
                else:
                    record = QuarantineRecord(
                        flow=flow,
                        run_id=run_id,
                        entity=item.entity,
                        entity_key=item.entity_key,
                        payload=jsonable(item.payload),
                        reason=item.reason,
                        failed_expectation=item.failed_expectation,
                        status=OPEN,
                    )
                    session.add(record)
                session.flush()
                ids.append(record.id)
        return ids

    def list(
        self,
        *,
        status: str | None = OPEN,
        flow: str | None = None,
        entity: str | None = None,
        limit: int = 100,
    ) -> list[Quarantined]:
        from sqlalchemy.orm import Session

        query = select(QuarantineRecord).order_by(QuarantineRecord.id).limit(limit)
        if status is not None:
            query = query.where(QuarantineRecord.status == status)
        if flow is not None:
            query = query.where(QuarantineRecord.flow == flow)
        if entity is not None:
            query = query.where(QuarantineRecord.entity == entity)
        with Session(self._engine) as session:
            return [_row_to_record(row) for row in session.scalars(query)]

    def get(self, record_id: int) -> Quarantined | None:
        from sqlalchemy.orm import Session

        with Session(self._engine) as session:
            row = session.get(QuarantineRecord, record_id)
            return _row_to_record(row) if row is not None else None

    def mark_replayed(self, record_ids: Sequence[int], run_id: str) -> int:
        with self._engine.begin() as connection:
            result = connection.execute(
                update(QuarantineRecord)
                .where(QuarantineRecord.id.in_(list(record_ids)), QuarantineRecord.status == OPEN)
                .values(status=REPLAYED, replayed_at=utcnow(), replay_run_id=run_id, updated_at=utcnow())
            )
            return int(result.rowcount)

    def resolve_keys(self, flow: str, entity: str, keys: Sequence[str], run_id: str) -> int:
        """Close open records whose keys have now synced (a later run or a replay succeeded)."""
        if not keys:
            return 0
        with self._engine.begin() as connection:
            result = connection.execute(
                update(QuarantineRecord)
                .where(
                    QuarantineRecord.flow == flow,
                    QuarantineRecord.entity == entity,
                    QuarantineRecord.entity_key.in_(list(keys)),
                    QuarantineRecord.status == OPEN,
                )
                .values(status=REPLAYED, replayed_at=utcnow(), replay_run_id=run_id, updated_at=utcnow())
            )
            return int(result.rowcount)

    def count_open(self) -> dict[str, int]:
        """Open records per flow."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(QuarantineRecord.flow, func.count())
                .where(QuarantineRecord.status == OPEN)
                .group_by(QuarantineRecord.flow)
            ).all()
        return {flow: int(count) for flow, count in rows}
