"""Exactly-once under crashes, overlapping runs and a misbehaving target; secrets stay secret."""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections import Counter, deque

import pytest

from connectors.portal_sql.client import SqlPortal
from dealer_sync.db import make_engine
from dealer_sync.models import OrderStatus
from dealer_sync.store.outbox import OutboxStatus
from dealer_sync.store.schema import AuditEntry, OutboxEntry
from flows.inventory_refresh import inventory_refresh
from flows.invoice_payment_pullback import invoice_payment_pullback
from flows.order_to_invoice import order_to_invoice
from sandbox.network import NetworkSpec
from tasks.environment import close_environments
from tests.flows.conftest import CLIENT_SECRET, REFRESH_TOKEN
from tests.flows.support import (
    FlowProcess,
    TokenRecorder,
    audit_outcomes,
    child_environment,
    database_text,
    post_calls,
    prefect_records_text,
    read_artifacts,
    run_log,
    table_rows,
    wait_for_leases_to_expire,
    wait_until,
)
from tests.flows.test_order_to_invoice import documents_per_order

FLOW = "order_to_invoice"
LEASE_SECONDS = 1.0
SYSTEMS = ("INVENTORY", "BOOKS")

# PostgreSQL only: row claims with FOR UPDATE SKIP LOCKED between two live runs. Without
# DEALER_SYNC_TEST_PG_URL the parameter list is empty and pytest reports an empty parameter set.
POSTGRES_ONLY = pytest.mark.parametrize(
    "db_url",
    [pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]
    if os.environ.get("DEALER_SYNC_TEST_PG_URL")
    else [],
    indirect=True,
)


def invoiced_in_portal(world) -> set[str]:
    engine = make_engine(world.db_url)
    try:
        orders, _ = SqlPortal(engine, "Asia/Kolkata").orders(statuses=[OrderStatus.INVOICED])
    finally:
        engine.dispose()
    return {o.id for o in orders}


def assert_one_document_each(world) -> None:
    """One sales order and one invoice per good order (by reference_number), none for a bad one."""
    sales_orders, invoices = documents_per_order(world)
    good = {o.number for o in world.network.good_orders}
    assert sales_orders == Counter({number: 1 for number in good})
    assert invoices == Counter({number: 1 for number in good})


def assert_posted_once_and_invoiced(world) -> None:
    assert_one_document_each(world)
    assert invoiced_in_portal(world) == {o.id for o in world.network.good_orders}
    assert world.store.outbox.counts().get(OutboxStatus.IN_FLIGHT.value, 0) == 0


def assert_every_run_conserved(world, flow: str = FLOW) -> list[dict]:
    rows = run_log(world.store, flow)
    for row in rows:
        assert row["status"] in ("completed", "failed"), row
        assert row["in_count"] == row["synced"] + row["quarantined"] + row["deferred"], row
    return rows


def set_faults(world, **faults) -> None:
    for injector in (world.sandbox.inventory.faults, world.ledger.faults):
        injector.update(**faults)


# -- 1. SIGKILL at random points ----------------------------------------------------------------


@pytest.mark.timeout(600)  # 20+ child processes at ~5 CPU-seconds each; bounded even on a busy machine
def test_sigkill_at_random_points_while_posting_never_posts_twice(world_factory, tmp_path):
    """Kill order_to_invoice with SIGKILL mid-posting again and again; one last run heals all.

    Each run is a real child process against the simulators served here and the test's database.
    A kill is triggered by progress rather than by a clock, so that it lands while documents are
    being created, confirmed and marked sent however fast the machine is: after a seeded random
    number (1-16) of POSTs reached the simulators, plus a seeded jitter of up to 50 ms.
    """
    world = world_factory(NetworkSpec(seed=71, orders=200, bad_share=0.1), minute_seconds=1.0)
    rng = random.Random(71)
    env = child_environment()
    kills_wanted, max_cycles = 20, 30
    landed, cycles, posts_per_cycle = 0, 0, []
    children = [FlowProcess.spawn(tmp_path, f"run-{n}", env) for n in range(2)]  # warm ahead
    waiting = deque(children)
    started = time.monotonic()
    try:
        while landed < kills_wanted and cycles < max_cycles:
            cycles += 1
            child = waiting.popleft()
            child.wait_ready()
            children.append(FlowProcess.spawn(tmp_path, f"run-{cycles + 1}", env))
            waiting.append(children[-1])
            before = post_calls(world)
            target = rng.randint(1, 16)
            child.start(batch_size=10, lease_seconds=LEASE_SECONDS)
            wait_until(
                lambda c=child, b=before, t=target: post_calls(world) - b >= t or not c.running(),
                timeout=60,
                interval=0.005,
                what="the child to post",
            )
            time.sleep(rng.uniform(0.0, 0.05))
            landed += child.kill()
            posts_per_cycle.append(post_calls(world) - before)
            wait_for_leases_to_expire(world.store, LEASE_SECONDS)  # the dead run's claims
    finally:
        for child in children:
            child.stop()
    print(
        f"\n{landed} kills landed in {cycles} cycles ({time.monotonic() - started:.0f} s); "
        f"POSTs per killed run: {posts_per_cycle}"
    )
    assert landed >= kills_wanted
    cut_short = [row for row in run_log(world.store, FLOW) if row["status"] == "running"]
    assert len(cut_short) == landed  # each kill left its run unfinished in the run log
    output = "".join(p.read_text() for c in children for p in (c.output, c.errors))
    assert CLIENT_SECRET not in output and REFRESH_TOKEN not in output

    summary = order_to_invoice(batch_size=10, lease_seconds=LEASE_SECONDS)
    assert summary["deferred"] == 0
    assert_posted_once_and_invoiced(world)
    # Kills left claims in flight; later runs took them over, so looked up before creating.
    reclaimed = [e for e in table_rows(world.store, OutboxEntry) if e["attempts"] > 1]
    outcomes = audit_outcomes(world.store)
    print(f"healing run: {summary}; writes claimed again after a kill: {len(reclaimed)}; {dict(outcomes)}")
    assert reclaimed


