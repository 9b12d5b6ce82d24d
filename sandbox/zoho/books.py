"""Zoho Books v3 simulator: taxes, customers, items, invoices, customer payments, credit notes."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.faults import FaultConfig, duplicate_requested
from sandbox.zoho.common import (
    CODE_ALREADY_EXISTS,
    Contact,
    DocLine,
    ItemRef,
    Organization,
    SimClock,
    TokenRegistry,
    Totals,
    ZohoApiSimulator,
    ZohoError,
    ZohoState,
    admin_call,
    build_line,
    check_tax_mode,
    compute_totals,
    does_not_exist,
    envelope,
    flag,
    invalid_state,
    invalid_value,
    modified_after,
    money,
    paginate,
    parse_date,
    quantity,
    read_body,
    render_contact,
    rows_of,
    text_matches,
    to_decimal,
)

ZERO = Decimal("0.00")


@dataclass
class BooksItem:
    item_id: str
    name: str
    sku: str
    rate: Decimal
    created_time: datetime
    last_modified_time: datetime
    unit: str = "pcs"
    status: str = "active"
    description: str = ""
    hsn_or_sac: str = ""
    product_type: str = "goods"
    is_taxable: bool = True
    intra_tax_id: str = ""
    inter_tax_id: str = ""


@dataclass
class Invoice:
    invoice_id: str
    invoice_number: str
    customer_id: str
    customer_name: str
    date: dt.date
    due_date: dt.date
    payment_terms: int
    base_status: str  # draft | sent | void; the rest is derived
    place_of_supply: str
    lines: list[DocLine]
    totals: Totals
    created_time: datetime
    last_modified_time: datetime
    reference_number: str = ""
    gst_treatment: str = ""
    gst_no: str = ""
    location_id: str = ""
    notes: str = ""
    payment_made: Decimal = ZERO
    credits_applied: Decimal = ZERO

    @property
    def balance(self) -> Decimal:
        if self.base_status == "void":
            return ZERO
        return self.totals.total - self.payment_made - self.credits_applied

    def status(self, today: dt.date) -> str:
        if self.base_status in ("draft", "void"):
            return self.base_status
        if self.balance <= 0:
            return "paid"
        if self.due_date < today:
            return "overdue"
        if self.payment_made + self.credits_applied > 0:
            return "partially_paid"
        return "sent"


@dataclass
class PaymentApplication:
    invoice_id: str
    invoice_number: str
    amount_applied: Decimal


@dataclass
class CustomerPayment:
    payment_id: str
    payment_number: str
    customer_id: str
    customer_name: str
    payment_mode: str
    amount: Decimal
    date: dt.date
    created_time: datetime
    last_modified_time: datetime
    reference_number: str = ""
    description: str = ""
    account_id: str = ""
    applications: list[PaymentApplication] = field(default_factory=list)

    @property
    def unused_amount(self) -> Decimal:
        return self.amount - sum((a.amount_applied for a in self.applications), ZERO)


@dataclass
class CreditApplication:
    creditnote_invoice_id: str
    invoice_id: str
    invoice_number: str
    date: dt.date
    amount: Decimal


@dataclass
class CreditNote:
    creditnote_id: str
    creditnote_number: str
    customer_id: str
    customer_name: str
    date: dt.date
    base_status: str  # draft | open | void; closed is derived
    place_of_supply: str
    lines: list[DocLine]
    totals: Totals
    created_time: datetime
    last_modified_time: datetime
    reference_number: str = ""
    invoice_id: str = ""
    applications: list[CreditApplication] = field(default_factory=list)

    @property
    def balance(self) -> Decimal:
        if self.base_status == "void":
            return ZERO
        return self.totals.total - sum((a.amount for a in self.applications), ZERO)

    @property
    def status(self) -> str:
        if self.base_status == "open" and self.balance <= 0:
            return "closed"
        return self.base_status


class BooksState(ZohoState):
    """Books records behind a lock, with the typed seeding and inspection API.

    Money moves as in Books (apis.md 1.8, Books credit-notes spec): a customer payment applies
    ``amount_applied`` to invoices (``payment_made``), a credit note applies credits to invoices
    via ``POST /creditnotes/{id}/invoices`` (``credits_applied``), and an invoice's ``balance``
    is ``total - payment_made - credits_applied``. Invoice status is derived: draft and void are
    stored; otherwise paid (balance 0), overdue (due_date before the simulated today),
    partially_paid, or sent. Overdue wins over partially_paid [U]. A status that changes only
    because the clock moved does not bump ``last_modified_time`` [U].

    Finance can use these same endpoints, or the admin helpers (``/__admin/payments``,
    ``/__admin/creditnotes``) and the methods ``record_payment`` / ``create_credit_note`` /
    ``apply_credit``, which run the same validation without auth, faults or rate limits.
    """

    id_base = 982000000567000

    def __init__(self, *, org: Organization, clock: SimClock) -> None:
        super().__init__(org=org, clock=clock)
        self.items: dict[str, BooksItem] = {}
        self.invoices: dict[str, Invoice] = {}
        self.payments: dict[str, CustomerPayment] = {}
        self.creditnotes: dict[str, CreditNote] = {}
        self._numbers: dict[str, int] = {}

    def _clear(self) -> None:
        self.items.clear()
        self.invoices.clear()
        self.payments.clear()
        self.creditnotes.clear()
        self._numbers.clear()

    def _auto_number(self, kind: str, pattern: str, used: set[str]) -> str:
        while True:
            self._numbers[kind] = self._numbers.get(kind, 0) + 1
            number = pattern.format(self._numbers[kind])
            if number not in used:
                return number

    def _own_number(self, payload: Mapping[str, Any], key: str, label: str, used: set[str]) -> str:
        number = str(payload.get(key) or "").strip()
        if not number:
            raise invalid_value(key, "Required with ignore_auto_number_generation=true.")
        if number in used:
            # The real duplicate-number error is not documented (apis.md 1.5) [U].
            raise ZohoError(400, CODE_ALREADY_EXISTS, f'{label} "{number}" already exists.')
        return number

    # -- items ----------------------------------------------------------------------------------

    def add_item(
        self,
        name: str,
        sku: str,
        rate: Decimal | int | str,
        *,
        item_id: str | None = None,
        gst_rate: Decimal | int | str | None = 18,
        unit: str = "pcs",
        hsn_or_sac: str = "",
        description: str = "",
        product_type: str = "goods",
    ) -> BooksItem:
        """Add a sales item; ``gst_rate`` sets its intra (GSTn) / inter (IGSTn) preferences."""
        with self.lock:
            if any(i.name == name for i in self.items.values()):
                raise ZohoError(400, CODE_ALREADY_EXISTS, f'The item "{name}" already exists.')
            now = self.now()
            item = BooksItem(
                item_id=item_id or self.ids.next(),
                name=name,
                sku=sku,
                rate=money(rate),
                created_time=now,
                last_modified_time=now,
                unit=unit,
                hsn_or_sac=hsn_or_sac,
                description=description,
                product_type=product_type,
                is_taxable=gst_rate is not None,
            )
            if gst_rate is not None:
                group, igst = self.taxes.gst_pair(Decimal(gst_rate))
                item.intra_tax_id, item.inter_tax_id = group.tax_id, igst.tax_id
            self.items[item.item_id] = item
            return copy.deepcopy(item)

    def create_item(self, payload: Mapping[str, Any]) -> BooksItem:
        """``POST /items``: name and rate required; ``tax_id`` picks the GST rate."""
        name = str(payload.get("name") or "").strip()
        if not name:
            raise invalid_value("name", "Item name is required.")
        if payload.get("rate") is None:
            raise invalid_value("rate", "Rate is required.")
        gst_rate: Decimal | None = Decimal(18)
        if payload.get("tax_id"):
            tax = self.taxes.get(str(payload["tax_id"]))
            if tax is None:
                raise does_not_exist("Tax", status=400)
            gst_rate = tax.tax_percentage
        if payload.get("is_taxable") is False:
            gst_rate = None
        return self.add_item(
            name,
            str(payload.get("sku") or ""),
            to_decimal(payload["rate"], "rate"),
            gst_rate=gst_rate,
            unit=str(payload.get("unit") or "pcs"),
            hsn_or_sac=str(payload.get("hsn_or_sac") or ""),
            description=str(payload.get("description") or ""),
            product_type=str(payload.get("product_type") or "goods"),
        )

    def _item(self, item_id: str) -> BooksItem:
        item = self.items.get(item_id)
        if item is None:
            raise does_not_exist("Item")
        return item

    def _item_ref(self, item_id: str) -> ItemRef | None:
        item = self.items.get(item_id)
        if item is None:
            return None
        return ItemRef(
            item.item_id,
            item.name,
            item.sku,
            item.rate,
            item.unit,
            item.hsn_or_sac,
            item.description,
            item.is_taxable,
            item.intra_tax_id,
            item.inter_tax_id,
        )

    def _lines(self, payload: Mapping[str, Any], *, intra: bool) -> list[DocLine]:
        raw_lines = payload.get("line_items")
        if not isinstance(raw_lines, list) or not raw_lines:
            raise invalid_value("line_items", "At least one line item is required.")
        return [
            build_line(
                raw,
                index=index,
                line_item_id=self.ids.next(),
                resolve_item=self._item_ref,
                taxes=self.taxes,
                intra=intra,
                require_item=False,
            )
            for index, raw in enumerate(raw_lines)
        ]

    # -- invoices -------------------------------------------------------------------------------

    def create_invoice(
        self,
        payload: Mapping[str, Any],
        *,
        own_number: bool = False,
        send: bool = False,
        duplicate: bool = False,
    ) -> Invoice:
        """Validate, compute GST and store an invoice (draft, or sent with ``send``)."""
        with self.lock:
            check_tax_mode(payload)
            customer = self._contact(str(payload.get("customer_id") or ""), status=400)
            used = {i.invoice_number for i in self.invoices.values()}
            # An own number is checked first; a generated one is taken only once all is valid.
            number = (
                self._own_number(payload, "invoice_number", "Invoice", used) if own_number else ""
            )
            place = self.place_of_supply(payload, customer)
            lines = self._lines(payload, intra=place == self.org.state_code)
            issued = parse_date(payload["date"], "date") if payload.get("date") else self.today()
            terms = customer.payment_terms
            if payload.get("payment_terms") is not None:
                terms = int(to_decimal(payload["payment_terms"], "payment_terms"))
                if terms < 0:
                    raise invalid_value("payment_terms")
            due = (
                parse_date(payload["due_date"], "due_date")
                if payload.get("due_date")
                else issued + timedelta(days=terms)
            )
            number = number or self._auto_number("invoice", "INV-{:06d}", used)
            now = self.now()
            invoice = Invoice(
                invoice_id=self.ids.next(),
                invoice_number=number,
                customer_id=customer.contact_id,
                customer_name=customer.contact_name,
                date=issued,
                due_date=due,
                payment_terms=terms,
                base_status="sent" if send else "draft",
                place_of_supply=place,
                lines=lines,
                totals=compute_totals(lines),
                created_time=now,
                last_modified_time=now,
                reference_number=str(payload.get("reference_number") or ""),
                gst_treatment=str(payload.get("gst_treatment") or customer.gst_treatment),
                gst_no=str(payload.get("gst_no") or customer.gst_no),
                location_id=str(payload.get("location_id") or ""),
                notes=str(payload.get("notes") or ""),
            )
            self.invoices[invoice.invoice_id] = invoice
            if duplicate:
                twin = copy.deepcopy(invoice)
                twin.invoice_id = self.ids.next()
                twin.invoice_number = self._auto_number("invoice", "INV-{:06d}", used | {number})
                for line in twin.lines:
                    line.line_item_id = self.ids.next()
                self.invoices[twin.invoice_id] = twin
            return copy.deepcopy(invoice)

    def _invoice(self, invoice_id: str, *, status: int = 404) -> Invoice:
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            raise does_not_exist("Invoice", status=status)
        return invoice

    def get_invoice(self, invoice_id: str) -> Invoice:
        with self.lock:
            return copy.deepcopy(self._invoice(invoice_id))

    def list_invoices(self) -> list[Invoice]:
        with self.lock:
            return copy.deepcopy(list(self.invoices.values()))

    def invoice_status(self, invoice_id: str) -> str:
        with self.lock:
            return self._invoice(invoice_id).status(self.today())

    def mark_invoice_sent(self, invoice_id: str) -> Invoice:
        with self.lock:
            invoice = self._invoice(invoice_id)
            if invoice.base_status == "void":
                raise invalid_state("A void invoice cannot be marked as sent.")
            if invoice.base_status == "draft":
                invoice.base_status = "sent"
                invoice.last_modified_time = self.now()
            return copy.deepcopy(invoice)

    def void_invoice(self, invoice_id: str) -> Invoice:
        with self.lock:
            invoice = self._invoice(invoice_id)
            if invoice.payment_made > 0 or invoice.credits_applied > 0:
                # [U] Books asks to delete payments/credits first.
                raise invalid_state("An invoice with payments or credits cannot be voided.")
            if invoice.base_status != "void":
                invoice.base_status = "void"
                invoice.last_modified_time = self.now()
            return copy.deepcopy(invoice)

    def _receivable(self, invoice_id: str, customer_id: str, amount: Decimal) -> Invoice:
        """An invoice that can take ``amount`` now: same customer, open, enough balance."""
        invoice = self._invoice(invoice_id, status=400)
        if invoice.customer_id != customer_id:
            raise invalid_value("invoice_id", "The invoice belongs to another customer.")
        if invoice.base_status in ("draft", "void"):
            raise invalid_state(f"Invoice {invoice.invoice_number} is {invoice.base_status}.")
        if amount <= 0:
            raise invalid_value("amount_applied", "The amount must be greater than zero.")
        if amount > invoice.balance:
            raise invalid_value(
                "amount_applied",
                f"The amount applied is more than the balance due of {invoice.invoice_number}.",
            )
        return invoice

    # -- customer payments ----------------------------------------------------------------------

    def create_payment(
        self, payload: Mapping[str, Any], *, duplicate: bool = False
    ) -> CustomerPayment:
        """``POST /customerpayments``: applies to invoices; an excess stays as unused amount."""
        with self.lock:
            customer = self._contact(str(payload.get("customer_id") or ""), status=400)
            for key in ("payment_mode", "amount", "date"):
                if payload.get(key) in (None, ""):
                    raise invalid_value(key, f"{key} is required.")
            amount = money(to_decimal(payload["amount"], "amount"))
            if amount <= 0:
                raise invalid_value("amount", "The amount must be greater than zero.")
            wanted = _applications(payload.get("invoices"))
            if len({i for i, _ in wanted}) != len(wanted):
                raise invalid_value("invoices", "An invoice is listed twice.")
            if sum((a for _, a in wanted), ZERO) > amount:
                raise invalid_value("amount", "The amount applied exceeds the payment amount.")
            invoices = [(self._receivable(i, customer.contact_id, a), a) for i, a in wanted]
            payment = self._store_payment(payload, customer, amount, invoices)
            if duplicate:
                # The twin applies what the invoices can still take; the rest is unused.
                clipped = [(inv, min(a, inv.balance)) for inv, a in invoices if inv.balance > 0]
                self._store_payment(payload, customer, amount, clipped)
            return copy.deepcopy(payment)

    def _store_payment(
        self,
        payload: Mapping[str, Any],
        customer: Contact,
        amount: Decimal,
        invoices: list[tuple[Invoice, Decimal]],
    ) -> CustomerPayment:
        now = self.now()
        payment = CustomerPayment(
            payment_id=self.ids.next(),
            payment_number=self._auto_number("payment", "{}", set()),
            customer_id=customer.contact_id,
            customer_name=customer.contact_name,
            payment_mode=str(payload["payment_mode"]),
            amount=amount,
            date=parse_date(payload["date"], "date"),
            created_time=now,
            last_modified_time=now,
            reference_number=str(payload.get("reference_number") or ""),
            description=str(payload.get("description") or ""),
            account_id=str(payload.get("account_id") or ""),
        )
        for invoice, applied in invoices:
            invoice.payment_made += applied
            invoice.last_modified_time = now
            payment.applications.append(
                PaymentApplication(invoice.invoice_id, invoice.invoice_number, applied)
            )
        self.payments[payment.payment_id] = payment
        return payment

    def record_payment(
        self,
        customer_id: str,
        amount: Decimal | int | str,
        applications: Mapping[str, Decimal | int | str] | None = None,
        *,
        payment_date: dt.date | None = None,
        reference_number: str = "",
        payment_mode: str = "banktransfer",
    ) -> CustomerPayment:
        """Typed helper for finance: ``applications`` maps invoice_id -> amount applied."""
        return self.create_payment(
            {
                "customer_id": customer_id,
                "amount": Decimal(amount),
                "payment_mode": payment_mode,
                "reference_number": reference_number,
                "date": (payment_date or self.today()).isoformat(),
                "invoices": [
                    {"invoice_id": i, "amount_applied": Decimal(a)}
                    for i, a in (applications or {}).items()
                ],
            }
        )

    def get_payment(self, payment_id: str) -> CustomerPayment:
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise does_not_exist("Payment")
            return copy.deepcopy(payment)

    def list_payments(self) -> list[CustomerPayment]:
        with self.lock:
            return copy.deepcopy(list(self.payments.values()))

    # -- credit notes ---------------------------------------------------------------------------

    def create_credit_note(
        self,
        payload: Mapping[str, Any],
        *,
        own_number: bool = False,
        invoice_id: str | None = None,
        duplicate: bool = False,
    ) -> CreditNote:
        """``POST /creditnotes``: open (or draft with ``is_draft``); credits apply separately."""
        with self.lock:
            check_tax_mode(payload)
            customer = self._contact(str(payload.get("customer_id") or ""), status=400)
            if invoice_id:
                linked = self._invoice(invoice_id, status=400)
                if linked.customer_id != customer.contact_id:
                    raise invalid_value("invoice_id", "The invoice belongs to another customer.")
            used = {c.creditnote_number for c in self.creditnotes.values()}
            number = (
                self._own_number(payload, "creditnote_number", "Credit Note", used)
                if own_number
                else ""
            )
            place = self.place_of_supply(payload, customer)
            lines = self._lines(payload, intra=place == self.org.state_code)
            number = number or self._auto_number("creditnote", "CN-{:05d}", used)
            now = self.now()
            note = CreditNote(
                creditnote_id=self.ids.next(),
                creditnote_number=number,
                customer_id=customer.contact_id,
                customer_name=customer.contact_name,
                date=parse_date(payload["date"], "date") if payload.get("date") else self.today(),
                base_status="draft" if payload.get("is_draft") in (True, "true") else "open",
                place_of_supply=place,
                lines=lines,
                totals=compute_totals(lines),
                created_time=now,
                last_modified_time=now,
                reference_number=str(payload.get("reference_number") or ""),
                invoice_id=invoice_id or "",
            )
            self.creditnotes[note.creditnote_id] = note
            if duplicate:
                twin = copy.deepcopy(note)
                twin.creditnote_id = self.ids.next()
                twin.creditnote_number = self._auto_number(
                    "creditnote", "CN-{:05d}", used | {number}
                )
                self.creditnotes[twin.creditnote_id] = twin
            return copy.deepcopy(note)

    def _credit_note(self, creditnote_id: str) -> CreditNote:
        note = self.creditnotes.get(creditnote_id)
        if note is None:
            raise does_not_exist("Credit Note")
        return note

    def get_credit_note(self, creditnote_id: str) -> CreditNote:
        with self.lock:
            return copy.deepcopy(self._credit_note(creditnote_id))

    def list_credit_notes(self) -> list[CreditNote]:
        with self.lock:
            return copy.deepcopy(list(self.creditnotes.values()))

    def apply_credit(
        self, creditnote_id: str, applications: Mapping[str, Decimal | int | str]
    ) -> CreditNote:
        """Apply credits to invoices (invoice_id -> amount); all or nothing."""
        with self.lock:
            note = self._credit_note(creditnote_id)
            if note.status != "open":
                raise invalid_state(f"Credit note {note.creditnote_number} is {note.status}.")
            wanted = [(i, money(to_decimal(a, "amount_applied"))) for i, a in applications.items()]
            if not wanted:
                raise invalid_value("invoices")
            if sum((a for _, a in wanted), ZERO) > note.balance:
                raise invalid_value(
                    "amount_applied", "The amount applied exceeds the credit note's balance."
                )
            invoices = [(self._receivable(i, note.customer_id, a), a) for i, a in wanted]
            now = self.now()
            for invoice, amount in invoices:
                invoice.credits_applied += amount
                invoice.last_modified_time = now
                note.applications.append(
                    CreditApplication(
                        self.ids.next(),
                        invoice.invoice_id,
                        invoice.invoice_number,
                        self.today(),
                        amount,
                    )
                )
            note.last_modified_time = now
            return copy.deepcopy(note)

    def void_credit_note(self, creditnote_id: str) -> CreditNote:
        with self.lock:
            note = self._credit_note(creditnote_id)
            if note.applications:
                raise invalid_state("Credits applied to invoices must be deleted first.")  # [U]
            note.base_status = "void"
            note.last_modified_time = self.now()
            return copy.deepcopy(note)

    def open_credit_note(self, creditnote_id: str) -> CreditNote:
        with self.lock:
            note = self._credit_note(creditnote_id)
            if note.base_status == "void":
                raise invalid_state("A void credit note cannot be opened.")
            note.base_status = "open"
            note.last_modified_time = self.now()
            return copy.deepcopy(note)

    # -- rendering ------------------------------------------------------------------------------

    def render_contact(self, contact: Contact) -> dict[str, object]:
        """Books adds the customer's receivables: open balances and unused credits."""
        outstanding = sum(
            (
                i.balance
                for i in self.invoices.values()
                if i.customer_id == contact.contact_id and i.base_status == "sent"
            ),
            ZERO,
        )
        unused = sum(
            (
                c.balance
                for c in self.creditnotes.values()
                if c.customer_id == contact.contact_id and c.status == "open"
            ),
            ZERO,
        )
        unused += sum(
            (
                p.unused_amount
                for p in self.payments.values()
                if p.customer_id == contact.contact_id
            ),
            ZERO,
        )
        return render_contact(
            contact,
            self.tz,
            outstanding_receivable_amount=outstanding,
            unused_credits_receivable_amount=unused,
        )

    def render_item(self, item: BooksItem) -> dict[str, object]:
        intra = self.taxes.get(item.intra_tax_id)
        return {
            "item_id": item.item_id,
            "name": item.name,
            "sku": item.sku,
            "rate": item.rate,
            "status": item.status,
            "description": item.description,
            "unit": item.unit,
            "item_type": "sales",
            "product_type": item.product_type,
            "hsn_or_sac": item.hsn_or_sac,
            "is_taxable": item.is_taxable,
            "tax_id": intra.tax_id if intra else "",
            "tax_name": intra.tax_name if intra else "",
            "tax_percentage": quantity(intra.tax_percentage) if intra else 0,
            "item_tax_preferences": [
                {"tax_id": item.intra_tax_id, "tax_specification": "intra"},
                {"tax_id": item.inter_tax_id, "tax_specification": "inter"},
            ]
            if item.is_taxable
            else [],
            "created_time": self.ts(item.created_time),
            "last_modified_time": self.ts(item.last_modified_time),
        }

    def render_invoice(self, invoice: Invoice, *, detail: bool = True) -> dict[str, object]:
        body: dict[str, object] = {
            "invoice_id": invoice.invoice_id,
            "invoice_number": invoice.invoice_number,
            "reference_number": invoice.reference_number,
            "status": invoice.status(self.today()),
            "date": invoice.date,
            "due_date": invoice.due_date,
            "customer_id": invoice.customer_id,
            "customer_name": invoice.customer_name,
            "currency_code": self.org.currency_code,
            "total": invoice.totals.total,
            "balance": invoice.balance,
            "location_id": invoice.location_id,
        }
        if detail:
            body.update(
                {
                    "payment_terms": invoice.payment_terms,
                    "payment_terms_label": (
                        f"Net {invoice.payment_terms}"
                        if invoice.payment_terms
                        else "Due on Receipt"
                    ),
                    "exchange_rate": Decimal("1.0"),
                    "is_inclusive_tax": False,
                    "place_of_supply": invoice.place_of_supply,
                    "gst_treatment": invoice.gst_treatment,
                    "gst_no": invoice.gst_no,
                    "line_items": [line.render() for line in invoice.lines],
                    "sub_total": invoice.totals.sub_total,
                    "tax_total": invoice.totals.tax_total,
                    "taxes": invoice.totals.render_taxes(),
                    "payment_made": invoice.payment_made,
                    "credits_applied": invoice.credits_applied,
                    "write_off_amount": ZERO,
                    "payments": self._invoice_payments(invoice.invoice_id),
                    "credits": self._invoice_credits(invoice.invoice_id),
                    "notes": invoice.notes,
                }
            )
        body["created_time"] = self.ts(invoice.created_time)
        body["last_modified_time"] = self.ts(invoice.last_modified_time)
        return body

    def _invoice_payments(self, invoice_id: str) -> list[dict[str, object]]:
        return [
            {
                "payment_id": p.payment_id,
                "payment_number": p.payment_number,
                "date": p.date,
                "payment_mode": p.payment_mode,
                "reference_number": p.reference_number,
                "amount": a.amount_applied,
            }
            for p in self.payments.values()
            for a in p.applications
            if a.invoice_id == invoice_id
        ]

    def _invoice_credits(self, invoice_id: str) -> list[dict[str, object]]:
        """Shape as in Zoho's invoice ``credits`` (Billing spec) [S]."""
        return [
            {
                "creditnote_id": c.creditnote_id,
                "creditnotes_number": c.creditnote_number,
                "credited_date": a.date,
                "credited_amount": a.amount,
            }
            for c in self.creditnotes.values()
            for a in c.applications
            if a.invoice_id == invoice_id
        ]

    def render_payment(self, payment: CustomerPayment, *, detail: bool = True) -> dict[str, object]:
        body: dict[str, object] = {
            "payment_id": payment.payment_id,
            "payment_number": payment.payment_number,
            "date": payment.date,
            "payment_mode": payment.payment_mode,
            "amount": payment.amount,
            "bcy_amount": payment.amount,
            "unused_amount": payment.unused_amount,
            "reference_number": payment.reference_number,
            "customer_id": payment.customer_id,
            "customer_name": payment.customer_name,
            "invoice_numbers": ",".join(a.invoice_number for a in payment.applications),
        }
        if detail:
            body.update(
                {
                    "status": "success",
                    "description": payment.description,
                    "account_id": payment.account_id,
                    "currency_code": self.org.currency_code,
                    "invoices": [self._payment_invoice(a) for a in payment.applications],
                }
            )
        body["created_time"] = self.ts(payment.created_time)
        body["last_modified_time"] = self.ts(payment.last_modified_time)
        return body

    def _payment_invoice(self, application: PaymentApplication) -> dict[str, object]:
        invoice = self.invoices[application.invoice_id]
        return {
            "invoice_id": invoice.invoice_id,
            "invoice_number": invoice.invoice_number,
            "date": invoice.date,
            "invoice_amount": invoice.totals.total,
            "amount_applied": application.amount_applied,
            "balance_amount": invoice.balance,
        }

    def render_credit_note(self, note: CreditNote, *, detail: bool = True) -> dict[str, object]:
        body: dict[str, object] = {
            "creditnote_id": note.creditnote_id,
            "creditnote_number": note.creditnote_number,
            "status": note.status,
            "reference_number": note.reference_number,
            "date": note.date,
            "total": note.totals.total,
            "balance": note.balance,
            "customer_id": note.customer_id,
            "customer_name": note.customer_name,
            "currency_code": self.org.currency_code,
        }
        if detail:
            body.update(
                {
                    "place_of_supply": note.place_of_supply,
                    "line_items": [line.render() for line in note.lines],
                    "sub_total": note.totals.sub_total,
                    "tax_total": note.totals.tax_total,
                    "taxes": note.totals.render_taxes(),
                    "invoice_id": note.invoice_id,
                    "invoices": [
                        {
                            "invoice_id": a.invoice_id,
                            "invoice_number": a.invoice_number,
                            "amount": a.amount,
                        }
                        for a in note.applications
                    ],
                }
            )
        body["created_time"] = self.ts(note.created_time)
        body["last_modified_time"] = self.ts(note.last_modified_time)
        return body

    def render_credited(
        self, note: CreditNote, applications: Iterable[CreditApplication]
    ) -> list[dict[str, object]]:
        return [
            {
                "creditnote_id": note.creditnote_id,
                "invoice_id": a.invoice_id,
                "creditnote_invoice_id": a.creditnote_invoice_id,
                "date": a.date,
                "invoice_number": a.invoice_number,
                "creditnote_number": note.creditnote_number,
                "credited_amount": a.amount,
            }
            for a in applications
        ]

    # -- seeding and snapshot -------------------------------------------------------------------

    def seed(self, payload: Mapping[str, Any]) -> dict[str, object]:
        """Seed from JSON: contacts, items, invoices (wire payloads; ``"status": "sent"``
        sends them), payments and credit notes (with ``"apply_to": {invoice_id: amount}``)."""
        with self.lock:
            contacts = self.seed_contacts(payload.get("contacts"))
            items = [
                self.add_item(
                    str(r.get("name") or ""),
                    str(r.get("sku") or ""),
                    to_decimal(r.get("rate", 0), "rate"),
                    item_id=str(r["item_id"]) if r.get("item_id") else None,
                    gst_rate=r.get("gst_rate", 18),
                    hsn_or_sac=str(r.get("hsn_or_sac") or ""),
                ).item_id
                for r in rows_of(payload.get("items"), "items")
            ]
            invoices = [
                self.create_invoice(
                    r, own_number=bool(r.get("invoice_number")), send=r.get("status") == "sent"
                ).invoice_id
                for r in rows_of(payload.get("invoices"), "invoices")
            ]
            payments = [
                self.create_payment(r).payment_id
                for r in rows_of(payload.get("payments"), "payments")
            ]
            notes = [
                self._seed_credit_note(r).creditnote_id
                for r in rows_of(payload.get("creditnotes"), "creditnotes")
            ]
            return {
                "contacts": contacts,
                "items": items,
                "invoices": invoices,
                "payments": payments,
                "creditnotes": notes,
            }

    def _seed_credit_note(self, row: Mapping[str, Any]) -> CreditNote:
        """Create a credit note and apply it; if applying fails, the note is not kept."""
        apply_to = row.get("apply_to") or {}
        if not isinstance(apply_to, dict):
            raise invalid_value("apply_to", "Expected {invoice_id: amount}.")
        with self.lock:
            note = self.create_credit_note(row, own_number=bool(row.get("creditnote_number")))
            if not apply_to:
                return note
            try:
                return self.apply_credit(note.creditnote_id, apply_to)
            except ZohoError:
                del self.creditnotes[note.creditnote_id]
                raise

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            return {
                "organization": self.org.render(),
                "today": self.today(),
                "contacts": [self.render_contact(c) for c in self.contacts.values()],
                "items": [self.render_item(i) for i in self.items.values()],
                "invoices": [self.render_invoice(i) for i in self.invoices.values()],
                "customerpayments": [self.render_payment(p) for p in self.payments.values()],
                "creditnotes": [self.render_credit_note(c) for c in self.creditnotes.values()],
            }


