"""The Tally simulator on loopback, seeded like a small company."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.tally import TallySimulator
from tests.sandbox.tally.support import COMPANY, ITEM, PARTY


@pytest.fixture
def sim() -> TallySimulator:
    simulator = TallySimulator(company=COMPANY, seed=1)
    state = simulator.state
    state.add_gst_ledgers((18,))
    state.add_ledger("HDFC Bank", "Bank Accounts")
    state.add_ledger(PARTY, "Sundry Debtors", gstin="27AAAAA0000A1Z5", state="Maharashtra")
    state.add_stock_item(ITEM, hsn="87083000")
    state.add_godown("Pune WH")
    return simulator


@pytest.fixture
def tally(sim: TallySimulator) -> Iterator[httpx.Client]:
    with sim.serve() as url, httpx.Client(base_url=url, timeout=5) as client:
        yield client