def test_a_write_made_just_before_a_kill_is_in_the_audit_log(world_factory, tmp_path):
    """Every document in the target has an audit entry, even when the run that wrote it was killed."""
    world = world_factory(NetworkSpec(seed=76, orders=30, bad_share=0.0), minute_seconds=1.0)
    set_faults(world, latency_ms=20, methods=["POST"])  # one batch of 30 takes ~0.6 s to post
    child = FlowProcess.spawn(tmp_path, "killed", child_environment())
    try:
        child.wait_ready()
        child.start(batch_size=30, lease_seconds=LEASE_SECONDS)
        # Posting is sequential within a batch: a third sales order in the target means the first
        # two are recorded in the outbox, while the batch's audit events are still in memory.
        inventory = world.sandbox.inventory.state
        wait_until(
            lambda: len(inventory.list_salesorders()) >= 3 or not child.running(), timeout=60, interval=0.005
        )
        if not child.kill():
            raise RuntimeError("the run ended before the kill: nothing was tested")
    finally:
        child.stop()
    wait_for_leases_to_expire(world.store, LEASE_SECONDS)
    if order_to_invoice(lease_seconds=LEASE_SECONDS)["deferred"]:
        raise RuntimeError("the healing run did not finish the work")

    audited = {row["external_id"] for row in table_rows(world.store, AuditEntry)}
    written = {so.salesorder_id for so in world.sandbox.inventory.state.list_salesorders()}
    written |= {inv.invoice_id for inv in world.sandbox.books.state.list_invoices()}
    assert written - audited == set()


# -- 2. Two overlapping runs (PostgreSQL) ----------------------------------------------------------


@POSTGRES_ONLY
def test_two_overlapping_runs_post_each_order_once(world_factory, tmp_path):
    """Two processes start order_to_invoice together over the same orders; no order is posted twice."""
    world = world_factory(NetworkSpec(seed=72, orders=120, bad_share=0.1), minute_seconds=1.0)
    set_faults(world, latency_ms=25, methods=["POST"])
    # Each run paces itself to 8 requests a second per system: ~216 ledger calls keep the first run
    # posting for 25+ s however many requests it keeps in flight, so the second is in it even when
    # a loaded Prefect server takes many seconds to start its flow run (15 s was seen in CI).
    env = {**child_environment(), **{f"DEALER_SYNC_ZOHO_{s}__REQUESTS_PER_MINUTE": "8" for s in SYSTEMS}}
    runs = [FlowProcess.spawn(tmp_path, f"overlap-{n}", env, warm_flow=True) for n in range(2)]
    try:
        for run in runs:
            run.wait_ready()
        for run in runs:
            run.start(batch_size=10)
        summaries = [run.finish(timeout=150) for run in runs]
    finally:
        for run in runs:
            run.stop()
    assert all(s is not None for s in summaries), [r.errors.read_text()[-2000:] for r in runs]
    creators = Counter(
        row["run_id"] for row in table_rows(world.store, AuditEntry) if row["outcome"] == "created"
    )
    print(f"\n{summaries}; documents created per run: {dict(creators)}")

    assert_posted_once_and_invoiced(world)
    first, second = assert_every_run_conserved(world)
    assert second["started_at"] < first["finished_at"]  # the two runs really ran at the same time
    assert {s["run_id"] for s in summaries} == {first["run_id"], second["run_id"]}


# -- 3. Faults ----------------------------------------------------------------------------------


