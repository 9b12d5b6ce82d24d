"""Intuit's OAuth 2.0 token endpoint: the refresh grant, rotating refresh tokens, expiring access.

Wire facts (apis.md 2.1): ``POST /oauth2/v1/tokens/bearer`` with ``Authorization: Basic
base64(client_id:client_secret)`` and the form ``grant_type=refresh_token&refresh_token=..``;
the answer ``{"access_token", "refresh_token", "token_type": "bearer", "expires_in": 3600,
"x_refresh_token_expires_in": 8726400}``. The refresh token rotates: each grant hands out a new
one and, as apis.md says to store the new one each time, the used one stops working here.
(Intuit in practice keeps answering with the same refresh token for a while [U]; the stricter
rule catches a client that forgets to persist the rotation.) Failures are RFC 6749 bodies:
``{"error": "invalid_grant"}`` (HTTP 400) for a used, unknown or expired refresh token,
``{"error": "invalid_client"}`` (HTTP 401) for bad client credentials [S: RFC 6749 5.2].
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Scope

from sandbox.faults import FaultConfig, FaultInjector, admin_faults_change
from sandbox.quickbooks.wire import authentication_fault, render_fault_error
from sandbox.zoho.common import SimClock

TOKEN_PATH = "/oauth2/v1/tokens/bearer"
ACCESS_TTL_SECONDS = 3600
REFRESH_TTL_SECONDS = 8_726_400  # rolling 100 days (apis.md 2.1)


class GrantError(Exception):
    """A refused grant: rendered as ``{"error": ...}`` with the status RFC 6749 gives it."""

    def __init__(self, error: str, status: int) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


@dataclass
class RefreshGrant:
    client_id: str
    expires_at: datetime
    realm_ids: frozenset[str]


@dataclass
class IssuedToken:
    client_id: str
    realm_ids: frozenset[str]
    expires_at: datetime


class IntuitTokens:
    """Clients, live refresh tokens (one use each) and issued access tokens, on the sim clock."""

    def __init__(self, clock: SimClock, *, access_ttl_seconds: int = ACCESS_TTL_SECONDS) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.access_ttl_seconds = access_ttl_seconds
        self._clients: dict[str, str] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._access: dict[str, IssuedToken] = {}
        self._issued = 0
        self._refused = 0

    def register_client(self, client_id: str, client_secret: str, refresh_token: str, realm_id: str) -> None:
        """Let ``client_id`` refresh ``refresh_token`` into tokens for ``realm_id`` (the connect step)."""
        with self._lock:
            self._clients[client_id] = client_secret
            self._refresh[refresh_token] = RefreshGrant(
                client_id,
                self._clock.now() + timedelta(seconds=REFRESH_TTL_SECONDS),
                frozenset({realm_id}),
            )

    def grant(self, client_id: str, client_secret: str, refresh_token: str) -> tuple[str, str]:
        """Exchange a refresh token: (access token, the next refresh token); the used one dies."""
        with self._lock:
            known = self._clients.get(client_id)
            if known is None or not secrets.compare_digest(known, client_secret):
                self._refused += 1
                raise GrantError("invalid_client", 401)
            now = self._clock.now()
            grant = self._refresh.get(refresh_token)
            if grant is None or grant.client_id != client_id or now >= grant.expires_at:
                self._refused += 1
                raise GrantError("invalid_grant", 400)
            del self._refresh[refresh_token]
            access = f"eyJ.sandbox.{secrets.token_urlsafe(24)}"
            rotated = f"AB11{secrets.token_urlsafe(30)}"
            self._refresh[rotated] = RefreshGrant(
                client_id, now + timedelta(seconds=REFRESH_TTL_SECONDS), grant.realm_ids
            )
            self._access[access] = IssuedToken(
                client_id, grant.realm_ids, now + timedelta(seconds=self.access_ttl_seconds)
            )
            self._issued += 1
            return access, rotated

    def realms_of(self, authorization: str | None) -> frozenset[str]:
        """The realms a ``Bearer`` token opens; a missing, unknown or expired one is a 3200 Fault."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        now = self._clock.now()
        with self._lock:
            issued = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
            if issued is None or now >= issued.expires_at:
                raise authentication_fault()
            return issued.realm_ids

    def expire_all(self) -> int:
        """Make every issued access token expired now, so a test can force a 401."""
        past = self._clock.now() - timedelta(seconds=1)
        with self._lock:
            for token in self._access.values():
                token.expires_at = min(token.expires_at, past)
            return len(self._access)

    def issued_count(self) -> int:
        with self._lock:
            return self._issued

    def refused_count(self) -> int:
        with self._lock:
            return self._refused

    def reset(self) -> None:
        with self._lock:
            self._clients.clear()
            self._refresh.clear()
            self._access.clear()
            self._issued = self._refused = 0

    def snapshot(self) -> dict[str, object]:
        now = self._clock.now()
        with self._lock:
            return {
                "clients": sorted(self._clients),
                "issued": self._issued,
                "refused": self._refused,
                "live_refresh_tokens": len(self._refresh),
                "active_access_tokens": sum(1 for t in self._access.values() if now < t.expires_at),
            }


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def _oauth_error(error: str, status: int) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)


class TokenServer:
    """The token endpoint on its own host (``oauth.platform.intuit.com`` in production).

    Its faults are its own: by default none and no budget, so faults injected into the API do
    not also hit the refresh (tests of the API's writes stay about the API).
    """

    def __init__(self, tokens: IntuitTokens, *, faults: FaultConfig | None = None) -> None:
        self.tokens = tokens
        self.faults = FaultInjector(
            faults or FaultConfig(rate_limit_per_minute=None, max_concurrent=None),
            render_error=render_fault_error,
        )
        routes = [
            Route("/__admin/tokens", self._admin_tokens, methods=["GET"]),
            Route("/__admin/tokens/expire", self._admin_expire, methods=["POST"]),
            Route("/__admin/faults", self._admin_faults, methods=["GET", "PUT", "PATCH"]),
            Route("/__admin/calls", self._admin_calls, methods=["GET"]),
            Route(TOKEN_PATH, self._token, methods=["POST"]),
        ]
        self.app: ASGIApp = self.faults.wrap(
            Starlette(routes=routes), route_template=_path, tenant=lambda scope: "oauth"
        )

    async def _token(self, request: Request) -> Response:
        credentials = _basic_credentials(request.headers.get("authorization"))
        if credentials is None:
            return _oauth_error("invalid_client", 401)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8")).items()}
        if form.get("grant_type") != "refresh_token":
            return _oauth_error("unsupported_grant_type", 400)  # only the refresh grant is simulated
        try:
            access, rotated = self.tokens.grant(*credentials, form.get("refresh_token", ""))
        except GrantError as exc:
            return _oauth_error(exc.error, exc.status)
        return JSONResponse(
            {
                "access_token": access,
                "refresh_token": rotated,
                "token_type": "bearer",
                "expires_in": self.tokens.access_ttl_seconds,
                "x_refresh_token_expires_in": REFRESH_TTL_SECONDS,
            }
        )

    async def _admin_tokens(self, request: Request) -> Response:
        return JSONResponse(self.tokens.snapshot())

    async def _admin_expire(self, request: Request) -> Response:
        return JSONResponse({"expired": self.tokens.expire_all()})

    async def _admin_faults(self, request: Request) -> Response:
        payload, status = admin_faults_change(self.faults, request.method, await request.body())
        return JSONResponse(payload, status)

    async def _admin_calls(self, request: Request) -> Response:
        return JSONResponse(self.faults.counters())


def _path(scope: Scope) -> str:
    return str(scope["path"])
