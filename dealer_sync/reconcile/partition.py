"""Split the reconciliation into partitions that classify independently, and put the findings back together.

``classify`` on each partition, concatenated, gives exactly the findings of ``classify`` on the whole
(same rows, same categories, same amounts and texts; ``combine`` sorts them as ``classify`` does,
which leaves rows tied on every sort key in no particular order), because every comparison the
classifier makes stays inside one partition:

Partitioned by the order key (a seeded polars hash of ``order_key``, modulo the partition count)
    ``portal_orders``, ``portal_lines``, ``invoices`` and ``sales_orders``. The classifier joins
    documents to orders on ``order_key`` exactly as the snapshot tasks normalised it (trimmed and
    case-folded; ``classify`` does not normalise again), so the hash is taken of that same column:
    a duplicate or a void invoice, a second sales order, or an orphan whose reference names an
    order the portal lacks lands where an order with that key would be. Documents with no reference
    (null) all go to the one partition null hashes to, as null-keyed portal orders do. Every
    order-level category is therefore decided inside one partition: in_flight, missing_invoice,
    missing_sales_order, orphan_invoice, orphan_sales_order, duplicate_invoice,
    duplicate_sales_order, cancelled_order_posted, currency/dealer/amount/tax_mismatch,
    rounding_difference, and quantity_mismatch (order lines against the primary sales order's).
Following the document they belong to
    ``sales_order_lines`` go to the partition of the sales order with their ``so_key``;
    ``credit_notes`` (unapplied_credit) to the partition of the invoice they credit, because the
    finding's age comes from that invoice's issue date and the invoice counts as not matched. A row
    is copied into every partition that holds a document with its key (only possible if a key were
    not unique, which the snapshot contract rules out), so each copy sees what the whole would; a
    line or note whose document is absent goes by a hash of its own key or dealer.
Partitioned by their own keys
    ``availability`` by (sku, warehouse_key): stale and negative availability, row by row;
    ``payments`` by ``dealer_key``: unapplied_payment, row by row.
Computed once on the whole (global)
    ``outstanding_mismatch`` compares each dealer's portal outstanding with the sum of the open
    balances of *all* that dealer's invoices, which are spread over every order partition. It
    runs once (``classify_accounts``): ``classify`` on the whole portal accounts beside the open
    invoices pre-summed to one row per (dealer_key, currency), which is what it sums them to
    itself. Partitions carry no portal accounts, and their outstanding findings (their slice of
    the ledger against nothing) are dropped.

Matched counts add up the same way: portal, inventory, ledger and availability are per-partition
counts of records that appear in no finding of their partition, summed; accounts comes from the
global part.

Partitions never depend on Python's randomised ``hash()``: the polars hash with a fixed seed is the
same on every call in one polars version, and the split happens in one process (the flow's).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

import polars as pl

from dealer_sync.reconcile.categories import Category
from dealer_sync.reconcile.classify import CLOSED_INVOICE_STATUSES, Findings, _sort, classify
from dealer_sync.reconcile.snapshot import SCHEMAS, Snapshots, validate_schemas

PARTITION_SEED: Final = 0x0DEA_1E55
"""Seed of the partition hash; any fixed value works, it only has to be the same for every frame."""
_PART: Final = "__partition"
_OPEN_STATUS: Final = "sent"
ORDER_FRAMES: Final = ("portal_orders", "portal_lines", "invoices", "sales_orders")
"""Frames split by the order key their ``order_key`` column holds."""
PARTITIONED_MATCHED: Final = ("portal", "inventory", "ledger", "availability")
GLOBAL_MATCHED: Final = ("accounts",)
GLOBAL_CATEGORIES: Final = (Category.OUTSTANDING_MISMATCH.value,)
"""Categories computed once on the whole (``classify_accounts``), never in a partition."""


@dataclass(frozen=True)
class PartitionFindings:
    """Findings of one partition (or of the global part) as plain, picklable data.

    ``Findings`` keeps ``matched`` in a read-only mapping proxy, which the standard pickle refuses;
    this travels between processes (Dask workers) and is turned back into ``Findings`` by ``combine``.
    ``ran_on`` (``host:pid``) and ``seconds`` say where and how long the classification ran.
    """

    frame: pl.DataFrame
    matched: dict[str, int] = field(default_factory=dict)
    partition: int | None = None
    ran_on: str = ""
    seconds: float = 0.0


def where() -> str:
    """``host:pid`` of this process: which machine and worker process ran a piece."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _bucket(expr: pl.Expr, partitions: int) -> pl.Expr:
    return (expr.hash(PARTITION_SEED) % partitions).cast(pl.UInt32)


