"""Prefect artifacts of a run: a table of counts and a markdown list of exceptions."""

from __future__ import annotations

import re
from typing import cast
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from dealer_sync.store import RunCounts
from tasks.outcomes import RunOutcomes

MAX_EXCEPTIONS_LISTED = 200


def artifact_key(*parts: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")


def publish_run_artifacts(flow: str, outcomes: RunOutcomes, counts: RunCounts) -> None:
    create_table_artifact(
        key=artifact_key(flow, "counts"),
        table=[
            {
                "in": counts.in_count,
                "synced": counts.synced,
                "quarantined": counts.quarantined,
                "deferred": counts.deferred,
                "conserved": counts.conserved,
            }
        ],
        description=f"{flow}: where every input record ended",
    )
    exceptions = outcomes.exceptions()
    lines = [f"# {flow}: exceptions", ""]
    if outcomes.batch_errors:
        lines += ["## Batches that failed", ""] + [f"- {e}" for e in outcomes.batch_errors] + [""]
    if not exceptions:
        lines.append("No record was quarantined or deferred.")
    else:
        lines += ["| outcome | entity | key | check | reason |", "|---|---|---|---|---|"]
        for record in exceptions[:MAX_EXCEPTIONS_LISTED]:
            reason = (record.reason or "").replace("|", "\\|").replace("\n", " ")
            cells = [record.outcome.value, record.entity, record.key, record.check or "", reason]
            lines.append("| " + " | ".join(cells) + " |")
        if len(exceptions) > MAX_EXCEPTIONS_LISTED:
            lines.append(
                f"\n... and {len(exceptions) - MAX_EXCEPTIONS_LISTED} more (`dealer-sync quarantine list`)"
            )
    create_markdown_artifact(
        key=artifact_key(flow, "exceptions"), markdown="\n".join(lines), description=f"{flow}: exceptions"
    )


class Progress:
    """A progress artifact a long run moves as its batches finish (visible in the run's page)."""

    def __init__(self, flow: str, total: int) -> None:
        self.total = max(total, 1)
        self.done = 0
        created = create_progress_artifact(
            progress=0.0, key=artifact_key(flow, "progress"), description=f"{flow}: batches done"
        )
        self._id = cast(UUID, created)  # called from sync code: the id itself, not a coroutine

    def advance(self, batches: int = 1) -> None:
        self.done += batches
        update_progress_artifact(self._id, progress=min(100.0, 100.0 * self.done / self.total))
