"""Floor/ceiling, edge cases, warnings as data, the Heywood case and the report's shapes and formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.reliability import (
    ITEM_COLUMNS,
    SCALE_COLUMNS,
    WARNING_CODES,
    WARNING_COLUMNS,
    analyze,
    cronbach_alpha,
    floor_ceiling,
    item_statistics,
    omega_from_cor,
    omega_total,
    scale_reliability,
)
from scoring.reliability.omega import MIN_UNIQUENESS, _bounded_loadings
from tests.support.shipped import shipped_library

REF = Path(__file__).parents[1] / "reference" / "reliability"
EXPECTED = json.loads((REF / "expected.json").read_text(encoding="utf-8"))
DATA = pd.read_csv(REF / "likert8.csv")
LIB = shipped_library()
PHQ9 = [f"phq9_{k}" for k in range(1, 10)]


# -- floor and ceiling ------------------------------------------------------------------------------------
def test_floor_ceiling_counts_scores_at_the_ends_of_the_range() -> None:
    assert floor_ceiling(np.array([0, 0, 5, 27, np.nan]), (0, 27)) == (50.0, 25.0)
    assert floor_ceiling(np.array([1.0, 2.0]), (0, 27)) == (0.0, 0.0)
    assert all(np.isnan(v) for v in floor_ceiling(np.array([np.nan]), (0, 27)))


def test_floor_ceiling_of_an_instrument_use_its_scores_and_declared_range() -> None:
    rows = [[0] * 9, [0] * 9, [0] * 8 + [None], [3] * 9, [1, 2, 0, 1, 2, 0, 1, 2, 0], [None] * 9]
    report = analyze(LIB["phq9"], pd.DataFrame(rows, columns=PHQ9, dtype=float))
    row = report.scales.iloc[0]
    # 5 valid scores (the empty row has none); the prorated 0 counts at the floor: 3 of 5 at 0, 1 of 5 at 27
    assert (row["score_min"], row["score_max"]) == (0, 27)
    assert row["n_scored"] == 5 and row["floor_pct"] == pytest.approx(60.0) and row["ceiling_pct"] == 20.0
    items = report.items.query("missing == 'pairwise'")
    assert items["floor_pct"].iloc[0] == pytest.approx(100 * 3 / 5)  # answers of phq9_1 at 0: 3 of 5
    assert items["ceiling_pct"].iloc[0] == pytest.approx(20.0)


def test_floor_ceiling_of_a_mean_scale_with_declared_range() -> None:
    definition = scoring.load_library([Path(__file__).parent / "definitions"])["likert8"]
    data = pd.DataFrame([[0] * 8, [4] * 8, [2] * 8, [4] * 8], columns=[f"i{k}" for k in range(1, 9)])
    report = analyze(definition, data)
    half = report.scales.query("scale_id == 'first_half'").iloc[0]
    assert (half["score_min"], half["score_max"]) == (0, 4)
    assert half["floor_pct"] == 25.0 and half["ceiling_pct"] == 50.0


def test_default_floor_ceiling_use_complete_sum_scores_and_item_ranges() -> None:
    x = np.array([[0, 0, 0], [4, 4, 4], [1, 2, np.nan], [0, 0, 0], [2, 3, 1]], dtype=float)
    res = scale_reliability(x, item_range=(0, 4))
    assert res.score_range == (0.0, 12.0) and res.n_scored == 4
    assert (res.floor_pct, res.ceiling_pct) == (50.0, 25.0)


# -- edge cases -------------------------------------------------------------------------------------------
def test_item_without_variance_is_left_out_and_reported() -> None:
    x = DATA.copy()
    x["const"] = 2.0
    res = scale_reliability(x)
    assert res.warnings["code"].tolist()[0] == "no_variance"
    assert res.warnings["item"].tolist()[0] == "const"
    row = res.items.set_index("item").loc["const"]
    assert np.isnan(row["r_drop"]) and not row["miskeyed"] and row["sd"] == 0
    assert res.alpha.alpha == pytest.approx(EXPECTED["raw"]["pairwise"]["raw_alpha"], abs=1e-12)


@pytest.mark.parametrize("columns", [["i1"], []])
def test_too_few_items(columns: list[str]) -> None:
    res = scale_reliability(DATA[columns])
    assert np.isnan(res.alpha.alpha) and np.isnan(res.omega.omega_total)
    assert "too_few_items" in res.warnings["code"].tolist()


def test_too_few_respondents_and_empty_rows() -> None:
    x = np.array([[1.0, 2.0, 3.0], [np.nan, np.nan, np.nan], [2.0, 2.0, 1.0]])
    res = scale_reliability(x)
    assert res.alpha.n_obs == 2  # the empty row is not a respondent of this scale
    assert "too_few_respondents" in res.warnings["code"].tolist()
    assert cronbach_alpha(x).n_obs == 3  # the plain function counts every row, as psych does


def test_listwise_without_complete_rows() -> None:
    x = np.array([[1.0, np.nan], [np.nan, 2.0], [3.0, np.nan]])
    res = scale_reliability(x, missing="listwise")
    assert res.alpha.n_obs == 0 and np.isnan(res.alpha.alpha)
    assert {"too_few_respondents"} <= set(res.warnings["code"])


def test_no_rows_at_all() -> None:
    report = analyze(LIB["phq9"], pd.DataFrame(columns=PHQ9, dtype=float))
    assert report.scales["n_obs"].tolist() == [0, 0] and report.scales["alpha"].isna().all()
    assert list(report.scales.columns) == list(SCALE_COLUMNS)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="pairwise"):
        cronbach_alpha(DATA, missing="everything")
    with pytest.raises(ValueError, match="ci_level"):
        cronbach_alpha(DATA, ci_level=95)
    with pytest.raises(ValueError, match="2-dimensional"):
        cronbach_alpha(np.arange(5.0))
    with pytest.raises(TypeError, match="numeric"):
        item_statistics(DATA.assign(name="x"))
    with pytest.raises(ValueError, match="infinite"):
        omega_total(np.array([[1.0, np.inf], [2.0, 3.0]]))


def test_other_confidence_levels_use_the_normal_quantile() -> None:
    wide, narrow = cronbach_alpha(DATA), cronbach_alpha(DATA, ci_level=0.80)
    assert narrow.feldt_lower > wide.feldt_lower and narrow.feldt_upper < wide.feldt_upper
    assert narrow.duhachek_upper - narrow.alpha == pytest.approx(1.2815515655446004 * narrow.se)


# -- omega in a Heywood case ------------------------------------------------------------------------------
def test_heywood_case_uses_bounded_uniquenesses_like_psych() -> None:
    ref = EXPECTED["heywood"]
    res = omega_from_cor(np.array(ref["r"]))
    assert res.heywood and res.converged
    # psych's optimiser stops near the bounded fixed point, not on it: agreement to about 2e-4 only
    assert res.omega_total == pytest.approx(ref["omega_total"], abs=5e-4)
    np.testing.assert_allclose(res.communalities, ref["h2"], atol=5e-3)
    psi = np.where(res.communalities > 1 - MIN_UNIQUENESS, MIN_UNIQUENESS, 1 - res.communalities)
    np.testing.assert_allclose(np.abs(_bounded_loadings(np.array(ref["r"]), psi)[0]), res.loadings, atol=1e-12)
    assert scale_reliability(np.array([[1.0, 2.0, 3.0]] * 3)).warnings["code"].tolist()[:1] == ["no_variance"]


# -- the report -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report() -> scoring.reliability.ReliabilityReport:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, (120, 9)).astype(float)
    x[:, 4] = 3 - x[:, 0]  # an item that runs against the others
    frame = pd.DataFrame(x, columns=PHQ9).astype(object)
    frame.loc[3, "phq9_2"] = "seven"  # a bad cell: analysed as missing, listed in failures
    frame["clinic"] = "north"  # other columns are ignored,
    frame["total"] = 99  # even one named like a score column
    return analyze(LIB["phq9"], frame)


def test_report_tables_have_stable_columns_and_types(report: scoring.reliability.ReliabilityReport) -> None:
    assert list(report.scales.columns) == list(SCALE_COLUMNS)
    assert list(report.items.columns) == list(ITEM_COLUMNS)
    assert list(report.warnings.columns) == list(WARNING_COLUMNS)
    single = analyze(LIB["phq9"], pd.DataFrame([[1] * 9, [2] * 9, [0] * 9], columns=PHQ9), missing=("listwise",))
    for ours, theirs in ((report.scales, single.scales), (report.items, single.items)):
        assert ours.dtypes.to_dict() == theirs.dtypes.to_dict()
    assert report.scales["missing"].tolist() == ["pairwise", "listwise"]
    assert len(report.items) == 2 * 9 and not report.items["reverse"].any()


def test_report_flags_the_item_that_runs_against_the_scale(report: scoring.reliability.ReliabilityReport) -> None:
    flagged = report.warnings.query("code == 'miskeyed'")
    assert set(flagged["item"]) >= {"phq9_5"} and set(flagged["missing"]) == {"pairwise", "listwise"}
    assert set(report.warnings["code"]) <= set(WARNING_CODES)
    assert len(report.failures) == 1 and report.failures["item"].iloc[0] == "phq9_2"
    items = report.items.query("missing == 'pairwise'").set_index("item")
    assert items.loc["phq9_2", "n"] == 119 and items.loc["phq9_5", "r_drop"] < 0


def test_report_formats(report: scoring.reliability.ReliabilityReport, tmp_path: Path) -> None:
    data = json.loads(report.to_json())
    assert data["instrument"]["id"] == "phq9" and data["n_bad_cells"] == 1
    assert list(data["scales"][0]) == list(SCALE_COLUMNS) and len(data["items"]) == 18
    assert "NaN" not in report.to_json()
    md = report.to_markdown()
    assert md.startswith("# Reliability: Patient Health Questionnaire-9 (phq9 ")
    assert "## Scales" in md and "## Items" in md and "**miskeyed**" in md
    written = report.write(tmp_path / "rel.csv")
    assert [p.name for p in written] == ["rel.csv", "rel.items.csv", "rel.warnings.csv"]
    assert pd.read_csv(written[1]).shape == (18, len(ITEM_COLUMNS))
    assert json.loads((report.write(tmp_path / "rel.json")[0]).read_text(encoding="utf-8"))["scales"]
    assert (report.write(tmp_path / "rel.md")[0]).read_text(encoding="utf-8") == md
    with pytest.raises(ValueError, match="unsupported report type"):
        report.write(tmp_path / "rel.txt")


def test_reverse_keying_uses_the_option_set() -> None:
    """Reverse items are keyed min + max − answer of their option set: answering them on the reversed scale
    gives the keyed values of the original, so item means add up to min + max and alpha is unchanged."""
    rses = LIB["rses"]
    plan = rses.plan
    rng = np.random.default_rng(5)
    x = rng.integers(0, 4, (80, len(plan.item_ids))).astype(float) + plan.lo
    frame = pd.DataFrame(x, columns=list(plan.item_ids))
    flipped = frame.copy()
    for k, item in enumerate(plan.item_ids):
        if plan.reverse[k]:
            flipped[item] = plan.lo[k] + plan.hi[k] - flipped[item]
    a = analyze(rses, frame).items.query("missing == 'pairwise'")
    b = analyze(rses, flipped).items.query("missing == 'pairwise'")
    rev = a["reverse"].to_numpy()
    assert rev.sum() == plan.reverse.sum() > 0
    np.testing.assert_allclose(a["mean"].to_numpy()[rev] + b["mean"].to_numpy()[rev], (plan.lo + plan.hi)[plan.reverse])
    np.testing.assert_allclose(a["mean"].to_numpy()[~rev], b["mean"].to_numpy()[~rev])
