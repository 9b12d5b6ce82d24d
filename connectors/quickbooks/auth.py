"""Intuit's refresh-token grant, with the rotated refresh token saved after every refresh.

Intuit hands out a new refresh token with each access token and the client must keep the
newest (apis.md 2.1). The token source reads the current one from a RefreshTokenStore before
each refresh and saves the new one before anyone uses the access token, so a crash never leaves
us holding only a token that no longer works. Without a configured store, the process keeps the
rotation in memory, shared by every client of the same credentials: two clients built from one
environment must not both spend the configured token.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.http.errors import ErrorKind
from connectors.http.oauth import AccessToken, RefreshTokenStore
from connectors.http.transport import decode_json
from connectors.quickbooks.errors import QuickBooksAuthError, QuickBooksError


class MemoryRefreshTokenStore:
    """A refresh token kept in this process only (lost when it ends: prefer a file in production)."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._lock = threading.Lock()

    def load(self) -> str | None:
        with self._lock:
            return self._token

    def save(self, refresh_token: str) -> None:
        with self._lock:
            self._token = refresh_token


_process_stores: dict[str, MemoryRefreshTokenStore] = {}
_refresh_locks: dict[object, threading.Lock] = {}
_registry_lock = threading.Lock()


def process_store(token_url: str, client_id: str, refresh_token: SecretStr) -> MemoryRefreshTokenStore:
    """The in-process store of one set of credentials (keyed by a digest, never the token itself)."""
    digest = hashlib.sha256(refresh_token.get_secret_value().encode()).hexdigest()
    key = f"{token_url}|{client_id}|{digest}"
    with _registry_lock:
        return _process_stores.setdefault(key, MemoryRefreshTokenStore())


def _refresh_lock(store: RefreshTokenStore) -> threading.Lock:
    """One refresh at a time per store in this process: two clients sharing a file take turns."""
    key: object = getattr(store, "path", None) or id(store)
    with _registry_lock:
        return _refresh_locks.setdefault(key, threading.Lock())


class QuickBooksTokenSource:
    """``POST {token_url}`` with Basic client auth and the form ``grant_type=refresh_token``."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        refresh_token: SecretStr,
        *,
        store: RefreshTokenStore | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._token_url = token_url
        self._client = httpx.Client(timeout=timeout, headers={"Accept": "application/json"})
        self._auth = httpx.BasicAuth(client_id, client_secret.get_secret_value())
        self._configured = refresh_token
        self.store: RefreshTokenStore = store or process_store(token_url, client_id, refresh_token)

    def refresh(self) -> AccessToken:
        """A fresh access token. Tries the stored refresh token, then (once) the configured one:
        an operator who re-authorised the app sets a new token that the stale file must not hide.
        If another process rotated the stored token meanwhile, its newer one is tried instead."""
        with _refresh_lock(self.store):
            tried: set[str] = set()
            for _ in range(4):
                candidate = self._next_candidate(tried)
                if candidate is None:
                    break
                tried.add(candidate)
                token = self._grant(candidate)
                if token is not None:
                    return token
            raise QuickBooksAuthError(
                "Intuit refused the refresh token (invalid_grant): reconnect the app and set a new "
                "refresh token",
                400,
            )

    def _next_candidate(self, tried: set[str]) -> str | None:
        for candidate in (self.store.load(), self._configured.get_secret_value()):
            if candidate and candidate not in tried:
                return candidate
        return None

    def _grant(self, refresh_token: str) -> AccessToken | None:
        """One grant; None when the refresh token is spent or unknown (invalid_grant)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        try:
            response = self._client.post(self._token_url, data=form, auth=self._auth)
        except httpx.TransportError as exc:
            raise QuickBooksError(
                f"Intuit's token endpoint is unreachable: {type(exc).__name__}", kind=ErrorKind.RETRY
            ) from exc
        body: Any
        try:
            body = decode_json(response.content)
        except ValueError:
            body = {}
        if response.status_code >= 500 or response.status_code == 429:
            raise QuickBooksError(
                f"Intuit's token endpoint answered {response.status_code}", kind=ErrorKind.RETRY
            )
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        if error == "invalid_grant":
            return None
        if not isinstance(body, dict) or "access_token" not in body:
            raise QuickBooksAuthError(
                f"Intuit refused the token request: {error or 'no access token'}", response.status_code
            )
        rotated = body.get("refresh_token")
        if rotated:
            self.store.save(str(rotated))  # before anyone can use the access token
        expires_in = float(body.get("expires_in", 3600))
        return AccessToken(
            value=str(body["access_token"]),
            expires_at=time.monotonic() + expires_in,
            refresh_token=str(rotated) if rotated else None,
        )

    def close(self) -> None:
        self._client.close()
