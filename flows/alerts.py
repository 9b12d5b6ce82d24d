"""Tell ops when a run ends Failed: the flow, the task that failed, and a link to the run.

A state hook rather than a server automation, because only the run itself can cheaply name its
failing tasks and it works the same on any Prefect server. A run killed outright cannot run a
hook: those are marked Crashed by the heartbeat automation and announced by the crash
automation that ``dealer-sync deploy`` creates (deployments/automations.py).

A hook must never raise: an alert that cannot be delivered is logged, and the run keeps the
state it earned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from dealer_sync.settings import Settings

log = logging.getLogger("dealer_sync.alerts")


@dataclass(frozen=True)
class FailedTask:
    name: str
    message: str


@dataclass(frozen=True)
class RunAlert:
    flow: str
    run_name: str
    state: str
    message: str
    failed_tasks: tuple[FailedTask, ...]
    link: str | None

    @property
    def subject(self) -> str:
        return f"[dealer-sync] {self.flow} run {self.run_name} {self.state}"

    def text(self) -> str:
        lines = [f"{self.flow} run {self.run_name} ended {self.state}: {_clip(self.message, 600)}"]
        if self.failed_tasks:
            lines.append("Failed task(s):")
            lines += [f"- {task.name}: {_clip(task.message, 300)}" for task in self.failed_tasks]
        else:
            lines.append("No task failed: the flow itself raised (see the run's logs).")
        if self.link:
            lines.append(f"Run: {self.link}")
        lines.append("What to do: docs/runbook.md")
        return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_link(flow_run_id: str, ui_url: str | None) -> str | None:
    """The run's page in the Prefect UI: from settings, else from Prefect's own PREFECT_UI_URL."""
    if ui_url:
        return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"
    from prefect.utilities.urls import url_for

    return url_for("flow-run", obj_id=flow_run_id)


def failed_tasks(flow_run_id: Any) -> tuple[FailedTask, ...]:
    """The run's task runs that ended Failed or Crashed, read back from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            task_run_filter=TaskRunFilter(
                state=TaskRunFilterState(
                    type=TaskRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])
                )
            ),
        )
    return tuple(
        FailedTask(name=run.name, message=(run.state.message if run.state else None) or "")
        for run in sorted(runs, key=lambda r: str(r.end_time or r.expected_start_time or ""))
    )


def build_alert(flow_name: str, flow_run: Any, state: Any, settings: Settings) -> RunAlert:
    try:
        tasks = failed_tasks(flow_run.id)
    except Exception as exc:  # the API may be the very thing that failed
        log.warning("could not read the failed tasks of run %s: %s", flow_run.id, exc)
        tasks = ()
    return RunAlert(
        flow=flow_name,
        run_name=flow_run.name,
        state=state.name or str(state.type.value),
        message=state.message or "",
        failed_tasks=tasks,
        link=run_link(str(flow_run.id), settings.alerts.ui_url),
    )


def deliver(alert: RunAlert, settings: Settings) -> list[str]:
    """Send the alert to every configured channel; one channel failing does not stop the other."""
    from connectors.slack.client import SlackWebhook
    from connectors.smtp_email.client import SmtpMailer

    delivered: list[str] = []
    if settings.alerts.slack_webhook_url is not None:
        try:
            with SlackWebhook(settings.alerts.slack_webhook_url) as slack:
                slack.post({"text": alert.text()})
            delivered.append("slack")
        except Exception as exc:
            log.error("the ops alert could not be posted to Slack: %s", exc)
    if settings.alerts.recipients:
        message = EmailMessage()
        message["Subject"] = alert.subject
        message["From"] = settings.smtp.sender
        message["To"] = ", ".join(settings.alerts.recipients)
        message.set_content(alert.text())
        try:
            SmtpMailer.from_settings(settings.smtp).send(message)
            delivered.append("email")
        except Exception as exc:
            log.error("the ops alert could not be emailed: %s", exc)
    if not delivered:
        log.warning("no ops alert channel worked or none is configured (DEALER_SYNC_ALERTS__...)")
    return delivered


def alert_ops(flow: Any, flow_run: Any, state: Any) -> None:
    """State hook (on_failure): build the alert and deliver it; never raises."""
    try:
        from tasks.environment import delivery_settings

        settings = delivery_settings(Settings())
        if settings.alerts.slack_webhook_url is None and not settings.alerts.recipients:
            return
        alert = build_alert(flow.name, flow_run, state, settings)
        channels = deliver(alert, settings)
        log.info("ops alerted of %s run %s via %s", flow.name, flow_run.name, channels or "nothing")
    except Exception:
        log.exception("the ops alert for run %s failed", getattr(flow_run, "id", "?"))
