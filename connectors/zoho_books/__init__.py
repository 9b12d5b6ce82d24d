"""Zoho Books: contacts, invoices, customer payments and credit notes."""
