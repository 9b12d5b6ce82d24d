"""One QBO company in memory: customers, items, tax codes, invoices, payments, credit memos.

Records are kept as the JSON objects QBO returns (Decimal amounts, timestamps rendered in the
company's zone), so a read is a copy and a query filters exactly what a client will see. Every
public method takes the lock and returns copies: a caller in another thread never holds live state.

Finance's side (``record_payment``, ``record_credit_memo``) books what a person would in QBO.
A credit memo is applied to its invoice directly, both documents linking each other in
``LinkedTxn``; QBO itself applies credits through a Payment or its auto-apply preference [U].
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.quickbooks.documents import Lookups, Rate, compute_lines, ref_value, required, subtotal_line
from sandbox.quickbooks.query import Query, run
from sandbox.quickbooks.wire import (
    CODE_BUSINESS_VALIDATION,
    CODE_DUPLICATE_DOC_NUMBER,
    CODE_DUPLICATE_NAME,
    CODE_INVALID_STRING,
    DOC_NUMBER_MAX,
    ErrorItem,
    QboFault,
    amount,
    as_date,
    invalid_reference,
    not_found,
    qbo_time,
    query_fault,
    validation_fault,
)
from sandbox.zoho.common import SimClock, money

ENTITIES = ("Customer", "Item", "TaxCode", "TaxRate", "Invoice", "Payment", "CreditMemo")
TRANSACTIONS = ("Invoice", "Payment", "CreditMemo")  # one Id sequence, as QBO's TxnIds [U]
CREATABLE = ("Customer", "Item", "Invoice", "Payment", "CreditMemo")
CURRENCY_NAMES = {"INR": "Indian Rupee", "USD": "United States Dollar", "CAD": "Canadian Dollar"}
CUSTOMER_FIELDS = (
    "CompanyName",
    "GivenName",
    "FamilyName",
    "PrimaryEmailAddr",
    "PrimaryPhone",
    "BillAddr",
    "ShipAddr",
    "Notes",
    "GSTIN",
    "GSTRegistrationType",
    "PrimaryTaxIdentifier",
    "SalesTermRef",
)
ITEM_FIELDS = (
    "Sku",
    "Description",
    "UnitPrice",
    "IncomeAccountRef",
    "AssetAccountRef",
    "ExpenseAccountRef",
    "TrackQtyOnHand",
    "QtyOnHand",
    "InvStartDate",
    "SalesTaxCodeRef",
    "Taxable",
)


@dataclass
class Company:
    """The one company (realm) a simulator serves. QBO India is not a target [U]: GST here is
    tax codes with CGST+SGST or IGST rates, in rupees, in Indian time."""

    realm_id: str = "9341453176547612"
    name: str = "Dealer Network Sandbox"
    time_zone: str = "Asia/Kolkata"
    currency: str = "INR"
    warn_duplicate_doc_num: bool = True  # the company preference behind 6140 (apis.md 2.5)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class CompanyState:
    """The records of one company, and the request-id replays its API keeps."""

    def __init__(self, company: Company, clock: SimClock) -> None:
        self.lock = threading.RLock()
        self.company = company
        self.clock = clock
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in ENTITIES}
        self._sequences: Counter[str] = Counter()
        self.replies: dict[str, tuple[int, bytes, str]] = {}  # requestid -> recorded answer
        self.replayed = 0
        self.minor_versions: Counter[str] = Counter()

    # -- basics ----------------------------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return self.company.tz

    def now_text(self) -> str:
        return qbo_time(self.clock.now(), self.tz)

    def today(self) -> date:
        return self.clock.today(self.tz)

    def reset(self) -> None:
        with self.lock:
            for table in self.records.values():
                table.clear()
            self._sequences.clear()
            self.replies.clear()
            self.replayed = 0
            self.minor_versions.clear()

    def _next_id(self, entity: str) -> str:
        sequence = "Txn" if entity in TRANSACTIONS else entity
        self._sequences[sequence] += 1
        return str(self._sequences[sequence] + (100 if sequence == "Txn" else 0))

    def _next_doc_number(self, entity: str) -> str:
        self._sequences[f"doc:{entity}"] += 1
        return str(1000 + self._sequences[f"doc:{entity}"])

    def _stamp(self, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        now = self.now_text()
        return {
            "domain": "QBO",
            "sparse": False,
            "Id": self._next_id(entity),
            "SyncToken": "0",
            "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
            **record,
        }

    def _touch(self, record: dict[str, Any]) -> None:
        record["SyncToken"] = str(int(record.get("SyncToken", "0")) + 1)
        record["MetaData"]["LastUpdatedTime"] = self.now_text()

    def _currency_ref(self) -> dict[str, str]:
        code = self.company.currency
        return {"value": code, "name": CURRENCY_NAMES.get(code, code)}

    def _entity(self, name: str) -> str:
        found = next((e for e in ENTITIES if e.lower() == name.lower()), None)
        if found is None:
            raise query_fault(f"Invalid entity {name}")
        return found

    # -- reads -----------------------------------------------------------------------------------

    def get(self, entity: str, entity_id: str) -> dict[str, Any]:
        with self.lock:
            name = self._entity(entity)
            record = self.records[name].get(entity_id)
            if record is None:
                raise not_found(name, entity_id)
            return self.render(name, record)

    def render(self, entity: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """A copy as QBO answers: invoices and credit memos gain their subtotal line on read."""
        body = copy.deepcopy(dict(record))
        if entity in ("Invoice", "CreditMemo"):
            body["Line"] = [*body["Line"], subtotal_line(body["Line"])]
        if entity == "Customer":
            open_balance = sum(
                (
                    i["Balance"]
                    for i in self.records["Invoice"].values()
                    if i["CustomerRef"]["value"] == body["Id"]
                ),
                Decimal(0),
            )
            body["Balance"] = body["BalanceWithJobs"] = money(open_balance)
        return body

    def query(self, query: Query) -> tuple[str, list[dict[str, Any]], int]:
        """(entity name, the page, how many matched); ``SELECT COUNT(*)`` reads the count only."""
        with self.lock:
            name = self._entity(query.entity)
            rendered = [self.render(name, r) for r in self.records[name].values()]
            page, total = run(query, rendered, self.tz)
            return name, page, total

    def all(self, entity: str) -> list[dict[str, Any]]:
        with self.lock:
            name = self._entity(entity)
            return [self.render(name, r) for r in self.records[name].values()]

    # -- creates ---------------------------------------------------------------------------------

    def create(
        self,
        entity: str,
        payload: Mapping[str, Any],
        *,
        allow_duplicate_doc_number: bool = False,
        visible: Mapping[str, set[str]] | None = None,
        duplicate: bool = False,
    ) -> dict[str, Any]:
        """Create one record from a request body; ``visible`` limits what refs may name (batch).

        ``duplicate`` stores a twin, as a request delivered twice without a requestid would.
        """
        with self.lock:
            name = self._entity(entity)
            if name not in CREATABLE:
                raise validation_fault(
                    CODE_BUSINESS_VALIDATION, "Unsupported Operation", f"{name} is read-only here"
                )
            if "Id" in payload:
                # Updates (Id + SyncToken + sparse) are not simulated [U: the connector never updates].
                raise validation_fault(
                    CODE_BUSINESS_VALIDATION, "Unsupported Operation", "updates are not simulated"
                )
            creators: dict[str, Callable[[], dict[str, Any]]] = {
                "Customer": lambda: self._customer(payload),
                "Item": lambda: self._item(payload),
                "Invoice": lambda: self._invoice(payload, allow_duplicate_doc_number, visible),
                "Payment": lambda: self._payment(payload, visible),
                "CreditMemo": lambda: self._credit_memo(payload, visible),
            }
            record = creators[name]()
            self.records[name][record["Id"]] = record
            if duplicate:
                twin = copy.deepcopy(record)
                twin["Id"] = self._next_id(name)
                self.records[name][twin["Id"]] = twin
            return self.render(name, record)

    def _unique_name(self, entity: str, field: str, value: str) -> None:
        if any(r.get(field) == value for r in self.records[entity].values()):
            raise QboFault(
                400,
                "ValidationFault",
                [
                    ErrorItem(
                        CODE_DUPLICATE_NAME,
                        "Duplicate Name Exists Error",
                        "The name supplied already exists. : Another customer, vendor or employee is "
                        "already using this name. Please use a different name.",
                        field,
                    )
                ],
            )

    def _customer(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        display = str(payload.get("DisplayName") or "").strip()
        if not display:
            raise required("DisplayName")
        self._unique_name("Customer", "DisplayName", display)
        fields = {k: copy.deepcopy(payload[k]) for k in CUSTOMER_FIELDS if k in payload}
        return self._stamp(
            "Customer",
            {
                "DisplayName": display,
                "FullyQualifiedName": display,
                "PrintOnCheckName": display,
                **fields,
                "Active": True,
                "Job": False,
                "CurrencyRef": self._currency_ref(),
                "PreferredDeliveryMethod": "Print",
                "Balance": Decimal("0.00"),
                "BalanceWithJobs": Decimal("0.00"),
            },
        )

    def _item(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        name = str(payload.get("Name") or "").strip()
        if not name:
            raise required("Name")
        self._unique_name("Item", "Name", name)
        kind = str(payload.get("Type") or "NonInventory")
        if kind == "Inventory":  # [S] inventory items need three accounts, a quantity and a date
            for element in (
                "IncomeAccountRef",
                "AssetAccountRef",
                "ExpenseAccountRef",
                "QtyOnHand",
                "InvStartDate",
            ):
                if payload.get(element) is None:
                    raise required(element)
        fields = {k: copy.deepcopy(payload[k]) for k in ITEM_FIELDS if k in payload}
        if "UnitPrice" in fields:
            fields["UnitPrice"] = self._number(fields["UnitPrice"], "UnitPrice")
        return self._stamp(
            "Item", {"Name": name, "FullyQualifiedName": name, "Type": kind, **fields, "Active": True}
        )

    def _number(self, value: object, element: str) -> Decimal:
        try:
            return Decimal(str(value))
        except ArithmeticError as exc:
            raise validation_fault(CODE_BUSINESS_VALIDATION, "Invalid Number", element, element) from exc

    def _lookups(self, visible: Mapping[str, set[str]] | None) -> Lookups:
        def seen(entity: str, record_id: str) -> dict[str, Any] | None:
            if visible is not None and record_id not in visible.get(entity, set()):
                return None  # batch items cannot see each other's creations (apis.md 2.7)
            return self.records[entity].get(record_id)

        def item_name(item_id: str) -> str | None:
            item = seen("Item", item_id)
            return None if item is None else str(item["Name"])

        def item_price(item_id: str) -> Decimal | None:
            item = seen("Item", item_id)
            return None if item is None or item.get("UnitPrice") is None else Decimal(str(item["UnitPrice"]))

        def tax_rates(code_id: str) -> list[Rate] | None:
            code = seen("TaxCode", code_id)
            if code is None:
                return None
            rates = []
            for detail in code["SalesTaxRateList"]["TaxRateDetail"]:
                rate = self.records["TaxRate"][detail["TaxRateRef"]["value"]]
                rates.append(Rate(rate["Id"], rate["Name"], Decimal(str(rate["RateValue"]))))
            return rates

        return Lookups(item_name, item_price, tax_rates)

    def _customer_ref(
        self, payload: Mapping[str, Any], visible: Mapping[str, set[str]] | None
    ) -> dict[str, str]:
        customer_id = ref_value(payload, "CustomerRef")
        if customer_id is None:
            raise required("CustomerRef")
        customer = self.records["Customer"].get(customer_id)
        if customer is None or (visible is not None and customer_id not in visible.get("Customer", set())):
            raise invalid_reference("Customer", customer_id, "CustomerRef")
        return {"value": customer_id, "name": str(customer["DisplayName"])}

    def _doc_number(self, entity: str, payload: Mapping[str, Any], allow_duplicate: bool) -> str:
        text = payload.get("DocNumber")
        if text is None or str(text).strip() == "":
            return self._next_doc_number(entity)
        doc = str(text).strip()
        if len(doc) > DOC_NUMBER_MAX:
            raise validation_fault(
                CODE_INVALID_STRING,
                "String length is either shorter or longer than supported by specification",
                f"String length specified does not match the supported length. Min:0 Max:{DOC_NUMBER_MAX} "
                f"supported. Supplied length:{len(doc)}",
                "DocNumber",
            )
        if self.company.warn_duplicate_doc_num and not allow_duplicate:
            holder = next((r for r in self.records[entity].values() if r.get("DocNumber") == doc), None)
            if holder is not None:
                raise validation_fault(
                    CODE_DUPLICATE_DOC_NUMBER,
                    "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different number. This number "
                    f"has already been used. DocNumber={doc} is assigned to TxnType={entity} with "
                    f"TxnId={holder['Id']}",
                    "DocNumber",
                )
        return doc

    def _sales_document(
        self,
        entity: str,
        payload: Mapping[str, Any],
        allow_duplicate: bool,
        visible: Mapping[str, set[str]] | None,
    ) -> dict[str, Any]:
        customer = self._customer_ref(payload, visible)
        currency = ref_value(payload, "CurrencyRef")
        if currency is not None and currency != self.company.currency:
            # [U] wording: without multicurrency a document is in the home currency only.
            raise validation_fault(
                CODE_BUSINESS_VALIDATION,
                "A business validation error has occurred while processing your request",
                f"Business Validation Error: currency {currency} is not the home currency "
                f"{self.company.currency} and multicurrency is off",
                "CurrencyRef",
            )
        computed = compute_lines(payload, self._lookups(visible))
        doc_number = self._doc_number(entity, payload, allow_duplicate)
        txn_date = as_date(payload["TxnDate"], "TxnDate") if payload.get("TxnDate") else self.today()
        total = money(computed.subtotal + computed.total_tax)
        record: dict[str, Any] = {
            "CustomField": [],
            "DocNumber": doc_number,
            "TxnDate": txn_date.isoformat(),
            "CurrencyRef": self._currency_ref(),
            "LinkedTxn": [],
            "Line": computed.lines,
            "TxnTaxDetail": computed.tax_detail,
            "CustomerRef": customer,
            "GlobalTaxCalculation": str(payload.get("GlobalTaxCalculation") or "TaxExcluded"),
            "TotalAmt": total,
            "PrintStatus": "NotSet",
            "EmailStatus": "NotSet",
            "Balance": total,
        }
        for key in ("PrivateNote", "CustomerMemo", "BillEmail", "SalesTermRef"):
            if payload.get(key) is not None:
                record[key] = copy.deepcopy(payload[key])
        return record

    def _invoice(
        self, payload: Mapping[str, Any], allow_duplicate: bool, visible: Mapping[str, set[str]] | None
    ) -> dict[str, Any]:
        record = self._sales_document("Invoice", payload, allow_duplicate, visible)
        txn_date = date.fromisoformat(record["TxnDate"])
        due = (
            as_date(payload["DueDate"], "DueDate")
            if payload.get("DueDate")
            else txn_date + timedelta(days=30)
        )
        if due < txn_date:
            raise validation_fault(
                CODE_BUSINESS_VALIDATION, "Invalid date", "DueDate is before TxnDate", "DueDate"
            )
        record["DueDate"] = due.isoformat()  # [U] default: 30 days when no terms are sent
        record["ApplyTaxAfterDiscount"] = False
        return self._stamp("Invoice", record)

    def _credit_memo(
        self, payload: Mapping[str, Any], visible: Mapping[str, set[str]] | None
    ) -> dict[str, Any]:
        record = self._sales_document("CreditMemo", payload, False, visible)
        record["RemainingCredit"] = record["Balance"]
        return self._stamp("CreditMemo", record)

    def _payment(self, payload: Mapping[str, Any], visible: Mapping[str, set[str]] | None) -> dict[str, Any]:
        customer = self._customer_ref(payload, visible)
        if payload.get("TotalAmt") is None:
            raise required("TotalAmt")
        total = self._money(payload["TotalAmt"], "TotalAmt")
        lines, applied = self._payment_lines(payload.get("Line") or [], customer["value"], visible)
        if applied > total:
            raise validation_fault(
                CODE_BUSINESS_VALIDATION,
                "A business validation error has occurred while processing your request",
                f"Business Validation Error: the amounts applied ({applied}) exceed the payment ({total})",
                "Line.Amount",
            )
        txn_date = as_date(payload["TxnDate"], "TxnDate") if payload.get("TxnDate") else self.today()
        record: dict[str, Any] = {
            "TxnDate": txn_date.isoformat(),
            "CurrencyRef": self._currency_ref(),
            "Line": lines,
            "CustomerRef": customer,
            "TotalAmt": total,
            "UnappliedAmt": money(total - applied),
            "ProcessPayment": False,
        }
        for key in ("PaymentRefNum", "PaymentMethodRef", "DepositToAccountRef", "PrivateNote"):
            if payload.get(key) is not None:
                record[key] = copy.deepcopy(payload[key])
        stamped = self._stamp("Payment", record)
        for line in lines:  # the invoices learn of the payment (apis.md 2.2 [S])
            invoice = self.records["Invoice"][line["LinkedTxn"][0]["TxnId"]]
            invoice["Balance"] = money(invoice["Balance"] - line["Amount"])
            invoice["LinkedTxn"].append({"TxnId": stamped["Id"], "TxnType": "Payment"})
            self._touch(invoice)
        return stamped

    def _money(self, value: object, element: str) -> Decimal:
        try:
            return amount(value)
        except ValueError as exc:
            raise validation_fault(CODE_BUSINESS_VALIDATION, "Invalid Number", element, element) from exc

    def _payment_lines(
        self, raw_lines: object, customer_id: str, visible: Mapping[str, set[str]] | None
    ) -> tuple[list[dict[str, Any]], Decimal]:
        if not isinstance(raw_lines, list):
            raise required("Line")
        lines: list[dict[str, Any]] = []
        applied = Decimal(0)
        pending: dict[str, Decimal] = {}
        for raw in raw_lines:
            linked = raw.get("LinkedTxn") if isinstance(raw, Mapping) else None
            if not isinstance(linked, list) or len(linked) != 1 or not isinstance(linked[0], Mapping):
                raise required("Line.LinkedTxn")
            txn_id, txn_type = str(linked[0].get("TxnId") or ""), str(linked[0].get("TxnType") or "")
            if txn_type != "Invoice":  # [U] credit memo links in payments are not simulated
                raise validation_fault(
                    CODE_BUSINESS_VALIDATION, "Unsupported", f"TxnType {txn_type}", "LinkedTxn"
                )
            invoice = self.records["Invoice"].get(txn_id)
            if invoice is None or (visible is not None and txn_id not in visible.get("Invoice", set())):
                raise invalid_reference("Invoice", txn_id, "Line.LinkedTxn.TxnId")
            if invoice["CustomerRef"]["value"] != customer_id:
                raise validation_fault(
                    CODE_BUSINESS_VALIDATION,
                    "A business validation error has occurred while processing your request",
                    f"Business Validation Error: invoice {txn_id} belongs to another customer",
                    "Line.LinkedTxn",
                )
            line_amount = self._money(raw.get("Amount"), "Line.Amount")
            pending[txn_id] = pending.get(txn_id, Decimal(0)) + line_amount
            if line_amount <= 0 or pending[txn_id] > invoice["Balance"]:
                raise validation_fault(
                    CODE_BUSINESS_VALIDATION,
                    "A business validation error has occurred while processing your request",
                    f"Business Validation Error: {line_amount} is more than invoice {txn_id} owes "
                    f"({invoice['Balance']})",
                    "Line.Amount",
                )
            applied += line_amount
            lines.append({"Amount": line_amount, "LinkedTxn": [{"TxnId": txn_id, "TxnType": "Invoice"}]})
        return lines, money(applied)

    # -- seeding and finance -------------------------------------------------------------------

    def add_tax_code(self, name: str, rates: list[tuple[str, Decimal]], description: str = "") -> str:
        """A sales tax code made of rates (name, percent), as the company's tax setup would hold."""
        with self.lock:
            details = []
            for order, (rate_name, percent) in enumerate(rates):
                rate = self._stamp(
                    "TaxRate",
                    {
                        "Name": rate_name,
                        "Description": rate_name,
                        "Active": True,
                        "RateValue": percent,
                        "SpecialTaxType": "NONE",
                        "DisplayType": "ReadOnly",
                    },
                )
                self.records["TaxRate"][rate["Id"]] = rate
                details.append(
                    {
                        "TaxRateRef": {"value": rate["Id"], "name": rate_name},
                        "TaxTypeApplicable": "TaxOnAmount",
                        "TaxOrder": order,
                    }
                )
            code = self._stamp(
                "TaxCode",
                {
                    "Name": name,
                    "Description": description or name,
                    "Active": True,
                    "Taxable": True,
                    "TaxGroup": len(details) > 1,
                    "SalesTaxRateList": {"TaxRateDetail": details},
                    "PurchaseTaxRateList": {"TaxRateDetail": []},
                },
            )
            self.records["TaxCode"][code["Id"]] = code
            return str(code["Id"])

    def record_payment(
        self, invoice_id: str, value: Decimal, *, on: date | None = None, reference: str | None = None
    ) -> dict[str, Any]:
        """Finance receives ``value`` from the invoice's customer and applies what the invoice owes."""
        with self.lock:
            invoice = self.records["Invoice"].get(invoice_id)
            if invoice is None:
                raise not_found("Invoice", invoice_id)
            applied = min(money(value), invoice["Balance"])
            payload: dict[str, Any] = {
                "CustomerRef": {"value": invoice["CustomerRef"]["value"]},
                "TotalAmt": money(value),
                "TxnDate": (on or self.today()).isoformat(),
                "Line": [{"Amount": applied, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]
                if applied > 0
                else [],
            }
            if reference:
                payload["PaymentRefNum"] = reference
            return self.create("Payment", payload)

    def record_credit_memo(
        self, invoice_id: str, value: Decimal, *, on: date | None = None
    ) -> dict[str, Any]:
        """Finance credits ``value`` before tax against the invoice (its first line's item and tax
        code) and applies as much of the credit as the invoice still owes."""
        with self.lock:
            invoice = self.records["Invoice"].get(invoice_id)
            if invoice is None:
                raise not_found("Invoice", invoice_id)
            first = next(line for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail")
            detail: dict[str, Any] = {"ItemRef": {"value": first["SalesItemLineDetail"]["ItemRef"]["value"]}}
            if "TaxCodeRef" in first["SalesItemLineDetail"]:
                detail["TaxCodeRef"] = first["SalesItemLineDetail"]["TaxCodeRef"]
            memo = self.create(
                "CreditMemo",
                {
                    "CustomerRef": {"value": invoice["CustomerRef"]["value"]},
                    "TxnDate": (on or self.today()).isoformat(),
                    "PrivateNote": f"Credit against invoice {invoice.get('DocNumber', invoice_id)}",
                    "Line": [
                        {
                            "DetailType": "SalesItemLineDetail",
                            "Amount": money(value),
                            "SalesItemLineDetail": detail,
                        }
                    ],
                },
            )
            stored = self.records["CreditMemo"][memo["Id"]]
            applied = min(stored["Balance"], invoice["Balance"])
            if applied > 0:
                stored["Balance"] = stored["RemainingCredit"] = money(stored["Balance"] - applied)
                stored["LinkedTxn"].append({"TxnId": invoice_id, "TxnType": "Invoice"})
                invoice["Balance"] = money(invoice["Balance"] - applied)
                invoice["LinkedTxn"].append({"TxnId": memo["Id"], "TxnType": "CreditMemo"})
                self._touch(invoice)
            return self.render("CreditMemo", stored)

    def visible_ids(self) -> dict[str, set[str]]:
        """Ids existing now: what the items of a batch starting now may refer to."""
        with self.lock:
            return {name: set(table) for name, table in self.records.items()}

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            return {
                "realm_id": self.company.realm_id,
                "counts": {name: len(table) for name, table in self.records.items()},
                "requestids": len(self.replies),
                "replayed": self.replayed,
                "minor_versions": dict(self.minor_versions),
                "warn_duplicate_doc_num": self.company.warn_duplicate_doc_num,
                "now": self.now_text(),
            }
