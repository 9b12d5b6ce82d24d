"""Xero Accounting API: credentials, client, wire models, error table and the ledger adapter."""
