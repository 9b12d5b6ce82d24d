"""Helpers for the exactly-once tests: flow runs in child processes, and what the store shows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import MetaData, func, select

from dealer_sync.db import make_engine
from dealer_sync.store import SyncStore
from dealer_sync.store.outbox import OutboxStatus
from dealer_sync.store.schema import AuditEntry, OutboxEntry, RunLog
from dealer_sync.timeutil import utcnow
from sandbox.zoho import TokenRegistry

# The child imports everything (Great Expectations too) before it says "ready", so a test can
# warm the next run while the current one works, and start the flow the moment it wants.
CHILD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import pandas as pd
    from expectations.runner import validate_frame
    from expectations.suites import ORDER_LINES
    from flows.order_to_invoice import order_to_invoice
    # The first batch of a process builds the GX context (seconds): build it before "ready".
    validate_frame(pd.DataFrame([{ORDER_LINES.id_column: "warm-up"}]), ORDER_LINES)
    if "--warm-flow" in sys.argv:  # so is the first flow run's engine: runs then start together
        from prefect import flow
        flow(name="warm-up")(lambda: None)()
    print("ready", flush=True)
    parameters = json.loads(sys.stdin.readline())
    summary = order_to_invoice(**parameters)
    print("summary " + json.dumps(summary, default=str), flush=True)
    """
)


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.01, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f} s: {what or condition}")
        time.sleep(interval)


def child_environment() -> dict[str, str]:
    """This process's environment (the world's DEALER_SYNC_* included) plus its Prefect API."""
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    assert api_url and api_url.startswith("http://127.0.0.1:"), api_url  # the session's test harness
    return {**os.environ, "PREFECT_API_URL": api_url}


@dataclass
class FlowProcess:
    """One order_to_invoice run in a child process: spawned, warmed, started, killed or awaited."""

    process: subprocess.Popen[str]
    output: Path
    errors: Path

    @classmethod
    def spawn(
        cls, directory: Path, name: str, env: dict[str, str], *, warm_flow: bool = False
    ) -> FlowProcess:
        """Start a child that imports and warms up, then waits for ``start``.

        ``warm_flow`` also runs one empty flow first, so that two children start their real runs
        within milliseconds of each other (the first flow run of a process takes seconds).
        """
        output, errors = directory / f"{name}.out", directory / f"{name}.err"
        with output.open("w") as out, errors.open("w") as err:
            process = subprocess.Popen(
                [sys.executable, "-c", CHILD_SCRIPT, *(["--warm-flow"] if warm_flow else [])],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=env,
                cwd=Path.cwd(),
                text=True,
            )
        return cls(process, output, errors)

    def lines(self) -> list[str]:
        return self.output.read_text().splitlines()

    def wait_ready(self, timeout: float = 60.0) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"child exited {self.process.returncode}: {self.errors.read_text()[-3000:]}"
                )
            return "ready" in self.lines()

        wait_until(ready, timeout, interval=0.05, what="the child to import the flow")

    def start(self, **parameters: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(parameters) + "\n")
        self.process.stdin.flush()

    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> bool:
        """SIGKILL the child; True when it was still running, so the kill cut the run short."""
        if not self.running():
            return False
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        return self.process.returncode == -signal.SIGKILL

    def finish(self, timeout: float = 120.0) -> dict[str, Any] | None:
        """Wait for the run to end; its summary, or None when the flow raised (a Failed run)."""
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.stdin is not None:
                self.process.stdin.close()
        for line in self.lines():
            if line.startswith("summary "):
                summary: dict[str, Any] = json.loads(line.removeprefix("summary "))
                return summary
        return None

    def stop(self) -> None:
        """End a child that is still there (a spare never started, or a failed test's run)."""
        if self.running():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        if self.process.stdin is not None:
            self.process.stdin.close()


def live_leases(store: SyncStore) -> int:
    """Outbox entries in flight under a lease that has not run out yet."""
    with store.engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(
                    OutboxEntry.status == OutboxStatus.IN_FLIGHT.value, OutboxEntry.claimed_until >= utcnow()
                )
            )
            or 0
        )


