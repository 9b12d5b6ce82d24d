"""The Accounting API under ``/api.xro/2.0``: auth and tenant checks, routes, batches, admin.

Every API call needs ``Authorization: Bearer <access token>`` (else 401) and the
``xero-tenant-id`` header naming this organisation (missing or foreign: 403, apis.md 3.6 [S]).

Writes (``PUT`` = create, ``POST`` = update-or-create, apis.md 3.2) take many elements in one body.
With ``summarizeErrors=false`` the answer is 200 and carries every element, failed ones with
``HasErrors``, ``StatusAttributeString: "ERROR"``, ``ValidationErrors`` and a zero id; with the
default ``true`` one failed element makes the answer a 400 ValidationException listing the failed
elements, while the valid ones are still created and their ids not returned (apis.md 3.6 [S]).

``Idempotency-Key`` (at most 128 characters [V]) makes a write answer once: the same key later
gets the first answer again and changes nothing, whatever body it carries [U: Xero documents
neither the retention window nor a different body's fate]. Keys are kept until reset, or until
``forget_idempotency_keys`` plays out the end of the retention window.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Scope

from sandbox.faults import FaultConfig, admin_faults_change, duplicate_requested
from sandbox.xero.identity import XeroTokens
from sandbox.xero.limits import XeroFaultInjector
from sandbox.xero.query import Fields, bad_query, id_list, select
from sandbox.xero.state import Contact, CreditNote, Invoice, Item, Payment, XeroState
from sandbox.xero.wire import (
    ApiError,
    ValidationError,
    XeroResponse,
    elements_of,
    envelope,
    envelope_body,
    ms_json,
    problem,
    read_json,
    validation_exception,
)
from sandbox.zoho.common import SimClock

PREFIX = "/api.xro/2.0"
TENANT_HEADER = "xero-tenant-id"
IDEMPOTENCY_KEY_MAX = 128
Handler = Callable[[Request], Awaitable[Response]]

INVOICE_FIELDS: Fields[Invoice] = Fields(
    readers={
        "Type": lambda i: i.type,
        "Status": lambda i: i.status,
        "InvoiceNumber": lambda i: i.number,
        "Reference": lambda i: i.reference,
        "Contact.ContactID": lambda i: i.contact_id,
        "InvoiceID": lambda i: i.invoice_id,
        "Date": lambda i: i.date,
        "DueDate": lambda i: i.due_date,
        "UpdatedDateUTC": lambda i: i.updated,
        "Total": lambda i: i.totals.total,
        "AmountDue": lambda i: i.amount_due,
    },
    updated=lambda i: i.updated,
    record_id=lambda i: i.invoice_id,
)
PAYMENT_FIELDS: Fields[Payment] = Fields(
    readers={
        "Status": lambda p: p.status,
        "PaymentType": lambda p: "ACCRECPAYMENT",
        "Invoice.InvoiceID": lambda p: p.invoice_id,
        "Reference": lambda p: p.reference,
        "Date": lambda p: p.date,
        "Amount": lambda p: p.amount,
        "UpdatedDateUTC": lambda p: p.updated,
    },
    updated=lambda p: p.updated,
    record_id=lambda p: p.payment_id,
)
CREDIT_NOTE_FIELDS: Fields[CreditNote] = Fields(
    readers={
        "Type": lambda c: "ACCRECCREDIT",
        "Status": lambda c: c.status,
        "CreditNoteNumber": lambda c: c.number,
        "Contact.ContactID": lambda c: c.contact_id,
        "Date": lambda c: c.date,
        "UpdatedDateUTC": lambda c: c.updated,
    },
    updated=lambda c: c.updated,
    record_id=lambda c: c.credit_note_id,
)
CONTACT_FIELDS: Fields[Contact] = Fields(
    readers={
        "Name": lambda c: c.name,
        "ContactStatus": lambda c: c.status,
        "EmailAddress": lambda c: c.email,
        "ContactNumber": lambda c: c.contact_number,
        "AccountNumber": lambda c: c.account_number,
        "IsCustomer": lambda c: c.is_customer,
        "UpdatedDateUTC": lambda c: c.updated,
    },
    updated=lambda c: c.updated,
    record_id=lambda c: c.contact_id,
    default_order="Name",
)
ITEM_FIELDS: Fields[Item] = Fields(
    readers={"Code": lambda i: i.code, "Name": lambda i: i.name, "UpdatedDateUTC": lambda i: i.updated},
    updated=lambda i: i.updated,
    record_id=lambda i: i.item_id,
    default_order="Code",
)


def _tenant_of(scope: Scope) -> str:
    """Budgets are per tenant (apis.md 3.4); calls naming none share one budget."""
    for name, value in scope.get("headers", []):
        if name == TENANT_HEADER.encode():
            return str(value.decode("latin-1"))
    return "-"


def _route_templates(routes: Sequence[BaseRoute]) -> Callable[[Scope], str]:
    """Counters key calls by route template (``/api.xro/2.0/Invoices/{invoice_id}``)."""

    def template(scope: Scope) -> str:
        for route in routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE and isinstance(route, Route):
                return route.path
        return str(scope["path"])

    return template


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem(404, "NotFound", "The resource you're looking for cannot be found").response()


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return problem(405, "MethodNotAllowed", "The HTTP method is not allowed for this resource").response()


class XeroApiSimulator:
    """One organisation's Accounting API; ``state`` for seeding, ``faults`` for trouble."""

    def __init__(
        self,
        *,
        state: XeroState,
        tokens: XeroTokens,
        faults: FaultConfig | None = None,
    ) -> None:
        self.state = state
        self.tokens = tokens
        self.faults = XeroFaultInjector(faults)
        routes: list[BaseRoute] = [*self._admin_routes(), *self._api_routes()]
        app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _method_not_allowed})
        self.app: ASGIApp = self.faults.wrap(app, route_template=_route_templates(routes), tenant=_tenant_of)

    @property
    def clock(self) -> SimClock:
        return self.state.clock

    def reset(self) -> None:
        self.state.reset()
        self.faults.reset()

    def forget_idempotency_keys(self) -> int:
        """Play out the end of Xero's retention window: later repeats are new requests."""
        with self.state.lock:
            count = len(self.state.idempotent)
            self.state.idempotent.clear()
            return count

    # -- routing ---------------------------------------------------------------------------------

    def _route(self, method: str, path: str, handler: Handler) -> Route:
        tenant_id = self.state.org.tenant_id

        async def endpoint(request: Request) -> Response:
            try:
                scheme, _, token = request.headers.get("authorization", "").partition(" ")
                if scheme.lower() != "bearer" or not self.tokens.is_valid(token.strip()):
                    raise problem(401, "Unauthorized", "AuthenticationUnsuccessful")
                if request.headers.get(TENANT_HEADER) != tenant_id:
                    raise problem(403, "Forbidden", "AuthenticationUnsuccessful")
                return await handler(request)
            except ApiError as exc:
                return exc.response()

        return Route(PREFIX + path, endpoint, methods=[method])

    def _api_routes(self) -> list[BaseRoute]:
        r = self._route
        return [
            r("GET", "/Organisation", self._organisation),
            r("GET", "/TaxRates", self._tax_rates),
            r("PUT", "/TaxRates", self._create_tax_rates),
            r("GET", "/Contacts", self._contacts),
            r("PUT", "/Contacts", self._create_contacts),
            r("POST", "/Contacts", self._create_contacts),
            r("GET", "/Items", self._items),
            r("PUT", "/Items", self._create_items),
            r("POST", "/Items", self._create_items),
            r("GET", "/Invoices", self._invoices),
            r("PUT", "/Invoices", self._put_invoices),
            r("POST", "/Invoices", self._post_invoices),
            r("GET", "/Invoices/{invoice_id}", self._invoice),
            r("GET", "/Payments", self._payments),
            r("PUT", "/Payments", self._create_payments),
            r("POST", "/Payments", self._create_payments),
            r("GET", "/CreditNotes", self._credit_notes),
            r("PUT", "/CreditNotes", self._create_credit_notes),
            r("PUT", "/CreditNotes/{credit_note_id}/Allocations", self._allocate),
        ]

    # -- batches ---------------------------------------------------------------------------------

    async def _write(
        self,
        request: Request,
        collection: str,
        id_field: str,
        apply: Callable[[Mapping[str, Any], bool], dict[str, object]],
    ) -> Response:
        """Many elements in one body, each validated alone; the answer kept under its key."""
        key = request.headers.get("idempotency-key")
        if key is not None and (not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX):
            raise bad_query(f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} characters")
        with self.state.lock:
            if key is not None and key in self.state.idempotent:
                status, body = self.state.idempotent[key]
                return XeroResponse(body, status)
        elements = elements_of(await read_json(request), collection)
        summarize = request.query_params.get("summarizeErrors", "true").strip().lower() != "false"
        duplicate = duplicate_requested(request.scope)
        with self.state.lock:
            if key is not None and key in self.state.idempotent:  # a twin arrived meanwhile
                status, body = self.state.idempotent[key]
                return XeroResponse(body, status)
            answers: list[dict[str, object]] = []
            failed: list[dict[str, object]] = []
            for payload in elements:
                try:
                    answers.append({**apply(payload, duplicate), "StatusAttributeString": "OK"})
                except ValidationError as exc:
                    element = self.state.render_failed(payload, exc.messages, id_field)
                    answers.append(element)
                    failed.append(element)
            if failed and summarize:
                error = validation_exception(failed)
                status, body = error.status, error.body
            else:
                status = 200
                body = envelope_body(self.state.now(), **{collection: answers})
            if key is not None:
                self.state.idempotent[key] = (status, body)
            return XeroResponse(body, status)

    # -- handlers --------------------------------------------------------------------------------

    async def _organisation(self, request: Request) -> Response:
        org = self.state.org
        return envelope(
            self.state.now(),
            Organisations=[
                {
                    "OrganisationID": org.tenant_id,
                    "Name": org.name,
                    "BaseCurrency": org.base_currency,
                    "OrganisationStatus": "ACTIVE",
                }
            ],
        )

    async def _tax_rates(self, request: Request) -> Response:
        with self.state.lock:
            rates = [r.render() for r in self.state.tax_rates.values()]
        return envelope(self.state.now(), TaxRates=rates)

    async def _create_tax_rates(self, request: Request) -> Response:
        def apply(payload: Mapping[str, Any], duplicate: bool) -> dict[str, object]:
            raw = payload.get("TaxComponents") or []
            if not isinstance(raw, list) or not all(isinstance(c, Mapping) for c in raw):
                raise ValidationError("TaxComponents must be a list")
            components = [(str(c.get("Name") or ""), str(c.get("Rate") or "0")) for c in raw]
            return self.state.add_tax_rate(str(payload.get("Name") or "").strip(), components).render()

        return await self._write(request, "TaxRates", "TaxType", apply)

    async def _contacts(self, request: Request) -> Response:
        ids = set(id_list(request, "IDs"))
        with self.state.lock:
            rows, pagination = select(
                request,
                list(self.state.contacts.values()),
                CONTACT_FIELDS,
                extra=lambda c: not ids or c.contact_id in ids,
            )
            body = [self.state.render_contact(c) for c in rows]
        return self._listing(request, "Contacts", body, pagination)

    async def _create_contacts(self, request: Request) -> Response:
        def apply(payload: Mapping[str, Any], duplicate: bool) -> dict[str, object]:
            return self.state.render_contact(self.state.create_contact(payload))

        return await self._write(request, "Contacts", "ContactID", apply)

    async def _items(self, request: Request) -> Response:
        with self.state.lock:
            rows, pagination = select(request, list(self.state.items.values()), ITEM_FIELDS)
            body = [self.state.render_item(i) for i in rows]
        return self._listing(request, "Items", body, pagination)

    async def _create_items(self, request: Request) -> Response:
        def apply(payload: Mapping[str, Any], duplicate: bool) -> dict[str, object]:
            return self.state.render_item(self.state.create_item(payload))

        return await self._write(request, "Items", "ItemID", apply)

    async def _invoices(self, request: Request) -> Response:
        ids, numbers = set(id_list(request, "IDs")), set(id_list(request, "InvoiceNumbers"))
        contacts, statuses = set(id_list(request, "ContactIDs")), set(id_list(request, "Statuses"))

        def wanted(invoice: Invoice) -> bool:
            return (
                (not ids or invoice.invoice_id in ids)
                and (not numbers or invoice.number in numbers)
                and (not contacts or invoice.contact_id in contacts)
                and (not statuses or invoice.status in statuses)
            )

        with self.state.lock:
            invoices = list(self.state.invoices.values())
            rows, pagination = select(request, invoices, INVOICE_FIELDS, extra=wanted)
            body = [self.state.render_invoice(i) for i in rows]
        return self._listing(request, "Invoices", body, pagination)

    async def _invoice(self, request: Request) -> Response:
        """``/Invoices/{InvoiceID}``; an InvoiceNumber in the path is accepted too [S]."""
        wanted = request.path_params["invoice_id"]
        with self.state.lock:
            found = self.state.invoices.get(wanted) or next(
                (i for i in self.state.invoices.values() if i.number == wanted), None
            )
            if found is None:
                raise problem(404, "NotFound", "The resource you're looking for cannot be found")
            body = self.state.render_invoice(found)
        return envelope(self.state.now(), Invoices=[body])

    async def _put_invoices(self, request: Request) -> Response:
        def apply(payload: Mapping[str, Any], duplicate: bool) -> dict[str, object]:
            return self.state.render_invoice(self.state.create_invoice(payload, duplicate=duplicate))

        return await self._write(request, "Invoices", "InvoiceID", apply)

    async def _post_invoices(self, request: Request) -> Response:
        """Update-or-create: an element naming an InvoiceID updates it, others are created.

        An element with only an existing InvoiceNumber is a create, and so fails as a duplicate
        number [U: whether Xero matches updates by number in the collection POST].
        """

        def apply(payload: Mapping[str, Any], duplicate: bool) -> dict[str, object]:
            invoice_id = str(payload.get("InvoiceID") or "").strip()
            if invoice_id:
                return self.state.render_invoice(self.state.update_invoice(invoice_id, payload))
            return self.state.render_invoice(self.state.create_invoice(payload, duplicate=duplicate))

        return await self._write(request, "Invoices", "InvoiceID", apply)

    async def _payments(self, request: Request) -> Response:
        with self.state.lock:
            rows, pagination = select(request, list(self.state.payments.values()), PAYMENT_FIELDS)
            body = [self.state.render_payment(p) for p in rows]
        return self._listing(request, "Payments", body, pagination)

    async def _create_payments(self, request: Request) -> Response:
        def apply(payload: Mapping[str, Any], duplicate: bool) -> dict[str, object]:
            return self.state.render_payment(self.state.create_payment(payload, duplicate=duplicate))

        return await self._write(request, "Payments", "PaymentID", apply)

    async def _credit_notes(self, request: Request) -> Response:
        with self.state.lock:
            rows, pagination = select(request, list(self.state.credit_notes.values()), CREDIT_NOTE_FIELDS)
            body = [self.state.render_credit_note(c) for c in rows]
        return self._listing(request, "CreditNotes", body, pagination)

    async def _create_credit_notes(self, request: Request) -> Response:
        def apply(payload: Mapping[str, Any], duplicate: bool) -> dict[str, object]:
            return self.state.render_credit_note(self.state.create_credit_note(payload))

        return await self._write(request, "CreditNotes", "CreditNoteID", apply)

    async def _allocate(self, request: Request) -> Response:
        credit_note_id = request.path_params["credit_note_id"]

        def apply(payload: Mapping[str, Any], duplicate: bool) -> dict[str, object]:
            note = self.state.allocate_credit(credit_note_id, [payload])
            latest = note.allocations[-1]
            return {
                "AllocationID": latest.allocation_id,
                "Amount": latest.amount,
                "Date": ms_json(latest.date),
                "Invoice": {"InvoiceID": latest.invoice_id},
                "CreditNote": {"CreditNoteID": note.credit_note_id},
            }

        return await self._write(request, "Allocations", "AllocationID", apply)

    def _listing(
        self,
        request: Request,
        collection: str,
        body: list[dict[str, object]],
        pagination: dict[str, int] | None,
    ) -> Response:
        resources: dict[str, object] = {collection: body}
        if pagination is not None:
            resources["pagination"] = pagination
        return XeroResponse(envelope_body(self.state.now(), **resources))

    # -- admin -----------------------------------------------------------------------------------

    def _admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/__admin/state", self._admin_state, methods=["GET"]),
            Route("/__admin/seed", self._admin_seed, methods=["POST"]),
            Route("/__admin/reset", self._admin_reset, methods=["POST"]),
            Route("/__admin/faults", self._admin_faults, methods=["GET", "PUT", "PATCH"]),
            Route("/__admin/calls", self._admin_calls, methods=["GET"]),
            Route("/__admin/payments", self._admin_payment, methods=["POST"]),
            Route("/__admin/credit-notes", self._admin_credit_note, methods=["POST"]),
            Route("/__admin/idempotency-keys", self._admin_forget_keys, methods=["DELETE"]),
        ]

    async def _admin_state(self, request: Request) -> Response:
        return XeroResponse(self.state.snapshot())

    async def _admin_seed(self, request: Request) -> Response:
        """``{"tax_rates": [{"Name", "TaxComponents"}], "contacts": [{"Name"}], "items": [{"Code"}]}``:
        Xero-shaped payloads; the answer names what was created."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            with self.state.lock:
                rates = [
                    self.state.add_tax_rate(
                        str(r["Name"]), [(str(c["Name"]), str(c["Rate"])) for c in r["TaxComponents"]]
                    ).tax_type
                    for r in body.get("tax_rates") or []
                ]
                contacts = [self.state.create_contact(c).contact_id for c in body.get("contacts") or []]
                items = [self.state.create_item(i).code for i in body.get("items") or []]
            return {"tax_rates": rates, "contacts": contacts, "items": items}

        return await _admin_call(request, action)

    async def _admin_reset(self, request: Request) -> Response:
        self.reset()
        return XeroResponse({"reset": True})

    async def _admin_faults(self, request: Request) -> Response:
        payload, status = admin_faults_change(self.faults, request.method, await request.body())
        return JSONResponse(payload, status)

    async def _admin_calls(self, request: Request) -> Response:
        return JSONResponse(self.faults.counters())

    async def _admin_payment(self, request: Request) -> Response:
        """``{"invoice_id", "amount", "date"?, "reference"?}``: finance records a receipt."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            with self.state.lock:
                payment = self.state.create_payment(finance_payment(body["invoice_id"], body["amount"], body))
                return self.state.render_payment(payment)

        return await _admin_call(request, action)

    async def _admin_credit_note(self, request: Request) -> Response:
        """``{"invoice_id", "amount"}``: finance credits ``amount`` before tax and applies it."""

        def action(body: dict[str, Any]) -> dict[str, object]:
            with self.state.lock:
                note = record_credit(self.state, str(body["invoice_id"]), Decimal(str(body["amount"])))
                return self.state.render_credit_note(note)

        return await _admin_call(request, action)

    async def _admin_forget_keys(self, request: Request) -> Response:
        return XeroResponse({"forgotten": self.forget_idempotency_keys()})


