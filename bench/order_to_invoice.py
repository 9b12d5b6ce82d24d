"""Benchmark: order-to-invoice against the sandbox under a request budget, vs a naive baseline.

Two fresh worlds are built, each like ``sandbox.demo.seeded_sandbox``: a new SQLite store and
portal in a temp folder, the Zoho simulators on loopback, seeded from ``sandbox.network.generate``
with N good orders. The simulators run in a child process (as a vendor's servers run elsewhere);
both flows run in this one process. The simulators and our client get the SAME budget: R requests
per (scaled) minute of M seconds, per product.

1. ours:     the ``order_to_invoice`` flow (batches, outbox, expectations, artifacts).
2. baseline: a naive Prefect flow with one ``@task`` per order that creates the sales order,
             confirms it, creates the invoice and marks it sent with the same connector clients
             and the same mapping (``tasks.order_mapping``), without the store. Run in flow runs
             of at most ``--baseline-chunk`` tasks (Prefect loses events past a few thousand task
             runs in one flow run).

What is printed (see bench/README.md):

- bottleneck calls per order, counted by the simulators (accepted calls, 429s excluded);
- budget-forced time T_budget = max(0, C - R) * M / R for the C accepted calls on the bottleneck
  product: the first R calls may go at once, every further call needs M / R seconds;
- throughput as a fraction of the ceiling = T_budget / wall time;
- overhead per order = (wall - T_budget) / N, for ours and for the baseline;
- ours against the naive loop = (wall ours - wall baseline) / N: the issue's overhead.

Targets (issue): >= 90% of the ceiling, <= 1 ms overhead per order against the naive loop.
Nothing is asserted. ``--timeline S`` prints both products' calls per second every S seconds.

    .venv/bin/python bench/order_to_invoice.py                      # 10,000 orders (~20 min)
    .venv/bin/python bench/order_to_invoice.py --orders 2000 --skip-baseline   # ours, ~2 min
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_inventory.client import ZohoInventoryClient
from dealer_sync.models import MappedOrder
from dealer_sync.settings import Settings
from dealer_sync.store import SyncStore
from sandbox.demo import seeded_sandbox
from sandbox.network import NetworkSpec
from sandbox.zoho import ZohoSandbox
from tasks.environment import close_environments, environment, zoho_credentials
from tasks.order_mapping import MappingContext, load_target_tables, map_orders
from tasks.order_to_invoice import INVENTORY, document_prefixes

LEDGER = "zoho_books"

SYSTEMS = {INVENTORY: "ZOHO_INVENTORY", LEDGER: "ZOHO_BOOKS"}
TARGET_FRACTION = 0.90
TARGET_OVERHEAD_MS = 1.0


# ------------------------------------------------------------------------------- the world


@dataclass
class Measurement:
    label: str
    orders: int
    wall: float
    synced: int
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)  # system -> counters
    documents: dict[str, int] = field(default_factory=dict)
    flow_runs: int = 1
    notes: list[str] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after (other processes)
    timeline: list[tuple[float, dict[str, int]]] = field(default_factory=list)  # (seconds, calls so far)

    def accepted(self, system: str) -> int:
        c = self.calls[system]
        return int(c["total"]) - int(c["statuses"].get("429", 0))

    def rejected_429(self, system: str) -> int:
        return int(self.calls[system]["statuses"].get("429", 0))

    def peak_in_flight(self) -> dict[str, int]:
        return {system: int(self.calls[system].get("peak_in_flight", 0)) for system in SYSTEMS}


class Simulators:
    """The parent's handle on the simulators, which run in a child process (see ``budgeted_world``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def ask(self, command: str) -> Any:
        with self._lock:
            self._conn.send(command)
            return self._conn.recv()

    def calls(self) -> dict[str, int]:
        """Calls seen so far per product (429s included): cheap enough to sample during a run."""
        return cast(dict[str, int], self.ask("totals"))

    def counts(self) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
        return cast(tuple[dict[str, dict[str, Any]], dict[str, int]], self.ask("counts"))


