"""Xero's identity server: the refresh-token grant at ``POST /connect/token`` (apis.md 3.1).

* Client authentication is HTTP Basic (``client_id:client_secret``), the form says
  ``grant_type=refresh_token&refresh_token=...`` [V].
* Access tokens live 30 minutes; refresh tokens expire after 60 days unused [V]. Both spans run
  on the sandbox clock and shrink with ``time_scale`` (a minute lasting one second in tests).
* Every refresh returns a NEW refresh token [V]. The old one stays usable for a 30-minute grace
  period, for a client whose answer was lost [V]; after that it is ``{"error": "invalid_grant"}``
  with HTTP 400 [V]. A wrong client id or secret is ``invalid_client`` (HTTP 400) [U: status].
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
from sandbox.xero.wire import render_fault_error
from sandbox.zoho.common import SimClock

ACCESS_TOKEN_SECONDS = 30 * 60
REFRESH_TOKEN_SECONDS = 60 * 24 * 3600
GRACE_SECONDS = 30 * 60
SCOPES = "offline_access accounting.transactions accounting.contacts accounting.settings"


class GrantError(Exception):
    """The token endpoint's ``{"error": ...}`` answer."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class RefreshToken:
    value: str
    client_id: str
    issued_at: datetime
    rotated_at: datetime | None = None  # when a refresh used it (it then lives out its grace)


@dataclass
class IssuedToken:
    access_token: str
    expires_at: datetime


