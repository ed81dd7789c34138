"""Polars and Arrow in, same out: scoring.score gives the same numbers for every kind, in the kind it was given."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.errors import ResponseValidationError
from tests.support.shipped import shipped_library

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

INSTRUMENTS = ["phq9", "dass21", "audit_c", "pcl5", "audit", "gad7"]
SEXES = ["female", "male", "m", "", None, "robot"]  # "robot": unrecognised_sex where the instrument uses sex


def _columns(instrument: str, rows: int = 400, seed: int = 7) -> dict[str, list[object]]:
    """Answers as Python lists: valid codes, missing cells, out-of-range codes; passthrough id and sex."""
    plan = shipped_library()[instrument].plan
    rng = np.random.default_rng(seed)
    cols: dict[str, list[object]] = {"id": [f"p{k}" for k in range(rows)]}
    for k, item in enumerate(plan.item_ids):
        values: list[object] = [int(v) for v in rng.choice(plan.allowed[k], size=rows)]
        for r in np.flatnonzero(rng.random(rows) < 0.08):
            values[r] = None
        for r in np.flatnonzero(rng.random(rows) < 0.02):
            values[r] = 99  # out of range: a failure in every kind
        cols[item] = values
    cols["sex"] = [SEXES[k % len(SEXES)] for k in range(rows)]
    return cols


def _pandas(cols: dict[str, list[object]]) -> pd.DataFrame:
    return pd.DataFrame({c: (pd.array(v, dtype="Int64") if c not in ("id", "sex") else pd.Series(v, dtype=object))
                         for c, v in cols.items()})


def _polars(cols: dict[str, list[object]]) -> object:
    return pl.DataFrame({c: pl.Series(c, v, dtype=pl.Int64 if c not in ("id", "sex") else pl.String)
                         for c, v in cols.items()})


def _plain(frame: object) -> dict[str, list[object]]:
    """Every column as Python values, missing as None (NaN, NA and null alike), text categories as text."""
    if isinstance(frame, pd.DataFrame):
        out = {}
        for c in frame.columns:
            values = frame[c].astype(object).tolist()
            out[c] = [None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v for v in values]
        return out
    table = frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame
    return {name: [None if isinstance(v, float) and np.isnan(v) else v for v in table[name].to_pylist()]
            for name in table.column_names}


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_polars_and_arrow_results_equal_pandas(instrument: str) -> None:
    d = shipped_library()[instrument]
    cols = _columns(instrument)
    expected = scoring.score(d, _pandas(cols))
    polars_in = _polars(cols)
    for given in (polars_in, polars_in.to_arrow()):
        result = scoring.score(d, given)
        assert type(result.scores) is type(given) and type(result.failures) is type(given)
        assert list(result.scores.columns if isinstance(given, pl.DataFrame) else result.scores.column_names) \
            == list(expected.scores.columns)
        assert _plain(result.scores) == _plain(expected.scores)
        assert _plain(result.failures) == _plain(expected.failures)
        assert len(expected.failures) > 0  # the comparison covers failures, not only empty tables
        assert result.summary() == expected.summary() and result.ok is False


def test_sex_specific_and_gated_rules_survive_the_conversion() -> None:
    """AUDIT-C: the cut-off differs by sex and items 2-3 are gated by item 1; Polars gets the same decisions."""
    d = shipped_library()["audit_c"]
    frame = pl.DataFrame({"audit_c_1": [0, 2, 2, None], "audit_c_2": [3, 1, 1, 1], "audit_c_3": [1, 0, 0, 0],
                          "sex": ["female", "female", "male", "female"]})
    result = scoring.score(d, frame)
    expected = scoring.score(d, frame.to_pandas())
    cutoffs = [c for c in expected.scores.columns if expected.scores[c].dtype.name == "boolean"]
    assert cutoffs
    for c in cutoffs:
        assert result.scores[c].to_list() == [None if v is pd.NA else bool(v) for v in expected.scores[c]]
    assert "not_shown" in result.failures["code"].to_list()  # answers after "Never" are reported, not scored
    assert _plain(result.failures) == _plain(expected.failures)


def test_documented_type_mapping() -> None:
    d = shipped_library()["phq9"]
    frame = pl.DataFrame({f"phq9_{i}": [1, None, 0] for i in range(1, 10)})
    scores = scoring.score(d, frame).scores
    band = scores.schema["total_band"]
    assert isinstance(band, pl.Enum) and list(band.categories) == list(d.plan.scales[0].band_labels)
    assert scores.schema["total"] == pl.Float64 and scores["total"].to_list()[1] is None  # null, not NaN
    assert scores.schema["total_severity"] == pl.Int64 and scores["total_severity"][1] is None
    assert scores.schema["total_n_answered"] == pl.Int64 and scores.schema["critical"] == pl.Boolean
    assert scores.schema["total_reason_code"] == pl.Categorical
    # an Enum compares by severity: 'None–minimal' < 'Mild', although alphabetically it comes after
    below_mild = scores.filter(pl.col("total_band") < "Mild")
    assert below_mild["total"].to_list() == [0.0]
    table = scoring.score(d, frame.to_arrow()).scores
    t_band = table.schema.field("total_band").type
    assert pa.types.is_dictionary(t_band) and t_band.ordered and t_band.value_type == pa.string()
    assert table.column("total_band").chunk(0).dictionary.to_pylist() == list(d.plan.scales[0].band_labels)
    assert table.schema.field("total").type == pa.float64() and table.column("total").null_count == 1
    assert table.schema.metadata is None  # no pandas metadata describing a frame the caller never had
    failures = scoring.score(d, pa.table({"phq9_1": ["x"]})).failures
    assert failures.schema == pa.schema([("row", pa.int64()), ("item", pa.string()), ("value", pa.string()),
                                         ("code", pa.string()), ("message", pa.string())])
    assert failures.column("row").to_pylist()[:1] == [None]  # missing_column problems name no row
    assert failures.num_rows == 9 and "not_a_number" in failures.column("code").to_pylist()


def test_empty_failures_keep_their_types() -> None:
    d = shipped_library()["phq9"]
    result = scoring.score(d, pl.DataFrame({f"phq9_{i}": [1] for i in range(1, 10)}))
    assert result.ok and result.failures.height == 0
    assert result.failures.schema == {"row": pl.Int64, "item": pl.String, "value": pl.String, "code": pl.String,
                                      "message": pl.String}


def test_passthrough_columns_keep_their_native_types() -> None:
    d = shipped_library()["phq9"]
    frame = pl.DataFrame({"visit": [dt.date(2024, 1, 8)], "arm": pl.Series(["a"], dtype=pl.Enum(["a", "b"])),
                          **{f"PHQ9_{i}": [1] for i in range(1, 10)}})  # item names matched ignoring case
    scores = scoring.score(d, frame).scores
    assert scores.schema["visit"] == pl.Date and scores.schema["arm"] == pl.Enum(["a", "b"])
    assert scores["total"].to_list() == [9.0]
    table = scoring.score(d, frame.to_arrow()).scores
    assert table.schema.field("visit").type == pa.date32() and table.column_names[:2] == ["visit", "arm"]


def test_strict_raises_with_failures_of_the_input_kind() -> None:
    d = shipped_library()["phq9"]
    frame = pl.DataFrame({f"phq9_{i}": [1, 7] for i in range(1, 10)})
    with pytest.raises(ResponseValidationError, match=r"row 1, item phq9_1, value '7'") as info:
        scoring.score(d, frame, strict=True)
    assert isinstance(info.value.failures, pl.DataFrame) and info.value.failures.height == 9


def test_kinds_that_are_refused_say_what_to_do() -> None:
    d = shipped_library()["phq9"]
    with pytest.raises(TypeError, match=r"collect\(\)"):
        scoring.score(d, pl.LazyFrame({"phq9_1": [1]}))
    with pytest.raises(TypeError, match=r"Table\.from_batches"):
        scoring.score(d, pa.record_batch({"phq9_1": [1]}))
    dup = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["phq9_1", "phq9_1"])
    with pytest.raises(ValueError, match="more than one column named 'phq9_1'"):
        scoring.score(d, dup)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        scoring.score(d, {"phq9_1": [1]})


def test_pandas_input_is_returned_as_pandas_unchanged() -> None:
    d = shipped_library()["phq9"]
    df = pd.DataFrame({f"phq9_{i}": [1, 2] for i in range(1, 10)}, index=pd.Index([10, 20], name="visit"))
    result = scoring.score(d, df)
    assert isinstance(result.scores, pd.DataFrame) and list(result.scores.index) == [10, 20]
    assert result.scores["total_band"].dtype.ordered


def test_import_scoring_does_not_import_polars() -> None:
    code = "import sys, scoring; scoring.load_library(); sys.exit('polars' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def _typed_table(n: int = 53) -> object:
    """A table of every kind of column a response file or an Arrow caller gives, with nulls in each."""
    rng = np.random.default_rng(3)
    cols: dict[str, object] = {}
    for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64(),
              pa.bool_(), pa.float64(), pa.float32()):
        def value(k: int, t: object = t) -> object:
            if t == pa.bool_():
                return bool(k % 3)
            return float(k % 7) + 0.5 if pa.types.is_floating(t) else int(k % 7)
        cols[str(t)] = pa.array([None if rng.random() < 0.3 else value(k) for k in range(n)], type=t)
        cols[f"{t}_no_nulls"] = pa.array([value(k) for k in range(n)], type=t)
    cols["text"] = pa.array(["a", None, "=1+1"] * (n // 3) + ["b"] * (n % 3))
    cols["when"] = pa.array([dt.datetime(2026, 1, 1) + dt.timedelta(days=k) for k in range(n)])
    cols["day"] = pa.array([dt.date(2026, 1, 1), None] * (n // 2) + [None] * (n % 2))
    cols["dict"] = pa.array(["x", "y", None] * (n // 3) + ["x"] * (n % 3)).dictionary_encode()
    cols["nothing"] = pa.nulls(n)
    return pa.table(cols)


def test_arrow_to_pandas_equals_pyarrows_own_conversion_for_every_type_offset_and_chunking() -> None:
    """The buffer-built columns (integers, booleans, doubles) are exactly what ``Table.to_pandas`` makes with the
    documented mapping — values, nulls, dtypes, column index — also for sliced (offset bitmaps) and multi-chunk
    columns; other types go through pyarrow itself."""
    from scoring.engine.frames import _pyarrow_to_pandas, arrow_to_pandas

    table = _typed_table()
    cases = [table, table.slice(0, 0), table.slice(3, 11), table.slice(9, 1), table.slice(8, 40),
             pa.concat_tables([table.slice(1, 10), table.slice(20, 13)]), table.select([]), pa.table({})]
    for case in cases:
        got, expected = arrow_to_pandas(case), _pyarrow_to_pandas(case)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert [str(t) for t in got.dtypes] == [str(t) for t in expected.dtypes]
        assert got.columns.dtype == expected.columns.dtype
    ints = arrow_to_pandas(table)
    assert str(ints["int8"].dtype) == "Int64" and str(ints["uint64"].dtype) == "UInt64"
    assert str(ints["bool"].dtype) == "boolean" and ints["double"].dtype == np.float64
    assert ints["int8"].isna().sum() == table["int8"].null_count > 0
    ints.loc[0, "double"] = 99.0  # the frame owns its values: Arrow's buffers are read-only
    assert table["double"][0].as_py() != 99.0


def test_pandas_to_arrow_equals_pyarrows_own_conversion() -> None:
    """Score columns built from their numpy buffers are the arrays ``Table.from_pandas`` makes (dictionary
    values as ``string``), nulls included, for whole, sliced and empty frames and for types built by pyarrow."""
    from scoring.engine.frames import pandas_to_arrow

    n = 41
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({
        "total": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 27, n).astype(float)),
        "whole": np.arange(n, dtype=float), "n": np.arange(n), "valid": rng.random(n) < 0.5,
        "severity": pd.array([None if k % 3 == 0 else k for k in range(n)], dtype="Int64"),
        "cut": pd.array([None if k % 4 == 0 else bool(k % 2) for k in range(n)], dtype="boolean"),
        "band": pd.Categorical((["Mild", None, "Severe"] * n)[:n], categories=["Mild", "Severe", "None"],
                               ordered=True),
        "many": pd.Categorical([f"v{k % 300}" for k in range(n)], categories=[f"v{k}" for k in range(300)]),
        "numbers": pd.Categorical([1, 2] * (n // 2) + [1]),
        "text": pd.Series((["x", None] * n)[:n], dtype="str"),
        "when": pd.Series([dt.datetime(2026, 1, 1)] * n),
        "small": np.arange(n, dtype=np.int8),
        "single": np.where(rng.random(n) < 0.3, np.nan, 1.5).astype(np.float32),
    })
    for case in (frame, frame.iloc[5:30], frame.iloc[0:0], frame.iloc[::2]):
        reference = pa.Table.from_pandas(case, preserve_index=False)
        for name in case.columns:
            got = pandas_to_arrow(case[name])
            want = reference.column(name).combine_chunks()
            if pa.types.is_dictionary(want.type) and pa.types.is_large_string(want.type.value_type):
                want = want.cast(pa.dictionary(want.type.index_type, pa.string(), want.type.ordered))
            got.validate(full=True)
            assert got.type == want.type and got.equals(want), name