def wait_for_leases_to_expire(store: SyncStore, lease_seconds: float) -> None:
    """After a kill: until every claim the dead run held is claimable again (bounded)."""
    wait_until(
        lambda: live_leases(store) == 0, timeout=lease_seconds + 10, interval=0.05, what="leases to expire"
    )


def run_log(store: SyncStore, flow: str) -> list[dict[str, Any]]:
    with store.engine.connect() as connection:
        rows = connection.execute(select(RunLog).where(RunLog.flow == flow).order_by(RunLog.started_at))
        return [dict(r) for r in rows.mappings()]


def post_calls(world: Any) -> int:
    """POSTs Inventory and the ledger have seen: creates, confirms, mark-as-sent (and, in Tally,
    whose every request is a POST, exports too)."""
    total = 0
    for faults in (world.sandbox.inventory.faults, world.ledger.faults):
        total += sum(c["count"] for c in faults.counters()["calls"] if c["method"] == "POST")
    return total


def table_rows(store: SyncStore, table: Any) -> list[dict[str, Any]]:
    """Every row of one store table (``OutboxEntry``, ``AuditEntry``...) as a dict."""
    with store.engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(table)).mappings()]


def audit_outcomes(store: SyncStore) -> Counter[tuple[str, str]]:
    """How many writes ended how, per system: created, found (after doubt), deferred, rejected."""
    with store.engine.connect() as connection:
        rows = connection.execute(select(AuditEntry.system, AuditEntry.outcome))
        return Counter((system, outcome) for system, outcome in rows)


def database_text(url: str) -> str:
    """Every row of every table in the store and portal database, as text to search."""
    engine = make_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return "\n".join(
                f"{table.name}: {row}"
                for table in metadata.sorted_tables
                for row in connection.execute(table.select())
            )
    finally:
        engine.dispose()


def read_artifacts(flow_run_ids: list[str], key: str | None = None) -> list[Any]:
    """Artifacts of these flow runs, read back through the Prefect API.

    Not ``client.read_artifacts``: with the FastAPI pinned here the server answers 422 to the
    nulls that Prefect 3.8.8's client sends for the filters it was not given, and giving empty
    flow-run and task-run filters joins task runs, which drops every flow-level artifact.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import Artifact

    artifacts: dict[str, Any] = {"flow_run_id": {"any_": flow_run_ids}}
    if key is not None:
        artifacts["key"] = {"any_": [key]}
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/artifacts/filter", json={"artifacts": artifacts, "limit": 200})
        response.raise_for_status()
    return Artifact.model_validate_list(response.json())


def prefect_records_text(flow_run_ids: list[str]) -> str:
    """What the Prefect UI shows of these runs: runs and task runs with states, logs, artifacts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import FlowRunSort, LogSort, TaskRunSort

    ids = [UUID(i) for i in flow_run_ids]
    runs_filter = FlowRunFilter(id=FlowRunFilterId(any_=ids))
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=runs_filter, sort=FlowRunSort.ID_DESC, limit=200)
        tasks = client.read_task_runs(flow_run_filter=runs_filter, sort=TaskRunSort.ID_DESC, limit=200)
        logs = client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)),
            limit=200,
            offset=0,
            sort=LogSort.TIMESTAMP_ASC,
        )
    artifacts = read_artifacts(flow_run_ids)
    assert len(runs) == len(ids) and tasks and logs and artifacts
    return "\n".join(r.model_dump_json() for r in [*runs, *tasks, *logs, *artifacts])


class TokenRecorder:
    """Every access token the simulated Zoho Accounts server issues, for leak checks."""

    def __init__(self, tokens: TokenRegistry) -> None:
        self.issued: list[str] = []
        self._issue = tokens.issue

        def issue(**kwargs: Any) -> Any:
            token = self._issue(**kwargs)
            self.issued.append(token.access_token)
            return token

        tokens.issue = issue  # type: ignore[method-assign]
