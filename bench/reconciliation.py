"""Benchmark: our three-way reconciliation against datacompy's two-way compares, and from PostgreSQL.

Run by hand, not by pytest (issue 4, section 7); bench/README.md has measured numbers:

    .venv/bin/python bench/reconciliation.py                          # 1,000,000 orders (3-5 min)
    .venv/bin/python bench/reconciliation.py --orders 100000          # quick (~1 min)
    .venv/bin/python bench/reconciliation.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

One generated world (``make_truth_set``: N orders with their sales orders and invoices, 0.001 of N
injected per category) and these contenders on it:

- ``ours``: ``classify``, the full three-way classified reconciliation with remedies. Its counts
  must equal the injected ones, or the run exits non-zero.
- ``polars`` / ``pandas``: datacompy's ``PolarsCompare`` / ``PandasCompare`` of the portal orders
  against the live (not void) ledger invoices only, joined on ``order_key`` (the invoice's
  reference), comparing dealer, currency, total and tax exactly (``abs_tol=0``). Timed: the
  constructor (it joins and compares every column), ``matches()`` and ``all_mismatch()`` (every
  differing pair, as our findings are); ``report()`` is timed apart and shown beside. Building the
  two-way frames and converting them to pandas is set-up, not timed.
- ``pg-read`` / ``pg-pushdown``: the snapshots in PostgreSQL tables, one per frame (loading them
  by COPY is set-up, not timed), read back through ADBC (binary COPY into Arrow) into polars and
  classified, timed whole. ``pg-read`` reads every table. ``pg-pushdown`` keeps the lines in the
  database: it sums line fingerprints per order and per sales order there (one sorted pass per
  line table, on a second connection while the first streams the other tables), joins those sums
  with the sales orders here, and reads only the lines of orders whose fingerprints differ or that
  have several live sales orders; payments and credit notes with nothing left to apply stay there.
  Both must reproduce the in-memory findings exactly (compared row for row, order aside).

How it is measured. The world is generated once into Parquet files (a second, independent
generation checks that the generator is deterministic). Every contender is its own process
(``--only NAME --serve``): it loads the Parquet files and does its set-up, then waits; the parent
then asks each for one timed run in turn, ``--repeat`` rounds, the order rotating each round, so a
burst of load from other processes on a shared machine falls on all contenders alike, and a ratio
is judged as the median over the rounds of the same-round ratio. Peak RSS is each process's
high-water mark (``VmHWM``), reset after set-up (``/proc/self/clear_refs``): the input frames it
holds plus what its runs allocate. Targets are printed as PASS/MISS, never asserted.

PostgreSQL: ``--pg-url`` (default ``$DEALER_SYNC_BENCH_PG_URL``) names a server; a database
``dsbench_<random>`` is created there and dropped at the end. Without a URL that part is skipped.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl

from dealer_sync.reconcile.classify import FINDING_SCHEMA, Findings, classify, is_dead_sales_order
from dealer_sync.reconcile.snapshot import SCHEMAS, Snapshots
from dealer_sync.reconcile.truth import TRUTH_AS_OF, make_truth_set

CONTENDERS = ("ours", "polars", "pandas")
PG_CONTENDERS = ("pg-read", "pg-pushdown")
TARGET_VS_POLARS = 1.0  # ours / PolarsCompare, at most
TARGET_VS_PANDAS = 3.0  # PandasCompare / ours, at least
TARGET_RSS_BYTES = 1_000_000_000  # 1 GB
TARGET_VS_MEMORY = 5.0  # PostgreSQL / in-memory, at most
TWO_WAY_COLUMNS = ("order_key", "dealer_key", "currency", "total_minor", "tax_minor")
PG_SESSION = ("SET work_mem = '256MB'", "SET jit = off")
"""Per session: aggregates and sorts stay in memory; JIT compiling costs more than it saves here."""
READY, RAN, RESULT = "READY", "RAN ", "RESULT "
MIB = 1024 * 1024


# ------------------------------------------------------------------------------- measuring


def _status_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def rss_bytes() -> int:
    return _status_kib("VmRSS") * 1024


def peak_rss_bytes() -> int:
    return _status_kib("VmHWM") * 1024


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark to its current RSS (Linux >= 4.0)."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def fingerprint(snapshots: Snapshots) -> str:
    """Rows and an order-sensitive hash per frame: equal for equal data, in any process."""
    parts = []
    for name, frame in snapshots.frames().items():
        eager = frame.lazy().collect()
        hashes = eager.hash_rows(seed=7).to_numpy()
        weights = np.arange(eager.height, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        parts.append(f"{name}:{eager.height}:{int((hashes * weights).sum(dtype=np.uint64)):016x}")
    return " ".join(parts)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def say(line: str) -> None:
    """A line of the protocol with the parent (stdout is kept for it)."""
    print(line, flush=True)


def expected_counts(args: argparse.Namespace) -> dict[str, int]:
    """The truth set's expected counts without building it: ``k`` of every injected category."""
    from dealer_sync.reconcile.truth import ORDER_INJECTIONS, OTHER_INJECTIONS, injection_count

    k = injection_count(args.per_category, args.orders)
    return {category.value: k for category in (*ORDER_INJECTIONS, *OTHER_INJECTIONS) if k}


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Findings sorted by every column: two runs agree when these are equal, whatever their order."""
    return frame.sort(list(FINDING_SCHEMA), nulls_last=True)


# ------------------------------------------------------------------------------- the world


def snapshot_dir(args: argparse.Namespace) -> Path:
    return Path(args.workdir) / "snapshots"


def load_snapshots(args: argparse.Namespace) -> Snapshots:
    folder = snapshot_dir(args)
    return Snapshots(**{name: pl.read_parquet(folder / f"{name}.parquet") for name in SCHEMAS})


def run_generate(args: argparse.Namespace) -> dict[str, Any]:
    """Set-up: generate the world; with ``--write``, into Parquet files for the contenders."""
    started = time.perf_counter()
    snapshots, _ = make_truth_set(args.orders, args.per_category, args.seed)
    generated = time.perf_counter() - started
    if args.write:
        folder = snapshot_dir(args)
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in snapshots.frames().items():
            frame.lazy().collect().write_parquet(folder / f"{name}.parquet", compression="lz4")
    return {"seconds": [generated], "fingerprint": fingerprint(snapshots), "ok": True}


def run_pg_load(args: argparse.Namespace) -> dict[str, Any]:
    """Set-up: one table per snapshot frame, typed as the frame, loaded by COPY, keyed, analysed."""
    import psycopg

    snapshots = load_snapshots(args)
    mark = fingerprint(snapshots)
    started = time.perf_counter()
    rows = 0
    with psycopg.connect(args.pg_database, autocommit=True) as connection:
        for name, schema in SCHEMAS.items():
            columns = [f"{column} {_sql_type(dtype)}" for column, dtype in schema.items()]
            if name in TABLE_KEYS:
                columns.append(TABLE_KEYS[name])
            connection.execute(f"CREATE TABLE {name} ({', '.join(columns)})")
            frame = snapshots.lazy(name).select(list(schema)).collect()
            rows += frame.height
            with connection.cursor().copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy:
                for offset in range(0, frame.height, 200_000):
                    copy.write(frame.slice(offset, 200_000).write_csv(include_header=False).encode())
        for statement in TABLE_INDEXES:
            connection.execute(statement)
        connection.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    return {
        "seconds": [seconds],
        "fingerprint": mark,
        "ok": True,
        "check": f"{rows:,} rows in {len(SCHEMAS)} tables",
    }


# ------------------------------------------------------------------------------- contenders


class Contender:
    """One contender in its own process: ``prepare`` (set-up), ``run`` (timed), ``finish`` (checks)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.expected = expected_counts(args)

    def prepare(self) -> None:
        raise NotImplementedError

    def run(self) -> Any:
        raise NotImplementedError

    def verify(self, result: Any) -> str:
        """After every run, untimed: what is wrong with its result, or ``""``."""
        return ""

    def finish(self, result: Any) -> dict[str, Any]:
        """``ok`` and ``check`` (one line) from the last run's result; may add more fields."""
        raise NotImplementedError

    def wrong_counts(self, findings: Findings) -> str:
        counts = findings.counts()
        return "" if counts == self.expected else f"counts {counts} != injected {self.expected}"


