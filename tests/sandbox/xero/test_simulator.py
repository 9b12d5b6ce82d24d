"""The Xero simulator over real HTTP: wire shapes, paging, incremental reads, rotation, batches."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from tests.sandbox.xero.conftest import CLIENT_ID, NOW, REFRESH, Org, invoice, token


def test_every_refresh_rotates_and_an_old_token_dies_after_its_grace(org: Org):
    first = token(org.endpoints, REFRESH)
    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800
    assert body["refresh_token"] != REFRESH
    again = token(org.endpoints, REFRESH)  # the answer was "lost": the grace period allows a retry
    assert again.status_code == 200
    org.sandbox.tokens.end_grace()
    refused = token(org.endpoints, REFRESH)
    assert (refused.status_code, refused.json()) == (400, {"error": "invalid_grant"})
    assert token(org.endpoints, body["refresh_token"]).status_code == 200
    wrong_secret = token(org.endpoints, body["refresh_token"], secret="nope")
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (400, "invalid_client")
    assert org.sandbox.tokens.latest_refresh_token(CLIENT_ID) not in (REFRESH, body["refresh_token"])


def test_the_api_wants_a_live_token_and_this_tenant(org: Org, api: httpx.Client):
    assert api.get("/Invoices").status_code == 200
    assert api.get("/Invoices", headers={"xero-tenant-id": "another-org"}).status_code == 403
    only_token = {"Authorization": api.headers["Authorization"]}
    bare = httpx.get(org.endpoints.base_url + "/Invoices", headers=only_token)
    assert bare.status_code == 403
    org.sandbox.tokens.expire_all()
    expired = api.get("/Invoices")
    assert expired.status_code == 401 and expired.json()["Title"] == "Unauthorized"


def test_an_invoice_is_created_with_xero_totals_and_ms_json_dates(org: Org, api: httpx.Client):
    answer = api.put("/Invoices", params={"summarizeErrors": "false"}, json={"Invoices": [invoice(org)]})
    assert answer.status_code == 200
    body = answer.json(parse_float=Decimal)
    assert body["Status"] == "OK" and body["DateTimeUTC"].startswith("/Date(")
    created = body["Invoices"][0]
    assert created["StatusAttributeString"] == "OK" and created["HasErrors"] is False
    midnight = int(datetime(2026, 11, 22, tzinfo=UTC).timestamp() * 1000)
    assert created["Date"] == f"/Date({midnight}+0000)/" and created["DateString"] == "2026-11-22T00:00:00"
    assert created["Contact"] == {"ContactID": org.contact_id, "Name": "Shree Auto Parts"}
    line = created["LineItems"][0]
    assert (line["LineAmount"], line["TaxAmount"], line["AccountCode"]) == (
        Decimal("5800.00"),
        Decimal("1044.00"),  # CGST 522.00 + SGST 522.00
        "200",
    )
    assert line["Quantity"] == Decimal("4.0000")
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (
        Decimal("5800.00"),
        Decimal("1044.00"),
        Decimal("6844.00"),
    )
    assert (created["AmountDue"], created["AmountPaid"], created["AmountCredited"]) == (
        Decimal("6844.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert created["UpdatedDateUTC"] == f"/Date({int(NOW.timestamp() * 1000)}+0000)/"
    fetched = api.get(f"/Invoices/{created['InvoiceID']}").json()["Invoices"][0]
    assert fetched["InvoiceNumber"] == "INV-1"
    assert api.get("/Invoices/no-such-id").status_code == 404


def test_a_duplicate_number_is_a_validation_exception(org: Org, api: httpx.Client):
    assert api.put("/Invoices", json={"Invoices": [invoice(org)]}).status_code == 200
    again = api.put("/Invoices", json={"Invoices": [invoice(org)]})
    assert again.status_code == 400
    body = again.json()
    assert (body["ErrorNumber"], body["Type"]) == (10, "ValidationException")
    assert body["Elements"][0]["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]
    assert len(org.sandbox.state.list_invoices()) == 1


def test_a_batch_answers_each_element_with_summarize_errors_false(org: Org, api: httpx.Client):
    nobody = {"ContactID": "nobody"}
    batch = [invoice(org, "INV-A"), invoice(org, "INV-B", Contact=nobody), invoice(org, "INV-C")]
    answer = api.post("/Invoices", params={"summarizeErrors": "false"}, json={"Invoices": batch})
    assert answer.status_code == 200
    elements = answer.json()["Invoices"]
    assert [e["StatusAttributeString"] for e in elements] == ["OK", "ERROR", "OK"]
    assert elements[1]["HasErrors"] is True
    assert elements[1]["InvoiceID"] == "00000000-0000-0000-0000-000000000000"
    assert "could not be found" in elements[1]["ValidationErrors"][0]["Message"]
    assert sorted(i.number for i in org.sandbox.state.list_invoices()) == ["INV-A", "INV-C"]


def test_a_summarized_batch_fails_whole_yet_creates_the_valid_ones(org: Org, api: httpx.Client):
    batch = [invoice(org, "INV-D"), invoice(org, "INV-E", LineAmountTypes="Sideways")]
    answer = api.put("/Invoices", json={"Invoices": batch})
    assert answer.status_code == 400
    assert [e["InvoiceNumber"] for e in answer.json()["Elements"]] == ["INV-E"]
    assert [i.number for i in org.sandbox.state.list_invoices()] == ["INV-D"]


def test_an_idempotency_key_answers_once_and_creates_once(org: Org, api: httpx.Client):
    headers = {"Idempotency-Key": "order-8812-inv-v1"}
    first = api.post("/Invoices", json={"Invoices": [invoice(org)]}, headers=headers)
    second = api.post("/Invoices", json={"Invoices": [invoice(org)]}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["Invoices"][0]["InvoiceID"] == second.json()["Invoices"][0]["InvoiceID"]
    assert len(org.sandbox.state.list_invoices()) == 1
    too_long = {"Idempotency-Key": "x" * 129}
    assert api.post("/Invoices", json=invoice(org, "INV-2"), headers=too_long).status_code == 400
    org.sandbox.api.forget_idempotency_keys()  # the retention window has passed
    late = api.post("/Invoices", json={"Invoices": [invoice(org)]}, headers=headers)
    assert late.status_code == 400 and "must be unique" in late.text


def test_pages_hold_100_and_say_how_many_there_are(org: Org, api: httpx.Client):
    for start in range(0, 250, 50):
        batch = [invoice(org, f"INV-{n:04d}") for n in range(start, start + 50)]
        assert api.put("/Invoices", json={"Invoices": batch}).status_code == 200
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        body = api.get("/Invoices", params={"page": page}).json()
        seen += [i["InvoiceID"] for i in body["Invoices"]]
        assert body["pagination"] == {"page": page, "pageSize": 100, "pageCount": 3, "itemCount": 250}
    assert len(seen) == len(set(seen)) == 250
    numbers = api.get("/Invoices", params={"InvoiceNumbers": "INV-0007,INV-0042"}).json()["Invoices"]
    assert sorted(i["InvoiceNumber"] for i in numbers) == ["INV-0007", "INV-0042"]


def test_if_modified_since_and_where_narrow_the_list(org: Org, api: httpx.Client):
    api.put("/Invoices", json={"Invoices": [invoice(org, "INV-OLD")]})
    org.sandbox.clock.advance(20)  # less than the scaled token life (30 s)
    api.put("/Invoices", json={"Invoices": [invoice(org, "INV-NEW", Status="DRAFT")]})
    answer = api.get("/Invoices", headers={"If-Modified-Since": "2026-11-22T10:00:10"})
    assert answer.status_code == 200, answer.text
    recent = answer.json()["Invoices"]
    assert [i["InvoiceNumber"] for i in recent] == ["INV-NEW"]
    drafts = api.get("/Invoices", params={"where": 'Status=="DRAFT"'}).json()["Invoices"]
    assert [i["InvoiceNumber"] for i in drafts] == ["INV-NEW"]
    clause = f'Contact.ContactID==Guid("{org.contact_id}") AND Date>=DateTime(2026,11,22)'
    assert len(api.get("/Invoices", params={"where": clause}).json()["Invoices"]) == 2
    assert api.get("/Invoices", params={"where": "Total.Contains(1)"}).status_code == 400


def test_finance_payments_and_credit_notes_settle_the_invoice(org: Org, api: httpx.Client):
    created = api.put("/Invoices", json={"Invoices": [invoice(org)]}).json()["Invoices"][0]
    admin = org.endpoints.api_url + "/__admin"
    paid = httpx.post(f"{admin}/payments", json={"invoice_id": created["InvoiceID"], "amount": "1000.00"})
    assert paid.status_code == 200 and paid.json()["PaymentType"] == "ACCRECPAYMENT"
    credited = httpx.post(f"{admin}/credit-notes", json={"invoice_id": created["InvoiceID"], "amount": "100"})
    note = credited.json()
    assert (note["Total"], note["RemainingCredit"], note["Status"]) == (118.0, 0.0, "PAID")
    after = api.get(f"/Invoices/{created['InvoiceID']}").json(parse_float=Decimal)["Invoices"][0]
    assert (after["AmountPaid"], after["AmountCredited"], after["AmountDue"]) == (
        Decimal("1000.00"),
        Decimal("118.00"),
        Decimal("5726.00"),
    )
    payments = api.get("/Payments", params={"page": 1}).json()["Payments"]
    assert payments[0]["Invoice"]["Contact"]["ContactID"] == org.contact_id
    over = api.put("/Payments", json={"Payments": [
        {"Invoice": {"InvoiceID": created["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": 99999}
    ]})
    assert over.status_code == 400 and "exceeds" in over.text


def test_limit_headers_and_a_minute_429_that_names_its_problem(org: Org, api: httpx.Client):
    org.sandbox.api.faults.update(rate_limit_per_minute=3, daily_limit=100)
    answers = [api.get("/Contacts") for _ in range(4)]
    assert [a.headers.get("X-MinLimit-Remaining") for a in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["X-DayLimit-Remaining"] == "99"
    assert "X-AppMinLimit-Remaining" in answers[0].headers
    assert "X-Rate-Limit-Limit" not in answers[0].headers  # Zoho's headers are not Xero's
    limited = answers[3]
    assert limited.status_code == 429 and limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert 0 < float(limited.headers["Retry-After"]) <= 1.0


def test_the_daily_limit_says_day_with_a_long_retry_after(org: Org, api: httpx.Client):
    org.sandbox.api.faults.update(daily_limit=2, rate_limit_per_minute=None)
    assert [api.get("/Items").status_code for _ in range(2)] == [200, 200]
    limited = api.get("/Items")
    assert limited.status_code == 429 and limited.headers["X-Rate-Limit-Problem"] == "day"
    assert float(limited.headers["Retry-After"]) > 1000  # a scaled day: 1,440 one-second minutes


def test_more_than_the_concurrent_limit_is_refused_as_concurrent(org: Org, api: httpx.Client):
    org.sandbox.api.faults.update(max_concurrent=2, latency_ms=300, methods=["GET"])
    statuses: list[tuple[int, str | None]] = []

    def read() -> None:
        answer = api.get("/Items")
        statuses.append((answer.status_code, answer.headers.get("X-Rate-Limit-Problem")))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(statuses, key=str).count((429, "concurrent")) == 2
