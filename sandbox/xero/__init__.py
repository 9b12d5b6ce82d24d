"""Xero simulators (identity server and Accounting API) sharing one clock and one token registry.

Time scales with ``minute_seconds``: a rate-limit minute, the 30-minute access token, the
refresh token's grace period and its 60-day life all shrink alike, so tests run fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sandbox.server import SimulatorServer
from sandbox.xero.api import PREFIX, XeroApiSimulator
from sandbox.xero.identity import GRACE_SECONDS, IdentitySimulator, XeroTokens
from sandbox.xero.limits import XeroFaultInjector, xero_fault_config
from sandbox.xero.state import Organisation, XeroState
from sandbox.zoho.common import SimClock

__all__ = [
    "IdentitySimulator",
    "Organisation",
    "XeroApiSimulator",
    "XeroEndpoints",
    "XeroFaultInjector",
    "XeroSandbox",
    "XeroState",
    "XeroTokens",
]


@dataclass(frozen=True)
class XeroEndpoints:
    """URLs of running simulators, shaped like the real ones (paths included)."""

    token_url: str  # identity: ends with /connect/token
    base_url: str  # API: ends with /api.xro/2.0
    identity_url: str  # identity server root, for its admin routes
    api_url: str  # API server root, for its admin routes


class XeroSandbox:
    """The identity server and one organisation's Accounting API, on one clock."""

    def __init__(
        self,
        *,
        organisation: Organisation | None = None,
        now: datetime | None = None,
        frozen_clock: bool = False,
        minute_seconds: float = 60.0,
        seed: int = 0,
        grace_seconds: float = GRACE_SECONDS,
    ) -> None:
        self.clock = SimClock(now, frozen=frozen_clock)
        self.tokens = XeroTokens(self.clock, time_scale=minute_seconds / 60.0, grace_seconds=grace_seconds)
        self.identity = IdentitySimulator(self.tokens, seed=seed, minute_seconds=minute_seconds)
        self.state = XeroState(clock=self.clock, org=organisation)
        self.api = XeroApiSimulator(
            state=self.state,
            tokens=self.tokens,
            faults=xero_fault_config(seed=seed, minute_seconds=minute_seconds),
        )

    @property
    def tenant_id(self) -> str:
        return self.state.org.tenant_id

    def register_client(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        """Let a connector's app credentials and first refresh token obtain access tokens."""
        self.tokens.register_client(client_id, client_secret, refresh_token)

    def reset(self) -> None:
        """Empty the organisation, drop clients and tokens, restore default faults."""
        self.api.reset()
        self.tokens.reset()
        self.identity.faults.reset()

    @contextmanager
    def serve(self, *, identity_port: int = 0, api_port: int = 0) -> Iterator[XeroEndpoints]:
        """Run both simulators on loopback until the block ends (port 0 = any free port)."""
        servers = [
            SimulatorServer(self.identity.app, port=identity_port, name="xero-identity"),
            SimulatorServer(self.api.app, port=api_port, name="xero-api"),
        ]
        started: list[SimulatorServer] = []
        try:
            for server in servers:
                started.append(server.start())
            identity, api = servers
            yield XeroEndpoints(
                token_url=identity.url + "/connect/token",
                base_url=api.url + PREFIX,
                identity_url=identity.url,
                api_url=api.url,
            )
        finally:
            for server in started:
                server.request_stop()
            for server in started:
                server.stop()
