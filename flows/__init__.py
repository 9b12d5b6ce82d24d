"""Prefect flows: inventory refresh, order-to-invoice, invoice/payment pullback, reconciliation."""
