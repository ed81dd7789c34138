"""Bad response data: every bad cell is listed with a code and message, counts as missing, is never scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.engine.files import read_table
from scoring.engine.responses import FAILURE_CODES
from tests.support.shipped import shipped_library

LIB = shipped_library()
PHQ9 = LIB["phq9"]
FIXTURE = Path(__file__).parents[1] / "fixtures" / "responses" / "phq9_bad.csv"
ITEMS = [f"phq9_{i}" for i in range(1, 10)]


def frame(**columns: list) -> pd.DataFrame:
    n = len(next(iter(columns.values()))) if columns else 1
    base = {item: [1] * n for item in ITEMS}
    base.update(columns)
    return pd.DataFrame(base)


def test_csv_fixture_failures() -> None:
    data = read_table(FIXTURE)
    result = scoring.score(PHQ9, data)
    f = result.failures
    by_row = {(r.row, r.item): r.code for r in f.itertuples()}
    assert by_row[(1, "phq9_1")] == "bad_number_format"  # 1e0
    assert by_row[(2, "phq9_1")] == "bad_number_format"  # 1.0
    assert by_row[(3, "phq9_1")] == "out_of_range"  # 4
    assert by_row[(4, "phq9_1")] == "out_of_range"  # -1
    assert by_row[(5, "phq9_1")] == "not_a_number"  # two
    assert by_row[(6, "phq9_1")] == "not_a_number"  # 'true' in a CSV is text
    assert by_row[(7, "phq9_1")] == "bad_number_format"  # 0x1
    assert by_row[(11, "phq9_1")] == "bad_number_format"  # inf
    assert by_row[(None, "phq9_11")] == "unknown_item"
    assert (8, "phq9_1") not in by_row  # ' 2 ' is a plain number with spaces
    assert (10, "phq9_1") not in by_row  # NA means unanswered
    assert set(f.columns) == {"row", "item", "value", "code", "message"}
    assert set(f["code"]) <= set(FAILURE_CODES)
    # bad cells count as missing: one missing item → prorated, never scored from the bad value
    scores = result.scores
    assert scores.loc[0, "total"] == 13
    assert not scores.loc[0, "total_prorated"]
    assert scores.loc[1, "total_prorated"] and scores.loc[1, "total_n_answered"] == 8
    assert scores.loc[1, "total"] == 12  # items 2–9 sum to 11; 11 × 9/8 = 12.375 → 12
    # p10: three missing → not scorable
    assert not scores.loc[9, "total_valid"] and np.isnan(scores.loc[9, "total"])
    assert scores.loc[0, "patient"] == "p01"
    assert "phq9_11" not in scores.columns


def test_unknown_item_did_you_mean() -> None:
    data = frame(phq9_01=[1])
    f = scoring.score(PHQ9, data).failures
    msg = f.loc[f["item"] == "phq9_01", "message"].iloc[0]
    assert "did you mean 'phq9_1'" in msg


def test_python_objects() -> None:
    data = frame(phq9_1=[True, 1.5, 2.0, np.int64(2), None, "3", float("nan")])
    result = scoring.score(PHQ9, data)
    codes = dict(zip(result.failures["row"], result.failures["code"], strict=True))
    assert codes == {0: "bool_value", 1: "not_integer"}
    assert result.scores.loc[2, "total_n_answered"] == 9
    assert result.scores.loc[3, "total_n_answered"] == 9
    assert result.scores.loc[4, "total_n_answered"] == 8
    assert result.scores.loc[5, "total_n_answered"] == 9
    assert result.scores.loc[6, "total_n_answered"] == 8


def test_bool_and_float_columns() -> None:
    data = frame(phq9_1=[True, False], phq9_2=[0.5, 2.0])
    result = scoring.score(PHQ9, data)
    codes = sorted(zip(result.failures["item"], result.failures["code"], strict=True))
    assert codes == [("phq9_1", "bool_value"), ("phq9_1", "bool_value"), ("phq9_2", "not_integer")]


def test_not_an_option_inside_range(tmp_path: Path) -> None:
    """Option sets with gaps (AUDIT items 9–10 are 0, 2, 4): a value inside the range that is no code fails."""
    src = (Path(__file__).parents[1] / "fixtures" / "definitions" / "good" / "demo_scale.yaml").read_text()
    src = src.replace('{value: 1, label: "Sometimes"}', '{value: 2, label: "Sometimes"}')
    src = src.replace('{value: 2, label: "Often"}', '{value: 4, label: "Often"}')
    src = src.replace("range: [0, 6]", "range: [0, 12]").replace("max: 6, label: High", "max: 12, label: High")
    path = tmp_path / "demo_scale.yaml"
    path.write_text(src)
    d, issues = scoring.load_definition(path)
    assert d is not None, issues
    data = pd.DataFrame({"demo_scale_1": [3, 1.5, 4], "demo_scale_2": [0, 0, 0], "demo_scale_3": [2, 2, 2]})
    result = scoring.score(d, data)
    assert result.failures["code"].tolist() == ["not_an_option", "not_integer"]
    assert result.scores["total"].tolist()[2] == 4 + 4 + 2


def test_missing_column_reported_once() -> None:
    data = frame().drop(columns=["phq9_5"])
    f = scoring.score(PHQ9, data).failures
    assert f["code"].tolist() == ["missing_column"]
    assert f["row"].tolist() == [None]


def test_strict_raises_with_failures() -> None:
    data = frame(phq9_3=["x"])
    with pytest.raises(scoring.ResponseValidationError) as info:
        scoring.score(PHQ9, data, strict=True)
    assert "phq9_3" in str(info.value) and "not_a_number" in str(info.value)
    assert len(info.value.failures) == 1


def test_passthrough_unchanged_and_index_kept() -> None:
    data = frame(phq9_1=[0, 1], date=["2026-01-01", "2026-02-01"])
    data.index = pd.Index(["a", "b"], name="admin")
    out = scoring.score(PHQ9, data).scores
    assert list(out.index) == ["a", "b"]
    assert out["date"].tolist() == ["2026-01-01", "2026-02-01"]
    assert out.columns[0] == "date"


def test_output_columns_are_stable() -> None:
    full = scoring.score(PHQ9, frame(phq9_1=[1])).scores
    empty = scoring.score(PHQ9, frame(phq9_1=[1]).iloc[0:0]).scores
    bad = scoring.score(PHQ9, frame(phq9_1=["x"])).scores
    assert list(full.columns) == list(empty.columns) == list(bad.columns)
    assert list(full.dtypes) == list(empty.dtypes) == list(bad.dtypes)
    assert list(full.columns) == list(PHQ9.plan.output_columns)


def test_duplicate_columns_rejected() -> None:
    data = pd.DataFrame([[1, 1]], columns=["phq9_1", "phq9_1"])
    with pytest.raises(ValueError, match="duplicate column"):
        scoring.score(PHQ9, data)


def test_output_name_clash_rejected() -> None:
    with pytest.raises(ValueError, match="same name as score output"):
        scoring.score(PHQ9, frame(total=[5]))


def test_score_requires_a_definition() -> None:
    with pytest.raises(TypeError, match="Definition"):
        scoring.score("phq9", frame())  # type: ignore[arg-type]