class Ours(Contender):
    def prepare(self) -> None:
        self.snapshots = load_snapshots(self.args)

    def run(self) -> Any:
        return classify(self.snapshots, as_of=TRUTH_AS_OF)

    def verify(self, result: Any) -> str:
        return self.wrong_counts(result)

    def finish(self, result: Any) -> dict[str, Any]:
        counts = result.counts()
        result.frame.write_parquet(Path(self.args.workdir) / "findings.parquet")  # for the PostgreSQL runs
        return {
            "ok": counts == self.expected,
            "check": f"{len(result):,} findings, counts {'==' if counts == self.expected else '!='} injected",
            "detail": {"counts": counts, "expected": self.expected},
            "fingerprint": fingerprint(self.snapshots),  # after the runs: its garbage is no part of the peak
        }


def two_way_frames(snapshots: Snapshots) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Portal orders and live ledger invoices: the same five columns each, keyed by ``order_key``."""
    portal = snapshots.lazy("portal_orders").select(TWO_WAY_COLUMNS).collect()
    ledger = (
        snapshots.lazy("invoices")
        .filter(pl.col("status").ne_missing("void"))
        .select(TWO_WAY_COLUMNS)
        .collect()
    )
    return portal.rechunk(), ledger.rechunk()


def to_pandas(frame: pl.DataFrame) -> Any:
    """Column by column through numpy (no pyarrow needed); strings become pandas' default ``str``."""
    import pandas as pd

    return pd.DataFrame({name: frame[name].to_numpy() for name in frame.columns})


