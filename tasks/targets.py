"""The documents order-to-invoice creates, as DocumentTargets over the connectors."""

from __future__ import annotations

from connectors.zoho_books.client import ZohoBooksClient
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


class ZohoInvoices:
    system = "zoho_books"
    entity = "invoice"

    def __init__(self, client: ZohoBooksClient) -> None:
        self.client = client

    def create(self, order: MappedOrder) -> str:
        return self.client.create_invoice(order).invoice_id

    def lookup(self, document_number: str) -> list[str]:
        return [invoice.invoice_id for invoice in self.client.find_invoices(document_number)]
