"""The batch driver: stages in order, never waiting on inputs, lanes and window bounded, failures kept."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.pipeline import BatchFutures, Stage, run_batches


class Log:
    """What ran when, from the tasks' own threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[tuple[str, int, float, float]] = []  # stage, batch, start, end
        self.running: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    def enter(self, lane: str) -> float:
        with self.lock:
            self.running[lane] = self.running.get(lane, 0) + 1
            self.peak[lane] = max(self.peak.get(lane, 0), self.running[lane])
        return time.monotonic()

    def leave(self, lane: str, stage: str, batch: int, started: float) -> None:
        with self.lock:
            self.running[lane] -= 1
            self.spans.append((stage, batch, started, time.monotonic()))

    def order(self) -> list[tuple[str, int]]:
        return [(stage, batch) for stage, batch, _, _ in sorted(self.spans, key=lambda s: s[2])]


LOG = Log()


@task(cache_policy=NO_CACHE)
def work(stage: str, lane: str, batch: int, upstream: Any = None, seconds: float = 0.05) -> str:
    started = LOG.enter(lane)
    try:
        if stage == "fail" and batch == 1:
            raise RuntimeError("batch 1 cannot be posted")
        time.sleep(seconds)
        return f"{upstream}>{stage}{batch}" if upstream else f"{stage}{batch}"
    finally:
        LOG.leave(lane, stage, batch, started)


def stages(*names_and_lanes: tuple[str, str], seconds: float = 0.05) -> list[Stage[int]]:
    def submitter(position: int, name: str, lane: str) -> Stage[int]:
        previous = names_and_lanes[position - 1][0] if position else None

        def submit(batch: int, done: dict[str, Any]) -> Any:
            for earlier, _ in names_and_lanes[:position]:
                assert done[earlier].state.is_final()  # inputs are done before the task is submitted
            upstream = done[previous] if previous else None
            return work.submit(name, lane, batch, upstream, seconds)

        return Stage(name, lane, submit)

    return [submitter(i, name, lane) for i, (name, lane) in enumerate(names_and_lanes)]


@flow(task_runner=ThreadPoolTaskRunner(max_workers=6))
def drive(batches: int, chain: list[tuple[str, str]], limits: dict[str, int], window: int) -> dict[str, Any]:
    ended: list[int] = []

    def on_end(batch: BatchFutures[int]) -> None:
        ended.append(batch.batch)

    states = run_batches(list(range(batches)), stages(*chain), limits, window, on_end=on_end)
    results: dict[int, Any] = {}
    for state in states:
        try:
            results[state.batch] = state.futures[chain[-1][0]].result()
        except Exception as exc:
            results[state.batch] = f"failed: {exc}"
    return {"results": results, "ended": ended}


@pytest.fixture
def log(prefect_api: None) -> Log:
    LOG.__init__()  # type: ignore[misc]
    return LOG


def test_every_batch_runs_every_stage_in_order_within_its_lane_limits(log: Log) -> None:
    chain = [("map", "portal"), ("so", "inventory"), ("inv", "ledger"), ("mark", "portal")]
    out = drive(8, chain, {"portal": 2, "inventory": 1, "ledger": 2}, 4)
    assert out["results"] == {b: f"map{b}>so{b}>inv{b}>mark{b}" for b in range(8)}
    assert sorted(out["ended"]) == list(range(8))  # each batch reported once
    spans = {(stage, batch): (start, end) for stage, batch, start, end in log.spans}
    for batch in range(8):  # no task started before its input had ended
        for (earlier, _), (later, _) in itertools.pairwise(chain):
            assert spans[(later, batch)][0] >= spans[(earlier, batch)][1]
    assert log.peak["inventory"] == 1 and log.peak["ledger"] <= 2 and log.peak["portal"] <= 2
    # sales orders of later batches ran while invoices of earlier ones were being posted
    assert any(
        spans[("so", b2)][0] < spans[("inv", b1)][1] and spans[("so", b2)][1] > spans[("inv", b1)][0]
        for b1 in range(8)
        for b2 in range(b1 + 1, 8)
    )


def test_the_window_bounds_the_batches_in_flight(log: Log) -> None:
    chain = [("a", "one"), ("b", "two")]
    drive(6, chain, {"one": 3, "two": 3}, 2)
    spans = {(stage, batch): (start, end) for stage, batch, start, end in log.spans}
    for batch in range(2, 6):  # batch n starts only after some earlier batch has ended
        started = spans[("a", batch)][0]
        ended_before = [b for b in range(batch) if spans[("b", b)][1] <= started]
        assert len(ended_before) >= batch - 1


def test_a_batch_in_flight_is_finished_before_the_next_one_starts(log: Log) -> None:
    drive(3, [("a", "shared"), ("b", "shared"), ("c", "shared")], {"shared": 1}, 3)
    assert log.order() == [(s, b) for b in range(3) for s in ("a", "b", "c")]


def test_a_failed_stage_ends_its_batch_and_no_other(log: Log) -> None:
    chain = [("map", "portal"), ("fail", "ledger"), ("mark", "portal")]
    out = drive(3, chain, {"portal": 1, "ledger": 1}, 3)
    assert out["results"][0] == "map0>fail0>mark0" and out["results"][2] == "map2>fail2>mark2"
    assert "batch 1 cannot be posted" in out["results"][1]  # the later stage reads as the failure
    assert ("mark", 1) not in {(s, b) for s, b, _, _ in log.spans}  # and was never run
    assert sorted(out["ended"]) == [0, 1, 2]


def test_limits_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_batches([1], [], {"lane": 0}, window=1)