class DataComPy(Contender):
    def __init__(self, args: argparse.Namespace, flavour: str) -> None:
        super().__init__(args)
        self.flavour = flavour

    def prepare(self) -> None:
        import datacompy

        portal, ledger = two_way_frames(load_snapshots(self.args))  # the files ours reads
        self.compare_class: Any = datacompy.PolarsCompare
        started = time.perf_counter()
        if self.flavour == "pandas":
            portal, ledger = to_pandas(portal), to_pandas(ledger)
            self.compare_class = datacompy.PandasCompare
        self.conversion = time.perf_counter() - started
        self.portal, self.ledger = portal, ledger

    def run(self) -> Any:
        compare = self.compare_class(
            self.portal,
            self.ledger,
            join_columns="order_key",
            abs_tol=0,
            df1_name="portal",
            df2_name="ledger",
        )
        return compare, compare.matches(), len(compare.all_mismatch())

    def finish(self, result: Any) -> dict[str, Any]:
        compare, matches, mismatched = result
        started = time.perf_counter()
        compare.report()
        report = time.perf_counter() - started
        only_portal, only_ledger = len(compare.df1_unq_rows), len(compare.df2_unq_rows)
        conversion = f"; to pandas {self.conversion:.1f}s (set-up)" if self.flavour == "pandas" else ""
        k = next(iter(self.expected.values()), 0)
        return {
            # amount, rounding, tax, dealer and currency differ on k pairs each; k orphan and k
            # duplicate invoices have no portal order: datacompy must have found exactly those
            "ok": not matches and mismatched == 5 * k and only_ledger == 2 * k,
            "check": f"{mismatched:,} differing pairs, {only_portal:,} portal only, "
            f"{only_ledger:,} ledger only; report() {report:.2f}s more{conversion}",
        }


class FromPostgres(Contender):
    """A process that never held the generated world: it holds only what it reads."""

    def __init__(self, args: argparse.Namespace, pushdown: bool) -> None:
        super().__init__(args)
        self.pushdown = pushdown
        self.read_seconds: list[float] = []

    def prepare(self) -> None:
        import adbc_driver_postgresql.dbapi  # noqa: F401 (imported before the timed runs, as the others import theirs)

    def run(self) -> Any:
        started = time.perf_counter()
        snapshots = read_snapshots(self.args.pg_database, self.pushdown)
        self.read_seconds.append(time.perf_counter() - started)
        return classify(snapshots, as_of=TRUTH_AS_OF)

    def verify(self, result: Any) -> str:
        return self.wrong_counts(result)

    def finish(self, result: Any) -> dict[str, Any]:
        counts = result.counts()
        reference = canonical(pl.read_parquet(Path(self.args.workdir) / "findings.parquet"))
        same = canonical(result.frame).equals(reference)
        verdict = "==" if counts == self.expected else "!="
        return {
            "ok": counts == self.expected and same,
            "check": f"{len(result):,} findings, counts {verdict} injected, "
            f"findings {'identical to' if same else 'DIFFER from'} in-memory; "
            f"reading {statistics.median(self.read_seconds):.2f}s of it",
            "detail": {"counts": counts, "expected": self.expected, "read_seconds": self.read_seconds},
        }


