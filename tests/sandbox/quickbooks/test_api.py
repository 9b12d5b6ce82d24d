"""The v3 API as simulated: wire shapes, Faults, requestid, query paging, payments, credit memos."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import httpx
import pytest

from tests.sandbox.quickbooks.support import Session, exact, invoice


def fault(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    error = body["Fault"]["Error"][0]
    assert isinstance(error["code"], str) and "time" in body
    return response.status_code, body["Fault"]["type"], error["code"]


def test_an_invoice_reads_back_as_qbo_writes_it_with_tax_worked_out_per_rate(qbo):
    _, company, api = qbo
    created = api.post(
        "/invoice", invoice(company, tax=company.gst18, PrivateNote="Dealer portal order PO-1")
    )
    assert created.status_code == 200 and created.headers["content-type"].startswith("application/json")
    body = created.json()
    assert set(body) == {"Invoice", "time"}
    inv = body["Invoice"]
    assert inv["DocNumber"] == "INV-1" and inv["Id"].isdigit() and inv["SyncToken"] == "0"
    assert inv["CustomerRef"] == {"value": company.customer, "name": "Shree Auto Parts (DLR042)"}
    assert inv["MetaData"]["CreateTime"] == inv["MetaData"]["LastUpdatedTime"]
    assert inv["MetaData"]["CreateTime"].endswith("+05:30")  # the company's zone, an offset not Z
    assert [line["DetailType"] for line in inv["Line"]] == ["SalesItemLineDetail", "SubTotalLineDetail"]
    assert inv["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {
        "value": company.item,
        "name": "Brake Pad Set BP-220",
    }
    tax = inv["TxnTaxDetail"]
    assert tax["TotalTax"] == 1044 and [t["TaxLineDetail"]["TaxPercent"] for t in tax["TaxLine"]] == [9, 9]
    assert all(t["TaxLineDetail"]["NetAmountTaxable"] == 5800 for t in tax["TaxLine"])
    assert inv["TotalAmt"] == inv["Balance"] == 6844
    assert inv["DueDate"] == "2026-12-22" and inv["PrivateNote"] == "Dealer portal order PO-1"

    read = api.get(f"/invoice/{inv['Id']}").json()["Invoice"]
    assert read == inv
    assert api.get("/invoice/999999").json()["Fault"]["Error"][0]["code"] == "610"


def test_per_line_rounding_of_each_rate(qbo):
    _, company, api = qbo
    body = invoice(company, qty=3, price="99.45", tax=company.gst18)  # 298.35 x 9% = 26.8515
    inv = exact(api.post("/invoice", body))["Invoice"]
    assert [t["Amount"] for t in inv["TxnTaxDetail"]["TaxLine"]] == [Decimal("26.85")] * 2
    assert inv["TotalAmt"] == Decimal("352.05")


@pytest.mark.parametrize(
    ("change", "code", "element"),
    [
        ({"CustomerRef": {"value": "999999"}}, "2500", "CustomerRef"),
        ({"CustomerRef": None}, "2020", "CustomerRef"),
        ({"Line": []}, "2020", "Line"),
        ({"DocNumber": "INV-" + "9" * 20}, "2050", "DocNumber"),
        ({"CurrencyRef": {"value": "USD"}}, "6000", "CurrencyRef"),
    ],
)
def test_bad_data_is_a_validation_fault_naming_the_element(qbo, change, code, element):
    _, company, api = qbo
    answer = api.post("/invoice", {**invoice(company), **change})
    assert fault(answer) == (400, "ValidationFault", code)
    assert answer.json()["Fault"]["Error"][0]["element"] == element


def test_bad_lines_are_refused(qbo):
    _, company, api = qbo
    wrong_amount = invoice(company)
    wrong_amount["Line"][0]["Amount"] = 5000
    assert fault(api.post("/invoice", wrong_amount)) == (400, "ValidationFault", "6070")
    unknown_item = invoice(company)
    unknown_item["Line"][0]["SalesItemLineDetail"]["ItemRef"] = {"value": "424242"}
    assert fault(api.post("/invoice", unknown_item)) == (400, "ValidationFault", "2500")
    assert fault(api.post("/invoice", invoice(company, tax="424242"))) == (400, "ValidationFault", "2500")


def test_a_duplicate_doc_number_is_6140_unless_the_company_allows_it(qbo):
    sandbox, company, api = qbo
    first = api.post("/invoice", invoice(company)).json()["Invoice"]
    again = api.post("/invoice", invoice(company))
    assert fault(again) == (400, "ValidationFault", "6140")
    error = again.json()["Fault"]["Error"][0]
    assert error["Message"] == "Duplicate Document Number Error" and f"TxnId={first['Id']}" in error["Detail"]
    assert api.post("/invoice", invoice(company), include="allowduplicatedocnum").status_code == 200
    api.admin("PUT", "preferences", {"warn_duplicate_doc_num": False})
    assert api.post("/invoice", invoice(company)).status_code == 200
    assert len(sandbox.state.all("Invoice")) == 3


def test_a_requestid_replays_the_first_answer_and_creates_nothing_twice(qbo):
    sandbox, company, api = qbo
    first = api.post("/invoice", invoice(company, "INV-R"), requestid="req-1")
    second = api.post("/invoice", invoice(company, "INV-R"), requestid="req-1")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content  # byte for byte, its "time" included
    refused = api.post("/invoice", invoice(company, "INV-X", customer="999999"), requestid="req-2")
    corrected = api.post("/invoice", invoice(company, "INV-X"), requestid="req-2")
    assert corrected.content == refused.content  # a refusal is replayed as well
    assert [i["DocNumber"] for i in sandbox.state.all("Invoice")] == ["INV-R"]
    assert sandbox.state.snapshot()["replayed"] == 2


def test_a_duplicate_delivery_doubles_a_create_unless_a_requestid_absorbs_it(qbo):
    sandbox, company, api = qbo
    sandbox.api.faults.update(duplicate_delivery_rate=1.0, methods=["POST"])
    api.post("/invoice", invoice(company, "INV-D1"), requestid="dup-1")
    api.post("/invoice", invoice(company, "INV-D2"))
    numbers = sorted(i["DocNumber"] for i in sandbox.state.all("Invoice"))
    assert numbers == ["INV-D1", "INV-D2", "INV-D2"]


def test_auth_and_realm_faults(qbo):
    _, _, api = qbo
    statement = {"query": "SELECT COUNT(*) FROM Invoice"}
    other_realm = api.http.get(f"{api.endpoints.base_url}/v3/company/123145/query", params=statement)
    assert fault(other_realm) == (401, "AuthorizationFault", "120")
    no_token = httpx.get(
        f"{api.endpoints.base_url}/v3/company/{api.endpoints.realm_id}/query", params=statement
    )
    assert fault(no_token) == (401, "AUTHENTICATION", "3200")


def test_minorversion_is_accepted_and_counted(qbo):
    sandbox, _, api = qbo
    api.query("SELECT COUNT(*) FROM Customer")
    api.http.get("/query", params={"query": "SELECT COUNT(*) FROM Customer"})
    assert sandbox.state.snapshot()["minor_versions"] == {"75": 1, "": 1}


def test_query_pages_by_startposition_and_maxresults(qbo):
    sandbox, _, api = qbo
    for n in range(25):
        sandbox.state.create("Customer", {"DisplayName": f"Dealer {n:03d}"})
    first = api.query("SELECT * FROM Customer STARTPOSITION 1 MAXRESULTS 10").json()["QueryResponse"]
    assert (first["startPosition"], first["maxResults"], len(first["Customer"])) == (1, 10, 10)
    ids: list[str] = []
    start = 1
    while True:
        page = api.query(f"select * from Customer startposition {start} maxresults 10").json()[
            "QueryResponse"
        ]
        rows = page.get("Customer", [])
        ids += [row["Id"] for row in rows]
        if len(rows) < 10:
            break
        start += 10
    assert len(ids) == len(set(ids)) == 27 and ids == sorted(ids, key=int)
    assert api.query("SELECT COUNT(*) FROM Customer").json()["QueryResponse"] == {"totalCount": 27}
    empty = api.query("SELECT * FROM Customer STARTPOSITION 100").json()
    assert empty["QueryResponse"] == {} and "time" in empty


def test_query_where_forms(qbo):
    sandbox, company, api = qbo
    sandbox.clock.freeze()
    for n, day in enumerate(["2026-11-01", "2026-11-15", "2026-11-30"]):
        api.post("/invoice", invoice(company, f"INV-{n}", TxnDate=day, DueDate="2026-12-31"))
        sandbox.clock.advance(60)
    rows = lambda q: [r["DocNumber"] for r in api.query(q).json()["QueryResponse"].get("Invoice", [])]  # noqa: E731
    assert rows("SELECT * FROM Invoice WHERE DocNumber = 'INV-1'") == ["INV-1"]
    assert rows("SELECT * FROM Invoice WHERE DocNumber IN ('INV-0', 'INV-2', 'NOPE')") == ["INV-0", "INV-2"]
    assert rows("SELECT * FROM Invoice WHERE TxnDate >= '2026-11-10' AND TxnDate <= '2026-11-30'") == [
        "INV-1",
        "INV-2",
    ]
    changed = sandbox.state.all("Invoice")[1]["MetaData"]["LastUpdatedTime"]
    assert rows(f"SELECT * FROM Invoice WHERE Metadata.LastUpdatedTime >= '{changed}'") == ["INV-1", "INV-2"]
    utc = "2000-01-01T00:00:00+00:00"
    assert len(rows(f"SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '{utc}' ORDERBY Id DESC")) == 3
    assert rows("SELECT * FROM Invoice WHERE TxnDate > '2026-11-01' ORDERBY TxnDate DESC") == [
        "INV-2",
        "INV-1",
    ]
    first_id = sandbox.state.all("Invoice")[0]["Id"]
    assert rows(f"SELECT * FROM Invoice WHERE Id = '{first_id}'") == ["INV-0"]
    assert rows(f"SELECT * FROM Invoice WHERE CustomerRef = '{company.customer}'") == [
        "INV-0",
        "INV-1",
        "INV-2",
    ]
    assert rows("SELECT * FROM Invoice WHERE DocNumber LIKE 'INV-%'") == ["INV-0", "INV-1", "INV-2"]
    quoted = sandbox.state.create("Customer", {"DisplayName": "O'Brien Motors"})
    found = api.query("SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien Motors'").json()["QueryResponse"]
    assert [c["Id"] for c in found["Customer"]] == [quoted["Id"]]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT Id FROM Invoice",
        "SELECT * FROM Invoice WHERE DocNumber = 'A' OR DocNumber = 'B'",
        "SELECT * FROM Nothing",
        "SELECT * FROM Invoice WHERE TxnDate >= 'yesterday'",
        "SELECT * FROM Invoice STARTPOSITION 0",
    ],
)
def test_what_qbo_cannot_query_is_a_parser_fault(qbo, statement):
    _, _, api = qbo
    assert fault(api.query(statement)) == (400, "ValidationFault", "4000")


def test_batch_items_are_answered_by_bid_with_faults_per_item(qbo):
    sandbox, company, api = qbo
    api.post("/invoice", invoice(company, "INV-OLD"))
    items = [
        {"bId": f"o{n}", "operation": "create", "Invoice": invoice(company, f"INV-B{n}")} for n in range(5)
    ] + [
        {"bId": "dup", "operation": "create", "Invoice": invoice(company, "INV-OLD")},
        {"bId": "bad", "operation": "create", "Invoice": invoice(company, "INV-BAD", customer="999999")},
        {"bId": "q", "Query": "SELECT * FROM Invoice WHERE DocNumber = 'INV-OLD'"},
    ]
    answer = api.post("/batch", {"BatchItemRequest": items})
    assert answer.status_code == 200
    responses = answer.json()["BatchItemResponse"]
    assert [r["bId"] for r in responses] != [i["bId"] for i in items]  # order is not promised
    by_bid = {r["bId"]: r for r in responses}
    assert set(by_bid) == {i["bId"] for i in items}
    assert all(by_bid[f"o{n}"]["Invoice"]["DocNumber"] == f"INV-B{n}" for n in range(5))
    assert by_bid["dup"]["Fault"]["Error"][0]["code"] == "6140"
    assert (
        by_bid["bad"]["Fault"]["type"] == "ValidationFault"
        and by_bid["bad"]["Fault"]["Error"][0]["code"] == "2500"
    )
    assert [i["DocNumber"] for i in by_bid["q"]["QueryResponse"]["Invoice"]] == ["INV-OLD"]
    assert len(sandbox.state.all("Invoice")) == 6


def test_batch_items_cannot_see_each_other_and_batches_are_bounded(qbo):
    sandbox, company, api = qbo
    customer = {"bId": "c", "operation": "create", "Customer": {"DisplayName": "Brand New Dealer"}}
    answer = api.post("/batch", {"BatchItemRequest": [customer]}).json()["BatchItemResponse"][0]
    new_id = answer["Customer"]["Id"]
    sandbox.state.company.warn_duplicate_doc_num = True
    both = [
        {"bId": "c2", "operation": "create", "Customer": {"DisplayName": "Second New Dealer"}},
        {
            "bId": "i",
            "operation": "create",
            "Invoice": invoice(company, "INV-N", customer=str(int(new_id) + 1)),
        },
    ]
    by_bid = {r["bId"]: r for r in api.post("/batch", {"BatchItemRequest": both}).json()["BatchItemResponse"]}
    assert "Customer" in by_bid["c2"] and by_bid["i"]["Fault"]["Error"][0]["code"] == "2500"

    too_many = [{"bId": f"x{n}", "Query": "SELECT COUNT(*) FROM Item"} for n in range(31)]
    assert fault(api.post("/batch", {"BatchItemRequest": too_many}))[0] == 400
    same_bid = [{"bId": "a", "Query": "SELECT * FROM Item"}] * 2
    assert fault(api.post("/batch", {"BatchItemRequest": same_bid}))[0] == 400
    long_bid = [{"bId": "b" * 11, "Query": "SELECT * FROM Item"}]
    assert fault(api.post("/batch", {"BatchItemRequest": long_bid}))[0] == 400


def test_forty_batches_a_minute_then_the_throttle(qbo):
    sandbox, _, api = qbo
    sandbox.api.faults.update(minute_seconds=30.0)  # a minute long enough to count in
    one = {"BatchItemRequest": [{"bId": "q", "Query": "SELECT COUNT(*) FROM Item"}]}
    statuses = [api.post("/batch", one).status_code for _ in range(41)]
    assert statuses[:40] == [200] * 40 and statuses[40] == 429


def test_over_the_budget_is_429_with_the_throttle_xml(qbo):
    sandbox, _, api = qbo
    sandbox.api.faults.update(rate_limit_per_minute=3, minute_seconds=30.0)
    answers = [api.query("SELECT COUNT(*) FROM Item") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    throttled = answers[-1]
    assert throttled.headers["content-type"].startswith("application/xml")
    assert "ThrottleExceeded" in throttled.text and 'code="3001"' in throttled.text
    assert float(throttled.headers["Retry-After"]) > 0  # sent by the shared injector [U for QBO]
    assert api.admin("GET", "calls").json()["faults"]["rate_limit"] == 1


def test_a_server_error_is_a_system_fault(qbo):
    sandbox, _, api = qbo
    sandbox.api.faults.update(error_5xx_rate=1.0)
    answer = api.query("SELECT COUNT(*) FROM Item")
    assert fault(answer) == (500, "SystemFault", "10000")
    calls = api.admin("GET", "calls").json()["calls"]
    assert {"method": "GET", "path": "/v3/company/{realmId}/query", "count": 1} in calls


def test_finance_books_payments_and_credit_memos_that_move_the_invoice(qbo):
    _, company, api = qbo
    inv = api.post("/invoice", invoice(company, tax=company.igst18)).json()["Invoice"]  # 5800 + 1044
    paid = api.admin("POST", "payments", {"invoice_id": inv["Id"], "amount": "1000.00", "reference": "UTR-1"})
    payment = paid.json()
    assert (
        payment["TotalAmt"] == 1000 and payment["UnappliedAmt"] == 0 and payment["PaymentRefNum"] == "UTR-1"
    )
    assert payment["Line"] == [{"Amount": 1000, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]
    memo = api.admin("POST", "creditmemos", {"invoice_id": inv["Id"], "amount": "100.00"}).json()
    assert memo["TotalAmt"] == 118 and memo["Balance"] == memo["RemainingCredit"] == 0
    assert memo["LinkedTxn"] == [{"TxnId": inv["Id"], "TxnType": "Invoice"}]

    after = exact(api.get(f"/invoice/{inv['Id']}"))["Invoice"]
    assert after["Balance"] == Decimal("5726.00") and after["SyncToken"] == "2"
    assert [link["TxnType"] for link in after["LinkedTxn"]] == ["Payment", "CreditMemo"]
    customer = exact(api.get(f"/customer/{company.customer}"))["Customer"]
    assert customer["Balance"] == Decimal("5726.00")
    over = exact(api.admin("POST", "payments", {"invoice_id": inv["Id"], "amount": "9000.00"}))
    assert over["UnappliedAmt"] == Decimal("3274.00")


def test_payments_through_the_api_are_checked(qbo):
    _, company, api = qbo
    inv = api.post("/invoice", invoice(company)).json()["Invoice"]

    def line(amount: int, txn: str = inv["Id"]) -> dict:
        return {"Amount": amount, "LinkedTxn": [{"TxnId": txn, "TxnType": "Invoice"}]}

    ok = api.post(
        "/payment", {"CustomerRef": {"value": company.customer}, "TotalAmt": 500, "Line": [line(400)]}
    )
    assert ok.json()["Payment"]["UnappliedAmt"] == 100
    too_much = {"CustomerRef": {"value": company.customer}, "TotalAmt": 9000, "Line": [line(9000)]}
    assert fault(api.post("/payment", too_much)) == (400, "ValidationFault", "6000")
    stranger = {"CustomerRef": {"value": company.other_customer}, "TotalAmt": 10, "Line": [line(10)]}
    assert fault(api.post("/payment", stranger)) == (400, "ValidationFault", "6000")
    nowhere = {"CustomerRef": {"value": company.customer}, "TotalAmt": 10, "Line": [line(10, "999999")]}
    assert fault(api.post("/payment", nowhere)) == (400, "ValidationFault", "2500")


def test_customer_and_item_names_are_unique(qbo):
    _, _, api = qbo
    assert fault(api.post("/customer", {"DisplayName": "Shree Auto Parts (DLR042)"})) == (
        400,
        "ValidationFault",
        "6240",
    )
    assert fault(api.post("/item", {"Name": "Brake Pad Set BP-220"})) == (400, "ValidationFault", "6240")
    assert fault(api.post("/item", {"Name": "Stocked", "Type": "Inventory"})) == (
        400,
        "ValidationFault",
        "2020",
    )
    created = api.post("/customer", {"DisplayName": "New Dealer", "PrimaryEmailAddr": {"Address": "a@b.in"}})
    assert created.json()["Customer"]["PrimaryEmailAddr"] == {"Address": "a@b.in"}


def test_admin_seed_and_reset(qbo):
    sandbox, _, api = qbo
    seeded = api.admin(
        "POST",
        "seed",
        {"tax_codes": [{"name": "GST5", "rates": [["CGST2.5", "2.5"], ["SGST2.5", "2.5"]]}],
         "customers": [{"DisplayName": "Seeded Dealer"}], "items": [{"Name": "Seeded Item"}]},
    )  # fmt: skip
    assert set(seeded.json()) == {"tax_codes", "customers", "items"}
    code = api.get(f"/taxcode/{seeded.json()['tax_codes'][0]}").json()["TaxCode"]
    assert code["TaxGroup"] is True and len(code["SalesTaxRateList"]["TaxRateDetail"]) == 2
    refused = api.admin("POST", "seed", {"customers": [{"DisplayName": "Seeded Dealer"}]})
    assert refused.status_code == 400 and refused.json()["Fault"]["Error"][0]["code"] == "6240"
    assert api.admin("POST", "reset").json() == {"reset": True}
    assert sandbox.state.snapshot()["counts"]["Customer"] == 0


def test_reads_of_what_is_not_there(qbo):
    _, _, api = qbo
    assert fault(api.get("/nothing/1"))[0] == 400
    assert fault(api.post("/taxcode", {"Name": "x"}))[0] == 400


def test_sessions_rotate_independently(qbo):
    sandbox, _, api = qbo
    second = Session(api.endpoints, refresh_token=api.refresh_token)  # the rotated token works once
    assert second.query("SELECT COUNT(*) FROM Item").status_code == 200
    assert sandbox.tokens.issued_count() == 2


def test_more_than_the_concurrency_limit_at_once_is_throttled(qbo):
    sandbox, _, api = qbo
    sandbox.api.faults.update(max_concurrent=2, latency_ms=800)
    statuses: list[int] = []

    def ask() -> None:
        statuses.append(api.query("SELECT COUNT(*) FROM Item").status_code)

    threads = [threading.Thread(target=ask) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(statuses) == [200, 200, 429, 429, 429]
    assert api.admin("GET", "calls").json()["faults"]["concurrency"] == 3


def test_a_throttled_request_is_not_recorded_for_its_requestid(qbo):
    sandbox, _, api = qbo
    sandbox.api.batch_per_minute = 1
    sandbox.api.faults.update(minute_seconds=0.5)
    one = {"BatchItemRequest": [{"bId": "q", "Query": "SELECT COUNT(*) FROM Item"}]}
    assert api.post("/batch", one, requestid="b-1").status_code == 200
    assert api.post("/batch", one, requestid="b-2").status_code == 429
    time.sleep(0.6)  # the scaled minute passes
    assert api.post("/batch", one, requestid="b-2").status_code == 200
