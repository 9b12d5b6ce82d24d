"""Xero's refresh-token grant, with the rotated refresh token saved before it is used.

Every refresh answers a NEW refresh token and retires the old one after a 30-minute grace
period (apis.md 3.1). The new one is saved to the store before the access token is handed out,
so a crash right after a refresh loses nothing; a lost answer leaves the old token, which the
grace period still accepts. ``RefreshingTokenAuth`` makes sure one thread refreshes at a time.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.http.errors import ErrorKind
from connectors.http.oauth import AccessToken, RefreshTokenStore
from connectors.http.transport import decode_json
from connectors.xero.errors import XeroAuthError, XeroError

_chains: dict[tuple[str, str, str], str] = {}
_chains_lock = threading.Lock()


class MemoryRefreshTokenStore:
    """The newest refresh token of one chain, kept for the life of the process.

    For installations without a token file: clients built one after another in one process
    (each run of a flow) continue the chain instead of replaying the retired seed token.
    Chains are told apart by token URL, client id and the seed token they started from.
    """

    def __init__(self, token_url: str, client_id: str, seed: SecretStr) -> None:
        self._key = (token_url, client_id, seed.get_secret_value())

    def load(self) -> str | None:
        with _chains_lock:
            return _chains.get(self._key)

    def save(self, refresh_token: str) -> None:
        with _chains_lock:
            _chains[self._key] = refresh_token


class XeroTokenSource:
    """Exchanges the newest refresh token for an access token at the identity server.

    The app authenticates with HTTP Basic; the refresh token travels in the form body, never in
    a URL. If the stored token is refused and the configured one differs (a new consent was
    configured, or a sandbox was restarted), the configured one is tried once.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        refresh_token: SecretStr,
        store: RefreshTokenStore,
        *,
        timeout: float = 30.0,
    ) -> None:
        self._client = httpx.Client(timeout=timeout)
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._configured = refresh_token
        self._store = store

    def refresh(self) -> AccessToken:
        configured = self._configured.get_secret_value()
        current = self._store.load() or configured
        try:
            return self._exchange(current)
        except XeroAuthError as exc:
            if exc.vendor_code != "invalid_grant" or current == configured:
                raise
            return self._exchange(configured)

    def _exchange(self, refresh_token: str) -> AccessToken:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        auth = (self._client_id, self._client_secret.get_secret_value())
        try:
            response = self._client.post(self._token_url, data=form, auth=auth)
        except httpx.TransportError as exc:
            raise XeroError(f"Xero identity unreachable: {type(exc).__name__}", kind=ErrorKind.RETRY) from exc
        body: Any
        try:
            body = decode_json(response.content)
        except ValueError:
            body = {}
        if response.status_code >= 500 or response.status_code == 429:
            raise XeroError(
                f"Xero identity answered {response.status_code}",
                kind=ErrorKind.RETRY,
                status_code=response.status_code,
            )
        if not isinstance(body, dict) or "access_token" not in body or "refresh_token" not in body:
            error = str(body.get("error", "no access token")) if isinstance(body, dict) else "no access token"
            raise XeroAuthError(f"Xero refused the refresh token: {error}", response.status_code, error)
        rotated = str(body["refresh_token"])
        self._store.save(rotated)
        expires_in = float(body.get("expires_in", 1800))
        return AccessToken(
            value=str(body["access_token"]), expires_at=time.monotonic() + expires_in, refresh_token=rotated
        )

    def close(self) -> None:
        self._client.close()
