"""The sync store: mappings, cursors, outbox, quarantine, run and audit logs, recon snapshots."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import Engine

from dealer_sync.db import make_engine
from dealer_sync.store.audit import AuditEvent, AuditLog
from dealer_sync.store.cursors import Cursors
from dealer_sync.store.mappings import MappingKind, Mappings
from dealer_sync.store.migrate import is_current, upgrade
from dealer_sync.store.outbox import Claim, Intent, Outbox, OutboxStatus, idempotency_key
from dealer_sync.store.quarantine import Quarantine, QuarantineItem
from dealer_sync.store.runs import ConservationError, RunCounts, RunLogRepository


class StoreNotMigratedError(RuntimeError):
    """The store's schema is behind the code: run ``dealer-sync db upgrade``."""


class SyncStore:
    """One handle on the sync store; each attribute is a repository over the same engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate: bool = False) -> SyncStore:
        """Open the store at ``url``; with ``migrate`` bring its schema to head first."""
        engine = make_engine(url)
        if migrate:
            upgrade(engine)
        elif not is_current(engine):
            raise StoreNotMigratedError(
                "the sync store schema is not at the latest migration; run `dealer-sync db upgrade`"
            )
        return cls(engine)

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.engine)

    @cached_property
    def quarantine(self) -> Quarantine:
        return Quarantine(self.engine)

    @cached_property
    def runs(self) -> RunLogRepository:
        return RunLogRepository(self.engine)

    @cached_property
    def cursors(self) -> Cursors:
        return Cursors(self.engine)

    @cached_property
    def mappings(self) -> Mappings:
        return Mappings(self.engine)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.engine)

    def close(self) -> None:
        self.engine.dispose()


__all__ = [
    "AuditEvent",
    "Claim",
    "ConservationError",
    "Intent",
    "MappingKind",
    "OutboxStatus",
    "QuarantineItem",
    "RunCounts",
    "StoreNotMigratedError",
    "SyncStore",
    "idempotency_key",
]
