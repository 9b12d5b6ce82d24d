"""The QBO Accounting API v3 of one company on loopback, with shared faults and admin routes.

Routes under ``/v3/company/{realmId}/`` (apis.md 2.2-2.7): ``POST /{entity}`` creates (customer,
item, invoice, payment, creditmemo), ``GET /{entity}/{Id}`` reads (taxcode and taxrate too),
``GET|POST /query`` runs a statement, ``POST /batch`` runs up to 30 items. ``minorversion`` is
accepted on every call (and counted, so tests can see the client sends it). A ``requestid``
makes a POST idempotent: the same id gets the recorded answer again, byte for byte, and nothing
runs twice (a duplicate delivery of such a request is absorbed the same way).

Auth: ``Authorization: Bearer`` with a token the TokenServer issued, else 401 code 3200; a token
for another realm, or a realm that is not this company's, is 401 code 120 (apis.md 2.5).
Limits: 500 requests a minute per realm and 10 at once (the FaultInjector's budget and
concurrency), plus 40 batch requests a minute; every 429 carries the throttle XML. Batch items
are not charged against the 500 here, as QBO charges them (apis.md 2.4) [simplification].

Admin routes (no auth, no faults): ``state``, ``seed``, ``reset``, ``faults``, ``calls``,
``clock``, ``preferences`` (``warn_duplicate_doc_num``), ``payments`` and ``creditmemos`` (what
finance books: ``{"invoice_id", "amount"}``).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Scope

from sandbox.faults import FaultConfig, FaultInjector, admin_faults_change, duplicate_requested
from sandbox.quickbooks.documents import required
from sandbox.quickbooks.oauth import IntuitTokens
from sandbox.quickbooks.query import parse_query
from sandbox.quickbooks.state import CREATABLE, CompanyState
from sandbox.quickbooks.wire import (
    CODE_BUSINESS_VALIDATION,
    XML_TYPE,
    QboFault,
    QboResponse,
    authorization_fault,
    render_fault_error,
    response_time,
    throttle_xml,
    validation_fault,
)

API_PREFIX = "/v3/company"
BATCH_MAX_ITEMS = 30  # apis.md 2.4: stay at 30
BATCH_PER_MINUTE = 40
BID_MAX = 10
ENTITY_PATHS = {
    "customer": "Customer",
    "item": "Item",
    "invoice": "Invoice",
    "payment": "Payment",
    "creditmemo": "CreditMemo",
    "taxcode": "TaxCode",
    "taxrate": "TaxRate",
}


def realm_of(scope: Scope) -> str:
    """The budget's tenant: QBO counts per realm (apis.md 2.4)."""
    parts = str(scope["path"]).split("/")
    return parts[3] if len(parts) > 3 and parts[1:3] == ["v3", "company"] else "-"


def route_template(scope: Scope) -> str:
    """``/v3/company/{realmId}/invoice`` and ``/v3/company/{realmId}/invoice/{id}`` for the counters."""
    parts = str(scope["path"]).rstrip("/").split("/")
    if len(parts) > 3 and parts[1:3] == ["v3", "company"]:
        parts[3] = "{realmId}"
        if len(parts) > 5:
            parts[5:] = ["{id}"]
    return "/".join(parts)


def _default_faults() -> FaultConfig:
    return FaultConfig(rate_limit_per_minute=500, max_concurrent=10)


