"""QBO's query language, as much of it as the connector uses (apis.md 2.3).

``SELECT * | COUNT(*) FROM <Entity> [WHERE <cond> [AND <cond>]...] [ORDERBY <field> [ASC|DESC]]
[STARTPOSITION n] [MAXRESULTS m]``, keywords in any case. A condition is ``field op literal`` with
op one of ``= < > <= >=``, ``field IN ('a', 'b')`` or ``field LIKE 'abc%'``; string literals in
single quotes (a quote inside escaped as ``\\'`` [S]). No OR, no joins, no projections, as in QBO.
Field paths are matched case-insensitively per segment (``Metadata.LastUpdatedTime`` as in
Intuit's own sample). STARTPOSITION is 1-based; MAXRESULTS defaults to 100 and is capped at
1000 [U: the real service may refuse more instead]. Without ORDERBY records come in Id order [U].
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.quickbooks.wire import parse_qbo_time, query_fault

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS = 1000

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<number>-?\d+(?:\.\d+)?)(?![\w.])|(?P<op><=|>=|!=|=|<|>)"
    r"|(?P<punct>[(),*])|(?P<word>[A-Za-z_][\w.]*))"
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str

    def keyword(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    op: str  # = < > <= >= IN LIKE
    values: tuple[object, ...]


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool = False
    conditions: tuple[Condition, ...] = ()
    order_by: tuple[str, ...] | None = None
    descending: bool = False
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise query_fault(f'Encountered "{text[position : position + 20]}" at column {position + 1}')
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind)))
        position = match.end()
    return tokens


def _literal(token: Token) -> object:
    if token.kind == "string":
        return re.sub(r"\\(.)", r"\1", token.text[1:-1])
    if token.kind == "number":
        return Decimal(token.text)
    if token.keyword() in ("TRUE", "FALSE"):
        return token.keyword() == "TRUE"
    raise query_fault(f'Encountered "{token.text}": expected a literal')


class _Reader:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise query_fault('Encountered "<EOF>"')
        self.index += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.take()
        if token.text.upper() != text:
            raise query_fault(f'Encountered "{token.text}": expected {text}')
        return token

    def at(self, *keywords: str) -> bool:
        token = self.peek()
        return token is not None and token.text.upper() in keywords

    def whole_number(self, name: str) -> int:
        token = self.take()
        if token.kind != "number" or "." in token.text or int(token.text) < 1:
            raise query_fault(f'{name} needs a positive whole number, got "{token.text}"')
        return int(token.text)


def parse_query(text: str) -> Query:
    """Parse one statement; anything outside the subset above is a 4000 Fault [U: code]."""
    reader = _Reader(tokenize(text))
    reader.expect("SELECT")
    count = False
    if reader.at("COUNT"):
        reader.take()
        reader.expect("(")
        reader.expect("*")
        reader.expect(")")
        count = True
    else:
        reader.expect("*")
    reader.expect("FROM")
    entity_token = reader.take()
    if entity_token.kind != "word":
        raise query_fault(f'Encountered "{entity_token.text}": expected an entity')
    conditions: list[Condition] = []
    if reader.at("WHERE"):
        reader.take()
        conditions.append(_condition(reader))
        while reader.at("AND"):
            reader.take()
            conditions.append(_condition(reader))
        if reader.at("OR"):
            raise query_fault("OR is not supported")
    order_by: tuple[str, ...] | None = None
    descending = False
    if reader.at("ORDERBY", "ORDER"):
        if reader.take().text.upper() == "ORDER":
            reader.expect("BY")
        order_by = tuple(reader.take().text.split("."))
        if reader.at("ASC", "DESC"):
            descending = reader.take().text.upper() == "DESC"
    start, maximum = 1, DEFAULT_MAX_RESULTS
    while reader.at("STARTPOSITION", "MAXRESULTS"):
        keyword = reader.take().text.upper()
        if keyword == "STARTPOSITION":
            start = reader.whole_number(keyword)
        else:
            maximum = min(reader.whole_number(keyword), MAX_RESULTS)
    trailing = reader.peek()
    if trailing is not None:
        raise query_fault(f'Encountered "{trailing.text}" after the end of the statement')
    return Query(
        entity=entity_token.text,
        count=count,
        conditions=tuple(conditions),
        order_by=order_by,
        descending=descending,
        start_position=start,
        max_results=maximum,
    )


def _condition(reader: _Reader) -> Condition:
    field_token = reader.take()
    if field_token.kind != "word":
        raise query_fault(f'Encountered "{field_token.text}": expected a field')
    path = tuple(field_token.text.split("."))
    operator = reader.take()
    if operator.kind == "op" and operator.text != "!=":
        return Condition(path, operator.text, (_literal(reader.take()),))
    keyword = operator.text.upper()
    if keyword == "LIKE":
        return Condition(path, "LIKE", (_literal(reader.take()),))
    if keyword == "IN":
        reader.expect("(")
        values = [_literal(reader.take())]
        while reader.at(","):
            reader.take()
            values.append(_literal(reader.take()))
        reader.expect(")")
        return Condition(path, "IN", tuple(values))
    raise query_fault(f'Encountered "{operator.text}": expected an operator')


# -- evaluation --------------------------------------------------------------------------------


def lookup(record: Mapping[str, Any], path: Sequence[str]) -> object:
    """The value at a dotted path, segments matched case-insensitively; a Ref reads as its value."""
    value: object = record
    for segment in path:
        if not isinstance(value, Mapping):
            return None
        key = next((k for k in value if k.lower() == segment.lower()), None)
        if key is None:
            return None
        value = value[key]
    if isinstance(value, Mapping) and "value" in value:
        value = value["value"]
    return value


def _comparable(path: Sequence[str], stored: object, literal: object, tz: ZoneInfo) -> tuple[Any, Any]:
    """Both sides in one type, chosen by the field: times, dates, amounts, numeric ids, text."""
    name = path[-1].lower()
    try:
        if name.endswith("time"):
            return parse_qbo_time(str(stored), tz), parse_qbo_time(str(literal), tz)
        if name.endswith("date"):
            return date.fromisoformat(str(stored)), date.fromisoformat(str(literal))
        if isinstance(stored, int | Decimal) and not isinstance(stored, bool):
            return Decimal(stored), Decimal(str(literal))
        if isinstance(stored, bool) or isinstance(literal, bool):
            return str(stored).lower(), str(literal).lower()
        text, other = str(stored), str(literal)
        if text.isdigit() and other.isdigit():
            return int(text), int(other)
        return text, other
    except (ValueError, InvalidOperation) as exc:
        raise query_fault(f"{'.'.join(path)}: cannot compare with {literal!r}") from exc


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def matches(record: Mapping[str, Any], condition: Condition, tz: ZoneInfo) -> bool:
    stored = lookup(record, condition.path)
    if stored is None:
        return False
    if condition.op == "LIKE":
        pattern = "^" + ".*".join(re.escape(part) for part in str(condition.values[0]).split("%")) + "$"
        return re.match(pattern, str(stored), flags=re.IGNORECASE | re.DOTALL) is not None
    if condition.op == "IN":
        return any(_equal(condition.path, stored, value, tz) for value in condition.values)
    left, right = _comparable(condition.path, stored, condition.values[0], tz)
    return _COMPARE[condition.op](left, right)


def _equal(path: Sequence[str], stored: object, literal: object, tz: ZoneInfo) -> bool:
    left, right = _comparable(path, stored, literal, tz)
    return bool(left == right)


def _id_key(record: Mapping[str, Any]) -> tuple[int, str]:
    text = str(record.get("Id", ""))
    return (int(text), "") if text.isdigit() else (1 << 62, text)


def run(query: Query, records: Sequence[Mapping[str, Any]], tz: ZoneInfo) -> tuple[list[Any], int]:
    """(the page of records, how many matched in all), ordered, ties broken by Id."""
    for condition in query.conditions:  # a bad date is refused even when nothing is compared
        for value in condition.values:
            _comparable(condition.path, value, value, tz)
    selected = [r for r in records if all(matches(r, c, tz) for c in query.conditions)]
    selected.sort(key=_id_key)
    order = query.order_by
    if order is not None and order[-1].lower() != "id":
        present = [r for r in selected if lookup(r, order) is not None]
        absent = [r for r in selected if lookup(r, order) is None]
        present.sort(key=lambda r: _sort_value(order, lookup(r, order), tz), reverse=query.descending)
        selected = present + absent
    elif query.descending:
        selected.reverse()
    start = query.start_position - 1
    return selected[start : start + query.max_results], len(selected)


def _sort_value(path: Sequence[str], value: object, tz: ZoneInfo) -> Any:
    return _comparable(path, value, value, tz)[0]
