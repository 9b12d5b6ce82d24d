"""Screening: the few records that can yield a finding, picked out by grouping 64-bit hashes by sorting.

The classifier compares a million orders with their invoices, sales orders and lines. Nearly all of
them match, so it first screens: every record is reduced to a 64-bit hash of its key and a 64-bit
*weight* (hashes of the values to compare, added with a sign per side), the records of one order are
brought together, and an order whose weights do not cancel, or whose documents are not exactly
"one of each", is a suspect. Only suspects are compared exactly (``classify`` round 3).

How the records are brought together: not with hash tables (a group-by or join with a million
groups costs random memory accesses per row), but by one sort of packed 64-bit words, the key hash
in the high bits and the record's row number in the low bits (polars' integer sort, about 14 ns a
word here, a third of numpy's); the groups are then runs of equal high bits, and per-group sums
are ``np.add.reduceat`` over the weights gathered in sorted order. The records are
screened in slices by the top bits of their key hash (all records of one key fall in one slice):
each part is first laid out slice after slice (``partition``: one scatter per column), so a slice's
records are contiguous views, no temporary array is larger than a slice, and slices can run on two
threads.

Exactness. The sort key keeps ``64 - b`` bits of the key hash (``b`` = bits of a slice's row count,
21 at a million orders): two different keys sharing them fall in one group, which then looks like an order
with two of everything and is a suspect. Sums are modulo 2**64: a suspect can only be missed if the
hashes of differing values cancel exactly (odds around 2**-64 per differing order). Both errors can
only add suspects or, with those odds, hide one; findings always come from the exact comparison.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar, cast

import numpy as np
import numpy.typing as npt
import polars as pl

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Rows = npt.NDArray[np.int32] | npt.NDArray[np.int64]
"""Row numbers: 32-bit where a part has fewer than 2**31 rows (half the memory traffic)."""

FIELD_BITS: Final = 12
"""Bits of each record count in a group's count word."""
FIELD_MASK: Final = np.uint64((1 << FIELD_BITS) - 1)
MAX_CLEAN_GROUP: Final = (1 << (FIELD_BITS - 1)) - 1
"""A larger group is always a suspect: its counts (up to twice its size) could overflow a field."""
LINE, BILLABLE_ORDER, OTHER_ORDER, LIVE_INVOICE, VOID_INVOICE, SALES_ORDER, NULL_KEY, IGNORED = range(8)
"""What a record is (a ``uint8`` code per record): each adds one to its own field of the count word.
A record whose key is null (``NULL_KEY``) adds two to the billable-order field, so its group is never
clean: null keys all hash alike but match nothing. ``LINE`` and ``IGNORED`` records count nothing."""
_WORDS: Final = np.array([0, *(1 << (FIELD_BITS * field) for field in range(5)), 2, 0], dtype=np.uint64)
MATCHED_WORDS: Final = (
    _WORDS[BILLABLE_ORDER] | _WORDS[LIVE_INVOICE] | _WORDS[SALES_ORDER],
    _WORDS[OTHER_ORDER],
)
"""The count words of a group that can be clean: a billable order with exactly one live invoice and
one live sales order and no void invoice (clean if its weights cancel), or an order that is not
billable with no document at all (clean whatever its lines)."""
PARTITION_BITS: Final = 4
"""Records are screened in ``2**PARTITION_BITS`` slices by the top bits of their key hash: at a million
orders a slice is about 350,000 records, so no temporary array is more than a few MB."""

Value = TypeVar("Value", np.uint64, np.uint8)
Chunks = Sequence[U64]
"""A column in pieces (e.g. zero-copy views of a polars column's chunks), read as one."""


@dataclass(frozen=True)
class Part:
    """One source's records: key hashes, weights, codes and detail weights, chunked alike.

    ``codes`` None means every record is a ``LINE``; ``detail`` None means zeros.
    """

    keys: Chunks
    weights: Chunks
    codes: Sequence[npt.NDArray[np.uint8]] | None = None
    detail: Chunks | None = None


@dataclass(frozen=True)
class Slice:
    """The records of one part in one slice: their row numbers in the part, and their columns."""

    rows: Rows
    keys: U64
    weights: U64
    codes: npt.NDArray[np.uint8]
    detail: U64