def assign_partitions(snapshots: Snapshots, partitions: int) -> dict[str, pl.DataFrame]:
    """Every partitioned frame, eager, with a ``__partition`` column (rows may be copied, see above).

    ``portal_accounts`` is not partitioned: it belongs to the global part.
    """
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    validate_schemas(snapshots)
    by_order = _bucket(pl.col("order_key"), partitions).alias(_PART)
    queries = {name: snapshots.lazy(name).with_columns(by_order) for name in ORDER_FRAMES}

    def follow(name: str, key: str, owner: str, fallback: str, *, nulls_equal: bool) -> pl.LazyFrame:
        """Rows go where the owning documents with the same key went; the rest by ``fallback``."""
        places = queries[owner].select(key, _PART).unique()
        return (
            snapshots.lazy(name)
            .join(places, on=key, how="left", nulls_equal=nulls_equal)
            .with_columns(pl.col(_PART).fill_null(_bucket(pl.col(fallback), partitions)))
        )

    # The classifier pairs lines with sales orders through a hash of so_key (null with null), and
    # credit notes with invoices through a plain left join (null with nothing): the same here.
    queries["sales_order_lines"] = follow(
        "sales_order_lines", "so_key", "sales_orders", "so_key", nulls_equal=True
    )
    queries["credit_notes"] = follow(
        "credit_notes", "invoice_key", "invoices", "dealer_key", nulls_equal=False
    )
    queries["payments"] = snapshots.lazy("payments").with_columns(
        _bucket(pl.col("dealer_key"), partitions).alias(_PART)
    )
    queries["availability"] = snapshots.lazy("availability").with_columns(
        _bucket(pl.struct("sku", "warehouse_key"), partitions).alias(_PART)
    )
    return dict(zip(queries, pl.collect_all(list(queries.values())), strict=True))


def split(snapshots: Snapshots, partitions: int) -> list[Snapshots]:
    """``partitions`` eager snapshots that classify independently (see the module docstring).

    Each keeps the frames' columns (extra ones included) and carries empty ``portal_accounts``.
    The pieces are copies: until the whole is dropped, both are in memory.
    """
    assigned = assign_partitions(snapshots, partitions)
    pieces: dict[str, dict[int, pl.DataFrame]] = {}
    for name, frame in assigned.items():
        by_part = frame.partition_by(_PART, as_dict=True, include_key=False)
        empty = frame.clear().drop(_PART)
        pieces[name] = {p: by_part.get((p,), empty) for p in range(partitions)}
    accounts = snapshots.lazy("portal_accounts").clear().collect()
    return [
        Snapshots(**{name: pieces[name][p] for name in assigned}, portal_accounts=accounts)
        for p in range(partitions)
    ]


def classify_part(
    snapshots: Snapshots,
    *,
    as_of: datetime,
    in_flight: timedelta = timedelta(hours=2),
    availability_tolerance: float = 0.0,
    partition: int | None = None,
) -> PartitionFindings:
    """Classify one partition: every category but the global ones, and the partitioned matched counts."""
    started = time.perf_counter()
    findings = classify(
        snapshots, as_of=as_of, in_flight=in_flight, availability_tolerance=availability_tolerance
    )
    return PartitionFindings(
        frame=findings.frame.filter(~pl.col("category").is_in(GLOBAL_CATEGORIES)),
        matched={name: findings.matched[name] for name in PARTITIONED_MATCHED},
        partition=partition,
        ran_on=where(),
        seconds=time.perf_counter() - started,
    )


