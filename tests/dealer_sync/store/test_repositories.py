import pytest

from dealer_sync.store import AuditEvent, ConservationError, MappingKind, QuarantineItem, RunCounts


def test_conservation_holds_or_fails_loudly():
    RunCounts(in_count=10, synced=7, quarantined=2, deferred=1).check()
    with pytest.raises(ConservationError, match="10 records in but 9 accounted for"):
        RunCounts(in_count=10, synced=7, quarantined=2, deferred=0).check("order_to_invoice")
    assert RunCounts(1, 1, 0, 0) + RunCounts(2, 0, 1, 1) == RunCounts(3, 1, 1, 1)


def test_run_log_records_counts_per_run(store):
    store.runs.start("run-1", "order_to_invoice")
    store.runs.finish("run-1", RunCounts(5, 3, 1, 1), "completed")
    [run] = store.runs.recent()
    assert (run.flow, run.status, run.counts) == ("order_to_invoice", "completed", RunCounts(5, 3, 1, 1))
    assert run.finished_at is not None and run.finished_at.tzinfo is not None
    store.runs.start("run-1", "order_to_invoice")  # a retried flow run starts over
    assert store.runs.recent()[0].status == "running"


def test_quarantine_keeps_the_payload_and_reason_and_does_not_double_an_open_record(store):
    item = QuarantineItem("order", "ord-7", {"sku": "NOPE"}, "unknown SKU NOPE", "sku mapped")
    [first] = store.quarantine.add("order_to_invoice", "run-1", [item])
    [again] = store.quarantine.add("order_to_invoice", "run-2", [item])
    assert first == again
    record = store.quarantine.get(first)
    assert record.payload == {"sku": "NOPE"} and record.occurrences == 2 and record.run_id == "run-2"
    assert record.failed_expectation == "sku mapped"
    assert store.quarantine.count_open() == {"order_to_invoice": 1}

    assert store.quarantine.resolve_keys("order_to_invoice", "order", ["ord-7"], "run-3") == 1
    assert store.quarantine.count_open() == {}
    assert store.quarantine.list(status="replayed")[0].replayed_at is not None
    # a new failure of the same key after the replay opens a new record
    [third] = store.quarantine.add("order_to_invoice", "run-4", [item])
    assert third != first


def test_quarantine_list_filters_by_flow_and_entity(store):
    store.quarantine.add("order_to_invoice", "r", [QuarantineItem("order", "a", {}, "x")])
    store.quarantine.add("inventory_refresh", "r", [QuarantineItem("stock", "b", {}, "y")])
    assert [r.entity_key for r in store.quarantine.list(flow="inventory_refresh")] == ["b"]
    assert [r.entity_key for r in store.quarantine.list(entity="order")] == ["a"]
    assert len(store.quarantine.list(status=None)) == 2


def test_cursors_are_per_flow_system_and_entity(store):
    assert store.cursors.get("pullback", "zoho_books", "invoice") is None
    store.cursors.set("pullback", "zoho_books", "invoice", "2026-11-22T10:00:00Z", "run-1")
    store.cursors.set("pullback", "zoho_books", "invoice", "2026-11-22T11:00:00Z", "run-2")
    store.cursors.set("pullback", "zoho_books", "payment", "2026-11-20T00:00:00Z")
    assert store.cursors.get("pullback", "zoho_books", "invoice") == "2026-11-22T11:00:00Z"
    assert len(store.cursors.all()) == 2


def test_mappings_upsert_and_look_up_both_ways(store):
    m = store.mappings
    m.put(MappingKind.DEALER_CUSTOMER, "zoho_books", "DLR042", "982000000567001")
    m.put_many(MappingKind.SKU_ITEM, "zoho_books", [("BP-220", "9820001", None), ("BP-221", "9820002", None)])
    m.put(MappingKind.SKU_ITEM, "zoho_books", "BP-220", "9820009", {"unit": "pcs"})
    assert m.get(MappingKind.SKU_ITEM, "zoho_books", "BP-220") == "9820009"
    assert m.reverse(MappingKind.DEALER_CUSTOMER, "zoho_books", "982000000567001") == "DLR042"
    assert m.table(MappingKind.SKU_ITEM, "zoho_books") == {"BP-220": "9820009", "BP-221": "9820002"}
    assert m.get(MappingKind.SKU_ITEM, "zoho_inventory", "BP-220") is None
    assert m.attributes(MappingKind.SKU_ITEM, "zoho_books")["BP-220"] == {"unit": "pcs"}
    assert m.counts() == {("dealer_customer", "zoho_books"): 1, ("sku_item", "zoho_books"): 2}


def test_audit_log_counts_writes_by_system_and_outcome(store):
    store.audit.record([
        AuditEvent("zoho_books", "create", "invoice", "ord-1", "created", external_id="1", status_code=201),
        AuditEvent("zoho_books", "create", "invoice", "ord-2", "rejected", status_code=400),
        AuditEvent("zoho_inventory", "create", "salesorder", "ord-1", "created", status_code=201),
    ])
    assert store.audit.count() == 3
    assert store.audit.count(system="zoho_books", outcome="created") == 1
