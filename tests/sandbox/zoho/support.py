"""Constants and small helpers shared by the Zoho simulator tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

CLIENT_ID = "1000.SANDBOXCLIENT"
CLIENT_SECRET = "sandbox-secret"
REFRESH_TOKEN = "1000.refresh.sandbox"
# 2026-11-22 10:15:00 in Asia/Kolkata.
START = datetime(2026, 11, 22, 4, 45, tzinfo=UTC)


def grant(
    accounts_url: str, refresh_token: str = REFRESH_TOKEN, client_secret: str = CLIENT_SECRET
) -> httpx.Response:
    return httpx.post(
        f"{accounts_url}/oauth/v2/token",
        params={
            "refresh_token": refresh_token,
            "client_id": CLIENT_ID,
            "client_secret": client_secret,
            "grant_type": "refresh_token",
        },
    )


def admin_url(api_base_url: str) -> str:
    """The admin root of a simulator, from its API base URL (``.../inventory/v1``)."""
    return api_base_url.rsplit("/", 2)[0] + "/__admin"


def poll(check: Callable[[], bool], *, timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Retry ``check`` until it is true or ``timeout`` passes; never waits unbounded."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
