"""One simulated Tally company: masters, vouchers, and what imports and exports do to them.

Semantics follow apis.md section 4; where it is silent the choice is marked [U] and tests must
not treat it as Tally's behaviour:

* Import (legacy ``Import Data`` or version-1 ``Import``): each object in a TALLYMESSAGE is
  checked alone; a refused object adds one LINEERROR and one to ERRORS, the others go on.
* A voucher whose REMOTEID exists is altered (ALTERED), a new one created (CREATED, LASTVCHID);
  a VOUCHERNUMBER already used in its voucher type by another voucher is refused with an
  "already exists" LINEERROR [S]. Every ledger, stock item and godown named must exist, every
  leg's sign must match ISDEEMEDPOSITIVE, and the amounts must sum to zero, else a LINEERROR
  naming what is wrong (the wording is [U]).
* Export: the Day Book (legacy or version-1 ``Data``) answers in importable form
  (``IMPORTDATA/REQUESTDATA/TALLYMESSAGE/VOUCHER``); a version-1 ``Collection`` with inline TDL
  answers ``DATA/COLLECTION/<OBJECT>`` [U: shape] for Voucher, Ledger and Company, filtered by
  formulas of the form ``$Field <op> "text"|number`` (text compared without case [U]).
* A request naming another company, or any request while the company is closed, gets an empty
  answer (apis.md 4.1: "the company must be open ... otherwise export returns empty").
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sandbox.tally.xmlwire import (
    CHR4_MARKER,
    Element,
    amount,
    is_yes,
    message_holder,
    money_text,
    new,
    sub,
    text,
)

PREDEFINED_GROUPS = frozenset(
    {
        "Bank Accounts",
        "Bank OD A/c",
        "Branch / Divisions",
        "Capital Account",
        "Cash-in-Hand",
        "Current Assets",
        "Current Liabilities",
        "Deposits (Asset)",
        "Direct Expenses",
        "Direct Incomes",
        "Duties & Taxes",
        "Fixed Assets",
        "Indirect Expenses",
        "Indirect Incomes",
        "Investments",
        "Loans & Advances (Asset)",
        "Loans (Liability)",
        "Misc. Expenses (ASSET)",
        "Provisions",
        "Purchase Accounts",
        "Reserves & Surplus",
        "Sales Accounts",
        "Secured Loans",
        "Stock-in-Hand",
        "Sundry Creditors",
        "Sundry Debtors",
        "Suspense A/c",
        "Unsecured Loans",
    }
)
VOUCHER_TYPES = frozenset(
    {"Sales", "Receipt", "Credit Note", "Payment", "Journal", "Contra", "Purchase", "Debit Note"}
)
INVOICE_VIEW = "Invoice Voucher View"
ACCOUNTING_VIEW = "Accounting Voucher View"
MASTER_TAGS = {"LEDGER": "Ledger", "STOCKITEM": "Stock Item", "GODOWN": "Godown"}
# Tags the simulator owns on a stored voucher: dropped from what is imported, written on export.
_OWN_TAGS = ("GUID", "MASTERID", "ALTERID", "ISCANCELLED", "VCHGSTCLASS")
_FORMULA = re.compile(
    r'^\s*\$([A-Za-z][A-Za-z0-9]*)\s*(=|<>|!=|>=|<=|>|<)\s*(?:"([^"]*)"|(-?\d+(?:\.\d+)?))\s*$'
)
_LEDGER_FIELDS = {
    "gst_registration_type": "GSTREGISTRATIONTYPE",
    "gstin": "PARTYGSTIN",
    "state": "STATENAME",
    "tax_type": "TAXTYPE",
    "gst_duty_head": "GSTDUTYHEAD",
    "rate": "RATEOFTAXCALCULATION",
}


class ObjectError(Exception):
    """One object refused: its text becomes a LINEERROR."""


@dataclass
class Master:
    kind: str  # LEDGER | STOCKITEM | GODOWN
    name: str
    master_id: int
    alter_id: int
    guid: str
    fields: dict[str, str] = field(default_factory=dict)  # PARENT, BASEUNITS, GSTDUTYHEAD, ...


@dataclass
class Voucher:
    master_id: int
    alter_id: int
    guid: str
    remote_id: str
    vch_key: str
    vch_type: str
    number: str
    date: date
    objview: str
    party: str
    party_amount: Decimal
    element: Element  # the VOUCHER as imported, without the tags the simulator owns
    cancelled: bool = False


@dataclass
class Counts:
    created: int = 0
    altered: int = 0
    deleted: int = 0
    combined: int = 0
    ignored: int = 0
    errors: int = 0
    cancelled: int = 0
    last_voucher_id: int = 0
    last_master_id: int = 0
    line_errors: list[str] = field(default_factory=list)


def _yyyymmdd(value: str) -> date | None:
    value = value.strip()
    if not re.fullmatch(r"\d{8}", value):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _children(node: Element, *tags: str) -> list[Element]:
    found: list[Element] = []
    for tag in tags:
        found.extend(node.findall(tag))
    return found


class TallyState:
    """The company's books behind one lock (Tally serves one request at a time)."""

    def __init__(self, company: str = "Dealer Sync Demo Pvt Ltd") -> None:
        self.lock = threading.RLock()
        self.company = company
        self.company_guid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"tally-sim:{company}"))
        self.is_open = True
        self.masters: dict[str, dict[str, Master]] = {kind: {} for kind in MASTER_TAGS}
        self.vouchers: list[Voucher] = []
        self.requests: dict[str, int] = {}
        self._master_ids = self._voucher_ids = self._alter_ids = 0
        self._last_master_alter = self._last_voucher_alter = 0
        self._numbers: dict[str, int] = {}

    # -- setup -----------------------------------------------------------------------------------

    def reset(self) -> None:
        """An empty, open company: no masters, no vouchers, counters from zero."""
        with self.lock:
            self.is_open = True
            for table in self.masters.values():
                table.clear()
            self.vouchers.clear()
            self.requests.clear()
            self._master_ids = self._voucher_ids = self._alter_ids = 0
            self._last_master_alter = self._last_voucher_alter = 0
            self._numbers.clear()

    def _next_alter(self) -> int:
        self._alter_ids += 1
        return self._alter_ids

    def _guid(self, master_id: int, kind: str) -> str:
        return f"{self.company_guid}-{kind[0].lower()}{master_id:07x}"

    def _put_master(self, kind: str, name: str, fields: Mapping[str, str]) -> tuple[Master, bool]:
        table = self.masters[kind]
        alter_id = self._next_alter()
        self._last_master_alter = alter_id
        existing = table.get(name)
        if existing is not None:
            existing.fields.update(fields)
            existing.alter_id = alter_id
            return existing, False
        self._master_ids += 1
        master = Master(
            kind, name, self._master_ids, alter_id, self._guid(self._master_ids, kind), dict(fields)
        )
        table[name] = master
        return master, True

    def add_ledger(self, name: str, parent: str, **fields: Any) -> Master:
        """Seed a ledger; ``fields`` by our names (gstin, state, tax_type, gst_duty_head, rate)."""
        with self.lock:
            if parent not in PREDEFINED_GROUPS:
                raise ObjectError(f"Group '{parent}' does not exist!")
            tags = {"PARENT": parent}
            for key, value in fields.items():
                if value is None:
                    continue
                tag = _LEDGER_FIELDS.get(key)
                if tag is None:
                    raise ObjectError(f"unknown ledger field {key!r}")
                tags[tag] = format(value, "f") if isinstance(value, Decimal) else str(value)
            return self._put_master("LEDGER", name, tags)[0]

    def add_stock_item(self, name: str, unit: str = "Nos", hsn: str = "") -> Master:
        with self.lock:
            fields = {"BASEUNITS": unit}
            if hsn:
                fields["HSNCODE"] = hsn
            return self._put_master("STOCKITEM", name, fields)[0]

    def add_godown(self, name: str) -> Master:
        with self.lock:
            return self._put_master("GODOWN", name, {})[0]

    def add_gst_ledgers(
        self,
        rates: Iterable[Decimal | int | str] = (5, 12, 18, 28),
        *,
        sales: str = "Sales GST {rate}%",
        tax: str = "Output {tax} {rate}%",
    ) -> list[str]:
        """Sales ledgers and output CGST/SGST/IGST ledgers per rate, as a company would set up."""
        heads = {"CGST": "Central Tax", "SGST": "State Tax", "IGST": "Integrated Tax"}
        names = []
        with self.lock:
            for raw in rates:
                rate = Decimal(str(raw))
                names.append(self.add_ledger(sales.format(rate=_pct(rate)), "Sales Accounts").name)
                if not rate:
                    continue
                for name, component in (("CGST", rate / 2), ("SGST", rate / 2), ("IGST", rate)):
                    ledger = self.add_ledger(
                        tax.format(tax=name, rate=_pct(component)),
                        "Duties & Taxes",
                        tax_type="GST",
                        gst_duty_head=heads[name],
                        rate=_pct(component),
                    )
                    names.append(ledger.name)
        return names

    def ledger(self, name: str) -> Master | None:
        with self.lock:
            return copy.deepcopy(self.masters["LEDGER"].get(name))

    # -- requests --------------------------------------------------------------------------------

    def handle(self, root: Element, *, duplicate: bool = False) -> Element | None:
        """Answer one envelope; None means Tally's empty answer (company not open)."""
        with self.lock:
            header = root.find("HEADER")
            if root.tag != "ENVELOPE" or header is None:
                return _legacy_error("Unknown Request: expected ENVELOPE/HEADER")
            request = text(header, "TALLYREQUEST").strip().lower()
            v1 = text(header, "VERSION").strip() == "1"
            variables = root.find("BODY/DESC/STATICVARIABLES" if v1 else "BODY/*/REQUESTDESC/STATICVARIABLES")
            company = text(variables, "SVCURRENTCOMPANY").strip() if variables is not None else ""
            if not self.is_open or (company and company != self.company):
                return None
            if request in ("import data", "import"):
                answer = self._import(root, header, v1)
                if duplicate:  # the same request delivered twice: Tally processes it twice
                    self._import(root, header, v1)
                return answer
            if request in ("export data", "export"):
                return self._export(root, header, v1, variables)
            return _legacy_error(f"Unknown Request '{text(header, 'TALLYREQUEST')}'")

    def _count(self, kind: str) -> None:
        self.requests[kind] = self.requests.get(kind, 0) + 1

    # -- import ----------------------------------------------------------------------------------

    def _import(self, root: Element, header: Element, v1: bool) -> Element:
        if v1:
            report = text(header, "ID")
            holders = root.findall("BODY/DATA/TALLYMESSAGE")
        else:
            report = text(root, "BODY/IMPORTDATA/REQUESTDESC/REPORTNAME")
            holders = root.findall("BODY/IMPORTDATA/REQUESTDATA/TALLYMESSAGE")
        self._count(f"import:{report}")
        counts = Counts()
        for holder in holders:
            for node in holder:
                if not isinstance(node.tag, str):
                    continue
                try:
                    self.import_object(node, counts)
                except ObjectError as exc:
                    counts.errors += 1
                    counts.line_errors.append(str(exc))
        return _import_answer(counts, v1)

    def import_object(self, node: Element, counts: Counts) -> None:
        tag = node.tag.split("}")[-1]
        if tag == "VOUCHER":
            self._import_voucher(node, counts)
        elif tag in MASTER_TAGS:
            self._import_master(node, tag, counts)
        else:
            raise ObjectError(f"Unknown object '{tag}' in TALLYMESSAGE")

    def _import_master(self, node: Element, kind: str, counts: Counts) -> None:
        label = MASTER_TAGS[kind]
        name = (node.get("NAME") or text(node, "NAME")).strip()
        if not name:
            raise ObjectError(f"{label} name is missing")
        action = (node.get("ACTION") or "Create").strip().lower()
        table = self.masters[kind]
        if action == "delete":
            if table.pop(name, None) is None:
                raise ObjectError(f"{label} '{name}' does not exist!")
            counts.deleted += 1
            return
        if action not in ("create", "alter"):
            raise ObjectError(f"Unknown ACTION '{node.get('ACTION')}' for {label} '{name}'")
        if action == "alter" and name not in table:
            raise ObjectError(f"{label} '{name}' does not exist!")
        fields = {
            child.tag: str(child.text or "")
            for child in node
            if isinstance(child.tag, str) and child.tag != "NAME" and not len(child)
        }
        if kind == "LEDGER" and fields.get("PARENT", "").strip() not in PREDEFINED_GROUPS:
            raise ObjectError(f"Group '{fields.get('PARENT', '')}' does not exist!")
        master, created = self._put_master(kind, name, fields)
        if created:
            counts.created += 1
            counts.last_master_id = master.master_id
        else:  # [U] ACTION Create on an existing master alters it here
            counts.altered += 1

    def _need(self, kind: str, name: str) -> None:
        if name not in self.masters[kind]:
            raise ObjectError(f"{MASTER_TAGS[kind]} '{name}' does not exist!")

    def _amount(self, node: Element, what: str) -> Decimal:
        try:
            value = amount(text(node, "AMOUNT"))
        except ValueError as exc:
            raise ObjectError(f"{what}: {exc}") from exc
        deemed_positive = is_yes(text(node, "ISDEEMEDPOSITIVE"))
        if value and (value < 0) != deemed_positive:
            # [S] sign convention: a debit is negative with ISDEEMEDPOSITIVE Yes (apis.md 4.2).
            raise ObjectError(
                f"{what}: AMOUNT {value} does not agree with ISDEEMEDPOSITIVE "
                f"{'Yes' if deemed_positive else 'No'}"
            )
        return value

    def _bills(self, exclude: Voucher | None = None) -> dict[tuple[str, str], Decimal]:
        """(party, bill name) -> outstanding (positive: the party owes), over live vouchers."""
        bills: dict[tuple[str, str], Decimal] = {}
        for voucher in self.vouchers:
            if voucher is exclude or voucher.cancelled:
                continue
            for leg in _children(voucher.element, "LEDGERENTRIES.LIST", "ALLLEDGERENTRIES.LIST"):
                ledger = text(leg, "LEDGERNAME")
                for bill in leg.findall("BILLALLOCATIONS.LIST"):
                    key = (ledger, text(bill, "NAME"))
                    bills[key] = bills.get(key, Decimal(0)) - amount(text(bill, "AMOUNT") or "0")
        return bills

    def _check_voucher(self, node: Element, existing: Voucher | None) -> tuple[str, Decimal]:
        """Every reference exists, every sign agrees, the voucher balances; (party, party amount)."""
        party = text(node, "PARTYLEDGERNAME").strip()
        if party:
            self._need("LEDGER", party)
        debit = credit = Decimal(0)
        party_amount: Decimal | None = None
        bills: dict[tuple[str, str], Decimal] | None = None
        for leg in _children(node, "LEDGERENTRIES.LIST", "ALLLEDGERENTRIES.LIST"):
            ledger = text(leg, "LEDGERNAME")
            self._need("LEDGER", ledger)
            value = self._amount(leg, f"Ledger '{ledger}'")
            debit, credit = (debit - value, credit) if value < 0 else (debit, credit + value)
            if is_yes(text(leg, "ISPARTYLEDGER")) or (party and ledger == party and party_amount is None):
                party_amount = value
            for bill in leg.findall("BILLALLOCATIONS.LIST"):
                try:
                    amount(text(bill, "AMOUNT"))
                except ValueError as exc:
                    raise ObjectError(f"Bill '{text(bill, 'NAME')}' of '{ledger}': {exc}") from exc
                if text(bill, "BILLTYPE").strip().lower() != "agst ref":
                    continue
                bills = self._bills(exclude=existing) if bills is None else bills
                if (ledger, text(bill, "NAME")) not in bills:  # [U] wording
                    raise ObjectError(f"Bill '{text(bill, 'NAME')}' of '{ledger}' does not exist!")
        for entry in node.findall("ALLINVENTORYENTRIES.LIST"):
            item = text(entry, "STOCKITEMNAME")
            self._need("STOCKITEM", item)
            value = self._amount(entry, f"Stock Item '{item}'")
            debit, credit = (debit - value, credit) if value < 0 else (debit, credit + value)
            for tag in ("ACTUALQTY", "BILLEDQTY"):
                quantity = text(entry, tag).strip().split(" ")[0]
                if quantity and not re.fullmatch(r"-?\d+(\.\d+)?", quantity):
                    raise ObjectError(f"Stock Item '{item}': {tag} '{text(entry, tag)}' is not a quantity")
            for batch in entry.findall("BATCHALLOCATIONS.LIST"):
                godown = text(batch, "GODOWNNAME").strip()
                if godown:
                    self._need("GODOWN", godown)
            allocated = Decimal(0)
            for allocation in entry.findall("ACCOUNTINGALLOCATIONS.LIST"):
                ledger = text(allocation, "LEDGERNAME")
                self._need("LEDGER", ledger)
                allocated += self._amount(allocation, f"Ledger '{ledger}'")
            if allocated != value:
                raise ObjectError(
                    f"Stock Item '{item}': accounting allocations of {allocated} do not match its "
                    f"amount {value}"
                )
        if debit != credit:  # [U] wording
            raise ObjectError(
                f"Voucher totals do not match! Dr: {money_text(debit)} Dr  Cr: {money_text(credit)} Cr  "
                f"Diff: {money_text(abs(debit - credit))}"
            )
        return party, party_amount if party_amount is not None else Decimal(0)

    def _import_voucher(self, node: Element, counts: Counts) -> None:
        action = (node.get("ACTION") or "Create").strip().lower()
        vch_type = (node.get("VCHTYPE") or text(node, "VOUCHERTYPENAME")).strip()
        remote_id = (node.get("REMOTEID") or "").strip()
        number = text(node, "VOUCHERNUMBER").strip()
        ident = remote_id or number or "(no REMOTEID)"
        existing = next((v for v in self.vouchers if remote_id and v.remote_id == remote_id), None)
        if action == "delete":
            if existing is None:
                raise ObjectError(f"Voucher {ident} does not exist!")
            self.vouchers.remove(existing)
            self._last_voucher_alter = self._next_alter()
            counts.deleted += 1
            return
        if action == "cancel":
            if existing is None:
                raise ObjectError(f"Voucher {ident} does not exist!")
            existing.cancelled = True
            existing.alter_id = self._last_voucher_alter = self._next_alter()
            counts.cancelled += 1
            return
        if action not in ("create", "alter"):
            raise ObjectError(f"Unknown ACTION '{node.get('ACTION')}' for voucher {ident}")
        if not vch_type:
            raise ObjectError(f"Voucher Type is missing for voucher {ident}")
        if vch_type not in VOUCHER_TYPES:
            raise ObjectError(f"Voucher Type '{vch_type}' does not exist!")
        if action == "alter" and existing is None:
            raise ObjectError(f"Voucher {ident} does not exist!")
        day = _yyyymmdd(text(node, "DATE"))
        if day is None:  # apis.md 4.3 quotes this text for a date in the wrong format
            raise ObjectError(
                f"Voucher date is missing for '{vch_type}' voucher {ident}.  Verify the data, "
                "resolve any errors, and retry"
            )
        party, party_amount = self._check_voucher(node, existing)
        if number:
            for other in self.vouchers:
                if other is not existing and other.vch_type == vch_type and other.number == number:
                    raise ObjectError(f"Voucher Number '{number}' already exists!")
        else:
            number = self._next_number(vch_type)
        stored = copy.deepcopy(node)
        stored.attrib.clear()
        for tag in _OWN_TAGS:
            for old in stored.findall(tag):
                stored.remove(old)
        if stored.find("VOUCHERNUMBER") is None:
            sub(stored, "VOUCHERNUMBER", number)
        objview = node.get("OBJVIEW") or (
            INVOICE_VIEW if node.find("ALLINVENTORYENTRIES.LIST") is not None else ACCOUNTING_VIEW
        )
        alter_id = self._last_voucher_alter = self._next_alter()
        if existing is not None:
            existing.element, existing.alter_id, existing.vch_type = stored, alter_id, vch_type
            existing.number, existing.date, existing.objview = number, day, objview
            existing.party, existing.party_amount, existing.cancelled = party, party_amount, False
            counts.altered += 1
            return
        self._voucher_ids += 1
        master_id = self._voucher_ids
        guid = text(node, "GUID").strip() or self._guid(master_id, "voucher")
        self.vouchers.append(
            Voucher(
                master_id=master_id,
                alter_id=alter_id,
                guid=guid,
                remote_id=remote_id or guid,
                vch_key=f"{guid}-{master_id:04x}:{len(self.vouchers) + 1:08x}",
                vch_type=vch_type,
                number=number,
                date=day,
                objview=objview,
                party=party,
                party_amount=party_amount,
                element=stored,
            )
        )
        counts.created += 1
        counts.last_voucher_id = master_id

    def _next_number(self, vch_type: str) -> str:
        used = {v.number for v in self.vouchers if v.vch_type == vch_type}
        while True:
            self._numbers[vch_type] = self._numbers.get(vch_type, 0) + 1
            candidate = str(self._numbers[vch_type])
            if candidate not in used:
                return candidate

    # -- export ----------------------------------------------------------------------------------

    def _export(self, root: Element, header: Element, v1: bool, variables: Element | None) -> Element:
        if v1:
            kind = text(header, "TYPE").strip().lower()
            ident = text(header, "ID").strip()
            if kind == "collection":
                return self._collection(root, ident, variables)
            if kind == "data" and ident.lower() == "day book":
                return self._day_book(variables)
            return _export_error(f"Could not find Report '{ident}'!", v1)
        report = text(root, "BODY/EXPORTDATA/REQUESTDESC/REPORTNAME").strip()
        if report.lower() == "day book":
            return self._day_book(variables)
        return _export_error(f"Could not find Report '{report}'!", v1)

    def _window(self, variables: Element | None) -> tuple[date | None, date | None] | str:
        bounds: list[date | None] = []
        for tag in ("SVFROMDATE", "SVTODATE"):
            raw = text(variables, tag).strip() if variables is not None else ""
            day = _yyyymmdd(raw) if raw else None
            if raw and day is None:
                return f"{tag} '{raw}' is not a date"
            bounds.append(day)
        return bounds[0], bounds[1]

    def _dated(self, first: date | None, last: date | None) -> list[Voucher]:
        chosen = [
            v
            for v in self.vouchers
            if (first is None or v.date >= first) and (last is None or v.date <= last)
        ]
        return sorted(chosen, key=lambda v: (v.date, v.master_id))

    def _day_book(self, variables: Element | None) -> Element:
        """apis.md 4.4: the answer is in importable form. Without dates: every voucher [U]."""
        self._count("export:Day Book")
        window = self._window(variables)
        if isinstance(window, str):
            return _export_error(window, False)
        root = new("ENVELOPE")
        sub(sub(root, "HEADER"), "TALLYREQUEST", "Import Data")
        data = sub(sub(root, "BODY"), "IMPORTDATA")
        description = sub(data, "REQUESTDESC")
        sub(description, "REPORTNAME", "Vouchers")
        sub(sub(description, "STATICVARIABLES"), "SVCURRENTCOMPANY", self.company)
        request_data = sub(data, "REQUESTDATA")
        for voucher in self._dated(*window):
            message_holder(request_data).append(self.render_voucher(voucher))
        return root

    def render_voucher(self, voucher: Voucher) -> Element:
        out = copy.deepcopy(voucher.element)
        for name, value in (
            ("REMOTEID", voucher.remote_id),
            ("VCHKEY", voucher.vch_key),
            ("VCHTYPE", voucher.vch_type),
            ("ACTION", "Create"),
            ("OBJVIEW", voucher.objview),
        ):
            out.set(name, value)
        guid = new("GUID")
        guid.text = voucher.guid
        out.insert(0, guid)
        sub(out, "ISCANCELLED", "Yes" if voucher.cancelled else "No")
        sub(out, "ALTERID", str(voucher.alter_id))
        sub(out, "MASTERID", str(voucher.master_id))
        sub(out, "VCHGSTCLASS", f"{CHR4_MARKER} Not Applicable")  # [U] where Tally puts &#4;
        return out

    def _render_master(self, master: Master) -> Element:
        out = new(master.kind, NAME=master.name, RESERVEDNAME="")
        sub(out, "GUID", master.guid)
        sub(out, "MASTERID", str(master.master_id))
        sub(out, "ALTERID", str(master.alter_id))
        for tag, value in master.fields.items():
            sub(out, tag, value)
        return out

    def _collection(self, root: Element, ident: str, variables: Element | None) -> Element:
        tdl = root.find("BODY/DESC/TDL/TDLMESSAGE")
        collection = None
        if tdl is not None:
            collection = next(
                (c for c in tdl.findall("COLLECTION") if (c.get("NAME") or "").lower() == ident.lower()),
                None,
            )
        if collection is None:  # built-in collections are not simulated [U]
            return _export_error(f"Could not find Collection '{ident}'!", True)
        object_type = text(collection, "TYPE").strip().lower()
        self._count(f"export:collection:{object_type}")
        formulas = {
            (s.get("NAME") or ""): str(s.text or "")
            for s in (tdl.findall("SYSTEM") if tdl is not None else [])
            if (s.get("TYPE") or "").lower() == "formulae"
        }
        tests: list[Callable[[Mapping[str, str]], bool]] = []
        for name in (n.strip() for n in text(collection, "FILTER").split(",")):
            if not name:
                continue
            if name not in formulas:
                return _export_error(f"Could not find Formula '{name}'!", True)
            test = _formula(formulas[name])
            if test is None:
                return _export_error(f"The simulator cannot evaluate the formula '{formulas[name]}'", True)
            tests.append(test)
        window = self._window(variables)
        if isinstance(window, str):
            return _export_error(window, True)
        rendered: list[Element] = []
        if object_type == "voucher":
            for voucher in self._dated(*window):
                if all(t(_voucher_fields(voucher)) for t in tests):
                    rendered.append(self.render_voucher(voucher))
        elif object_type in ("ledger", "stockitem", "stock item", "godown"):
            kind = {"ledger": "LEDGER", "godown": "GODOWN"}.get(object_type, "STOCKITEM")
            for master in sorted(self.masters[kind].values(), key=lambda m: m.master_id):
                if all(t(_master_fields(master)) for t in tests):
                    rendered.append(self._render_master(master))
        elif object_type == "company":
            company = new("COMPANY", NAME=self.company)
            sub(company, "NAME", self.company)
            sub(company, "ALTMSTID", str(self._last_master_alter))
            sub(company, "ALTVCHID", str(self._last_voucher_alter))
            if all(t({"name": self.company}) for t in tests):
                rendered.append(company)
        else:
            return _export_error(f"Unknown collection TYPE '{text(collection, 'TYPE')}'", True)
        answer = new("ENVELOPE")
        header = sub(answer, "HEADER")
        sub(header, "VERSION", "1")
        sub(header, "STATUS", "1")
        body = sub(answer, "BODY")
        sub(body, "DESC")
        holder = sub(sub(body, "DATA"), "COLLECTION")
        for node in rendered:
            holder.append(node)
        return answer

    # -- finance, as people do it in Tally -------------------------------------------------------

    def _post(self, voucher: Element) -> Voucher:
        counts = Counts()
        self._import_voucher(voucher, counts)
        return next(v for v in self.vouchers if v.remote_id == voucher.get("REMOTEID"))

    def record_receipt(
        self,
        party: str,
        amount_received: Decimal | int | str,
        *,
        on: date,
        against: Mapping[str, Decimal | int | str] | None = None,
        bank_ledger: str = "HDFC Bank",
        number: str | None = None,
        reference: str | None = None,
    ) -> Voucher:
        """A Receipt: bank debited, party credited; ``against`` settles bills, the rest on account."""
        with self.lock:
            received = Decimal(str(amount_received))
            bills = {name: Decimal(str(value)) for name, value in (against or {}).items()}
            remote_id = str(uuid.uuid4())
            voucher = new("VOUCHER", REMOTEID=remote_id, VCHTYPE="Receipt", ACTION="Create")
            voucher.set("OBJVIEW", ACCOUNTING_VIEW)
            sub(voucher, "DATE", on.strftime("%Y%m%d"))
            sub(voucher, "VOUCHERTYPENAME", "Receipt")
            if number:
                sub(voucher, "VOUCHERNUMBER", number)
            if reference:
                sub(voucher, "REFERENCE", reference)
            sub(voucher, "PARTYLEDGERNAME", party)
            sub(voucher, "PERSISTEDVIEW", ACCOUNTING_VIEW)
            bank = sub(voucher, "ALLLEDGERENTRIES.LIST")
            sub(bank, "LEDGERNAME", bank_ledger)
            sub(bank, "ISDEEMEDPOSITIVE", "Yes")
            sub(bank, "AMOUNT", money_text(-received))
            leg = sub(voucher, "ALLLEDGERENTRIES.LIST")
            sub(leg, "LEDGERNAME", party)
            sub(leg, "ISDEEMEDPOSITIVE", "No")
            sub(leg, "ISPARTYLEDGER", "Yes")
            sub(leg, "AMOUNT", money_text(received))
            _bill_allocations(leg, bills, received, on_account=remote_id)
            return copy.deepcopy(self._post(voucher))

    def record_credit_note(
        self,
        party: str,
        taxable: Decimal | int | str,
        *,
        on: date,
        sales_ledger: str,
        taxes: Mapping[str, Decimal | int | str] | None = None,
        invoice: str | None = None,
        applied: Decimal | int | str | None = None,
        number: str | None = None,
        reason: str | None = None,
    ) -> Voucher:
        """A Credit Note: sales and GST ledgers debited, party credited; ``applied`` of it (all,
        by default) settles the ``invoice`` bill, the rest stays open on account."""
        with self.lock:
            base = Decimal(str(taxable))
            tax_legs = {name: Decimal(str(value)) for name, value in (taxes or {}).items()}
            total = base + sum(tax_legs.values(), Decimal(0))
            bills: dict[str, Decimal] = {}
            if invoice:
                bills[invoice] = total if applied is None else Decimal(str(applied))
            remote_id = str(uuid.uuid4())
            voucher = new("VOUCHER", REMOTEID=remote_id, VCHTYPE="Credit Note", ACTION="Create")
            voucher.set("OBJVIEW", ACCOUNTING_VIEW)
            sub(voucher, "DATE", on.strftime("%Y%m%d"))
            sub(voucher, "VOUCHERTYPENAME", "Credit Note")
            if number:
                sub(voucher, "VOUCHERNUMBER", number)
            sub(voucher, "PARTYLEDGERNAME", party)
            if reason:
                sub(voucher, "NARRATION", reason)
            leg = sub(voucher, "ALLLEDGERENTRIES.LIST")
            sub(leg, "LEDGERNAME", party)
            sub(leg, "ISDEEMEDPOSITIVE", "No")
            sub(leg, "ISPARTYLEDGER", "Yes")
            sub(leg, "AMOUNT", money_text(total))
            _bill_allocations(leg, bills, total, on_account=remote_id)
            for ledger, value in ((sales_ledger, base), *tax_legs.items()):
                debit = sub(voucher, "ALLLEDGERENTRIES.LIST")
                sub(debit, "LEDGERNAME", ledger)
                sub(debit, "ISDEEMEDPOSITIVE", "Yes")
                sub(debit, "AMOUNT", money_text(-value))
            return copy.deepcopy(self._post(voucher))

    def cancel_voucher(self, remote_id: str) -> None:
        with self.lock:
            voucher = next((v for v in self.vouchers if v.remote_id == remote_id), None)
            if voucher is None:
                raise ObjectError(f"Voucher {remote_id} does not exist!")
            voucher.cancelled = True
            voucher.alter_id = self._last_voucher_alter = self._next_alter()

    # -- inspection ------------------------------------------------------------------------------

    def find_vouchers(self, vch_type: str | None = None) -> list[Voucher]:
        with self.lock:
            return [copy.deepcopy(v) for v in self.vouchers if vch_type is None or v.vch_type == vch_type]

    def bill_outstanding(self, party: str, bill: str) -> Decimal:
        with self.lock:
            return self._bills().get((party, bill), Decimal(0))

    def voucher_summary(self, voucher: Voucher) -> dict[str, object]:
        return {
            "remote_id": voucher.remote_id,
            "guid": voucher.guid,
            "master_id": voucher.master_id,
            "alter_id": voucher.alter_id,
            "type": voucher.vch_type,
            "number": voucher.number,
            "date": voucher.date.isoformat(),
            "party": voucher.party,
            "party_amount": money_text(voucher.party_amount),
            "cancelled": voucher.cancelled,
        }

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            return {
                "company": self.company,
                "open": self.is_open,
                "ledgers": [
                    {"name": m.name, "master_id": m.master_id, **m.fields}
                    for m in self.masters["LEDGER"].values()
                ],
                "stock_items": [{"name": m.name, **m.fields} for m in self.masters["STOCKITEM"].values()],
                "godowns": [m.name for m in self.masters["GODOWN"].values()],
                "vouchers": [self.voucher_summary(v) for v in self.vouchers],
                "requests": dict(self.requests),
            }

    def seed(self, payload: Mapping[str, Any]) -> dict[str, object]:
        """``{"ledgers": [{"name", "parent", ...}], "stock_items": [{"name", "unit", "hsn"}],
        "godowns": ["Pune WH"], "gst_rates": [5, 12, 18, 28]}``."""
        with self.lock:
            created: dict[str, list[str]] = {"ledgers": [], "stock_items": [], "godowns": []}
            if payload.get("gst_rates"):
                created["ledgers"] += self.add_gst_ledgers(payload["gst_rates"])
            for spec in payload.get("ledgers") or []:
                fields = {k: v for k, v in spec.items() if k not in ("name", "parent")}
                created["ledgers"].append(self.add_ledger(spec["name"], spec["parent"], **fields).name)
            for spec in payload.get("stock_items") or []:
                item = self.add_stock_item(spec["name"], spec.get("unit", "Nos"), spec.get("hsn", ""))
                created["stock_items"].append(item.name)
            for name in payload.get("godowns") or []:
                created["godowns"].append(self.add_godown(str(name)).name)
            return {"created": created}


