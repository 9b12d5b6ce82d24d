"""Classify every difference between the portal, inventory and ledger snapshots into findings.

Everything is vectorised (polars, and numpy for the screen), never a Python loop over rows. The large
frames are read once each, as slim 64-bit hashes (keys, compared values, lines), by a screen
(``screen``): per order, the records of all three systems are brought together by sorting and their
hashes summed, and only orders that are not exactly "one billable order, one live invoice, one live
sales order, equal values and line sets" are kept (a few per cent). The findings are then built from
those few rows, compared exactly. Hashes only choose which rows to look at closely: equal hash sums
are taken as equal values (a collision, with odds around 2**-64 per differing order, would hide that
one difference), and every reported number comes from the exact values.

What is compared
    * portal order <-> live invoices (``status != "void"``) by ``order_key``
    * portal order <-> live sales orders (``status`` not cancelled/void) by ``order_key``
    * portal order lines <-> the order's primary sales order lines by ``(order_key, sku)``
    * portal availability <-> inventory availability per ``(sku, warehouse_key)``
    * portal outstanding <-> ledger (sum of ``balance_minor`` of invoices not void/draft) per
      ``(dealer_key, currency)``
    * payments and credit notes with money left to apply

Precedence (a difference is reported once, in its most specific category)
    1. Reference first. An invoice (any status, void included) whose ``order_key`` is null or unknown
       to the portal is ``orphan_invoice`` and nothing else; a live sales order in that position is
       ``orphan_sales_order``. A void orphan carries no money and is downgraded to low severity.
    2. Order status. A live invoice or sales order for an order that is not billable (status other
       than ``confirmed``/``invoiced``, e.g. cancelled) is ``cancelled_order_posted`` and is not
       compared further; a non-billable order without documents is matched.
    3. One primary document per order. When an order has several live invoices, the primary is the
       one in the order's currency with the smallest total difference (then earliest issue date,
       then key); every other one is ``duplicate_invoice`` (money = its own total) and is not also
       compared for amount, tax, dealer or currency. Sales orders likewise (primary: the one booked
       to the order's dealer, then the smallest key); extras are ``duplicate_sales_order``.
    4. Missing documents. A billable order without a live invoice or sales order is ``in_flight``
       (one finding naming what is missing) while ``as_of - confirmed_at`` (UTC instants, never the
       business date) is under ``in_flight``; past it, ``missing_invoice`` and/or
       ``missing_sales_order`` (separate systems, separate findings, the same remedy).
    5. On the primary invoice: ``currency_mismatch`` suppresses every amount comparison (amounts in
       two currencies are not comparable); ``dealer_mismatch`` (including an unmapped, null dealer)
       is reported independently because it is a different fact. Amounts use the tolerance
       ``t = line_count`` minor units (one unit of rounding per line):
         - ``|d_total| > t``: ``tax_mismatch`` if the net (total - tax) agrees within ``t`` and the tax
           does not (wrong rate), else ``amount_mismatch`` (money = ``|d_total|``, tax included);
         - totals within ``t`` but ``|d_tax| > t``: ``tax_mismatch`` (money = ``|d_tax|``);
         - otherwise any non-zero difference: ``rounding_difference`` (low).
    6. On the primary sales order: ``dealer_mismatch`` as for invoices; its lines are compared with
       the order's lines, one ``quantity_mismatch`` per differing or one-sided SKU (quantities summed
       per SKU on each side first). Lines of duplicate, orphan or non-billable sales orders are not
       compared (those documents are already reported).
    7. Availability: ``negative_availability`` (portal < 0) wins over ``stale_availability`` for the
       same row; stale means ``|portal - inventory| > availability_tolerance`` or one side missing.
    8. Accounts, payments and credit notes are compared as they are: an invoice reported above still
       counts in the ledger outstanding, because the portal mirrors the ledger (the pullback copies
       balances), so a mismatch there is a separate, stale-copy problem.

Money at stake is always a non-negative Int64 in minor units of the finding's ``currency``. It is 0
where the snapshots carry no prices (quantities, availability, orphan sales orders); the quantities
are in ``portal_value``/``inventory_value``. Ages are whole days from ``confirmed_at`` (orders), the
issue date (invoices), the payment date, or the credited invoice's issue date, to ``as_of`` (UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

import numpy as np
import polars as pl
from polars._typing import EngineType

from dealer_sync.money import minor_unit_exponent
from dealer_sync.reconcile import screen
from dealer_sync.reconcile.categories import CATEGORIES, SEVERITY_ORDER, Category
from dealer_sync.reconcile.snapshot import Snapshots, validate_schemas
from dealer_sync.timeutil import require_utc

BILLABLE_STATUSES: Final = ("confirmed", "invoiced")
"""Portal order statuses that must have an invoice and a sales order."""
VOID_INVOICE_STATUSES: Final = ("void",)
CLOSED_INVOICE_STATUSES: Final = ("void", "draft")
"""Invoices that do not count in a dealer's outstanding (the same rule as the pullback flow)."""
DEAD_SALES_ORDER_STATUSES: Final = ("cancelled", "void")
LARGE: Final = "streaming"
"""Engine for the passes over whole snapshots (hashing, counts). Measured on polars 1.44.2 (the pin) at
1M orders on a loaded 2-core machine, the streaming engine ran the former joins and group-bys faster
than the in-memory one (0.36 vs 0.6 s for the invoice pairs, 1.14 vs 2.0 s for the line suspects)."""
SCREEN_THREADS: Final = 2
"""Threads for the screen's numpy slices (the calling one and one more). At 1M orders two cut the screen
by about a third (classify 2.0 -> 1.6 s); the second thread's malloc arena costs about 40 MB, which the
memory target can spare now that each frame is laid out for the screen and dropped as it is hashed
(peak 0.92-0.95 GB in bench/reconciliation.py; one thread: 0.88 GB)."""
SMALL: Final = "in-memory"
"""Engine for the few-thousand-row frames the findings are built from (ranking, text)."""
_DEALER_SEED: Final = 0xD1A1
QUANTITY_EPSILON: Final = 1e-9
"""Quantities are floats; sums of the same decimals may differ in the last bit, never by more."""

FINDING_SCHEMA: Final = pl.Schema(
    {
        "category": pl.String(),
        "severity": pl.String(),
        "order_key": pl.String(),
        "invoice_key": pl.String(),
        "so_key": pl.String(),
        "dealer_key": pl.String(),
        "sku": pl.String(),
        "warehouse_key": pl.String(),
        "payment_key": pl.String(),
        "credit_note_key": pl.String(),
        "currency": pl.String(),
        "portal_minor": pl.Int64(),
        "ledger_minor": pl.Int64(),
        "portal_value": pl.Float64(),
        "inventory_value": pl.Float64(),
        "money_at_stake_minor": pl.Int64(),
        "age_days": pl.Int32(),
        "remedy": pl.String(),
        "detail": pl.String(),
    }
)
"""One row per finding. Key columns say where, the amounts and quantities say how much."""

_SEVERITY_RANK: Final = {name: rank for rank, name in enumerate(SEVERITY_ORDER)}
_PLACEHOLDER: Final = re.compile(r"\{(\w+)(?::(shell))?\}")
_SHELL_SAFE: Final = r"^[A-Za-z0-9_.,:/@%+=-]+$"
_NULL_TEXT: Final = "(none)"


