"""scoring.spark.score equals scoring.score row for row: scores and failures, on generated data with missing and
bad cells, whatever the partitioning (one row per partition, empty partitions), for a definition of one's own."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import scoring
import scoring.spark
from scoring.engine import frames
from scoring.errors import ResponseValidationError
from tests.support.shipped import shipped_library

pa = pytest.importorskip("pyarrow")
pytest.importorskip("pyspark")


INSTRUMENTS = ["phq9", "dass21", "pcl5", "audit_c", "who5"]
SEXES = ["female", "male", "m", "", None, "robot"]
TEXT_CELLS = ["", "na", "x", "1.0", "99", " 2 ", "-1", "1e0"]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "definitions" / "good"


def _table(instrument: str, rows: int = 300, seed: int = 11, definition: Any = None) -> Any:
    """Answers with missing and bad cells: even items as text columns (words, decimals, junk), odd items as
    integer columns with nulls and out-of-range codes; an id and a sex column pass through."""
    plan = (definition or shipped_library()[instrument]).plan
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {"id": pa.array(np.arange(rows, dtype=np.int64) * 3 + 5)}
    for k, item in enumerate(plan.item_ids):
        codes = rng.choice(plan.allowed[k], size=rows).astype(np.int64)
        if k % 2 == 0:
            text: list[str | None] = [str(v) for v in codes]
            for r in np.flatnonzero(rng.random(rows) < 0.06):
                text[r] = None
            for r in np.flatnonzero(rng.random(rows) < 0.08):
                text[r] = TEXT_CELLS[int(rng.integers(len(TEXT_CELLS)))]
            cols[item] = pa.array(text, pa.string())
        else:
            values: list[int | None] = codes.tolist()
            for r in np.flatnonzero(rng.random(rows) < 0.06):
                values[r] = None
            for r in np.flatnonzero(rng.random(rows) < 0.03):
                values[r] = 99
            cols[item] = pa.array(values, pa.int64())
    cols["sex"] = pa.array([SEXES[k % len(SEXES)] for k in range(rows)], pa.string())
    return pa.table(cols)


def _expected(definition: Any, table: Any) -> scoring.ScoreResult:
    """The single-machine engine on the same rows: the pandas frame of the Arrow cells, indexed by id."""
    frame = frames.arrow_to_pandas(table)
    frame.index = pd.Index(table.column("id").to_pylist(), dtype=object)
    return scoring.score(definition, frame)


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _score_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(_cell(v) for v in row) for row in frame.astype(object).itertuples(index=False)]


def _failure_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    out = [(_cell(r), item, None if _cell(v) is None else str(v), code, msg)
           for r, item, v, code, msg in frame[["row", "item", "value", "code", "message"]].itertuples(index=False)]
    return sorted(out, key=lambda t: (t[0] is not None, t[0] if t[0] is not None else -1, t[1], t[3]))


def _spark_frame(spark: Any, table: Any, partitions: int) -> Any:
    return _by_slices(spark, table, partitions)


def collect(frame: Any) -> pd.DataFrame:
    """A (small) Spark DataFrame as pandas through collect(): pyspark's toPandas does not support pandas 3."""
    names = list(frame.columns)
    return pd.DataFrame([tuple(r) for r in frame.collect()], columns=names, dtype=object)


def _check_equal(result: Any, expected: scoring.ScoreResult) -> None:
    scores = collect(result.scores).sort_values("id", kind="stable").reset_index(drop=True)
    want = expected.scores.reset_index(drop=True)
    assert list(scores.columns) == list(want.columns)
    assert _score_rows(scores) == _score_rows(want)
    got_failures = _failure_rows(collect(result.failures))
    assert got_failures == _failure_rows(expected.failures)


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_scores_and_failures_equal_the_engine(spark: Any, instrument: str) -> None:
    d = shipped_library()[instrument]
    table = _table(instrument)
    expected = _expected(d, table)
    assert len(expected.failures) > 20  # the comparison covers many bad cells, not an empty table
    result = scoring.spark.score(d, _spark_frame(spark, table, 3), row_id="id")
    _check_equal(result, expected)
    if instrument == "audit_c":  # sex-specific cut-offs and the gate of items 2-3 were exercised
        codes = set(expected.failures["code"])
        assert {"not_shown", "unrecognised_sex"} <= codes
    if instrument == "pcl5":
        flags = [c for c in expected.scores.columns if str(expected.scores[c].dtype) == "boolean"]
        assert flags and any(expected.scores[c].isna().any() and expected.scores[c].notna().any() for c in flags)


