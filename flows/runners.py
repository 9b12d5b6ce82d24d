"""Task runners chosen from settings: threads in the flow's process, or a Dask cluster (prefect-dask)."""

from __future__ import annotations

from typing import Any, Final

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from dealer_sync.settings import Settings

LOCAL_CLUSTER: Final = "distributed.LocalCluster"
LOOPBACK_ONLY: Final = {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}
"""Where a LocalCluster listens. Its default dashboard address, ``:8787``, binds every interface."""


def task_runner_for(settings: Settings, default_threads: int) -> TaskRunner[Any]:
    """The task runner ``settings.task_runner`` names, for the CPU-bound part of a flow.

    ``threads``: a ``ThreadPoolTaskRunner`` capped at ``default_threads`` (uncapped it is unbounded).
    ``dask``: a ``DaskTaskRunner`` on the cluster at ``dask_address``, or else on a
    ``distributed.LocalCluster`` of ``dask_workers`` single-threaded worker processes on loopback
    (its dashboard on a free loopback port, logged), which the runner starts when it is entered
    and closes when it exits. Whatever a task sent to Dask takes is pickled to a worker: never a
    ``SyncEnvironment`` (clients, engines, locks), only plain data. The workers of a remote
    cluster need this project installed, at the same version.
    """
    if settings.task_runner == "threads":
        return ThreadPoolTaskRunner(max_workers=default_threads)
    from prefect_dask.task_runners import DaskTaskRunner  # optional: the ``dask`` extra

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_class=LOCAL_CLUSTER,
        cluster_kwargs={
            "n_workers": settings.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            **LOOPBACK_ONLY,
        },
    )
