"""Run it as ops would: a real Prefect server and worker, prefect.yaml deployed, alerts, a backfill.

One test, because each step needs the previous one's state and a server costs ~15 s to start.
The flows run in the worker's child processes against this test's simulators and SQLite store,
with their Zoho secrets read from Prefect Secret blocks, not from the worker's environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from dealer_sync.timeutil import business_date, utcnow
from deployments.automations import ANNOUNCE_CRASH, CRASH_ON_SILENCE, SILENCE
from deployments.catalog import DEPLOYMENTS, WORK_POOL
from sandbox.network import NetworkSpec
from tests.deployments.live import (
    REPO_ROOT,
    Child,
    PrefectServer,
    prefect_server,
    spawn,
    wait_for,
    without_prefect_settings,
)
from tests.flows.support import run_log
from tests.flows.test_order_to_invoice import documents_per_order
from tests.loopback import webhook_receiver

TIMEZONE = "Asia/Kolkata"
CLI = str(Path(sys.executable).parent / "dealer-sync")
RUN_TIMEOUT = 240.0
SECRET_SUFFIXES = ("__CLIENT_SECRET", "__REFRESH_TOKEN")


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def run_and_wait(server: PrefectServer, worker: Child, flow: str, parameters: dict | None = None) -> dict:
    deployment = server.deployment(DEPLOYMENTS[flow].full_name)
    run_id = server.run_deployment(deployment["id"], parameters)
    return server.wait_final(run_id, RUN_TIMEOUT, worker)


def explain(server: PrefectServer, run: dict, worker: Child) -> str:
    tasks = server.task_runs(run["id"])
    failed = [f"{t['name']}: {t['state']['message']}" for t in tasks if t["state"]["type"] != "COMPLETED"]
    return f"{run['name']} ended {run['state']['type']}: {run['state']['message']}\n{failed}\n{worker.tail()}"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the server's side is the point here
def test_deployed_flows_run_fail_loudly_and_backfill_once(world_factory, tmp_path):
    world = world_factory(NetworkSpec(seed=81, orders=20, bad_share=0.1), minute_seconds=1.0)
    with prefect_server(tmp_path) as server, webhook_receiver() as ops:
        base = without_prefect_settings(dict(os.environ)) | {
            "PREFECT_API_URL": server.api_url,
            "PREFECT_HOME": str(tmp_path / "client-home"),
            "DEALER_SYNC_BUSINESS_TIMEZONE": TIMEZONE,
            "DEALER_SYNC_ALERTS__SLACK_WEBHOOK_URL": ops.url,
        }

        # 1. Deploy: pool, secret blocks, automations, the four deployments of prefect.yaml.
        deployed = cli(base, "deploy")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert "secret block zoho-books-client-secret" in deployed.stdout
        for spec in DEPLOYMENTS.values():
            deployment = server.deployment(spec.full_name)
            assert deployment["work_pool_name"] == WORK_POOL
            assert deployment["entrypoint"] == spec.entrypoint
            schedules = deployment["schedules"]
            assert schedules and all(s["schedule"]["timezone"] == TIMEZONE for s in schedules), schedules
            assert deployment["global_concurrency_limit"]["limit"] == 1
            assert "{{ $DEALER_SYNC_WORKER_HOME }}" in str(deployment["pull_steps"])  # resolved per worker
        assert {CRASH_ON_SILENCE, ANNOUNCE_CRASH} <= {a["name"] for a in server.automations()}

        def scheduled_everywhere() -> bool:  # the server's scheduler fills each deployment's calendar
            for spec in DEPLOYMENTS.values():
                runs = server.flow_runs(server.deployment(spec.full_name)["id"])
                if not any(r["state"]["type"] == "SCHEDULED" and r["auto_scheduled"] for r in runs):
                    return False
            return True

        wait_for(scheduled_everywhere, 60, "scheduled runs of every deployment", server.child)
        again = cli(base, "deploy")  # deploying twice changes nothing and doubles nothing
        assert again.returncode == 0, again.stdout + again.stderr
        names = [a["name"] for a in server.automations()]
        assert names.count(CRASH_ON_SILENCE) == 1 and names.count(ANNOUNCE_CRASH) == 1

        # 2. A worker with no secret in its environment: the runs read the Secret blocks.
        worker_env = {k: v for k, v in base.items() if not k.endswith(SECRET_SUFFIXES)} | {
            "DEALER_SYNC_ZOHO_INVENTORY__SECRET_BLOCK": "zoho-inventory",
            "DEALER_SYNC_ZOHO_BOOKS__SECRET_BLOCK": "zoho-books",
            "DEALER_SYNC_WORKER_HOME": str(REPO_ROOT),
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        }
        command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", WORK_POOL]
        worker = spawn("worker", command, worker_env, tmp_path)
        try:
            # 3. Each deployment runs to Completed and publishes its artifacts.
            runs = {}
            for flow in DEPLOYMENTS:  # in the order of the catalog: stock, orders, money, then the diff
                run = runs[flow] = run_and_wait(server, worker, flow)
                assert run["state"]["type"] == "COMPLETED", explain(server, run, worker)
                kinds = {a["type"] for a in server.artifacts(run["id"])}
                assert "table" in kinds, (flow, kinds)
            for flow, logged in (
                ("order-to-invoice", "order_to_invoice"),
                ("invoice-payment-pullback", "invoice_payment_pullback"),
            ):
                # A deployment run without a window covers what was due at its scheduled start.
                (row,) = [r for r in run_log(world.store, logged) if r["run_id"] == runs[flow]["id"]]
                scheduled = datetime.fromisoformat(runs[flow]["expected_start_time"])
                assert row["window_until"] is not None and row["window_since"] is None, row
                assert abs(row["window_until"].replace(tzinfo=UTC) - scheduled) < timedelta(seconds=1), row
            _, invoices = documents_per_order(world)
            assert invoices == Counter({o.number: 1 for o in world.network.good_orders})

            # 4. A fault that outlasts every retry: Failed in the API, and ops hear of it.
            world.sandbox.inventory.faults.update(error_5xx_rate=1.0, methods=["GET"])
            run = run_and_wait(server, worker, "inventory-refresh", {"full": True})
            assert run["state"]["type"] == "FAILED", explain(server, run, worker)
            failed_tasks = [t["name"] for t in server.task_runs(run["id"]) if t["state"]["type"] == "FAILED"]
            assert failed_tasks, explain(server, run, worker)
            world.sandbox.inventory.faults.update(error_5xx_rate=0.0)

            def alert() -> str | None:
                texts = [post.get("text", "") for post in ops.posts]
                return next((t for t in texts if run["name"] in t), None)

            text = wait_for(alert, 60, "the failure alert to reach the ops webhook", worker)
            assert "inventory-refresh" in text and "FAILED" in text.upper()
            assert any(name in text for name in failed_tasks), (failed_tasks, text)
            assert f"/runs/flow-run/{run['id']}" in text

            # 5. The machine dies mid-run (worker and run killed together): nothing reports, the
            #    heartbeats stop, the server marks the run Crashed and tells ops.
            world.sandbox.inventory.faults.update(latency_ms=2500, methods=["GET"])
            deployment = server.deployment(DEPLOYMENTS["inventory-refresh"].full_name)
            doomed = server.run_deployment(deployment["id"], {"full": True})
            wait_for(lambda: server.heartbeats(doomed), 120, "a heartbeat of the run", worker)
            machine = [worker.process.pid] + [
                c.pid for c in psutil.Process(worker.process.pid).children(True)
            ]
            for pid in machine:  # the worker and the run it started, whatever their process groups
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            worker.process.wait(timeout=30)
            crashed = wait_for(
                lambda: server.flow_run(doomed)["state"]["type"] == "CRASHED" and server.flow_run(doomed),
                SILENCE.total_seconds() + 90,
                "the silent run to be marked Crashed",
            )
            assert "heartbeat" in crashed["state"]["message"]
            announced = wait_for(
                lambda: [
                    p["text"]
                    for p in ops.posts
                    if crashed["name"] in p.get("text", "") and "Crashed" in p["text"]
                ],
                60,
                "the crash to reach the ops webhook",
            )
            assert f"/runs/flow-run/{doomed}" in announced[0] or "inventory-refresh" in announced[0]
            world.sandbox.inventory.faults.update(latency_ms=0)
        finally:
            worker.stop()

        # 6. A 3-day backfill, twice: three runs, not six.
        today = business_date(utcnow(), TIMEZONE)
        window = ["--since", str(today - timedelta(days=3)), "--until", str(today)]
        first = cli(base, "backfill", "order-to-invoice", *window)
        assert first.returncode == 0, first.stdout + first.stderr
        second = cli(base, "backfill", "order-to-invoice", *window)
        assert second.returncode == 0, second.stdout + second.stderr
        deployment = server.deployment(DEPLOYMENTS["order-to-invoice"].full_name)
        backfilled = server.flow_runs(deployment["id"], tags=["backfill"])
        assert len(backfilled) == 3, [r["parameters"] for r in backfilled]
        assert sorted(r["parameters"]["since"] for r in backfilled) == sorted(
            {r["parameters"]["since"] for r in backfilled}
        )
