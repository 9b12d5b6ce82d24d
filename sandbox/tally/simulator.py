"""The Tally Prime HTTP XML server on loopback: one company, shared faults, JSON admin routes.

``POST`` to any path takes an envelope (UTF-8 or UTF-16, apis.md 4.1) and answers in the
request's encoding with HTTP 200, business errors included; ``GET /`` says the server is running
[U: the banner text]. Admin routes under ``/__admin/`` take JSON and see no faults:
``state``, ``seed``, ``reset``, ``faults``, ``calls``, ``company`` (open or close it), and
``receipts`` / ``credit-notes`` to book what finance books in Tally, for pullback tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Scope

from sandbox.faults import FaultConfig, FaultInjector, RejectKind, admin_faults_change, duplicate_requested
from sandbox.server import SimulatorServer
from sandbox.tally.state import ObjectError, TallyState
from sandbox.tally.xmlwire import (
    RequestError,
    content_type,
    new,
    parse_request,
    render,
    request_encoding,
    sub,
)

DEFAULT_COMPANY = "Dealer Sync Demo Pvt Ltd"


def render_fault_error(kind: RejectKind) -> tuple[bytes, str]:
    """Tally itself never answers 5xx or 429; a proxy or a crash in front of it would [U]."""
    messages = {
        "server_error": "Internal Server Error",
        "rate_limit": "Too Many Requests",
        "daily_limit": "Too Many Requests",
        "concurrency": "Too Many Requests",
    }
    root = new("RESPONSE")
    root.text = messages[kind]
    return render(root, "utf-8"), content_type("utf-8")


def _route(scope: Scope) -> str:
    return "/"  # Tally serves every path alike


def _tenant(scope: Scope) -> str:
    return "tally"  # one desktop process


class TallySimulator:
    """A stateful Tally server: ``state`` for direct seeding, ``faults`` for injected trouble.

    Faults default to none and budgets to none (Tally has no rate limit; it serves one request
    at a time, which the state's lock reproduces). Every request is a POST, so ``methods`` in a
    fault config cannot tell imports from exports: configure faults around the call under test.
    """

    def __init__(
        self, *, company: str = DEFAULT_COMPANY, faults: FaultConfig | None = None, seed: int = 0
    ) -> None:
        self.state = TallyState(company)
        default = faults or FaultConfig(seed=seed, rate_limit_per_minute=None, max_concurrent=None)
        self.faults = FaultInjector(default, render_error=render_fault_error)
        routes = [
            Route("/__admin/state", self._admin_state, methods=["GET"]),
            Route("/__admin/seed", self._admin_seed, methods=["POST"]),
            Route("/__admin/reset", self._admin_reset, methods=["POST"]),
            Route("/__admin/faults", self._admin_faults, methods=["GET", "PUT", "PATCH"]),
            Route("/__admin/calls", self._admin_calls, methods=["GET"]),
            Route("/__admin/company", self._admin_company, methods=["PUT"]),
            Route("/__admin/receipts", self._admin_receipt, methods=["POST"]),
            Route("/__admin/credit-notes", self._admin_credit_note, methods=["POST"]),
            Route("/{path:path}", self._xml, methods=["POST"]),
            Route("/{path:path}", self._banner, methods=["GET"]),
        ]
        self.app: ASGIApp = self.faults.wrap(Starlette(routes=routes), route_template=_route, tenant=_tenant)

    def reset(self) -> None:
        self.state.reset()
        self.faults.reset()

    @contextmanager
    def serve(self, *, port: int = 0) -> Iterator[str]:
        """Serve on loopback until the block ends; yields the base URL (``http://127.0.0.1:N``)."""
        with SimulatorServer(self.app, port=port, name="tally") as server:
            yield server.url

    # -- the XML server --------------------------------------------------------------------------

    async def _xml(self, request: Request) -> Response:
        body = await request.body()
        encoding = request_encoding(body, request.headers.get("content-type"))
        try:
            root = parse_request(body, encoding)
        except RequestError as exc:
            answer = new("RESPONSE")
            sub(answer, "LINEERROR", str(exc))
            sub(answer, "ERRORS", "1")
            return Response(render(answer, encoding), media_type=content_type(encoding))
        reply = self.state.handle(root, duplicate=duplicate_requested(request.scope))
        if reply is None:
            return Response(b"", media_type=content_type(encoding))
        return Response(render(reply, encoding), media_type=content_type(encoding))

    async def _banner(self, request: Request) -> Response:
        answer = new("RESPONSE")
        answer.text = "TallyPrime Server is Running"
        return Response(render(answer, "utf-8"), media_type=content_type("utf-8"))

    # -- admin -----------------------------------------------------------------------------------

    async def _admin_state(self, request: Request) -> Response:
        return JSONResponse(self.state.snapshot())

    async def _admin_seed(self, request: Request) -> Response:
        return await _admin_call(request, self.state.seed)

    async def _admin_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"reset": True})

    async def _admin_faults(self, request: Request) -> Response:
        payload, status = admin_faults_change(self.faults, request.method, await request.body())
        return JSONResponse(payload, status)

    async def _admin_calls(self, request: Request) -> Response:
        return JSONResponse(self.faults.counters())

    async def _admin_company(self, request: Request) -> Response:
        """``{"open": false}`` closes the company: Tally then answers everything empty."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            with self.state.lock:
                self.state.is_open = bool(body.get("open", True))
                return {"company": self.state.company, "open": self.state.is_open}

        return await _admin_call(request, action)

    async def _admin_receipt(self, request: Request) -> Response:
        """``{"party", "amount", "date", "against": {"INV-1": "100.00"}, "bank_ledger", "number",
        "reference"}``: a receipt booked in Tally."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            voucher = self.state.record_receipt(
                str(body["party"]),
                str(body["amount"]),
                on=date.fromisoformat(str(body["date"])),
                against={str(k): str(v) for k, v in (body.get("against") or {}).items()},
                bank_ledger=str(body.get("bank_ledger") or "HDFC Bank"),
                number=body.get("number"),
                reference=body.get("reference"),
            )
            return self.state.voucher_summary(voucher)

        return await _admin_call(request, action)

    async def _admin_credit_note(self, request: Request) -> Response:
        """``{"party", "taxable", "date", "sales_ledger", "taxes": {"Output IGST 18%": "18.00"},
        "invoice", "applied", "number", "reason"}``: a credit note booked in Tally."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            voucher = self.state.record_credit_note(
                str(body["party"]),
                str(body["taxable"]),
                on=date.fromisoformat(str(body["date"])),
                sales_ledger=str(body["sales_ledger"]),
                taxes={str(k): str(v) for k, v in (body.get("taxes") or {}).items()},
                invoice=body.get("invoice"),
                applied=None if body.get("applied") is None else str(body["applied"]),
                number=body.get("number"),
                reason=body.get("reason"),
            )
            return self.state.voucher_summary(voucher)

        return await _admin_call(request, action)


async def _admin_call(request: Request, action: Callable[[dict[str, Any]], dict[str, object]]) -> Response:
    """Run an admin action on the JSON body; a refusal or a malformed body is a 400."""
    try:
        body = json.loads(await request.body() or b"{}")
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        return JSONResponse(action(body))
    except ObjectError as exc:
        return JSONResponse({"error": str(exc)}, 400)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, 400)
