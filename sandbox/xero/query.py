"""What a Xero GET narrows by (apis.md 3.2, 3.3): ``where``, ``If-Modified-Since``, order, page.

* ``where``: clauses joined by ``AND``, each ``Field op value`` with ``==, !=, >=, <=, >, <`` and
  values ``"text"``, ``Guid("...")``, ``DateTime(y,m,d[,h,mi,s])``, numbers, ``true``/``false``.
  Xero's full grammar (OR, methods such as ``.Contains()``) is not simulated; a clause the
  simulator cannot read is a ValidationException [U].
* ``If-Modified-Since``: records whose ``UpdatedDateUTC`` is at or after it [U: at-or-after vs
  strictly after; a client that subtracts a second is right either way].
* ``page=N``: up to ``pageSize`` records (default 100 [V]; at most 1000 [U]) and a
  ``pagination {page, pageSize, pageCount, itemCount}`` object [V]. Without ``page`` every
  record comes in one answer [U].
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from starlette.requests import Request

from sandbox.xero.wire import ApiError, parse_modified_since, validation_exception

T = TypeVar("T")
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_CLAUSE = re.compile(r"^\s*([A-Za-z][A-Za-z.]*)\s*(==|!=|>=|<=|>|<)\s*(.+?)\s*$")
_DATETIME = re.compile(r"^DateTime\(\s*(\d+(?:\s*,\s*\d+){2,5})\s*\)$", re.IGNORECASE)
_GUID = re.compile(r'^Guid\(\s*"([^"]*)"\s*\)$', re.IGNORECASE)
_AND = re.compile(r"\s+AND\s+|\s*&&\s*", re.IGNORECASE)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    ">=": lambda a, b: bool(a >= b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    "<": lambda a, b: bool(a < b),
}


def bad_query(message: str) -> ApiError:
    return validation_exception(None, message)


@dataclass(frozen=True)
class Fields(Generic[T]):
    """The fields of one collection a ``where`` or an ``order`` may name, with their readers."""

    readers: Mapping[str, Callable[[T], Any]]
    updated: Callable[[T], datetime]
    record_id: Callable[[T], str]
    default_order: str = "UpdatedDateUTC"


def _as_comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def _literal(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    guid = _GUID.match(text)
    if guid:
        return guid.group(1)
    stamp = _DATETIME.match(text)
    if stamp:
        year, month, day, hour, minute, second = ([int(p) for p in stamp.group(1).split(",")] + [0, 0, 0])[:6]
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except (TypeError, ValueError) as exc:
            raise bad_query(f"'{text}' is not a valid DateTime") from exc
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise bad_query(f"The simulator cannot read the value '{text}' in the where clause") from exc


def where_filter(text: str | None, fields: Fields[T]) -> Callable[[T], bool]:
    """A predicate for ``where``; an empty or missing one keeps everything."""
    if not text or not text.strip():
        return lambda record: True
    tests: list[Callable[[T], bool]] = []
    for clause in _AND.split(text.strip()):
        match = _CLAUSE.match(clause)
        if match is None or match.group(1) not in fields.readers:
            raise bad_query(f"The simulator cannot evaluate the where clause '{clause}'")
        reader, op, value = fields.readers[match.group(1)], _OPS[match.group(2)], _literal(match.group(3))

        def test(record: T, reader: Callable[[T], Any] = reader, op: Callable[[Any, Any], bool] = op,
                 value: Any = value) -> bool:
            left = _as_comparable(reader(record))
            right = _as_comparable(value)
            if isinstance(left, Decimal | int) and not isinstance(left, bool):
                right = Decimal(str(right)) if isinstance(right, Decimal | int | str) else right
            try:
                return op(left, right)
            except TypeError:
                return False

        tests.append(test)
    return lambda record: all(t(record) for t in tests)


def modified_since(request: Request) -> datetime | None:
    header = request.headers.get("if-modified-since")
    if not header:
        return None
    try:
        return parse_modified_since(header)
    except (TypeError, ValueError) as exc:
        raise bad_query(f"If-Modified-Since '{header}' is not a date") from exc


def _order_key(order: str, fields: Fields[T]) -> tuple[Callable[[T], Any], bool]:
    parts = order.strip().split()
    if not parts or parts[0] not in fields.readers or len(parts) > 2:
        raise bad_query(f"The simulator cannot order by '{order}'")
    descending = len(parts) == 2 and parts[1].upper() == "DESC"
    if len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC"):
        raise bad_query(f"The simulator cannot order by '{order}'")
    reader = fields.readers[parts[0]]
    return (lambda record: _as_comparable(reader(record))), descending


def _int_param(request: Request, name: str) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError as exc:
        raise bad_query(f"{name} must be a whole number") from exc
    if value < 1:
        raise bad_query(f"{name} must be 1 or more")
    return value


def select(
    request: Request,
    records: Sequence[T],
    fields: Fields[T],
    *,
    extra: Callable[[T], bool] | None = None,
) -> tuple[list[T], dict[str, int] | None]:
    """Filter, order and cut one page; the pagination object when ``page`` was asked for."""
    params = request.query_params
    keep = where_filter(params.get("where"), fields)
    since = modified_since(request)
    rows = [
        r
        for r in records
        if keep(r) and (since is None or fields.updated(r) >= since) and (extra is None or extra(r))
    ]
    key, descending = _order_key(params.get("order") or fields.default_order, fields)
    rows.sort(key=lambda r: (key(r), fields.record_id(r)), reverse=descending)
    page = _int_param(request, "page")
    if page is None:
        return rows, None
    size = min(_int_param(request, "pageSize") or PAGE_SIZE, MAX_PAGE_SIZE)
    pagination = {
        "page": page,
        "pageSize": size,
        "pageCount": math.ceil(len(rows) / size),
        "itemCount": len(rows),
    }
    return rows[(page - 1) * size : page * size], pagination


def id_list(request: Request, name: str) -> list[str]:
    """``IDs=a,b`` / ``InvoiceNumbers=INV-1,INV-2`` style parameters."""
    return [part.strip() for part in request.query_params.get(name, "").split(",") if part.strip()]
