"""A synthetic, fully matched world with a known number of injected differences per category.

It is the classifier's ground truth: ``classify(snapshots, as_of=TRUTH_AS_OF)`` must find exactly the
returned count per category. Every order-level injection gets its own block of a random permutation
of the orders, availability injections their own (sku, warehouse) rows, outstanding injections their
own dealer accounts, so no injection can change the outcome of another. Generation is vectorised:
numbers are drawn with numpy, every key string is formatted once and gathered by index, so a million
orders build in a few seconds and little more memory than the snapshots themselves.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from dealer_sync.reconcile.categories import Category
from dealer_sync.reconcile.snapshot import Snapshots

TRUTH_AS_OF: Final = datetime(2026, 11, 2, 20, 30, tzinfo=UTC)
"""The instant the truth set describes (02:00 on 3 November in Asia/Kolkata, the nightly run)."""
TRUTH_IN_FLIGHT: Final = timedelta(hours=2)
BUSINESS_TIMEZONE: Final = "Asia/Kolkata"
CURRENCIES: Final = ("INR", "USD", "JPY", "KWD", "EUR")
"""Mixed minor units on purpose (2, 2, 0, 3, 2 decimals)."""
WAREHOUSES: Final = 3
INVOICE_STATUSES: Final = ("sent", "paid", "partially_paid", "overdue", "draft")
_STATUS_WEIGHTS: Final = (0.35, 0.30, 0.15, 0.15, 0.05)
_ORDER_STATUSES: Final = ("cancelled", "confirmed", "invoiced")

ORDER_INJECTIONS: Final[tuple[Category, ...]] = (
    Category.IN_FLIGHT,
    Category.MISSING_INVOICE,
    Category.ORPHAN_INVOICE,
    Category.DUPLICATE_INVOICE,
    Category.AMOUNT_MISMATCH,
    Category.ROUNDING_DIFFERENCE,
    Category.TAX_MISMATCH,
    Category.DEALER_MISMATCH,
    Category.CURRENCY_MISMATCH,
    Category.MISSING_SALES_ORDER,
    Category.QUANTITY_MISMATCH,
    Category.CANCELLED_ORDER_POSTED,
    Category.DUPLICATE_SALES_ORDER,
    Category.ORPHAN_SALES_ORDER,
)
"""Categories injected on their own block of orders, in block order."""
OTHER_INJECTIONS: Final[tuple[Category, ...]] = (
    Category.STALE_AVAILABILITY,
    Category.NEGATIVE_AVAILABILITY,
    Category.OUTSTANDING_MISMATCH,
    Category.UNAPPLIED_PAYMENT,
    Category.UNAPPLIED_CREDIT,
)
_CLEAN: Final = -1
_CANCELLED_CLEAN: Final = -2

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def injection_count(per_category: int | float, n_orders: int) -> int:
    """An int is a count; a float is a fraction of the orders (0.001 of 20,000 is 20)."""
    if isinstance(per_category, bool):
        raise TypeError("per_category must be an int or a float, not a bool")
    count = per_category if isinstance(per_category, int) else round(per_category * n_orders)
    if count < 0:
        raise ValueError(f"per_category must not be negative, got {per_category}")
    return count


def _keys(prefix: str, count: int, width: int, suffix: str = "") -> pl.Series:
    """``o000042`` for 0..count-1: short keys stay inline in polars' string views (no heap buffer)."""
    return pl.select(
        pl.concat_str(
            [
                pl.lit(prefix),
                pl.int_range(count, dtype=pl.Int64).cast(pl.String).str.zfill(width),
                pl.lit(suffix),
            ]
        )
    ).to_series()


def _null_where(values: pl.Series, mask: BoolArray) -> pl.Series:
    return values.scatter(np.flatnonzero(mask), None) if mask.any() else values


def _days(day: date) -> int:
    return (day - date(1970, 1, 1)).days