class XeroTokens:
    """Clients, rotating refresh tokens and access tokens, shared by identity and the API."""

    def __init__(
        self, clock: SimClock, *, time_scale: float = 1.0, grace_seconds: float = GRACE_SECONDS
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.time_scale = time_scale
        self.grace_seconds = grace_seconds
        self._clients: dict[str, str] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._access: dict[str, IssuedToken] = {}
        self._issued = 0

    def _scaled(self, seconds: float) -> timedelta:
        return timedelta(seconds=seconds * self.time_scale)

    def register_client(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        """A connected app whose first refresh token (the one the user consented with) is known."""
        with self._lock:
            self._clients[client_id] = client_secret
            self._refresh[refresh_token] = RefreshToken(refresh_token, client_id, self._clock.now())

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> tuple[IssuedToken, str]:
        """Exchange a refresh token: a new access token and a new refresh token, or GrantError."""
        now = self._clock.now()
        with self._lock:
            known = self._clients.get(client_id)
            if known is None or not secrets.compare_digest(known, client_secret):
                raise GrantError("invalid_client")
            token = self._refresh.get(refresh_token)
            if token is None or token.client_id != client_id:
                raise GrantError("invalid_grant")
            if now >= token.issued_at + self._scaled(REFRESH_TOKEN_SECONDS):
                raise GrantError("invalid_grant")
            if token.rotated_at is not None and now >= token.rotated_at + self._scaled(self.grace_seconds):
                raise GrantError("invalid_grant")
            if token.rotated_at is None:
                token.rotated_at = now
            successor = RefreshToken(secrets.token_hex(32), client_id, now)
            self._refresh[successor.value] = successor
            issued = IssuedToken(secrets.token_urlsafe(48), now + self._scaled(ACCESS_TOKEN_SECONDS))
            self._access[issued.access_token] = issued
            self._issued += 1
            return issued, successor.value

    def is_valid(self, access_token: str) -> bool:
        now = self._clock.now()
        with self._lock:
            issued = self._access.get(access_token)
            return issued is not None and now < issued.expires_at

    def expire_all(self) -> int:
        """Expire every access token now, so a test can force the 401 a long run meets."""
        past = self._clock.now() - timedelta(seconds=1)
        with self._lock:
            for issued in self._access.values():
                issued.expires_at = min(issued.expires_at, past)
            return len(self._access)

    def end_grace(self) -> int:
        """Let every rotated refresh token's grace period run out now."""
        past = self._clock.now() - self._scaled(self.grace_seconds) - timedelta(seconds=1)
        with self._lock:
            rotated = [t for t in self._refresh.values() if t.rotated_at is not None]
            for token in rotated:
                token.rotated_at = past
            return len(rotated)

    def issued_count(self) -> int:
        with self._lock:
            return self._issued

    def latest_refresh_token(self, client_id: str) -> str | None:
        """The newest refresh token of a client (what a careful client holds now)."""
        with self._lock:
            mine = [t for t in self._refresh.values() if t.client_id == client_id]  # in issue order
            return mine[-1].value if mine else None

    def reset(self) -> None:
        with self._lock:
            self._clients.clear()
            self._refresh.clear()
            self._access.clear()
            self._issued = 0

    def snapshot(self) -> dict[str, object]:
        now = self._clock.now()
        with self._lock:
            return {
                "clients": sorted(self._clients),
                "issued": self._issued,
                "active": sum(1 for t in self._access.values() if now < t.expires_at),
                "refresh_tokens": len(self._refresh),
            }


def basic_credentials(header: str | None) -> tuple[str, str]:
    """``Authorization: Basic base64(id:secret)``; anything else is an unknown client."""
    scheme, _, encoded = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        raise GrantError("invalid_client")
    try:
        client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise GrantError("invalid_client") from exc
    return client_id, secret


def _identity_route(scope: Scope) -> str:
    return str(scope["path"])


def _no_tenant(scope: Scope) -> str:
    return "identity"


class IdentitySimulator:
    """``identity.xero.com``: the token endpoint plus admin routes for tokens and faults."""

    def __init__(self, tokens: XeroTokens, *, seed: int = 0, minute_seconds: float = 60.0) -> None:
        self.tokens = tokens
        config = FaultConfig(
            seed=seed, minute_seconds=minute_seconds, rate_limit_per_minute=None, max_concurrent=None
        )
        self.faults = FaultInjector(config, render_error=render_fault_error)
        routes = [
            Route("/connect/token", self._token, methods=["POST"]),
            Route("/__admin/tokens", self._admin_tokens, methods=["GET"]),
            Route("/__admin/tokens/expire", self._admin_expire, methods=["POST"]),
            Route("/__admin/tokens/end-grace", self._admin_end_grace, methods=["POST"]),
            Route("/__admin/faults", self._admin_faults, methods=["GET", "PUT", "PATCH"]),
            Route("/__admin/calls", self._admin_calls, methods=["GET"]),
        ]
        self.app: ASGIApp = self.faults.wrap(
            Starlette(routes=routes), route_template=_identity_route, tenant=_no_tenant
        )

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        try:
            client_id, secret = basic_credentials(request.headers.get("authorization"))
            if form.get("grant_type") != "refresh_token":
                raise GrantError("unsupported_grant_type")
            issued, refresh_token = self.tokens.refresh(client_id, secret, form.get("refresh_token", ""))
        except GrantError as exc:
            return JSONResponse({"error": exc.error}, 400)
        return JSONResponse(
            {
                "access_token": issued.access_token,
                "expires_in": ACCESS_TOKEN_SECONDS,
                "token_type": "Bearer",
                "refresh_token": refresh_token,
                "scope": SCOPES,
            }
        )

    async def _admin_tokens(self, request: Request) -> Response:
        return JSONResponse(self.tokens.snapshot())

    async def _admin_expire(self, request: Request) -> Response:
        return JSONResponse({"expired": self.tokens.expire_all()})

    async def _admin_end_grace(self, request: Request) -> Response:
        return JSONResponse({"ended": self.tokens.end_grace()})

    async def _admin_faults(self, request: Request) -> Response:
        payload, status = admin_faults_change(self.faults, request.method, await request.body())
        return JSONResponse(payload, status)

    async def _admin_calls(self, request: Request) -> Response:
        return JSONResponse(self.faults.counters())
