"""Zoho simulators (Accounts, Inventory v1, Books v3) sharing one token registry and one clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sandbox.faults import FaultConfig
from sandbox.server import SimulatorServer
from sandbox.zoho.accounts import AccountsSimulator
from sandbox.zoho.books import BooksSimulator, BooksState
from sandbox.zoho.common import Organization, SimClock, TokenRegistry, ZohoError
from sandbox.zoho.inventory import InventorySimulator, InventoryState

__all__ = [
    "AccountsSimulator",
    "BooksSimulator",
    "BooksState",
    "InventorySimulator",
    "InventoryState",
    "Organization",
    "SimClock",
    "TokenRegistry",
    "ZohoEndpoints",
    "ZohoError",
    "ZohoSandbox",
]


@dataclass(frozen=True)
class ZohoEndpoints:
    """Base URLs of running simulators, shaped like the real ones (paths included)."""

    accounts_url: str  # token endpoint: accounts_url + "/oauth/v2/token"
    inventory_url: str  # ends with /inventory/v1
    books_url: str  # ends with /books/v3


class ZohoSandbox:
    """All three Zoho simulators over one organisation, one token registry and one clock.

    Inventory and Books serve the same organisation ID, as one Zoho organisation does; their
    records are kept apart (a simplification: in Zoho they share items and contacts).
    """

    def __init__(
        self,
        *,
        organization: Organization | None = None,
        now: datetime | None = None,
        frozen_clock: bool = False,
        minute_seconds: float = 60.0,
        seed: int = 0,
        token_ttl_seconds: int = 3600,
        api_domain: str = "https://www.zohoapis.in",
    ) -> None:
        self.organization = organization or Organization()
        self.clock = SimClock(now, frozen=frozen_clock)
        self.tokens = TokenRegistry(self.clock)
        faults = FaultConfig(seed=seed, minute_seconds=minute_seconds)
        self.accounts = AccountsSimulator(
            clock=self.clock,
            tokens=self.tokens,
            token_ttl_seconds=token_ttl_seconds,
            api_domain=api_domain,
            faults=FaultConfig(
                seed=seed,
                minute_seconds=minute_seconds,
                rate_limit_per_minute=None,
                max_concurrent=None,
            ),
        )
        self.inventory = InventorySimulator(
            clock=self.clock, tokens=self.tokens, org=self.organization, faults=faults
        )
        self.books = BooksSimulator(
            clock=self.clock, tokens=self.tokens, org=self.organization, faults=faults
        )
        self.endpoints: ZohoEndpoints | None = None  # where it is served, while it is

    def register_client(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        """Let a connector's OAuth credentials obtain access tokens."""
        self.tokens.register_client(client_id, client_secret, refresh_token)

    def reset(self) -> None:
        """Empty every simulator, drop clients and tokens, restore default faults."""
        for simulator in (self.accounts, self.inventory, self.books):
            simulator.reset()

    @contextmanager
    def serve(
        self, *, accounts_port: int = 0, inventory_port: int = 0, books_port: int = 0
    ) -> Iterator[ZohoEndpoints]:
        """Run the three simulators on loopback until the block ends (port 0 = any free port).

        Fixed ports let a demo or a user's trial run the sandbox in one process and point a
        connector (and admin calls) at it from another.
        """
        servers = [
            SimulatorServer(self.accounts.app, port=accounts_port, name="zoho-accounts"),
            SimulatorServer(self.inventory.app, port=inventory_port, name="zoho-inventory"),
            SimulatorServer(self.books.app, port=books_port, name="zoho-books"),
        ]
        started: list[SimulatorServer] = []
        try:
            for server in servers:
                started.append(server.start())
            accounts, inventory, books = servers
            self.endpoints = ZohoEndpoints(
                accounts_url=accounts.url,
                inventory_url=inventory.url + InventorySimulator.prefix,
                books_url=books.url + BooksSimulator.prefix,
            )
            yield self.endpoints
        finally:
            self.endpoints = None
            for server in started:
                server.request_stop()
            for server in started:
                server.stop()
