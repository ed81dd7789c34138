"""scoring.spark.analyze equals scoring.reliability.analyze to 1e-9: the per-partition sufficient statistics,
added on the driver, give the single-machine report (scales, items, warnings, failures)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest

import scoring
import scoring.spark
from scoring.engine import frames
from scoring.reliability import analyze
from scoring.spark._analyze import partition_statistics, report_from_statistics
from tests.spark.test_spark_score import FIXTURES, _spark_frame, _table
from tests.support.shipped import shipped_library

pa = pytest.importorskip("pyarrow")


def _frame(table: Any) -> pd.DataFrame:
    frame = frames.arrow_to_pandas(table)
    frame.index = pd.Index(table.column("id").to_pylist(), dtype=object)
    return frame


def _assert_same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns) and len(got) == len(want)
    for c in want.columns:
        a, b = got[c], want[c]
        assert a.dtype == b.dtype, c
        if pd.api.types.is_float_dtype(b):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            assert np.array_equal(np.isnan(x), np.isnan(y)), c
            ok = ~np.isnan(y)
            assert np.allclose(x[ok], y[ok], rtol=0, atol=1e-9), (c, np.abs(x[ok] - y[ok]).max())
        else:
            assert [None if v is None or v is pd.NA else v for v in a.tolist()] == \
                   [None if v is None or v is pd.NA else v for v in b.tolist()], c


def _assert_same_report(got: Any, want: Any) -> None:
    _assert_same_table(got.scales, want.scales)
    _assert_same_table(got.items, want.items)
    _assert_same_table(got.warnings.reset_index(drop=True), want.warnings.reset_index(drop=True))
    assert got.n_rows == want.n_rows and got.instrument == want.instrument and got.settings == want.settings
    key = ["row", "item", "code"]
    g = got.failures.astype(object).sort_values(key, key=lambda s: s.map(str)).reset_index(drop=True)
    w = want.failures.astype(object).sort_values(key, key=lambda s: s.map(str)).reset_index(drop=True)
    assert g.map(str).values.tolist() == w.map(str).values.tolist()


def _definition(instrument: str) -> Any:
    if instrument == "demo_scale":  # a reverse-keyed item, from a folder of one's own
        return scoring.load_library([FIXTURES])["demo_scale"]
    return shipped_library()[instrument]


@pytest.mark.parametrize("instrument", ["phq9", "dass21", "who5", "pcl5", "demo_scale"])
def test_statistics_of_parts_add_up_to_the_whole(instrument: str) -> None:
    """Without Spark: any split of the rows gives the single-machine report (what the driver relies on)."""
    d = _definition(instrument)
    frame = _frame(_table(instrument, rows=500, seed=5, definition=d))
    want = analyze(d, frame)
    methods = ("pairwise", "listwise")
    cuts = [0, 1, 2, 2, 170, 171, 499, 500]  # parts of one row, an empty part, uneven parts
    parts = [partition_statistics(d, frame.iloc[a:b], methods) for a, b in itertools.pairwise(cuts)]
    stats = np.sum([p[0] for p in parts], axis=0)
    got = report_from_statistics(d, stats, want.failures, methods)
    _assert_same_report(got, want)


@pytest.mark.parametrize("instrument", ["dass21", "demo_scale"])
def test_spark_analyze_equals_the_single_machine_report(spark: Any, instrument: str) -> None:
    d = _definition(instrument)
    table = _table(instrument, rows=400, seed=9, definition=d)
    want = analyze(d, _frame(table))
    assert len(want.failures) > 20
    got = scoring.spark.analyze(d, _spark_frame(spark, table, 5), row_id="id")
    _assert_same_report(got, want)


def test_spark_analyze_one_method_and_a_level(spark: Any) -> None:
    d = shipped_library()["phq9"]
    table = _table("phq9", rows=60, seed=2)
    want = analyze(d, _frame(table), missing=("listwise",), ci_level=0.9)
    got = scoring.spark.analyze(d, _spark_frame(spark, table, 3), row_id="id", missing=("listwise",), ci_level=0.9)
    _assert_same_report(got, want)
    with pytest.raises(ValueError, match="missing must be 'pairwise' or 'listwise'"):
        scoring.spark.analyze(d, _spark_frame(spark, table, 1), missing=("both",))
