"""Zoho Accounts: token grant, expiry and the 401 body, the refresh-token cap."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sandbox.zoho import ZohoEndpoints, ZohoSandbox
from tests.sandbox.zoho.support import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, grant, poll

NOT_AUTHORISED = {"code": 57, "message": "You are not authorized to perform this operation"}


def test_refresh_grant_returns_an_access_token_and_no_new_refresh_token(
    endpoints: ZohoEndpoints, sandbox: ZohoSandbox
) -> None:
    response = grant(endpoints.accounts_url)

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("1000.")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["api_domain"] == "https://www.zohoapis.in"
    assert "refresh_token" not in body
    assert sandbox.tokens.issued_count(REFRESH_TOKEN) == 1


def test_form_body_is_accepted_too(endpoints: ZohoEndpoints) -> None:
    response = httpx.post(
        f"{endpoints.accounts_url}/oauth/v2/token",
        data={
            "refresh_token": REFRESH_TOKEN,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "refresh_token",
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("refresh_token", "secret"),
    [("1000.unknown", CLIENT_SECRET), (REFRESH_TOKEN, "wrong-secret")],
)
def test_bad_refresh_token_or_client_is_invalid_code(
    endpoints: ZohoEndpoints, refresh_token: str, secret: str
) -> None:
    response = grant(endpoints.accounts_url, refresh_token=refresh_token, client_secret=secret)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_code"}


def test_missing_wrong_scheme_or_unknown_token_is_401_code_57(
    endpoints: ZohoEndpoints, token: str, sandbox: ZohoSandbox
) -> None:
    url = f"{endpoints.books_url}/invoices"
    params = {"organization_id": sandbox.organization.organization_id}
    for headers in (
        {},
        {"Authorization": f"Bearer {token}"},
        {"Authorization": "Zoho-oauthtoken 1000.not-issued"},
    ):
        response = httpx.get(url, params=params, headers=headers)
        assert response.status_code == 401
        assert response.json() == NOT_AUTHORISED
    ok = httpx.get(url, params=params, headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert ok.status_code == 200


def test_expire_all_forces_a_401_and_a_refresh_recovers(
    endpoints: ZohoEndpoints, inventory: httpx.Client
) -> None:
    assert inventory.get("/items").status_code == 200

    expired = httpx.post(f"{endpoints.accounts_url}/__admin/tokens/expire")
    assert expired.json() == {"expired": 1}
    response = inventory.get("/items")
    assert response.status_code == 401
    assert response.json()["code"] == 57

    fresh = grant(endpoints.accounts_url).json()["access_token"]
    response = inventory.get("/items", headers={"Authorization": f"Zoho-oauthtoken {fresh}"})
    assert response.status_code == 200
    tokens = httpx.get(f"{endpoints.accounts_url}/__admin/tokens").json()
    assert tokens["issued"] == 2
    assert tokens["active"] == 1


def test_token_expires_when_the_clock_passes_its_ttl(
    sandbox: ZohoSandbox, books: httpx.Client
) -> None:
    sandbox.clock.advance(3599)
    assert books.get("/contacts").status_code == 200
    sandbox.clock.advance(1)
    assert books.get("/contacts").status_code == 401


def test_more_than_ten_tokens_in_ten_minutes_is_access_denied_until_the_window_passes() -> None:
    # A minute lasts 0.15 s, so the 10-minute window lasts 1.5 s.
    zoho = ZohoSandbox(now=datetime(2026, 11, 22, tzinfo=UTC), minute_seconds=0.15)
    zoho.register_client(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
    params = {
        "refresh_token": REFRESH_TOKEN,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token",
    }
    with zoho.serve() as urls, httpx.Client(base_url=urls.accounts_url, params=params) as client:
        statuses = [client.post("/oauth/v2/token").status_code for _ in range(10)]
        denied = client.post("/oauth/v2/token")

        assert statuses == [200] * 10
        assert denied.status_code == 400
        assert denied.json() == {
            "error": "Access Denied",
            "error_description": "You have made too many requests continuously. "
            "Please try again after some time.",
        }
        assert poll(lambda: client.post("/oauth/v2/token").status_code == 200, timeout=5.0)
    assert zoho.tokens.issued_count() == 11


def test_only_the_refresh_grant_is_simulated(endpoints: ZohoEndpoints) -> None:
    response = httpx.post(
        f"{endpoints.accounts_url}/oauth/v2/token",
        params={"grant_type": "authorization_code", "code": "x"},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type"}
