"""Zoho Inventory: items with stock per location, and sales orders that reserve it."""
