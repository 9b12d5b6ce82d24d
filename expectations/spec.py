"""Suites declared as plain data, readable and testable without importing Great Expectations."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

# Keys an ExpectationSpec may not pass through to Great Expectations, and why.
RESERVED_KWARGS: dict[str, str] = {
    "mostly": (
        "quarantine is decided per row, so a tolerance for the column as a whole does not apply; "
        "every row GX lists as unexpected is quarantined"
    ),
    "meta": "the runner uses meta to map GX results back to this spec",
    "description": "set the ExpectationSpec's name (and description) instead",
    "result_format": "the runner sets the result format so that failing ids come back",
    "catch_exceptions": "the runner reports an expectation that errors as a table failure",
    "id": "GX assigns ids to stored expectations; ours are never stored",
}

# The kwargs through which a GX expectation names the columns it reads.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)


class ExpectationSpec(BaseModel):
    """One rule: a GX 1.x expectation class by name, its kwargs, and the reason quarantine shows.

    The class name is checked only when the runner builds the suite, so declaring suites never
    imports Great Expectations (a 3-5 s import).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The GX class name, e.g. "ExpectColumnValuesToBeBetween".
    expectation: str = Field(min_length=1)
    # Its keyword arguments; JSON values only, so a suite can be stored or diffed as data.
    kwargs: dict[str, JsonValue] = Field(default_factory=dict)
    # The short reason a quarantined row carries, e.g. "quantity must be > 0".
    name: str = Field(min_length=1)
    # Why the rule exists, for readers of the suite.
    description: str | None = None

    @field_validator("kwargs")
    @classmethod
    def _no_reserved_kwargs(cls, kwargs: dict[str, JsonValue]) -> dict[str, JsonValue]:
        for key in kwargs:
            if key in RESERVED_KWARGS:
                raise ValueError(f"kwarg {key!r} is not allowed: {RESERVED_KWARGS[key]}")
        return kwargs

    def columns(self) -> tuple[str, ...]:
        """The frame columns this expectation reads, as named in its kwargs."""
        found: list[str] = []
        for key in _COLUMN_KWARGS:
            value = self.kwargs.get(key)
            if isinstance(value, str):
                found.append(value)
        for key in _COLUMN_LIST_KWARGS:
            value = self.kwargs.get(key)
            if isinstance(value, list):
                found.extend(item for item in value if isinstance(item, str))
        return tuple(found)


class SuiteSpec(BaseModel):
    """A named list of expectations over a frame whose rows are identified by `id_column`.

    `columns`, when given, is the exact set of columns the mapping code produces; the suite is
    then checked to read only those, and the runner reports a frame that lacks one of them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    id_column: str = Field(min_length=1)
    columns: tuple[str, ...] = ()
    expectations: tuple[ExpectationSpec, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [spec.name for spec in self.expectations]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            # Names are the quarantine reasons; two rules with one name could not be told apart.
            raise ValueError(f"suite {self.name!r} has duplicate expectation names: {duplicates}")
        if self.columns:
            if self.id_column not in self.columns:
                raise ValueError(
                    f"suite {self.name!r}: id column {self.id_column!r} is not in columns"
                )
            for spec in self.expectations:
                unknown = [column for column in spec.columns() if column not in self.columns]
                if unknown:
                    raise ValueError(
                        f"suite {self.name!r}: expectation {spec.name!r} "
                        f"reads unknown columns {unknown}"
                    )
        return self

    def expectation_names(self) -> list[str]:
        """The names (quarantine reasons) of this suite's expectations, in declaration order."""
        return [spec.name for spec in self.expectations]
