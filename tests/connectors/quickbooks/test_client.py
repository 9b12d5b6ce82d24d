"""The QuickBooks client against its simulator: batch create, requestid, rotation, pages, errors."""

from __future__ import annotations

import json
from datetime import date, datetime

import httpx
import pytest
from pydantic import SecretStr

from connectors.http.errors import ConnectorError, ErrorKind
from connectors.http.oauth import FileRefreshTokenStore
from connectors.quickbooks.bodies import invoice_body, request_id
from connectors.quickbooks.errors import quickbooks_error
from connectors.quickbooks.query import CUSTOMER
from tests.connectors.quickbooks.support import REFRESH, client_for, order


def batch_posts(world) -> int:
    return world.sandbox.api.faults.call_count("POST", "/v3/company/{realmId}/batch")


def test_every_call_carries_the_minor_version(world):
    client = client_for(world, minor_version=70)
    list(client.pages(CUSTOMER))
    client.create_invoice(order(world, "PO-MV"))
    assert set(world.sandbox.state.snapshot()["minor_versions"]) == {"70"}


def test_the_invoice_is_built_from_the_mapped_order_and_qbo_works_the_same_tax_out(world):
    client = client_for(world)
    mapped = order(world, "PO-TAX", lines=[("1450.00", 4, 18), ("99.45", 3, 18)])
    created = client.create_invoice(mapped)
    invoice = created.canonical("DLR042")
    assert invoice.number == "INV-PO-TAX" and invoice.reference == "PO-TAX" and invoice.dealer_id == "DLR042"
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        mapped.subtotal,
        mapped.tax_total,
        mapped.total,
    )
    assert invoice.balance == invoice.total and invoice.adjustment is None
    assert invoice.issue_date == mapped.business_date and (invoice.due_date - invoice.issue_date).days == 30
    assert [line.item_id for line in invoice.lines] == [world.item, world.item]
    body = invoice_body(mapped)
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": world.taxes["intra_state:18"]}


def test_a_repeated_post_with_the_same_request_id_replays_instead_of_creating(world):
    world.sandbox.api.faults.update(drop_after_commit_rate=1.0, methods=["POST"])
    client = client_for(world)
    mapped = order(world, "PO-REPLAY")
    with pytest.raises(ConnectorError) as caught:
        client.create_invoice(mapped)
    assert caught.value.kind is ErrorKind.UNCERTAIN
    world.sandbox.api.faults.update(drop_after_commit_rate=0.0)
    body = invoice_body(mapped)
    answer = client.call(
        "POST", "/invoice", params={"requestid": request_id("invoice", body)}, json_body=body, write=True
    )
    assert answer["Invoice"]["DocNumber"] == "INV-PO-REPLAY"
    assert len(world.sandbox.state.all("Invoice")) == 1 and world.sandbox.state.snapshot()["replayed"] == 1
    assert len(request_id("batch", {"BatchItemRequest": [body] * 30})) <= 36


def test_batch_create_sends_thirty_at_a_time_and_matches_answers_by_bid(world):
    client = client_for(world)
    orders = [order(world, f"PO-{n:03d}") for n in range(65)]
    results = client.create_invoices(orders)
    assert all(isinstance(r, str) for r in results), results
    assert batch_posts(world) == 3
    by_number = {i["DocNumber"]: i["Id"] for i in world.sandbox.state.all("Invoice")}
    assert results == [by_number[o.document_number] for o in orders]  # each order got its own id


def test_batch_create_reports_per_order_outcomes(world):
    client = client_for(world)
    existing = order(world, "PO-OLD")
    client.create_invoice(existing)
    fresh = order(world, "PO-NEW")
    unknown_customer = order(world, "PO-STRANGER", customer="999999")
    results = client.create_invoices([existing, fresh, unknown_customer, fresh])
    kinds = [r.kind if isinstance(r, ConnectorError) else "created" for r in results]
    assert kinds == [ErrorKind.DUPLICATE, "created", ErrorKind.BAD_REQUEST, ErrorKind.DUPLICATE]
    assert isinstance(results[2], ConnectorError) and results[2].vendor_code == "2500"
    assert sorted(i["DocNumber"] for i in world.sandbox.state.all("Invoice")) == ["INV-PO-NEW", "INV-PO-OLD"]


def test_a_batch_whose_answer_is_lost_is_uncertain_per_order_and_is_found_by_number(world):
    client = client_for(world)
    orders = [order(world, f"PO-L{n}") for n in range(3)]
    world.sandbox.api.faults.update(drop_after_commit_rate=1.0, methods=["POST"])
    results = client.create_invoices(orders)
    assert [r.kind for r in results if isinstance(r, ConnectorError)] == [ErrorKind.UNCERTAIN] * 3
    assert batch_posts(world) == 1  # never sent again blindly
    world.sandbox.api.faults.update(drop_after_commit_rate=0.0)
    assert client.existing_doc_numbers([o.document_number for o in orders]).keys() == {
        o.document_number for o in orders
    }
    again = client.create_invoices(orders)
    assert [r.kind for r in again if isinstance(r, ConnectorError)] == [ErrorKind.DUPLICATE] * 3


