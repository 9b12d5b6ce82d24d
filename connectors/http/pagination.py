"""Paginators: they know whether there is more and what comes next, and refuse to loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from connectors.http.errors import ConnectorError, ErrorKind


class PaginationLoopError(ConnectorError):
    """The API served the same page twice; reading on would never end."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind=ErrorKind.BAD_REQUEST)


class PageNumberPaginator:
    """``?page=N&per_page=M`` paging with a has-more flag in the body (Zoho's page_context).

    Args:
        records: pulls the list of records out of a page body.
        has_more: reads the has-more flag from a page body.
        record_id: the records' primary key, to detect a server that ignores ``page``.
        max_pages: a hard bound on one listing.
    """

    def __init__(
        self,
        *,
        records: Callable[[Any], list[dict[str, Any]]],
        has_more: Callable[[Any], bool],
        record_id: Callable[[dict[str, Any]], str],
        per_page: int = 200,
        max_pages: int = 10_000,
    ) -> None:
        self.records = records
        self.has_more = has_more
        self.record_id = record_id
        self.per_page = per_page
        self.max_pages = max_pages

    def pages(self, fetch: Callable[[dict[str, Any]], Any]) -> Iterator[list[dict[str, Any]]]:
        """Yield the records of each page; ``fetch`` gets the paging params to merge in."""
        previous: tuple[str, ...] | None = None
        for page in range(1, self.max_pages + 1):
            body = fetch({"page": page, "per_page": self.per_page})
            rows = self.records(body)
            fingerprint = tuple(self.record_id(r) for r in rows)
            if rows and fingerprint == previous:
                raise PaginationLoopError(f"page {page} repeats page {page - 1}; stopping")
            previous = fingerprint
            if rows:
                yield rows
            if not rows or not self.has_more(body):
                return
        raise PaginationLoopError(f"more than {self.max_pages} pages; stopping")
