"""Tally Prime as a LedgerSandbox: a company set up as onboarding would, served on loopback.

Customers are party ledgers under Sundry Debtors and items are stock items, both known by name
(Tally has no other ids), so the names carry the dealer code / SKU to stay unique.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from connectors.tally.bodies import STATE_NAMES, TallyNaming
from sandbox.faults import FaultInjector
from sandbox.ledgers import SandboxInvoice, SeededLedger
from sandbox.network import GST_RATES, Network
from sandbox.tally.simulator import DEFAULT_COMPANY, TallySimulator
from sandbox.tally.state import Voucher
from sandbox.tally.xmlwire import amount, text

BANK = "HDFC Bank"


class TallyLedgerSandbox:
    system = "tally"

    def __init__(
        self, *, company: str = DEFAULT_COMPANY, seed: int = 0, minute_seconds: float = 60.0
    ) -> None:
        self.simulator = TallySimulator(company=company, seed=seed)
        self.company = company
        self.minute_seconds = minute_seconds
        self.naming = TallyNaming()

    @property
    def faults(self) -> FaultInjector:
        return self.simulator.faults

    def seed(self, network: Network) -> SeededLedger:
        state = self.simulator.state
        state.add_gst_ledgers(GST_RATES)
        state.add_ledger(BANK, "Bank Accounts")
        seeded = SeededLedger()
        for dealer in network.dealers:
            if not dealer.mapped:
                continue
            name = f"{dealer.name} ({dealer.code})"
            state.add_ledger(
                name,
                "Sundry Debtors",
                state=STATE_NAMES.get(dealer.state),
                gst_registration_type="Regular",
                gstin=dealer.gstin,
            )
            seeded.customers[dealer.code] = name
        for item in network.items:
            if item.in_inventory:
                name = f"{item.name} ({item.sku})"
                state.add_stock_item(name, hsn=item.hsn)
                seeded.items[item.sku] = name
        for rate in GST_RATES:  # the sales ledger a line of each rate posts to
            seeded.taxes[f"gst:intra_state:{rate}"] = self.naming.sales(rate)
            seeded.taxes[f"gst:inter_state:{rate}"] = self.naming.sales(rate)
        return seeded

    @contextmanager
    def serve(self) -> Iterator[dict[str, str]]:
        with self.simulator.serve() as url:
            yield {
                "DEALER_SYNC_ACCOUNTING_TARGET": self.system,
                "DEALER_SYNC_TALLY__URL": url,
                "DEALER_SYNC_TALLY__COMPANY": self.company,
                "DEALER_SYNC_TALLY__TIMEOUT_SECONDS": "5",
                "DEALER_SYNC_TALLY__MINUTE_SECONDS": str(self.minute_seconds),
            }

    def _sales(self) -> list[Voucher]:
        return self.simulator.state.find_vouchers("Sales")

    def invoices(self) -> list[SandboxInvoice]:
        state = self.simulator.state
        found = []
        for voucher in self._sales():
            legs = voucher.element.findall("LEDGERENTRIES.LIST")
            tax = sum(
                (
                    amount(text(leg, "AMOUNT") or "0")
                    for leg in legs
                    if text(leg, "LEDGERNAME") != voucher.party
                ),
                Decimal(0),
            )
            found.append(
                SandboxInvoice(
                    id=voucher.remote_id,
                    number=voucher.number,
                    reference=text(voucher.element, "REFERENCE") or None,
                    customer_id=voucher.party,
                    total=-voucher.party_amount,
                    tax_total=tax,
                    balance=Decimal(0)
                    if voucher.cancelled
                    else state.bill_outstanding(voucher.party, voucher.number),
                    voided=voucher.cancelled,
                )
            )
        return found

    def expire_tokens(self) -> bool:
        return False  # Tally has no auth (apis.md 4.1)

    def tokens_issued(self) -> int:
        return 0

    def payment_count(self) -> int:
        return len(self.simulator.state.find_vouchers("Receipt"))

    def credit_note_count(self) -> int:
        return len(self.simulator.state.find_vouchers("Credit Note"))

    def _voucher(self, invoice_id: str) -> Voucher:
        return next(v for v in self._sales() if v.remote_id == invoice_id)

    def record_payment(self, invoice_id: str, amount: Decimal) -> None:
        voucher = self._voucher(invoice_id)
        self.simulator.state.record_receipt(
            voucher.party, amount, on=voucher.date, against={voucher.number: amount}, bank_ledger=BANK
        )

    def record_credit_note(self, invoice_id: str, amount: Decimal) -> None:
        voucher = self._voucher(invoice_id)
        self.simulator.state.record_credit_note(
            voucher.party,
            amount,
            on=voucher.date,
            sales_ledger=self.naming.sales(GST_RATES[0]),
            invoice=voucher.number,
        )