def exceptions_markdown(run_id: str) -> str:
    """The markdown artifact listing the run's quarantined and deferred records."""
    artifacts = read_artifacts([run_id], key="order-to-invoice-exceptions")
    assert len(artifacts) == 1, artifacts
    return str(artifacts[0].data)


def test_5xx_timeouts_and_429_bursts_defer_visibly_and_never_post_twice(world_factory, monkeypatch, caplog):
    """20% 5xx, 5% hangs beyond the client timeout, a small per-minute budget: every good order is
    invoiced by the end of the run or the next; each failure is a logged retry or a deferral."""
    world = world_factory(NetworkSpec(seed=73, orders=40, bad_share=0.1), minute_seconds=1.0)
    for system in SYSTEMS:
        monkeypatch.setenv(f"DEALER_SYNC_ZOHO_{system}__TIMEOUT_SECONDS", "1")
    set_faults(
        world,
        # A fault seed whose draws hang the 5th, 17th and 26th request of each simulator: with
        # seed 73 the first hang came at the 99th, and a run that needed fewer saw none.
        seed=98,
        error_5xx_rate=0.2,
        timeout_rate=0.05,
        hang_seconds=2.0,
        rate_limit_per_minute=8,  # the client believes in 100 a minute: it gets 429 bursts
        minute_seconds=1.0,
    )
    caplog.set_level(logging.WARNING, logger="dealer_sync")
    states = []
    for _ in range(2):
        state = order_to_invoice(batch_size=10, return_state=True)
        states.append(state)
        if state.is_completed() and state.result()["deferred"] == 0:
            break

    faults = Counter()
    for simulator in (world.sandbox.inventory, world.sandbox.books):
        faults.update(simulator.faults.counters()["faults"])
    print(f"\nfaults injected: {dict(faults)}; states: {[s.type.value for s in states]}")
    assert faults["error_5xx"] and faults["timeout"] and faults["rate_limit"]

    assert_posted_once_and_invoiced(world)

    rows = assert_every_run_conserved(world)
    assert len(rows) == len(states)
    for state, row in zip(states, rows, strict=True):
        print({k: row[k] for k in ("status", "in_count", "synced", "quarantined", "deferred")})
        if state.is_failed():  # a batch failed: red in Prefect, the reason in the run log
            assert row["status"] == "failed" and row["error"], row
            assert "batch(es) failed" in state.message and "batch(es) failed" in row["error"]
        else:
            assert row["status"] == "completed" and row["error"] is None
        if row["deferred"]:  # every deferred order is listed with its reason in the artifact
            markdown = exceptions_markdown(row["run_id"])
            assert markdown.count("| deferred | order |") == row["deferred"]
    # Every write that failed in doubt is in the audit log, with what the target answered.
    deferred = [r for r in table_rows(world.store, AuditEntry) if r["outcome"] == "deferred"]
    assert deferred and all(r["detail"] for r in deferred)
    assert any("http=500" in r["detail"] for r in deferred)
    retried_429 = [r for r in caplog.records if "429" in r.getMessage() and "retrying" in r.getMessage()]
    assert retried_429, "429 answers were retried after Retry-After, and said so"


def run_with_drops_and_duplicate_deliveries(world_factory):
    """One run against targets that drop answers after committing and deliver some POSTs twice."""
    world = world_factory(NetworkSpec(seed=74, orders=30, bad_share=0.1), minute_seconds=1.0)
    set_faults(world, seed=74, drop_after_commit_rate=0.3, duplicate_delivery_rate=0.2, methods=["POST"])
    order_to_invoice(batch_size=10, return_state=True)  # may fail: mark-as-sent answers dropped too
    set_faults(world, drop_after_commit_rate=0.0, duplicate_delivery_rate=0.0)
    order_to_invoice(batch_size=10)
    return world


