"""The reconciliation's classification on a real Dask cluster: worker processes on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import polars as pl
import psutil
import pytest
from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask.task_runners import DaskTaskRunner
from pydantic import ValidationError

from dealer_sync.reconcile.classify import classify
from dealer_sync.reconcile.partition import split
from dealer_sync.reconcile.truth import TRUTH_AS_OF, TRUTH_IN_FLIGHT, make_truth_set
from dealer_sync.settings import Settings
from flows.order_to_invoice import order_to_invoice
from flows.reconciliation import classify_snapshots, reconciliation
from flows.runners import LOOPBACK_ONLY, task_runner_for
from sandbox.network import NetworkSpec
from tasks.reconcile_partitions import classify_in_partitions, classify_partition

ORDERS, PER_CATEGORY, SEED = 20_000, 0.005, 5


def dask_settings(**values: Any) -> Settings:
    return Settings(_env_file=None, task_runner="dask", **values)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two single-threaded worker processes, started and closed here, reachable on loopback only."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, **LOOPBACK_ONLY) as local:
        local.wait_for_workers(2, timeout=120)
        yield local


def worker_pids(cluster: Any) -> set[int]:
    """The worker processes' ids, from their nannies (which live in this process)."""
    return {nanny.pid for nanny in cluster.workers.values()}


# Flows build their world inside: a flow's parameters travel with every task it sends to Dask.
@flow
def classify_on_dask(address: str, partitions: int) -> dict[str, Any]:
    snapshots, _ = make_truth_set(ORDERS, PER_CATEGORY, SEED)
    settings = dask_settings(dask_address=address, reconcile_partitions=partitions)
    findings = classify_snapshots(settings, snapshots, as_of=TRUTH_AS_OF, in_flight=TRUTH_IN_FLIGHT)
    with task_runner_for(settings, default_threads=1) as runner:
        futures = [
            runner.submit(classify_partition, {"snapshots": piece, "as_of": TRUTH_AS_OF, "partition": index})
            for index, piece in enumerate(split(snapshots, partitions))
        ]
        ran_on = [future.result().ran_on for future in futures]
    return {"findings": findings, "ran_on": ran_on}


@flow
def classify_on_own_cluster(partitions: int) -> dict[str, Any]:
    snapshots, _ = make_truth_set(ORDERS, PER_CATEGORY, SEED)
    settings = dask_settings(dask_workers=2, reconcile_partitions=partitions)
    return {"findings": classify_snapshots(settings, snapshots, as_of=TRUTH_AS_OF, in_flight=TRUTH_IN_FLIGHT)}


@flow
def classify_on_threads(partitions: int) -> dict[str, Any]:
    snapshots, _ = make_truth_set(ORDERS, PER_CATEGORY, SEED)
    settings = Settings(_env_file=None, reconcile_partitions=partitions)
    return {"findings": classify_snapshots(settings, snapshots, as_of=TRUTH_AS_OF, in_flight=TRUTH_IN_FLIGHT)}


@flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
def classify_on_the_flows_runner(partitions: int) -> dict[str, Any]:
    snapshots, _ = make_truth_set(ORDERS, PER_CATEGORY, SEED)
    return {"findings": classify_in_partitions(snapshots, TRUTH_AS_OF, partitions, in_flight=TRUTH_IN_FLIGHT)}


@pytest.fixture(scope="module")
def whole() -> Any:
    snapshots, expected = make_truth_set(ORDERS, PER_CATEGORY, SEED)
    findings = classify(snapshots, as_of=TRUTH_AS_OF, in_flight=TRUTH_IN_FLIGHT)
    assert findings.counts() == expected
    return findings


def assert_same(findings: Any, whole: Any) -> None:
    assert findings.counts() == whole.counts()
    assert dict(findings.matched) == dict(whole.matched)
    assert findings.frame.sort(pl.all(), nulls_last=True).equals(whole.frame.sort(pl.all(), nulls_last=True))


