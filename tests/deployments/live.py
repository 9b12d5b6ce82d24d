"""A real Prefect server and worker in child processes, and a thin REST client for what tests read.

The REST calls go straight to the server with httpx, not through Prefect's client, so they never
mix with the session's test harness that other tests in this process use.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.loopback import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def without_prefect_settings(env: dict[str, str]) -> dict[str, str]:
    """The environment minus PREFECT_* settings, so a child talks to the server it is told of."""
    return {k: v for k, v in env.items() if not k.startswith("PREFECT_")}


@dataclass
class Child:
    """A child process whose output goes to a file the test prints when something goes wrong."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- last lines of {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def spawn(name: str, command: list[str], env: dict[str, str], folder: Path) -> Child:
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Child(name, process, log)


def wait_for(check: Callable[[], Any], timeout: float, what: str, child: Child | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if child is not None and child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.process.returncode}\n{child.tail()}")
        time.sleep(0.5)
    raise TimeoutError(f"not within {timeout:.0f} s: {what}\n{child.tail() if child else ''}")


@dataclass
class PrefectServer:
    api_url: str
    child: Child
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.api_url, timeout=20)

    def healthy(self) -> bool:
        try:
            return self.http.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request; a 503 or a timeout (the server's SQLite busy under the scheduler's and a
        worker's writes, on a loaded machine) is tried again, a bounded number of times."""
        for attempt in range(1, 11):
            try:
                response = self.http.request(method, path, json=body)
            except httpx.TimeoutException:
                if attempt == 10:
                    raise
                continue
            if response.status_code != 503 or attempt == 10:
                break
            time.sleep(0.5)
        response.raise_for_status()
        return response.json() if response.content else None

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._send("POST", path, body or {})

    def get(self, path: str) -> Any:
        return self._send("GET", path)

    def deployment(self, full_name: str) -> dict[str, Any]:
        flow_name, name = full_name.split("/")
        return dict(self.get(f"/deployments/name/{flow_name}/{name}"))

    def run_deployment(self, deployment_id: str, parameters: dict[str, Any] | None = None) -> str:
        run = self.post(f"/deployments/{deployment_id}/create_flow_run", {"parameters": parameters or {}})
        return str(run["id"])

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return dict(self.get(f"/flow_runs/{run_id}"))

    def wait_final(self, run_id: str, timeout: float, worker: Child) -> dict[str, Any]:
        def final() -> dict[str, Any] | None:
            run = self.flow_run(run_id)
            return run if run["state"]["type"] in FINAL else None

        result: dict[str, Any] = wait_for(final, timeout, f"flow run {run_id} to end", worker)
        return result

    def flow_runs(self, deployment_id: str, tags: list[str] | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"deployments": {"id": {"any_": [deployment_id]}}, "limit": 200}
        if tags:
            body["flow_runs"] = {"tags": {"all_": tags}}
        return list(self.post("/flow_runs/filter", body))

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        return list(self.post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}}))

    def task_runs(self, run_id: str) -> list[dict[str, Any]]:
        return list(self.post("/task_runs/filter", {"flow_runs": {"id": {"any_": [run_id]}}}))

    def heartbeats(self, run_id: str) -> int:
        """How many heartbeat events the server has received from this flow run."""
        body = {
            "filter": {
                "event": {"name": ["prefect.flow-run.heartbeat"]},
                "resource": {"id": [f"prefect.flow-run.{run_id}"]},
            },
            "limit": 10,
        }
        return int(self.post("/events/filter", body)["total"])

    def automations(self) -> list[dict[str, Any]]:
        return list(self.post("/automations/filter", {}))

    def close(self) -> None:
        self.http.close()


@contextmanager
def prefect_server(folder: Path) -> Iterator[PrefectServer]:
    """``prefect server start`` on a free loopback port with its own PREFECT_HOME (SQLite)."""
    port = free_port()
    env = without_prefect_settings(dict(os.environ))
    env |= {
        "PREFECT_HOME": str(folder / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",  # default 60: scheduled runs appear fast
    }
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    child = spawn("prefect-server", command, env, folder)
    server = PrefectServer(f"http://127.0.0.1:{port}/api", child)
    try:
        wait_for(server.healthy, 120, "the Prefect server to answer /api/health", child)
        yield server
    finally:
        server.close()
        child.stop()
