"""Validates a batch frame with Great Expectations and names each failing row by its id."""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeGuard, TypeVar

import pandas as pd

from expectations.spec import ExpectationSpec, SuiteSpec

R = TypeVar("R")

# Where each built GX expectation carries the position of its spec, to map results back.
_META_KEY = "dealer_sync_expectation_index"


class SuiteBuildError(ValueError):
    """A SuiteSpec cannot be turned into a GX suite: unknown class, or kwargs the class rejects."""


@dataclass(frozen=True)
class ValidationReport:
    """What one validation found, per row id and for the batch as a whole.

    `failures` maps each failing row id to the names of the expectations it failed, in the
    suite's declaration order. `table_failures` holds what cannot be pinned on a row (a
    table-level expectation, an expectation that errored, rows without an id): the caller fails
    the whole batch on any of them. `passed_ids` are the ids that failed nothing. An id shared by
    several rows fails if any of them failed (every suite checks its id column is unique).
    """

    suite: str
    id_column: str
    evaluated: int
    failures: dict[str, list[str]] = field(default_factory=dict)
    table_failures: list[str] = field(default_factory=list)
    passed_ids: list[str] = field(default_factory=list)

    @property
    def batch_failed(self) -> bool:
        """True when something failed that no row can carry; the batch must not be loaded."""
        return bool(self.table_failures)

    @property
    def ok(self) -> bool:
        """True when every row passed and nothing failed at table level."""
        return not self.failures and not self.table_failures

    def split(
        self, records: Iterable[R], key: Callable[[R], str] | None = None
    ) -> tuple[list[R], list[tuple[R, list[str]]]]:
        """Split the batch's records into those that passed and those to quarantine with reasons.

        Args:
            records: the records the validated frame was built from, in any order.
            key: returns a record's id as it appears in the frame's id column. By default the
                id column is read from a mapping or as an attribute.

        Raises:
            ValueError: a record's id was not in the validated frame; quarantining or loading it
                on a guess would break the run's conservation of records.
        """
        key_of = key if key is not None else self._key_from_id_column
        passed_ids = set(self.passed_ids)
        passed: list[R] = []
        failed: list[tuple[R, list[str]]] = []
        for record in records:
            record_id = key_of(record)
            if record_id in self.failures:
                failed.append((record, list(self.failures[record_id])))
            elif record_id in passed_ids:
                passed.append(record)
            else:
                raise ValueError(
                    f"record {record_id!r} was not in the frame validated by suite {self.suite!r}"
                )
        return passed, failed

    def _key_from_id_column(self, record: object) -> str:
        if isinstance(record, Mapping):
            return str(record[self.id_column])
        return str(getattr(record, self.id_column))


def validate_frame(df: pd.DataFrame, suite: SuiteSpec) -> ValidationReport:
    """Validate one batch and report which rows failed which expectations.

    The frame needs the suite's id column; ids are compared as strings. Decimal values (our
    money and quantities) are converted to float first: GX's range and set checks compare
    numbers, `Decimal("0.1") == 0.1` is False, and float precision is ample for these checks.

    Null handling follows GX: a null is not a failure of a value check (between, in set, regex,
    unique); only a not-null expectation on that column catches it, which is why every suite in
    `expectations.suites` pairs its value checks with not-null checks. A column-pair check fails
    a row where one side is null unless its `ignore_row_if` says otherwise; our suites set
    "either_value_is_missing" so a null is reported once, by its column's not-null check.

    An empty frame yields an empty report without touching GX.

    Raises:
        KeyError: the frame lacks the suite's id column (a mapping bug, not bad data).
        SuiteBuildError: the suite names an unknown GX class or passes it bad kwargs.
    """
    if len(df) == 0:
        return ValidationReport(suite=suite.name, id_column=suite.id_column, evaluated=0)
    if suite.id_column not in df.columns:
        raise KeyError(f"frame for suite {suite.name!r} has no id column {suite.id_column!r}")

    frame = _prepare_frame(df)
    row_ids = [_id_text(value) for value in frame[suite.id_column].tolist()]
    table_failures: list[str] = []
    missing_ids = sum(row_id is None for row_id in row_ids)
    if missing_ids:
        table_failures.append(f"{suite.id_column} is missing on {missing_ids} row(s)")
    absent = [column for column in suite.columns if column not in frame.columns]
    if absent:
        table_failures.append(f"frame lacks column(s) {absent}")

    with _POOL.lane() as lane:
        gx_suite = lane.suite_for(suite)
        batch = lane.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(gx_suite, result_format=_result_format(suite.id_column))

    failed_indexes: dict[str, set[int]] = {}
    for expectation_result in result.results:
        index = expectation_result.expectation_config.meta[_META_KEY]
        spec = suite.expectations[index]
        outcome = _read_outcome(expectation_result, spec, suite.id_column)
        table_failures.extend(outcome.table_failures)
        for failed_id in outcome.row_ids:
            failed_indexes.setdefault(failed_id, set()).add(index)

    failures: dict[str, list[str]] = {}
    passed_ids: list[str] = []
    for row_id in dict.fromkeys(row_ids):
        if row_id is None:
            continue
        if row_id in failed_indexes:
            failures[row_id] = [suite.expectations[i].name for i in sorted(failed_indexes[row_id])]
        else:
            passed_ids.append(row_id)
    return ValidationReport(
        suite=suite.name,
        id_column=suite.id_column,
        evaluated=len(frame),
        failures=failures,
        table_failures=table_failures,
        passed_ids=passed_ids,
    )