def _applications(raw: object) -> list[tuple[str, Decimal]]:
    """``[{"invoice_id", "amount_applied"}]`` -> [(invoice_id, amount)]."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid_value("invoices")
    result = []
    for row in raw:
        if not isinstance(row, dict) or not row.get("invoice_id"):
            raise invalid_value("invoices")
        result.append(
            (str(row["invoice_id"]), money(to_decimal(row.get("amount_applied"), "amount_applied")))
        )
    return result


def _status_param(params: Mapping[str, str]) -> str | None:
    """``status=overdue`` or ``filter_by=Status.Overdue``; ``All`` means no filter."""
    raw = params.get("status") or params.get("filter_by", "").removeprefix("Status.")
    return raw.lower() if raw and raw.lower() != "all" else None


def _in_range(value: dt.date, params: Mapping[str, str]) -> bool:
    start, end = params.get("date_start"), params.get("date_end")
    if start is not None and value < parse_date(start, "date_start"):
        return False
    return end is None or value <= parse_date(end, "date_end")


INVOICE_STATUS_FILTERS = {
    "unpaid": ("sent", "overdue", "partially_paid"),
    "viewed": (),  # the simulator never marks an invoice viewed
}


class BooksSimulator(ZohoApiSimulator):
    """Zoho Books under ``/books/v3``."""

    prefix = "/books/v3"
    state: BooksState

    def __init__(
        self,
        *,
        clock: SimClock,
        tokens: TokenRegistry,
        org: Organization | None = None,
        faults: FaultConfig | None = None,
    ) -> None:
        super().__init__(
            state=BooksState(org=org or Organization(), clock=clock), tokens=tokens, faults=faults
        )

    def api_routes(self) -> list[BaseRoute]:
        return [
            *self.common_routes(),
            self.route("GET", "/items", self._list_items),
            self.route("POST", "/items", self._create_item),
            self.route("GET", "/items/{item_id}", self._get_item),
            self.route("GET", "/invoices", self._list_invoices),
            self.route("POST", "/invoices", self._create_invoice),
            self.route("GET", "/invoices/{invoice_id}", self._get_invoice),
            self.route("POST", "/invoices/{invoice_id}/status/sent", self._invoice_sent),
            self.route("POST", "/invoices/{invoice_id}/status/void", self._invoice_void),
            self.route("GET", "/customerpayments", self._list_payments),
            self.route("POST", "/customerpayments", self._create_payment),
            self.route("GET", "/customerpayments/{payment_id}", self._get_payment),
            self.route("GET", "/creditnotes", self._list_credit_notes),
            self.route("POST", "/creditnotes", self._create_credit_note),
            self.route("GET", "/creditnotes/{creditnote_id}", self._get_credit_note),
            self.route("GET", "/creditnotes/{creditnote_id}/invoices", self._credited),
            self.route("POST", "/creditnotes/{creditnote_id}/invoices", self._apply_credit),
            self.route("POST", "/creditnotes/{creditnote_id}/status/void", self._void_credit),
            self.route("POST", "/creditnotes/{creditnote_id}/status/open", self._open_credit),
        ]

    def extra_admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/__admin/payments", self._admin_payment, methods=["POST"]),
            Route("/__admin/creditnotes", self._admin_credit_note, methods=["POST"]),
        ]

    # -- items ----------------------------------------------------------------------------------

    async def _list_items(self, request: Request) -> Response:
        params = request.query_params
        state = self.state
        with state.lock:
            rows = [
                i
                for i in state.items.values()
                if text_matches(params, "name", i.name)
                and text_matches(params, "sku", i.sku)
                and params.get("status") in (None, i.status)
            ]
            page, context = paginate(
                params,
                rows,
                report_name="Items",
                default_column="name",
                default_order="A",
                columns={
                    "name": lambda i: i.name.lower(),
                    "sku": lambda i: i.sku,
                    "rate": lambda i: i.rate,
                    "created_time": lambda i: i.created_time,
                    "last_modified_time": lambda i: i.last_modified_time,
                },
                id_of=lambda i: i.item_id,
            )
            body = [state.render_item(i) for i in page]
        return envelope(items=body, page_context=context)

    async def _create_item(self, request: Request) -> Response:
        payload = await read_body(request)
        with self.state.lock:
            item = self.state.create_item(payload)
            return envelope(
                "The item has been added.", status=201, item=self.state.render_item(item)
            )

    async def _get_item(self, request: Request) -> Response:
        with self.state.lock:
            item = self.state._item(request.path_params["item_id"])
            return envelope(item=self.state.render_item(item))

    # -- invoices -------------------------------------------------------------------------------

    async def _list_invoices(self, request: Request) -> Response:
        params = request.query_params
        state = self.state
        after = modified_after(params, state.tz)
        status = _status_param(params)
        wanted = INVOICE_STATUS_FILTERS.get(status or "", (status,))
        customer = params.get("customer_id")
        with state.lock:
            today = state.today()
            rows = [
                i
                for i in state.invoices.values()
                if text_matches(params, "invoice_number", i.invoice_number)
                and text_matches(params, "reference_number", i.reference_number)
                and (customer is None or i.customer_id == customer)
                and (status is None or i.status(today) in wanted)
                and (after is None or i.last_modified_time > after)
                and _in_range(i.date, params)
            ]
            page, context = paginate(
                params,
                rows,
                report_name="Invoices",
                default_column="created_time",
                applied_filter=f"Status.{(status or 'all').title()}",
                columns={
                    "created_time": lambda i: i.created_time,
                    "date": lambda i: i.date,
                    "due_date": lambda i: i.due_date,
                    "invoice_number": lambda i: i.invoice_number,
                    "customer_name": lambda i: i.customer_name.lower(),
                    "total": lambda i: i.totals.total,
                    "balance": lambda i: i.balance,
                    "last_modified_time": lambda i: i.last_modified_time,
                },
                id_of=lambda i: i.invoice_id,
            )
            body = [state.render_invoice(i, detail=False) for i in page]
        return envelope(invoices=body, page_context=context)

    async def _create_invoice(self, request: Request) -> Response:
        payload = await read_body(request)
        params = request.query_params
        with self.state.lock:
            invoice = self.state.create_invoice(
                payload,
                own_number=flag(params, "ignore_auto_number_generation"),
                send=flag(params, "send"),
                duplicate=duplicate_requested(request.scope),
            )
            body = self.state.render_invoice(invoice)
        return envelope("The invoice has been created.", status=201, invoice=body)

    async def _get_invoice(self, request: Request) -> Response:
        with self.state.lock:
            invoice = self.state.get_invoice(request.path_params["invoice_id"])
            return envelope(invoice=self.state.render_invoice(invoice))

    async def _invoice_sent(self, request: Request) -> Response:
        self.state.mark_invoice_sent(request.path_params["invoice_id"])
        return envelope("Invoice status has been changed to Sent.")

    async def _invoice_void(self, request: Request) -> Response:
        self.state.void_invoice(request.path_params["invoice_id"])
        return envelope("Invoice status has been changed to Void.")

    # -- customer payments ----------------------------------------------------------------------

    async def _list_payments(self, request: Request) -> Response:
        params = request.query_params
        state = self.state
        customer, on = params.get("customer_id"), params.get("date")
        with state.lock:
            rows = [
                p
                for p in state.payments.values()
                if (customer is None or p.customer_id == customer)
                and (on is None or p.date.isoformat() == on)
                and text_matches(params, "reference_number", p.reference_number)
                and text_matches(params, "payment_mode", p.payment_mode)
            ]
            page, context = paginate(
                params,
                rows,
                report_name="Customer Payments",
                default_column="created_time",
                columns={
                    "created_time": lambda p: p.created_time,
                    "date": lambda p: p.date,
                    "amount": lambda p: p.amount,
                    "reference_number": lambda p: p.reference_number,
                    "payment_number": lambda p: int(p.payment_number),
                    "customer_name": lambda p: p.customer_name.lower(),
                    # Not in the spec's list; apis.md suggests sorting on it [U].
                    "last_modified_time": lambda p: p.last_modified_time,
                },
                id_of=lambda p: p.payment_id,
            )
            body = [state.render_payment(p, detail=False) for p in page]
        # One word, as client code reads it [S]; the OpenAPI copy says "customer_payments".
        return envelope(customerpayments=body, page_context=context)

    async def _create_payment(self, request: Request) -> Response:
        payload = await read_body(request)
        with self.state.lock:
            payment = self.state.create_payment(
                payload, duplicate=duplicate_requested(request.scope)
            )
            body = self.state.render_payment(payment)
        return envelope("The payment has been created.", status=201, payment=body)

    async def _get_payment(self, request: Request) -> Response:
        with self.state.lock:
            payment = self.state.get_payment(request.path_params["payment_id"])
            return envelope(payment=self.state.render_payment(payment))

    # -- credit notes ---------------------------------------------------------------------------

    async def _list_credit_notes(self, request: Request) -> Response:
        params = request.query_params
        state = self.state
        customer, on = params.get("customer_id"), params.get("date")
        status = _status_param(params)
        with state.lock:
            rows = [
                c
                for c in state.creditnotes.values()
                if text_matches(params, "creditnote_number", c.creditnote_number)
                and text_matches(params, "reference_number", c.reference_number)
                and (customer is None or c.customer_id == customer)
                and (on is None or c.date.isoformat() == on)
                and (status is None or c.status == status)
            ]
            page, context = paginate(
                params,
                rows,
                report_name="Credit Notes",
                default_column="created_time",
                columns={
                    "created_time": lambda c: c.created_time,
                    "date": lambda c: c.date,
                    "creditnote_number": lambda c: c.creditnote_number,
                    "customer_name": lambda c: c.customer_name.lower(),
                    "total": lambda c: c.totals.total,
                    "balance": lambda c: c.balance,
                },
                id_of=lambda c: c.creditnote_id,
            )
            body = [state.render_credit_note(c, detail=False) for c in page]
        return envelope(creditnotes=body, page_context=context)

    async def _create_credit_note(self, request: Request) -> Response:
        payload = await read_body(request)
        params = request.query_params
        with self.state.lock:
            note = self.state.create_credit_note(
                payload,
                own_number=flag(params, "ignore_auto_number_generation"),
                invoice_id=params.get("invoice_id"),
                duplicate=duplicate_requested(request.scope),
            )
            body = self.state.render_credit_note(note)
        return envelope("The credit note has been created.", status=201, creditnote=body)

    async def _get_credit_note(self, request: Request) -> Response:
        with self.state.lock:
            note = self.state.get_credit_note(request.path_params["creditnote_id"])
            return envelope(creditnote=self.state.render_credit_note(note))

    async def _credited(self, request: Request) -> Response:
        with self.state.lock:
            note = self.state.get_credit_note(request.path_params["creditnote_id"])
            return envelope(invoices_credited=self.state.render_credited(note, note.applications))

    async def _apply_credit(self, request: Request) -> Response:
        """Body ``{"invoices": [{"invoice_id", "amount_applied"}]}`` (a single pair at the top
        level is accepted too, as the spec lists both)."""
        payload = await read_body(request)
        rows = payload.get("invoices")
        if rows is None and payload.get("invoice_id"):
            rows = [payload]
        wanted = _applications(rows)
        creditnote_id = request.path_params["creditnote_id"]
        with self.state.lock:
            before = len(self.state.get_credit_note(creditnote_id).applications)
            note = self.state.apply_credit(creditnote_id, dict(wanted))
            applied = note.applications[before:]
            body = [{"invoice_id": a.invoice_id, "amount_applied": a.amount} for a in applied]
        # The spec shows only code and message; the echo of what was applied is [U].
        return envelope(
            "Credits have been applied to the invoice(s).", apply_to_invoices={"invoices": body}
        )

    async def _void_credit(self, request: Request) -> Response:
        self.state.void_credit_note(request.path_params["creditnote_id"])
        return envelope("The credit note has been marked as void.")

    async def _open_credit(self, request: Request) -> Response:
        self.state.open_credit_note(request.path_params["creditnote_id"])
        return envelope("Status of the credit note has been changed to open.")

    # -- admin ----------------------------------------------------------------------------------

    async def _admin_payment(self, request: Request) -> Response:
        def action(body: dict[str, Any]) -> dict[str, object]:
            with self.state.lock:
                return self.state.render_payment(self.state.create_payment(body))

        return await admin_call(request, action)

    async def _admin_credit_note(self, request: Request) -> Response:
        def action(body: dict[str, Any]) -> dict[str, object]:
            with self.state.lock:
                return self.state.render_credit_note(self.state._seed_credit_note(body))

        return await admin_call(request, action)