def make_contender(args: argparse.Namespace) -> Contender:
    name = args.only
    if name == "ours":
        return Ours(args)
    if name in ("polars", "pandas"):
        return DataComPy(args, name)
    return FromPostgres(args, pushdown=name == "pg-pushdown")


def serve(args: argparse.Namespace, commands: Iterator[str]) -> int:
    """Set up, say READY, then one timed run per ``run`` command; ``finish`` prints the RESULT."""
    contender = make_contender(args)
    contender.prepare()
    held = rss_bytes()
    reset = reset_peak_rss()
    say(READY)
    seconds: list[float] = []
    problems: list[str] = []
    result: Any = None
    for command in commands:
        if command.strip() != "run":
            break
        result = None  # the previous run's result is freed before the next run starts
        gc.collect()
        started = time.perf_counter()
        result = contender.run()
        seconds.append(time.perf_counter() - started)
        problem = contender.verify(result)
        if problem:
            problems.append(f"run {len(seconds)}: {problem}")
        say(f"{RAN}{seconds[-1]}")
    peak = peak_rss_bytes()
    fields = {"name": args.only, "seconds": seconds, "peak": peak, "held": held, "reset": reset}
    fields.update(contender.finish(result) if seconds else {"ok": False, "check": "never ran"})
    if problems:
        fields.update(ok=False, check=f"{fields['check']}; WRONG: {'; '.join(problems)}")
    say(RESULT + json.dumps(fields))
    if not fields["ok"]:
        log(f"{args.only}: FAILED: {fields.get('check')} {fields.get('detail', '')}")
        return 1
    return 0


# ------------------------------------------------------------------------------- PostgreSQL