def test_dropped_answers_are_looked_up_and_duplicate_deliveries_stay_copies(world_factory):
    """Drops: the write committed, the answer was lost; the lookup by our number finds it.

    A duplicate delivery is the target's fault: it stores a second copy with the same
    reference_number under a number of its own. Our own number exists exactly once.
    """
    world = run_with_drops_and_duplicate_deliveries(world_factory)
    inventory, books = world.sandbox.inventory, world.sandbox.books
    good = {o.number for o in world.network.good_orders}

    ours = Counter(so.salesorder_number for so in inventory.state.list_salesorders())
    ours_inv = Counter(inv.invoice_number for inv in books.state.list_invoices())
    for number in good:
        assert ours[f"SO-{number}"] == 1 and ours_inv[f"INV-{number}"] == 1
    assert invoiced_in_portal(world) == {o.id for o in world.network.good_orders}

    outcomes = audit_outcomes(world.store)
    assert outcomes[("zoho_inventory", "found")] + outcomes[("zoho_books", "found")] >= 1  # drops healed
    numbers = {so.salesorder_id: so.salesorder_number for so in inventory.state.list_salesorders()}
    numbers |= {inv.invoice_id: inv.invoice_number for inv in books.state.list_invoices()}
    entries = table_rows(world.store, OutboxEntry)
    assert len(entries) == 2 * len(good)
    for entry in entries:  # one external id per effect: our document, never the target's copy
        assert entry["status"] == OutboxStatus.DONE.value
        assert numbers[entry["external_id"]] == entry["reference"]

    sales_orders, invoices = documents_per_order(world)
    twins = sum(n - 1 for n in sales_orders.values()) + sum(n - 1 for n in invoices.values())
    print(f"\nwrites: {dict(outcomes)}; copies the target made: {twins}")
    assert twins >= 1  # the fault really happened, so the detection test below means something


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="product gap: the lookup searches our own document number, which the target's "
    "duplicate copy does not carry (it has the same reference_number and a number of its own), "
    "so tasks/posting.py never sees the copy; see the report of tests/flows/test_exactly_once.py",
)
def test_a_duplicate_delivered_by_the_target_is_detected(world_factory, caplog):
    """Every order the target holds twice must be reported (audit log, or an error in the log)."""
    caplog.set_level(logging.INFO, logger="dealer_sync")
    world = run_with_drops_and_duplicate_deliveries(world_factory)
    sales_orders, invoices = documents_per_order(world)
    doubled = {n for n, c in sales_orders.items() if c > 1} | {n for n, c in invoices.items() if c > 1}
    if not doubled:
        raise RuntimeError("the target delivered nothing twice: nothing was tested")
    reported = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    reported += " ".join(str(r["detail"]) + str(r["outcome"]) for r in table_rows(world.store, AuditEntry))
    assert all(number in reported for number in doubled), doubled


# -- 4. Secrets -------------------------------------------------------------------------------


def test_secrets_never_reach_logs_artifacts_or_the_store(world_factory, monkeypatch, caplog, capfd):
    """All three flows with failing targets and an expired token, then one with a wrong secret."""
    world = world_factory(NetworkSpec(seed=75, orders=12, bad_share=0.2), minute_seconds=1.0)
    recorder = TokenRecorder(world.sandbox.tokens)
    for name in ("", "dealer_sync", "httpx", "httpcore", "prefect", "uvicorn"):
        caplog.set_level(logging.DEBUG, logger=name or None)
    set_faults(world, seed=75, error_5xx_rate=0.2)

    states = [order_to_invoice(return_state=True)]
    world.sandbox.tokens.expire_all()  # the next calls get 401 and refresh
    states.append(inventory_refresh(full=True, return_state=True))
    world.sandbox.tokens.expire_all()
    states.append(invoice_payment_pullback(return_state=True))

    wrong_secret = "wrong-client-secret-7d3e0b"
    close_environments()  # clients are cached per process: make the next run read the new secret
    monkeypatch.setenv("DEALER_SYNC_ZOHO_INVENTORY__CLIENT_SECRET", wrong_secret)
    world.sandbox.tokens.expire_all()
    refused = inventory_refresh(full=True, return_state=True)
    assert refused.is_failed()
    states.append(refused)

    assert recorder.issued and len(recorder.issued) == world.sandbox.tokens.issued_count()
    assert len(recorder.issued) >= 3  # the first token and the refreshes after each expiry
    secrets = {"client secret": CLIENT_SECRET, "refresh token": REFRESH_TOKEN, "wrong secret": wrong_secret}
    for n, token in enumerate(recorder.issued):
        secrets[f"access token {n}"] = token
        for half, part in enumerate(token.split(".")[1:]):  # a cut-off token is still a leak
            secrets[f"access token {n}, part {half + 1}"] = part

    run_ids = [row["run_id"] for row in run_log(world.store, "order_to_invoice")]
    run_ids += [row["run_id"] for row in run_log(world.store, "inventory_refresh")]
    run_ids += [row["run_id"] for row in run_log(world.store, "invoice_payment_pullback")]
    assert len(run_ids) == len(states)
    captured = capfd.readouterr()
    places = {
        "log records": "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records),
        "log text": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "database": database_text(world.db_url),
        "prefect": prefect_records_text(run_ids),
        "states": "\n".join(f"{s.message} {s.result(raise_on_failure=False)!r}" for s in states),
    }
    assert places["log records"] and places["database"] and places["prefect"]
    simulators = (world.sandbox.inventory, world.sandbox.books)
    assert sum(sim.faults.fault_count("error_5xx") for sim in simulators)  # errors happened...
    assert sum(sim.faults.status_count(401) for sim in simulators)  # ...and expired tokens
    assert re.search(r"\b500\b", places["log records"])  # and the errors were logged
    leaks = {
        where: [name for name, value in secrets.items() if value in text] for where, text in places.items()
    }
    assert not any(leaks.values()), leaks
