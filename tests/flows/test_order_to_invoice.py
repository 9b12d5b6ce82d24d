from collections import Counter
from types import SimpleNamespace

from dealer_sync.store.quarantine import QuarantineItem
from dealer_sync.store.runs import RunCounts
from flows.common import FlowRun
from flows.order_to_invoice import batches_of, collect_batch, order_to_invoice
from flows.pipeline import BatchFutures
from sandbox.network import NetworkSpec


def documents_per_order(world):
    sales_orders = Counter(so.reference_number for so in world.sandbox.inventory.state.list_salesorders())
    invoices = Counter(inv.reference for inv in world.ledger.invoices())
    return sales_orders, invoices


def test_good_orders_get_one_sales_order_and_one_invoice_and_bad_ones_are_quarantined(world_factory):
    world = world_factory(NetworkSpec(seed=11, orders=30, bad_share=0.2))
    summary = order_to_invoice()

    good = {o.number for o in world.network.good_orders}
    bad = world.network.bad_orders
    assert summary["in"] == 30
    assert summary["synced"] == len(good)
    assert summary["quarantined"] == len(bad)
    assert summary["deferred"] == 0

    sales_orders, invoices = documents_per_order(world)
    assert sales_orders == Counter({number: 1 for number in good})
    assert invoices == Counter({number: 1 for number in good})
    quarantined = {r.entity_key: r for r in world.store.quarantine.list(limit=1000)}
    assert set(quarantined) == set(bad)
    assert all(r.reason for r in quarantined.values())


def test_a_second_run_writes_nothing_new(world_factory):
    world = world_factory(NetworkSpec(seed=12, orders=20, bad_share=0.1))
    order_to_invoice()
    before = documents_per_order(world)
    summary = order_to_invoice()
    assert documents_per_order(world) == before
    assert summary["synced"] == 0  # every good order is already invoiced in the portal
    assert summary["in"] == len(world.network.bad_orders)


def test_requests_overlap_up_to_the_vendors_limit_and_never_beyond(world_factory, monkeypatch):
    """One request after another leaves a vendor's budget idle while each answer travels; several
    in flight keep it busy. Never more at once than the organisation allows (Zoho: 5-10)."""
    world = world_factory(NetworkSpec(seed=13, orders=40, bad_share=0.0))
    simulators = (world.sandbox.inventory, world.sandbox.books)
    for product in ("ZOHO_INVENTORY", "ZOHO_BOOKS"):
        monkeypatch.setenv(f"DEALER_SYNC_{product}__MAX_CONCURRENT", "3")
    for simulator in simulators:
        simulator.faults.update(latency_ms=40, max_concurrent=3)

    summary = order_to_invoice()

    assert summary["synced"] == 40
    for simulator in simulators:
        counters = simulator.faults.counters()
        assert 2 <= counters["peak_in_flight"] <= 3
        assert counters["faults"]["concurrency"] == 0  # no request was refused for being one too many


def test_the_first_batch_is_small_so_invoicing_starts_early():
    orders = list(range(260))
    assert [len(b) for b in batches_of(orders, 100)] == [25, 100, 100, 35]  # type: ignore[arg-type]
    assert [len(b) for b in batches_of(orders[:30], 10)] == [10, 10, 10]  # type: ignore[arg-type]
    assert batches_of([], 100) == []
    assert [o for b in batches_of(orders, 100) for o in b] == orders  # type: ignore[arg-type]


class _Done:
    """A finished stage: its result, or the error it ended with (what ``PrefectFuture.result`` gives)."""

    def __init__(self, value: object = None, error: Exception | None = None) -> None:
        self.value, self.error = value, error

    def result(self) -> object:
        if self.error is not None:
            raise self.error
        return self.value


def _run() -> FlowRun:
    return FlowRun(flow="order_to_invoice", run_id="r1", env=None)  # type: ignore[arg-type]


def test_a_batch_whose_read_failed_takes_in_its_ids_and_defers_each():
    run = _run()
    failed = _Done(error=RuntimeError("portal unreachable"))
    batch = BatchFutures(["o1", "o2"], {name: failed for name in ("mapped", "intents", "marked")})
    collect_batch(run, batch)
    assert run.outcomes.counts() == RunCounts(in_count=2, deferred=2)
    assert {r.reason for r in run.outcomes.exceptions()} == {"batch failed: portal unreachable"}
    assert run.outcomes.batch_errors == ["RuntimeError: portal unreachable"]


def test_a_batch_failed_after_its_read_keeps_the_quarantined_and_defers_the_rest():
    run = _run()
    bad = QuarantineItem("order", "o3", {}, "no such dealer")
    failed = _Done(error=RuntimeError("ledger down"))
    futures = {"mapped": _Done(([(SimpleNamespace(id="o1"), {}), (SimpleNamespace(id="o2"), {})], [bad]))}
    futures.update({name: failed for name in ("intents", "sales_orders", "invoices", "marked")})
    collect_batch(run, BatchFutures(["o1", "o2", "o3"], futures))
    assert run.outcomes.counts() == RunCounts(in_count=3, quarantined=1, deferred=2)
    reasons = {r.key: r.reason for r in run.outcomes.exceptions()}
    assert reasons == {
        "o1": "batch failed: ledger down",
        "o2": "batch failed: ledger down",
        "o3": "no such dealer",
    }
