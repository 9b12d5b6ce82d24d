"""The request budget: waiting threads get the next slots in the order they came, none starves."""

from __future__ import annotations

import threading
import time

from connectors.http.budget import BudgetSpec, RequestBudget


def test_waiting_threads_get_slots_in_the_order_they_came() -> None:
    """One request per window: each later arrival waits its turn instead of racing the others for
    every freed slot (a race some thread can lose for as long as there are others)."""
    budget = RequestBudget(BudgetSpec(requests_per_minute=1, max_concurrent=10, minute_seconds=0.1))
    granted: list[int] = []
    lock = threading.Lock()

    def take(number: int) -> None:
        with budget.slot(max_wait=10.0), lock:
            granted.append(number)

    take(0)  # the window's one request: everyone after this waits
    threads = []
    for number in range(1, 7):
        thread = threading.Thread(target=take, args=(number,))
        thread.start()
        threads.append(thread)
        time.sleep(0.01)  # arrivals 10 ms apart, all well inside the first window
    for thread in threads:
        thread.join(timeout=10)
    assert granted == [0, 1, 2, 3, 4, 5, 6]
