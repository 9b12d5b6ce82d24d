"""Tally Prime client: Sales vouchers imported once per REMOTEID, vouchers and ledgers exported.

The method names and shapes follow ZohoBooksClient where Tally can support them, so both can
stand behind one protocol later. Where Tally differs, the docstrings say how.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from connectors.http.budget import BudgetSpec, budget_for
from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.transport import RestTransport, RetryPolicy
from connectors.tally.bodies import (
    CREDIT_NOTE,
    RECEIPT,
    SALES,
    LedgerSpec,
    TallyNaming,
    VoucherBuildError,
    ledger_master,
    sales_voucher,
)
from connectors.tally.errors import (
    ImportResult,
    TallyCompanyError,
    TallyError,
    import_result,
    raise_for_export,
    raise_for_import,
    tally_http_error,
)
from connectors.tally.wire import TallyLedger, TallySalesVoucher
from connectors.tally.xml import (
    REQUEST_CONTENT_TYPE,
    TallyXmlError,
    XmlElement,
    collection_request,
    day_book_request,
    encode_request,
    import_envelope,
    is_yes,
    objects,
    parse_amount,
    parse_answer,
    row,
    tdl_equals,
    tdl_greater,
)
from dealer_sync.models import MappedOrder
from dealer_sync.timeutil import utcnow

PAGE_SIZE = 200
VOUCHER_FETCH = (
    "Date",
    "VoucherTypeName",
    "VoucherNumber",
    "Reference",
    "PartyLedgerName",
    "Narration",
    "IsCancelled",
    "RemoteID",
    "GUID",
    "MasterID",
    "AlterID",
    "LedgerEntries",
    "AllLedgerEntries",
    "AllInventoryEntries",
)
LEDGER_FETCH = (
    "Name",
    "Parent",
    "GUID",
    "MasterID",
    "AlterID",
    "GSTRegistrationType",
    "PartyGSTIN",
    "StateName",
    "TaxType",
    "GSTDutyHead",
    "RateOfTaxCalculation",
)


@dataclass(frozen=True)
class TallyCredentials:
    """Where one Tally company is served. Tally has no auth and no TLS (apis.md 4.1): no secrets.

    Tally is one single-threaded desktop process, so the budget allows one request at a time
    (apis.md 7.3); big exports are slow, hence the long timeout and the Day Book chunks.
    """

    url: str  # e.g. http://tally-host:9000 (any path is served)
    company: str  # SVCURRENTCOMPANY: the company must be open in Tally
    currency: str = "INR"  # the company's base currency
    requests_per_minute: int = 600
    max_concurrent: int = 1
    timeout_seconds: float = 60.0
    minute_seconds: float = 60.0
    day_book_days: int = 31  # one Day Book export covers at most this many days


class TallyTransport(RestTransport):
    """The shared transport's retries, budget and write rules, carrying XML instead of JSON.

    Only the wire format differs: UTF-16 XML out (the encoded envelope travels in ``json_body``),
    parsed XML back, and an empty answer meaning the company is not open.
    """

    def exchange(self, envelope: XmlElement, *, write: bool) -> XmlElement:
        return self.request("POST", "/", json_body=encode_request(envelope), write=write)

    def encode_body(self, body: Any) -> dict[str, Any]:
        return {"content": body, "headers": {"Content-Type": REQUEST_CONTENT_TYPE}}

    def error_body(self, response: httpx.Response) -> Any:
        return None  # Tally's error table reads the status and the text

    def decode_answer(self, response: httpx.Response, method: str, path: str, write: bool) -> Any:
        if not response.content.strip(b" \t\r\n\x00"):
            # Tally answers nothing at all when the company is not open (apis.md 4.1).
            raise TallyCompanyError(f"{self.system}: empty answer: is the company open in Tally?")
        try:
            return parse_answer(response.content, response.headers.get("content-type"))
        except TallyXmlError as exc:
            raise TallyError(
                f"{self.system}: {method} {path} answered {response.status_code} with {exc}",
                kind=ErrorKind.UNCERTAIN if write else ErrorKind.RETRY,
                status_code=response.status_code,
            ) from exc


def _pages(rows: list[dict[str, Any]], size: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _whole(value: Any) -> int:
    """A count or id Tally wrote as text; unreadable or missing reads as 0 (sorts first)."""
    try:
        return int(str(value or "0").strip() or 0)
    except ValueError:
        return 0


def _alter_id(record: Mapping[str, Any]) -> int:
    return _whole(record.get("ALTERID"))


def _party_bills(record: Mapping[str, Any], bill_type: str) -> list[tuple[str, Decimal]]:
    """(bill name, amount) of the party leg's bill allocations of one type, read defensively.

    The party leg is the one marked ISPARTYLEDGER, else the one naming PARTYLEDGERNAME, as in
    ``TallyVoucher.party_entry``.
    """
    entries = [
        entry
        for key in ("LEDGERENTRIES", "ALLLEDGERENTRIES")
        for entry in record.get(key) or []
        if isinstance(entry, dict)
    ]
    party = [e for e in entries if is_yes(e.get("ISPARTYLEDGER"))] or [
        e
        for e in entries
        if record.get("PARTYLEDGERNAME") and e.get("LEDGERNAME") == record["PARTYLEDGERNAME"]
    ]
    bills = (party[0].get("BILLALLOCATIONS") or []) if party else []
    found = []
    for bill in bills:
        if not isinstance(bill, dict) or str(bill.get("BILLTYPE", "")).strip().lower() != bill_type:
            continue
        try:
            found.append((str(bill.get("NAME") or ""), abs(parse_amount(bill.get("AMOUNT")))))
        except ValueError:
            continue  # the voucher's own reader reports it; here it only settles nothing
    return found


class TallyClient:
    """A plain httpx client of one Tally company. No Prefect here: tasks wrap it."""

    system = "tally"

    def __init__(
        self,
        credentials: TallyCredentials,
        *,
        naming: TallyNaming | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.credentials = credentials
        self.naming = naming or TallyNaming()
        self._http = httpx.Client(base_url=credentials.url, timeout=credentials.timeout_seconds)
        budget = budget_for(
            self.system,
            credentials.url,  # one Tally process serves every company it has open
            BudgetSpec(
                credentials.requests_per_minute, credentials.max_concurrent, credentials.minute_seconds
            ),
        )
        self.transport = TallyTransport(
            system=self.system, client=self._http, budget=budget, error_table=tally_http_error, retry=retry
        )

    def __enter__(self) -> TallyClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- imports ---------------------------------------------------------------------------------

    def post_import(self, envelope: XmlElement) -> ImportResult:
        """Send one import envelope; its counts and line errors, whatever they say."""
        return import_result(self.transport.exchange(envelope, write=True))

    def create_invoice(self, order: MappedOrder) -> TallySalesVoucher:
        """Import the order as a Sales voucher whose REMOTEID and number are our document number.

        Idempotent on Tally's side: a voucher with this REMOTEID is altered, never doubled
        (apis.md 4.2, 7.2); the client reports that as DUPLICATE, so the caller looks it up as
        after any Zoho duplicate. The voucher returned is the one sent (with the MasterID Tally
        gave it): Tally's import answer carries no copy of the object, and no ledger masters
        were read, so its GST legs are unclassified; ``invoice_detail`` reads the canonical one.
        """
        if order.currency != self.credentials.currency:
            raise TallyError(
                f"{order.document_number} is in {order.currency}; the Tally company books in "
                f"{self.credentials.currency}",
                kind=ErrorKind.BAD_REQUEST,
            )
        try:
            voucher = sales_voucher(order, self.naming)
        except (VoucherBuildError, TallyXmlError) as exc:
            raise TallyError(str(exc), kind=ErrorKind.BAD_REQUEST) from exc
        envelope = import_envelope("Vouchers", self.credentials.company, [voucher])
        result = self.post_import(envelope)
        raise_for_import(result, f"Sales voucher {order.document_number}")
        record = row(voucher)
        record["MASTERID"] = result.last_voucher_id or ""
        return TallySalesVoucher.model_validate(self._stamp(record))

    def create_invoices(self, orders: Sequence[MappedOrder]) -> list[str | ConnectorError]:
        """Import many Sales vouchers in one envelope; per order, its REMOTEID or its error.

        Tally answers an envelope with counts and line errors, not per voucher, so a clean answer
        (every voucher CREATED) names them all, and anything else is sorted out one by one: a
        voucher that is there now is done, the rest are imported alone for their own answer.
        """
        results: dict[int, str | ConnectorError] = {}
        vouchers: dict[int, XmlElement] = {}
        for index, order in enumerate(orders):
            try:
                if order.currency != self.credentials.currency:
                    raise VoucherBuildError(
                        f"{order.document_number} is in {order.currency}; the Tally company books in "
                        f"{self.credentials.currency}"
                    )
                vouchers[index] = sales_voucher(order, self.naming)
            except (VoucherBuildError, TallyXmlError) as exc:
                results[index] = TallyError(str(exc), kind=ErrorKind.BAD_REQUEST)
        if vouchers:
            envelope = import_envelope("Vouchers", self.credentials.company, list(vouchers.values()))
            try:
                result: ImportResult | None = self.post_import(envelope)
            except ConnectorError as exc:
                if exc.kind is not ErrorKind.UNCERTAIN:
                    return [results.get(i, exc) for i in range(len(orders))]
                result = None  # some may have been imported: each is looked up below
            clean = result is not None and not result.failed and result.created == len(vouchers)
            for index in vouchers:
                order = orders[index]
                if clean:
                    results[index] = order.document_number
                    continue
                try:
                    found = self.find_invoices(order.document_number)
                    results[index] = found[0].id if found else self.create_invoice(order).id
                except ConnectorError as exc:
                    results[index] = exc
        return [results[i] for i in range(len(orders))]

    def mark_invoices_sent(self, invoice_ids: Sequence[str]) -> None:
        """Nothing to do: a Tally voucher is booked as it is imported; there is no draft state."""

    def create_ledgers(self, ledgers: Sequence[LedgerSpec]) -> ImportResult:
        """Import ledger masters (``All Masters``); a LINEERROR on any of them raises BAD_REQUEST."""
        try:
            masters = [ledger_master(spec) for spec in ledgers]
        except TallyXmlError as exc:
            raise TallyError(str(exc), kind=ErrorKind.BAD_REQUEST) from exc
        result = self.post_import(import_envelope("All Masters", self.credentials.company, masters))
        if result.failed:
            raise TallyError(
                f"Tally refused ledgers: {'; '.join(result.line_errors)}",
                kind=ErrorKind.BAD_REQUEST,
                vendor_code="LINEERROR",
            )
        return result

    # -- lookups ---------------------------------------------------------------------------------

    def find_invoices(self, invoice_number: str) -> list[TallySalesVoucher]:
        """Sales vouchers numbered ``invoice_number`` in the company's current period.

        Without dates Tally searches its current period [U]. The balance is not worked out here
        (that takes every receipt and credit note): use ``invoice_detail`` for it.
        """
        rows = self._collection_vouchers(SALES, VoucherNumber=invoice_number)
        exact = [r for r in rows if str(r.get("VOUCHERNUMBER", "")) == invoice_number]
        return [TallySalesVoucher.model_validate(r) for r in self._annotate(exact)]

    def invoice_detail(self, invoice_id: str) -> TallySalesVoucher:
        """One Sales voucher by its REMOTEID, with GST legs classified and its bill's settlement."""
        rows = self._collection_vouchers(SALES, RemoteID=invoice_id)
        exact = [r for r in rows if str(r.get("REMOTEID", "")) == invoice_id]
        if not exact:
            raise TallyError(f"no Sales voucher with REMOTEID {invoice_id}", kind=ErrorKind.NOT_FOUND)
        settled = self._settlements()
        return TallySalesVoucher.model_validate(self._annotate(exact, settled)[0])

    # -- pages -----------------------------------------------------------------------------------

    def invoice_pages(
        self,
        modified_since: datetime | None = None,
        date_start: date | None = None,
        date_end: date | None = None,
        *,
        alter_id_after: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Sales voucher rows (read with ``TallySalesVoucher``), oldest change (ALTERID) first.

        Tally keeps no change times, so ``modified_since`` cannot narrow the export: every
        voucher of the window is read (a superset, stamped ``exported_at`` now). The incremental
        filter Tally has is ``alter_id_after`` (apis.md 4.4); ``last_alter_ids`` gives the
        company's latest. A date window (both ends inclusive) reads the Day Book in chunks.
        """
        del modified_since  # see the docstring: Tally has no modification time to filter on
        rows = self._voucher_rows(SALES, date_start, date_end, alter_id_after)
        yield from _pages(self._annotate(rows, self._settlements() if rows else {}))

    def payment_pages(
        self,
        modified_since: datetime | None = None,
        date_start: date | None = None,
        date_end: date | None = None,
        *,
        alter_id_after: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Receipt voucher rows (read with ``TallyReceipt``); filters as for ``invoice_pages``."""
        del modified_since
        yield from _pages(self._annotate(self._voucher_rows(RECEIPT, date_start, date_end, alter_id_after)))

    def credit_note_pages(
        self,
        modified_since: datetime | None = None,
        date_start: date | None = None,
        date_end: date | None = None,
        *,
        alter_id_after: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Credit Note voucher rows (read with ``TallyCreditNote``); filters as for invoices."""
        del modified_since
        rows = self._voucher_rows(CREDIT_NOTE, date_start, date_end, alter_id_after)
        yield from _pages(self._annotate(rows))

    def ledger_pages(self) -> Iterator[list[dict[str, Any]]]:
        """Every ledger master's row (read with ``TallyLedger``)."""
        yield from _pages(self._ledger_rows())

    def contact_pages(self) -> Iterator[list[dict[str, Any]]]:
        """Customers: the ledgers under Sundry Debtors (Tally's customers are ledgers)."""
        rows = [r for r in self._ledger_rows() if str(r.get("PARENT", "")).strip() == "Sundry Debtors"]
        yield from _pages(rows)

    def ledgers(self) -> list[TallyLedger]:
        return [TallyLedger.model_validate(r) for r in self._ledger_rows()]

    def day_book(self, first: date, last: date) -> list[dict[str, Any]]:
        """Rows of every voucher dated ``first`` to ``last`` (inclusive), in Day Book chunks."""
        if last < first:
            raise ValueError(f"the window ends ({last}) before it starts ({first})")
        rows: list[dict[str, Any]] = []
        step = timedelta(days=max(1, self.credentials.day_book_days))
        start = first
        while start <= last:
            end = min(last, start + step - timedelta(days=1))
            root = self.transport.exchange(
                day_book_request(self.credentials.company, start, end), write=False
            )
            raise_for_export(root, f"the Day Book {start}..{end}")
            rows.extend(row(v) for v in objects(root, "VOUCHER"))
            start = end + timedelta(days=1)
        return rows

    def last_alter_ids(self) -> tuple[int, int]:
        """The company's last (master, voucher) AlterIDs: the cursor for incremental reads [S]."""
        root = self._export_collection("DealerSyncCompany", "Company", ("Name", "AltMstId", "AltVchId"), [])
        for company in objects(root, "COMPANY"):
            record = row(company)
            if str(record.get("NAME", "")) == self.credentials.company:
                return _whole(record.get("ALTMSTID")), _whole(record.get("ALTVCHID"))
        raise TallyCompanyError(f"{self.system}: company {self.credentials.company!r} is not open in Tally")

    # -- helpers ---------------------------------------------------------------------------------

    def _export_collection(
        self,
        name: str,
        object_type: str,
        fetch: Sequence[str],
        filters: Sequence[str],
        first: date | None = None,
        last: date | None = None,
    ) -> XmlElement:
        envelope = collection_request(
            self.credentials.company, name, object_type, fetch, filters, first, last
        )
        root = self.transport.exchange(envelope, write=False)
        raise_for_export(root, f"the {object_type} collection")
        return root

    def _collection_vouchers(
        self, kind: str, alter_id_after: int | None = None, **equal: str
    ) -> list[dict[str, Any]]:
        """Vouchers of one type, by TDL filters: ``$<method> = "value"`` for each of ``equal``."""
        try:
            conditions = [tdl_equals("VoucherTypeName", kind)]
            conditions += [tdl_equals(method, value) for method, value in equal.items()]
            if alter_id_after is not None:
                conditions.append(tdl_greater("AlterID", alter_id_after))
        except TallyXmlError as exc:  # a value a TDL string cannot hold
            raise TallyError(str(exc), kind=ErrorKind.BAD_REQUEST) from exc
        root = self._export_collection("DealerSyncVouchers", "Voucher", VOUCHER_FETCH, conditions)
        return [row(v) for v in objects(root, "VOUCHER")]

    def _voucher_rows(
        self, kind: str, first: date | None, last: date | None, alter_id_after: int | None
    ) -> list[dict[str, Any]]:
        if first is not None or last is not None:
            if first is None or last is None:
                raise ValueError("a Tally date window needs both date_start and date_end")
            rows = [
                r
                for r in self.day_book(first, last)
                if str(r.get("VOUCHERTYPENAME") or r.get("VCHTYPE") or "") == kind
            ]
            if alter_id_after is not None:
                rows = [r for r in rows if _alter_id(r) > alter_id_after]
        else:
            rows = self._collection_vouchers(kind, alter_id_after)
        return sorted(rows, key=_alter_id)

    def _ledger_rows(self) -> list[dict[str, Any]]:
        root = self._export_collection("DealerSyncLedgers", "Ledger", LEDGER_FETCH, [])
        return [row(ledger) for ledger in objects(root, "LEDGER")]

    def _settlements(self) -> dict[str, Decimal]:
        """Per bill name: what receipts and credit notes (not cancelled) allocated against it."""
        settled: dict[str, Decimal] = {}
        for kind in (RECEIPT, CREDIT_NOTE):
            for record in self._collection_vouchers(kind):
                if is_yes(record.get("ISCANCELLED")):
                    continue
                for name, amount in _party_bills(record, "agst ref"):
                    settled[name] = settled.get(name, Decimal(0)) + amount
        return settled

    def _stamp(self, record: dict[str, Any]) -> dict[str, Any]:
        record["currency"] = self.credentials.currency
        record["exported_at"] = utcnow().isoformat()
        return record

    def _annotate(
        self, rows: list[dict[str, Any]], settled: Mapping[str, Decimal] | None = None
    ) -> list[dict[str, Any]]:
        """Add what voucher XML does not repeat: GST heads and rates from the ledger masters,
        each line's rate from its sales ledger's name (our naming), and the bill's settlement."""
        if not rows:
            return rows
        ledgers = {}
        for record in self._ledger_rows():
            ledger = TallyLedger.model_validate(record)
            ledgers[ledger.name] = ledger
        totals: set[Decimal] = {Decimal(0)}
        for ledger in ledgers.values():
            if ledger.rate is not None and ledger.gst_duty == "IGST":
                totals.add(ledger.rate)
            if ledger.rate is not None and ledger.gst_duty in ("CGST", "SGST", "UTGST"):
                totals.add(ledger.rate * 2)
        sales_rates = {self.naming.sales(rate): rate for rate in totals}
        for record in rows:
            self._stamp(record)
            for key in ("LEDGERENTRIES", "ALLLEDGERENTRIES"):
                for entry in record.get(key) or []:
                    found = ledgers.get(str(entry.get("LEDGERNAME", "")))
                    if found is not None and found.gst_duty:
                        entry["gst_duty_head"] = found.gst_duty
                        if found.rate is not None:
                            entry["gst_rate"] = format(found.rate, "f")
            for entry in record.get("ALLINVENTORYENTRIES") or []:
                for allocation in entry.get("ACCOUNTINGALLOCATIONS") or []:
                    rate = sales_rates.get(str(allocation.get("LEDGERNAME", "")))
                    if rate is not None:
                        entry["gst_rate"] = format(rate, "f")
            if settled is not None:
                bills = [name for name, _ in _party_bills(record, "new ref")] or [
                    str(record.get("VOUCHERNUMBER", ""))
                ]
                record["settled"] = format(sum((settled.get(b, Decimal(0)) for b in bills), Decimal(0)), "f")
        return rows
