"""The connector contract (tests/connectors/zoho/test_contract.py) kept by the QuickBooks connector.

The shared suite is written against ZohoClient, ZohoCredentials and ZohoSandbox, so QuickBooks
runs the same promises here against its own simulator, reusing the suite's retry policy and its
order builder (2 x 100.00, no tax). Pages are the query endpoint's STARTPOSITION/MAXRESULTS.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.quickbooks.client import QuickBooksClient
from connectors.quickbooks.query import CUSTOMER
from dealer_sync.models import MappedOrder
from tests.connectors.quickbooks.support import SECRET, World, client_for
from tests.connectors.zoho.test_contract import mapped

CASE = SimpleNamespace(name="quickbooks")  # what the suite's ``mapped`` reads of a ConnectorCase


def qbo_order(world: World, number: str) -> MappedOrder:
    return mapped(CASE, SimpleNamespace(ids={"quickbooks": (world.customer, world.item)}), number)


def listing(client: QuickBooksClient) -> list[list[dict]]:
    return list(client.pages(CUSTOMER))


def posts(world: World) -> int:
    return sum(c["count"] for c in world.sandbox.api.faults.counters()["calls"] if c["method"] == "POST")


def test_pagination_reads_every_record_once_across_pages(world):
    for n in range(449):
        world.sandbox.state.create("Customer", {"DisplayName": f"Dealer {n:04d}"})
    pages = listing(client_for(world, page_size=200))
    ids = [row["Id"] for page in pages for row in page]
    assert len(pages) == 3 and max(len(p) for p in pages) == 200
    assert len(ids) == len(set(ids)) == 450


def test_an_expired_token_is_refreshed_once_even_under_concurrency(world):
    client = client_for(world)
    listing(client)
    issued = world.sandbox.tokens.issued_count()
    world.sandbox.tokens.expire_all()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            listing(client)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert world.sandbox.tokens.issued_count() == issued + 1
    assert world.sandbox.tokens.refused_count() == 0  # the rotated token was the one used


def test_a_bad_refresh_token_is_an_auth_error_that_names_no_secret(world):
    client = client_for(world, refresh_token=SecretStr("AB11revoked"))
    with pytest.raises(ConnectorError) as caught:
        listing(client)
    assert caught.value.kind is ErrorKind.AUTH
    assert "AB11revoked" not in str(caught.value) and SECRET not in str(caught.value)


def test_rate_limit_429_is_waited_out_with_retry_after(world):
    world.sandbox.api.faults.update(rate_limit_per_minute=5, minute_seconds=1.0)
    client = client_for(world, requests_per_minute=1000)  # our budget wrongly generous
    for _ in range(12):
        listing(client)
    assert world.sandbox.api.faults.status_count(429) > 0  # the vendor pushed back


def test_the_declared_budget_keeps_us_under_the_vendor_limit(world):
    world.sandbox.api.faults.update(rate_limit_per_minute=5, minute_seconds=1.0)
    client = client_for(world, requests_per_minute=5)
    for _ in range(12):
        listing(client)
    assert world.sandbox.api.faults.status_count(429) == 0


def test_reads_are_retried_through_5xx_but_writes_are_not_blindly_repeated(world):
    faults = world.sandbox.api.faults
    faults.update(error_5xx_rate=0.5, seed=7, methods=["GET"])
    client = client_for(world)
    for _ in range(5):
        listing(client)
    assert faults.status_count(500) > 0

    faults.update(error_5xx_rate=1.0, methods=["POST"])
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(qbo_order(world, "PO-5XX"))
    assert caught.value.kind is ErrorKind.UNCERTAIN
    assert posts(world) == 1  # exactly one attempt: the caller looks up before trying again


def test_a_dropped_connection_after_commit_is_uncertain_and_the_lookup_finds_the_write(world):
    world.sandbox.api.faults.update(drop_after_commit_rate=1.0, methods=["POST"])
    client = client_for(world)
    order = qbo_order(world, "PO-DROP")
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(order)
    assert caught.value.kind is ErrorKind.UNCERTAIN
    world.sandbox.api.faults.update(drop_after_commit_rate=0.0)
    assert len(client.find_invoices(order.document_number)) == 1
    assert len(world.sandbox.state.all("Invoice")) == 1


def test_create_with_our_number_is_findable_and_a_repeat_is_a_duplicate(world):
    client = client_for(world)
    order = qbo_order(world, "PO-1")
    created = client.create_invoice(order)
    assert [i.id for i in client.find_invoices(order.document_number)] == [created.id]
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(order)
    assert caught.value.kind is ErrorKind.DUPLICATE
    assert client.find_invoices("DOC-NOPE") == []
    assert len(world.sandbox.state.all("Invoice")) == 1


def test_a_repeat_is_a_duplicate_even_where_the_company_allows_repeated_numbers(world):
    world.sandbox.state.company.warn_duplicate_doc_num = False  # QBO's default: no 6140 (apis.md 2.5)
    client = client_for(world)
    order = qbo_order(world, "PO-2")
    client.create_invoice(order)
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(order)
    assert caught.value.kind is ErrorKind.DUPLICATE
    assert len(world.sandbox.state.all("Invoice")) == 1


def test_error_table_maps_bad_data_and_bad_configuration(world):
    client = client_for(world)
    bad = qbo_order(world, "PO-BAD").model_copy(update={"customer_id": "999999999"})
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(bad)
    assert caught.value.kind is ErrorKind.BAD_REQUEST and caught.value.status_code == 400
    assert caught.value.vendor_code == "2500"
    wrong_realm = client_for(world, realm_id="55555")
    with pytest.raises(ConnectorError) as caught:
        listing(wrong_realm)
    assert caught.value.kind is ErrorKind.AUTH and caught.value.vendor_code == "120"
