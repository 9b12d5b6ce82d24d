"""SimulatorServer: loopback only, a free port, bounded start and stop."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.server import SimulatorServer


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


APP = Starlette(routes=[Route("/", _hello)])


def test_serves_on_a_free_loopback_port_until_stopped() -> None:
    with SimulatorServer(APP, name="hello") as first, SimulatorServer(APP) as second:
        assert first.url.startswith("http://127.0.0.1:")
        assert first.port != second.port
        assert httpx.get(first.url).text == "hello"
        url = first.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1.0)


def test_refuses_a_public_interface() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimulatorServer(APP, host="0.0.0.0")


def test_url_needs_a_running_server() -> None:
    server = SimulatorServer(APP)
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    server.start()  # idempotent
    try:
        assert server.running
    finally:
        server.stop()
    assert not server.running
