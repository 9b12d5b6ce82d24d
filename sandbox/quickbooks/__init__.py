"""QuickBooks Online simulator: Intuit's token endpoint and the v3 API of one company, one clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sandbox.faults import FaultConfig
from sandbox.quickbooks.api import QuickBooksApi
from sandbox.quickbooks.oauth import TOKEN_PATH, IntuitTokens, TokenServer
from sandbox.quickbooks.state import Company, CompanyState
from sandbox.quickbooks.wire import QboFault
from sandbox.server import SimulatorServer
from sandbox.zoho.common import SimClock

__all__ = [
    "Company",
    "CompanyState",
    "IntuitTokens",
    "QboFault",
    "QuickBooksApi",
    "QuickBooksEndpoints",
    "QuickBooksSandbox",
    "TokenServer",
]


@dataclass(frozen=True)
class QuickBooksEndpoints:
    """Where the running simulators answer, shaped like the real configuration."""

    base_url: str  # the API host: base_url + "/v3/company/{realmId}/..."
    token_url: str  # the full token endpoint URL
    realm_id: str


class QuickBooksSandbox:
    """The token server and the API over one company, one token registry and one clock.

    ``minute_seconds`` shortens QBO's rate-limit minute (500 requests, 40 batches) for tests.
    """

    def __init__(
        self,
        *,
        company: Company | None = None,
        now: datetime | None = None,
        frozen_clock: bool = False,
        minute_seconds: float = 60.0,
        seed: int = 0,
        access_ttl_seconds: int = 3600,
    ) -> None:
        self.company = company or Company()
        self.clock = SimClock(now, frozen=frozen_clock)
        self.tokens = IntuitTokens(self.clock, access_ttl_seconds=access_ttl_seconds)
        self.state = CompanyState(self.company, self.clock)
        self.token_server = TokenServer(
            self.tokens,
            faults=FaultConfig(
                seed=seed, minute_seconds=minute_seconds, rate_limit_per_minute=None, max_concurrent=None
            ),
        )
        self.api = QuickBooksApi(
            self.state,
            self.tokens,
            faults=FaultConfig(
                seed=seed, minute_seconds=minute_seconds, rate_limit_per_minute=500, max_concurrent=10
            ),
        )

    @property
    def realm_id(self) -> str:
        return self.company.realm_id

    def register_client(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        """What connecting an app to the company does: ``refresh_token`` now opens this realm."""
        self.tokens.register_client(client_id, client_secret, refresh_token, self.company.realm_id)

    def reset(self) -> None:
        """Empty company, no clients or tokens, default faults on both servers."""
        self.api.reset()
        self.tokens.reset()
        self.token_server.faults.reset()

    @contextmanager
    def serve(self, *, api_port: int = 0, token_port: int = 0) -> Iterator[QuickBooksEndpoints]:
        """Run both servers on loopback until the block ends (port 0 = any free port)."""
        api = SimulatorServer(self.api.app, port=api_port, name="quickbooks-api")
        oauth = SimulatorServer(self.token_server.app, port=token_port, name="intuit-oauth")
        started: list[SimulatorServer] = []
        try:
            for server in (oauth, api):
                started.append(server.start())
            yield QuickBooksEndpoints(
                base_url=api.url, token_url=oauth.url + TOKEN_PATH, realm_id=self.company.realm_id
            )
        finally:
            for server in started:  # both wind down at once
                server.request_stop()
            for server in started:
                server.stop()