@dataclass(frozen=True)
class Partitioned:
    """One part's records laid out slice after slice: slice ``k`` is positions ``bounds[k]:bounds[k+1]``.

    Within a slice the records keep their order, so ``rows`` (their row numbers in the part, across
    its chunks) ascends there. Each slice's columns are views, not copies.
    """

    rows: Rows
    keys: U64
    weights: U64
    codes: npt.NDArray[np.uint8] | None
    detail: U64 | None
    bounds: I64

    def slice(self, number: int) -> Slice:
        """The records of slice ``number``, rows ascending."""
        start, end = int(self.bounds[number]), int(self.bounds[number + 1])
        return Slice(
            rows=self.rows[start:end],
            keys=self.keys[start:end],
            weights=self.weights[start:end],
            codes=np.zeros(end - start, np.uint8) if self.codes is None else self.codes[start:end],
            detail=np.zeros(end - start, np.uint64) if self.detail is None else self.detail[start:end],
        )


def partition(part: Part) -> Partitioned:
    """Lay ``part``'s columns out slice after slice (by the top ``PARTITION_BITS`` of the key hash).

    A stable sort of the one-byte slice numbers gives each row its place; every column is then
    written there in one scatter, reading it in order (its writes go to ``2**PARTITION_BITS``
    advancing positions). Gathering each slice's rows instead would read every column once per slice.
    """
    top = np.uint64(64 - PARTITION_BITS)
    total = sum(len(chunk) for chunk in part.keys)
    numbers = np.empty(total, np.uint8)
    offset = 0
    for chunk in part.keys:
        numbers[offset : offset + len(chunk)] = chunk >> top
        offset += len(chunk)
    index = np.int32 if total < 2**31 else np.int64
    order = cast(Rows, np.argsort(numbers, kind="stable").astype(index))
    bounds = np.concatenate([[0], np.cumsum(np.bincount(numbers, minlength=1 << PARTITION_BITS))])
    del numbers
    places = np.empty(total, index)
    places[order] = np.arange(total, dtype=index)

    def placed(chunks: Sequence[npt.NDArray[Value]] | None, dtype: type[Value]) -> npt.NDArray[Value] | None:
        if chunks is None:
            return None
        laid: npt.NDArray[Value] = np.empty(total, dtype)
        start = 0
        for chunk in chunks:
            laid[places[start : start + len(chunk)]] = chunk
            start += len(chunk)
        return laid

    keys, weights = placed(part.keys, np.uint64), placed(part.weights, np.uint64)
    assert keys is not None and weights is not None
    return Partitioned(
        rows=order,
        keys=keys,
        weights=weights,
        codes=placed(part.codes, np.uint8),
        detail=weights if part.detail is part.weights else placed(part.detail, np.uint64),
        bounds=bounds,
    )


def spans(starts: I64, sizes: I64) -> tuple[I64, I64]:
    """Every position of the spans ``[start, start + size)``, span after span, and where each span's
    positions begin in that list (for ``np.add.reduceat``)."""
    offsets: I64 = np.cumsum(sizes) - sizes
    positions: I64 = np.repeat(starts - offsets, sizes) + np.arange(int(sizes.sum()), dtype=np.int64)
    return positions, offsets


@dataclass(frozen=True)
class Runs:
    """Where runs of consecutive equal keys start in a source whose records were summed per run
    (``runs_of``), to map the runs the screen picks back to the source's rows.

    Lines usually arrive grouped by their document (as stored, or as a snapshot appends them), so
    summing runs first hands the screen about one record per document instead of one per line (2.5
    lines per order in the benchmark: 40% of the records to lay out and sort). Nothing depends on the
    grouping: the screen sums weights per key anyway, so a key split over several runs is several
    records summed again there, exactly as its lines would be; ungrouped lines merely gain nothing.
    """

    starts: I64
    """First source row of each run (row numbers across the source's chunks), ascending."""
    total: int
    """Rows in the source."""

    def rows(self, runs: I64) -> I64:
        """The source rows of ``runs`` (run numbers, ascending), ascending."""
        firsts = self.starts[runs]
        positions, _ = spans(firsts, np.append(self.starts[1:], self.total)[runs] - firsts)
        return positions


