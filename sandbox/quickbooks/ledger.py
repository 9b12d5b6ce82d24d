"""QuickBooks Online as a LedgerSandbox: seeded from a network, served on loopback, booked by finance.

Seeding plays the onboarding a real company does once: a Customer per mapped dealer, an Item
per SKU, and a GST tax code per rate and kind: intra-state codes made of CGST and SGST halves,
inter-state codes of IGST (QBO India is not a target; GST in QBO would be tax-code ids, [U]).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors.quickbooks.bodies import reference_of
from dealer_sync.models import TaxKind, TaxRegime, TaxTreatment
from dealer_sync.tax import tax_key
from sandbox.faults import FaultInjector
from sandbox.ledgers import LedgerSandbox, SandboxInvoice, SeededLedger
from sandbox.network import GST_RATES, DealerSpec, ItemSpec, Network
from sandbox.quickbooks import QuickBooksSandbox
from sandbox.quickbooks.state import Company
from sandbox.zoho.common import quantity

# Sandbox credentials: they only open the local simulator, never a real company.
SANDBOX_CLIENT_ID = "ABsandboxDealerSyncQuickBooks"
SANDBOX_CLIENT_SECRET = "sandbox-quickbooks-client-secret"
SANDBOX_REFRESH_TOKEN = "AB11sandbox-quickbooks-refresh-token"
SALES_INCOME_ACCOUNT = "79"  # the sandbox chart's "Sales of Product Income" [U: any id works here]


def _customer_body(dealer: DealerSpec) -> dict[str, Any]:
    return {
        "DisplayName": f"{dealer.name} ({dealer.code})",  # unique across names (apis.md 2.2)
        "CompanyName": dealer.name,
        "PrimaryEmailAddr": {"Address": dealer.email},
        "BillAddr": {"CountrySubDivisionCode": dealer.state, "Country": "IN"},
        "GSTIN": dealer.gstin,  # [U] QBO India's field
        "GSTRegistrationType": "GST_REG_REG",  # [U]
    }


def _item_body(item: ItemSpec) -> dict[str, Any]:
    # NonInventory: stock lives in the inventory system; the ledger only sells the item.
    return {
        "Name": item.name,
        "Sku": item.sku,
        "Description": item.name,
        "Type": "NonInventory",
        "UnitPrice": item.list_price,
        "IncomeAccountRef": {"value": SALES_INCOME_ACCOUNT},
    }


class QuickBooksLedgerSandbox:
    """A QBO company for the demo and the flow tests (keeps sandbox.ledgers.LedgerSandbox)."""

    system = "quickbooks"

    def __init__(
        self,
        *,
        minute_seconds: float = 60.0,
        seed: int = 0,
        now: datetime | None = None,
        frozen_clock: bool = False,
        company: Company | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.sandbox = QuickBooksSandbox(
            company=company, now=now, frozen_clock=frozen_clock, minute_seconds=minute_seconds, seed=seed
        )
        self.minute_seconds = minute_seconds
        self.timeout_seconds = timeout_seconds

    @property
    def faults(self) -> FaultInjector:
        return self.sandbox.api.faults

    def seed(self, network: Network) -> SeededLedger:
        state = self.sandbox.state
        seeded = SeededLedger()
        for dealer in network.dealers:
            if dealer.mapped:
                seeded.customers[dealer.code] = str(state.create("Customer", _customer_body(dealer))["Id"])
        for item in network.items:
            seeded.items[item.sku] = str(state.create("Item", _item_body(item))["Id"])
        home = network.spec.home_state
        intra = TaxTreatment(regime=TaxRegime.GST, kind=TaxKind.INTRA_STATE, place_of_supply=home)
        inter = TaxTreatment(regime=TaxRegime.GST, kind=TaxKind.INTER_STATE, place_of_supply=home)
        for rate in GST_RATES:
            half = quantity(rate / 2)
            seeded.taxes[tax_key(intra, rate)] = state.add_tax_code(
                f"GST{rate}", [(f"CGST{half}", half), (f"SGST{half}", half)], f"GST {rate}% within the state"
            )
            seeded.taxes[tax_key(inter, rate)] = state.add_tax_code(
                f"IGST{rate}", [(f"IGST{rate}", rate)], f"IGST {rate}% across states"
            )
        return seeded

    @contextmanager
    def serve(self) -> Iterator[dict[str, str]]:
        """Serve on loopback; yields the DEALER_SYNC_* variables of the quickbooks settings.

        The refresh token rotates on every use: within one process the connector keeps the
        newest in memory; across processes it needs DEALER_SYNC_QUICKBOOKS__REFRESH_TOKEN_FILE
        (left unset here, so a default under data_dir applies).
        """
        self.sandbox.register_client(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN)
        with self.sandbox.serve() as endpoints:
            prefix = "DEALER_SYNC_QUICKBOOKS__"
            yield {
                "DEALER_SYNC_ACCOUNTING_TARGET": self.system,
                f"{prefix}BASE_URL": endpoints.base_url,
                f"{prefix}TOKEN_URL": endpoints.token_url,
                f"{prefix}TENANT_ID": endpoints.realm_id,
                f"{prefix}CLIENT_ID": SANDBOX_CLIENT_ID,
                f"{prefix}CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
                f"{prefix}REFRESH_TOKEN": SANDBOX_REFRESH_TOKEN,
                f"{prefix}MINOR_VERSION": "75",
                f"{prefix}REQUESTS_PER_MINUTE": "500",
                f"{prefix}MAX_CONCURRENT": "10",
                f"{prefix}TIMEOUT_SECONDS": str(self.timeout_seconds),
                f"{prefix}MINUTE_SECONDS": str(self.minute_seconds),
            }

    def invoices(self) -> list[SandboxInvoice]:
        result = []
        for record in self.sandbox.state.all("Invoice"):
            note = str(record.get("PrivateNote") or "")
            total = Decimal(str(record["TotalAmt"]))
            result.append(
                SandboxInvoice(
                    id=str(record["Id"]),
                    number=str(record.get("DocNumber") or record["Id"]),
                    reference=reference_of(note),
                    customer_id=str(record["CustomerRef"]["value"]),
                    total=total,
                    tax_total=Decimal(str(record["TxnTaxDetail"]["TotalTax"])),
                    balance=Decimal(str(record["Balance"])),
                    voided=total == 0 and note.lower().startswith("voided"),
                )
            )
        return result

    def expire_tokens(self) -> bool:
        self.sandbox.tokens.expire_all()
        return True

    def tokens_issued(self) -> int:
        return int(self.sandbox.tokens.issued_count())

    def payment_count(self) -> int:
        return len(self.sandbox.state.all("Payment"))

    def credit_note_count(self) -> int:
        return len(self.sandbox.state.all("CreditMemo"))

    def record_payment(self, invoice_id: str, amount: Decimal) -> None:
        self.sandbox.state.record_payment(invoice_id, amount)

    def record_credit_note(self, invoice_id: str, amount: Decimal) -> None:
        self.sandbox.state.record_credit_memo(invoice_id, amount)


if TYPE_CHECKING:  # mypy holds the class to the protocol the demo and the flow tests use
    _KEEPS_PROTOCOL: type[LedgerSandbox] = QuickBooksLedgerSandbox