def test_partitions_classified_on_two_dask_worker_processes_match_classify(prefect_api, cluster, whole):
    result = classify_on_dask(cluster.scheduler_address, 4)
    assert_same(result["findings"], whole)
    pids = {int(place.rsplit(":", 1)[1]) for place in result["ran_on"]}
    assert pids == worker_pids(cluster)  # both workers, neither of them this process
    assert len(pids) == 2 and os.getpid() not in pids


def test_a_local_cluster_is_started_for_the_run_and_closed_after_it(prefect_api, whole):
    me = psutil.Process()
    before = {child.pid for child in me.children(recursive=True)}
    result = classify_on_own_cluster(2)
    assert_same(result["findings"], whole)
    left = {child.pid for child in me.children(recursive=True) if child.is_running()} - before
    assert not left, f"worker processes left running: {left}"


def test_partitions_on_threads_match_classify_too(prefect_api, whole):
    assert_same(classify_on_threads(3)["findings"], whole)
    assert_same(classify_on_the_flows_runner(2)["findings"], whole)


def test_the_nightly_flow_classifies_on_dask_as_it_does_in_one_piece(world_factory, cluster, monkeypatch):
    world_factory(NetworkSpec(seed=63, orders=12, bad_share=0.25))
    order_to_invoice()
    window = {"first_day": date(2026, 11, 19), "last_day": date(2026, 11, 22), "deliver": False}
    in_one_piece = reconciliation(**window)
    monkeypatch.setenv("DEALER_SYNC_TASK_RUNNER", "dask")
    monkeypatch.setenv("DEALER_SYNC_DASK_ADDRESS", cluster.scheduler_address)
    monkeypatch.setenv("DEALER_SYNC_RECONCILE_PARTITIONS", "3")
    on_dask = reconciliation(**window)
    assert in_one_piece["findings_by_category"]  # the bad orders were never invoiced
    assert on_dask["findings_by_category"] == in_one_piece["findings_by_category"]
    assert on_dask["findings"] == in_one_piece["findings"]
    assert partition_task_runs(on_dask["run_id"]) == {
        f"classify-partition-{n}": "COMPLETED" for n in range(3)
    }
    assert partition_task_runs(in_one_piece["run_id"]) == {}


def partition_task_runs(flow_run_id: str) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs = FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)]))
    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(flow_run_filter=runs, limit=200)
    return {t.name: t.state_type.value for t in tasks if t.name.startswith("classify-partition")}


def test_task_runner_for_each_setting():
    threads = task_runner_for(Settings(_env_file=None), default_threads=3)
    assert isinstance(threads, ThreadPoolTaskRunner) and threads._max_workers == 3
    remote = task_runner_for(dask_settings(dask_address="tcp://127.0.0.1:8786"), default_threads=3)
    assert isinstance(remote, DaskTaskRunner) and remote.address == "tcp://127.0.0.1:8786"
    local = task_runner_for(dask_settings(dask_workers=4), default_threads=3)
    assert isinstance(local, DaskTaskRunner) and local.address is None
    assert local.cluster_class == "distributed.LocalCluster"
    assert local.cluster_kwargs == {
        "n_workers": 4,
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": "127.0.0.1:0",
    }


def test_settings_default_to_threads_in_one_piece(monkeypatch):
    for name in ("TASK_RUNNER", "DASK_ADDRESS", "DASK_WORKERS", "RECONCILE_PARTITIONS"):
        monkeypatch.delenv(f"DEALER_SYNC_{name}", raising=False)
    settings = Settings(_env_file=None)
    assert (settings.task_runner, settings.dask_address, settings.dask_workers) == ("threads", None, 2)
    assert settings.reconcile_partitions == 1


def test_an_unknown_task_runner_is_refused_naming_the_choices(monkeypatch):
    monkeypatch.setenv("DEALER_SYNC_TASK_RUNNER", "dusk")
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    message = str(refused.value)
    assert "task_runner" in message
    assert "'threads' or 'dask'" in message
    assert "dusk" in message


@pytest.mark.parametrize(("name", "value"), [("reconcile_partitions", 0), ("dask_workers", 0)])
def test_counts_below_one_are_refused(name, value):
    with pytest.raises(ValidationError, match=name):
        Settings(_env_file=None, **{name: value})
