"""Canonical models: the only currency between connectors, tasks and the store."""

from dealer_sync.models.base import CanonicalModel
from dealer_sync.models.catalog import Item, PriceList, StockLevel, Warehouse
from dealer_sync.models.ledger import (
    Allocation,
    CreditNote,
    CreditNoteStatus,
    DealerAccount,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
)
from dealer_sync.models.mapped import MappedLine, MappedOrder
from dealer_sync.models.orders import (
    InvalidTransitionError,
    Order,
    OrderLine,
    OrderStatus,
    TaxLine,
)
from dealer_sync.models.parties import Dealer, TaxKind, TaxRegime, TaxTreatment

__all__ = [
    "Allocation",
    "CanonicalModel",
    "CreditNote",
    "CreditNoteStatus",
    "Dealer",
    "DealerAccount",
    "InvalidTransitionError",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Item",
    "MappedLine",
    "MappedOrder",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Payment",
    "PriceList",
    "StockLevel",
    "TaxKind",
    "TaxLine",
    "TaxRegime",
    "TaxTreatment",
    "Warehouse",
]