def serve_simulators(conn: Connection, data_dir: str, spec: NetworkSpec, args: argparse.Namespace) -> None:
    """The child process: build and seed the world, send its settings, answer until told to stop."""
    with seeded_sandbox(Path(data_dir), spec, args.minute_seconds) as world:
        sandbox = world.zoho
        for simulator in (sandbox.inventory, sandbox.books):
            simulator.faults.update(
                rate_limit_per_minute=args.budget,
                minute_seconds=args.minute_seconds,
                max_concurrent=args.max_concurrent,
            )
        conn.send(world.env)
        while (command := conn.recv()) != "stop":
            if command == "totals":
                conn.send(
                    {
                        INVENTORY: sandbox.inventory.faults.counters()["total"],
                        LEDGER: sandbox.books.faults.counters()["total"],
                    }
                )
            else:
                conn.send(simulator_counts(sandbox))
        conn.send("stopped")


@contextmanager
def budgeted_world(root: Path, label: str, args: argparse.Namespace) -> Iterator[Simulators]:
    """A fresh seeded world whose simulators and client share one budget; env vars set meanwhile.

    The simulators run in a child process, as a vendor's servers run elsewhere: in this process
    their request handling (FastAPI, the simulated state) would compete with the flow for the
    interpreter lock and charge the vendor's CPU to the run being measured.
    """
    spec = NetworkSpec(
        seed=args.seed,
        orders=args.orders,
        dealers=args.dealers,
        skus=args.skus,
        warehouses=2,
        bad_share=0.0,
    )
    saved = dict(os.environ)
    context = multiprocessing.get_context("spawn")  # no fork of a process running Prefect's threads
    ours, theirs = context.Pipe()
    child = context.Process(
        target=serve_simulators, args=(theirs, str(root / label), spec, args), daemon=True
    )
    child.start()
    try:
        if not ours.poll(timeout=600):
            raise RuntimeError("the simulators did not start within 10 minutes")
        env: dict[str, str] = ours.recv()
        for name in SYSTEMS.values():
            env[f"DEALER_SYNC_{name}__REQUESTS_PER_MINUTE"] = str(args.budget)
            env[f"DEALER_SYNC_{name}__MAX_CONCURRENT"] = str(args.max_concurrent)
        for name in [n for n in os.environ if n.startswith("DEALER_SYNC_")]:
            del os.environ[name]
        os.environ.update(env)
        yield Simulators(ours)
    finally:
        close_environments()
        os.environ.clear()
        os.environ.update(saved)
        with suppress(Exception):
            ours.send("stop")
            ours.poll(timeout=30) and ours.recv()
        child.join(timeout=30)
        if child.is_alive():
            child.terminate()
            child.join(timeout=10)


@contextmanager
def sampled(simulators: Simulators, every: float) -> Iterator[list[tuple[float, dict[str, int]]]]:
    """With ``every`` > 0: the simulators' call totals sampled every ``every`` seconds meanwhile."""
    samples: list[tuple[float, dict[str, int]]] = []
    stop = threading.Event()

    def sample() -> None:
        started = time.perf_counter()
        while not stop.is_set():
            samples.append((time.perf_counter() - started, simulators.calls()))
            stop.wait(every)

    thread = threading.Thread(target=sample, name="bench-timeline", daemon=True)
    if every > 0:
        thread.start()
    try:
        yield samples
    finally:
        stop.set()
        if every > 0:
            thread.join()


def print_timeline(m: Measurement) -> None:
    """Calls per second per product over the run: where the bottleneck sat idle, and when."""
    print(f"\ntimeline of {m.label}: calls per second in each interval (429s included)")
    print(f"{'from s':>7s} {'to s':>7s} " + " ".join(f"{system:>15s}" for system in SYSTEMS))
    for (t0, before), (t1, after) in zip(m.timeline, m.timeline[1:], strict=False):
        rates = [(after[system] - before[system]) / (t1 - t0) for system in SYSTEMS]
        print(f"{t0:7.1f} {t1:7.1f} " + " ".join(f"{rate:15.1f}" for rate in rates))


def simulator_counts(sandbox: ZohoSandbox) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    calls = {INVENTORY: sandbox.inventory.faults.counters(), LEDGER: sandbox.books.faults.counters()}
    orders = sandbox.inventory.state.list_salesorders()
    invoices = sandbox.books.state.list_invoices()
    documents = {
        "sales_orders": len(orders),
        "sales_orders_confirmed": sum(1 for o in orders if o.status == "confirmed"),
        "invoices": len(invoices),
        "invoices_sent": sum(1 for i in invoices if i.status != "draft"),
    }
    return calls, documents


# ------------------------------------------------------------------------------------ ours