def _pct(rate: Decimal) -> str:
    return format(rate.normalize(), "f") if rate else "0"


def _bill_allocations(leg: Element, bills: Mapping[str, Decimal], total: Decimal, *, on_account: str) -> None:
    """Agst Ref rows for ``bills``; what is left of ``total`` goes on account [U: tags]."""
    rest = total
    for name, value in bills.items():
        bill = sub(leg, "BILLALLOCATIONS.LIST")
        sub(bill, "NAME", name)
        sub(bill, "BILLTYPE", "Agst Ref")
        sub(bill, "AMOUNT", money_text(value))
        rest -= value
    if rest > 0:
        bill = sub(leg, "BILLALLOCATIONS.LIST")
        sub(bill, "NAME", on_account)
        sub(bill, "BILLTYPE", "On Account")
        sub(bill, "AMOUNT", money_text(rest))


def _voucher_fields(voucher: Voucher) -> dict[str, str]:
    return {
        "vouchernumber": voucher.number,
        "vouchertypename": voucher.vch_type,
        "remoteid": voucher.remote_id,
        "guid": voucher.guid,
        "alterid": str(voucher.alter_id),
        "masterid": str(voucher.master_id),
        "partyledgername": voucher.party,
        "reference": text(voucher.element, "REFERENCE"),
        "date": voucher.date.strftime("%Y%m%d"),
        "iscancelled": "Yes" if voucher.cancelled else "No",
    }


