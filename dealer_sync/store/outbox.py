"""Exactly-once outbound writes: intents recorded before the call, claims leased, results recorded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dealer_sync.store.audit import AuditEvent
from dealer_sync.store.schema import AuditEntry, OutboxEntry
from dealer_sync.timeutil import utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"  # intent recorded; no call in progress
    IN_FLIGHT = "in_flight"  # claimed by a worker, call may be under way
    DONE = "done"  # external id recorded
    FAILED = "failed"  # permanent failure; the record was quarantined


class DuplicateEffectError(RuntimeError):
    """A second external id arrived for a key that already had one: the target has a duplicate."""


def idempotency_key(target_system: str, entity: str, source_id: str, source_version: int) -> str:
    """The deterministic key of one effect: same source version, same key, at most one write."""
    return f"{target_system}:{entity}:{source_id}:v{source_version}"


@dataclass(frozen=True)
class Intent:
    """A write we mean to make, recorded before the call."""

    target_system: str
    entity: str
    source_id: str
    source_version: int
    reference: str
    payload: dict[str, Any]

    @property
    def key(self) -> str:
        return idempotency_key(self.target_system, self.entity, self.source_id, self.source_version)


@dataclass(frozen=True)
class Claim:
    """A leased right to make one write. ``needs_lookup``: an earlier attempt may have succeeded."""

    key: str
    source_id: str
    source_version: int
    reference: str
    payload: dict[str, Any]
    attempts: int
    claimed_by: str
    claimed_until: datetime

    @property
    def needs_lookup(self) -> bool:
        return self.attempts > 1


@dataclass(frozen=True)
class OutboxState:
    key: str
    status: OutboxStatus
    external_id: str | None
    attempts: int
    last_error: str | None
    reference: str


class Outbox:
    """The outbox table as operations; every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record_intents(self, intents: Iterable[Intent], run_id: str | None = None) -> int:
        """Insert intents that are not there yet; return how many were new."""
        rows = [
            {
                "idempotency_key": i.key,
                "target_system": i.target_system,
                "entity": i.entity,
                "source_id": i.source_id,
                "source_version": i.source_version,
                "reference": i.reference,
                "payload": i.payload,
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "run_id": run_id,
            }
            for i in intents
        ]
        if not rows:
            return 0
        dialect = self._engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(OutboxEntry)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(OutboxEntry.idempotency_key)
        )
        with self._engine.begin() as connection:
            # RETURNING yields only the rows really inserted; rowcount is unreliable for batches.
            return len(connection.execute(statement, rows).all())

    def claim(
        self,
        target_system: str,
        entity: str,
        worker: str,
        *,
        limit: int = 100,
        lease_seconds: float = 300.0,
        keys: Sequence[str] | None = None,
        now: datetime | None = None,
    ) -> list[Claim]:
        """Lease up to ``limit`` claimable writes to ``worker``.

        Claimable: pending and due, or in flight under an expired lease (its worker died).
        PostgreSQL skips rows another claimer holds (``FOR UPDATE SKIP LOCKED``); SQLite's
        ``BEGIN IMMEDIATE`` (see engine.py) serialises claimers instead.
        """
        now = now or utcnow()
        lease_end = now + timedelta(seconds=lease_seconds)
        claimable = or_(
            and_(
                OutboxEntry.status == OutboxStatus.PENDING.value,
                or_(OutboxEntry.not_before.is_(None), OutboxEntry.not_before <= now),
            ),
            and_(
                OutboxEntry.status == OutboxStatus.IN_FLIGHT.value,
                OutboxEntry.claimed_until < now,
            ),
        )
        query = (
            select(OutboxEntry.id)
            .where(OutboxEntry.target_system == target_system, OutboxEntry.entity == entity, claimable)
            .order_by(OutboxEntry.id)
            .limit(limit)
        )
        if keys is not None:
            query = query.where(OutboxEntry.idempotency_key.in_(list(keys)))
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self._engine.begin() as connection:
            ids = list(connection.scalars(query))
            if not ids:
                return []
            connection.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id.in_(ids))
                .values(
                    status=OutboxStatus.IN_FLIGHT.value,
                    claimed_by=worker,
                    claimed_until=lease_end,
                    attempts=OutboxEntry.attempts + 1,
                    updated_at=now,
                )
            )
            rows = connection.execute(
                select(OutboxEntry).where(OutboxEntry.id.in_(ids)).order_by(OutboxEntry.id)
            ).mappings()
            return [
                Claim(
                    key=row["idempotency_key"],
                    source_id=row["source_id"],
                    source_version=row["source_version"],
                    reference=row["reference"],
                    payload=row["payload"],
                    attempts=row["attempts"],
                    claimed_by=worker,
                    claimed_until=lease_end,
                )
                for row in rows
            ]

    def complete(self, key: str, external_id: str, audit: AuditEvent | None = None) -> None:
        """Record the external id. Idempotent for the same id; a different id means a duplicate.

        ``audit``, the write's audit event, is committed in the same transaction: a write is never
        recorded done without its audit entry, and one commit per write instead of two.
        """
        now = utcnow()
        with self._engine.begin() as connection:
            if audit is not None:
                connection.execute(insert(AuditEntry), [asdict(audit)])
            done = connection.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.idempotency_key == key,
                    OutboxEntry.status != OutboxStatus.DONE.value,
                )
                .values(
                    status=OutboxStatus.DONE.value,
                    external_id=external_id,
                    claimed_by=None,
                    claimed_until=None,
                    last_error=None,
                    completed_at=now,
                    updated_at=now,
                )
            )
            if done.rowcount == 1:
                return
            existing = connection.scalar(
                select(OutboxEntry.external_id).where(OutboxEntry.idempotency_key == key)
            )
        if existing is None:
            raise KeyError(f"no outbox entry for {key}")
        if existing != external_id:
            raise DuplicateEffectError(
                f"{key} was already written as {existing}; {external_id} is a duplicate in the target"
            )

    def defer(self, key: str, worker: str, error: str, retry_after_seconds: float = 0.0) -> bool:
        """Give a claimed write back for a later attempt; False if the claim was lost meanwhile."""
        now = utcnow()
        return self._release(
            key,
            worker,
            status=OutboxStatus.PENDING,
            error=error,
            not_before=now + timedelta(seconds=retry_after_seconds) if retry_after_seconds else None,
        )

    def fail(self, key: str, worker: str, error: str) -> bool:
        """Mark a claimed write as permanently failed (its record goes to quarantine)."""
        return self._release(key, worker, status=OutboxStatus.FAILED, error=error, not_before=None)

    def reopen(self, keys: Sequence[str]) -> int:
        """Make failed writes pending again, for a replay after their mapping was fixed."""
        with self._engine.begin() as connection:
            result = connection.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.idempotency_key.in_(list(keys)),
                    OutboxEntry.status == OutboxStatus.FAILED.value,
                )
                .values(status=OutboxStatus.PENDING.value, not_before=None, updated_at=utcnow())
            )
            return int(result.rowcount)

    def _release(
        self,
        key: str,
        worker: str,
        *,
        status: OutboxStatus,
        error: str,
        not_before: datetime | None,
    ) -> bool:
        with self._engine.begin() as connection:
            result = connection.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.idempotency_key == key,
                    OutboxEntry.claimed_by == worker,
                    OutboxEntry.status == OutboxStatus.IN_FLIGHT.value,
                )
                .values(
                    status=status.value,
                    last_error=error[:4000],
                    claimed_by=None,
                    claimed_until=None,
                    not_before=not_before,
                    updated_at=utcnow(),
                )
            )
            return result.rowcount == 1

    def get(self, key: str) -> OutboxState | None:
        with self._engine.connect() as connection:
            row = (
                connection.execute(select(OutboxEntry).where(OutboxEntry.idempotency_key == key))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return OutboxState(
            key=row["idempotency_key"],
            status=OutboxStatus(row["status"]),
            external_id=row["external_id"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            reference=row["reference"],
        )

    def states(self, keys: Sequence[str]) -> dict[str, OutboxState]:
        """States of many keys at once (missing keys are absent from the result)."""
        if not keys:
            return {}
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(OutboxEntry).where(OutboxEntry.idempotency_key.in_(list(keys)))
            ).mappings()
            return {
                row["idempotency_key"]: OutboxState(
                    key=row["idempotency_key"],
                    status=OutboxStatus(row["status"]),
                    external_id=row["external_id"],
                    attempts=row["attempts"],
                    last_error=row["last_error"],
                    reference=row["reference"],
                )
                for row in rows
            }

    def source_ids(self, target_system: str, entity: str, status: OutboxStatus) -> set[str]:
        """Source ids with an effect in ``status`` (e.g. orders whose sales order exists)."""
        with self._engine.connect() as connection:
            rows = connection.scalars(
                select(OutboxEntry.source_id).where(
                    OutboxEntry.target_system == target_system,
                    OutboxEntry.entity == entity,
                    OutboxEntry.status == status.value,
                )
            )
            return set(rows)

    def counts(self) -> dict[str, int]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status)
            ).all()
        return {status: int(count) for status, count in rows}