class _World:
    """The clean world's arrays, drawn once; each snapshot frame gathers from them."""

    def __init__(self, n: int, k: int, seed: int, as_of: datetime) -> None:
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.n, self.k, self.as_of = n, k, as_of
        self.width = max(6, len(str(n)))
        self.n_dealers = max(2, k + 1, n // 20)
        self.n_skus = max(16, min(20_000, n // 20), -(-(2 * k + 1) // WAREHOUSES))

        blocks = len(ORDER_INJECTIONS)
        block = np.full(n, _CLEAN, dtype=np.int16)
        permutation = rng.permutation(n)
        block[permutation[: blocks * k]] = np.repeat(np.arange(blocks, dtype=np.int16), k)
        rest = permutation[blocks * k :]
        block[rest[: len(rest) // 100]] = _CANCELLED_CLEAN  # 1% cancelled, nothing posted: matched
        self.block = block

        self.dealer_currency = rng.integers(0, len(CURRENCIES), self.n_dealers)
        self.dealer = rng.integers(0, self.n_dealers, n, dtype=np.int32)
        self.line_count = rng.integers(1, 5, n).astype(np.int32)
        self.total = rng.integers(100_000, 10_000_000, n)
        self.tax = self.total * 18 // 118
        # Small dtypes: the world is held while every frame is built, so its size is the overhead.
        self.u = rng.integers(0, 1 << 30, n, dtype=np.int32)
        self.sign = rng.choice(np.array([-1, 1], dtype=np.int8), n)
        self.r = rng.integers(0, 5_000, n, dtype=np.int32)
        window_minutes = int(TRUTH_IN_FLIGHT.total_seconds() // 60)
        seconds = np.where(
            self.injected(Category.IN_FLIGHT),
            rng.integers(1, window_minutes - 10, n) * 60,
            rng.integers(3 * 3600, 30 * 86400, n),
        )
        as_of_us = np.datetime64(as_of.astimezone(UTC).replace(tzinfo=None), "us")
        self.confirmed_at = pl.Series("confirmed_at", as_of_us - seconds * 1_000_000).dt.replace_time_zone(
            "UTC"
        )
        self.business_date = self.confirmed_at.dt.convert_time_zone(BUSINESS_TIMEZONE).dt.date()
        self.status_code = rng.choice(len(INVOICE_STATUSES), n, p=_STATUS_WEIGHTS).astype(np.int8)
        self.issue_lag = rng.integers(0, 2, n, dtype=np.int8)

        self.order_keys = _keys("o", n, self.width)
        self.so_keys = _keys("s", n, self.width)
        self.invoice_keys = _keys("i", n, self.width)
        self.dealer_keys = _keys("d", self.n_dealers, self.width)
        self.sku_keys = _keys("sku", self.n_skus, self.width)
        self.currencies = pl.Series(CURRENCIES)

    def injected(self, category: Category) -> BoolArray:
        mask: BoolArray = self.block == ORDER_INJECTIONS.index(category)
        return mask

    def cancelled(self) -> BoolArray:
        mask: BoolArray = self.injected(Category.CANCELLED_ORDER_POSTED) | (self.block == _CANCELLED_CLEAN)
        return mask

    def currency(self, codes: IntArray) -> pl.Series:
        return self.currencies.gather(codes)


def make_truth_set(
    n_orders: int, per_category: int | float, seed: int, *, as_of: datetime = TRUTH_AS_OF
) -> tuple[Snapshots, dict[str, int]]:
    """Build a clean world of ``n_orders`` and inject ``per_category`` differences of each category.

    Returns the snapshots and the expected finding count per category for
    ``classify(snapshots, as_of=as_of)`` with the default in-flight window and availability tolerance.
    """
    if n_orders < 1:
        raise ValueError(f"n_orders must be at least 1, got {n_orders}")
    k = injection_count(per_category, n_orders)
    if len(ORDER_INJECTIONS) * k > n_orders:
        raise ValueError(
            f"{k} injections for each of {len(ORDER_INJECTIONS)} order categories need at least "
            f"{len(ORDER_INJECTIONS) * k} orders, got {n_orders}"
        )
    world = _World(n_orders, k, seed, as_of)
    portal_orders = _portal_orders(world)
    portal_lines, sales_order_lines = _lines(world)
    invoices, payments, credit_notes = _ledger(world)
    snapshots = Snapshots(
        portal_orders=portal_orders,
        portal_lines=portal_lines,
        sales_orders=_sales_orders(world),
        sales_order_lines=sales_order_lines,
        invoices=invoices,
        payments=payments,
        credit_notes=credit_notes,
        portal_accounts=_portal_accounts(world, invoices),
        availability=_availability(world),
    )
    expected = {category.value: k for category in (*ORDER_INJECTIONS, *OTHER_INJECTIONS)}
    return snapshots, expected


def _portal_orders(w: _World) -> pl.DataFrame:
    status = np.where(
        w.cancelled(),
        0,
        np.where(
            w.injected(Category.IN_FLIGHT) | w.injected(Category.MISSING_INVOICE) | (w.u % 4 == 0), 1, 2
        ),
    )
    return pl.DataFrame(
        {
            "order_key": w.order_keys,
            "dealer_key": w.dealer_keys.gather(w.dealer),
            "currency": w.currency(w.dealer_currency[w.dealer]),
            "total_minor": w.total,
            "tax_minor": w.tax,
            "line_count": w.line_count,
            "status": pl.Series(_ORDER_STATUSES).gather(status),
            "confirmed_at": w.confirmed_at,
            "business_date": w.business_date,
        }
    )


def _lines(w: _World) -> tuple[pl.DataFrame, pl.DataFrame]:
    """1-4 distinct SKUs per order; the sales order carries the same lines but for the injections."""
    rng = w.rng
    line_order = np.repeat(np.arange(w.n, dtype=np.int32), w.line_count)
    first_line = np.cumsum(w.line_count, dtype=np.int32) - w.line_count
    position = (np.arange(len(line_order), dtype=np.int32) - np.repeat(first_line, w.line_count)).astype(
        np.int8
    )
    sku = (rng.integers(0, w.n_skus, w.n, dtype=np.int32)[line_order] + position) % w.n_skus
    quantity = rng.integers(1, 21, len(line_order)).astype(np.float64)
    quantity += np.where(rng.random(len(line_order)) < 0.1, 0.5, 0.0)
    portal_lines = pl.DataFrame(
        {
            "order_key": w.order_keys.gather(line_order),
            "sku": w.sku_keys.gather(sku),
            "quantity": quantity,
        }
    )
    # Quantity injections, one SKU per order: a changed quantity, a dropped line, or an extra SKU.
    line_block = w.block[line_order]
    variant = line_order % 3
    target = (line_block == ORDER_INJECTIONS.index(Category.QUANTITY_MISMATCH)) & (position == 0)
    bump = rng.integers(1, 6, len(line_order), dtype=np.int8).astype(np.float64)
    so_quantity = np.where(target & (variant == 0), quantity + bump, quantity)
    keep = _has_sales_order(w)[line_order] & ~(target & (variant == 1))
    extra = target & (variant == 2)
    sales_order_lines = pl.concat(
        [
            pl.DataFrame(
                {
                    "so_key": w.so_keys.gather(line_order[keep]),
                    "sku": w.sku_keys.gather(sku[keep]),
                    "quantity": so_quantity[keep],
                }
            ),
            pl.DataFrame(
                {
                    "so_key": w.so_keys.gather(line_order[extra]),
                    "sku": w.sku_keys.gather((sku[extra] + 4) % w.n_skus),
                    "quantity": bump[extra],
                }
            ),
        ]
    )
    return portal_lines, sales_order_lines


def _has_sales_order(w: _World) -> BoolArray:
    mask: BoolArray = ~(w.injected(Category.MISSING_SALES_ORDER) | w.cancelled())
    return mask


def _sales_orders(w: _World) -> pl.DataFrame:
    def frame(rows: IntArray, keys: pl.Series, order_keys: pl.Series) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "so_key": keys,
                "order_key": order_keys,
                "dealer_key": w.dealer_keys.gather(w.dealer[rows]),
                "status": pl.repeat("open", len(rows), eager=True, dtype=pl.String),
            }
        )

    own = np.flatnonzero(_has_sales_order(w))
    duplicated = np.flatnonzero(w.injected(Category.DUPLICATE_SALES_ORDER))
    orphaned = np.flatnonzero(w.injected(Category.ORPHAN_SALES_ORDER))
    unknown = _null_where(_keys("zz", w.n, w.width).gather(orphaned), w.u[orphaned] % 2 == 0)
    return pl.concat(
        [
            frame(own, w.so_keys.gather(own), w.order_keys.gather(own)),
            frame(duplicated, w.so_keys.gather(duplicated) + "-d", w.order_keys.gather(duplicated)),
            frame(orphaned, _keys("y", w.n, w.width).gather(orphaned), unknown),
        ]
    )


def _ledger(w: _World) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Invoices (with the injected changes), the payments that settle them, applied credit notes."""
    n_dealers, n_currencies = w.n_dealers, len(CURRENCIES)
    invoiced = np.flatnonzero(
        ~(
            w.injected(Category.IN_FLIGHT)
            | w.injected(Category.MISSING_INVOICE)
            | (w.block == _CANCELLED_CLEAN)
        )
    )
    block = w.block[invoiced]
    u, sign, r = w.u[invoiced], w.sign[invoiced], w.r[invoiced]
    tolerance = w.line_count[invoiced].astype(np.int64)
    beyond = sign * (tolerance + 1 + r)
    within = sign * (1 + u % tolerance)

    def at(category: Category) -> BoolArray:
        mask: BoolArray = block == ORDER_INJECTIONS.index(category)
        return mask

    wrong_rate = at(Category.TAX_MISMATCH) & (u % 2 == 1)  # net agrees: tax and total move together
    total = w.total[invoiced] + np.select(
        [at(Category.AMOUNT_MISMATCH), at(Category.ROUNDING_DIFFERENCE), wrong_rate],
        [beyond, within, beyond],
        0,
    )
    tax = w.tax[invoiced] + np.where(at(Category.TAX_MISMATCH), beyond, 0)
    moved = at(Category.DEALER_MISMATCH)
    dealer = np.where(moved, (w.dealer[invoiced] + 1 + u % (n_dealers - 1)) % n_dealers, w.dealer[invoiced])
    own_currency = w.dealer_currency[w.dealer[invoiced]]
    currency = np.where(
        at(Category.CURRENCY_MISMATCH),
        (own_currency + 1 + u % (n_currencies - 1)) % n_currencies,
        own_currency,
    )
    last_day = _days(w.as_of.date())
    business_days = w.business_date.to_physical().to_numpy().astype(np.int64)
    issue_day = np.minimum(business_days[invoiced] + w.issue_lag[invoiced], last_day)

    duplicated = np.flatnonzero(w.injected(Category.DUPLICATE_INVOICE))
    orphaned = np.flatnonzero(w.injected(Category.ORPHAN_INVOICE))
    order_key = pl.concat(
        [
            w.order_keys.gather(invoiced),
            w.order_keys.gather(duplicated),
            _null_where(_keys("zz", w.n, w.width).gather(orphaned), w.u[orphaned] % 2 == 0),
        ]
    )
    rows = np.concatenate([invoiced, duplicated, orphaned])
    status = np.concatenate(
        [w.status_code[invoiced], np.zeros(len(duplicated), dtype=np.int64), w.status_code[orphaned]]
    )
    total_all = np.concatenate([total, w.total[duplicated], w.total[orphaned] // 3])
    tax_all = np.concatenate([tax, w.tax[duplicated], w.tax[orphaned] // 3])
    u_all = w.u[rows]
    clean = np.concatenate([block == _CLEAN, np.zeros(len(duplicated) + len(orphaned), dtype=bool)])
    # Balances: paid invoices are settled by a payment; 3% of open clean ones are reduced by an
    # applied credit note (the ledger balance is after the credit, the note itself is used up).
    paid = np.select([status == 1, status == 2], [total_all, 1 + u_all % (total_all - 1)], 0)
    credited = clean & np.isin(status, [0, 3]) & (u_all % 33 == 0)
    credit = np.where(credited, 1 + u_all % np.maximum(total_all // 10, 1), 0)
    dealer_all = np.concatenate([dealer, w.dealer[duplicated], w.dealer[orphaned]])
    unmapped = np.concatenate([moved & (u % 3 == 0), np.zeros(len(duplicated) + len(orphaned), dtype=bool)])
    invoices = pl.DataFrame(
        {
            "invoice_key": pl.concat(
                [
                    w.invoice_keys.gather(invoiced),
                    w.invoice_keys.gather(duplicated) + "-d",
                    _keys("x", w.n, w.width).gather(orphaned),
                ]
            ),
            "order_key": order_key,
            "dealer_key": _null_where(w.dealer_keys.gather(dealer_all), unmapped),
            "currency": w.currency(
                np.concatenate(
                    [currency, w.dealer_currency[w.dealer[duplicated]], w.dealer_currency[w.dealer[orphaned]]]
                )
            ),
            "total_minor": total_all,
            "tax_minor": tax_all,
            "balance_minor": total_all - paid - credit,
            "status": pl.Series(INVOICE_STATUSES).gather(status),
            "issue_date": pl.Series(
                np.concatenate(
                    [issue_day, np.full(len(duplicated), last_day), business_days[orphaned]]
                ).astype(np.int32)
            ).cast(pl.Date),
        }
    )
    # A voided first attempt beside 1% of clean invoices: nothing to find.
    voided = clean & (u_all % 97 == 0)
    void_rows = invoices.filter(pl.Series(voided)).with_columns(
        pl.col("invoice_key") + "-v",
        pl.lit(0, dtype=pl.Int64).alias("balance_minor"),
        pl.lit("void").alias("status"),
    )
    settled = paid > 0
    payments = invoices.filter(pl.Series(settled)).select(
        ("p" + pl.col("invoice_key")).alias("payment_key"),
        "dealer_key",
        "currency",
        pl.Series("amount_minor", paid[settled]),
        pl.lit(0, dtype=pl.Int64).alias("unapplied_minor"),
        pl.col("issue_date").alias("paid_on"),
    )
    credit_notes = invoices.filter(pl.Series(credited)).select(
        ("c" + pl.col("invoice_key")).alias("credit_note_key"),
        "dealer_key",
        "invoice_key",
        "currency",
        pl.Series("total_minor", credit[credited]),
        pl.lit(0, dtype=pl.Int64).alias("balance_minor"),
    )
    left_open = _left_to_apply(w)
    return (
        pl.concat([invoices, void_rows]),
        pl.concat([payments, left_open[0]]),
        pl.concat([credit_notes, left_open[1]]),
    )


def _left_to_apply(w: _World) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``k`` payments and ``k`` credit notes with money not yet applied to any invoice."""
    rng, k = w.rng, w.k
    dealer = rng.integers(0, w.n_dealers, k)
    amount = rng.integers(10_000, 1_000_000, k)
    left = 1 + ((amount - 1) * rng.random(k)).astype(np.int64)
    lag = rng.integers(0, 40, k)
    dealer_keys = w.dealer_keys.gather(dealer)
    currency = w.currency(w.dealer_currency[dealer])
    payments = pl.DataFrame(
        {
            "payment_key": _keys("pu", k, w.width),
            "dealer_key": dealer_keys,
            "currency": currency,
            "amount_minor": amount,
            "unapplied_minor": left,
            "paid_on": pl.Series((_days(w.as_of.date()) - lag).astype(np.int32)).cast(pl.Date),
        }
    )
    credit_notes = pl.DataFrame(
        {
            "credit_note_key": _keys("cu", k, w.width),
            "dealer_key": dealer_keys,
            "invoice_key": pl.Series([None] * k, dtype=pl.String),
            "currency": currency,
            "total_minor": amount,
            "balance_minor": left,
        }
    )
    return payments, credit_notes


def _portal_accounts(w: _World, invoices: pl.DataFrame) -> pl.DataFrame:
    """Accounts mirror the final ledger (as the pullback does), then ``k`` of them drift."""
    dealers = pl.DataFrame({"dealer_key": w.dealer_keys, "currency": w.currency(w.dealer_currency)})
    open_balances = (
        invoices.lazy()
        .filter(~pl.col("status").is_in(["void", "draft"]) & pl.col("dealer_key").is_not_null())
        .group_by("dealer_key", "currency")
        .agg(pl.col("balance_minor").sum().alias("outstanding_minor"))
    )
    accounts = (
        dealers.lazy()
        .join(open_balances, on=["dealer_key", "currency"], how="full", coalesce=True)
        .with_columns(pl.col("outstanding_minor").fill_null(0))
        .sort("dealer_key", "currency")
        .collect()
    )
    drift = np.zeros(accounts.height, dtype=np.int64)
    drifted = w.rng.choice(accounts.height, size=w.k, replace=False)
    drift[drifted] = w.rng.integers(1, 100_000, w.k) * w.rng.choice(np.array([-1, 1]), w.k)
    return accounts.with_columns(pl.col("outstanding_minor") + pl.Series(drift))


def _availability(w: _World) -> pl.DataFrame:
    """Equal on both sides, then ``k`` stale rows (changed, or one side missing) and ``k`` negative."""
    rng, k = w.rng, w.k
    rows = w.n_skus * WAREHOUSES
    stock = rng.integers(0, 500, rows).astype(np.float64)
    portal, inventory = stock.copy(), stock.copy()
    chosen = rng.choice(rows, size=2 * k, replace=False)
    stale, negative = chosen[:k], chosen[k:]
    variant = np.arange(k) % 3
    portal[stale[variant == 0]] += rng.integers(1, 50, int((variant == 0).sum()))
    portal[stale[variant == 1]] = np.nan  # the portal has no row
    inventory[stale[variant == 2]] = np.nan  # the inventory system has no row
    shortfall = -rng.integers(1, 20, k).astype(np.float64)
    portal[negative] = shortfall
    inventory[negative] = np.where(variant == 0, shortfall, stock[negative])  # over-committed, or stale too
    index = np.arange(rows)
    return pl.DataFrame(
        {
            "sku": w.sku_keys.gather(index // WAREHOUSES),
            "warehouse_key": _keys("wh", WAREHOUSES, 2).gather(index % WAREHOUSES),
            "portal_available": pl.Series(portal, nan_to_null=True),
            "inventory_available": pl.Series(inventory, nan_to_null=True),
        }
    )
