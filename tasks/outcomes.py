"""Per-record outcomes of a run: every input record ends synced, quarantined or deferred."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dealer_sync.store import QuarantineItem, RunCounts


class Outcome(StrEnum):
    SYNCED = "synced"
    QUARANTINED = "quarantined"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class RecordOutcome:
    entity: str
    key: str
    outcome: Outcome
    reason: str | None = None
    check: str | None = None


@dataclass
class RunOutcomes:
    """Outcomes gathered over a run's batches; one entry per input key, never two."""

    records: dict[tuple[str, str], RecordOutcome] = field(default_factory=dict)
    inputs: set[tuple[str, str]] = field(default_factory=set)
    batch_errors: list[str] = field(default_factory=list)

    def took_in(self, entity: str, keys: list[str]) -> None:
        self.inputs.update((entity, k) for k in keys)

    def add(self, outcome: RecordOutcome) -> None:
        self.records[(outcome.entity, outcome.key)] = outcome

    def synced(self, entity: str, keys: list[str]) -> None:
        for key in keys:
            self.add(RecordOutcome(entity, key, Outcome.SYNCED))

    def deferred(self, entity: str, key: str, reason: str) -> None:
        self.add(RecordOutcome(entity, key, Outcome.DEFERRED, reason))

    def quarantined_key(self, entity: str, key: str, reason: str) -> None:
        self.add(RecordOutcome(entity, key, Outcome.QUARANTINED, reason))

    def quarantined(self, items: list[QuarantineItem]) -> None:
        for item in items:
            self.add(
                RecordOutcome(
                    item.entity, item.entity_key, Outcome.QUARANTINED, item.reason, item.failed_expectation
                )
            )

    def counts(self) -> RunCounts:
        """Counts over the inputs; a record with no outcome makes conservation fail, as it must."""
        tally = {o: 0 for o in Outcome}
        for key in self.inputs:
            record = self.records.get(key)
            if record is not None:
                tally[record.outcome] += 1
        return RunCounts(
            len(self.inputs), tally[Outcome.SYNCED], tally[Outcome.QUARANTINED], tally[Outcome.DEFERRED]
        )

    def exceptions(self) -> list[RecordOutcome]:
        return sorted(
            (r for r in self.records.values() if r.outcome is not Outcome.SYNCED),
            key=lambda r: (r.outcome.value, r.entity, r.key),
        )
