"""Tally vouchers and ledgers as exported (tolerant readers), and their canonical forms.

A row is an exported element as a dict (``connectors.tally.xml.row``): Tally's own tags in upper
case, ``X.LIST`` children as lists. The client adds what Tally's voucher XML does not repeat, in
lower case so the two never mix: ``currency`` (the company's), ``exported_at`` (when we read it:
Tally keeps no change time, its ALTERID orders changes instead), ``settled`` on Sales vouchers
(receipts and credit notes allocated against the invoice's bill), and ``gst_duty_head`` /
``gst_rate`` on legs and inventory entries, from the ledger masters.

Identity: a voucher's id is its REMOTEID (ours for what we import: the document number; Tally
makes a GUID-like one for vouchers entered by hand), its number the VOUCHERNUMBER, its customer
the party ledger name. Receipts and credit notes settle invoices by bill name, which for the
invoices we import is the document number, hence the invoice's id.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from connectors.tally.xml import is_yes, parse_amount, parse_quantity, parse_rate, parse_tally_date
from dealer_sync.models import (
    Allocation,
    CreditNote,
    CreditNoteStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    TaxLine,
)
from dealer_sync.money import Money
from dealer_sync.timeutil import UtcDateTime, utcnow


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _name(value: Any) -> str:
    """A master's name: the NAME attribute, or the first NAME of a ``NAME.LIST`` (aliases follow)."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("NAME", "")
    return _text(value)