def runs_of(keys: Chunks, weights: Chunks, *, detail_is_weight: bool = False) -> tuple[Part, Runs]:
    """One record per run of equal consecutive ``keys``, its weight the run's sum (a run never spans
    two chunks), and where the runs start.

    ``detail_is_weight``: each run's detail is its sum (portal lines), as ``Part.detail``.
    """
    run_keys: list[U64] = []
    run_sums: list[U64] = []
    starts: list[I64] = []
    offset = 0
    for key_chunk, weight_chunk in zip(keys, weights, strict=True):
        if len(key_chunk):
            firsts = np.flatnonzero(key_chunk[1:] != key_chunk[:-1]) + 1
            firsts = np.concatenate([np.zeros(1, np.int64), firsts])
            run_keys.append(key_chunk[firsts])
            run_sums.append(np.add.reduceat(weight_chunk, firsts))
            starts.append(firsts + offset)
        offset += len(key_chunk)
    part = Part(run_keys, run_sums, None, run_sums if detail_is_weight else None)
    return part, Runs(starts=np.concatenate(starts) if starts else np.zeros(0, np.int64), total=offset)


@dataclass(frozen=True)
class Groups:
    """Rows grouped by key hash: ``rows`` (sorted order) holds each group's rows from ``starts[g]``."""

    rows: I64
    starts: I64
    sizes: I64

    def sums(self, values: U64) -> U64:
        """Per group, the sum modulo 2**64 of ``values`` (indexed by row)."""
        return self.sums_sorted(values[self.rows])

    def sums_sorted(self, values: U64) -> U64:
        """Per group, the sum modulo 2**64 of ``values`` (already in sorted order)."""
        if not len(self.rows):
            return np.zeros(0, dtype=np.uint64)
        summed: U64 = np.add.reduceat(values, self.starts)
        return summed

    def group_of(self, positions: I64) -> I64:
        """The group of each of ``positions`` (ascending positions in sorted order)."""
        found: I64 = np.searchsorted(self.starts, positions, side="right") - 1
        return found


def group_by_hash(hashes: Sequence[U64]) -> Groups:
    """Group the rows of several hash arrays, taken as one (rows numbered across them, in order)."""
    total = sum(len(part) for part in hashes)
    shift = max(1, (total - 1).bit_length())
    low = np.uint64((1 << shift) - 1)
    packed = np.empty(total, dtype=np.uint64)
    scratch = np.arange(total, dtype=np.uint64)
    offset = 0
    for part in hashes:
        piece = packed[offset : offset + len(part)]
        np.bitwise_and(part, ~low, out=piece)
        piece |= scratch[offset : offset + len(part)]
        offset += len(part)
    # polars' sort of one integer column (a radix sort) took 5 ms for 375,000 words where numpy's
    # took 17 (numpy 2.4, AVX-512 machine); it releases the GIL, so slices still sort side by side.
    ordered = pl.Series(packed).sort(multithreaded=False).to_numpy()
    first = np.empty(total, dtype=np.bool_)
    first[:1] = True
    # Neighbours differing above the row bits start a group.
    np.bitwise_xor(ordered[1:], ordered[:-1], out=scratch[1:])
    np.greater(scratch[1:], low, out=first[1:])
    del scratch
    starts = np.flatnonzero(first)
    del first
    rows = np.bitwise_and(ordered, low, out=packed).view(np.int64)  # below 2**63: the same bits as int64
    return Groups(rows=rows, starts=starts, sizes=np.diff(starts, append=total))


Item = TypeVar("Item")
Result = TypeVar("Result")


def _on_threads(work: Callable[[Item], Result], items: Sequence[Item], workers: int) -> list[Result]:
    """``work`` on every item, results in order, on the calling thread and up to ``workers - 1`` more.

    numpy releases the GIL, so the threads run at once. The calling thread takes its share: each
    thread that allocates keeps a malloc arena of its own, which is memory the screen cannot spare.
    """
    results: list[Result | None] = [None] * len(items)
    taken = iter(range(len(items)))
    lock = threading.Lock()

    def drain() -> None:
        while True:
            with lock:
                index = next(taken, None)
            if index is None:
                return
            results[index] = work(items[index])

    helpers = [threading.Thread(target=drain, name=f"screen-{n}") for n in range(1, max(1, workers))]
    for helper in helpers:
        helper.start()
    try:
        drain()
    finally:
        for helper in helpers:
            helper.join()
    return cast(list[Result], results)


SLICES: Final = range(1 << PARTITION_BITS)


