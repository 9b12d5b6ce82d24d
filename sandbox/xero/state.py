"""One simulated Xero organisation: contacts, items, tax rates, invoices, payments, credit notes.

Semantics follow apis.md section 3; where it is silent the choice is marked [U]:

* ACCREC ``InvoiceNumber`` is unique: a second one is the validation error
  "Invoice # must be unique." [S]. Without a number, one is generated (``INV-0001``) [U].
* Amounts: ``LineAmount`` = Quantity x UnitAmount; ``TaxAmount`` per line is the sum of the tax
  rate's components, each rounded half up on its own [U: Xero's rounding settings]; with
  ``Inclusive`` lines the tax is taken out of the line amount; ``NoTax`` has none.
* ``AmountDue`` = Total - AmountPaid - AmountCredited; an invoice is PAID when it reaches 0.
  Payments and credit allocations bump the invoice's ``UpdatedDateUTC`` [S].
* A credit note (ACCRECCREDIT) is PAID once fully allocated (``RemainingCredit`` 0).
* Tax rates: built-in ``NONE`` and ``OUTPUT`` plus custom ones whose TaxType Xero names
  ``TAX001``, ``TAX002``... [S]; there is no Indian GST edition (apis.md 3.8), so GST rates are
  custom rates with CGST/SGST or IGST components.

Records are returned as copies, so a caller never holds live state.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.xero.wire import (
    ZERO_ID,
    ValidationError,
    date_string,
    money,
    ms_json,
    parse_request_date,
    quantity_out,
    to_decimal,
)
from sandbox.zoho.common import SimClock

ZERO = Decimal("0.00")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
INVOICE_STATUSES = ("DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED")
SALES_ACCOUNT, BANK_ACCOUNT = "200", "090"
UNIQUE_NUMBER = "Invoice # must be unique."


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Account:
    account_id: str
    code: str
    name: str
    type: str  # REVENUE | BANK | CURRLIAB ...


@dataclass
class TaxComponent:
    name: str
    rate: Decimal


@dataclass
class TaxRate:
    tax_type: str
    name: str
    components: list[TaxComponent]
    status: str = "ACTIVE"
    report_tax_type: str = "OUTPUT"

    @property
    def effective_rate(self) -> Decimal:
        return sum((c.rate for c in self.components), Decimal(0))

    def tax_on(self, base: Decimal) -> Decimal:
        """Tax on an amount before tax: each component rounded on its own [U]."""
        return sum((money(base * c.rate / 100) for c in self.components), ZERO)

    def render(self) -> dict[str, object]:
        rate = self.effective_rate
        return {
            "Name": self.name,
            "TaxType": self.tax_type,
            "ReportTaxType": self.report_tax_type,
            "CanApplyToRevenue": True,
            "DisplayTaxRate": rate,
            "EffectiveRate": rate,
            "Status": self.status,
            "TaxComponents": [
                {"Name": c.name, "Rate": c.rate, "IsCompound": False, "IsNonRecoverable": False}
                for c in self.components
            ],
        }


@dataclass
class Contact:
    contact_id: str
    name: str
    updated: datetime
    email: str = ""
    tax_number: str = ""
    account_number: str = ""
    contact_number: str = ""
    status: str = "ACTIVE"
    is_customer: bool = True


@dataclass
class Item:
    item_id: str
    code: str
    name: str
    updated: datetime
    description: str = ""
    unit_price: Decimal = ZERO
    account_code: str = SALES_ACCOUNT
    tax_type: str = ""


@dataclass
class Line:
    line_item_id: str
    description: str
    quantity: Decimal
    unit_amount: Decimal
    item_code: str
    account_code: str
    tax_type: str
    tax_amount: Decimal
    line_amount: Decimal

    def render(self) -> dict[str, object]:
        body: dict[str, object] = {
            "LineItemID": self.line_item_id,
            "Description": self.description,
            "Quantity": quantity_out(self.quantity),
            "UnitAmount": self.unit_amount,
            "TaxType": self.tax_type,
            "TaxAmount": self.tax_amount,
            "LineAmount": self.line_amount,
            "AccountCode": self.account_code,
            "Tracking": [],
        }
        if self.item_code:
            body["ItemCode"] = self.item_code
        return body


@dataclass
class Totals:
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal


@dataclass
class Invoice:
    invoice_id: str
    number: str
    reference: str
    contact_id: str
    date: dt.date
    due_date: dt.date
    status: str
    line_amount_types: str
    lines: list[Line]
    totals: Totals
    currency: str
    updated: datetime
    type: str = "ACCREC"
    amount_paid: Decimal = ZERO
    amount_credited: Decimal = ZERO
    fully_paid_on: dt.date | None = None

    @property
    def amount_due(self) -> Decimal:
        if self.status in ("VOIDED", "DELETED"):
            return ZERO
        return self.totals.total - self.amount_paid - self.amount_credited


@dataclass
class Payment:
    payment_id: str
    invoice_id: str
    account_code: str
    date: dt.date
    amount: Decimal
    reference: str
    updated: datetime
    status: str = "AUTHORISED"


@dataclass
class Allocation:
    allocation_id: str
    invoice_id: str
    amount: Decimal
    date: dt.date


@dataclass
class CreditNote:
    credit_note_id: str
    number: str
    reference: str
    contact_id: str
    date: dt.date
    status: str
    line_amount_types: str
    lines: list[Line]
    totals: Totals
    currency: str
    updated: datetime
    allocations: list[Allocation] = field(default_factory=list)

    @property
    def remaining_credit(self) -> Decimal:
        if self.status in ("VOIDED", "DELETED"):
            return ZERO
        return self.totals.total - sum((a.amount for a in self.allocations), ZERO)


@dataclass
class Organisation:
    """The one organisation (tenant) a simulator serves."""

    tenant_id: str = field(default_factory=new_id)  # each organisation its own, as in Xero
    name: str = "Dealer Network Sandbox"
    base_currency: str = "INR"


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    return "" if value is None else str(value).strip()


def _ref_id(payload: Mapping[str, Any], key: str, id_field: str) -> str:
    ref = payload.get(key)
    return _text(ref, id_field) if isinstance(ref, Mapping) else ""


class XeroState:
    """The organisation's records behind one lock, with seeding and finance helpers."""

    def __init__(self, *, clock: SimClock, org: Organisation | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.org = org or Organisation()
        self.accounts: dict[str, Account] = {}
        self.tax_rates: dict[str, TaxRate] = {}
        self.contacts: dict[str, Contact] = {}
        self.items: dict[str, Item] = {}
        self.invoices: dict[str, Invoice] = {}
        self.payments: dict[str, Payment] = {}
        self.credit_notes: dict[str, CreditNote] = {}
        self.idempotent: dict[str, tuple[int, Any]] = {}  # Idempotency-Key -> (status, body)
        self._numbers: dict[str, int] = {}
        self._clear()

    def _clear(self) -> None:
        self.accounts = {
            code: Account(new_id(), code, name, kind)
            for code, name, kind in (
                (SALES_ACCOUNT, "Sales", "REVENUE"),
                (BANK_ACCOUNT, "Business Bank Account", "BANK"),
                ("610", "Accounts Receivable", "CURRENT"),
            )
        }
        self.tax_rates = {
            "NONE": TaxRate("NONE", "No GST", [], report_tax_type="NONE"),
            "OUTPUT": TaxRate("OUTPUT", "GST on Income", [TaxComponent("GST", Decimal("10.0000"))]),
        }
        for table in (self.contacts, self.items, self.invoices, self.payments, self.credit_notes):
            table.clear()
        self.idempotent.clear()
        self._numbers.clear()

    def reset(self) -> None:
        with self.lock:
            self._clear()

    def now(self) -> datetime:
        return self.clock.now()

    def _next_number(self, kind: str, pattern: str, used: Iterable[str]) -> str:
        taken = set(used)
        while True:
            self._numbers[kind] = self._numbers.get(kind, 0) + 1
            number = pattern.format(self._numbers[kind])
            if number not in taken:
                return number

    # -- masters ---------------------------------------------------------------------------------

    def add_tax_rate(self, name: str, components: Iterable[tuple[str, Decimal | int | str]]) -> TaxRate:
        """A custom tax rate; Xero names its TaxType ``TAX001``, ``TAX002``... [S]."""
        with self.lock:
            if any(r.name == name for r in self.tax_rates.values()):
                raise ValidationError(f"A tax rate named '{name}' already exists")
            parts = [TaxComponent(n, Decimal(str(r)).quantize(Decimal("0.0001"))) for n, r in components]
            if not parts:
                raise ValidationError("A tax rate needs at least one TaxComponent")
            tax_type = self._next_number("taxrate", "TAX{:03d}", self.tax_rates)
            rate = TaxRate(tax_type, name, parts)
            self.tax_rates[tax_type] = rate
            return copy.deepcopy(rate)

    def create_contact(self, payload: Mapping[str, Any], *, contact_id: str | None = None) -> Contact:
        """Contact ``Name`` is unique (apis.md 3.5) [S]."""
        with self.lock:
            name = _text(payload, "Name")
            if not name:
                raise ValidationError("The contact name must be specified")
            if any(c.name.lower() == name.lower() for c in self.contacts.values()):
                raise ValidationError(
                    f"The contact name {name} is already assigned to another contact. "
                    "The contact name must be unique across all active contacts."
                )
            contact = Contact(
                contact_id=contact_id or new_id(),
                name=name,
                updated=self.now(),
                email=_text(payload, "EmailAddress"),
                tax_number=_text(payload, "TaxNumber"),
                account_number=_text(payload, "AccountNumber"),
                contact_number=_text(payload, "ContactNumber"),
            )
            self.contacts[contact.contact_id] = contact
            return copy.deepcopy(contact)

    def create_item(self, payload: Mapping[str, Any]) -> Item:
        """Item ``Code`` is unique [U: the message]; SalesDetails carry the price and account."""
        with self.lock:
            code = _text(payload, "Code")
            if not code:
                raise ValidationError("Item Code must be specified")
            if any(i.code == code for i in self.items.values()):
                raise ValidationError(f"Item code '{code}' already exists")
            sales = payload.get("SalesDetails") if isinstance(payload.get("SalesDetails"), Mapping) else {}
            assert isinstance(sales, Mapping)
            tax_type = _text(sales, "TaxType")
            if tax_type and tax_type not in self.tax_rates:
                raise ValidationError(f"The TaxType code '{tax_type}' does not exist")
            account = _text(sales, "AccountCode") or SALES_ACCOUNT
            if account not in self.accounts:
                raise ValidationError(f"Account code '{account}' is not a valid code for this document.")
            item = Item(
                item_id=new_id(),
                code=code,
                name=_text(payload, "Name") or code,
                updated=self.now(),
                description=_text(payload, "Description"),
                unit_price=money(to_decimal(sales.get("UnitPrice") or 0, "UnitPrice")),
                account_code=account,
                tax_type=tax_type,
            )
            self.items[item.item_id] = item
            return copy.deepcopy(item)

    def item_by_code(self, code: str) -> Item | None:
        return next((i for i in self.items.values() if i.code == code), None)

    # -- documents -------------------------------------------------------------------------------

    def _lines(self, payload: Mapping[str, Any], amount_types: str) -> tuple[list[Line], Totals]:
        raw_lines = payload.get("LineItems") or []
        if not isinstance(raw_lines, list) or not all(isinstance(r, Mapping) for r in raw_lines):
            raise ValidationError("LineItems must be a list")
        lines: list[Line] = []
        errors: list[str] = []
        for raw in raw_lines:
            try:
                lines.append(self._line(raw, amount_types))
            except ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise ValidationError(*errors)
        line_total = sum((ln.line_amount for ln in lines), ZERO)
        tax = sum((ln.tax_amount for ln in lines), ZERO)
        sub_total = line_total - tax if amount_types == "Inclusive" else line_total
        return lines, Totals(money(sub_total), money(tax), money(sub_total + tax))

    def _line(self, raw: Mapping[str, Any], amount_types: str) -> Line:
        item_code = _text(raw, "ItemCode")
        item = self.item_by_code(item_code) if item_code else None
        if item_code and item is None:
            raise ValidationError(f"Item code '{item_code}' is not valid")  # [U] wording
        qty = to_decimal(raw.get("Quantity", 1), "Quantity")
        unit = to_decimal(raw["UnitAmount"], "UnitAmount") if raw.get("UnitAmount") is not None else None
        if unit is None:
            unit = item.unit_price if item is not None else ZERO
        account = _text(raw, "AccountCode") or (item.account_code if item is not None else "")
        if account not in self.accounts:
            raise ValidationError(f"Account code '{account}' is not a valid code for this document.")
        tax_type = _text(raw, "TaxType") or (item.tax_type if item is not None else "") or "NONE"
        rate = self.tax_rates.get(tax_type)
        if rate is None or rate.status != "ACTIVE":
            raise ValidationError(
                f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of "
                "transaction."
            )
        line_amount = money(qty * unit)
        if amount_types == "NoTax":
            tax = ZERO
        elif amount_types == "Inclusive":
            effective = rate.effective_rate
            tax = money(line_amount * effective / (100 + effective)) if effective else ZERO
        else:
            tax = rate.tax_on(line_amount)
        description = _text(raw, "Description") or (item.name if item is not None else "")
        return Line(new_id(), description, qty, unit, item_code, account, tax_type, tax, line_amount)

    def _header(self, payload: Mapping[str, Any]) -> tuple[Contact, dt.date, str, str]:
        """Contact, date, LineAmountTypes and currency of a new document, validated."""
        errors: list[str] = []
        contact_id = _ref_id(payload, "Contact", "ContactID")
        contact = self.contacts.get(contact_id)
        if contact is None:
            errors.append(
                "A Contact must be specified for this type of transaction"
                if not contact_id
                else f"The contact with ContactID '{contact_id}' could not be found"  # [U] wording
            )
        issued = self.now().date()
        if payload.get("Date"):
            try:
                issued = parse_request_date(payload["Date"], "Date")
            except ValidationError as exc:
                errors.extend(exc.messages)
        amount_types = _text(payload, "LineAmountTypes") or "Exclusive"
        if amount_types not in LINE_AMOUNT_TYPES:
            errors.append(f"LineAmountTypes '{amount_types}' is not valid")
        currency = _text(payload, "CurrencyCode") or self.org.base_currency
        if errors:
            raise ValidationError(*errors)
        assert contact is not None
        return contact, issued, amount_types, currency

    def create_invoice(self, payload: Mapping[str, Any], *, duplicate: bool = False) -> Invoice:
        """Validate and store an ACCREC invoice (DRAFT unless Status says otherwise)."""
        with self.lock:
            errors: list[str] = []
            kind = _text(payload, "Type")
            if kind != "ACCREC":
                raise ValidationError(f"Invoice Type '{kind}' is not simulated; only ACCREC is")  # [U]
            number = _text(payload, "InvoiceNumber")
            if number and any(i.number == number for i in self.invoices.values() if i.type == "ACCREC"):
                errors.append(UNIQUE_NUMBER)
            status = _text(payload, "Status") or "DRAFT"
            if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
                errors.append(f"Invoice Status '{status}' cannot be used when creating an invoice")
            header: tuple[Contact, dt.date, str, str] | None = None
            try:
                header = self._header(payload)
            except ValidationError as exc:
                errors.extend(exc.messages)
            lines: list[Line] = []
            totals = Totals(ZERO, ZERO, ZERO)
            try:
                lines, totals = self._lines(payload, header[2] if header else "Exclusive")
            except ValidationError as exc:
                errors.extend(exc.messages)
            if status == "AUTHORISED" and not lines:
                errors.append("An authorised invoice must have at least one line item")  # [U]
            due: dt.date | None = None
            if payload.get("DueDate"):
                try:
                    due = parse_request_date(payload["DueDate"], "DueDate")
                except ValidationError as exc:
                    errors.extend(exc.messages)
            if errors or header is None:
                raise ValidationError(*errors)
            contact, issued, amount_types, currency = header
            due = due or issued  # [U] Xero would take the contact's or organisation's terms
            if due < issued:
                raise ValidationError("Due Date must not be before the invoice Date")  # [U]
            number = number or self._next_number(
                "invoice", "INV-{:04d}", (i.number for i in self.invoices.values())
            )
            invoice = Invoice(
                invoice_id=new_id(),
                number=number,
                reference=_text(payload, "Reference"),
                contact_id=contact.contact_id,
                date=issued,
                due_date=due,
                status=status,
                line_amount_types=amount_types,
                lines=lines,
                totals=totals,
                currency=currency,
                updated=self.now(),
            )
            self.invoices[invoice.invoice_id] = invoice
            if duplicate:  # a duplicate delivery gets past the number check: the harm simulated
                twin = copy.deepcopy(invoice)
                twin.invoice_id = new_id()
                for line in twin.lines:
                    line.line_item_id = new_id()
                self.invoices[twin.invoice_id] = twin
            return copy.deepcopy(invoice)

    def update_invoice(self, invoice_id: str, payload: Mapping[str, Any]) -> Invoice:
        """``POST`` with an InvoiceID: status moves, Reference and DueDate [U: what else Xero takes]."""
        with self.lock:
            invoice = self.invoices.get(invoice_id)
            if invoice is None:
                raise ValidationError(f"Invoice with InvoiceID '{invoice_id}' could not be found")
            status = _text(payload, "Status") or invoice.status
            allowed = {
                "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
                "SUBMITTED": {"SUBMITTED", "DRAFT", "AUTHORISED", "DELETED"},
                "AUTHORISED": {"AUTHORISED", "VOIDED"},
                "PAID": {"PAID"},
            }.get(invoice.status, {invoice.status})
            if status not in allowed:
                raise ValidationError(f"Invoice status cannot be changed from {invoice.status} to {status}")
            if status == "VOIDED" and (invoice.amount_paid > 0 or invoice.amount_credited > 0):
                raise ValidationError("Invoice has payments or credit allocated and cannot be voided")
            invoice.status = status
            if "Reference" in payload:
                invoice.reference = _text(payload, "Reference")
            if payload.get("DueDate"):
                invoice.due_date = parse_request_date(payload["DueDate"], "DueDate")
            invoice.updated = self.now()
            return copy.deepcopy(invoice)

    def void_invoice(self, invoice_id: str) -> Invoice:
        return self.update_invoice(invoice_id, {"Status": "VOIDED"})

    def _invoice_ref(self, payload: Mapping[str, Any]) -> Invoice:
        ref = payload.get("Invoice")
        if not isinstance(ref, Mapping):
            raise ValidationError("An Invoice must be specified")
        invoice = self.invoices.get(_text(ref, "InvoiceID"))
        number = _text(ref, "InvoiceNumber")
        if invoice is None and number:
            invoice = next((i for i in self.invoices.values() if i.number == number), None)
        if invoice is None:
            raise ValidationError("Invoice could not be found")  # [U] wording
        return invoice

    def create_payment(self, payload: Mapping[str, Any], *, duplicate: bool = False) -> Payment:
        """A receipt against one AUTHORISED invoice, at most its AmountDue, into a bank account."""
        with self.lock:
            invoice = self._invoice_ref(payload)
            if invoice.status != "AUTHORISED":
                raise ValidationError("Payment can only be made against Authorised documents")
            account_ref = payload.get("Account")
            code = _text(account_ref, "Code") if isinstance(account_ref, Mapping) else ""
            account = self.accounts.get(code)
            if account is None or account.type != "BANK":
                raise ValidationError("Account code must be a bank account or have payments enabled")
            amount = money(to_decimal(payload.get("Amount"), "Amount"))
            if amount <= 0:
                raise ValidationError("Payment amount must be greater than zero")
            if amount > invoice.amount_due:
                raise ValidationError("Payment amount exceeds the amount outstanding on this document")
            on = parse_request_date(payload["Date"], "Date") if payload.get("Date") else self.now().date()
            reference = _text(payload, "Reference")
            payment = Payment(new_id(), invoice.invoice_id, code, on, amount, reference, self.now())
            self.payments[payment.payment_id] = payment
            self._settle(invoice, paid=amount, on=on)
            if duplicate and invoice.amount_due >= amount:
                twin = copy.deepcopy(payment)
                twin.payment_id = new_id()
                self.payments[twin.payment_id] = twin
                self._settle(invoice, paid=amount, on=on)
            return copy.deepcopy(payment)

    def _settle(
        self, invoice: Invoice, *, paid: Decimal = ZERO, credited: Decimal = ZERO, on: dt.date
    ) -> None:
        invoice.amount_paid += paid
        invoice.amount_credited += credited
        if invoice.amount_due <= 0:
            invoice.status = "PAID"
            invoice.fully_paid_on = on
        invoice.updated = self.now()

    def create_credit_note(self, payload: Mapping[str, Any], *, duplicate: bool = False) -> CreditNote:
        """An ACCRECCREDIT; ``Allocations`` in the body are applied at once."""
        with self.lock:
            kind = _text(payload, "Type")
            if kind != "ACCRECCREDIT":
                raise ValidationError(f"Credit note Type '{kind}' is not simulated; only ACCRECCREDIT is")
            contact, issued, amount_types, currency = self._header(payload)
            lines, totals = self._lines(payload, amount_types)
            status = _text(payload, "Status") or "DRAFT"
            if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
                raise ValidationError(f"Credit note Status '{status}' cannot be used when creating one")
            number = _text(payload, "CreditNoteNumber") or self._next_number(
                "creditnote", "CN-{:04d}", (c.number for c in self.credit_notes.values())
            )
            note = CreditNote(
                credit_note_id=new_id(),
                number=number,
                reference=_text(payload, "Reference"),
                contact_id=contact.contact_id,
                date=issued,
                status=status,
                line_amount_types=amount_types,
                lines=lines,
                totals=totals,
                currency=currency,
                updated=self.now(),
            )
            self.credit_notes[note.credit_note_id] = note
            allocations = payload.get("Allocations") or []
            if allocations:
                self.allocate_credit(note.credit_note_id, allocations)
            del duplicate  # [U] duplicate delivery is not simulated for credit notes
            return copy.deepcopy(self.credit_notes[note.credit_note_id])

    def allocate_credit(self, credit_note_id: str, allocations: Iterable[Mapping[str, Any]]) -> CreditNote:
        """``PUT /CreditNotes/{id}/Allocations``: each at most the invoice's due and the credit left."""
        with self.lock:
            note = self.credit_notes.get(credit_note_id)
            if note is None:
                raise ValidationError("Credit note could not be found")
            if note.status != "AUTHORISED":
                raise ValidationError("Only authorised credit notes can be allocated")
            for raw in allocations:
                invoice = self._invoice_ref(raw)
                if invoice.contact_id != note.contact_id:
                    raise ValidationError("The credit note and the invoice must be for the same contact")
                amount = money(to_decimal(raw.get("Amount"), "Amount"))
                if amount <= 0 or amount > note.remaining_credit or amount > invoice.amount_due:
                    raise ValidationError("Allocation amount exceeds the credit remaining or the amount due")
                on = parse_request_date(raw["Date"], "Date") if raw.get("Date") else self.now().date()
                note.allocations.append(Allocation(new_id(), invoice.invoice_id, amount, on))
                self._settle(invoice, credited=amount, on=on)
            if note.remaining_credit <= 0:
                note.status = "PAID"
            note.updated = self.now()
            return copy.deepcopy(note)

    # -- reading ---------------------------------------------------------------------------------

    def list_invoices(self) -> list[Invoice]:
        with self.lock:
            return copy.deepcopy(list(self.invoices.values()))

    def get_invoice(self, invoice_id: str) -> Invoice | None:
        with self.lock:
            return copy.deepcopy(self.invoices.get(invoice_id))

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            return {
                "tenant_id": self.org.tenant_id,
                "contacts": [self.render_contact(c) for c in self.contacts.values()],
                "items": [self.render_item(i) for i in self.items.values()],
                "tax_rates": [r.render() for r in self.tax_rates.values()],
                "invoices": [self.render_invoice(i) for i in self.invoices.values()],
                "payments": [self.render_payment(p) for p in self.payments.values()],
                "credit_notes": [self.render_credit_note(c) for c in self.credit_notes.values()],
            }

    # -- rendering -------------------------------------------------------------------------------

    def _contact_ref(self, contact_id: str) -> dict[str, object]:
        contact = self.contacts.get(contact_id)
        return {"ContactID": contact_id, "Name": contact.name if contact else ""}

    def render_contact(self, contact: Contact) -> dict[str, object]:
        outstanding = overdue = ZERO
        today = self.now().date()
        for invoice in self.invoices.values():
            if invoice.contact_id == contact.contact_id and invoice.status == "AUTHORISED":
                outstanding += invoice.amount_due
                if invoice.due_date < today:
                    overdue += invoice.amount_due
        return {
            "ContactID": contact.contact_id,
            "ContactNumber": contact.contact_number,
            "AccountNumber": contact.account_number,
            "ContactStatus": contact.status,
            "Name": contact.name,
            "EmailAddress": contact.email,
            "TaxNumber": contact.tax_number,
            "IsCustomer": contact.is_customer,
            "IsSupplier": False,
            "DefaultCurrency": self.org.base_currency,
            "Addresses": [],
            "Phones": [],
            "Balances": {"AccountsReceivable": {"Outstanding": outstanding, "Overdue": overdue}},
            "UpdatedDateUTC": ms_json(contact.updated),
        }

    def render_item(self, item: Item) -> dict[str, object]:
        sales: dict[str, object] = {"UnitPrice": item.unit_price, "AccountCode": item.account_code}
        if item.tax_type:
            sales["TaxType"] = item.tax_type
        return {
            "ItemID": item.item_id,
            "Code": item.code,
            "Name": item.name,
            "Description": item.description,
            "IsSold": True,
            "IsPurchased": False,
            "IsTrackedAsInventory": False,
            "SalesDetails": sales,
            "UpdatedDateUTC": ms_json(item.updated),
        }

    def render_invoice(self, invoice: Invoice) -> dict[str, object]:
        payments = [p for p in self.payments.values() if p.invoice_id == invoice.invoice_id]
        credits = [
            (note, a)
            for note in self.credit_notes.values()
            for a in note.allocations
            if a.invoice_id == invoice.invoice_id
        ]
        body: dict[str, object] = {
            "Type": invoice.type,
            "InvoiceID": invoice.invoice_id,
            "InvoiceNumber": invoice.number,
            "Reference": invoice.reference,
            "Contact": self._contact_ref(invoice.contact_id),
            "Date": ms_json(invoice.date),
            "DateString": date_string(invoice.date),
            "DueDate": ms_json(invoice.due_date),
            "DueDateString": date_string(invoice.due_date),
            "Status": invoice.status,
            "LineAmountTypes": invoice.line_amount_types,
            "LineItems": [line.render() for line in invoice.lines],
            "SubTotal": invoice.totals.sub_total,
            "TotalTax": invoice.totals.total_tax,
            "Total": invoice.totals.total,
            "AmountDue": invoice.amount_due,
            "AmountPaid": invoice.amount_paid,
            "AmountCredited": invoice.amount_credited,
            "CurrencyCode": invoice.currency,
            "CurrencyRate": Decimal("1.000000"),
            "HasErrors": False,
            "IsDiscounted": False,
            "Payments": [
                {"PaymentID": p.payment_id, "Date": ms_json(p.date), "Amount": p.amount} for p in payments
            ],
            "CreditNotes": [
                {
                    "CreditNoteID": note.credit_note_id,
                    "CreditNoteNumber": note.number,
                    "AppliedAmount": a.amount,
                    "Total": note.totals.total,
                }
                for note, a in credits
            ],
            "UpdatedDateUTC": ms_json(invoice.updated),
        }
        if invoice.fully_paid_on is not None:
            body["FullyPaidOnDate"] = ms_json(invoice.fully_paid_on)
        return body

    def render_payment(self, payment: Payment) -> dict[str, object]:
        invoice = self.invoices[payment.invoice_id]
        account = self.accounts[payment.account_code]
        return {
            "PaymentID": payment.payment_id,
            "Date": ms_json(payment.date),
            "Amount": payment.amount,
            "BankAmount": payment.amount,
            "Reference": payment.reference,
            "CurrencyRate": Decimal("1.000000"),
            "PaymentType": "ACCRECPAYMENT",
            "Status": payment.status,
            "IsReconciled": False,
            "HasAccount": True,
            "HasValidationErrors": False,
            "Account": {"AccountID": account.account_id, "Code": account.code, "Name": account.name},
            "Invoice": {
                "Type": invoice.type,
                "InvoiceID": invoice.invoice_id,
                "InvoiceNumber": invoice.number,
                "Contact": self._contact_ref(invoice.contact_id),
                "CurrencyCode": invoice.currency,  # [U] nested currency on a payment's invoice
            },
            "UpdatedDateUTC": ms_json(payment.updated),
        }

    def render_credit_note(self, note: CreditNote) -> dict[str, object]:
        return {
            "Type": "ACCRECCREDIT",
            "CreditNoteID": note.credit_note_id,
            "CreditNoteNumber": note.number,
            "Reference": note.reference,
            "Contact": self._contact_ref(note.contact_id),
            "Date": ms_json(note.date),
            "DateString": date_string(note.date),
            "Status": note.status,
            "LineAmountTypes": note.line_amount_types,
            "LineItems": [line.render() for line in note.lines],
            "SubTotal": note.totals.sub_total,
            "TotalTax": note.totals.total_tax,
            "Total": note.totals.total,
            "RemainingCredit": note.remaining_credit,
            "CurrencyCode": note.currency,
            "CurrencyRate": Decimal("1.000000"),
            "Allocations": [
                {
                    "AllocationID": a.allocation_id,
                    "Amount": a.amount,
                    "Date": ms_json(a.date),
                    "Invoice": {
                        "InvoiceID": a.invoice_id,
                        "InvoiceNumber": self.invoices[a.invoice_id].number,
                    },
                }
                for a in note.allocations
            ],
            "HasErrors": False,
            "UpdatedDateUTC": ms_json(note.updated),
        }

    @staticmethod
    def render_failed(payload: Mapping[str, Any], messages: list[str], id_field: str) -> dict[str, object]:
        """A refused element of a ``summarizeErrors=false`` answer (apis.md 3.6)."""
        echoed = {k: v for k, v in payload.items() if isinstance(k, str)}
        return {
            **echoed,
            id_field: ZERO_ID,
            "HasErrors": True,
            "StatusAttributeString": "ERROR",
            "ValidationErrors": [{"Message": m} for m in messages],
        }

