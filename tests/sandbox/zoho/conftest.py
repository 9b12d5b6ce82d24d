"""Zoho simulators on loopback, a pinned clock, and clients that talk to them like a connector."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.zoho import ZohoEndpoints, ZohoSandbox
from tests.sandbox.zoho.support import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, START, grant


@pytest.fixture
def sandbox() -> ZohoSandbox:
    zoho = ZohoSandbox(now=START, frozen_clock=True)
    zoho.register_client(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
    return zoho


@pytest.fixture
def endpoints(sandbox: ZohoSandbox) -> Iterator[ZohoEndpoints]:
    with sandbox.serve() as urls:
        yield urls


@pytest.fixture
def token(endpoints: ZohoEndpoints) -> str:
    response = grant(endpoints.accounts_url)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _client(base_url: str, token: str, sandbox: ZohoSandbox) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
        params={"organization_id": sandbox.organization.organization_id},
        timeout=10.0,
    )


@pytest.fixture
def inventory(endpoints: ZohoEndpoints, token: str, sandbox: ZohoSandbox) -> Iterator[httpx.Client]:
    with _client(endpoints.inventory_url, token, sandbox) as client:
        yield client


@pytest.fixture
def books(endpoints: ZohoEndpoints, token: str, sandbox: ZohoSandbox) -> Iterator[httpx.Client]:
    with _client(endpoints.books_url, token, sandbox) as client:
        yield client
