"""Suite declarations are checked as data, before Great Expectations is involved."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from expectations.spec import ExpectationSpec, SuiteSpec


def spec(name: str = "x must not be null", column: str = "x") -> ExpectationSpec:
    return ExpectationSpec(
        expectation="ExpectColumnValuesToNotBeNull", kwargs={"column": column}, name=name
    )


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        ExpectationSpec.model_validate(
            {"expectation": "ExpectColumnValuesToNotBeNull", "name": "n", "kwarg": {}}
        )
    with pytest.raises(ValidationError, match="extra"):
        SuiteSpec.model_validate(
            {"name": "s", "id_column": "id", "expectations": [], "id_columns": ["id"]}
        )


def test_mostly_is_rejected_because_quarantine_is_per_row() -> None:
    with pytest.raises(
        ValidationError, match="'mostly' is not allowed: quarantine is decided per row"
    ):
        ExpectationSpec(
            expectation="ExpectColumnValuesToNotBeNull",
            kwargs={"column": "x", "mostly": 0.9},
            name="x mostly present",
        )


def test_kwargs_must_be_json_values() -> None:
    with pytest.raises(ValidationError):
        ExpectationSpec(
            expectation="ExpectColumnValuesToBeBetween",
            kwargs={"column": "x", "min_value": object()},
            name="x >= ?",
        )


def test_duplicate_names_are_rejected() -> None:
    with pytest.raises(ValidationError, match="duplicate expectation names"):
        SuiteSpec(name="s", id_column="x", expectations=[spec(), spec(column="y")])


def test_declared_columns_bound_what_the_suite_reads() -> None:
    SuiteSpec(name="s", id_column="x", columns=("x", "y"), expectations=[spec(), spec("y", "y")])
    with pytest.raises(ValidationError, match=r"'z' reads unknown columns \['z'\]"):
        SuiteSpec(name="s", id_column="x", columns=("x",), expectations=[spec("z", "z")])
    with pytest.raises(ValidationError, match="id column 'id' is not in columns"):
        SuiteSpec(name="s", id_column="id", columns=("x",), expectations=[spec()])


def test_columns_read_from_kwargs() -> None:
    pair = ExpectationSpec(
        expectation="ExpectColumnPairValuesToBeEqual",
        kwargs={"column_A": "a", "column_B": "b"},
        name="a must equal b",
    )
    assert pair.columns() == ("a", "b")
    assert ExpectationSpec(expectation="ExpectTableRowCountToBeBetween", name="n").columns() == ()


def test_an_unknown_class_name_is_accepted_until_the_runner_builds_it() -> None:
    # Declaring suites must not import GX; the runner's test shows the error it raises.
    ExpectationSpec(expectation="ExpectNothingInParticular", name="n")
