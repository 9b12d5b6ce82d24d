"""Xero behind the ``LedgerSandbox`` face: seeded like onboarding, served, booked into by finance.

Xero has no Indian GST edition (apis.md 3.8): each GST rate becomes two custom tax rates, one
with CGST and SGST halves (intra-state) and one with IGST (inter-state), whose TaxTypes Xero
names ``TAX001``... Lines reference items by ``ItemCode``, so an item's id in our mapping table
is its code (the SKU).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from dealer_sync.models import TaxKind, TaxRegime, TaxTreatment
from dealer_sync.tax import tax_key
from sandbox.faults import FaultInjector
from sandbox.ledgers import SandboxInvoice, SeededLedger
from sandbox.network import GST_RATES, Network
from sandbox.xero import XeroSandbox
from sandbox.xero.api import finance_payment, record_credit
from sandbox.xero.state import SALES_ACCOUNT
from sandbox.xero.wire import ValidationError

# Sandbox-only app credentials: they open nothing but this simulator.
SANDBOX_CLIENT_ID = "DEALERSYNCSANDBOXXEROAPP00000000"
SANDBOX_CLIENT_SECRET = "sandbox-only-xero-client-secret"
SANDBOX_REFRESH_TOKEN = "sandbox-only-xero-refresh-token-0001"


class XeroLedgerSandbox:
    """One Xero organisation as the accounting target of the demo and the flow tests."""

    system = "xero"

    def __init__(
        self,
        *,
        minute_seconds: float = 60.0,
        seed: int = 0,
        now: datetime | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.sandbox = XeroSandbox(minute_seconds=minute_seconds, seed=seed, now=now)
        self.sandbox.register_client(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN)
        self.minute_seconds = minute_seconds
        self.timeout_seconds = timeout_seconds

    @property
    def faults(self) -> FaultInjector:
        return self.sandbox.api.faults

    def seed(self, network: Network) -> SeededLedger:
        """Tax rates for every GST rate, an item per SKU, a contact per mapped dealer."""
        state = self.sandbox.state
        seeded = SeededLedger()
        home = network.spec.home_state
        with state.lock:
            for rate in GST_RATES:
                half = rate / 2
                intra = state.add_tax_rate(f"GST {rate}% (CGST+SGST)", [("CGST", half), ("SGST", half)])
                inter = state.add_tax_rate(f"IGST {rate}%", [("IGST", rate)])
                pairs = ((TaxKind.INTRA_STATE, intra.tax_type), (TaxKind.INTER_STATE, inter.tax_type))
                for kind, tax_type in pairs:
                    treatment = TaxTreatment(regime=TaxRegime.GST, kind=kind, place_of_supply=home)
                    seeded.taxes[tax_key(treatment, Decimal(rate))] = tax_type
            intra_key = {r: seeded.taxes[f"gst:intra_state:{r.normalize():f}"] for r in GST_RATES}
            for item in network.items:
                sales: dict[str, Any] = {"UnitPrice": item.list_price, "AccountCode": SALES_ACCOUNT}
                if item.tax_rate in intra_key:
                    sales["TaxType"] = intra_key[item.tax_rate]
                payload = {"Code": item.sku, "Name": item.name[:50], "Description": item.name}
                created = state.create_item({**payload, "SalesDetails": sales})
                seeded.items[item.sku] = created.code
            for dealer in network.dealers:
                if not dealer.mapped:
                    continue
                fields = {
                    "EmailAddress": dealer.email,
                    "TaxNumber": dealer.gstin,
                    "AccountNumber": dealer.code,
                }
                try:
                    contact = state.create_contact({"Name": dealer.name, **fields})
                except ValidationError:  # Contact names are unique: two dealers may share one
                    contact = state.create_contact({"Name": f"{dealer.name} ({dealer.code})", **fields})
                seeded.customers[dealer.code] = contact.contact_id
        return seeded

    @contextmanager
    def serve(self) -> Iterator[dict[str, str]]:
        """Serve on loopback; yields the settings that point dealer-sync at this organisation.

        The refresh-token file is left unset: the installation keeps it under its data_dir.
        """
        with self.sandbox.serve() as endpoints:
            yield {
                "DEALER_SYNC_ACCOUNTING_TARGET": "xero",
                "DEALER_SYNC_XERO__BASE_URL": endpoints.base_url,
                "DEALER_SYNC_XERO__TOKEN_URL": endpoints.token_url,
                "DEALER_SYNC_XERO__TENANT_ID": self.sandbox.tenant_id,
                "DEALER_SYNC_XERO__CLIENT_ID": SANDBOX_CLIENT_ID,
                "DEALER_SYNC_XERO__CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
                "DEALER_SYNC_XERO__REFRESH_TOKEN": SANDBOX_REFRESH_TOKEN,
                "DEALER_SYNC_XERO__REQUESTS_PER_MINUTE": str(self.faults.config.rate_limit_per_minute or 60),
                "DEALER_SYNC_XERO__MAX_CONCURRENT": str(self.faults.config.max_concurrent or 5),
                "DEALER_SYNC_XERO__REQUESTS_PER_DAY": str(self.faults.config.daily_limit or 5000),
                "DEALER_SYNC_XERO__TIMEOUT_SECONDS": str(self.timeout_seconds),
                "DEALER_SYNC_XERO__MINUTE_SECONDS": str(self.minute_seconds),
            }

    def invoices(self) -> list[SandboxInvoice]:
        return [
            SandboxInvoice(
                id=invoice.invoice_id,
                number=invoice.number,
                reference=invoice.reference or None,
                customer_id=invoice.contact_id,
                total=invoice.totals.total,
                tax_total=invoice.totals.total_tax,
                balance=invoice.amount_due,
                voided=invoice.status == "VOIDED",
            )
            for invoice in self.sandbox.state.list_invoices()
        ]

    def expire_tokens(self) -> bool:
        self.sandbox.tokens.expire_all()
        return True

    def tokens_issued(self) -> int:
        return int(self.sandbox.tokens.issued_count())

    def payment_count(self) -> int:
        with self.sandbox.state.lock:
            return len(self.sandbox.state.payments)

    def credit_note_count(self) -> int:
        with self.sandbox.state.lock:
            return len(self.sandbox.state.credit_notes)

    def record_payment(self, invoice_id: str, amount: Decimal) -> None:
        self.sandbox.state.create_payment(finance_payment(invoice_id, amount))

    def record_credit_note(self, invoice_id: str, amount: Decimal) -> None:
        record_credit(self.sandbox.state, invoice_id, amount)
