"""The connector contract (tests/connectors/zoho/test_contract.py) kept by the Tally connector.

The shared suite is written against ZohoClient, ZohoCredentials and ZohoSandbox, so Tally
cannot join it as one more ConnectorCase; this file runs the same promises against the Tally
simulator, reusing the suite's retry policy and its order builder. OAuth refresh does not apply
(Tally has no auth); "pages" are the client's chunks of one export, not server pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.tally.bodies import TallyNaming, sales_voucher
from connectors.tally.client import TallyClient
from connectors.tally.xml import import_envelope
from dealer_sync.models import MappedOrder
from sandbox.tally import TallySimulator
from tests.connectors.tally.support import BRAKE_PAD, COMPANY, HINDI_PARTY, client_for, seeded_simulator
from tests.connectors.zoho.test_contract import FAST, mapped

CASE = SimpleNamespace(name="tally")  # what the suite's ``mapped`` reads of a ConnectorCase


@pytest.fixture
def world() -> Iterator[tuple[TallySimulator, str]]:
    simulator = seeded_simulator(seed=3)
    with simulator.serve() as url:
        yield simulator, url


def tally_order(number: str) -> MappedOrder:
    """The suite's order (2 x 100.00, inter-state, no tax) with Tally's names for its keys."""
    return mapped(CASE, SimpleNamespace(ids={"tally": (HINDI_PARTY, BRAKE_PAD)}), number)


def client(world: tuple[TallySimulator, str], **overrides: Any) -> TallyClient:
    return client_for(world[1], retry=overrides.pop("retry", FAST), **overrides)


def created(simulator: TallySimulator) -> int:
    return len(simulator.state.find_vouchers("Sales"))


def test_pages_carry_every_record_once(world):
    simulator, _ = world
    tally = client(world)
    vouchers = [sales_voucher(tally_order(f"PG-{n:04d}"), TallyNaming()) for n in range(450)]
    result = tally.post_import(import_envelope("Vouchers", COMPANY, vouchers))
    assert (result.created, result.errors, result.last_voucher_id) == (450, 0, "450")
    pages = list(tally.invoice_pages())
    ids = [row["REMOTEID"] for page in pages for row in page]
    assert len(pages) == 3 and max(len(p) for p in pages) == 200
    assert len(ids) == len(set(ids)) == 450
    assert simulator.state.requests["export:collection:voucher"] == 3  # sales, receipts, credit notes


def test_rate_limit_429_is_waited_out_with_retry_after(world):
    simulator, _ = world
    simulator.faults.update(rate_limit_per_minute=5, minute_seconds=1.0)
    tally = client(world, requests_per_minute=1000)  # our budget wrongly generous
    for _ in range(8):
        tally.ledgers()
    assert simulator.faults.status_count(429) > 0  # the way to Tally pushed back


def test_the_declared_budget_keeps_us_under_the_limit(world):
    simulator, _ = world
    simulator.faults.update(rate_limit_per_minute=5, minute_seconds=1.0)
    tally = client(world, requests_per_minute=4)  # declared a little under the limit
    for _ in range(8):
        tally.ledgers()
    assert simulator.faults.status_count(429) == 0


def test_reads_are_retried_through_5xx_but_writes_are_not_blindly_repeated(world):
    simulator, _ = world
    simulator.faults.update(error_5xx_rate=0.5, seed=7)
    tally = client(world)
    for _ in range(5):
        tally.ledgers()
    assert simulator.faults.status_count(500) > 0

    simulator.faults.update(error_5xx_rate=1.0)
    before = simulator.faults.counters()["total"]
    with pytest.raises(ConnectorError) as caught:
        tally.create_invoice(tally_order("PO-5XX"))
    assert caught.value.kind is ErrorKind.UNCERTAIN
    assert simulator.faults.counters()["total"] == before + 1  # one attempt: look up before again


def test_a_dropped_connection_after_commit_is_uncertain_and_the_lookup_finds_the_write(world):
    simulator, _ = world
    simulator.faults.update(drop_after_commit_rate=1.0)
    tally = client(world)
    order = tally_order("PO-DROP")
    with pytest.raises(ConnectorError) as caught:
        tally.create_invoice(order)
    assert caught.value.kind is ErrorKind.UNCERTAIN
    simulator.faults.update(drop_after_commit_rate=0.0)
    assert [v.id for v in tally.find_invoices(order.document_number)] == [order.document_number]
    assert created(simulator) == 1


def test_create_with_our_number_is_findable_and_a_repeat_is_a_duplicate(world):
    simulator, _ = world
    tally = client(world)
    order = tally_order("PO-1")
    voucher = tally.create_invoice(order)
    assert [v.id for v in tally.find_invoices(order.document_number)] == [voucher.id]
    with pytest.raises(ConnectorError) as caught:
        tally.create_invoice(order)
    assert caught.value.kind is ErrorKind.DUPLICATE
    assert tally.find_invoices("DOC-NOPE") == []
    assert created(simulator) == 1


def test_error_table_maps_bad_data_and_bad_configuration(world):
    tally = client(world)
    bad = tally_order("PO-BAD").model_copy(update={"customer_id": "999999999"})
    with pytest.raises(ConnectorError) as caught:
        tally.create_invoice(bad)
    assert caught.value.kind is ErrorKind.BAD_REQUEST and "999999999" in caught.value.message
    wrong_company = client(world, company="Some Other Company")
    with pytest.raises(ConnectorError) as caught:
        wrong_company.ledgers()
    assert caught.value.kind is ErrorKind.AUTH
