"""Zoho Books as a LedgerSandbox: served with Zoho Inventory by one ZohoSandbox, one accounts server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sandbox.faults import FaultInjector
from sandbox.ledgers import SandboxInvoice, SeededLedger
from sandbox.network import GST_RATES, Network
from sandbox.zoho import ZohoEndpoints, ZohoSandbox


def zoho_environment(
    name: str,
    base_url: str,
    endpoints: ZohoEndpoints,
    organization_id: str,
    credentials: tuple[str, str, str],
    minute_seconds: float,
) -> dict[str, str]:
    """The DEALER_SYNC_<NAME>__* variables that point one Zoho connector at the simulator."""
    client_id, client_secret, refresh_token = credentials
    prefix = f"DEALER_SYNC_{name}__"
    return {
        f"{prefix}BASE_URL": base_url,
        f"{prefix}ACCOUNTS_URL": endpoints.accounts_url,
        f"{prefix}ORGANIZATION_ID": organization_id,
        f"{prefix}CLIENT_ID": client_id,
        f"{prefix}CLIENT_SECRET": client_secret,
        f"{prefix}REFRESH_TOKEN": refresh_token,
        f"{prefix}MINUTE_SECONDS": str(minute_seconds),
        f"{prefix}TIMEOUT_SECONDS": "5",
    }


def seed_books_customers(sandbox: ZohoSandbox, network: Network, state_name: str) -> dict[str, str]:
    """A business customer per mapped dealer, in the Inventory or the Books organisation."""
    state = sandbox.inventory.state if state_name == "inventory" else sandbox.books.state
    customers = {}
    for dealer in network.dealers:
        if not dealer.mapped:
            continue
        customers[dealer.code] = state.add_contact(
            dealer.name,
            company_name=dealer.name,
            contact_type="customer",
            customer_sub_type="business",
            gst_treatment="business_gst",
            gst_no=dealer.gstin,
            place_of_contact=dealer.state,
            email=dealer.email,
        ).contact_id
    return customers


def gst_tax_ids(sandbox: ZohoSandbox, state_name: str) -> dict[str, str]:
    """Zoho's tax group (intra-state CGST+SGST) and IGST tax per rate, by our tax key."""
    state = sandbox.inventory.state if state_name == "inventory" else sandbox.books.state
    taxes = {}
    for rate in GST_RATES:
        group, igst = state.taxes.gst_pair(Decimal(rate))
        taxes[f"gst:intra_state:{rate}"] = group.tax_id
        taxes[f"gst:inter_state:{rate}"] = igst.tax_id
    return taxes


class ZohoBooksLedgerSandbox:
    system = "zoho_books"

    def __init__(
        self, sandbox: ZohoSandbox, credentials: tuple[str, str, str], minute_seconds: float
    ) -> None:
        self.sandbox = sandbox
        self.credentials = credentials
        self.minute_seconds = minute_seconds

    @property
    def faults(self) -> FaultInjector:
        return self.sandbox.books.faults

    def seed(self, network: Network) -> SeededLedger:
        books = self.sandbox.books.state
        items = {
            item.sku: books.add_item(
                item.name, item.sku, item.list_price, gst_rate=item.tax_rate, hsn_or_sac=item.hsn
            ).item_id
            for item in network.items
            if item.in_inventory
        }
        return SeededLedger(
            customers=seed_books_customers(self.sandbox, network, "books"),
            items=items,
            taxes=gst_tax_ids(self.sandbox, "books"),
        )

    @contextmanager
    def serve(self) -> Iterator[dict[str, str]]:
        """Books is served with Inventory by the ZohoSandbox (one accounts server): name it here."""
        endpoints = self.sandbox.endpoints
        if endpoints is None:
            raise RuntimeError("serve the ZohoSandbox before naming Zoho Books")
        env = zoho_environment(
            "ZOHO_BOOKS",
            endpoints.books_url,
            endpoints,
            self.sandbox.organization.organization_id,
            self.credentials,
            self.minute_seconds,
        )
        yield env | {"DEALER_SYNC_ACCOUNTING_TARGET": self.system}

    def invoices(self) -> list[SandboxInvoice]:
        return [
            SandboxInvoice(
                id=i.invoice_id,
                number=i.invoice_number,
                reference=i.reference_number or None,
                customer_id=i.customer_id,
                total=i.totals.total,
                tax_total=i.totals.tax_total,
                balance=i.balance,
                voided=i.base_status == "void",
            )
            for i in self.sandbox.books.state.list_invoices()
        ]

    def expire_tokens(self) -> bool:
        self.sandbox.tokens.expire_all()
        return True

    def tokens_issued(self) -> int:
        return int(self.sandbox.tokens.issued_count())

    def payment_count(self) -> int:
        return len(self.sandbox.books.state.list_payments())

    def credit_note_count(self) -> int:
        return len(self.sandbox.books.state.list_credit_notes())

    def record_payment(self, invoice_id: str, amount: Decimal) -> None:
        books = self.sandbox.books.state
        invoice = next(i for i in books.list_invoices() if i.invoice_id == invoice_id)
        books.record_payment(invoice.customer_id, amount, {invoice_id: amount})

    def record_credit_note(self, invoice_id: str, amount: Decimal) -> None:
        books = self.sandbox.books.state
        invoice = next(i for i in books.list_invoices() if i.invoice_id == invoice_id)
        note = books.create_credit_note(
            {
                "customer_id": invoice.customer_id,
                "date": invoice.date.isoformat(),
                "line_items": [{"item_id": invoice.lines[0].item_id, "rate": str(amount), "quantity": 1}],
            },
            invoice_id=invoice_id,
        )
        books.apply_credit(note.creditnote_id, {invoice_id: note.balance})