def _master_fields(master: Master) -> dict[str, str]:
    return {
        "name": master.name,
        "parent": master.fields.get("PARENT", ""),
        "guid": master.guid,
        "alterid": str(master.alter_id),
        "masterid": str(master.master_id),
    }


def _formula(formula: str) -> Callable[[Mapping[str, str]], bool] | None:
    """``$Field op "text"`` or ``$Field op number``; None when the simulator cannot evaluate it."""
    match = _FORMULA.match(formula)
    if match is None:
        return None
    name, op, literal, number = match.group(1).lower(), match.group(2), match.group(3), match.group(4)

    def test(fields: Mapping[str, str]) -> bool:
        if name not in fields:
            return False
        value = fields[name]
        left: Any
        right: Any
        if number is not None:
            try:
                left, right = Decimal(value or "0"), Decimal(number)
            except ArithmeticError:
                return False
        else:
            left, right = value.casefold(), (literal or "").casefold()
        comparisons: dict[str, Callable[[Any, Any], bool]] = {
            "=": lambda a, b: bool(a == b),
            "<>": lambda a, b: bool(a != b),
            "!=": lambda a, b: bool(a != b),
            ">": lambda a, b: bool(a > b),
            "<": lambda a, b: bool(a < b),
            ">=": lambda a, b: bool(a >= b),
            "<=": lambda a, b: bool(a <= b),
        }
        return comparisons[op](left, right)

    return test