def account_snapshots(snapshots: Snapshots) -> Snapshots:
    """The whole portal accounts beside the ledger's open balances, one row per (dealer, currency).

    The open invoices are chosen as ``classify`` chooses them for the outstanding (status not in
    ``CLOSED_INVOICE_STATUSES``, dealer known), then summed; a sum of sums is the same sum. The rows
    reference no order and carry an open status, so ``classify`` counts each one for its dealer. A
    dealer whose open invoices sum to zero keeps its row (the ledger knows it, at 0).
    """
    aggregated = (
        snapshots.lazy("invoices")
        .filter(
            ~pl.col("status").is_in(CLOSED_INVOICE_STATUSES).fill_null(False)
            & pl.col("dealer_key").is_not_null()
        )
        .group_by("dealer_key", "currency")
        .agg(pl.col("balance_minor").sum())
        .select(
            pl.lit(None, dtype=pl.String).alias("invoice_key"),
            pl.lit(None, dtype=pl.String).alias("order_key"),
            "dealer_key",
            "currency",
            pl.col("balance_minor").alias("total_minor"),
            pl.lit(0, dtype=pl.Int64).alias("tax_minor"),
            "balance_minor",
            pl.lit(_OPEN_STATUS).alias("status"),
            pl.lit(None, dtype=pl.Date).alias("issue_date"),
        )
        .collect()
    )
    empty = {name: pl.DataFrame(schema=dict(schema)) for name, schema in SCHEMAS.items()}
    return replace(
        Snapshots(**empty), invoices=aggregated, portal_accounts=snapshots.lazy("portal_accounts").collect()
    )


def classify_accounts(
    snapshots: Snapshots,
    *,
    as_of: datetime,
    in_flight: timedelta = timedelta(hours=2),
    availability_tolerance: float = 0.0,
) -> PartitionFindings:
    """The global part, once on the whole: outstanding mismatches and the matched accounts.

    ``classify`` runs on ``account_snapshots``; it also reports the aggregate ledger rows as orphan
    invoices (they reference no order), which are dropped: only the global categories are kept.
    """
    started = time.perf_counter()
    validate_schemas(snapshots)
    findings = classify(
        account_snapshots(snapshots),
        as_of=as_of,
        in_flight=in_flight,
        availability_tolerance=availability_tolerance,
    )
    return PartitionFindings(
        frame=findings.frame.filter(pl.col("category").is_in(GLOBAL_CATEGORIES)),
        matched={name: findings.matched[name] for name in GLOBAL_MATCHED},
        ran_on=where(),
        seconds=time.perf_counter() - started,
    )


def combine(parts: Sequence[PartitionFindings], accounts: PartitionFindings) -> Findings:
    """One ``Findings`` from the partitions' and the global part's, sorted as ``classify`` sorts."""
    frame = pl.concat([*(part.frame for part in parts), accounts.frame], how="vertical")
    matched = {name: sum(part.matched[name] for part in parts) for name in PARTITIONED_MATCHED}
    matched.update({name: accounts.matched[name] for name in GLOBAL_MATCHED})
    return Findings(_sort(frame), matched)


def classify_partitioned(
    snapshots: Snapshots,
    *,
    as_of: datetime,
    partitions: int,
    in_flight: timedelta = timedelta(hours=2),
    availability_tolerance: float = 0.0,
) -> Findings:
    """``classify`` partition by partition in this process.

    The reference for the distributed path (``tasks.reconcile_partitions.classify_in_partitions``,
    which runs the same steps as Prefect tasks) and for tests.
    """
    parts = [
        classify_part(
            part,
            as_of=as_of,
            in_flight=in_flight,
            availability_tolerance=availability_tolerance,
            partition=index,
        )
        for index, part in enumerate(split(snapshots, partitions))
    ]
    accounts = classify_accounts(
        snapshots, as_of=as_of, in_flight=in_flight, availability_tolerance=availability_tolerance
    )
    return combine(parts, accounts)