@dataclass(frozen=True)
class Findings:
    """The classified differences of one run, plus how many records per source matched cleanly.

    ``matched`` keys: ``portal`` (portal orders), ``inventory`` (live sales orders), ``ledger`` (live
    invoices), ``availability`` (sku/warehouse rows) and ``accounts`` (portal dealer accounts), each
    counting the records that appear in no finding.
    """

    frame: pl.DataFrame
    matched: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "matched", MappingProxyType(dict(self.matched)))

    def __len__(self) -> int:
        return self.frame.height

    def counts(self) -> dict[str, int]:
        """Findings per category (categories without findings are left out)."""
        counted = self.frame.group_by("category").len()
        return dict(zip(counted["category"].to_list(), counted["len"].to_list(), strict=True))

    def of(self, category: Category | str) -> pl.DataFrame:
        """The findings of one category."""
        return self.frame.filter(pl.col("category") == str(category))

    def summary(self) -> pl.DataFrame:
        """Count and money at stake per category and currency (amounts in two currencies never add).

        Columns: category, severity, currency, count, money_at_stake_minor, oldest_age_days; the most
        severe and most expensive first.
        """
        return (
            self.frame.group_by("category", "severity", "currency")
            .agg(
                pl.len().cast(pl.Int64).alias("count"),
                pl.col("money_at_stake_minor").sum().alias("money_at_stake_minor"),
                pl.col("age_days").max().alias("oldest_age_days"),
            )
            .sort(
                pl.col("severity").replace_strict(_SEVERITY_RANK, default=len(_SEVERITY_RANK)),
                pl.col("money_at_stake_minor"),
                "category",
                "currency",
                descending=[False, True, False, False],
                nulls_last=True,
            )
        )


def classify(
    snapshots: Snapshots,
    *,
    as_of: datetime,
    in_flight: timedelta = timedelta(hours=2),
    availability_tolerance: float = 0.0,
) -> Findings:
    """Compare the three systems and return every difference, classified, with its remedy.

    Args:
        snapshots: the normalised frames; their schemas are checked first.
        as_of: the instant the snapshots describe (aware; converted to UTC). Ages and the in-flight
            window are measured from it.
        in_flight: how long a confirmed order may lack its invoice/sales order before it is missing.
        availability_tolerance: allowed absolute difference between portal and inventory availability.
    """
    validate_schemas(snapshots)
    if in_flight < timedelta(0):
        raise ValueError(f"in_flight must not be negative, got {in_flight}")
    if availability_tolerance < 0:
        raise ValueError(f"availability_tolerance must not be negative, got {availability_tolerance}")
    run = _Run(snapshots, require_utc(as_of), in_flight, availability_tolerance)
    frame = _sort(run.findings())
    return Findings(frame, run.matched(frame))


def _sort(frame: pl.DataFrame) -> pl.DataFrame:
    """Most severe, then most money, first; keys break ties so the order is reproducible."""
    keys = [
        "order_key",
        "invoice_key",
        "so_key",
        "sku",
        "warehouse_key",
        "payment_key",
        "credit_note_key",
        "dealer_key",
        "currency",
    ]
    return frame.sort(
        [
            pl.col("severity").replace_strict(_SEVERITY_RANK, default=len(_SEVERITY_RANK)),
            pl.col("money_at_stake_minor"),
            pl.col("category"),
            *keys,
        ],
        descending=[False, True] + [False] * (1 + len(keys)),
        nulls_last=True,
    )


def _format(template: str, *args: str | pl.Expr) -> pl.Expr:
    """``pl.format`` built on ``concat_str``.

    A precaution against an intermittent streaming-engine panic in ``pl.format`` on multi-chunk
    string columns (``binview/mod.rs: assertion failed: i < self.len()``), recorded against "polars
    2.1", not the pinned version. With the pin, polars 1.44.2, 30 streaming runs over 10-chunk string
    columns did not reproduce it; ``concat_str`` yields the same text, so it stays.
    """
    pieces = template.split("{}")
    if len(pieces) != len(args) + 1:
        raise ValueError(f"template {template!r} takes {len(pieces) - 1} arguments, got {len(args)}")
    parts: list[pl.Expr] = []
    for text, arg in zip(pieces, [*args, None], strict=True):
        if text:
            parts.append(pl.lit(text))
        if arg is not None:
            parts.append((pl.col(arg) if isinstance(arg, str) else arg).cast(pl.String))
    return pl.concat_str(parts)


def _shell_quote(value: pl.Expr) -> pl.Expr:
    """POSIX single quotes unless the value is plainly safe, so a pasted remedy runs as intended."""
    quoted = pl.concat_str([pl.lit("'"), value.str.replace_all("'", "'\"'\"'", literal=True), pl.lit("'")])
    return pl.when(value.str.contains(_SHELL_SAFE)).then(value).otherwise(quoted)


def render(template: str, fields: Mapping[str, pl.Expr] | None = None) -> pl.Expr:
    """A template as one string expression: ``{name}`` is the column (or field) ``name``.

    Nulls read as ``(none)`` so one missing value never blanks a whole remedy.
    """
    fields = fields or {}
    parts: list[pl.Expr] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > position:
            parts.append(pl.lit(template[position : match.start()]))
        name, conversion = match.group(1), match.group(2)
        value = fields.get(name, pl.col(name)).cast(pl.String).fill_null(_NULL_TEXT)
        parts.append(_shell_quote(value) if conversion == "shell" else value)
        position = match.end()
    if position < len(template):
        parts.append(pl.lit(template[position:]))
    return pl.concat_str(parts) if parts else pl.lit("")


def _duration_text(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:g} h"


def _quantity_text(value: pl.Expr) -> pl.Expr:
    """``2`` rather than ``2.0`` for whole quantities; ``none`` where a side has no row."""
    whole = value.round(0) == value
    as_int = value.cast(pl.Int64, strict=False).cast(pl.String)
    return (
        pl.when(value.is_null() | value.is_nan())
        .then(pl.lit("none"))
        .when(whole & as_int.is_not_null())
        .then(as_int)
        .otherwise(value.round(6).cast(pl.String))
    )


def _reference_text() -> pl.Expr:
    return (
        pl.when(pl.col("order_key").is_null())
        .then(pl.lit("has an empty reference number"))
        .otherwise(_format("references order {}, which the portal does not have", "order_key"))
    )


def _in(column: str, keys: pl.Series) -> pl.Expr:
    """Membership in a small key set (a hash probe per row; the set is built once)."""
    return pl.col(column).is_in(keys.implode())


def _present(marker: str) -> pl.Expr:
    """After a full join, whether the row has the side that carries ``marker``."""
    return pl.col(marker).is_not_null()


def _key_hash(column: str) -> pl.Expr:
    """A 64-bit hash of a key: integer group-bys and joins where a collision only costs extra work."""
    return pl.col(column).hash(0x5EED)


def _values_hash(*columns: str) -> pl.Expr:
    """One 64-bit hash of several columns (a distinct seed per position, so order matters)."""
    combined = pl.col(columns[0]).hash(101)
    for position, column in enumerate(columns[1:], start=1):
        combined = combined ^ pl.col(column).hash(101 + 2 * position)
    return combined


def _line_weight() -> pl.Expr:
    """A 64-bit hash of (sku, quantity): summed per order, equal multisets of lines give equal sums.

    Hashing the pair (not the SKU and the quantity separately) tells apart the same quantities on
    other SKUs; summing (not XOR-ing) keeps duplicate lines from cancelling out.
    """
    return pl.col("sku").hash(0x11E5) ^ pl.col("quantity").hash(0x9A27)