def _import_answer(counts: Counts, v1: bool) -> Element:
    """apis.md 4.3: version 1 -> ``BODY/DATA/IMPORTRESULT``; legacy -> a flat ``RESPONSE``."""
    tags = (
        ("CREATED", counts.created),
        ("ALTERED", counts.altered),
        ("DELETED", counts.deleted),
        ("LASTVCHID", counts.last_voucher_id),
        ("LASTMID", counts.last_master_id),
        ("COMBINED", counts.combined),
        ("IGNORED", counts.ignored),
        ("ERRORS", counts.errors),
        ("CANCELLED", counts.cancelled),
    )
    if v1:
        root = new("ENVELOPE")
        header = sub(root, "HEADER")
        sub(header, "VERSION", "1")
        sub(header, "STATUS", "1")
        data = sub(sub(root, "BODY"), "DATA")
        for error in counts.line_errors:
            sub(data, "LINEERROR", error)
        holder = sub(data, "IMPORTRESULT")
    else:
        root = holder = new("RESPONSE")
        for error in counts.line_errors:
            sub(holder, "LINEERROR", error)
    for tag, value in tags:
        sub(holder, tag, str(value))
    return root


def _export_error(message: str, v1: bool) -> Element:
    """[U] shape: Tally's answer to an export it cannot run is not in apis.md."""
    if not v1:
        return _legacy_error(message)
    root = new("ENVELOPE")
    header = sub(root, "HEADER")
    sub(header, "VERSION", "1")
    sub(header, "STATUS", "0")
    sub(sub(sub(root, "BODY"), "DATA"), "LINEERROR", message)
    return root


def _legacy_error(message: str) -> Element:
    root = new("RESPONSE")
    sub(root, "LINEERROR", message)
    sub(root, "CREATED", "0")
    sub(root, "ALTERED", "0")
    sub(root, "ERRORS", "1")
    return root
