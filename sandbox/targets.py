"""The accounting simulators by target name, each behind the LedgerSandbox face."""

from __future__ import annotations

from typing import get_args

from dealer_sync.settings import AccountingTarget
from sandbox.ledgers import LedgerSandbox
from sandbox.zoho import ZohoSandbox

TARGETS: tuple[str, ...] = get_args(AccountingTarget)


def ledger_sandbox(
    target: str, zoho: ZohoSandbox, credentials: tuple[str, str, str], minute_seconds: float, seed: int
) -> LedgerSandbox:
    """A fresh simulator of ``target``; Zoho Books is the one the ZohoSandbox already holds.

    ``credentials`` (client id, secret, refresh token) are the sandbox's own, for OAuth ledgers.
    """
    if target == "zoho_books":
        from sandbox.zoho.ledger import ZohoBooksLedgerSandbox

        return ZohoBooksLedgerSandbox(zoho, credentials, minute_seconds)
    if target == "tally":
        from sandbox.tally.ledger import TallyLedgerSandbox

        return TallyLedgerSandbox(seed=seed, minute_seconds=minute_seconds)
    if target == "quickbooks":
        from sandbox.quickbooks.ledger import QuickBooksLedgerSandbox

        return QuickBooksLedgerSandbox(seed=seed, minute_seconds=minute_seconds, timeout_seconds=5.0)
    if target == "xero":
        from sandbox.xero.ledger import XeroLedgerSandbox

        return XeroLedgerSandbox(seed=seed, minute_seconds=minute_seconds, timeout_seconds=5.0)
    raise ValueError(f"no simulator for accounting target {target!r}; choose one of {', '.join(TARGETS)}")
