"""OAuth2 refresh-token auth for httpx: one refresh at a time, once per 401, rotation persisted."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # time.monotonic() deadline
    refresh_token: str | None = None  # a new refresh token, for vendors that rotate them

    def fresh(self, skew: float = 30.0) -> bool:
        return time.monotonic() < self.expires_at - skew

    def __repr__(self) -> str:  # tokens never appear in reprs or logs
        return f"AccessToken(expires_in={self.expires_at - time.monotonic():.0f}s)"


class TokenSource(Protocol):
    """Performs the vendor's refresh-token grant."""

    def refresh(self) -> AccessToken: ...


class RefreshTokenStore(Protocol):
    """Where a rotating refresh token lives between runs."""

    def load(self) -> str | None: ...

    def save(self, refresh_token: str) -> None: ...


class FileRefreshTokenStore:
    """Keeps the refresh token in a file, replaced atomically so a crash never leaves half a token."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> str | None:
        try:
            return self.path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def save(self, refresh_token: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".token-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(refresh_token)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class RefreshingTokenAuth(httpx.Auth):
    """Adds the access token; on a 401 refreshes once (one thread refreshes, the rest reuse it)."""

    def __init__(self, source: TokenSource, scheme: str = "Bearer") -> None:
        self._source = source
        self._scheme = scheme
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self.refreshes = 0

    def _current(self) -> AccessToken:
        with self._lock:
            if self._token is None or not self._token.fresh():
                self._token = self._source.refresh()
                self.refreshes += 1
            return self._token

    def _replace(self, stale: AccessToken) -> AccessToken:
        with self._lock:
            if self._token is stale or self._token is None:  # nobody refreshed meanwhile
                self._token = self._source.refresh()
                self.refreshes += 1
            return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._current()
        request.headers["Authorization"] = f"{self._scheme} {token.value}"
        response = yield request
        if response.status_code == 401:
            token = self._replace(token)
            request.headers["Authorization"] = f"{self._scheme} {token.value}"
            yield request
