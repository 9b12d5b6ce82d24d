"""The documents order-to-invoice creates, as DocumentTargets over the connectors."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.accounting import AccountingSystem, each_order
from connectors.http.errors import ConnectorError
from connectors.zoho_inventory.client import ZohoInventoryClient
from dealer_sync.models import MappedOrder


class ZohoSalesOrders:
    system = "zoho_inventory"
    entity = "salesorder"
    batch_size = 1  # Zoho Inventory creates sales orders one per request

    def __init__(self, client: ZohoInventoryClient) -> None:
        self.client = client
        self.in_flight = client.in_flight

    def create(self, order: MappedOrder) -> str:
        return self.client.create_sales_order(order).salesorder_id

    def create_many(self, orders: Sequence[MappedOrder]) -> list[str | ConnectorError]:
        return each_order(self.create, orders, self.in_flight)

    def lookup(self, document_number: str) -> list[str]:
        return [so.salesorder_id for so in self.client.find_sales_orders(document_number)]


class LedgerInvoices:
    """Invoices in whichever accounting system is configured."""

    entity = "invoice"

    def __init__(self, accounting: AccountingSystem) -> None:
        self.accounting = accounting
        self.system = accounting.system
        self.batch_size = accounting.batch_size
        self.in_flight = accounting.in_flight

    def create(self, order: MappedOrder) -> str:
        return self.accounting.create_invoice(order)

    def create_many(self, orders: Sequence[MappedOrder]) -> list[str | ConnectorError]:
        return self.accounting.create_invoices(orders)

    def lookup(self, document_number: str) -> list[str]:
        return self.accounting.find_invoices(document_number)
