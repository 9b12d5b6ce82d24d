"""Tally objects we import, rendered from a MappedOrder (Sales vouchers) or a spec (ledgers).

Keys of a MappedOrder mean Tally names here: ``customer_id`` is the party ledger, a line's
``item_id`` the stock item, ``warehouse_id`` the godown. The sales and GST ledgers are named by
``TallyNaming`` from each line's rate and tax lines (apis.md 4.5: GST is carried by ledgers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from connectors.tally.xml import XmlElement, child, element, tally_date, yes_no
from dealer_sync.models import MappedOrder, TaxKind, TaxRegime
from dealer_sync.money import Money, quantize, total

# Two-letter state codes (as the settings and Zoho's place_of_supply use them) -> state names as
# Tally lists them for STATENAME / PLACEOFSUPPLY. The spellings are [U]: not in apis.md.
STATE_NAMES: dict[str, str] = {
    "AN": "Andaman & Nicobar Islands",
    "AP": "Andhra Pradesh",
    "AR": "Arunachal Pradesh",
    "AS": "Assam",
    "BR": "Bihar",
    "CH": "Chandigarh",
    "CT": "Chhattisgarh",
    "DN": "Dadra & Nagar Haveli and Daman & Diu",
    "DD": "Dadra & Nagar Haveli and Daman & Diu",
    "DL": "Delhi",
    "GA": "Goa",
    "GJ": "Gujarat",
    "HR": "Haryana",
    "HP": "Himachal Pradesh",
    "JK": "Jammu & Kashmir",
    "JH": "Jharkhand",
    "KA": "Karnataka",
    "KL": "Kerala",
    "LA": "Ladakh",
    "LD": "Lakshadweep",
    "MP": "Madhya Pradesh",
    "MH": "Maharashtra",
    "MN": "Manipur",
    "ML": "Meghalaya",
    "MZ": "Mizoram",
    "NL": "Nagaland",
    "OR": "Odisha",
    "PY": "Puducherry",
    "PB": "Punjab",
    "RJ": "Rajasthan",
    "SK": "Sikkim",
    "TN": "Tamil Nadu",
    "TG": "Telangana",
    "TS": "Telangana",
    "TR": "Tripura",
    "UP": "Uttar Pradesh",
    "UK": "Uttarakhand",
    "UT": "Uttarakhand",
    "WB": "West Bengal",
}

SALES = "Sales"
RECEIPT = "Receipt"
CREDIT_NOTE = "Credit Note"
INVOICE_VIEW = "Invoice Voucher View"


def percent_text(rate: Decimal) -> str:
    """``Decimal("9.00")`` -> ``"9"``, ``Decimal("2.5")`` -> ``"2.5"``: how rates read in names."""
    return format(rate.normalize(), "f") if rate else "0"


@dataclass(frozen=True)
class TallyNaming:
    """How our Tally ledgers, units and batches are named; one per company, set at go-live.

    ``sales_ledger`` takes ``{rate}`` (the line's GST rate); ``tax_ledger`` takes ``{tax}``
    (CGST, SGST, IGST) and ``{rate}`` (that component's rate). The defaults follow the
    reference's example voucher: "Sales GST 18%", "Output CGST 9%".
    """

    sales_ledger: str = "Sales GST {rate}%"
    tax_ledger: str = "Output {tax} {rate}%"
    unit: str = "Nos"
    units: Mapping[str, str] = field(default_factory=dict)  # stock item -> unit, where not ``unit``
    batch: str = "Primary Batch"
    states: Mapping[str, str] = field(default_factory=lambda: dict(STATE_NAMES))

    def sales(self, rate: Decimal) -> str:
        return self.sales_ledger.format(rate=percent_text(rate))

    def tax(self, name: str, rate: Decimal) -> str:
        return self.tax_ledger.format(tax=name, rate=percent_text(rate))

    def unit_of(self, item: str) -> str:
        return self.units.get(item, self.unit)

    def state(self, code: str) -> str:
        name = self.states.get(code.upper())
        if name is None:
            raise ValueError(f"state code {code!r} has no Tally state name")
        return name


class VoucherBuildError(ValueError):
    """The order cannot become a valid voucher (it would not balance, or a name cannot travel)."""


def _amount(value: Decimal, currency: str) -> str:
    return format(quantize(value, currency), "f")


def _quantity(value: Decimal, unit: str) -> str:
    return f" {format(value.normalize(), 'f')} {unit}"


def sales_voucher(order: MappedOrder, naming: TallyNaming) -> XmlElement:
    """A Sales voucher in invoice view (apis.md 4.2): party debited, sales and GST ledgers credited.

    REMOTEID is our document number, so importing it again alters this voucher instead of adding
    a second one (apis.md 4.2, 7.2). Each line is credited to the sales ledger of its rate through
    its inventory entry; GST goes to one ledger leg per (tax, rate), summed over the lines, each
    line's tax having been rounded on its own as the portal and the mapping did.
    """
    c = order.currency
    taxes: dict[tuple[str, Decimal], Money] = {}
    for line in order.lines:
        for tax in line.tax_lines:
            key = (tax.name, tax.rate)
            taxes[key] = taxes.get(key, Money.zero(c)) + tax.amount
    credits = total([line.amount for line in order.lines], c) + total(list(taxes.values()), c)
    if credits != order.total:
        raise VoucherBuildError(
            f"{order.document_number}: lines and tax come to {credits} but the order total is "
            f"{order.total}; the voucher would not balance"
        )

    voucher = element(
        "VOUCHER",
        REMOTEID=order.document_number,
        VCHTYPE=SALES,
        ACTION="Create",
        OBJVIEW=INVOICE_VIEW,
    )
    day = tally_date(order.business_date)
    child(voucher, "DATE", day)
    child(voucher, "EFFECTIVEDATE", day)
    child(voucher, "VOUCHERTYPENAME", SALES)
    child(voucher, "VOUCHERNUMBER", order.document_number)
    child(voucher, "REFERENCE", order.order_number)
    child(voucher, "PARTYLEDGERNAME", order.customer_id)
    child(voucher, "BASICBUYERNAME", order.customer_id)
    treatment = order.tax_treatment
    if treatment.regime is TaxRegime.GST:
        if treatment.place_of_supply:
            try:
                state = naming.state(treatment.place_of_supply)
            except ValueError as exc:
                raise VoucherBuildError(f"{order.document_number}: {exc}") from exc
            child(voucher, "STATENAME", state)
            child(voucher, "PLACEOFSUPPLY", state)
        registered = bool(order.tax_registration) and treatment.kind is not TaxKind.ZERO_RATED
        child(voucher, "GSTREGISTRATIONTYPE", "Regular" if registered else "Unregistered")
        if order.tax_registration:
            child(voucher, "PARTYGSTIN", order.tax_registration)
    child(voucher, "PERSISTEDVIEW", INVOICE_VIEW)
    child(voucher, "ISINVOICE", "Yes")
    child(voucher, "NARRATION", f"Portal order {order.order_number}")

    party = child(voucher, "LEDGERENTRIES.LIST")
    child(party, "LEDGERNAME", order.customer_id)
    child(party, "ISDEEMEDPOSITIVE", "Yes")
    child(party, "ISPARTYLEDGER", "Yes")
    child(party, "AMOUNT", _amount(-order.total.amount, c))
    # Bill-wise details let receipts and credit notes settle this invoice by name. [U] the tags
    # (BILLALLOCATIONS.LIST, BILLTYPE, BILLCREDITPERIOD) are Tally's but not in apis.md.
    bill = child(party, "BILLALLOCATIONS.LIST")
    child(bill, "NAME", order.document_number)
    child(bill, "BILLTYPE", "New Ref")
    child(bill, "BILLCREDITPERIOD", f"{order.payment_terms_days} Days")
    child(bill, "AMOUNT", _amount(-order.total.amount, c))

    for line in order.lines:
        unit = naming.unit_of(line.item_id)
        entry = child(voucher, "ALLINVENTORYENTRIES.LIST")
        child(entry, "STOCKITEMNAME", line.item_id)
        if line.hsn_or_sac:
            child(entry, "HSNCODE", line.hsn_or_sac)  # [U] exact tag (apis.md 4.5, section 8)
        child(entry, "ISDEEMEDPOSITIVE", "No")
        child(entry, "RATE", f"{_amount(line.unit_price.amount, c)}/{unit}")
        child(entry, "ACTUALQTY", _quantity(line.quantity, unit))
        child(entry, "BILLEDQTY", _quantity(line.quantity, unit))
        child(entry, "AMOUNT", _amount(line.amount.amount, c))
        if order.warehouse_id:
            batch = child(entry, "BATCHALLOCATIONS.LIST")
            child(batch, "GODOWNNAME", order.warehouse_id)
            child(batch, "BATCHNAME", naming.batch)
            child(batch, "AMOUNT", _amount(line.amount.amount, c))
            child(batch, "ACTUALQTY", _quantity(line.quantity, unit))
            child(batch, "BILLEDQTY", _quantity(line.quantity, unit))
        allocation = child(entry, "ACCOUNTINGALLOCATIONS.LIST")
        child(allocation, "LEDGERNAME", naming.sales(line.tax_rate))
        child(allocation, "ISDEEMEDPOSITIVE", "No")
        child(allocation, "AMOUNT", _amount(line.amount.amount, c))

    for (name, rate), amount in taxes.items():
        if amount.is_zero():
            continue
        leg = child(voucher, "LEDGERENTRIES.LIST")
        child(leg, "LEDGERNAME", naming.tax(name, rate))
        child(leg, "ISDEEMEDPOSITIVE", yes_no(amount.amount < 0))
        child(leg, "AMOUNT", _amount(amount.amount, c))
    return voucher


@dataclass(frozen=True)
class LedgerSpec:
    """A ledger master to create (apis.md 4.2 masters example)."""

    name: str
    parent: str
    gst_registration_type: str | None = None
    gstin: str | None = None
    state: str | None = None
    tax_type: str | None = None
    gst_duty_head: str | None = None
    rate: Decimal | None = None  # RATEOFTAXCALCULATION [U]: Tally's tag for a duty ledger's rate


def ledger_master(spec: LedgerSpec) -> XmlElement:
    ledger = element("LEDGER", NAME=spec.name, ACTION="Create")
    child(ledger, "NAME", spec.name)
    child(ledger, "PARENT", spec.parent)
    optional = (
        ("GSTREGISTRATIONTYPE", spec.gst_registration_type),
        ("PARTYGSTIN", spec.gstin),
        ("STATENAME", spec.state),
        ("TAXTYPE", spec.tax_type),
        ("GSTDUTYHEAD", spec.gst_duty_head),
        ("RATEOFTAXCALCULATION", percent_text(spec.rate) if spec.rate is not None else None),
    )
    for tag, value in optional:
        if value:
            child(ledger, tag, value)
    return ledger


_DUTY_HEADS = {"CGST": "Central Tax", "SGST": "State Tax", "IGST": "Integrated Tax"}


def gst_ledgers(naming: TallyNaming, rates: list[Decimal]) -> list[LedgerSpec]:
    """The sales and output GST ledgers our vouchers post to, for each GST rate."""
    specs: dict[str, LedgerSpec] = {}
    for rate in rates:
        specs.setdefault(naming.sales(rate), LedgerSpec(naming.sales(rate), "Sales Accounts"))
        if not rate:
            continue
        for tax, component in (("CGST", rate / 2), ("SGST", rate / 2), ("IGST", rate)):
            name = naming.tax(tax, component)
            specs.setdefault(
                name,
                LedgerSpec(
                    name, "Duties & Taxes", tax_type="GST", gst_duty_head=_DUTY_HEADS[tax], rate=component
                ),
            )
    return list(specs.values())
