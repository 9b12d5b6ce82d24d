"""Batches through a chain of tasks, each task submitted only once its inputs are done.

A flow that submits every batch's whole chain at once leaves the thread pool to pick tasks in
submission order, and a task whose inputs are not ready holds its thread while it waits. With
stages bound by different vendors' budgets (sales orders by the inventory system's, invoices by
the ledger's) that serialises them: the ledger sits idle while the next batch's sales orders
wait behind tasks that are themselves waiting. Here the flow's own thread drives: it submits a
stage when the batch's earlier stages have ended, at most ``lane_limits[lane]`` tasks of a lane at once,
later stages first (a batch in flight is finished before a new one is started), and it lets at
most ``window`` batches into the chain, so the stages of the first batches run while later ones
are prepared, and memory stays bounded. Every task still gets its inputs as (done) futures, so the
Prefect UI shows the same graph.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from prefect.futures import PrefectFuture

Batch = TypeVar("Batch")
Futures = dict[str, PrefectFuture[Any]]


@dataclass(frozen=True)
class Stage(Generic[Batch]):
    """One task of the chain: ``submit`` gets the batch and its earlier stages' futures, all done."""

    name: str
    lane: str
    submit: Callable[[Batch, Futures], PrefectFuture[Any]]


@dataclass
class BatchFutures(Generic[Batch]):
    """A batch's futures by stage name; after a failed stage, the later names hold the failed one."""

    batch: Batch
    futures: Futures = field(default_factory=dict)
    next_stage: int = 0


def run_batches(
    batches: Sequence[Batch],
    stages: Sequence[Stage[Batch]],
    lane_limits: Mapping[str, int],
    window: int,
    on_end: Callable[[BatchFutures[Batch]], None] = lambda _: None,
) -> list[BatchFutures[Batch]]:
    """Run every batch through ``stages`` in order; return each batch's futures, all ended.

    ``on_end`` is called on the flow's thread as each batch ends (its last stage, or a failure).

    A stage whose future fails ends its batch there: its later stages are not submitted and their
    names map to the failed future, so reading any of them raises the failure.
    """
    if window < 1 or any(limit < 1 for limit in lane_limits.values()):
        raise ValueError("the window and every lane limit must be at least 1")
    states = [BatchFutures(batch) for batch in batches]
    ended: queue.SimpleQueue[int] = queue.SimpleQueue()
    running: dict[str, int] = dict.fromkeys(lane_limits, 0)
    ready: list[int] = []  # batches whose next stage can be submitted
    admitted = 0
    open_batches = 0

    def signal_end(index: int) -> Callable[[PrefectFuture[Any]], None]:
        def signal(_future: PrefectFuture[Any]) -> None:
            ended.put(index)

        return signal

    def submit_ready() -> None:
        nonlocal admitted, open_batches
        progressed = True
        while progressed:
            progressed = False
            # later stages first, then earlier batches: finish what is in flight before starting more
            for index in sorted(ready, key=lambda i: (-states[i].next_stage, i)):
                state = states[index]
                stage = stages[state.next_stage]
                if running[stage.lane] >= lane_limits[stage.lane]:
                    continue
                ready.remove(index)
                running[stage.lane] += 1
                future = stage.submit(state.batch, dict(state.futures))
                state.futures[stage.name] = future
                future.add_done_callback(signal_end(index))
                progressed = True
                break
            if not progressed and admitted < len(states) and open_batches < window:
                ready.append(admitted)
                admitted += 1
                open_batches += 1
                progressed = True

    submit_ready()
    while open_batches:
        index = ended.get()
        state = states[index]
        stage = stages[state.next_stage]
        running[stage.lane] -= 1
        future = state.futures[stage.name]
        future.wait()  # it has ended: this only keeps its final state on the future
        state.next_stage += 1
        if future.state.is_completed() and state.next_stage < len(stages):
            ready.append(index)
        else:
            for later in stages[state.next_stage :]:
                state.futures[later.name] = future  # reading a later stage raises the failure
            state.next_stage = len(stages)
            open_batches -= 1
            on_end(state)
        submit_ready()
    return states