def _optional_decimal(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_amount(value)


def _optional_int(value: Any) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a whole number") from exc


def _optional_quantity(value: Any) -> Decimal | None:
    if not str(value or "").strip():
        return None
    return parse_quantity(value)[0]


def _optional_rate(value: Any) -> Decimal | None:
    if not str(value or "").strip():
        return None
    return parse_rate(value)[0]


TallyText = Annotated[str, BeforeValidator(_text)]
TallyName = Annotated[str, BeforeValidator(_name)]
TallyAmount = Annotated[Decimal, BeforeValidator(parse_amount)]
TallyFlag = Annotated[bool, BeforeValidator(is_yes)]
TallyDate = Annotated[dt.date, BeforeValidator(parse_tally_date)]
OptionalDecimal = Annotated[Decimal | None, BeforeValidator(_optional_decimal)]
OptionalInt = Annotated[int | None, BeforeValidator(_optional_int)]
OptionalQuantity = Annotated[Decimal | None, BeforeValidator(_optional_quantity)]
OptionalRate = Annotated[Decimal | None, BeforeValidator(_optional_rate)]

_DUTY_HEADS = {
    # TallyPrime 3 exports CGST/SGST/IGST where older releases say Central/State/Integrated Tax
    # (apis.md 4.2, TallyConnector#27): accept both.
    "central tax": "CGST",
    "cgst": "CGST",
    "state tax": "SGST",
    "sgst": "SGST",
    "ut tax": "UTGST",
    "utgst": "UTGST",
    "integrated tax": "IGST",
    "igst": "IGST",
    "cess": "CESS",
}


def duty_head(text: str) -> str | None:
    """Our name of a GST duty head (CGST, SGST, UTGST, IGST, CESS), or None."""
    return _DUTY_HEADS.get(text.strip().lower())


class TallyRecord(BaseModel):
    """Exports carry many more tags than we read, and more appear with each release."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TallyBill(TallyRecord):
    """A bill-wise allocation. [U] tags not in apis.md (Tally's BILLALLOCATIONS.LIST)."""

    name: TallyText = Field(alias="NAME")
    bill_type: TallyText = Field(default="", alias="BILLTYPE")
    credit_period: TallyText = Field(default="", alias="BILLCREDITPERIOD")
    amount: TallyAmount = Field(default=Decimal(0), alias="AMOUNT")

    @property
    def against(self) -> bool:
        """Settles an existing bill (``Agst Ref``), as opposed to opening one or on account."""
        return self.bill_type.strip().lower() == "agst ref"

    @property
    def credit_days(self) -> int | None:
        match = re.match(r"\s*(\d+)\s*day", self.credit_period, re.IGNORECASE)
        return int(match.group(1)) if match else None


class TallyAccountingAllocation(TallyRecord):
    ledger: TallyText = Field(alias="LEDGERNAME")
    amount: TallyAmount = Field(default=Decimal(0), alias="AMOUNT")
    deemed_positive: TallyFlag = Field(default=False, alias="ISDEEMEDPOSITIVE")


class TallyBatch(TallyRecord):
    godown: TallyText = Field(default="", alias="GODOWNNAME")
    batch: TallyText = Field(default="", alias="BATCHNAME")


class TallyLedgerEntry(TallyRecord):
    """One leg. Debit: negative AMOUNT with ISDEEMEDPOSITIVE Yes; credit: positive with No."""

    ledger: TallyText = Field(alias="LEDGERNAME")
    amount: TallyAmount = Field(default=Decimal(0), alias="AMOUNT")
    deemed_positive: TallyFlag = Field(default=False, alias="ISDEEMEDPOSITIVE")
    is_party: TallyFlag = Field(default=False, alias="ISPARTYLEDGER")
    bills: list[TallyBill] = Field(default_factory=list, alias="BILLALLOCATIONS")
    gst_duty_head: str | None = None  # from the ledger master (added by the client)
    gst_rate: OptionalDecimal = None


class TallyInventoryEntry(TallyRecord):
    item: TallyText = Field(alias="STOCKITEMNAME")
    rate: OptionalRate = Field(default=None, alias="RATE")
    billed_quantity: OptionalQuantity = Field(default=None, alias="BILLEDQTY")
    actual_quantity: OptionalQuantity = Field(default=None, alias="ACTUALQTY")
    amount: TallyAmount = Field(default=Decimal(0), alias="AMOUNT")
    hsn: TallyText = Field(default="", alias="HSNCODE")
    batches: list[TallyBatch] = Field(default_factory=list, alias="BATCHALLOCATIONS")
    allocations: list[TallyAccountingAllocation] = Field(default_factory=list, alias="ACCOUNTINGALLOCATIONS")
    gst_rate: OptionalDecimal = None  # the line's GST rate, from its sales ledger (added by the client)

    @property
    def quantity(self) -> Decimal | None:
        return self.billed_quantity if self.billed_quantity is not None else self.actual_quantity


class TallyVoucher(TallyRecord):
    """Any voucher as exported; the subclasses say which canonical document it becomes."""

    remote_id: TallyText = Field(default="", alias="REMOTEID")
    guid: TallyText = Field(default="", alias="GUID")
    vch_key: TallyText = Field(default="", alias="VCHKEY")
    vch_type: TallyText = Field(default="", alias="VCHTYPE")
    voucher_type: TallyText = Field(default="", alias="VOUCHERTYPENAME")
    master_id: TallyText = Field(default="", alias="MASTERID")
    alter_id: OptionalInt = Field(default=None, alias="ALTERID")
    date: TallyDate = Field(alias="DATE")
    number: TallyText = Field(default="", alias="VOUCHERNUMBER")
    reference: TallyText = Field(default="", alias="REFERENCE")
    party_name: TallyText = Field(default="", alias="PARTYLEDGERNAME")
    narration: TallyText = Field(default="", alias="NARRATION")
    state: TallyText = Field(default="", alias="STATENAME")
    place_of_supply: TallyText = Field(default="", alias="PLACEOFSUPPLY")
    gstin: TallyText = Field(default="", alias="PARTYGSTIN")
    cancelled: TallyFlag = Field(default=False, alias="ISCANCELLED")
    ledger_entries: list[TallyLedgerEntry] = Field(default_factory=list, alias="LEDGERENTRIES")
    all_ledger_entries: list[TallyLedgerEntry] = Field(default_factory=list, alias="ALLLEDGERENTRIES")
    inventory_entries: list[TallyInventoryEntry] = Field(default_factory=list, alias="ALLINVENTORYENTRIES")
    currency: str = "INR"
    exported_at: UtcDateTime | None = None
    settled: OptionalDecimal = None

    @property
    def id(self) -> str:
        return self.remote_id or self.guid or self.master_id

    @property
    def kind(self) -> str:
        return self.voucher_type or self.vch_type

    @property
    def entries(self) -> list[TallyLedgerEntry]:
        """Every ledger leg: invoice view keeps them in LEDGERENTRIES, accounting view in ALL..."""
        return [*self.ledger_entries, *self.all_ledger_entries]

    @property
    def party_entry(self) -> TallyLedgerEntry | None:
        entries = self.entries
        marked = [e for e in entries if e.is_party]
        if marked:
            return marked[0]
        named = [e for e in entries if self.party_name and e.ledger == self.party_name]
        return named[0] if named else None

    @property
    def customer(self) -> str:
        entry = self.party_entry
        return self.party_name or (entry.ledger if entry else "")

    def _money(self, amount: Decimal) -> Money:
        return Money(amount=amount, currency=self.currency)

    def _party_amount(self) -> Decimal:
        entry = self.party_entry
        if entry is None:
            raise ValueError(f"{self.kind} voucher {self.number or self.id} has no party ledger entry")
        return entry.amount

    def _agst_bills(self) -> list[TallyBill]:
        entry = self.party_entry
        return [b for b in (entry.bills if entry else []) if b.against and b.name]

    def _allocations(self) -> tuple[Allocation, ...]:
        return tuple(
            Allocation(invoice_id=b.name, amount=self._money(abs(b.amount)))
            for b in self._agst_bills()
            if b.amount
        )

    def _taxable(self) -> Decimal:
        return sum((e.amount for e in self.inventory_entries), Decimal(0))

    def tax_lines(self) -> tuple[TaxLine, ...]:
        """One line per (duty head, rate) from the GST legs, as positive amounts.

        A leg whose ledger master gave no rate gets the rate its amount implies on the taxable
        value (two places), which is exact for single-rate vouchers.
        """
        groups: dict[tuple[str, Decimal | None], Decimal] = {}
        for leg in self.entries:
            if leg.gst_duty_head:
                key = (leg.gst_duty_head, leg.gst_rate)
                groups[key] = groups.get(key, Decimal(0)) + leg.amount
        taxable = abs(self._taxable())
        lines = []
        for (name, rate), amount in groups.items():
            if rate is None:
                rate = (abs(amount) * 100 / taxable).quantize(Decimal("0.01")) if taxable else Decimal(0)
            lines.append(TaxLine(name=name, rate=rate.normalize(), amount=self._money(abs(amount))))
        return tuple(lines)

    def _single_rate(self, taxes: tuple[TaxLine, ...]) -> Decimal | None:
        """The whole voucher's GST rate when all its legs are one rate (CGST+SGST halves, or IGST)."""
        if len(taxes) == 1 and taxes[0].name == "IGST":
            return taxes[0].rate
        pair = {t.name for t in taxes} in ({"CGST", "SGST"}, {"CGST", "UTGST"})
        if len(taxes) == 2 and pair and taxes[0].rate == taxes[1].rate:
            return taxes[0].rate * 2
        return None

    def _lines(self, taxes: tuple[TaxLine, ...]) -> tuple[InvoiceLine, ...]:
        """Inventory entries as lines; their tax split only where it sums exactly to the legs."""
        entries: list[tuple[TallyInventoryEntry, Decimal, Decimal]] = []
        for entry in self.inventory_entries:
            quantity, price = entry.quantity, entry.rate
            if quantity is None or quantity <= 0 or price is None:
                return ()  # a line we cannot read whole: the invoice keeps its totals only
            entries.append((entry, quantity, price))
        if not entries:
            return ()
        single = self._single_rate(taxes)
        intra = any(t.name == "CGST" for t in taxes)
        second = "UTGST" if any(t.name == "UTGST" for t in taxes) else "SGST"
        lines: list[InvoiceLine] = []
        for index, (entry, quantity, price) in enumerate(entries, start=1):
            rate = entry.gst_rate if entry.gst_rate is not None else single
            amount = self._money(abs(entry.amount))
            split: tuple[TaxLine, ...] = ()
            if rate:
                if intra:
                    half = rate / 2
                    split = (
                        TaxLine(name="CGST", rate=half, amount=amount.percent(half)),
                        TaxLine(name=second, rate=half, amount=amount.percent(half)),
                    )
                elif taxes:
                    split = (TaxLine(name="IGST", rate=rate, amount=amount.percent(rate)),)
            lines.append(
                InvoiceLine(
                    line_no=index,
                    item_id=entry.item or None,
                    quantity=quantity,
                    unit_price=self._money(price),
                    amount=amount,
                    tax_rate=rate or Decimal(0),
                    tax_lines=split,
                )
            )
        if not self._splits_match(lines, taxes):
            lines = [line.model_copy(update={"tax_lines": ()}) for line in lines]
        return tuple(lines)

    @staticmethod
    def _splits_match(lines: list[InvoiceLine], taxes: tuple[TaxLine, ...]) -> bool:
        """Per (tax, rate), the lines' split sums to the voucher's leg (a zero sum needs no leg)."""

        def sums(items: list[TaxLine]) -> dict[tuple[str, Decimal], Decimal]:
            found: dict[tuple[str, Decimal], Decimal] = {}
            for tax in items:
                key = (tax.name, tax.rate.normalize())
                found[key] = found.get(key, Decimal(0)) + tax.amount.amount
            return {key: value for key, value in found.items() if value}

        return sums([t for line in lines for t in line.tax_lines]) == sums(list(taxes))


class TallyPartyVoucher(TallyVoucher):
    """A voucher with a party: sales, receipts, credit notes. Without a party leg it is unreadable."""

    @model_validator(mode="after")
    def _has_party(self) -> Self:
        if self.party_entry is None:
            raise ValueError(f"{self.kind} voucher {self.number or self.id} has no party ledger entry")
        return self


class TallySalesVoucher(TallyPartyVoucher):
    def canonical(self, dealer_id: str | None) -> Invoice:
        """An Invoice. Tally has no draft or sent state: a voucher is booked or cancelled.

        Status and balance come from ``settled`` (what receipts and credit notes allocated to
        this bill); without it the whole total is taken as open.
        """
        total = -self._party_amount()
        taxes = self.tax_lines()
        tax_total = sum((t.amount.amount for t in taxes), Decimal(0))
        inventory = self._taxable()
        if self.inventory_entries:
            subtotal = inventory
        else:  # accounting-view sales: every credit leg that is neither party nor GST
            party = self.party_entry
            subtotal = sum(
                (e.amount for e in self.entries if e is not party and not e.gst_duty_head), Decimal(0)
            )
        adjustment = total - subtotal - tax_total
        settled = self.settled or Decimal(0)
        balance = Decimal(0) if self.cancelled else min(max(total - settled, Decimal(0)), total)
        if self.cancelled:
            status = InvoiceStatus.VOID
        elif balance == 0:
            status = InvoiceStatus.PAID
        elif balance < total:
            status = InvoiceStatus.PARTIALLY_PAID
        else:
            status = InvoiceStatus.SENT
        party_entry = self.party_entry
        days = next(
            (b.credit_days for b in (party_entry.bills if party_entry else []) if b.credit_days is not None),
            None,
        )
        return Invoice(
            id=self.id,
            number=self.number or self.id,
            customer_id=self.customer,
            dealer_id=dealer_id,
            reference=self.reference or None,
            status=status,
            issue_date=self.date,
            due_date=self.date + dt.timedelta(days=days or 0),
            currency=self.currency,
            lines=self._lines(taxes),
            subtotal=self._money(subtotal),
            tax_total=self._money(tax_total),
            adjustment=self._money(adjustment) if adjustment else None,
            total=self._money(total),
            balance=self._money(balance),
            updated_at=self.exported_at or utcnow(),
        )


class TallyReceipt(TallyPartyVoucher):
    def canonical(self, dealer_id: str | None) -> Payment:
        """A Payment: the party's credit leg; ``Agst Ref`` bills are its allocations, the rest unused."""
        amount = self._money(self._party_amount())
        allocations = self._allocations()
        allocated = sum((a.amount.amount for a in allocations), Decimal(0))
        party = self.party_entry
        mode = next((e.ledger for e in self.entries if e is not party), None)
        return Payment(
            id=self.id,
            customer_id=self.customer,
            dealer_id=dealer_id,
            amount=amount,
            paid_on=self.date,
            reference=self.reference or None,
            mode=mode,
            allocations=allocations,
            unused=self._money(max(amount.amount - allocated, Decimal(0))),
            updated_at=self.exported_at or utcnow(),
        )


class TallyCreditNote(TallyPartyVoucher):
    def canonical(self, dealer_id: str | None) -> CreditNote:
        """A CreditNote: the party's credit leg; ``Agst Ref`` bills applied, the rest open."""
        total = self._party_amount()
        allocations = self._allocations()
        applied = sum((a.amount.amount for a in allocations), Decimal(0))
        balance = Decimal(0) if self.cancelled else total - applied
        if self.cancelled:
            status = CreditNoteStatus.VOID
        else:
            status = CreditNoteStatus.CLOSED if balance == 0 else CreditNoteStatus.OPEN
        against = self._agst_bills()
        return CreditNote(
            id=self.id,
            number=self.number or self.id,
            customer_id=self.customer,
            dealer_id=dealer_id,
            invoice_id=against[0].name if against else None,
            status=status,
            issued_on=self.date,
            currency=self.currency,
            total=self._money(total),
            balance=self._money(balance),
            allocations=() if self.cancelled else allocations,
            reason=self.narration or None,
            updated_at=self.exported_at or utcnow(),
        )


class TallyLedger(TallyRecord):
    """A ledger master as a collection export lists it."""

    name: TallyName = Field(alias="NAME")
    parent: TallyText = Field(default="", alias="PARENT")
    guid: TallyText = Field(default="", alias="GUID")
    master_id: TallyText = Field(default="", alias="MASTERID")
    alter_id: OptionalInt = Field(default=None, alias="ALTERID")
    gst_registration_type: TallyText = Field(default="", alias="GSTREGISTRATIONTYPE")
    gstin: TallyText = Field(default="", alias="PARTYGSTIN")
    state: TallyText = Field(default="", alias="STATENAME")
    tax_type: TallyText = Field(default="", alias="TAXTYPE")
    gst_duty_head_text: TallyText = Field(default="", alias="GSTDUTYHEAD")
    rate: OptionalDecimal = Field(default=None, alias="RATEOFTAXCALCULATION")  # [U] tag

    @property
    def gst_duty(self) -> str | None:
        """CGST/SGST/UTGST/IGST/CESS for a GST duty ledger, else None."""
        if self.tax_type.strip().upper() not in ("GST", ""):
            return None
        return duty_head(self.gst_duty_head_text)
