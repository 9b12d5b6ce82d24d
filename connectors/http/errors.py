"""The error kinds every connector maps its vendor's failures onto."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """What the caller should do about a failure; each connector's error table yields one."""

    RETRY = "retry"  # transient: try again (the transport does, within its bounds)
    RATE_LIMITED = "rate_limited"  # over the vendor's budget: wait Retry-After, then again
    DUPLICATE = "duplicate"  # the target already has it: look it up, do not create
    BAD_REQUEST = "bad_request"  # the record is wrong: quarantine it
    NOT_FOUND = "not_found"
    AUTH = "auth"  # credentials or configuration: fail the run
    UNCERTAIN = "uncertain"  # a write may or may not have happened: look up before retrying


class ConnectorError(Exception):
    """Base of every connector's errors. Messages never carry credentials."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status_code: int | None = None,
        vendor_code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status_code = status_code
        self.vendor_code = vendor_code
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message, f"kind={self.kind.value}"]
        if self.status_code is not None:
            parts.append(f"http={self.status_code}")
        if self.vendor_code is not None:
            parts.append(f"code={self.vendor_code}")
        return " ".join(parts)

    @property
    def retryable(self) -> bool:
        return self.kind in (ErrorKind.RETRY, ErrorKind.RATE_LIMITED)


class BudgetExhaustedError(ConnectorError):
    """No request slot within the allowed wait: the run should defer the rest, not hang."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, kind=ErrorKind.RATE_LIMITED, retry_after=retry_after)
