"""QuickBooks Online (Accounting API v3): invoices by DocNumber, query pages, batch, rotating OAuth."""
