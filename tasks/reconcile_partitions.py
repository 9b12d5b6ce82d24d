"""The reconciliation's classification as one Prefect task per partition: frames in, frames out.

Nothing here touches a ``SyncEnvironment``: a partition task may run in another process or on another
machine (a Dask worker), so it takes and returns only picklable data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner

from dealer_sync.reconcile.classify import Findings
from dealer_sync.reconcile.partition import (
    PartitionFindings,
    classify_accounts,
    classify_part,
    combine,
    split,
)
from dealer_sync.reconcile.snapshot import Snapshots


# No input caching: hashing the inputs for a cache key would serialise every frame once more, and
# the classification is cheap to repeat. No retries: it is deterministic, a retry fails the same way.
@task(name="classify_partition", task_run_name="classify-partition-{partition}", cache_policy=NO_CACHE)
def classify_partition(
    snapshots: Snapshots,
    as_of: datetime,
    in_flight: timedelta = timedelta(hours=2),
    availability_tolerance: float = 0.0,
    partition: int = 0,
) -> PartitionFindings:
    """Classify one partition's snapshots (see ``dealer_sync.reconcile.partition``)."""
    return classify_part(
        snapshots,
        as_of=as_of,
        in_flight=in_flight,
        availability_tolerance=availability_tolerance,
        partition=partition,
    )


def classify_in_partitions(
    snapshots: Snapshots,
    as_of: datetime,
    partitions: int,
    *,
    in_flight: timedelta = timedelta(hours=2),
    availability_tolerance: float = 0.0,
    task_runner: TaskRunner[Any] | None = None,
) -> Findings:
    """``classify`` as ``partitions`` tasks, then the findings put together: the same findings.

    Call it inside a flow. The tasks go to ``task_runner`` if one is given (not started yet: it is
    started here and shut down before this returns, a Dask LocalCluster with it), else to the
    current flow's task runner. Each task carries its partition's frames and the calling flow run's
    context, which Prefect sends with every task, parameters included: call it from a flow whose
    parameters are small. The global part (outstanding against the ledger) runs here meanwhile.
    """
    pieces = split(snapshots, partitions)
    options: dict[str, Any] = {
        "as_of": as_of,
        "in_flight": in_flight,
        "availability_tolerance": availability_tolerance,
    }
    if task_runner is None:
        return _gather(
            [
                classify_partition.submit(piece, partition=index, **options)
                for index, piece in enumerate(pieces)
            ],
            snapshots,
            options,
        )
    with task_runner as runner:
        return _gather(
            [
                runner.submit(classify_partition, {"snapshots": piece, "partition": index, **options})
                for index, piece in enumerate(pieces)
            ],
            snapshots,
            options,
        )


def _gather(
    futures: list[PrefectFuture[PartitionFindings]], snapshots: Snapshots, options: dict[str, Any]
) -> Findings:
    accounts = classify_accounts(snapshots, **options)
    parts = [future.result() for future in futures]
    logger = get_run_logger()
    for part in parts:
        logger.info(
            "partition %s: %d findings in %.2f s on %s",
            part.partition,
            part.frame.height,
            part.seconds,
            part.ran_on,
        )
    return combine(parts, accounts)