def finance_payment(
    invoice_id: str, amount: object, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The Xero payload of a receipt into the bank account, as finance would enter it."""
    extra = extra or {}
    payload: dict[str, Any] = {
        "Invoice": {"InvoiceID": str(invoice_id)},
        "Account": {"Code": "090"},
        "Amount": Decimal(str(amount)),
        "Reference": str(extra.get("reference") or "finance receipt"),
    }
    if extra.get("date"):
        payload["Date"] = str(extra["date"])
    return payload


def record_credit(state: XeroState, invoice_id: str, amount: Decimal, on: date | None = None) -> CreditNote:
    """Credit ``amount`` before tax against an invoice, taxed like its first line, and apply it.

    The allocation is what the invoice still owes at most; the rest stays on the note.
    """
    with state.lock:
        invoice = state.get_invoice(invoice_id)
        if invoice is None:
            raise ValidationError(f"Invoice with InvoiceID '{invoice_id}' could not be found")
        first = invoice.lines[0] if invoice.lines else None
        line: dict[str, Any] = {
            "Description": f"Credit against {invoice.number}",
            "Quantity": Decimal(1),
            "UnitAmount": amount,
            "AccountCode": first.account_code if first else "200",
            "TaxType": first.tax_type if first else "NONE",
        }
        payload: dict[str, Any] = {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": invoice.contact_id},
            "Date": (on or state.now().date()).isoformat(),
            "LineAmountTypes": "Exclusive",
            "Status": "AUTHORISED",
            "CurrencyCode": invoice.currency,
            "Reference": invoice.number,
            "LineItems": [line],
        }
        note = state.create_credit_note(payload)
        applied = min(note.totals.total, invoice.amount_due)
        if applied > 0:
            note = state.allocate_credit(
                note.credit_note_id, [{"Invoice": {"InvoiceID": invoice_id}, "Amount": applied}]
            )
        return note


async def _admin_call(request: Request, action: Callable[[dict[str, Any]], dict[str, object]]) -> Response:
    """Run an admin action on the JSON body; a refusal or a malformed body is a 400."""
    try:
        body = json.loads(await request.body() or b"{}", parse_float=Decimal)
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        return XeroResponse(action(body))
    except ValidationError as exc:
        return XeroResponse({"error": str(exc)}, 400)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return XeroResponse({"error": f"{type(exc).__name__}: {exc}"}, 400)
