"""Server automations for what a run cannot report itself: it was killed, or its machine died.

1. A run that stops sending heartbeats (workers set PREFECT_FLOWS_HEARTBEAT_FREQUENCY) is marked
   Crashed, so it does not sit in Running forever.
2. A run that ends Crashed is announced to ops through a notification block. (Failed runs are
   announced by the runs themselves, with the failing task: flows/alerts.py.)

Both are replaced on every deploy, found by name, so a changed definition takes effect and a
second deploy does not double them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final
from uuid import UUID

CRASH_ON_SILENCE: Final = "dealer-sync: mark runs without heartbeat Crashed"
ANNOUNCE_CRASH: Final = "dealer-sync: tell ops of crashed runs"
OPS_WEBHOOK_BLOCK: Final = "dealer-sync-ops-webhook"
HEARTBEAT_SECONDS: Final = 30
"""What `make worker` sets PREFECT_FLOWS_HEARTBEAT_FREQUENCY to (Prefect's minimum)."""
SILENCE: Final = timedelta(seconds=3 * HEARTBEAT_SECONDS)
"""Three missed heartbeats: a busy machine may miss one, a dead one misses all."""

CRASH_BODY: Final = (
    "Flow run {{ flow.name }} / {{ flow_run.name }} ended Crashed: {{ flow_run.state.message }}\n"
    "Run: {{ flow_run|ui_url }}\n"
    "The process died or stopped answering: no hook could report it. What to do: docs/runbook.md"
)


def _replace(name: str) -> None:
    from prefect.automations import Automation

    for _ in range(100):  # a handful at most: earlier deploys that were interrupted
        try:
            existing: Any = Automation.read(name=name)  # sync here; typed as maybe-a-coroutine
        except ValueError:
            return
        existing.delete()


def crash_on_silence(silence: timedelta = SILENCE) -> UUID:
    """Mark a deployment's run Crashed when its heartbeats stop."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    _replace(CRASH_ON_SILENCE)
    automation: Any = Automation(
        name=CRASH_ON_SILENCE,
        description="A dealer-sync run whose process stopped sending heartbeats is marked Crashed.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=silence,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {int(silence.total_seconds())} s: the process died or hung",
            )
        ],
    ).create()
    return UUID(str(automation.id))


def announce_crashes(block_document_id: UUID) -> UUID:
    """Send every Crashed flow run to the ops notification block."""
    from prefect.automations import Automation
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    _replace(ANNOUNCE_CRASH)
    automation: Any = Automation(
        name=ANNOUNCE_CRASH,
        description="Ops hear of dealer-sync runs that crashed (killed, machine lost, no heartbeat).",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_document_id,
                subject="[dealer-sync] {{ flow.name }} run {{ flow_run.name }} Crashed",
                body=CRASH_BODY,
            )
        ],
    ).create()
    return UUID(str(automation.id))
