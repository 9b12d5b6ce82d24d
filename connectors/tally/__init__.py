"""Tally Prime: XML envelopes over HTTP (or files) for Sales vouchers, receipts, credit notes, ledgers."""