def test_spark_types_follow_the_arrow_mapping(spark: Any) -> None:
    from pyspark.sql import types as T

    d = shipped_library()["phq9"]
    result = scoring.spark.score(d, _spark_frame(spark, _table("phq9", rows=20), 2), row_id="id")
    schema = {f.name: f.dataType for f in result.scores.schema.fields}
    assert schema["id"] == T.LongType() and schema["sex"] == T.StringType()  # passthrough as given
    assert schema["total"] == T.DoubleType() and schema["total_band"] == T.StringType()
    assert schema["total_severity"] == T.LongType() and schema["total_n_answered"] == T.LongType()
    assert schema["total_valid"] == T.BooleanType() and schema["critical"] == T.BooleanType()
    assert schema["instrument_hash"] == T.StringType()
    fail = {f.name: f.dataType for f in result.failures.schema.fields}
    assert list(fail) == ["row", "item", "value", "code", "message"] and fail["row"] == T.LongType()
    not_scorable = result.scores.filter("total_valid = false").select("total").collect()
    assert not_scorable and all(r["total"] is None for r in not_scorable)  # null, as in Arrow


def _by_slices(spark: Any, table: Any, slices: int) -> Any:
    """Exactly ``slices`` partitions, rows spread evenly in order (parallelize): one row each, or empty ones."""
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = from_arrow_schema(table.schema)
    rows = [tuple(r.values()) for r in table.to_pylist()]
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, slices), schema)


@pytest.mark.parametrize("slices", [6, 15])
def test_one_row_partitions_and_empty_partitions(spark: Any, slices: int) -> None:
    d = shipped_library()["pcl5"]
    table = _table("pcl5", rows=6, seed=3)
    frame = _by_slices(spark, table, slices)
    sizes = frame.rdd.glom().map(len).collect()
    assert len(sizes) == slices and max(sizes) == 1 and (slices == 6 or sizes.count(0) == slices - 6)
    _check_equal(scoring.spark.score(d, frame, row_id="id"), _expected(d, table))


def test_generated_row_ids_are_positions_in_one_partition(spark: Any) -> None:
    d = shipped_library()["who5"]
    table = _table("who5", rows=40).drop_columns(["id"])
    expected = scoring.score(d, frames.arrow_to_pandas(table))  # RangeIndex: rows are positions
    result = scoring.spark.score(d, _spark_frame(spark, table, 1))
    assert _failure_rows(collect(result.failures)) == _failure_rows(expected.failures)
    assert _score_rows(collect(result.scores)) == _score_rows(expected.scores)


def test_definition_of_ones_own_reaches_the_executors(spark: Any) -> None:
    """A definition from a --definitions folder: broadcast, so the executors need no definition files."""
    definition = scoring.load_library([FIXTURES])["demo_scale"]
    assert definition is not None
    table = _table("demo_scale", rows=80, definition=definition)
    _check_equal(scoring.spark.score(definition, _spark_frame(spark, table, 2), row_id="id"),
                 _expected(definition, table))


def test_strict_raises_naming_the_first_bad_cell(spark: Any) -> None:
    d = shipped_library()["phq9"]
    table = _table("phq9", rows=30)
    with pytest.raises(ResponseValidationError, match=r"bad cell\(s\) in the responses; first: row \d+, item phq9_"):
        scoring.spark.score(d, _spark_frame(spark, table, 2), row_id="id", strict=True)
    clean = pa.table({"id": pa.array([1, 2]), **{f"phq9_{i}": pa.array([1, 0]) for i in range(1, 10)}})
    assert scoring.spark.score(d, _spark_frame(spark, clean, 1), row_id="id", strict=True).scores.count() == 2


def test_bad_arguments_are_refused_clearly(spark: Any) -> None:
    d = shipped_library()["phq9"]
    frame = _spark_frame(spark, _table("phq9", rows=3), 1)
    with pytest.raises(ValueError, match="row_id column 'patient' is not in the input"):
        scoring.spark.score(d, frame, row_id="patient")
    with pytest.raises(ValueError, match="is an item of phq9"):
        scoring.spark.score(d, frame, row_id="phq9_1")
    with pytest.raises(TypeError, match="takes a Definition"):
        scoring.spark.score("phq9", frame)  # type: ignore[arg-type]


def test_import_scoring_does_not_import_pyspark() -> None:
    code = ("import sys, scoring, scoring.spark; import scoring.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_column_problems_once_as_the_engine(spark: Any) -> None:
    """A missing item column and an unknown item-like column: listed once (row null), not once per partition."""
    d = shipped_library()["phq9"]
    table = _table("phq9", rows=12).drop_columns(["phq9_9"])
    table = table.append_column("phq9_11", pa.array([1] * 12))
    expected = _expected(d, table)
    assert {"missing_column", "unknown_item"} <= set(expected.failures["code"])
    _check_equal(scoring.spark.score(d, _spark_frame(spark, table, 4), row_id="id"), expected)
    empty = pa.table({"id": pa.array([], pa.int64()), "phq9_1": pa.array([], pa.int64()),
                      "phq9_11": pa.array([], pa.int64())})
    none = _expected(d, empty)
    _check_equal(scoring.spark.score(d, _spark_frame(spark, empty, 2), row_id="id"), none)
    assert list(none.failures["code"]) == ["unknown_item"]  # the engine: no rows, so no column counts as missing
