"""Zoho's refresh-token grant (no rotation: Zoho keeps the same refresh token)."""

from __future__ import annotations

import time
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.http.errors import ErrorKind
from connectors.http.oauth import AccessToken
from connectors.http.transport import decode_json
from connectors.zoho.errors import ZohoAuthError, ZohoError


class ZohoTokenSource:
    """Exchanges the refresh token for an access token at ``{accounts}/oauth/v2/token``.

    The credentials travel in the form body, not the query string, so that no proxy or access
    log along the way records them.
    """

    def __init__(
        self,
        accounts_url: str,
        client_id: str,
        client_secret: SecretStr,
        refresh_token: SecretStr,
        *,
        timeout: float = 30.0,
    ) -> None:
        self._client = httpx.Client(base_url=accounts_url, timeout=timeout)
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token

    def refresh(self) -> AccessToken:
        form = {
            "refresh_token": self._refresh_token.get_secret_value(),
            "client_id": self._client_id,
            "client_secret": self._client_secret.get_secret_value(),
            "grant_type": "refresh_token",
        }
        try:
            response = self._client.post("/oauth/v2/token", data=form)
        except httpx.TransportError as exc:
            raise ZohoError(f"Zoho accounts unreachable: {type(exc).__name__}", kind=ErrorKind.RETRY) from exc
        body: Any
        try:
            body = decode_json(response.content)
        except ValueError:
            body = {}
        if response.status_code >= 500:
            raise ZohoError(f"Zoho accounts answered {response.status_code}", kind=ErrorKind.RETRY)
        if not isinstance(body, dict) or "access_token" not in body:
            error = body.get("error", "no access token") if isinstance(body, dict) else "no access token"
            raise ZohoAuthError(f"Zoho refused the refresh token: {error}", response.status_code)
        expires_in = float(body.get("expires_in", 3600))
        return AccessToken(value=str(body["access_token"]), expires_at=time.monotonic() + expires_in)

    def close(self) -> None:
        self._client.close()
