"""The documents order-to-invoice creates, as DocumentTargets over the connectors."""

from __future__ import annotations

from connectors.accounting import AccountingSystem
from connectors.zoho_inventory.client import ZohoInventoryClient
from dealer_sync.models import MappedOrder


class ZohoSalesOrders:
    system = "zoho_inventory"
    entity = "salesorder"

    def __init__(self, client: ZohoInventoryClient) -> None:
        self.client = client

    def create(self, order: MappedOrder) -> str:
        return self.client.create_sales_order(order).salesorder_id

    def lookup(self, document_number: str) -> list[str]:
        return [so.salesorder_id for so in self.client.find_sales_orders(document_number)]


class LedgerInvoices:
    """Invoices in whichever accounting system is configured."""

    entity = "invoice"

    def __init__(self, accounting: AccountingSystem) -> None:
        self.accounting = accounting
        self.system = accounting.system

    def create(self, order: MappedOrder) -> str:
        return self.accounting.create_invoice(order)

    def lookup(self, document_number: str) -> list[str]:
        return self.accounting.find_invoices(document_number)
