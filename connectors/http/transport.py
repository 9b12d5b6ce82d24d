"""The one owner of transport retries: bounded attempts and total time, Retry-After obeyed.

Reads are retried on any transient failure. Writes are retried only when the vendor certainly
did not act (429, or a connection that never opened); a write that timed out, was cut off or got
a 5xx may have committed, so it surfaces as ``UNCERTAIN`` and the caller looks the record up by
its reference before creating it again. Retrying such writes here would post duplicates.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from connectors.http.budget import RequestBudget
from connectors.http.errors import ConnectorError, ErrorKind

ErrorTable = Callable[[httpx.Response, Any], ConnectorError]
"""Maps a non-2xx response (and its decoded body, or None) to the connector's error."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    max_total_seconds: float = 60.0
    backoff_initial: float = 0.5
    backoff_max: float = 8.0


def decode_json(content: bytes) -> Any:
    """Decode a vendor body with every JSON number that has a fraction as a Decimal."""
    return json.loads(content, parse_float=Decimal)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number; HTTP dates are rare for APIs and ignored)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


class RestTransport:
    """Sends one logical request through the budget, retrying within the policy's bounds."""

    def __init__(
        self,
        *,
        system: str,
        client: httpx.Client,
        budget: RequestBudget,
        error_table: ErrorTable,
        retry: RetryPolicy | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.system = system
        self.client = client
        self.budget = budget
        self.error_table = error_table
        self.retry = retry or RetryPolicy()
        self.log = logger or logging.getLogger(f"dealer_sync.connectors.{system}")
        self.calls = 0  # requests actually sent, for benchmarks and tests

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        write: bool = False,
    ) -> Any:
        """Send and decode; raise the connector's error once retries are spent."""
        started = time.monotonic()
        policy = self.retry
        backoff = wait_exponential_jitter(
            multiplier=policy.backoff_initial, max=policy.backoff_max, jitter=policy.backoff_initial
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, ConnectorError) and error.retry_after is not None:
                return min(error.retry_after, policy.backoff_max * 4)
            return float(backoff(state))

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self.log.warning(
                "%s %s %s failed (attempt %d): %s; retrying",
                self.system,
                method,
                path,
                state.attempt_number,
                error,
            )

        retrying = Retrying(
            stop=stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.max_total_seconds),
            wait=wait,
            retry=retry_if_exception(lambda e: isinstance(e, ConnectorError) and e.retryable),
            before_sleep=before_sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                remaining = max(0.1, policy.max_total_seconds - (time.monotonic() - started))
                return self._send_once(method, path, params, json_body, write, remaining)
        raise AssertionError("unreachable: tenacity either returns or reraises")

    def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        write: bool,
        max_wait: float,
    ) -> Any:
        with self.budget.slot(max_wait=max_wait):
            self.calls += 1
            try:
                response = self.client.request(method, path, params=params, **self.encode_body(json_body))
            except httpx.ConnectError as exc:  # never reached the server: safe to retry
                raise ConnectorError(
                    f"{self.system}: cannot connect: {type(exc).__name__}", kind=ErrorKind.RETRY
                ) from exc
            except httpx.TransportError as exc:  # timeouts, resets, truncated responses
                kind = ErrorKind.UNCERTAIN if write else ErrorKind.RETRY
                raise ConnectorError(
                    f"{self.system}: {method} {path} got no complete answer ({type(exc).__name__})",
                    kind=kind,
                ) from exc
        if response.is_success:
            return self.decode_answer(response, method, path, write)
        error = self.error_table(response, self.error_body(response))
        if error.kind is ErrorKind.RATE_LIMITED:
            if error.retry_after is None:
                error.retry_after = parse_retry_after(response.headers.get("Retry-After")) or 1.0
            self.budget.cool_down(error.retry_after)
        elif write and error.kind is ErrorKind.RETRY:
            error.kind = ErrorKind.UNCERTAIN  # a 5xx on a write may have committed
        raise error

    # -- the wire format: JSON here; a connector speaking something else overrides these three --

    def encode_body(self, body: Any) -> dict[str, Any]:
        """The httpx keyword arguments that carry ``body``."""
        return {"json": body}

    def error_body(self, response: httpx.Response) -> Any:
        """A failed answer's body as the error table reads it (None when unreadable)."""
        if not response.content:
            return None
        try:
            return decode_json(response.content)
        except ValueError:
            return None

    def decode_answer(self, response: httpx.Response, method: str, path: str, write: bool) -> Any:
        """A successful answer's body; an unreadable one is retried, or uncertain on a write."""
        body = self.error_body(response)
        if body is None and response.content:
            raise ConnectorError(
                f"{self.system}: {method} {path} answered {response.status_code} with a body "
                "that is not JSON",
                kind=ErrorKind.UNCERTAIN if write else ErrorKind.RETRY,
                status_code=response.status_code,
            )
        return body