def _chunks(frame: pl.DataFrame, column: str) -> list[np.ndarray]:
    """A column without nulls as numpy views of its chunks (no copy)."""
    series = frame.get_column(column)
    pieces, offset = [], 0
    for length in series.chunk_lengths():
        pieces.append(series.slice(offset, length).to_numpy())
        offset += length
    return pieces


def _gather(frame: pl.LazyFrame, rows: pl.Series, name: str) -> pl.LazyFrame:
    """The rows numbered ``rows`` (ascending) of a frame, with their numbers as column ``name``.

    A gather by position reads only those rows; a row index and a filter over the whole frame would
    allocate a column and a mask as long as the frame.
    """
    return frame.select(pl.all().gather(rows), pl.lit(rows).alias(name))


def _order_columns(orders: pl.LazyFrame) -> pl.LazyFrame:
    """The order columns the comparisons read, named apart from the documents' (``o_*``)."""
    return orders.select(
        "order_key",
        pl.col("dealer_key").alias("o_dealer"),
        pl.col("currency").alias("o_currency"),
        pl.col("total_minor").alias("o_total"),
        pl.col("tax_minor").alias("o_tax"),
        pl.col("line_count").alias("o_lines"),
        pl.col("status").alias("o_status"),
        pl.col("confirmed_at").dt.convert_time_zone("UTC").dt.cast_time_unit("us"),
        *([pl.col("o_row")] if "o_row" in orders.collect_schema() else []),
    )


def _laid_out(query: pl.LazyFrame) -> screen.Partitioned:
    """Hash one frame (``query``: columns ``key``, ``weight`` and ``code``) and lay it out for the
    screen's slices. The hashed frame is dropped on return, so the hashes are held once, not twice.
    """
    (hashed,) = _collect(query)
    return screen.partition(
        screen.Part(_chunks(hashed, "key"), _chunks(hashed, "weight"), _chunks(hashed, "code"))
    )


def _laid_out_lines(
    query: pl.LazyFrame, *, detail_is_weight: bool = False
) -> tuple[screen.Partitioned, screen.Runs]:
    """Hash a frame of lines (``query``: ``key``, ``weight``), sum its runs of equal keys
    (``screen.runs_of``) and lay the runs out for the screen's slices; with where the runs start."""
    (hashed,) = _collect(query)
    part, runs = screen.runs_of(
        _chunks(hashed, "key"), _chunks(hashed, "weight"), detail_is_weight=detail_is_weight
    )
    del hashed
    return screen.partition(part), runs


def _index(*parts: np.ndarray) -> pl.Series:
    """Row numbers, ascending, as polars' index type."""
    return pl.Series(np.sort(np.concatenate(parts)), dtype=pl.get_index_type())