def libpq_url(url: str, database: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://...``) as a libpq one for ``database``."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


def _sql_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "timestamptz"
    names = {
        pl.String: "text",
        pl.Int64: "bigint",
        pl.Int32: "integer",
        pl.Float64: "double precision",
        pl.Date: "date",
    }
    return names[dtype.base_type()]


TABLE_KEYS: Mapping[str, str] = {
    "portal_orders": "PRIMARY KEY (order_key)",
    "sales_orders": "PRIMARY KEY (so_key)",
    "invoices": "PRIMARY KEY (invoice_key)",
    "payments": "PRIMARY KEY (payment_key)",
    "credit_notes": "PRIMARY KEY (credit_note_key)",
    "availability": "PRIMARY KEY (sku, warehouse_key)",
}
TABLE_INDEXES = (
    "CREATE INDEX ON portal_lines (order_key)",
    "CREATE INDEX ON sales_order_lines (so_key)",
    "CREATE INDEX ON sales_orders (order_key)",
    "CREATE INDEX ON invoices (order_key)",
)


@contextmanager
def bench_database(url: str) -> Iterator[str]:
    """A fresh database ``dsbench_<random>`` on the server of ``url``, dropped afterwards."""
    import psycopg

    name = f"dsbench_{secrets.token_hex(4)}"
    admin = libpq_url(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield libpq_url(url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def read_query(connection: Any, query: str, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A query's rows as a polars frame of ``schema``, through ADBC: the driver reads PostgreSQL's
    binary COPY into Arrow in C (no Python object per row or value), and polars takes the Arrow
    buffers as they are. psycopg's COPY, one Python call per row, read half as fast here."""
    with connection.cursor() as cursor:
        cursor.execute(query)
        table = cursor.fetch_arrow_table()
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame.select(pl.col(column).cast(dtype) for column, dtype in schema.items())


def _table(name: str, where: str = "") -> str:
    return f"SELECT {', '.join(SCHEMAS[name])} FROM {name}{where}"


@contextmanager
def reading(url: str, *settings: str) -> Iterator[Any]:
    """An ADBC connection with the session settings the reads want (``PG_SESSION``, then ``settings``)."""
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(url, autocommit=True) as connection:
        with connection.cursor() as cursor:
            for statement in (*PG_SESSION, *settings):
                cursor.execute(statement)
        yield connection


_LINE_HASH = "(hashtextextended(sku, 1) # hashfloat8extended(quantity, 2))"
LINE_SUMS_SCHEMA: Mapping[str, pl.DataType] = {"key": pl.String(), "a": pl.Int64(), "b": pl.Int64()}


def line_sums(table: str, key: str) -> str:
    """Per document of ``table``, two sums of 31-bit halves of a 64-bit hash of (sku, quantity).

    Each half is an int4, so ``sum`` stays int8 (never numeric). The rows are stored in key order
    (as appended), so a sorted aggregate over the key index beats the hash aggregate over a million
    text keys the planner would pick (2x here): callers turn ``enable_hashagg`` off.
    """
    return (
        f"SELECT {key} AS key, sum(({_LINE_HASH} >> 33)::integer) AS a, "
        f"sum(({_LINE_HASH} & 2147483647)::integer) AS b FROM {table} GROUP BY {key}"
    )


def live_sales_order_sums(sales_orders: pl.DataFrame, so_sums: pl.DataFrame) -> pl.DataFrame:
    """Each live sales order's order key and line sums, and how many live sales orders that order has.

    The half of ``line_orders`` that needs only the sales orders' side: it runs while the portal's
    line sums are still streaming in, so only the join with those is left once they have arrived.
    """
    live = sales_orders.lazy().filter(pl.col("order_key").is_not_null() & ~is_dead_sales_order())
    return (
        live.select("so_key", "order_key", pl.len().over("order_key").alias("n"))
        .join(so_sums.lazy(), left_on="so_key", right_on="key", how="left")
        .select("order_key", "n", "a", "b")
        .collect()
    )


def line_orders(sales_order_sums: pl.DataFrame, portal_sums: pl.DataFrame) -> pl.Series:
    """Orders whose lines can yield a ``quantity_mismatch``: the rest of their lines stay in the database.

    ``classify`` compares an order's lines with its one live sales order's (quantities summed per
    SKU), and with the primary one where there are several. So the lines that matter are those of
    orders with several live sales orders, and of orders whose multiset of (sku, quantity) lines
    differs from their sales order's, found here as ``classify`` finds its suspects: two 31-bit hash
    sums per document (a collision, odds near 2**-62, would hide that order's difference, as it
    would in ``classify``). An order without a live sales order is never compared line by line, so
    it is not listed. Every other order's lines stay in the database on both sides, which
    ``classify`` reads as equal. The database sums per document (one sorted pass per line table);
    the joins run here, on the sales orders read anyway (``live_sales_order_sums``): joining a
    million text keys in the database took longer than streaming both sums out.
    """
    joined = (
        sales_order_sums.lazy()
        .join(
            portal_sums.lazy().rename({"a": "portal_a", "b": "portal_b"}),
            left_on="order_key",
            right_on="key",
            how="left",
        )
        .filter(
            (pl.col("n") > 1)
            | pl.col("a").ne_missing(pl.col("portal_a"))
            | pl.col("b").ne_missing(pl.col("portal_b"))
        )
    )
    return joined.select(pl.col("order_key").unique()).collect()["order_key"]


def _read_lines(url: str, sales_orders: Future[pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """On its own connection: sum the lines per document, pick the line orders, read only their lines.

    The sales orders' sums come first, so their join with the sales orders (on a helper thread)
    overlaps the portal's sums streaming in rather than adding to the tail after both.
    """
    with reading(url, "SET enable_hashagg = off") as connection, ThreadPoolExecutor(1) as helper:
        so_sums = read_query(connection, line_sums("sales_order_lines", "so_key"), LINE_SUMS_SCHEMA)
        so_side = helper.submit(lambda: live_sales_order_sums(sales_orders.result(), so_sums))
        portal_sums = read_query(connection, line_sums("portal_lines", "order_key"), LINE_SUMS_SCHEMA)
        chosen = line_orders(so_side.result(), portal_sums)
        del portal_sums, so_side
        with connection.cursor() as cursor:
            cursor.adbc_ingest("line_orders", chosen.to_frame().to_arrow(), mode="create", temporary=True)
            cursor.execute("ANALYZE line_orders")
        keys = "(SELECT order_key FROM line_orders)"
        return {
            "portal_lines": read_query(
                connection, _table("portal_lines", f" WHERE order_key IN {keys}"), SCHEMAS["portal_lines"]
            ),
            "sales_order_lines": read_query(
                connection,
                _table(
                    "sales_order_lines",
                    f" WHERE so_key IN (SELECT so_key FROM sales_orders WHERE order_key IN {keys})",
                ),
                SCHEMAS["sales_order_lines"],
            ),
        }


def read_snapshots(url: str, pushdown: bool) -> Snapshots:
    """Every snapshot frame from its table, whole; or with the line comparison pushed down."""
    with reading(url) as connection:
        if not pushdown:
            return Snapshots(
                **{name: read_query(connection, _table(name), schema) for name, schema in SCHEMAS.items()}
            )
        filters = {
            "payments": " WHERE unapplied_minor > 0",  # classify reports only money left to apply
            "credit_notes": " WHERE balance_minor > 0",
        }
        sales_orders: Future[pl.DataFrame] = Future()
        with ThreadPoolExecutor(max_workers=1) as pool:
            lines = pool.submit(_read_lines, url, sales_orders)  # the database sums lines meanwhile
            try:
                frames = {
                    "sales_orders": read_query(connection, _table("sales_orders"), SCHEMAS["sales_orders"])
                }
            except BaseException as error:
                sales_orders.set_exception(error)
                raise
            sales_orders.set_result(frames["sales_orders"])
            frames.update(
                (name, read_query(connection, _table(name, filters.get(name, "")), schema))
                for name, schema in SCHEMAS.items()
                if name not in ("portal_lines", "sales_order_lines", "sales_orders")
            )
            frames.update(lines.result())
    return Snapshots(**frames)


# ------------------------------------------------------------------------------- the parent


def _command(args: argparse.Namespace, name: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        f"--only={name}",
        f"--orders={args.orders}",
        f"--per-category={args.per_category!r}",
        f"--seed={args.seed}",
        f"--repeat={args.repeat}",
        f"--workdir={args.workdir}",
        *extra,
    ]


def step(args: argparse.Namespace, name: str, *extra: str) -> dict[str, Any]:
    """A one-shot set-up step (generate, pg-load) in a fresh interpreter."""
    log(f"... {name}")
    done = subprocess.run(_command(args, name, *extra), stdout=subprocess.PIPE, text=True, check=False)
    found = [line[len(RESULT) :] for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not found:
        return {"name": name, "ok": False, "check": f"failed (exit {done.returncode})", "seconds": []}
    result: dict[str, Any] = json.loads(found[-1])
    return result


class Child:
    """A contender's process, set up and waiting for ``run`` commands."""

    def __init__(self, args: argparse.Namespace, name: str, *extra: str) -> None:
        log(f"... {name}: set-up")
        self.name = name
        self.loads: list[float] = []
        self.failure = ""
        self.process = subprocess.Popen(
            [*_command(args, name, *extra), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._expect(READY)

    def _expect(self, prefix: str) -> str | None:
        stdout: IO[str] | None = self.process.stdout
        while not self.failure and stdout is not None:
            line = stdout.readline()
            if not line:
                self.failure = f"process ended (exit {self.process.wait()})"
            elif line.startswith(prefix):
                return line[len(prefix) :].strip()
            else:
                log(f"{self.name}: {line.rstrip()}")
        return None

    def _send(self, command: str) -> None:
        if self.failure or self.process.stdin is None:
            return
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            self.failure = f"process ended (exit {self.process.wait()})"

    def run_once(self) -> None:
        self.loads.append(os.getloadavg()[0])
        self._send("run")
        self._expect(RAN)

    def finish(self) -> dict[str, Any]:
        self._send("finish")
        found = self._expect(RESULT)
        code = self.process.wait()
        if found is None:
            return {"name": self.name, "ok": False, "check": self.failure or "no result", "seconds": []}
        result: dict[str, Any] = json.loads(found)
        result["ok"] = bool(result.get("ok")) and code == 0
        result["load"] = [min(self.loads), max(self.loads)] if self.loads else None
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:,.0f}"


def _stat(result: Mapping[str, Any], how: Callable[[list[float]], float]) -> float | None:
    seconds = result.get("seconds") or []
    return how(seconds) if seconds else None


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("datacompy", "pandas", "psycopg", "adbc-driver-postgresql"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} missing")
    return ", ".join(found)


def _ratio(numerator: Mapping[str, Any], denominator: Mapping[str, Any]) -> tuple[float, float] | None:
    """The median over rounds of the same-round ratio (both ran under about the same load), and
    the ratio of the best runs."""
    top, bottom = numerator.get("seconds") or [], denominator.get("seconds") or []
    if not top or not bottom:
        return None
    paired = statistics.median(t / b for t, b in zip(top, bottom, strict=False))
    return paired, min(top) / min(bottom)


def _ratio_rows(results: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, str, bool]]:
    """(what, value, target, met) per target; ratios are judged on the median of same-round ratios."""
    ours = results.get("ours", {})
    wanted = [
        (
            "ours / PolarsCompare",
            ours,
            results.get("polars", {}),
            f"<= {TARGET_VS_POLARS:g}x",
            TARGET_VS_POLARS,
            -1,
        ),
        (
            "PandasCompare / ours",
            results.get("pandas", {}),
            ours,
            f">= {TARGET_VS_PANDAS:g}x",
            TARGET_VS_PANDAS,
            1,
        ),
    ]
    wanted += [
        (
            f"{name} / in-memory",
            results.get(name, {}),
            ours,
            f"<= {TARGET_VS_MEMORY:g}x",
            TARGET_VS_MEMORY,
            -1,
        )
        for name in PG_CONTENDERS
    ]
    rows = []
    for text, numerator, denominator, target, bound, sign in wanted:
        found = _ratio(numerator, denominator)
        if found is not None:
            paired, best = found
            met = paired >= bound if sign > 0 else paired <= bound
            rows.append((text, f"{paired:.2f}x (best {best:.2f}x)", target, met))
    peak = ours.get("peak")
    if peak:
        rows.append(("ours peak RSS", f"{peak / 1e9:.2f} GB", "<= 1 GB (10^9 B)", peak <= TARGET_RSS_BYTES))
    return rows


def print_report(args: argparse.Namespace, results: dict[str, dict[str, Any]], notes: list[str]) -> bool:
    load_now = os.getloadavg()
    print()
    print(
        f"reconciliation bench: {args.orders:,} orders, {args.per_category:g} of them per category, "
        f"seed {args.seed}, {args.repeat} rounds of one timed run per contender"
    )
    print(
        f"python {platform.python_version()}, polars {pl.__version__}, {_versions()}; {os.cpu_count()} cpus; "
        f"load average at the end {load_now[0]:.2f} {load_now[1]:.2f} {load_now[2]:.2f}"
    )
    print()
    header = (
        f"{'contender':<12} {'median s':>8} {'best s':>7}  {'runs s':<30} {'peak MiB':>8} {'held MiB':>8} "
        f"{'load':>9}  check"
    )
    print(header)
    print("-" * len(header))
    for name in (*CONTENDERS, *PG_CONTENDERS):
        if name not in results:
            continue
        result = results[name]
        runs = " ".join(f"{s:.2f}" for s in result.get("seconds") or [])
        load = result.get("load")
        load_text = f"{load[0]:.1f}-{load[1]:.1f}" if load else "-"
        print(
            f"{name:<12} {_seconds(_stat(result, statistics.median)):>8} {_seconds(_stat(result, min)):>7}  "
            f"{runs:<30} {_mib(result.get('peak')):>8} {_mib(result.get('held')):>8} {load_text:>9}  "
            f"{'ok' if result.get('ok') else 'FAILED'}: {result.get('check', '')}"
        )
    print()
    print("peak: RSS high-water mark over the timed runs, input frames included; held: RSS when they began.")
    print("load: 1-minute load average before the runs, lowest-highest (other processes share the cpus).")
    print("polars/pandas: constructor + matches() + all_mismatch(), portal vs ledger only (two-way).")
    setup = f"set-up, not timed: generation {_seconds(_stat(results.get('generate', {}), min))}s"
    if results.get("pg-load", {}).get("seconds"):
        setup += (
            f", pg-load {_seconds(_stat(results['pg-load'], min))}s ({results['pg-load'].get('check', '')})"
        )
    print(setup)
    if any(r.get("reset") is False for r in results.values()):
        print("NOTE: /proc/self/clear_refs was refused: those peaks include loading and set-up.")
    for note in notes:
        print(note)
    marks = {r["fingerprint"] for r in results.values() if r.get("fingerprint")}
    same_data = len(marks) == 1
    print(
        "same data everywhere (fingerprints of both generations and of the Parquet files as ours and "
        f"pg-load read them): {'yes' if same_data else 'NO'}"
    )
    print()
    rows = _ratio_rows(results)
    print("targets (issue 4, section 7); a ratio is the median over the rounds of the same-round ratio,")
    print("the contenders of a round having run under about the same load; best: best run / best run")
    width = max((len(row[0]) for row in rows), default=0)
    for text, value, target, passed in rows:
        print(f"  {text:<{width}}  {value:>20}  target {target:<17} {'PASS' if passed else 'MISS'}")
    return same_data and all(r.get("ok") for r in results.values())


def run_all(args: argparse.Namespace) -> int:
    results: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    children: dict[str, Child] = {}
    with tempfile.TemporaryDirectory(prefix="dsbench-") as workdir, ExitStack() as stack:
        args.workdir = workdir
        results["generate"] = step(args, "generate", "--write")
        results["regenerate"] = step(args, "generate")  # a deterministic generator: the same fingerprint
        if not results["generate"].get("ok"):
            return 1
        names: list[str] = list(CONTENDERS)
        extra: list[str] = []
        if not args.pg_url:
            notes.append("postgres: skipped (no --pg-url and no DEALER_SYNC_BENCH_PG_URL)")
        else:
            try:
                database = stack.enter_context(bench_database(args.pg_url))
                extra = [f"--pg-database={database}"]
                results["pg-load"] = step(args, "pg-load", *extra)
                if results["pg-load"].get("ok"):
                    names += PG_CONTENDERS
            except Exception as error:  # e.g. an unreachable server: said, and the rest still measured
                notes.append(f"postgres: FAILED: {type(error).__name__}: {error}")
                results["pg-load"] = {"name": "pg-load", "ok": False, "seconds": []}
        try:
            for name in names:  # one at a time, so set-ups do not overlap
                children[name] = Child(args, name, *extra)
            for round_number in range(args.repeat):
                log(f"... round {round_number + 1} of {args.repeat}")
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    children[name].run_once()
            for name in names:  # ours first: the PostgreSQL runs compare with its findings
                results[name] = children[name].finish()
        finally:
            for child in children.values():
                child.stop()
        ok = print_report(args, results, notes)
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders (default 1000000)")
    parser.add_argument(
        "--per-category", type=float, default=0.001, help="injected per category, a fraction of the orders"
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument(
        "--repeat", type=int, default=5, help="rounds of one timed run per contender (default 5)"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("DEALER_SYNC_BENCH_PG_URL"),
        help="SQLAlchemy URL of a PostgreSQL server (default: $DEALER_SYNC_BENCH_PG_URL); "
        "a database dsbench_<random> is created there and dropped afterwards",
    )
    parser.add_argument(
        "--only",
        choices=("generate", "pg-load", *CONTENDERS, *PG_CONTENDERS),
        help="run one step in this process (the parent does this); a contender reads the world from "
        "--workdir and runs --repeat times, or with --serve one run per 'run' line on stdin",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pg-database", default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    if args.only in ("generate", "pg-load"):
        result = run_generate(args) if args.only == "generate" else run_pg_load(args)
        say(RESULT + json.dumps({"name": args.only, **result}))
        return
    if args.only:
        if not args.workdir:
            raise SystemExit(f"--only {args.only} reads the world from the parent's --workdir")
        commands = sys.stdin if args.serve else iter(["run"] * args.repeat + ["finish"])
        raise SystemExit(serve(args, commands))
    raise SystemExit(run_all(args))


if __name__ == "__main__":
    main()