def run_ours(root: Path, args: argparse.Namespace) -> Measurement:
    from flows.order_to_invoice import order_to_invoice

    flow_fn = order_to_invoice
    if args.flow_workers:  # what-if: the flow's task runner with more threads than it declares
        flow_fn = order_to_invoice.with_options(
            task_runner=ThreadPoolTaskRunner(max_workers=args.flow_workers)
        )
    with budgeted_world(root, "ours", args) as simulators:
        load_before = os.getloadavg()[0]
        with sampled(simulators, args.timeline) as timeline:
            started = time.perf_counter()
            summary = flow_fn(batch_size=args.batch_size)
            wall = time.perf_counter() - started
        calls, documents = simulators.counts()
        result = Measurement("ours", args.orders, wall, int(summary["synced"]), calls, documents)
        result.timeline = timeline
        result.load = (load_before, os.getloadavg()[0])
        if summary["quarantined"] or summary["deferred"]:
            result.notes.append(f"ours: {summary}")
        return result


# -------------------------------------------------------------------------------- baseline

_clients: dict[str, Any] = {}  # the baseline's connector clients for the current world
_mapped: list[tuple[MappedOrder, MappedOrder]] = []  # its mapped orders (flow parameters stay small)


@task(name="naive-post-order", cache_policy=NO_CACHE)
def post_one_order(index: int) -> str:
    """Sales order, confirm, invoice, mark sent: one order, no store, no exactly-once bookkeeping."""
    inventory: ZohoInventoryClient = _clients[INVENTORY]
    books: ZohoBooksClient = _clients[LEDGER]
    inventory_order, books_order = _mapped[index]
    sales_order = inventory.create_sales_order(inventory_order)
    for error in inventory.confirm_sales_orders([sales_order.salesorder_id]).values():
        raise error  # the naive loop fails the task, as a raising client would
    invoice = books.create_invoice(books_order)
    for error in books.mark_invoices_sent([invoice.invoice_id]).values():
        raise error
    return invoice.invoice_id


def _naive_flow(workers: int) -> Any:
    @flow(name="naive-order-to-invoice", task_runner=ThreadPoolTaskRunner(max_workers=workers))
    def naive_order_to_invoice(start: int, stop: int) -> int:
        futures = [post_one_order.submit(index) for index in range(start, stop)]
        done = 0
        for future in futures:
            try:
                future.result()
                done += 1
            except Exception as exc:  # a naive loop just counts what failed
                logging.getLogger("bench").warning("naive task failed: %s", exc)
        return done

    return naive_order_to_invoice


def run_baseline(root: Path, args: argparse.Namespace) -> Measurement:
    with budgeted_world(root, "baseline", args) as simulators:
        settings = Settings()
        # Set-up, untimed: the mapping tables (loaded from the store once, as an operator would).
        store = SyncStore.open(settings.resolved_store_url())
        targets = (
            load_target_tables(store.mappings, INVENTORY, with_warehouses=True),
            load_target_tables(store.mappings, LEDGER, with_warehouses=True),
        )
        store.close()
        naive = _naive_flow(args.baseline_workers)
        portal = environment(settings).portal
        _clients[INVENTORY] = ZohoInventoryClient(
            zoho_credentials(settings.zoho_inventory, SYSTEMS[INVENTORY])
        )
        _clients[LEDGER] = ZohoBooksClient(zoho_credentials(settings.zoho_books, SYSTEMS[LEDGER]))
        load_before = os.getloadavg()[0]
        try:
            started = time.perf_counter()
            # Timed, like the flow: read the orders from the portal and map them (no expectations).
            orders, _ = portal.orders()
            ctx = MappingContext(
                dealers=portal.dealers()[0],
                price_lists=portal.price_lists(),
                outstanding=portal.outstanding_by_dealer(),
                warehouses=portal.order_warehouses([o.id for o in orders]),
                home_state=settings.home_state,
                targets=targets,
                document_prefix=document_prefixes(LEDGER),
            )
            mapped = []
            for start in range(0, len(orders), args.batch_size):  # per batch, as the flow checks credit
                accepted = map_orders(orders[start : start + args.batch_size], ctx).accepted
                mapped += [(m[INVENTORY], m[LEDGER]) for _, m in accepted]
            _mapped[:] = mapped
            done = 0
            runs = 0
            for start in range(0, len(mapped), args.baseline_chunk):
                done += naive(start, min(start + args.baseline_chunk, len(mapped)))
                runs += 1
            wall = time.perf_counter() - started
        finally:
            for client in _clients.values():
                client.close()
            _clients.clear()
            _mapped.clear()
        calls, documents = simulators.counts()
        result = Measurement("baseline", args.orders, wall, done, calls, documents, flow_runs=runs)
        result.load = (load_before, os.getloadavg()[0])
        if len(mapped) != args.orders:
            result.notes.append(f"baseline: only {len(mapped)} of {args.orders} orders mapped")
        return result


