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
