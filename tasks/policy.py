"""Task retry policy: Prefect retries what the connectors' transport does not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

from connectors.http.errors import ConnectorError
from tasks.environment import ConfigurationError


def retry_unless_handled(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a failed task unless the transport already retried it or retrying cannot help.

    A ConnectorError has been through the transport's bounded retries: retrying the task would
    multiply them. A ConfigurationError needs a human.
    """
    error = state.result(raise_on_failure=False)
    return not isinstance(error, ConnectorError | ConfigurationError)


TASK_RETRIES = 2
TASK_RETRY_DELAY_SECONDS = 2


P = ParamSpec("P")
R = TypeVar("R")


def batch_task(name: str) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A Prefect task over a batch: no input caching (inputs hold clients), our retry policy."""
    return task(
        name=name,
        cache_policy=NO_CACHE,
        retries=TASK_RETRIES,
        retry_delay_seconds=TASK_RETRY_DELAY_SECONDS,
        retry_condition_fn=retry_unless_handled,
    )