# ---------------------------------------------------------------------------------- report


@dataclass
class Derived:
    bottleneck: str
    calls_per_order: float  # accepted calls on the bottleneck product per order
    budget_time: float  # seconds the budget forces for those calls
    fraction: float  # budget_time / wall
    overhead_ms: float  # (wall - budget_time) / N, in ms
    raw_rate_fraction: float  # (C / wall) / (R / M), without the first-window allowance


def derive(m: Measurement, args: argparse.Namespace) -> Derived:
    per_order = {system: m.accepted(system) / m.orders for system in SYSTEMS}
    bottleneck = max(per_order, key=lambda s: per_order[s])
    calls = m.accepted(bottleneck)
    rate = args.budget / args.minute_seconds
    budget_time = max(0, calls - args.budget) / rate
    return Derived(
        bottleneck=bottleneck,
        calls_per_order=per_order[bottleneck],
        budget_time=budget_time,
        fraction=budget_time / m.wall,
        overhead_ms=(m.wall - budget_time) / m.orders * 1000,
        raw_rate_fraction=calls / m.wall / rate,
    )


def report(ours: Measurement, base: Measurement | None, args: argparse.Namespace) -> None:
    rate = args.budget / args.minute_seconds
    print()
    print("== order_to_invoice benchmark ==")
    print(
        f"orders={args.orders} budget={args.budget}/min minute_seconds={args.minute_seconds} "
        f"(= {rate:.1f} requests/s per product) max_concurrent={args.max_concurrent} "
        f"batch_size={args.batch_size} seed={args.seed} dealers={args.dealers} skus={args.skus} "
        f"flow_workers={args.flow_workers or 'as declared'} baseline_workers={args.baseline_workers} "
        f"baseline_chunk={args.baseline_chunk}"
    )
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus")
    rows = [ours] + ([base] if base else [])
    derived = {m.label: derive(m, args) for m in rows}
    print()
    print("calls accepted by the simulators (429s excluded), per order:")
    for m in rows:
        parts = []
        for system in SYSTEMS:
            parts.append(
                f"{system} {m.accepted(system) / m.orders:.3f} ({m.accepted(system)} calls, "
                f"{m.rejected_429(system)} x 429)"
            )
        print(f"  {m.label:9s} " + "; ".join(parts))
        refused = {
            system: {kind: n for kind, n in m.calls[system]["faults"].items() if n}
            for system in SYSTEMS
            if any(m.calls[system]["faults"].values())
        }
        if refused:  # which limit the 429s came from: the minute's budget, or requests at once
            print(f"  {'':9s} refused by {refused}; most in flight {m.peak_in_flight()}")
        print(f"  {'':9s} documents {m.documents} synced={m.synced} flow_runs={m.flow_runs}")
        print(f"  {'':9s} load average {m.load[0]:.2f} before, {m.load[1]:.2f} after ({os.cpu_count()} cpus)")
    for m in rows:
        for note in m.notes:
            print(f"  NOTE {note}")
    print()
    header = (
        f"{'run':9s} {'wall s':>8s} {'budget s':>9s} {'orders/s':>9s} {'ceiling/s':>10s} "
        f"{'fraction':>9s} {'overhead ms/order':>18s}  bottleneck"
    )
    print(header)
    print("-" * len(header))
    for m in rows:
        d = derived[m.label]
        ceiling = rate / d.calls_per_order
        print(
            f"{m.label:9s} {m.wall:8.2f} {d.budget_time:9.2f} {m.orders / m.wall:9.2f} {ceiling:10.2f} "
            f"{d.fraction:9.1%} {d.overhead_ms:18.3f}  {d.bottleneck} ({d.calls_per_order:.3f} calls/order)"
        )
    print()
    mine = derived["ours"]
    print(f"ours: wall {ours.wall:.2f} s", end="")
    if base:
        theirs = derived["baseline"]
        print(
            f"; baseline wall {base.wall:.2f} s; ratio ours/baseline {ours.wall / base.wall:.3f}; "
            f"(ours - baseline) / N = {(ours.wall - base.wall) / args.orders * 1000:.3f} ms/order"
        )
        print(
            f"baseline per-task overhead beyond its budget time: {theirs.overhead_ms:.3f} ms/order "
            f"({theirs.fraction:.1%} of its ceiling)"
        )
    else:
        print()
    print()
    print("target                               measured      result")
    ok_fraction = mine.fraction >= TARGET_FRACTION
    print(
        f"throughput >= {TARGET_FRACTION:.0%} of the ceiling        {mine.fraction:8.1%}      "
        f"{'PASS' if ok_fraction else 'MISS'}"
    )
    if base:  # the overhead: ours against the naive loop, per order
        versus_naive = (ours.wall - base.wall) / args.orders * 1000
        print(
            f"overhead <= {TARGET_OVERHEAD_MS:.1f} ms per order (vs naive) {versus_naive:8.3f} ms   "
            f"{'PASS' if versus_naive <= TARGET_OVERHEAD_MS else 'MISS'}"
        )
    else:
        print(
            f"overhead vs naive: not measured (--skip-baseline); beyond the budget {mine.overhead_ms:.3f} ms"
        )