def sums_per_key(summed: Part | Partitioned, targets: U64, workers: int = 1) -> U64:
    """For each of ``targets``, the sum of ``summed``'s weights over its keys equal to it (0 if none)."""
    found = np.zeros(len(targets), dtype=np.uint64)
    summed_laid = _laid(summed)
    wanted_laid = partition(Part(keys=[targets], weights=[targets]))

    def work(number: int) -> None:
        pieces, chosen = summed_laid.slice(number), wanted_laid.slice(number)
        groups = group_by_hash([pieces.keys, chosen.keys])
        per_group = groups.sums(np.concatenate([pieces.weights, np.zeros(len(chosen.keys), np.uint64)]))
        positions = np.flatnonzero(groups.rows >= len(pieces.keys))
        found[chosen.rows[groups.rows[positions] - len(pieces.keys)]] = per_group[groups.group_of(positions)]

    _on_threads(work, SLICES, workers)  # slices write disjoint targets
    return found


def _laid(part: Part | Partitioned) -> Partitioned:
    return part if isinstance(part, Partitioned) else partition(part)


@dataclass(frozen=True)
class Suspects:
    """Per part: the row numbers of its records in suspect groups, ascending, and for each whether its
    group also "differs in detail" (see ``suspect_rows``)."""

    positions: list[I64]
    detail_differs: list[Bools]


def suspect_rows(parts: Sequence[Part | Partitioned], detail_needs_one: int, workers: int = 1) -> Suspects:
    """The records in suspect groups (see ``MATCHED_WORDS``), the parts' records grouped together.

    ``detail`` is summed again over the few suspect groups alone; a group "differs in detail" if
    that sum is not 0 or it has not exactly one record coded ``detail_needs_one``. The slices run
    on up to ``workers`` threads. A caller short of memory partitions each part as soon as it has
    it, and drops its source.
    """
    laid = [_laid(part) for part in parts]

    def work(number: int) -> list[tuple[Rows, Bools]]:
        pieces = [part.slice(number) for part in laid]
        found = _suspects_among(pieces, detail_needs_one)
        return [(piece.rows[found.positions[i]], found.detail_differs[i]) for i, piece in enumerate(pieces)]

    positions: list[list[Rows]] = [[] for _ in parts]
    differs: list[list[Bools]] = [[] for _ in parts]
    for result in _on_threads(work, SLICES, workers):
        for i, (rows, flags) in enumerate(result):
            positions[i].append(rows)
            differs[i].append(flags)
    merged = Suspects(positions=[], detail_differs=[])
    for part_positions, part_differs in zip(positions, differs, strict=True):
        joined = np.concatenate(part_positions).astype(np.int64)
        order = np.argsort(joined, kind="stable")
        merged.positions.append(joined[order])
        merged.detail_differs.append(np.concatenate(part_differs)[order])
    return merged


def _suspects_among(pieces: list[Slice], detail_needs_one: int) -> Suspects:
    """``suspect_rows`` within one slice; positions are indices into each piece."""
    bounds = np.cumsum([0, *(len(piece.keys) for piece in pieces)])
    groups = group_by_hash([piece.keys for piece in pieces])
    counts = groups.sums_sorted(_WORDS[np.concatenate([piece.codes for piece in pieces])[groups.rows]])
    balance = groups.sums(np.concatenate([piece.weights for piece in pieces]))
    clean = (((counts == MATCHED_WORDS[0]) & (balance == 0)) | (counts == MATCHED_WORDS[1])) & (
        groups.sizes <= MAX_CLEAN_GROUP
    )
    chosen = np.flatnonzero(~clean)
    field = np.uint64(FIELD_BITS * (detail_needs_one - 1))
    not_one = ((counts[chosen] >> field) & FIELD_MASK) != 1
    del counts, balance, clean
    sizes = groups.sizes[chosen]
    positions, firsts = spans(groups.starts[chosen], sizes)
    rows = groups.rows[positions]
    del groups
    if len(rows):
        not_one |= np.add.reduceat(np.concatenate([piece.detail for piece in pieces])[rows], firsts) != 0
    differs = np.repeat(not_one, sizes)
    order = np.argsort(rows, kind="stable")
    rows, differs = rows[order], differs[order]
    cuts = np.searchsorted(rows, bounds)
    return Suspects(
        positions=[rows[cuts[i] : cuts[i + 1]] - bounds[i] for i in range(len(pieces))],
        detail_differs=[differs[cuts[i] : cuts[i + 1]] for i in range(len(pieces))],
    )