class _Run:
    """One classification, in three rounds so each large pass runs exactly once.

    Round 1 (the screen, ``_screen``): one slim pass per large frame computes 64-bit hashes (keys,
    compared values, lines) and ``screen.suspect_rows`` brings each order's records together by
    sorting, keeping the row numbers of those that can yield a finding. Round 2: those rows are
    gathered whole and put side by side (documents against orders). Round 3: every finding is derived
    from the small frames (ranking, comparisons, text).
    """

    so_multi: pl.Series
    """Order keys with more than one live sales order."""
    suspects: pl.Series
    """Order keys whose line sums differ from their sales order's (or that lack exactly one live
    sales order): their lines are compared SKU by SKU in round 3."""
    line_suspect_rows: pl.Series
    """Row numbers (in ``portal_orders``) of those orders."""
    suspect_lines: pl.Series
    """Row numbers (in ``portal_lines``) of those orders' lines."""
    invoice_rows: pl.LazyFrame
    """Invoice/order pairs that may yield a finding, with both sides' columns and the order facts."""
    so_rows: pl.LazyFrame
    """Sales order/order pairs that may yield a finding, likewise."""
    suspect_rows: dict[str, pl.Series]
    """Row numbers of the suspect portal orders, invoices and live sales orders (``_screen``)."""
    differing_accounts: pl.Series
    """Hashes of the (dealer, currency) accounts whose outstanding may differ (``_differing_accounts``)."""

    def __init__(self, snapshots: Snapshots, as_of: datetime, in_flight: timedelta, tolerance: float) -> None:
        self.snapshots = snapshots
        self.as_of = as_of
        self.in_flight = in_flight
        self.tolerance = tolerance
        self.as_of_instant = pl.lit(as_of, dtype=pl.Datetime("us", "UTC"))
        self.as_of_date = pl.lit(as_of.date(), dtype=pl.Date)
        self.invoices = snapshots.lazy("invoices").select(
            "invoice_key",
            "order_key",
            "dealer_key",
            "currency",
            "total_minor",
            "tax_minor",
            "balance_minor",
            "status",
            "issue_date",
        )
        self.exponents: dict[str, int] = {}

    # ---------------------------------------------------------------------------------- rounds

    def findings(self) -> pl.DataFrame:
        """Run the three rounds and return the findings, unsorted."""
        # Two whole-frame passes that do not depend on the screen run beside it, on polars' threads
        # while the screen's single-threaded numpy steps leave a core free; their results are small.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify-aside") as aside:
            exponents = aside.submit(self._exponents)
            differing = aside.submit(self._differing_accounts)
            order_rows, invoice_rows, so_rows = self._screen()
            self.suspect_rows = {
                "portal_orders": order_rows,
                "invoices": invoice_rows,
                "sales_orders": so_rows,
            }
            self.exponents = exponents.result()
            self.differing_accounts = differing.result()
        invoices, sales_orders = _collect(
            self._details(invoice_rows, order_rows, "invoices", "i_row", "_inv"),
            self._details(so_rows, order_rows, "sales_orders", "s_row", "_so"),
            engine=SMALL,
        )
        self.so_multi = (
            sales_orders.filter(pl.col("_so") & pl.col("order_key").is_not_null())
            .group_by("order_key")
            .len()
            .filter(pl.col("len") > 1)["order_key"]
        )
        self.suspects = sales_orders.filter(_in("o_row", self.line_suspect_rows))["order_key"].unique()
        self.invoice_rows = self._order_facts(_invoice_facts(invoices.lazy(), self.as_of_date))
        self.so_rows = self._order_facts(sales_orders.lazy())
        parts = [
            *self.invoice_findings(),
            *self.missing_findings(),
            *self.sales_order_findings(),
            self.quantity_findings(),
            self.availability_findings(),
            self.outstanding_findings(),
            self.payment_findings(),
            self.credit_findings(),
        ]
        return pl.concat(pl.collect_all(parts, engine=SMALL), how="vertical")

    def _exponents(self) -> dict[str, int]:
        """Minor-unit exponents of the currencies present that do not have two decimals."""
        currency_sources = ["portal_orders", "invoices", "payments", "credit_notes", "portal_accounts"]
        (currencies,) = _collect(
            pl.concat(
                [self.snapshots.lazy(name).select(pl.col("currency").unique()) for name in currency_sources]
            ).unique(),
        )
        return {
            code: minor_unit_exponent(code)
            for code in currencies["currency"].drop_nulls().to_list()
            if minor_unit_exponent(code) != 2
        }

    def _screen(self) -> tuple[pl.Series, pl.Series, pl.Series]:
        """Row numbers of the portal orders, invoices and live sales orders that can yield a finding.

        Per order (grouped by a 64-bit hash of ``order_key``, see ``screen``): each record counts in
        its own field of a count word, and the weights are, with a sign per side, 64-bit hashes of
        the values compared: the order's (currency, dealer, total, tax) against its live invoice's,
        the order's dealer against its sales order's, and the sum of the order's line hashes against
        the sum of its sales order's (grouped by ``so_key`` first). An order is clean, and so are its
        documents, only if it is billable with exactly one live invoice, one live sales order and no
        void invoice, and its weights cancel; or if it is not billable and has no document. Everything
        else is kept: orphans (a reference the portal lacks), missing and duplicate documents,
        documents of unbillable orders, and every differing value or line set. Records with a null
        ``order_key`` are all kept (null never matches, as in the joins of round 2).

        Also sets ``line_suspect_rows`` (suspect orders whose line sums differ from their sales
        order's, or that have no single one) and ``suspect_lines`` (those orders' portal lines).
        Each frame is hashed in one pass (sums modulo 2**64 in polars' wrapping UInt64 arithmetic);
        its hash columns, read in place chunk by chunk, are laid out for the screen's slices
        (``screen.partition``) before the next frame is hashed.
        """
        zero = pl.lit(0, dtype=pl.UInt64)

        def code(*cases: tuple[pl.Expr, int], otherwise: int) -> pl.Expr:
            """The record's ``screen`` code: ``NULL_KEY`` first, then the first case that holds."""
            chosen = pl.lit(otherwise, dtype=pl.UInt8)
            for condition, value in [*reversed(cases), (pl.col("order_key").is_null(), screen.NULL_KEY)]:
                chosen = pl.when(condition).then(pl.lit(value, dtype=pl.UInt8)).otherwise(chosen)
            return chosen.alias("code")

        # Each frame is laid out for the screen as soon as it is hashed, and dropped (``_laid_out``):
        # the hashes are then held once, not twice.
        so_lines_laid, _ = _laid_out_lines(
            self.snapshots.lazy("sales_order_lines").select(
                _key_hash("so_key").alias("key"), _line_weight().alias("weight")
            )
        )
        (sales_orders,) = _collect(
            self.snapshots.lazy("sales_orders").select(
                _key_hash("order_key").alias("key"),
                _key_hash("so_key").alias("so"),
                pl.when(is_dead_sales_order())
                .then(zero)
                .otherwise(zero - pl.col("dealer_key").hash(_DEALER_SEED))
                .alias("weight"),
                code((is_dead_sales_order(), screen.IGNORED), otherwise=screen.SALES_ORDER),
                is_dead_sales_order().alias("dead"),
            )
        )
        dead = sales_orders["dead"].to_numpy()
        workers = SCREEN_THREADS
        so_line_sums = screen.sums_per_key(so_lines_laid, sales_orders["so"].to_numpy(), workers)
        del so_lines_laid
        so_line_sums[dead] = 0  # a dead sales order's lines are never compared
        np.negative(so_line_sums, out=so_line_sums)  # in place: no second million-row array
        so_laid = screen.partition(
            screen.Part(
                [sales_orders["key"].to_numpy()],
                [sales_orders["weight"].to_numpy() + so_line_sums],
                [sales_orders["code"].to_numpy()],
                [so_line_sums],
            )
        )
        del sales_orders, so_line_sums
        orders_laid = _laid_out(
            self.snapshots.lazy("portal_orders").select(
                _key_hash("order_key").alias("key"),
                (
                    _values_hash("currency", "dealer_key", "total_minor", "tax_minor")
                    + pl.col("dealer_key").hash(_DEALER_SEED)
                ).alias("weight"),
                code(
                    (pl.col("status").is_in(BILLABLE_STATUSES).fill_null(False), screen.BILLABLE_ORDER),
                    otherwise=screen.OTHER_ORDER,
                ),
            )
        )
        invoices_laid = _laid_out(
            self.snapshots.lazy("invoices").select(
                _key_hash("order_key").alias("key"),
                pl.when(_is_void())
                .then(zero)
                .otherwise(zero - _values_hash("currency", "dealer_key", "total_minor", "tax_minor"))
                .alias("weight"),
                code((_is_void(), screen.VOID_INVOICE), otherwise=screen.LIVE_INVOICE),
            )
        )
        lines_laid, line_runs = _laid_out_lines(
            self.snapshots.lazy("portal_lines").select(
                _key_hash("order_key").alias("key"), _line_weight().alias("weight")
            ),
            detail_is_weight=True,
        )
        found = screen.suspect_rows(
            [orders_laid, invoices_laid, so_laid, lines_laid],
            detail_needs_one=screen.SALES_ORDER,
            workers=workers,
        )
        del orders_laid, invoices_laid, so_laid, lines_laid
        order_positions, invoice_positions, so_positions, line_positions = found.positions
        self.line_suspect_rows = _index(order_positions[found.detail_differs[0]])
        self.suspect_lines = _index(line_runs.rows(line_positions[found.detail_differs[3]]))
        return _index(order_positions), _index(invoice_positions), _index(so_positions[~dead[so_positions]])

    def _details(
        self, rows: pl.Series, order_rows: pl.Series, name: str, row: str, marker: str
    ) -> pl.LazyFrame:
        """The chosen documents and orders, whole, side by side: a full join on the order key."""
        documents = _gather(self.snapshots.lazy(name), rows, row).rename({"order_key": "reference_key"})
        orders = _order_columns(_gather(self.snapshots.lazy("portal_orders"), order_rows, "o_row")).rename(
            {"order_key": "o_key"}
        )
        return (
            documents.join(orders, left_on="reference_key", right_on="o_key", how="full", coalesce=False)
            .with_columns(
                # The order's key where there is an order, else the document's own reference.
                pl.coalesce("o_key", "reference_key").alias("order_key"),
                _present(row).alias(marker),
                _present("o_row").alias("_order"),
            )
            .drop("o_key", "reference_key", row)
        )

    def _order_facts(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Billable, age and in-flight facts of the order side of a (small) joined frame."""
        return frame.with_columns(
            _billable().alias("billable"),
            pl.col("o_lines").cast(pl.Int64).fill_null(0).clip(lower_bound=0).alias("tol"),
            (self.as_of_instant - pl.col("confirmed_at")).alias("since"),
        ).with_columns(
            (pl.col("since") < self.in_flight).fill_null(False).alias("recent"),
            pl.col("since").dt.total_days().clip(lower_bound=0).cast(pl.Int32).alias("order_age"),
        )

    def date_age(self, column: str) -> pl.Expr:
        return (self.as_of_date - pl.col(column)).dt.total_days().clip(lower_bound=0).cast(pl.Int32)

    # ----------------------------------------------------------------------------------- helpers

    def money(self, minor: str | pl.Expr, currency: str | pl.Expr) -> pl.Expr:
        """``INR 1234.50``: minor units shown with the currency's own number of decimals."""
        amount = pl.col(minor) if isinstance(minor, str) else minor
        code = pl.col(currency) if isinstance(currency, str) else currency
        exponent = (
            code.replace_strict(self.exponents, default=2, return_dtype=pl.Int64)
            if self.exponents
            else pl.lit(2, dtype=pl.Int64)
        )
        magnitude = amount.abs()
        body: pl.Expr = _format("{}.{}", magnitude // 100, (magnitude % 100).cast(pl.String).str.zfill(2))
        for places in sorted(set(self.exponents.values())):
            scaled = (
                magnitude.cast(pl.String)
                if places == 0
                else _format(
                    "{}.{}",
                    magnitude // 10**places,
                    (magnitude % 10**places).cast(pl.String).str.zfill(places),
                )
            )
            body = pl.when(exponent == places).then(scaled).otherwise(body)
        sign = pl.when(amount < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        return pl.concat_str([code.fill_null("???"), pl.lit(" "), sign, body])

    def age_text(self) -> pl.Expr:
        minutes = pl.col("since").dt.total_minutes()
        return (
            pl.when(minutes.is_null())
            .then(pl.lit("an unknown time"))
            .when(minutes < 120)
            .then(_format("{} min", minutes.clip(lower_bound=0)))
            .when(minutes < 48 * 60)
            .then(_format("{} h", minutes // 60))
            .otherwise(_format("{} days", minutes // (24 * 60)))
        )

    def emit(
        self,
        frame: pl.LazyFrame,
        category: Category,
        *,
        variant: pl.Expr | None = None,
        variants: tuple[str, ...] = ("default",),
        severity: pl.Expr | None = None,
        fields: Mapping[str, pl.Expr] | None = None,
        shared: Mapping[str, pl.Expr] | None = None,
        **columns: pl.Expr,
    ) -> pl.LazyFrame:
        """Shape rows into findings: fixed columns, category, severity, rendered remedy and detail.

        ``variant`` names the remedy template per row (null: ``"default"``); ``variants`` lists the
        names it can produce, so only templates whose fields this frame has are rendered.
        """
        info = CATEGORIES[category]
        unknown = set(variants) - set(info.remedies)
        if unknown or not variants or (variant is None and variants != ("default",)):
            raise ValueError(f"{category}: variants {sorted(variants)} do not match its remedies")
        # One with_columns: helpers, the variant, the severity and the overridden columns all read
        # the input row (a helper naming ``dealer_key`` sees the document's dealer, not the order's).
        chosen_variant = pl.lit("default") if variant is None else variant.fill_null("default")
        chosen_severity = pl.lit(info.severity) if severity is None else severity
        frame = frame.with_columns(
            **{**(shared or {}), **columns},
            **(fields or {}),
            _variant=chosen_variant,
            _severity=chosen_severity,
        )
        remedy = render(info.remedy) if "default" in variants else pl.lit(None, dtype=pl.String)
        if variant is not None:
            chosen = pl.col("_variant")
            for name in variants:
                if name != "default":
                    remedy = pl.when(chosen == name).then(render(info.remedies[name])).otherwise(remedy)
        present = frame.collect_schema()
        selected: list[pl.Expr] = []
        for name, dtype in FINDING_SCHEMA.items():
            if name == "category":
                selected.append(pl.lit(category.value, dtype=pl.String).alias(name))
            elif name == "severity":
                selected.append(pl.col("_severity").alias(name))
            elif name == "remedy":
                selected.append(remedy.alias(name))
            elif name == "detail":
                selected.append(render(info.detail).alias(name))
            elif name in present:
                selected.append(pl.col(name).cast(dtype).alias(name))
            else:
                selected.append(pl.lit(None, dtype=dtype).alias(name))
        return frame.select(selected)

    # ------------------------------------------------------------------------------- the checks

    def invoice_findings(self) -> list[pl.LazyFrame]:
        """Orphans, invoices of unbillable orders, duplicates, and the primary invoice's comparisons."""
        rows = self.invoice_rows
        orphan = self.emit(
            rows.filter(~pl.col("_order")),
            Category.ORPHAN_INVOICE,
            variant=pl.when("void").then(pl.lit("void")).when("paid").then(pl.lit("paid")),
            variants=("default", "paid", "void"),
            severity=pl.when("void").then(pl.lit("low")).otherwise(pl.lit("high")),
            fields={
                "ledger_amount": self.money("total_minor", "currency"),
                "reference_text": _reference_text(),
            },
            ledger_minor=pl.col("total_minor"),
            money_at_stake_minor=pl.when("void").then(0).otherwise(pl.col("total_minor").abs()),
            age_days=pl.col("inv_age"),
        )
        live = rows.filter(pl.col("_inv") & pl.col("_order") & ~pl.col("void"))
        unbillable = self.emit(
            live.filter(~pl.col("billable")),
            Category.CANCELLED_ORDER_POSTED,
            variant=pl.when("paid").then(pl.lit("paid")),
            variants=("default", "paid"),
            fields={
                "order_status": pl.col("o_status"),
                "document": _format("invoice {}", "invoice_key"),
                "amount_text": self.money("total_minor", "currency"),
            },
            dealer_key=pl.coalesce("o_dealer", "dealer_key"),
            portal_minor=pl.col("o_total"),
            ledger_minor=pl.col("total_minor"),
            money_at_stake_minor=pl.col("total_minor").abs(),
            age_days=pl.col("inv_age"),
        )
        billable = live.filter("billable").with_columns(
            pl.col("currency").ne_missing(pl.col("o_currency")).alias("cur_mm"),
            (pl.col("total_minor") - pl.col("o_total")).alias("d_total"),
            (pl.col("tax_minor") - pl.col("o_tax")).alias("d_tax"),
            pl.len().over("order_key").alias("n_docs"),
        )
        ranking = [pl.col("cur_mm"), pl.col("d_total").abs(), pl.col("issue_date"), pl.col("invoice_key")]
        several = billable.filter(pl.col("n_docs") > 1).with_columns(
            pl.int_range(pl.len()).over("order_key", order_by=ranking, nulls_last=True).alias("rank"),
            pl.col("invoice_key")
            .sort_by(ranking, nulls_last=True)
            .first()
            .over("order_key")
            .alias("other_key"),
        )
        duplicate = self.emit(
            several.filter(pl.col("rank") > 0),
            Category.DUPLICATE_INVOICE,
            variant=pl.when("paid").then(pl.lit("paid")),
            variants=("default", "paid"),
            fields={"ledger_amount": self.money("total_minor", "currency")},
            dealer_key=pl.coalesce("o_dealer", "dealer_key"),
            portal_minor=pl.col("o_total"),
            ledger_minor=pl.col("total_minor"),
            money_at_stake_minor=pl.col("total_minor").abs(),
            age_days=pl.col("inv_age"),
        )
        primary = pl.concat(
            [
                billable.filter(pl.col("n_docs") == 1),
                several.filter(pl.col("rank") == 0).drop("rank", "other_key"),
            ],
            how="vertical",
        )
        return [orphan, unbillable, duplicate, *self.primary_invoice_findings(primary)]

    def primary_invoice_findings(self, primary: pl.LazyFrame) -> list[pl.LazyFrame]:
        """Currency, dealer and amount comparisons of each order with its one primary invoice."""
        common: dict[str, pl.Expr] = {
            "portal_minor": pl.col("o_total"),
            "ledger_minor": pl.col("total_minor"),
            "age_days": pl.col("inv_age"),
        }
        currency = self.emit(
            primary.filter("cur_mm"),
            Category.CURRENCY_MISMATCH,
            variant=pl.when("paid").then(pl.lit("paid")),
            variants=("default", "paid"),
            fields={
                "ledger_currency": pl.col("currency"),
                "portal_currency": pl.col("o_currency"),
                "ledger_amount": self.money("total_minor", "currency"),
                "portal_amount": self.money("o_total", "o_currency"),
            },
            dealer_key=pl.coalesce("o_dealer", "dealer_key"),
            money_at_stake_minor=pl.col("total_minor").abs(),
            shared=common,
        )
        dealer = self.emit(
            primary.filter(pl.col("dealer_key").ne_missing(pl.col("o_dealer"))),
            Category.DEALER_MISMATCH,
            variant=pl.when(pl.col("dealer_key").is_null()).then(pl.lit("unmapped_invoice")),
            variants=("default", "unmapped_invoice"),
            fields={
                "document": _format("Invoice {}", "invoice_key"),
                "other_dealer": pl.col("dealer_key").fill_null("(unmapped)"),
            },
            dealer_key=pl.col("o_dealer"),
            money_at_stake_minor=pl.col("total_minor").abs(),
            shared=common,
        )

        abs_total = pl.col("d_total").abs()
        abs_tax = pl.col("d_tax").abs()
        abs_net = (pl.col("d_total") - pl.col("d_tax")).abs()
        tol = pl.col("tol")
        compared = primary.filter(~pl.col("cur_mm")).with_columns(
            pl.when(abs_total > tol)
            .then(
                pl.when((abs_net <= tol) & (abs_tax > tol))
                .then(pl.lit(Category.TAX_MISMATCH.value))
                .otherwise(pl.lit(Category.AMOUNT_MISMATCH.value))
            )
            .when(abs_tax > tol)
            .then(pl.lit(Category.TAX_MISMATCH.value))
            .when((abs_total > 0) | (abs_tax > 0))
            .then(pl.lit(Category.ROUNDING_DIFFERENCE.value))
            .alias("amount_category")
        )

        def of(category: Category) -> pl.LazyFrame:
            return compared.filter(pl.col("amount_category") == category.value)

        amounts = {
            "ledger_amount": self.money("total_minor", "currency"),
            "portal_amount": self.money("o_total", "o_currency"),
            "tolerance": tol,
        }
        amount = self.emit(
            of(Category.AMOUNT_MISMATCH),
            Category.AMOUNT_MISMATCH,
            variant=pl.when(pl.col("d_total") < 0).then(pl.lit("underbilled")),
            variants=("default", "underbilled"),
            fields={
                **amounts,
                "diff_amount": self.money(abs_total, "currency"),
                "direction": pl.when(pl.col("d_total") < 0)
                .then(pl.lit("underbilled"))
                .otherwise(pl.lit("overbilled")),
            },
            dealer_key=pl.col("o_dealer"),
            money_at_stake_minor=abs_total,
            shared=common,
        )
        tax = self.emit(
            of(Category.TAX_MISMATCH),
            Category.TAX_MISMATCH,
            fields={
                "ledger_tax": self.money("tax_minor", "currency"),
                "portal_tax": self.money("o_tax", "o_currency"),
                "diff_amount": self.money(abs_tax, "currency"),
                "tax_note": pl.when(abs_total <= tol)
                .then(pl.lit(", while the totals agree (the tax split differs)"))
                .otherwise(pl.lit(", while the net amounts agree (wrong tax rate or treatment)")),
            },
            dealer_key=pl.col("o_dealer"),
            portal_minor=pl.col("o_tax"),
            ledger_minor=pl.col("tax_minor"),
            money_at_stake_minor=abs_tax,
            age_days=pl.col("inv_age"),
        )
        largest = pl.max_horizontal(abs_total, abs_tax)
        rounding = self.emit(
            of(Category.ROUNDING_DIFFERENCE),
            Category.ROUNDING_DIFFERENCE,
            fields={
                **amounts,
                "diff_amount": self.money(largest, "currency"),
                "what": pl.when((abs_total > 0) & (abs_tax > 0))
                .then(pl.lit("total and tax"))
                .when(abs_total > 0)
                .then(pl.lit("total"))
                .otherwise(pl.lit("tax")),
            },
            dealer_key=pl.col("o_dealer"),
            money_at_stake_minor=largest,
            shared=common,
        )
        return [currency, dealer, amount, tax, rounding]

    def missing_findings(self) -> list[pl.LazyFrame]:
        """Billable orders lacking a live invoice or sales order: in flight, or missing past the window."""
        columns = ["order_key", "o_dealer", "o_currency", "o_total", "since", "order_age", "recent"]
        rows = self.invoice_rows
        without_any = rows.filter(~pl.col("_inv") & pl.col("billable")).select(columns)
        # Orders touched by a void invoice kept all their invoice rows: missing if none is live.
        only_void = (
            rows.filter(pl.col("_inv") & pl.col("_order") & pl.col("billable"))
            .group_by("order_key")
            .agg((~pl.col("void")).sum().alias("live"), pl.col(columns[1:]).first())
            .filter(pl.col("live") == 0)
            .select(columns)
        )
        no_invoice = pl.concat([without_any, only_void], how="vertical")
        no_sales_order = self.so_rows.filter(~pl.col("_so") & pl.col("billable")).select(columns)
        fields = {
            "portal_amount": self.money("o_total", "o_currency"),
            "age_text": self.age_text(),
            "window_text": pl.lit(_duration_text(self.in_flight)),
        }
        order_columns: dict[str, pl.Expr] = {
            "dealer_key": pl.col("o_dealer"),
            "currency": pl.col("o_currency"),
            "portal_minor": pl.col("o_total"),
            "money_at_stake_minor": pl.col("o_total").abs(),
            "age_days": pl.col("order_age"),
        }
        waiting = (
            pl.concat(
                [
                    no_invoice.filter("recent").with_columns(pl.lit("invoice").alias("missing")),
                    no_sales_order.filter("recent").with_columns(pl.lit("sales order").alias("missing")),
                ],
                how="vertical",
            )
            .group_by("order_key")
            .agg(pl.col(columns[1:]).first(), pl.col("missing").sort().str.join(" and no "))
        )
        return [
            self.emit(waiting, Category.IN_FLIGHT, fields=fields, shared=order_columns),
            self.emit(
                no_invoice.filter(~pl.col("recent")),
                Category.MISSING_INVOICE,
                fields=fields,
                shared=order_columns,
            ),
            self.emit(
                no_sales_order.filter(~pl.col("recent")),
                Category.MISSING_SALES_ORDER,
                fields=fields,
                shared=order_columns,
            ),
        ]

    def _ranked_sales_orders(self) -> tuple[pl.LazyFrame, pl.LazyFrame]:
        """Live sales orders of billable orders: those alone for their order, and ranked groups."""
        billable = self.so_rows.filter(pl.col("_so") & pl.col("_order") & pl.col("billable")).with_columns(
            pl.col("dealer_key").ne_missing(pl.col("o_dealer")).alias("dealer_mm"),
            pl.len().over("order_key").alias("n_docs"),
        )
        ranking = [pl.col("dealer_mm"), pl.col("so_key")]
        several = billable.filter(pl.col("n_docs") > 1).with_columns(
            pl.int_range(pl.len()).over("order_key", order_by=ranking, nulls_last=True).alias("rank"),
            pl.col("so_key").sort_by(ranking, nulls_last=True).first().over("order_key").alias("other_key"),
        )
        return billable.filter(pl.col("n_docs") == 1), several

    def sales_order_findings(self) -> list[pl.LazyFrame]:
        """Orphan, unbillable and duplicate sales orders, and the primary sales order's dealer."""
        rows = self.so_rows
        orphan = self.emit(
            rows.filter(~pl.col("_order")),
            Category.ORPHAN_SALES_ORDER,
            fields={"reference_text": _reference_text()},
            money_at_stake_minor=pl.lit(0, dtype=pl.Int64),
        )
        order_columns: dict[str, pl.Expr] = {
            "currency": pl.col("o_currency"),
            "portal_minor": pl.col("o_total"),
            "money_at_stake_minor": pl.col("o_total").abs(),
            "age_days": pl.col("order_age"),
        }
        unbillable = self.emit(
            rows.filter(pl.col("_so") & pl.col("_order") & ~pl.col("billable")),
            Category.CANCELLED_ORDER_POSTED,
            variant=pl.lit("sales_order"),
            variants=("sales_order",),
            fields={
                "order_status": pl.col("o_status"),
                "document": _format("sales order {}", "so_key"),
                "amount_text": pl.concat_str([pl.lit("order value "), self.money("o_total", "o_currency")]),
            },
            dealer_key=pl.coalesce("o_dealer", "dealer_key"),
            shared=order_columns,
        )
        single, several = self._ranked_sales_orders()
        duplicate = self.emit(
            several.filter(pl.col("rank") > 0),
            Category.DUPLICATE_SALES_ORDER,
            fields={"portal_amount": self.money("o_total", "o_currency")},
            dealer_key=pl.col("o_dealer"),
            shared=order_columns,
        )
        primary = pl.concat(
            [single, several.filter(pl.col("rank") == 0).drop("rank", "other_key")], how="vertical"
        )
        dealer = self.emit(
            primary.filter("dealer_mm"),
            Category.DEALER_MISMATCH,
            variant=pl.when(pl.col("dealer_key").is_null())
            .then(pl.lit("unmapped_sales_order"))
            .otherwise(pl.lit("sales_order")),
            variants=("sales_order", "unmapped_sales_order"),
            fields={
                "document": _format("Sales order {}", "so_key"),
                "other_dealer": pl.col("dealer_key").fill_null("(unmapped)"),
            },
            dealer_key=pl.col("o_dealer"),
            shared=order_columns,
        )
        return [orphan, unbillable, duplicate, dealer]

    def quantity_findings(self) -> pl.LazyFrame:
        """Lines of suspect orders against their primary sales order's lines, SKU by SKU."""
        single, several = self._ranked_sales_orders()
        targets = (
            pl.concat([single, several.filter(pl.col("rank") == 0).drop("rank", "other_key")], how="vertical")
            .filter(_in("order_key", self.suspects))
            .select("so_key", "order_key", "o_dealer", "o_currency", "order_age")
            .collect(engine=SMALL)
        )
        portal = _gather(self.snapshots.lazy("portal_lines"), self.suspect_lines, "l_row").select(
            "order_key",
            "sku",
            pl.col("quantity").alias("q_portal"),
            pl.lit(None, dtype=pl.Float64).alias("q_inventory"),
        )
        inventory = (
            self.snapshots.lazy("sales_order_lines")
            .filter(_in("so_key", targets["so_key"]))
            .join(targets.lazy().select("so_key", "order_key"), on="so_key", how="inner")
            .select(
                "order_key",
                "sku",
                pl.lit(None, dtype=pl.Float64).alias("q_portal"),
                pl.col("quantity").alias("q_inventory"),
            )
        )
        both = (
            pl.concat([portal, inventory], how="vertical")
            .group_by("order_key", "sku")
            .agg(
                pl.col("q_portal").sum(),
                pl.col("q_inventory").sum(),
                pl.col("q_portal").count().alias("n_portal"),
                pl.col("q_inventory").count().alias("n_inventory"),
            )
            .filter(
                (pl.col("n_portal") == 0)
                | (pl.col("n_inventory") == 0)
                | ((pl.col("q_portal") - pl.col("q_inventory")).abs() > QUANTITY_EPSILON)
            )
            .join(targets.lazy(), on="order_key", how="inner")
        )
        portal_value = pl.when(pl.col("n_portal") > 0).then(pl.col("q_portal"))
        inventory_value = pl.when(pl.col("n_inventory") > 0).then(pl.col("q_inventory"))
        return self.emit(
            both,
            Category.QUANTITY_MISMATCH,
            variant=pl.when(pl.col("n_inventory") == 0)
            .then(pl.lit("portal_only"))
            .when(pl.col("n_portal") == 0)
            .then(pl.lit("inventory_only")),
            variants=("default", "portal_only", "inventory_only"),
            fields={
                "portal_qty": _quantity_text(portal_value),
                "inventory_qty": _quantity_text(inventory_value),
            },
            dealer_key=pl.col("o_dealer"),
            currency=pl.col("o_currency"),
            portal_value=portal_value,
            inventory_value=inventory_value,
            money_at_stake_minor=pl.lit(0, dtype=pl.Int64),
            age_days=pl.col("order_age"),
        )

    def availability_findings(self) -> pl.LazyFrame:
        """Negative portal availability first, else a difference beyond the tolerance (or one side)."""
        rows = self.snapshots.lazy("availability").with_columns(
            pl.col("portal_available").fill_nan(None).alias("portal_value"),
            pl.col("inventory_available").fill_nan(None).alias("inventory_value"),
        )
        negative = (pl.col("portal_value") < 0).fill_null(False)
        stale = (
            pl.col("portal_value").is_null()
            | pl.col("inventory_value").is_null()
            | ((pl.col("portal_value") - pl.col("inventory_value")).abs() > self.tolerance)
        )
        fields = {
            "portal_qty": _quantity_text(pl.col("portal_value")),
            "inventory_qty": _quantity_text(pl.col("inventory_value")),
            "tolerance": pl.lit(f"{self.tolerance:g}"),
        }
        zero = pl.lit(0, dtype=pl.Int64)
        return pl.concat(
            [
                self.emit(
                    rows.filter(negative),
                    Category.NEGATIVE_AVAILABILITY,
                    variant=pl.when(pl.col("inventory_value") < 0).then(pl.lit("overcommitted")),
                    variants=("default", "overcommitted"),
                    fields=fields,
                    money_at_stake_minor=zero,
                ),
                self.emit(
                    rows.filter(~negative & stale),
                    Category.STALE_AVAILABILITY,
                    fields=fields,
                    money_at_stake_minor=zero,
                ),
            ],
            how="vertical",
        )

    def outstanding_findings(self) -> pl.LazyFrame:
        """Each dealer's portal outstanding against the ledger's open invoice balances, per currency.

        Screened first (``_differing_accounts``): portal minus ledger summed per 64-bit hash of
        (dealer, currency), an integer group-by; only the accounts whose sum is not 0 (and any with a
        null key part, which never matches) are then summed and joined by their exact keys.
        """
        open_invoices = self._open_invoices()
        accounts = self.snapshots.lazy("portal_accounts")
        chosen = (
            _account_hash().is_in(self.differing_accounts.implode())
            | pl.col("dealer_key").is_null()
            | pl.col("currency").is_null()
        )
        ledger = (
            open_invoices.filter(chosen)
            .group_by("dealer_key", "currency")
            .agg(pl.col("balance_minor").sum().alias("ledger_minor"))
        )
        portal = (
            accounts.filter(chosen)
            .group_by("dealer_key", "currency")
            .agg(pl.col("outstanding_minor").sum().alias("portal_minor"))
        )
        joined = portal.join(ledger, on=["dealer_key", "currency"], how="full", coalesce=True)
        difference = (pl.col("portal_minor").fill_null(0) - pl.col("ledger_minor").fill_null(0)).abs()
        return self.emit(
            joined.filter(difference > 0),
            Category.OUTSTANDING_MISMATCH,
            fields={
                "portal_amount": self.money(pl.col("portal_minor").fill_null(0), "currency"),
                "ledger_amount": self.money(pl.col("ledger_minor").fill_null(0), "currency"),
                "diff_amount": self.money(difference, "currency"),
            },
            money_at_stake_minor=difference,
        )

    def _open_invoices(self) -> pl.LazyFrame:
        return self.invoices.filter(
            ~pl.col("status").is_in(CLOSED_INVOICE_STATUSES).fill_null(False)
            & pl.col("dealer_key").is_not_null()
        )

    def _differing_accounts(self) -> pl.Series:
        """The outstanding check's screen: hashes of (dealer, currency) whose portal outstanding less
        the ledger's open balances is not 0."""
        account = _account_hash()
        (differing,) = _collect(
            pl.concat(
                [
                    self._open_invoices().select(account.alias("h"), (-pl.col("balance_minor")).alias("m")),
                    self.snapshots.lazy("portal_accounts").select(
                        account.alias("h"), pl.col("outstanding_minor").alias("m")
                    ),
                ]
            )
            .group_by("h")
            .agg(pl.col("m").sum())
            .filter(pl.col("m") != 0)
            .select("h")
        )
        return differing["h"]

    def payment_findings(self) -> pl.LazyFrame:
        payments = self.snapshots.lazy("payments").filter(pl.col("unapplied_minor") > 0)
        return self.emit(
            payments,
            Category.UNAPPLIED_PAYMENT,
            fields={
                "ledger_amount": self.money("amount_minor", "currency"),
                "diff_amount": self.money("unapplied_minor", "currency"),
                "paid_on": pl.col("paid_on").cast(pl.String),
            },
            ledger_minor=pl.col("amount_minor"),
            money_at_stake_minor=pl.col("unapplied_minor"),
            age_days=self.date_age("paid_on"),
        )

    def credit_findings(self) -> pl.LazyFrame:
        notes = self.snapshots.lazy("credit_notes").filter(pl.col("balance_minor") > 0).collect(engine=SMALL)
        credited = self.invoices.filter(_in("invoice_key", notes["invoice_key"].drop_nulls())).select(
            "invoice_key", self.date_age("issue_date").alias("inv_age")
        )
        return self.emit(
            notes.lazy().join(credited, on="invoice_key", how="left"),
            Category.UNAPPLIED_CREDIT,
            fields={
                "ledger_amount": self.money("total_minor", "currency"),
                "diff_amount": self.money("balance_minor", "currency"),
                "against": pl.when(pl.col("invoice_key").is_not_null())
                .then(_format(" against invoice {}", "invoice_key"))
                .otherwise(pl.lit("")),
            },
            ledger_minor=pl.col("total_minor"),
            money_at_stake_minor=pl.col("balance_minor"),
            age_days=pl.col("inv_age"),
        )

    # ----------------------------------------------------------------------------- matched counts

    def matched(self, findings: pl.DataFrame) -> dict[str, int]:
        """Records per source that appear in no finding: a count less the found keys among them.

        A found order, sales order or invoice key is always the key of a suspect record (the
        screen's rows), except an invoice an unapplied credit note names, which may be clean. So
        the found keys are looked up among the few suspect rows, and among the whole invoices only
        for those credited ones (none, mostly); the large frames are only counted (live ones by
        their status).
        """

        def found(column: str) -> pl.Series:
            return findings[column].drop_nulls().unique()

        def hits(name: str, column: str, keys: pl.Series, live: pl.Expr | None = None) -> pl.Expr:
            """How many suspect rows of frame ``name`` (live ones) have a ``column`` in ``keys``."""
            rows = self.suspect_rows[name]
            picked = pl.col(column).gather(rows).is_in(keys.implode())
            if live is not None:
                picked = picked & live.gather(rows)
            return picked.sum()

        credited = findings.filter(pl.col("category") == Category.UNAPPLIED_CREDIT.value)["invoice_key"]
        credited = credited.drop_nulls().unique()
        live_invoice, live_sales_order = ~_is_void(), ~is_dead_sales_order()
        invoices = self.snapshots.lazy("invoices")
        sales_orders = self.snapshots.lazy("sales_orders")
        ledger_hits = hits("invoices", "invoice_key", found("invoice_key"), live_invoice)
        if len(credited):  # clean credited invoices: all of them, less those among the suspects
            ledger_hits = (
                ledger_hits
                + (pl.col("invoice_key").is_in(credited.implode()) & live_invoice).sum()
                - hits("invoices", "invoice_key", credited, live_invoice)
            )
        availability = findings.filter(
            pl.col("category").is_in(
                [Category.STALE_AVAILABILITY.value, Category.NEGATIVE_AVAILABILITY.value]
            )
        ).select("sku", "warehouse_key")
        accounts = findings.filter(pl.col("category") == Category.OUTSTANDING_MISMATCH.value).select(
            "dealer_key", "currency"
        )
        queries = {
            "portal": self.snapshots.lazy("portal_orders").select(
                pl.len() - hits("portal_orders", "order_key", found("order_key"))
            ),
            "inventory": sales_orders.select(
                live_sales_order.sum() - hits("sales_orders", "so_key", found("so_key"))
            ),
            "ledger": invoices.select(live_invoice.sum() - ledger_hits),
            "availability": self.snapshots.lazy("availability")
            .join(availability.lazy(), on=["sku", "warehouse_key"], how="anti", nulls_equal=True)
            .select(pl.len()),
            "accounts": self.snapshots.lazy("portal_accounts")
            .join(accounts.lazy(), on=["dealer_key", "currency"], how="anti", nulls_equal=True)
            .select(pl.len()),
        }
        counted = pl.collect_all(list(queries.values()), engine=SMALL)
        return {name: int(frame.item()) for name, frame in zip(queries, counted, strict=True)}


def _account_hash() -> pl.Expr:
    """A 64-bit hash of (dealer_key, currency), the outstanding check's screening key."""
    return pl.col("dealer_key").hash(0xACC0) ^ pl.col("currency").hash(0xC0DE)


def _collect(*queries: pl.LazyFrame, engine: EngineType = LARGE) -> list[pl.DataFrame]:
    """Run queries one after the other: each is parallel inside, and one at a time keeps the peak
    memory to the largest single pass rather than the sum of all of them."""
    return [query.collect(engine=engine) for query in queries]


def _is_void() -> pl.Expr:
    return pl.col("status").is_in(VOID_INVOICE_STATUSES).fill_null(False)


def is_dead_sales_order() -> pl.Expr:
    """A sales order whose status is one of ``DEAD_SALES_ORDER_STATUSES`` (a null status is live).

    Public because whatever picks sales orders for ``classify`` (the benchmark's pushdown) must call
    live exactly what it does.
    """
    return pl.col("status").is_in(DEAD_SALES_ORDER_STATUSES).fill_null(False)


def _billable() -> pl.Expr:
    return pl.col("o_status").is_in(BILLABLE_STATUSES).fill_null(False)


def _invoice_facts(frame: pl.LazyFrame, as_of_date: pl.Expr) -> pl.LazyFrame:
    return frame.with_columns(
        _is_void().alias("void"),
        # Something was paid or credited: reversing it takes a credit note, not a void.
        (pl.col("balance_minor") < pl.col("total_minor")).fill_null(False).alias("paid"),
        (as_of_date - pl.col("issue_date"))
        .dt.total_days()
        .clip(lower_bound=0)
        .cast(pl.Int32)
        .alias("inv_age"),
    )
