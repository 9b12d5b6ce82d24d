"""The connector contract (tests/connectors/zoho/test_contract.py) kept by the Xero connector.

The shared suite is written against ZohoClient and ZohoSandbox, so Xero runs the same promises
here against its own simulator, reusing the suite's retry policy and order builder (through
support.xero_order). Xero adds two of its own: refresh tokens rotate, and a repeated create with
the same Idempotency-Key gets the first answer back.
"""

from __future__ import annotations

import threading

import pytest
from pydantic import SecretStr

from connectors.http.errors import ConnectorError, ErrorKind
from tests.connectors.xero.support import SECRET, World, client_for, xero_order


def contacts(client) -> list[list[dict]]:
    return list(client.pages("/Contacts", "Contacts", "ContactID"))


def test_pagination_reads_every_record_once_across_pages(world: World):
    for n in range(249):
        world.sandbox.state.create_contact({"Name": f"Dealer {n:04d}"})
    pages = contacts(client_for(world))
    ids = [row["ContactID"] for page in pages for row in page]
    assert [len(p) for p in pages] == [100, 100, 50]
    assert len(ids) == len(set(ids)) == 250
    assert world.faults.call_count("GET", "/api.xro/2.0/Contacts") == 3  # pageCount ends it


def test_an_expired_token_is_refreshed_once_even_under_concurrency(world: World):
    client = client_for(world)
    contacts(client)
    issued = world.sandbox.tokens.issued_count()
    world.sandbox.tokens.expire_all()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            contacts(client)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert world.sandbox.tokens.issued_count() == issued + 1


def test_a_bad_refresh_token_is_an_auth_error_that_names_no_secret(world: World):
    client = client_for(world, refresh_token=SecretStr("revoked-refresh-token"))
    with pytest.raises(ConnectorError) as caught:
        contacts(client)
    assert caught.value.kind is ErrorKind.AUTH and caught.value.vendor_code == "invalid_grant"
    assert "revoked-refresh-token" not in str(caught.value) and SECRET not in str(caught.value)


def test_rate_limit_429_is_waited_out_with_retry_after(world: World):
    world.faults.update(rate_limit_per_minute=5)
    client = client_for(world, requests_per_minute=1000)  # our budget wrongly generous
    for _ in range(12):
        contacts(client)
    assert world.faults.status_count(429) > 0  # the vendor pushed back, and we still read it all


def test_the_declared_budget_keeps_us_under_the_vendor_limit(world: World):
    client = client_for(world, requests_per_minute=5)
    contacts(client)  # the token first: a refresh inside the first slot delays that call's arrival
    world.faults.update(rate_limit_per_minute=5)  # a fresh vendor minute from here
    for _ in range(12):
        contacts(client)
    assert world.faults.status_count(429) == 0


def test_reads_are_retried_through_5xx_but_writes_are_not_blindly_repeated(world: World):
    world.faults.update(error_5xx_rate=0.5, seed=7, methods=["GET"])
    client = client_for(world)
    for _ in range(5):
        contacts(client)
    assert world.faults.status_count(500) > 0

    world.faults.update(error_5xx_rate=1.0, methods=["POST"])
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(xero_order(world, "PO-5XX"))
    assert caught.value.kind is ErrorKind.UNCERTAIN
    assert world.posts() == 1  # exactly one attempt: the caller looks up before trying again


def test_a_dropped_connection_after_commit_is_uncertain_and_the_lookup_finds_the_write(world: World):
    world.faults.update(drop_after_commit_rate=1.0, methods=["POST"])
    client = client_for(world)
    order = xero_order(world, "PO-DROP")
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(order)
    assert caught.value.kind is ErrorKind.UNCERTAIN
    world.faults.update(drop_after_commit_rate=0.0)
    assert len(client.find_invoices(order.document_number)) == 1
    assert world.invoice_count() == 1


def test_create_with_our_number_is_findable_and_a_repeat_is_never_a_second_invoice(world: World):
    client = client_for(world)
    order = xero_order(world, "PO-1")
    created = client.create_invoice(order).invoice_id
    assert [i.invoice_id for i in client.find_invoices(order.document_number)] == [created]
    # Within Xero's idempotency window the same key gets the first answer: the same invoice.
    assert client.create_invoice(order).invoice_id == created
    # Once the window has passed, Xero's unique-number rule answers: DUPLICATE.
    world.sandbox.api.forget_idempotency_keys()
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(order)
    assert caught.value.kind is ErrorKind.DUPLICATE
    assert "must be unique" in caught.value.message
    assert client.find_invoices("DOC-NOPE") == []
    assert world.invoice_count() == 1


def test_error_table_maps_bad_data_and_bad_configuration(world: World):
    client = client_for(world)
    bad = xero_order(world, "PO-BAD").model_copy(update={"customer_id": "999999999"})
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(bad)
    assert caught.value.kind is ErrorKind.BAD_REQUEST and caught.value.status_code == 400
    assert "999999999" in caught.value.message
    wrong_tenant = client_for(world, tenant_id="00000000-aaaa-bbbb-cccc-000000000000")
    with pytest.raises(ConnectorError) as caught:
        contacts(wrong_tenant)
    assert caught.value.kind is ErrorKind.AUTH and caught.value.status_code == 403
