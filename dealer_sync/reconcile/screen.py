"""Screening: the few records that can yield a finding, picked out by grouping 64-bit hashes by sorting.

The classifier compares a million orders with their invoices, sales orders and lines. Nearly all of
them match, so it first screens: every record is reduced to a 64-bit hash of its key and a 64-bit
*weight* (hashes of the values to compare, added with a sign per side), the records of one order are
brought together, and an order whose weights do not cancel, or whose documents are not exactly
"one of each", is a suspect. Only suspects are compared exactly (``classify`` round 3).

How the records are brought together: not with hash tables (a group-by or join with a million
groups costs random memory accesses per row), but by one numpy sort of packed 64-bit words, the key
hash in the high bits and the record's row number in the low bits. Sorting integers is a SIMD sort
of a few tens of milliseconds for millions of rows; the groups are then runs of equal high bits, and
per-group sums are ``np.add.reduceat`` over the weights gathered in sorted order. The records are
screened in a few slices by the top bits of their key hash (all records of one key fall in one
slice), reading the inputs in place chunk by chunk, so no temporary array is larger than a slice.

Exactness. The sort key keeps ``64 - b`` bits of the key hash (``b`` = bits of a slice's row count,
21 at a million orders): two different keys sharing them fall in one group, which then looks like an order
with two of everything and is a suspect. Sums are modulo 2**64: a suspect can only be missed if the
hashes of differing values cancel exactly (odds around 2**-64 per differing order). Both errors can
only add suspects or, with those odds, hide one; findings always come from the exact comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

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

    rows: I64
    keys: U64
    weights: U64
    codes: npt.NDArray[np.uint8]
    detail: U64


@dataclass(frozen=True)
class Slicing:
    """Per chunk of a part: its row numbers ordered by slice (stably), and where each slice starts."""

    orders: list[npt.NDArray[np.int32]]
    bounds: list[I64]


def slicing(part: Part) -> Slicing:
    """Sort each chunk's rows by slice, the top ``PARTITION_BITS`` bits of their key hash, once."""
    top = np.uint64(64 - PARTITION_BITS)
    orders, bounds = [], []
    for chunk in part.keys:
        numbers = (chunk >> top).astype(np.uint8)
        orders.append(np.argsort(numbers, kind="stable").astype(np.int32))
        bounds.append(np.concatenate([[0], np.cumsum(np.bincount(numbers, minlength=1 << PARTITION_BITS))]))
    return Slicing(orders=orders, bounds=bounds)


def slice_of(part: Part, number: int, sliced: Slicing) -> Slice:
    """The records of ``part`` in slice ``number`` (``sliced``: from ``slicing``), rows ascending."""
    rows, keys, weights, codes, detail = [], [], [], [], []
    offset = 0
    for index, chunk in enumerate(part.keys):
        bounds = sliced.bounds[index]
        chosen = sliced.orders[index][bounds[number] : bounds[number + 1]]
        rows.append(chosen + offset)
        keys.append(chunk[chosen])
        weights.append(part.weights[index][chosen])
        codes.append(np.zeros(len(chosen), np.uint8) if part.codes is None else part.codes[index][chosen])
        detail.append(np.zeros(len(chosen), np.uint64) if part.detail is None else part.detail[index][chosen])
        offset += len(chunk)
    return Slice(
        rows=np.concatenate([np.zeros(0, np.int64), *rows]),
        keys=np.concatenate([np.zeros(0, np.uint64), *keys]),
        weights=np.concatenate([np.zeros(0, np.uint64), *weights]),
        codes=np.concatenate([np.zeros(0, np.uint8), *codes]),
        detail=np.concatenate([np.zeros(0, np.uint64), *detail]),
    )


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
    packed.sort()
    first = np.empty(total, dtype=np.bool_)
    first[:1] = True
    # Neighbours differing above the row bits start a group.
    np.bitwise_xor(packed[1:], packed[:-1], out=scratch[1:])
    np.greater(scratch[1:], low, out=first[1:])
    del scratch
    starts = np.flatnonzero(first)
    del first
    packed &= low
    rows = packed.view(np.int64)  # below 2**63: the same bits as int64
    return Groups(rows=rows, starts=starts, sizes=np.diff(starts, append=total))


Result = TypeVar("Result")


def _each_slice(work: Callable[[int], Result], workers: int) -> list[Result]:
    """``work`` on every slice number, on up to ``workers`` threads (numpy releases the GIL)."""
    numbers = range(1 << PARTITION_BITS)
    if workers <= 1:
        return [work(number) for number in numbers]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, numbers))


def sums_per_key(keys: Chunks, values: Chunks, targets: U64, workers: int = 1) -> U64:
    """For each of ``targets``, the sum of ``values`` over the ``keys`` equal to it (0 if none)."""
    found = np.zeros(len(targets), dtype=np.uint64)
    summed, wanted = Part(keys=keys, weights=values), Part(keys=[targets], weights=[targets])
    summed_numbers, wanted_numbers = slicing(summed), slicing(wanted)

    def work(number: int) -> None:
        pieces = slice_of(summed, number, summed_numbers)
        chosen = slice_of(wanted, number, wanted_numbers)
        groups = group_by_hash([pieces.keys, chosen.keys])
        per_group = groups.sums(np.concatenate([pieces.weights, np.zeros(len(chosen.keys), np.uint64)]))
        positions = np.flatnonzero(groups.rows >= len(pieces.keys))
        found[chosen.rows[groups.rows[positions] - len(pieces.keys)]] = per_group[groups.group_of(positions)]

    _each_slice(work, workers)  # slices write disjoint targets
    return found


@dataclass(frozen=True)
class Suspects:
    """Per part: the row numbers of its records in suspect groups, ascending, and for each whether its
    group also "differs in detail" (see ``suspect_rows``)."""

    positions: list[I64]
    detail_differs: list[Bools]


def suspect_rows(parts: Sequence[Part], detail_needs_one: int, workers: int = 1) -> Suspects:
    """The records in suspect groups (see ``MATCHED_WORDS``), the parts' records grouped together.

    ``detail`` is summed again over the few suspect groups alone; a group "differs in detail" if
    that sum is not 0 or it has not exactly one record coded ``detail_needs_one``. The slices run
    on up to ``workers`` threads.
    """
    numbers = [slicing(part) for part in parts]

    def work(number: int) -> list[tuple[I64, Bools]]:
        pieces = [slice_of(part, number, sliced) for part, sliced in zip(parts, numbers, strict=True)]
        found = _suspects_among(pieces, detail_needs_one)
        return [(piece.rows[found.positions[i]], found.detail_differs[i]) for i, piece in enumerate(pieces)]

    positions: list[list[I64]] = [[] for _ in parts]
    differs: list[list[Bools]] = [[] for _ in parts]
    for result in _each_slice(work, workers):
        for i, (rows, flags) in enumerate(result):
            positions[i].append(rows)
            differs[i].append(flags)
    merged = Suspects(positions=[], detail_differs=[])
    for part_positions, part_differs in zip(positions, differs, strict=True):
        joined = np.concatenate(part_positions)
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
    firsts = np.cumsum(sizes) - sizes
    rows = groups.rows[np.repeat(groups.starts[chosen] - firsts, sizes) + np.arange(int(sizes.sum()))]
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
