"""The embedded dealer portal's own database: what the SQL portal connector reads and writes.

This stands in for a real portal's tables. Its owner is the portal, not dealer-sync: it is
created with ``dealer-sync portal init`` and has no migrations of ours.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dealer_sync.sqltypes import ExactNumeric, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

warehouses = Table(
    "warehouses",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("unit", String(16), nullable=False, default="pcs"),
    Column("hsn_or_sac", String(16)),
    Column("tax_rate", ExactNumeric, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

price_lists = Table(
    "price_lists",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("currency", String(3), nullable=False),
)

price_list_items = Table(
    "price_list_items",
    metadata,
    Column("price_list_id", String(64), ForeignKey("price_lists.id"), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("unit_price", ExactNumeric, nullable=False),
)

dealers = Table(
    "dealers",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("email", String(255)),
    Column("currency", String(3), nullable=False),
    Column("credit_limit", ExactNumeric, nullable=False),
    Column("country", String(2), nullable=False, default="IN"),
    Column("state", String(8)),
    Column("gstin", String(32)),
    Column("price_list_id", String(64), ForeignKey("price_lists.id")),
    Column("payment_terms_days", Integer, nullable=False, default=30),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

availability = Table(
    "availability",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("warehouse_code", String(64), primary_key=True),
    Column("on_hand", ExactNumeric, nullable=False),
    Column("committed", ExactNumeric, nullable=False),
    Column("reserved", ExactNumeric, nullable=False),
    Column("available", ExactNumeric, nullable=False),
    Column("source_updated_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("number", String(64), nullable=False),
    Column("dealer_code", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal", ExactNumeric, nullable=False),
    Column("tax_total", ExactNumeric, nullable=False),
    Column("total", ExactNumeric, nullable=False),
    Column("place_of_supply", String(8)),
    Column("price_list_id", String(64)),
    Column("warehouse_code", String(64)),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("confirmed_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("invoice_number", String(64)),
    Column("invoiced_at", UtcDateTime),
    UniqueConstraint("number"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(64), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("description", String(255)),
    Column("quantity", ExactNumeric, nullable=False),
    Column("unit_price", ExactNumeric, nullable=False),
    Column("amount", ExactNumeric, nullable=False),
    Column("tax_rate", ExactNumeric, nullable=False),
    Column("tax_amount", ExactNumeric, nullable=False),
)

account_invoices = Table(
    "account_invoices",
    metadata,
    Column("invoice_id", String(64), primary_key=True),
    Column("dealer_code", String(64), nullable=False, index=True),
    Column("number", String(64), nullable=False),
    Column("order_number", String(64)),
    Column("issue_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", ExactNumeric, nullable=False),
    Column("balance", ExactNumeric, nullable=False),
    Column("status", String(16), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

account_payments = Table(
    "account_payments",
    metadata,
    Column("payment_id", String(64), primary_key=True),
    Column("dealer_code", String(64), nullable=False, index=True),
    Column("paid_on", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", ExactNumeric, nullable=False),
    Column("unapplied", ExactNumeric, nullable=False),
    Column("reference", String(255)),
    Column("allocations", JSON),
    Column("updated_at", UtcDateTime, nullable=False),
)

account_credit_notes = Table(
    "account_credit_notes",
    metadata,
    Column("credit_note_id", String(64), primary_key=True),
    Column("dealer_code", String(64), nullable=False, index=True),
    Column("number", String(64), nullable=False),
    Column("invoice_id", String(64)),
    Column("issued_on", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", ExactNumeric, nullable=False),
    Column("balance", ExactNumeric, nullable=False),
    Column("status", String(16), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

dealer_accounts = Table(
    "dealer_accounts",
    metadata,
    Column("dealer_code", String(64), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("credit_limit", ExactNumeric, nullable=False),
    Column("outstanding", ExactNumeric, nullable=False),
    Column("overdue", ExactNumeric, nullable=False),
    Column("unapplied_credit", ExactNumeric, nullable=False),
    Column("available_credit", ExactNumeric, nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("note", Text),
)

TABLES = [t.name for t in metadata.sorted_tables]