def warm_up(*suites: SuiteSpec) -> None:
    """Import GX, build the context and these suites now rather than in the first batch.

    A worker calls this at start so the 3-5 s import does not land inside a timed task, and so
    a suite naming an unknown class fails at start-up rather than on the first non-empty batch.
    """
    with _POOL.lane() as lane:
        for suite in suites:
            lane.suite_for(suite)


# --- Reading GX results ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    row_ids: list[str]
    table_failures: list[str]


def _result_format(id_column: str) -> dict[str, Any]:
    # A new dict per call: GX fills defaults into the dict it is given.
    return {
        "result_format": "COMPLETE",  # the full unexpected_index_list, not the first 20
        "unexpected_index_column_names": [id_column],
        "return_unexpected_index_query": False,  # a pandas filter string we do not need
    }


def _read_outcome(expectation_result: Any, spec: ExpectationSpec, id_column: str) -> _Outcome:
    """Turn one GX expectation result into failing row ids or table-level failures."""
    errors = _exception_messages(expectation_result.exception_info)
    if errors:
        return _Outcome(
            row_ids=[], table_failures=[f"{spec.name}: could not be evaluated: {errors[0]}"]
        )
    listed = _unexpected_ids(expectation_result.result, id_column)
    if listed:
        # Rows with a null id are already a table failure; they cannot be quarantined by id.
        return _Outcome(
            row_ids=[i for i in (_id_text(v) for v in listed) if i is not None], table_failures=[]
        )
    if not expectation_result.success:
        # A table-level expectation (row count, column mean...) or a failure GX gave no rows for.
        return _Outcome(row_ids=[], table_failures=[spec.name])
    return _Outcome(row_ids=[], table_failures=[])


def _unexpected_ids(result: Mapping[str, Any], id_column: str) -> list[Any]:
    """The id values of the rows GX listed as unexpected.

    GX 1.x gives one dict per failing row ({id_column: id, <checked columns>: values}), or, when
    `exclude_unexpected_values` is set, a single dict of lists ({id_column: [ids]}); both are read.
    """
    ids: list[Any] = []
    for entry in result.get("unexpected_index_list") or []:
        if not isinstance(entry, Mapping) or id_column not in entry:
            raise RuntimeError(
                f"GX returned an unexpected_index_list entry without {id_column!r}: {entry!r}"
            )
        value = entry[id_column]
        if isinstance(value, list):
            ids.extend(value)
        else:
            ids.append(value)
    return ids


