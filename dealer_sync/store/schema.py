"""Tables of the sync store: mappings, cursors, the outbox, quarantine, run and audit logs, recon."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dealer_sync.sqltypes import ExactNumeric, JsonType, UtcDateTime
from dealer_sync.timeutil import utcnow

# Stable constraint names on every backend, so migrations can name what they alter or drop.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        datetime: UtcDateTime(),
        dict[str, Any]: JsonType,
        Decimal: ExactNumeric(),
    }


class Mapping(Base):
    """One key in one system mapped to its counterpart: dealer->customer, SKU->item, tax code..."""

    __tablename__ = "mappings"
    __table_args__ = (
        UniqueConstraint("kind", "system", "source_key"),
        Index("ix_mappings_target", "kind", "system", "target_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    system: Mapped[str] = mapped_column(String(64))
    source_key: Mapped[str] = mapped_column(String(255))
    target_key: Mapped[str] = mapped_column(String(255))
    attributes: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Cursor(Base):
    """How far an incremental pull has read, per (flow, system, entity)."""

    __tablename__ = "cursors"

    flow: Mapped[str] = mapped_column(String(64), primary_key=True)
    system: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    run_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxEntry(Base):
    """One outbound write, keyed so that it happens exactly once.

    The row is written (status ``pending``) before the call, claimed (``in_flight``, with a lease)
    while the call is made, and gets the external id (``done``) after it. ``attempts`` counts
    claims: above one, an earlier call may have succeeded, so the target is searched by
    ``reference`` before anything is created.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_claimable", "target_system", "entity", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    target_system: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(255))
    source_version: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    external_id: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None]
    not_before: Mapped[datetime | None]
    run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]


class QuarantineRecord(Base):
    """An input record that could not be synced, with why, kept until it is replayed."""

    __tablename__ = "quarantine"
    __table_args__ = (
        Index("ix_quarantine_entity", "flow", "entity", "entity_key"),
        Index("ix_quarantine_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    failed_expectation: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="open")
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    replayed_at: Mapped[datetime | None]
    replay_run_id: Mapped[str | None] = mapped_column(String(64))


class RunLog(Base):
    """Counts of one flow run; ``in = synced + quarantined + deferred`` must hold."""

    __tablename__ = "run_log"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    window_since: Mapped[datetime | None]
    window_until: Mapped[datetime | None]
    parameters: Mapped[dict[str, Any] | None]
    in_count: Mapped[int] = mapped_column(Integer, default=0)
    synced: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    deferred: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    """Every write to an external system, whatever its outcome."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_key", "system", "entity", "entity_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[str | None] = mapped_column(String(64))
    system: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(64))
    entity_key: Mapped[str] = mapped_column(String(255))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)


class ReconSnapshot(Base):
    """One source's state (portal, inventory or ledger) as read by one reconciliation run."""

    __tablename__ = "recon_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    window_since: Mapped[datetime | None]
    window_until: Mapped[datetime | None]
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    row_count: Mapped[int] = mapped_column(Integer, default=0)


class ReconSnapshotRow(Base):
    """A normalised row of a snapshot: keys case-folded, money in minor units."""

    __tablename__ = "recon_snapshot_rows"
    __table_args__ = (Index("ix_recon_snapshot_rows_key", "snapshot_id", "entity_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("recon_snapshots.id", ondelete="CASCADE"))
    entity_key: Mapped[str] = mapped_column(String(255))
    order_key: Mapped[str | None] = mapped_column(String(255))
    dealer_key: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str | None] = mapped_column(String(3))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    tax_minor: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[Decimal | None]
    business_date: Mapped[date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any] | None]


class ReconFinding(Base):
    """One classified difference found by a reconciliation run, with its remedy."""

    __tablename__ = "recon_findings"
    __table_args__ = (Index("ix_recon_findings_run", "run_id", "category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    order_key: Mapped[str | None] = mapped_column(String(255))
    invoice_key: Mapped[str | None] = mapped_column(String(255))
    dealer_key: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str | None] = mapped_column(String(3))
    money_at_stake_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    age_days: Mapped[int | None] = mapped_column(Integer)
    remedy: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