# ------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000, help="orders per run (default 10000)")
    parser.add_argument(
        "--budget", type=int, default=100, help="requests per (scaled) minute per product (default 100)"
    )
    parser.add_argument(
        "--minute-seconds", type=float, default=2.0, help="real seconds in the budget's minute (default 2.0)"
    )
    parser.add_argument("--batch-size", type=int, default=100, help="the flow's batch_size (default 100)")
    parser.add_argument(
        "--max-concurrent", type=int, default=32, help="concurrent requests, client and simulators (32)"
    )
    parser.add_argument("--seed", type=int, default=42, help="network seed (default 42)")
    parser.add_argument("--dealers", type=int, default=100, help="dealers in the network (default 100)")
    parser.add_argument("--skus", type=int, default=48, help="SKUs in the network (default 48)")
    parser.add_argument(
        "--flow-workers",
        type=int,
        default=0,
        help="what-if: run our flow with this many task-runner threads (default 0: as the flow declares)",
    )
    parser.add_argument(
        "--baseline-workers", type=int, default=4, help="threads of the naive flow (default 4, like ours)"
    )
    parser.add_argument(
        "--baseline-chunk", type=int, default=500, help="naive tasks per flow run (default 500)"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="run only our flow")
    parser.add_argument(
        "--timeline",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="sample the simulators' calls every SECONDS during our run and print the rates (default off)",
    )
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of our run (all threads) here")
    return parser.parse_args(argv)


def quiet_console() -> None:
    """Keep Prefect's per-task INFO lines off the terminal (they still go to the API)."""
    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if type(handler).__name__ == "PrefectConsoleHandler":
                handler.setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import great_expectations  # noqa: F401  (GX's 3-4 s import is a per-process cost, not per order)
    from prefect.testing.utilities import prefect_test_harness

    with (
        tempfile.TemporaryDirectory(prefix="bench-o2i-") as tmp,
        prefect_test_harness(server_startup_timeout=120),
    ):
        quiet_console()
        root = Path(tmp)
        print(f"running ours on {args.orders} orders ...", flush=True)
        ours = _profiled(run_ours, root, args, args.profile) if args.profile else run_ours(root, args)
        base = None
        if not args.skip_baseline:
            time.sleep(args.minute_seconds + 0.2)  # let our client's sliding window drain
            print(f"running baseline on {args.orders} orders ...", flush=True)
            base = run_baseline(root, args)
    report(ours, base, args)
    if ours.timeline:
        print_timeline(ours)


def _profiled(fn: Any, root: Path, args: argparse.Namespace, path: str) -> Measurement:
    """cProfile every thread the run starts (Prefect task threads included) and dump the stats."""
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_thread_profile(*_: Any) -> None:
        threading.setprofile(None)
        sys.setprofile(None)
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()

    main_profile = cProfile.Profile()
    threading.setprofile(start_thread_profile)
    main_profile.enable()
    try:
        result = fn(root, args)
    finally:
        main_profile.disable()
        threading.setprofile(None)
        for profile in profiles:
            with suppress(Exception):  # a profile whose thread is gone cannot be disabled from here
                profile.disable()
    stats = pstats.Stats(main_profile)
    for profile in profiles:
        with suppress(Exception):
            stats.add(profile)
    stats.dump_stats(path)
    print(f"profile of {len(profiles) + 1} threads written to {path}", flush=True)
    return result


if __name__ == "__main__":
    main()
