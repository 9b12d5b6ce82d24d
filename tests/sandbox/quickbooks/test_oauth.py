"""Intuit's token endpoint as simulated: Basic client auth, rotation, RFC 6749 error bodies."""

from __future__ import annotations

import httpx

from sandbox.quickbooks import QuickBooksSandbox
from tests.sandbox.quickbooks.support import CLIENT_ID, REFRESH, SECRET


def grant(token_url: str, refresh_token: str, auth: tuple[str, str] = (CLIENT_ID, SECRET)) -> httpx.Response:
    return httpx.post(
        token_url, auth=auth, data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def test_a_refresh_answers_intuits_shape_and_the_used_refresh_token_stops_working():
    sandbox = QuickBooksSandbox()
    sandbox.register_client(CLIENT_ID, SECRET, REFRESH)
    with sandbox.serve() as endpoints:
        first = grant(endpoints.token_url, REFRESH)
        assert first.status_code == 200
        body = first.json()
        assert set(body) == {
            "access_token",
            "refresh_token",
            "token_type",
            "expires_in",
            "x_refresh_token_expires_in",
        }
        assert (body["token_type"], body["expires_in"], body["x_refresh_token_expires_in"]) == (
            "bearer",
            3600,
            8726400,
        )
        assert body["refresh_token"] != REFRESH

        replay = grant(endpoints.token_url, REFRESH)
        assert (replay.status_code, replay.json()) == (400, {"error": "invalid_grant"})
        rotated = grant(endpoints.token_url, body["refresh_token"])
        assert rotated.status_code == 200
        assert sandbox.tokens.issued_count() == 2 and sandbox.tokens.refused_count() == 1


def test_bad_client_credentials_and_other_grants_are_refused():
    sandbox = QuickBooksSandbox()
    sandbox.register_client(CLIENT_ID, SECRET, REFRESH)
    with sandbox.serve() as endpoints:
        wrong = grant(endpoints.token_url, REFRESH, auth=(CLIENT_ID, "not-the-secret"))
        assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid_client"})
        unauthenticated = httpx.post(
            endpoints.token_url, data={"grant_type": "refresh_token", "refresh_token": REFRESH}
        )
        assert unauthenticated.status_code == 401
        code = httpx.post(
            endpoints.token_url, auth=(CLIENT_ID, SECRET), data={"grant_type": "authorization_code"}
        )
        assert (code.status_code, code.json()) == (400, {"error": "unsupported_grant_type"})
        assert grant(endpoints.token_url, REFRESH).status_code == 200  # refusals spent nothing


def test_access_tokens_expire_on_the_simulated_clock_and_expire_all_forces_a_401():
    sandbox = QuickBooksSandbox(access_ttl_seconds=60)
    sandbox.register_client(CLIENT_ID, SECRET, REFRESH)
    sandbox.register_client(CLIENT_ID, SECRET, "AB11second-connect")  # as a second connect would
    with sandbox.serve() as endpoints:
        token = grant(endpoints.token_url, REFRESH).json()["access_token"]
        url = f"{endpoints.base_url}/v3/company/{endpoints.realm_id}/query"
        headers = {"Authorization": f"Bearer {token}"}
        statement = {"query": "SELECT COUNT(*) FROM Customer"}
        assert httpx.get(url, params=statement, headers=headers).status_code == 200
        sandbox.clock.advance(61)
        expired = httpx.get(url, params=statement, headers=headers)
        assert expired.status_code == 401
        assert expired.json()["Fault"]["Error"][0]["code"] == "3200"
        assert expired.json()["Fault"]["type"] == "AUTHENTICATION"

        fresh = grant(endpoints.token_url, "AB11second-connect").json()["access_token"]
        assert (
            httpx.get(url, params=statement, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
        )
        admin = endpoints.token_url.replace("/oauth2/v1/tokens/bearer", "/__admin/tokens/expire")
        assert httpx.post(admin).json() == {"expired": 2}
        assert (
            httpx.get(url, params=statement, headers={"Authorization": f"Bearer {fresh}"}).status_code == 401
        )
