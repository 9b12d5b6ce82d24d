"""Zoho Accounts simulator: the OAuth refresh-token grant at ``POST /oauth/v2/token``."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.faults import FaultConfig
from sandbox.zoho.common import (
    SimClock,
    TokenError,
    TokenRegistry,
    WireResponse,
    ZohoSimulator,
    admin_call,
    invalid_value,
)

TOKEN_CAP = 10
TOKEN_CAP_WINDOW_MINUTES = 10


class AccountsState:
    """The accounts server's state is the shared TokenRegistry plus its own settings."""

    def __init__(self, tokens: TokenRegistry, *, token_ttl_seconds: int, api_domain: str) -> None:
        self.lock = threading.RLock()
        self.tokens = tokens
        self.token_ttl_seconds = token_ttl_seconds
        self.api_domain = api_domain

    def register_client(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        self.tokens.register_client(client_id, client_secret, refresh_token)

    def reset(self) -> None:
        self.tokens.reset()

    def seed(self, payload: Mapping[str, Any]) -> dict[str, object]:
        """``{"clients": [{"client_id", "client_secret", "refresh_token"}]}``."""
        clients = payload.get("clients") or []
        if not isinstance(clients, list):
            raise invalid_value("clients")
        for row in clients:
            if not isinstance(row, dict) or not all(
                isinstance(row.get(k), str) and row.get(k)
                for k in ("client_id", "client_secret", "refresh_token")
            ):
                raise invalid_value("clients", "Need client_id, client_secret, refresh_token.")
            self.register_client(row["client_id"], row["client_secret"], row["refresh_token"])
        return {"clients": [row["client_id"] for row in clients]}

    def snapshot(self) -> dict[str, object]:
        return {**self.tokens.snapshot(), "token_ttl_seconds": self.token_ttl_seconds}


def _accounts_config(config: FaultConfig | None) -> FaultConfig:
    """Accounts has no per-organisation budget; its own limit is the refresh-token cap."""
    return config or FaultConfig(rate_limit_per_minute=None, max_concurrent=None)


class AccountsSimulator(ZohoSimulator):
    """``POST /oauth/v2/token`` plus admin routes for clients and token expiry.

    Wire facts (apis.md 1.1): parameters in the query string (a form body is accepted too); the
    answer is ``{"access_token": "1000.…", "api_domain", "token_type": "Bearer", "expires_in"}``
    with no new refresh token; at most 10 access tokens per 10 minutes per refresh token (the
    window scales with ``minute_seconds``). Failures are ``{"error": ...}`` bodies with HTTP 400
    [U: the status is not documented].
    """

    def __init__(
        self,
        *,
        clock: SimClock,
        tokens: TokenRegistry,
        token_ttl_seconds: int = 3600,
        api_domain: str = "https://www.zohoapis.in",
        faults: FaultConfig | None = None,
    ) -> None:
        self.accounts = AccountsState(
            tokens, token_ttl_seconds=token_ttl_seconds, api_domain=api_domain
        )
        super().__init__(
            state=self.accounts, clock=clock, tokens=tokens, faults=_accounts_config(faults)
        )

    def register_client(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        self.accounts.register_client(client_id, client_secret, refresh_token)

    def api_routes(self) -> list[BaseRoute]:
        return [self.route("POST", "/oauth/v2/token", self._token, auth=False, org=False)]

    def extra_admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/__admin/clients", self._admin_clients, methods=["POST"]),
            Route("/__admin/tokens/expire", self._admin_expire, methods=["POST"]),
            Route("/__admin/tokens", self._admin_tokens, methods=["GET"]),
        ]

    async def _token(self, request: Request) -> Response:
        params: dict[str, str] = dict(request.query_params)
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = parse_qs((await request.body()).decode("utf-8"))
            for key, values in form.items():
                params.setdefault(key, values[0])
        if params.get("grant_type") != "refresh_token":
            # Only the refresh grant is simulated [U: error name for other grants].
            return WireResponse({"error": "unsupported_grant_type"}, 400)
        scale = self.faults.config.time_scale
        try:
            token = self.tokens.issue(
                refresh_token=params.get("refresh_token", ""),
                client_id=params.get("client_id", ""),
                client_secret=params.get("client_secret", ""),
                ttl_seconds=self.accounts.token_ttl_seconds,
                cap=TOKEN_CAP,
                cap_window_seconds=TOKEN_CAP_WINDOW_MINUTES * 60 * scale,
            )
        except TokenError as exc:
            body: dict[str, object] = {"error": exc.error}
            if exc.description:
                body["error_description"] = exc.description
            return WireResponse(body, 400)
        return WireResponse(
            {
                "access_token": token.access_token,
                "api_domain": self.accounts.api_domain,
                "token_type": "Bearer",
                "expires_in": self.accounts.token_ttl_seconds,
            }
        )

    async def _admin_clients(self, request: Request) -> Response:
        return await admin_call(request, lambda body: self.accounts.seed({"clients": [body]}))

    async def _admin_expire(self, request: Request) -> Response:
        return WireResponse({"expired": self.tokens.expire_all()})

    async def _admin_tokens(self, request: Request) -> Response:
        return WireResponse(self.accounts.snapshot())
