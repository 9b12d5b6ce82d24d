"""Several one-document requests in flight at once, for vendors that create one document a request.

A vendor's budget is a rate (Zoho: 100 a minute) and a number of requests at once (5-10). Sent one
after the other, requests spend the rate only as fast as each round trip allows; a slow answer
leaves the budget idle. With a few in flight, the budget (``RequestBudget``) is what paces them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Final, TypeVar

from connectors.http.errors import ConnectorError, ErrorKind

MAX_IN_FLIGHT: Final = 8
"""More threads than this would only queue at the budget: a few requests in flight spend a budget
of hundreds a minute, and every thread more competes for the interpreter with the rest of the run."""

Item = TypeVar("Item")
Answer = TypeVar("Answer")


def in_flight_for(max_concurrent: int) -> int:
    """Requests one batch keeps in flight, given the vendor's concurrency limit."""
    return max(1, min(max_concurrent, MAX_IN_FLIGHT))


def call_each(
    call: Callable[[Item], object], items: Sequence[Item], in_flight: int
) -> dict[int, ConnectorError]:
    """``call`` on every item, up to ``in_flight`` at once, for follow-up writes that are harmless to
    repeat (confirm, mark sent); returns the index and error of each item that failed.

    One item's failure is that item's: its document waits for the next run, the others go on. An
    AUTH failure is raised (every item would meet it; a human must act) once the calls already
    running have ended.
    """
    failed: dict[int, ConnectorError] = {}
    for index, answer in overlapped(call, items, in_flight):
        if isinstance(answer, ConnectorError):
            failed[index] = answer
    for error in failed.values():
        if error.kind is ErrorKind.AUTH:
            raise error
    return failed


def overlapped(
    call: Callable[[Item], Answer], items: Sequence[Item], in_flight: int
) -> Iterator[tuple[int, Answer | ConnectorError]]:
    """``call`` on each item, up to ``in_flight`` at once; yields (index, answer or error) as each ends.

    A ConnectorError is an answer (the caller settles it per item). After an AUTH failure no new
    call starts: every later item gets that same error, since each would meet it too. Any other
    exception stops the work and is raised once the calls already running have ended.
    """
    if in_flight <= 1 or len(items) <= 1:
        refused: ConnectorError | None = None
        for index, item in enumerate(items):
            if refused is not None:
                yield index, refused
                continue
            try:
                yield index, call(item)
            except ConnectorError as exc:
                refused = exc if exc.kind is ErrorKind.AUTH else None
                yield index, exc
        return
    with ThreadPoolExecutor(max_workers=min(in_flight, len(items)), thread_name_prefix="overlap") as pool:
        waiting = iter(enumerate(items))
        running: dict[Future[Answer], int] = {}
        refusal: ConnectorError | None = None

        def start_next() -> None:
            for index, item in waiting:
                running[pool.submit(call, item)] = index
                return

        for _ in range(min(in_flight, len(items))):
            start_next()
        try:
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                ended: list[tuple[int, Answer | ConnectorError]] = []
                for future in finished:
                    index = running.pop(future)
                    try:
                        ended.append((index, future.result()))
                    except ConnectorError as exc:
                        ended.append((index, exc))
                        if exc.kind is ErrorKind.AUTH:
                            refusal = refusal or exc
                if refusal is None:
                    for _ in ended:
                        start_next()
                yield from ended
            if refusal is not None:
                for index, _item in waiting:
                    yield index, refusal
        finally:
            for future in running:  # the caller stopped early or a call raised: start nothing more
                future.cancel()
