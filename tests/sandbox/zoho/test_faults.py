"""Each injected fault, as a connector sees it over real HTTP."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from sandbox.faults import FaultConfig
from sandbox.zoho import ZohoEndpoints, ZohoSandbox
from tests.sandbox.zoho.support import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, START, grant, poll


@pytest.fixture
def customer(sandbox: ZohoSandbox) -> str:
    return sandbox.books.state.add_contact("Shree Auto Parts", place_of_contact="MH").contact_id


def _invoice(customer: str, reference: str) -> dict[str, object]:
    return {
        "customer_id": customer,
        "reference_number": reference,
        "line_items": [{"name": "Service", "rate": 100, "quantity": 1}],
    }


def test_rate_limit_answers_429_with_retry_after_and_a_zoho_body(
    sandbox: ZohoSandbox, books: httpx.Client
) -> None:
    sandbox.books.faults.update(rate_limit_per_minute=3, minute_seconds=1.0)
    statuses = [books.get("/contacts").status_code for _ in range(3)]
    limited = books.get("/contacts")

    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("application/json")
    body = limited.json()
    assert body["code"] != 0
    assert "too many requests" in body["message"]
    retry_after = float(limited.headers["Retry-After"])
    assert 0 < retry_after <= 1.0
    # Another organisation has its own budget (and is refused for other reasons).
    other = books.get("/contacts", params={"organization_id": "999"})
    assert other.status_code == 400
    assert poll(lambda: books.get("/contacts").status_code == 200, timeout=5.0)
    assert sandbox.books.faults.status_count(429) >= 1
    assert sandbox.books.faults.fault_count("rate_limit") >= 1


def test_unscaled_retry_after_is_whole_seconds(sandbox: ZohoSandbox, books: httpx.Client) -> None:
    sandbox.books.faults.update(rate_limit_per_minute=1)
    books.get("/contacts")
    limited = books.get("/contacts")
    assert limited.status_code == 429
    assert 55 <= int(limited.headers["Retry-After"]) <= 60


def test_too_many_concurrent_requests_are_429(sandbox: ZohoSandbox, books: httpx.Client) -> None:
    sandbox.books.faults.update(max_concurrent=2, latency_ms=600)
    barrier = threading.Barrier(4)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait(timeout=5)
        response = books.get("/contacts")
        with lock:
            results.append(response)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) in (1, 2)
    assert statuses.count(429) >= 2
    limited = next(r for r in results if r.status_code == 429)
    assert limited.json()["code"] != 0
    assert "Retry-After" in limited.headers


def test_daily_limit_is_429_and_quota_headers_count_down(
    sandbox: ZohoSandbox, books: httpx.Client
) -> None:
    sandbox.books.faults.update(daily_limit=2)
    first, second, third = (books.get("/contacts") for _ in range(3))
    assert (first.headers["X-Rate-Limit-Limit"], first.headers["X-Rate-Limit-Remaining"]) == (
        "2",
        "1",
    )
    assert second.headers["X-Rate-Limit-Remaining"] == "0"
    assert third.status_code == 429
    assert third.json()["code"] == 45


def test_server_error_is_500_with_zoho_body_and_commits_nothing(
    sandbox: ZohoSandbox, books: httpx.Client, customer: str
) -> None:
    sandbox.books.faults.update(error_5xx_rate=1.0)
    response = books.post("/invoices", json=_invoice(customer, "R-500"))
    assert response.status_code == 500
    assert response.json() == {"code": 1000, "message": "Internal error"}
    assert sandbox.books.state.list_invoices() == []


def test_a_hang_times_the_client_out_and_commits_nothing(
    sandbox: ZohoSandbox, books: httpx.Client, customer: str
) -> None:
    sandbox.books.faults.update(timeout_rate=1.0, hang_seconds=1.0, methods=["POST"])
    assert books.get("/invoices").status_code == 200  # GET is not affected
    with pytest.raises(httpx.ReadTimeout):
        books.post("/invoices", json=_invoice(customer, "R-HANG"), timeout=0.2)
    assert sandbox.books.state.list_invoices() == []
    # When the hang ends the server answers 500 to nobody; still nothing is committed.
    assert poll(lambda: sandbox.books.faults.status_count(500) == 1, timeout=5.0)
    assert sandbox.books.state.list_invoices() == []


def test_a_dropped_connection_after_commit_is_a_transport_error_but_the_write_exists(
    sandbox: ZohoSandbox, books: httpx.Client, customer: str
) -> None:
    sandbox.books.faults.update(drop_after_commit_rate=1.0, methods=["POST"])
    with pytest.raises(httpx.RemoteProtocolError):
        books.post("/invoices", json=_invoice(customer, "R-DROP"))
    found = books.get("/invoices", params={"reference_number": "R-DROP"}).json()["invoices"]
    assert len(found) == 1
    assert sandbox.books.faults.fault_count("drop_after_commit") == 1


def test_duplicate_delivery_creates_two_records_with_the_same_reference(
    sandbox: ZohoSandbox, books: httpx.Client, customer: str
) -> None:
    sandbox.books.faults.update(duplicate_delivery_rate=1.0)
    created = books.post("/invoices", json=_invoice(customer, "R-TWICE"))
    assert created.status_code == 201
    found = books.get("/invoices", params={"reference_number": "R-TWICE"}).json()["invoices"]
    assert len(found) == 2
    assert len({i["invoice_id"] for i in found}) == 2
    assert len({i["invoice_number"] for i in found}) == 2
    assert created.json()["invoice"]["invoice_id"] in {i["invoice_id"] for i in found}


def test_duplicate_delivery_of_a_sales_order(sandbox: ZohoSandbox, inventory: httpx.Client) -> None:
    state = sandbox.inventory.state
    state.add_location("Pune WH")
    dealer = state.add_contact("Shree Auto Parts")
    item = state.add_item("Brake Pad", "BP", 100, stock={"Pune WH": 5})
    sandbox.inventory.faults.update(duplicate_delivery_rate=1.0)
    payload = {
        "customer_id": dealer.contact_id,
        "reference_number": "PORTAL-1",
        "salesorder_number": "SO-OWN-1",
        "line_items": [{"item_id": item.item_id, "quantity": 1}],
    }
    created = inventory.post(
        "/salesorders", params={"ignore_auto_number_generation": "true"}, json=payload
    )
    assert created.json()["salesorder"]["salesorder_number"] == "SO-OWN-1"
    orders = inventory.get("/salesorders", params={"reference_number": "PORTAL-1"}).json()
    assert sorted(o["salesorder_number"] for o in orders["salesorders"]) == ["SO-00001", "SO-OWN-1"]


def test_latency_delays_responses(sandbox: ZohoSandbox, books: httpx.Client) -> None:
    sandbox.books.faults.update(latency_ms=150)
    started = time.monotonic()
    assert books.get("/contacts").status_code == 200
    assert time.monotonic() - started >= 0.15


def test_faults_can_be_limited_to_methods(
    sandbox: ZohoSandbox, books: httpx.Client, customer: str
) -> None:
    sandbox.books.faults.update(error_5xx_rate=1.0, methods=["post"])
    assert books.get("/invoices").status_code == 200
    assert books.post("/invoices", json=_invoice(customer, "R-M")).status_code == 500


def test_admin_is_never_faulted_and_calls_are_counted_per_route_and_status(
    sandbox: ZohoSandbox, endpoints: ZohoEndpoints, books: httpx.Client
) -> None:
    admin = endpoints.books_url.removesuffix("/books/v3") + "/__admin"
    httpx.put(f"{admin}/faults", json={"error_5xx_rate": 1.0, "rate_limit_per_minute": 1})
    for _ in range(3):
        assert httpx.get(f"{admin}/state").status_code == 200
    books.get("/invoices")
    books.get("/invoices/42")
    calls = httpx.get(f"{admin}/calls").json()
    assert calls["calls"] == [
        {"method": "GET", "path": "/books/v3/invoices", "count": 1},
        {"method": "GET", "path": "/books/v3/invoices/{invoice_id}", "count": 1},
    ]
    assert calls["statuses"] == {"429": 1, "500": 1}
    assert sandbox.books.faults.call_count("GET", "/books/v3/invoices") == 1


def _statuses(seed: int) -> list[int]:
    zoho = ZohoSandbox(now=START, frozen_clock=True, seed=seed)
    zoho.register_client(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
    zoho.books.faults.update(error_5xx_rate=0.5)
    with zoho.serve() as urls:
        token = grant(urls.accounts_url).json()["access_token"]
        with httpx.Client(
            base_url=urls.books_url,
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
            params={"organization_id": zoho.organization.organization_id},
        ) as c:
            return [c.get("/contacts").status_code for _ in range(16)]


def test_the_same_seed_gives_the_same_faults() -> None:
    first = _statuses(seed=7)
    assert first == _statuses(seed=7)
    assert {200, 500} == set(first)
    assert first != _statuses(seed=8)


def test_fault_config_forbids_unknown_fields() -> None:
    with pytest.raises(ValueError, match="extra"):
        FaultConfig.model_validate({"error_rate": 0.5})
    with pytest.raises(ValueError):
        FaultConfig(hang_seconds=1000)
