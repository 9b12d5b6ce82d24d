"""Requests in flight at once: every item answered once, errors per item, auth stops new calls."""

from __future__ import annotations

import threading
import time

import pytest

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.overlap import MAX_IN_FLIGHT, call_each, in_flight_for, overlapped


class Gate:
    """Calls that hold until ``width`` of them are running together (or a bounded wait ends)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.full = threading.Event()
        self.started: list[int] = []

    def __call__(self, item: int) -> int:
        with self.lock:
            self.started.append(item)
            self.running += 1
            self.peak = max(self.peak, self.running)
            if self.running >= self.width:
                self.full.set()
        self.full.wait(timeout=5)
        with self.lock:
            self.running -= 1
        return item * 10


def test_every_item_is_answered_once_with_several_in_flight() -> None:
    gate = Gate(width=3)
    answers = list(overlapped(gate, list(range(10)), in_flight=3))
    assert sorted(answers) == [(i, i * 10) for i in range(10)]
    assert gate.peak == 3  # never more than asked, and the gate opened only when three ran together


def test_one_in_flight_calls_in_order_on_the_callers_thread() -> None:
    threads: set[str] = set()

    def call(item: int) -> int:
        threads.add(threading.current_thread().name)
        return item

    assert list(overlapped(call, [3, 1, 2], in_flight=1)) == [(0, 3), (1, 1), (2, 2)]
    assert threads == {threading.current_thread().name}


@pytest.mark.parametrize("in_flight", [1, 4])
def test_a_connector_error_is_that_items_answer(in_flight: int) -> None:
    def call(item: int) -> int:
        if item % 2:
            raise ConnectorError(f"refused {item}", kind=ErrorKind.BAD_REQUEST)
        return item

    answers = dict(overlapped(call, list(range(6)), in_flight))
    assert [answers[i] for i in (0, 2, 4)] == [0, 2, 4]
    assert [answers[i].message for i in (1, 3, 5)] == ["refused 1", "refused 3", "refused 5"]  # type: ignore[union-attr]


@pytest.mark.parametrize("in_flight", [1, 3])
def test_after_an_auth_failure_no_new_call_starts(in_flight: int) -> None:
    called: list[int] = []
    lock = threading.Lock()

    def call(item: int) -> int:
        with lock:
            called.append(item)
        if item == 0:
            raise ConnectorError("token revoked", kind=ErrorKind.AUTH)
        time.sleep(0.2)  # the others still run when the refusal comes back
        return item

    answers = dict(overlapped(call, list(range(20)), in_flight))
    assert set(answers) == set(range(20))  # every item answered, most with the refusal
    refused = [i for i, a in answers.items() if isinstance(a, ConnectorError)]
    assert all(answers[i].kind is ErrorKind.AUTH for i in refused)  # type: ignore[union-attr]
    assert sorted(called) == list(range(in_flight))  # only the calls running when it came back
    assert set(refused) == set(range(20)) - {i for i in called if i != 0}


@pytest.mark.parametrize("in_flight", [1, 3])
def test_call_each_answers_the_items_that_failed_and_raises_only_auth(in_flight: int) -> None:
    done: list[int] = []

    def call(item: int) -> None:
        if item in (1, 4):
            raise ConnectorError(f"503 on {item}", kind=ErrorKind.RETRY)
        done.append(item)

    failed = call_each(call, list(range(6)), in_flight)
    assert {i: e.message for i, e in failed.items()} == {1: "503 on 1", 4: "503 on 4"}
    assert sorted(done) == [0, 2, 3, 5]  # one item's failure holds back none of the others

    def revoked(item: int) -> None:
        raise ConnectorError("token revoked", kind=ErrorKind.AUTH)

    with pytest.raises(ConnectorError, match="token revoked"):
        call_each(revoked, list(range(4)), in_flight)


def test_any_other_exception_is_raised() -> None:
    def call(item: int) -> int:
        if item == 2:
            raise KeyError("a bug, not a vendor's answer")
        return item

    with pytest.raises(KeyError):
        list(overlapped(call, list(range(5)), in_flight=2))


def test_in_flight_follows_the_vendor_limit_within_reason() -> None:
    assert in_flight_for(1) == 1
    assert in_flight_for(5) == 5
    assert in_flight_for(100) == MAX_IN_FLIGHT
    assert in_flight_for(0) == 1