def test_the_rotated_refresh_token_is_saved_and_the_next_run_starts_from_it(world, tmp_path):
    store = FileRefreshTokenStore(tmp_path / "quickbooks.token")
    first = client_for(world, refresh_token_store=store)
    list(first.pages(CUSTOMER))
    rotated = store.load()
    assert rotated and rotated != REFRESH
    first.close()
    second_run = client_for(world, refresh_token_store=FileRefreshTokenStore(store.path))
    list(second_run.pages(CUSTOMER))  # the configured token is spent: only the file's one works
    assert store.load() not in (None, rotated)
    assert world.sandbox.tokens.refused_count() == 0


def test_a_stale_token_file_gives_way_to_a_newly_configured_token(world, tmp_path):
    store = FileRefreshTokenStore(tmp_path / "quickbooks.token")
    store.save("AB11from-an-earlier-connection")
    client = client_for(world, refresh_token_store=store)
    list(client.pages(CUSTOMER))
    assert store.load() not in ("AB11from-an-earlier-connection", REFRESH)


def test_clients_of_one_process_share_the_rotation(world):
    list(client_for(world).pages(CUSTOMER))
    list(client_for(world).pages(CUSTOMER))  # same credentials, no store: the newest token is shared
    assert world.sandbox.tokens.refused_count() == 0


def test_a_refresh_token_nobody_knows_is_auth(world):
    client = client_for(world, refresh_token=SecretStr("AB11never-issued"))
    with pytest.raises(ConnectorError) as caught:
        list(client.pages(CUSTOMER))
    assert caught.value.kind is ErrorKind.AUTH and "never-issued" not in str(caught.value)


def test_invoice_pages_filter_by_change_time_and_date(world):
    client = client_for(world, page_size=2)
    clock = world.sandbox.clock
    clock.freeze()
    for n, day in enumerate(["2026-11-01", "2026-11-10", "2026-11-20", "2026-11-30"]):
        client.create_invoice(order(world, f"PO-P{n}", on=date.fromisoformat(day)))
        clock.advance(60)
    since = world.sandbox.state.all("Invoice")[2]["MetaData"]["LastUpdatedTime"]
    changed = [r["DocNumber"] for page in client.invoice_pages(datetime.fromisoformat(since)) for r in page]
    assert changed == ["INV-PO-P2", "INV-PO-P3"]
    dated = client.invoice_pages(date_start=date(2026, 11, 10), date_end=date(2026, 11, 20))
    assert [r["DocNumber"] for page in dated for r in page] == ["INV-PO-P1", "INV-PO-P2"]


def _response(status: int, content: bytes, content_type: str = "application/json") -> httpx.Response:
    request = httpx.Request("GET", "https://quickbooks.api.intuit.com/v3/company/1/query")
    return httpx.Response(status, content=content, headers={"content-type": content_type}, request=request)


THROTTLE = (
    b'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"><Fault type="SERVICE"><Error code="3001">'
    b"<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message></Error></Fault>"
    b"</IntuitResponse>"
)


@pytest.mark.parametrize(
    ("status", "content", "kind", "code"),
    [
        (429, THROTTLE, ErrorKind.RATE_LIMITED, "3001"),
        (403, THROTTLE, ErrorKind.RATE_LIMITED, "3001"),  # the historical status of a throttle
        (401, b'{"fault":{"error":[{"message":"message=AuthenticationFailed","detail":"x","code":"3200"}],'
              b'"type":"AUTHENTICATION"}}', ErrorKind.AUTH, "3200"),
        (400, b'{"Fault":{"Error":[{"Message":"Duplicate Document Number Error","code":"6210"}],'
              b'"type":"ValidationFault"}}', ErrorKind.DUPLICATE, "6210"),
        (400, b'{"Fault":{"Error":[{"Message":"Object Not Found","code":"610"}],"type":"ValidationFault"}}',
         ErrorKind.NOT_FOUND, "610"),
        (400, b'{"Fault":{"Error":[{"Message":"Stale Object Error","code":"5010"}],'
              b'"type":"ValidationFault"}}', ErrorKind.BAD_REQUEST, "5010"),
        (500, b"<html>oops</html>", ErrorKind.RETRY, None),
        (404, b"", ErrorKind.AUTH, None),
    ],
)  # fmt: skip
def test_the_error_table(status, content, kind, code):
    error = quickbooks_error(_response(status, content), _decoded(content))
    assert (error.kind, error.vendor_code) == (kind, code)


def _decoded(content: bytes):
    try:
        return json.loads(content)
    except ValueError:
        return None
