"""Statements for QBO's query endpoint and the STARTPOSITION/MAXRESULTS paginator (apis.md 2.3).

Entities are declared once (name in the query, key of the created record's answer, path of its
create endpoint). Listings page in Id order: Ids never change, so a record updated while we page
cannot shift the pages under us and make us skip one (ordering by change time could); a record
created meanwhile is read at the end, or twice at worst, never lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from connectors.http.pagination import PaginationLoopError

MAX_RESULTS = 1000  # QBO's largest page


@dataclass(frozen=True)
class Entity:
    name: str  # in queries and as the answer's key: "Invoice"
    path: str  # create endpoint: "/invoice"


INVOICE = Entity("Invoice", "/invoice")
PAYMENT = Entity("Payment", "/payment")
CREDIT_MEMO = Entity("CreditMemo", "/creditmemo")
CUSTOMER = Entity("Customer", "/customer")
ITEM = Entity("Item", "/item")


def quote(value: str) -> str:
    """A string literal: single quotes, a quote inside escaped with a backslash [S]."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def time_literal(instant: datetime) -> str:
    """An instant as QBO compares it, floored to the second (its timestamps have no fraction), so
    a filter ``>=`` it never misses a record changed in that second."""
    if instant.tzinfo is None:
        raise ValueError("a change time to filter on must be timezone-aware")
    return quote(instant.astimezone(UTC).replace(microsecond=0).isoformat())


def changed_since(instant: datetime | None) -> list[str]:
    return [] if instant is None else [f"MetaData.LastUpdatedTime >= {time_literal(instant)}"]


def dated(first: date | None, last: date | None) -> list[str]:
    """``TxnDate`` between two dates, both ends inclusive."""
    conditions = []
    if first is not None:
        conditions.append(f"TxnDate >= {quote(first.isoformat())}")
    if last is not None:
        conditions.append(f"TxnDate <= {quote(last.isoformat())}")
    return conditions


def select(entity: Entity, conditions: Sequence[str] = (), *, start: int = 1, size: int = MAX_RESULTS) -> str:
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT * FROM {entity.name}{where} ORDERBY Id STARTPOSITION {start} MAXRESULTS {size}"


class StartPositionPaginator:
    """1-based ``STARTPOSITION`` steps of ``MAXRESULTS``; a short page is the last one.

    QBO's answer says no more than how many it returned (``maxResults``), so a full page means
    "maybe more". The paginator refuses to loop: a page repeating the previous one's Ids stops it.
    """

    def __init__(self, *, page_size: int = MAX_RESULTS, max_pages: int = 10_000) -> None:
        if not 1 <= page_size <= MAX_RESULTS:
            raise ValueError(f"page_size must be 1..{MAX_RESULTS}, got {page_size}")
        self.page_size = page_size
        self.max_pages = max_pages

    def pages(self, fetch: Callable[[int, int], list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """Yield each non-empty page; ``fetch(start, size)`` returns the records of one."""
        previous: tuple[str, ...] | None = None
        start = 1
        for number in range(1, self.max_pages + 1):
            rows = fetch(start, self.page_size)
            fingerprint = tuple(str(row.get("Id")) for row in rows)
            if rows and fingerprint == previous:
                raise PaginationLoopError(f"page {number} repeats page {number - 1}; stopping")
            previous = fingerprint
            if rows:
                yield rows
            if len(rows) < self.page_size:
                return
            start += self.page_size
        raise PaginationLoopError(f"more than {self.max_pages} pages; stopping")
