"""Great Expectations' start-up on a thread of its own, while a flow reads its input.

Importing GX, building its context and our suites costs 3-5 s once per process. Done by the first
batch's validation, it delays the whole pipeline behind that batch; started with the flow, it
overlaps the first read from the portal instead.
"""

from __future__ import annotations

import logging
import threading

from expectations.spec import SuiteSpec

log = logging.getLogger("dealer_sync.expectations")


def warm_up_in_background(*suites: SuiteSpec) -> threading.Thread:
    """Start ``runner.warm_up`` for these suites on a daemon thread; return the thread.

    A failure is only logged here: the first validation meets it again and raises it where a
    batch can be failed and retried.
    """

    def run() -> None:
        try:
            from expectations.runner import warm_up  # the slow import happens on this thread

            warm_up(*suites)
        except Exception as exc:  # the first validation reports it
            log.warning("warming up Great Expectations failed: %s", exc)

    thread = threading.Thread(target=run, name="gx-warm-up", daemon=True)
    thread.start()
    return thread
