"""Post claimed outbox entries exactly once: look up before any create that follows doubt.

Plain functions over a ``DocumentTarget``; the Prefect tasks in order_to_invoice.py wrap them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.overlap import overlapped
from dealer_sync.models import MappedOrder
from dealer_sync.store import AuditEvent, Claim, SyncStore
from dealer_sync.store.outbox import DuplicateEffectError

log = logging.getLogger("dealer_sync.posting")


class DocumentTarget(Protocol):
    """A document type in a target system that we create with our own number."""

    system: str
    entity: str
    batch_size: int  # documents one request can create; 1: one at a time
    in_flight: int  # one-document requests that may be in flight at once (batch_size 1)

    def create(self, order: MappedOrder) -> str:
        """Create the document; return its id in the target."""
        ...

    def create_many(self, orders: Sequence[MappedOrder]) -> list[str | ConnectorError]:
        """Create several in the target's own batches; per order, its id or its error."""
        ...

    def lookup(self, document_number: str) -> list[str]:
        """Ids of documents in the target carrying our number (normally none or one)."""
        ...


@dataclass
class PostReport:
    done: dict[str, str] = field(default_factory=dict)  # outbox key -> external id
    failed: dict[str, str] = field(default_factory=dict)  # outbox key -> reason
    deferred: dict[str, str] = field(default_factory=dict)  # outbox key -> reason
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # key -> all ids found

    def merge(self, other: PostReport) -> None:
        for key in other.done:
            self.deferred.pop(key, None)
        for key in other.failed:
            self.deferred.pop(key, None)
        self.done.update(other.done)
        self.failed.update(other.failed)
        self.deferred.update({k: v for k, v in other.deferred.items() if k not in self.done})
        self.duplicates.update(other.duplicates)


def post_claims(store: SyncStore, target: DocumentTarget, claims: Sequence[Claim], run_id: str) -> PostReport:
    """Create each claimed document once; every claim ends done, failed or deferred."""
    report = PostReport()

    def audit_event(
        claim: Claim, outcome: str, external_id: str | None = None, error: ConnectorError | None = None
    ) -> AuditEvent:
        return AuditEvent(
            system=target.system,
            operation="create",
            entity=target.entity,
            entity_key=claim.source_id,
            outcome=outcome,
            idempotency_key=claim.key,
            external_id=external_id,
            status_code=error.status_code if error else None,
            detail=str(error) if error else None,
            run_id=run_id,
        )

    def event(
        claim: Claim, outcome: str, external_id: str | None = None, error: ConnectorError | None = None
    ) -> None:
        # Written at once, not at the end of the batch: a run killed mid-batch keeps the audit
        # of every write it made.
        store.audit.record([audit_event(claim, outcome, external_id, error)])

    def finish(claim: Claim, ids: list[str], outcome: str) -> None:
        if len(ids) > 1:
            report.duplicates[claim.key] = ids
            log.error(
                "%s %s has %d copies in %s: %s", target.entity, claim.reference, len(ids), target.system, ids
            )
        # The audit entry commits with the outbox row: if the run dies before that commit, the
        # next run finds the document by lookup and audits it then, so no write goes unaudited.
        try:
            store.outbox.complete(claim.key, ids[0], audit=audit_event(claim, outcome, ids[0]))
        except DuplicateEffectError as exc:
            report.duplicates[claim.key] = ids
            log.error("%s", exc)
        report.done[claim.key] = ids[0]

    settled: set[str] = set()

    def settle_error(claim: Claim, exc: ConnectorError) -> None:
        """A write that failed for good is failed, one that may work later deferred; auth stops all."""
        settled.add(claim.key)
        if exc.kind is ErrorKind.AUTH:
            store.outbox.defer(claim.key, claim.claimed_by, str(exc))
            event(claim, "auth_failed", error=exc)
            raise exc
        if exc.kind in (ErrorKind.BAD_REQUEST, ErrorKind.NOT_FOUND):
            store.outbox.fail(claim.key, claim.claimed_by, str(exc))
            report.failed[claim.key] = exc.message
            event(claim, "rejected", error=exc)
        else:  # rate limited, transient beyond retries, or still uncertain: later
            store.outbox.defer(claim.key, claim.claimed_by, str(exc), exc.retry_after or 0.0)
            report.deferred[claim.key] = exc.message
            event(claim, "deferred", error=exc)

    def done(claim: Claim, ids: list[str], outcome: str) -> None:
        settled.add(claim.key)
        finish(claim, ids, outcome)

    def resolve(claim: Claim, order: MappedOrder, created: str | ConnectorError) -> None:
        """A create's answer; after doubt (uncertain, or "exists"), the lookup decides."""
        try:
            if isinstance(created, str):
                done(claim, [created], "created")
                return
            if created.kind in (ErrorKind.DUPLICATE, ErrorKind.UNCERTAIN):
                found = target.lookup(order.document_number)
                if found:
                    done(claim, found, "found")
                    return
                if created.kind is ErrorKind.DUPLICATE:
                    raise ConnectorError(
                        f"{target.system} says {order.document_number} exists but cannot find it",
                        kind=ErrorKind.BAD_REQUEST,
                    ) from created
            raise created
        except ConnectorError as exc:
            settle_error(claim, exc)

    try:
        fresh: list[tuple[Claim, MappedOrder]] = []
        for claim in claims:
            order = MappedOrder.model_validate(claim.payload)
            if claim.needs_lookup:  # an earlier attempt may have written: look before creating
                try:
                    found = target.lookup(order.document_number)
                except ConnectorError as exc:
                    settle_error(claim, exc)
                    continue
                if found:
                    done(claim, found, "found")
                    continue
            fresh.append((claim, order))
        size = max(1, target.batch_size)
        chunks = [fresh[start : start + size] for start in range(0, len(fresh), size)] if size > 1 else []
        for chunk in [c for c in chunks if len(c) > 1]:  # one request creates the chunk; answers per order
            answers = target.create_many([order for _, order in chunk])
            for (claim, order), answer in zip(chunk, answers, strict=True):
                resolve(claim, order, answer)
        singles = fresh if size == 1 else [c[0] for c in chunks if len(c) == 1]
        # one request a document: several in flight, each settled as it ends
        for index, answer in overlapped(target.create, [order for _, order in singles], target.in_flight):
            resolve(*singles[index], answer)
    finally:
        for claim in claims:  # an auth failure stops the batch: hand back what was not settled
            if claim.key not in settled:
                store.outbox.defer(claim.key, claim.claimed_by, "not attempted: the batch stopped")
    return report