def _exception_messages(exception_info: Any) -> list[str]:
    """Messages of the errors GX caught while evaluating an expectation.

    GX reports either one {"raised_exception", "exception_message"} dict, or such dicts keyed by
    the id of each metric that failed to compute (a missing column is reported this way).
    """
    if not isinstance(exception_info, Mapping) or not exception_info:
        return []
    infos = (
        [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    )
    return [
        str(info.get("exception_message") or "unknown error")
        for info in infos
        if isinstance(info, Mapping) and info.get("raised_exception")
    ]


# --- Preparing the frame ---------------------------------------------------------------------


def _prepare_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy GX can read: a plain 0..n-1 index, and Decimals as floats.

    GX reads a named index as the row id instead of the columns we ask for, and an index with
    duplicates would misalign its row masks; so the index is always reset.
    """
    frame = df.reset_index(drop=True)
    for column in frame.columns:
        if frame[column].dtype == object:
            converted = _decimals_to_float(frame[column])
            if converted is not None:
                frame[column] = converted
    return frame


def _decimals_to_float(series: pd.Series) -> pd.Series | None:
    """The series with Decimals as floats, or None when it holds no Decimal.

    An all-numeric column becomes float64 (nulls as NaN) so GX takes its vectorized numeric
    path. A column mixing numbers with other things keeps object dtype; GX then cannot compare
    it at all and the expectation errors, which fails the batch (a mapping bug, not a bad row).
    """
    values = series.tolist()
    if not any(isinstance(value, Decimal) for value in values):
        return None
    if all(_is_null(value) or _is_number(value) for value in values):
        floats = [math.nan if _is_null(value) else float(value) for value in values]
        return pd.Series(floats, index=series.index, dtype="float64", name=series.name)
    mixed = [float(value) if isinstance(value, Decimal) else value for value in values]
    return pd.Series(mixed, index=series.index, dtype=object, name=series.name)


def _is_number(value: object) -> bool:
    return isinstance(value, Decimal | numbers.Real) and not isinstance(value, bool)


def _is_null(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _id_text(value: object) -> str | None:
    """A row id as the string callers key records by; None for a null id."""
    if _is_null(value):
        return None
    return str(value)


# --- The GX objects, built once per process --------------------------------------------------


class _Lane:
    """One pandas datasource, dataframe asset and whole-frame batch definition, used by one
    validation at a time.

    GX gives every batch of a dataframe asset the same batch id and keeps the loaded frame in
    its datasource's execution engine under that id, so two threads validating through one
    datasource read each other's frames. A lane is therefore held exclusively for a validation;
    the pool makes as many lanes as validations have ever run at once and reuses them.
    """

    def __init__(self, context: Any, number: int) -> None:
        datasource = context.data_sources.add_pandas(name=f"dealer_sync_lane_{number}")
        asset = datasource.add_dataframe_asset(name="batch")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("whole_batch")
        self._suites: dict[str, Any] = {}

    def suite_for(self, suite: SuiteSpec) -> Any:
        """The GX suite for this spec, built on first use in this lane."""
        # Keyed by content, not identity: a SuiteSpec rebuilt per call must not grow the cache,
        # and a changed spec must not reuse a stale suite.
        cache_key = suite.model_dump_json()
        gx_suite = self._suites.get(cache_key)
        if gx_suite is None:
            gx_suite = _build_suite(suite)
            self._suites[cache_key] = gx_suite
        return gx_suite


class _LanePool:
    """The process's one ephemeral GX context and the lanes validations borrow from it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._context: Any = None
        self._idle: list[_Lane] = []
        self._created = 0

    @contextmanager
    def lane(self) -> Iterator[_Lane]:
        lane = self._take()
        try:
            yield lane
        finally:
            # Each validation reloads the lane's batch, so a lane is reusable even after an error.
            with self._lock:
                self._idle.append(lane)

    def reset_lock_after_fork(self) -> None:
        """A forked child (a process worker) gets the lock in whatever state a parent thread
        left it; the context and idle lanes are plain in-memory objects and stay usable."""
        self._lock = threading.Lock()

    def _take(self) -> _Lane:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self._context is None:
                self._context = _new_context()
            self._created += 1
            return _Lane(self._context, self._created)


def _new_context() -> Any:
    """An in-memory GX context with progress bars off (they would write to stderr per batch)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _build_suite(suite: SuiteSpec) -> Any:
    import great_expectations as gx

    expectations = [
        _build_expectation(suite, index, spec) for index, spec in enumerate(suite.expectations)
    ]
    return gx.ExpectationSuite(name=suite.name, expectations=expectations)


def _build_expectation(suite: SuiteSpec, index: int, spec: ExpectationSpec) -> Any:
    import great_expectations.expectations as gxe

    expectation_class = getattr(gxe, spec.expectation, None)
    if not _is_expectation_class(expectation_class, gxe):
        raise SuiteBuildError(
            f"suite {suite.name!r}, expectation {spec.name!r}: {spec.expectation!r} is not a Great "
            f"Expectations expectation class{_did_you_mean(spec.expectation, _known_classes(gxe))}"
        )
    try:
        return expectation_class(**spec.kwargs, meta={_META_KEY: index})
    except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise SuiteBuildError(
            f"suite {suite.name!r}, expectation {spec.name!r}: {spec.expectation} rejects its "
            f"kwargs {spec.kwargs}: {exc}"
        ) from exc


def _known_classes(module: Any) -> list[str]:
    return [
        name
        for name in dir(module)
        if name.startswith("Expect") and _is_expectation_class(getattr(module, name), module)
    ]


def _is_expectation_class(candidate: object, module: Any) -> TypeGuard[type[Any]]:
    return (
        inspect.isclass(candidate)
        and issubclass(candidate, module.Expectation)
        and not inspect.isabstract(candidate)
    )


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_POOL = _LanePool()
os.register_at_fork(after_in_child=_POOL.reset_lock_after_fork)