class QuickBooksApi:
    """The stateful API server: ``state`` for direct seeding, ``faults`` for injected trouble."""

    def __init__(
        self,
        state: CompanyState,
        tokens: IntuitTokens,
        *,
        faults: FaultConfig | None = None,
        batch_per_minute: int = BATCH_PER_MINUTE,
    ) -> None:
        self.state = state
        self.tokens = tokens
        self.faults = FaultInjector(faults or _default_faults(), render_error=render_fault_error)
        self.batch_per_minute = batch_per_minute
        self._batch_lock = threading.Lock()
        self._batches: dict[str, deque[float]] = {}
        prefix = API_PREFIX + "/{realm}"
        routes = [
            Route("/__admin/state", self._admin_state, methods=["GET"]),
            Route("/__admin/seed", self._admin_seed, methods=["POST"]),
            Route("/__admin/reset", self._admin_reset, methods=["POST"]),
            Route("/__admin/faults", self._admin_faults, methods=["GET", "PUT", "PATCH"]),
            Route("/__admin/calls", self._admin_calls, methods=["GET"]),
            Route("/__admin/clock", self._admin_clock, methods=["GET", "PUT"]),
            Route("/__admin/preferences", self._admin_preferences, methods=["PUT"]),
            Route("/__admin/payments", self._admin_payment, methods=["POST"]),
            Route("/__admin/creditmemos", self._admin_credit_memo, methods=["POST"]),
            Route(prefix + "/query", self._endpoint(self._query), methods=["GET", "POST"]),
            Route(prefix + "/batch", self._endpoint(self._batch), methods=["POST"]),
            Route(prefix + "/{entity}/{entity_id}", self._endpoint(self._read), methods=["GET"]),
            Route(prefix + "/{entity}", self._endpoint(self._create), methods=["POST"]),
        ]
        app = Starlette(routes=routes, exception_handlers={404: self._not_found, 405: self._not_found})
        self.app: ASGIApp = self.faults.wrap(app, route_template=route_template, tenant=realm_of)

    def reset(self) -> None:
        """Empty company, default faults, zeroed counters. The clock is left alone."""
        self.state.reset()
        self.faults.reset()
        with self._batch_lock:
            self._batches.clear()

    # -- the request pipeline --------------------------------------------------------------------

    def _time(self) -> str:
        return response_time(self.state.clock.now(), self.state.tz)

    def _endpoint(
        self, handler: Callable[[Request, bytes], Response]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Auth, realm, minorversion and requestid around one handler; a QboFault is its answer."""

        async def endpoint(request: Request) -> Response:
            body = await request.body()
            state = self.state
            with state.lock:
                state.minor_versions[request.query_params.get("minorversion", "")] += 1
                try:
                    realms = self.tokens.realms_of(request.headers.get("authorization"))
                    realm = request.path_params["realm"]
                    if realm not in realms or realm != state.company.realm_id:
                        raise authorization_fault()
                    request_id = request.query_params.get("requestid")
                    if request.method == "POST" and request_id:
                        return self._once(request_id, lambda: handler(request, body))
                    return handler(request, body)
                except QboFault as fault:
                    return fault.response(self._time())

        return endpoint

    def _once(self, request_id: str, run: Callable[[], Response]) -> Response:
        """The recorded answer for a requestid seen before; else run and record it, refusals
        included. A throttled or failed request ran nothing, so its answer is not recorded."""
        state = self.state
        key = f"{state.company.realm_id}:{request_id}"
        recorded = state.replies.get(key)
        if recorded is not None:
            state.replayed += 1
            status, content, media_type = recorded
            return Response(content, status_code=status, media_type=media_type)
        try:
            response = run()
        except QboFault as fault:
            response = fault.response(self._time())
        if response.status_code != 429 and response.status_code < 500:
            state.replies[key] = (response.status_code, bytes(response.body), response.media_type or XML_TYPE)
        return response

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        fault = validation_fault(
            CODE_BUSINESS_VALIDATION, "Unsupported Operation", f"{request.method} {request.url.path}"
        )
        return QboResponse({"Fault": fault.fault(), "time": self._time()}, status_code=400)

    # -- handlers (called under the state's lock) -----------------------------------------------

    def _json(self, body: bytes) -> dict[str, Any]:
        try:
            parsed = json.loads(body or b"{}", parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise validation_fault(
                CODE_BUSINESS_VALIDATION, "Request has invalid or unsupported property", "body is not JSON"
            ) from exc
        if not isinstance(parsed, dict):
            raise validation_fault(
                CODE_BUSINESS_VALIDATION,
                "Request has invalid or unsupported property",
                "body is not an object",
            )
        return parsed

    def _entity(self, request: Request, *, creatable: bool) -> str:
        entity = ENTITY_PATHS.get(str(request.path_params["entity"]).lower())
        if entity is None or (creatable and entity not in CREATABLE):
            raise validation_fault(
                CODE_BUSINESS_VALIDATION, "Unsupported Operation", f"{request.method} {request.url.path}"
            )
        return entity

    def _create(self, request: Request, body: bytes) -> Response:
        entity = self._entity(request, creatable=True)
        payload = self._json(body)
        if request.query_params.get("operation") not in (None, "create"):
            raise validation_fault(
                CODE_BUSINESS_VALIDATION, "Unsupported Operation", "only create is simulated"
            )
        # A requestid absorbs a second delivery (the replay); without one the record is doubled.
        twice = duplicate_requested(request.scope) and not request.query_params.get("requestid")
        allow = "allowduplicatedocnum" in request.query_params.get("include", "").lower()
        record = self.state.create(entity, payload, allow_duplicate_doc_number=allow, duplicate=twice)
        return QboResponse({entity: record, "time": self._time()})

    def _read(self, request: Request, body: bytes) -> Response:
        entity = self._entity(request, creatable=False)
        record = self.state.get(entity, str(request.path_params["entity_id"]))
        return QboResponse({entity: record, "time": self._time()})

    def _query(self, request: Request, body: bytes) -> Response:
        text = request.query_params.get("query")
        if text is None and request.method == "POST":
            text = body.decode("utf-8")  # Content-Type: application/text
        if not text:
            raise required("query")
        return QboResponse({"QueryResponse": self._run_query(text), "time": self._time()})

    def _run_query(self, text: str) -> dict[str, Any]:
        query = parse_query(text)
        entity, page, total = self.state.query(query)
        if query.count:
            return {"totalCount": total}
        if not page:
            return {}  # apis.md 2.3: an empty result is an empty QueryResponse
        return {entity: page, "startPosition": query.start_position, "maxResults": len(page)}

    def _batch(self, request: Request, body: bytes) -> Response:
        """Items run one after another, each seeing only what existed before the batch began;
        answers come back in an order of their own: clients match them by ``bId`` (apis.md 2.7)."""
        payload = self._json(body)
        items = payload.get("BatchItemRequest")
        if not isinstance(items, list) or not items:
            raise required("BatchItemRequest")
        if len(items) > BATCH_MAX_ITEMS:  # [U] code and text of this refusal
            raise validation_fault(
                CODE_BUSINESS_VALIDATION,
                "Batch size exceeded",
                f"{len(items)} BatchItemRequest items; at most {BATCH_MAX_ITEMS}",
                "BatchItemRequest",
            )
        ids = [item.get("bId") if isinstance(item, Mapping) else None for item in items]
        if any(not isinstance(b, str) or not b or len(b) > BID_MAX for b in ids) or len(set(ids)) != len(ids):
            raise validation_fault(
                CODE_BUSINESS_VALIDATION,
                "Invalid bId",
                f"each item needs its own bId of 1..{BID_MAX} characters",
                "bId",
            )
        throttled = self._batch_throttled(str(request.path_params["realm"]))
        if throttled is not None:
            return throttled
        visible = self.state.visible_ids()
        answers = [self._batch_item(item, visible) for item in items]
        random.Random(len(answers)).shuffle(answers)
        return QboResponse({"BatchItemResponse": answers, "time": self._time()})

    def _batch_item(self, item: Mapping[str, Any], visible: Mapping[str, set[str]]) -> dict[str, Any]:
        bid = str(item["bId"])
        try:
            if "Query" in item:
                return {"bId": bid, "QueryResponse": self._run_query(str(item["Query"]))}
            if item.get("operation") != "create":
                raise validation_fault(
                    CODE_BUSINESS_VALIDATION, "Unsupported Operation", "only create is simulated"
                )
            entity = next((e for e in CREATABLE if isinstance(item.get(e), Mapping)), None)
            if entity is None:
                raise required("entity")
            allow = "allowduplicatedocnum" in str(item.get("optionsData") or "").lower()
            record = self.state.create(
                entity, item[entity], allow_duplicate_doc_number=allow, visible=visible
            )
            return {"bId": bid, entity: record}
        except QboFault as fault:
            return {"bId": bid, "Fault": fault.fault()}

    def _batch_throttled(self, realm: str) -> Response | None:
        """40 batch requests a minute per realm (apis.md 2.4), on the injector's scaled minute."""
        minute = self.faults.config.minute_seconds
        now = time.monotonic()
        with self._batch_lock:
            window = self._batches.setdefault(realm, deque())
            while window and now - window[0] >= minute:
                window.popleft()
            if len(window) >= self.batch_per_minute:
                retry = max(window[0] + minute - now, 0.001)
                return Response(
                    throttle_xml(self._time()),
                    status_code=429,
                    media_type=XML_TYPE,
                    headers={"Retry-After": f"{retry:.3f}"},
                )
            window.append(now)
        return None

    # -- admin -----------------------------------------------------------------------------------

    async def _admin_state(self, request: Request) -> Response:
        return QboResponse(self.state.snapshot())

    async def _admin_seed(self, request: Request) -> Response:
        """``{"customers": [...], "items": [...], "tax_codes": [{"name", "rates": [[name, pct]]}],
        "invoices": [...]}``: wire bodies, created in that order; answers the ids given."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            ids: dict[str, list[str]] = {}
            for row in body.get("tax_codes") or []:
                rates = [(str(name), Decimal(str(pct))) for name, pct in row["rates"]]
                ids.setdefault("tax_codes", []).append(self.state.add_tax_code(str(row["name"]), rates))
            for key, entity in (("customers", "Customer"), ("items", "Item"), ("invoices", "Invoice")):
                for row in body.get(key) or []:
                    ids.setdefault(key, []).append(str(self.state.create(entity, row)["Id"]))
            return dict(ids)

        return await _admin_call(request, action)

    async def _admin_reset(self, request: Request) -> Response:
        self.reset()
        return QboResponse({"reset": True})

    async def _admin_faults(self, request: Request) -> Response:
        payload, status = admin_faults_change(self.faults, request.method, await request.body())
        return JSONResponse(payload, status)

    async def _admin_calls(self, request: Request) -> Response:
        return JSONResponse(self.faults.counters())

    async def _admin_clock(self, request: Request) -> Response:
        """PUT ``{"now": iso, "frozen": bool, "advance_seconds": n}``; GET reads it."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            clock = self.state.clock
            frozen = body.get("frozen")
            if body.get("now") is not None:
                clock.set(datetime.fromisoformat(str(body["now"])), frozen=frozen)
            elif frozen is not None:
                clock.set(clock.now(), frozen=bool(frozen))
            if body.get("advance_seconds") is not None:
                clock.advance(float(body["advance_seconds"]))
            return clock.snapshot()

        if request.method == "GET":
            return QboResponse(self.state.clock.snapshot())
        return await _admin_call(request, action)

    async def _admin_preferences(self, request: Request) -> Response:
        def action(body: dict[str, Any]) -> dict[str, object]:
            company = self.state.company
            if "warn_duplicate_doc_num" in body:
                company.warn_duplicate_doc_num = bool(body["warn_duplicate_doc_num"])
            return {"warn_duplicate_doc_num": company.warn_duplicate_doc_num}

        return await _admin_call(request, action)

    async def _admin_payment(self, request: Request) -> Response:
        """``{"invoice_id", "amount", "date"?, "reference"?}``: a payment received and applied."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            on = date.fromisoformat(str(body["date"])) if body.get("date") else None
            return self.state.record_payment(
                str(body["invoice_id"]), Decimal(str(body["amount"])), on=on, reference=body.get("reference")
            )

        return await _admin_call(request, action)

    async def _admin_credit_memo(self, request: Request) -> Response:
        """``{"invoice_id", "amount", "date"?}``: a credit memo (amount before tax) applied to it."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            on = date.fromisoformat(str(body["date"])) if body.get("date") else None
            return self.state.record_credit_memo(str(body["invoice_id"]), Decimal(str(body["amount"])), on=on)

        return await _admin_call(request, action)


async def _admin_call(request: Request, action: Callable[[dict[str, Any]], dict[str, object]]) -> Response:
    """Run an admin action on the JSON body; a Fault or a malformed body is a 400 with the reason."""
    try:
        body = json.loads(await request.body() or b"{}", parse_float=Decimal)
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        return QboResponse(action(body))
    except QboFault as fault:
        return QboResponse({"error": str(fault), "Fault": fault.fault()}, status_code=400)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return QboResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
