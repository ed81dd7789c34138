"""scoring.history: tidy rows per patient × administration × scale, change from baseline and previous."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.change.timeline import HISTORY_COLUMNS, HistoryInputError, HistoryResult, score_history
from tests.support.shipped import shipped_library

LIB = shipped_library()
PHQ9_ITEMS = [f"phq9_{i}" for i in range(1, 10)]


def phq9_rows(patient: str, dates: list[str], answers: list[list[object]]) -> pd.DataFrame:
    df = pd.DataFrame(answers, columns=PHQ9_ITEMS)
    df.insert(0, "instrument", "phq9")
    df.insert(0, "date", dates)
    df.insert(0, "patient", patient)
    return df


def test_items_are_scored_and_change_is_classified() -> None:
    # totals 18, 12, 7, 19, 3 (hand-summed)
    df = phq9_rows("p1", ["2024-01-08", "2024-02-05", "2024-03-04", "2024-04-01", "2024-05-06"], [
        [3, 3, 2, 2, 2, 2, 2, 1, 1], [2, 2, 2, 1, 1, 2, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1, 0, 0],
        [2, 3, 2, 3, 2, 2, 2, 2, 1], [0, 1, 0, 1, 0, 1, 0, 0, 0]])
    h = scoring.history(LIB, df).frame
    assert tuple(h.columns) == HISTORY_COLUMNS
    assert h["score"].tolist() == [18, 12, 7, 19, 3]
    assert h["band"].tolist() == ["Moderately severe", "Moderate", "Mild", "Moderately severe", "None–minimal"]
    assert h["administration"].tolist() == [1, 2, 3, 4, 5]
    assert h["previous_difference"].tolist()[1:] == [-6, -5, 12, -16]
    assert h["previous_reliable"].tolist()[1:] == [True, False, True, True]
    assert h["baseline_difference"].tolist()[1:] == [-6, -11, 1, -15]
    assert h["baseline_classification"].tolist()[1:] == [
        "reliably_improved", "recovered", "no_reliable_change", "recovered"]
    assert h["previous_classification"].tolist()[1:] == [
        "reliably_improved", "no_reliable_change", "reliably_deteriorated", "recovered"]
    assert pd.isna(h["baseline_classification"].iloc[0])
    assert h["baseline_reason"].iloc[0] == "this is the baseline administration"
    assert h["clinical"].tolist() == [True, True, False, True, False]
    assert (h["instrument_hash"] == LIB["phq9"].hash).all() and (h["instrument_version"] == LIB["phq9"].version).all()
    assert (h["criterion"] == "published").all() and (h["threshold"] == 6).all()


def test_unscorable_administration_is_skipped_for_previous() -> None:
    nan = None
    df = phq9_rows("p1", ["2024-01-01", "2024-02-01", "2024-03-01"], [
        [2] * 9, [nan] * 9, [1] * 9])
    h = scoring.history(LIB, df).frame
    assert h["score"].isna().tolist() == [False, True, False]
    assert h["valid"].tolist() == [True, False, True]
    assert h["score_reason"].iloc[1] == "no items answered"
    assert h["previous_score"].iloc[2] == 18  # the last *scored* administration, not the empty one
    assert h["previous_date"].iloc[2] == pd.Timestamp("2024-01-01")
    assert h["previous_reason"].iloc[1] == "no score at this administration"


def test_rows_before_the_first_score_have_no_baseline() -> None:
    df = phq9_rows("p1", ["2024-01-01", "2024-02-01", "2024-03-01"], [[None] * 9, [2] * 9, [1] * 9])
    h = scoring.history(LIB, df).frame
    assert pd.isna(h["baseline_score"].iloc[0])
    assert h["baseline_date"].iloc[1] == pd.Timestamp("2024-02-01")
    assert h["baseline_reason"].iloc[1] == "this is the baseline administration"
    assert h["baseline_difference"].iloc[2] == -9


def test_many_patients_are_independent_and_order_does_not_matter() -> None:
    rng = np.random.default_rng(7)
    frames = [phq9_rows(f"p{k}", [f"2024-0{m}-01" for m in range(1, 5)], rng.integers(0, 4, (4, 9)).tolist())
              for k in range(30)]
    data = pd.concat(frames, ignore_index=True)
    a = scoring.history(LIB, data).frame
    b = scoring.history(LIB, data.sample(frac=1, random_state=3)).frame
    key = ["patient", "date"]
    a2 = a.sort_values(key).reset_index(drop=True).drop(columns="source_row")
    b2 = b.sort_values(key).reset_index(drop=True).drop(columns="source_row")
    pd.testing.assert_frame_equal(a2, b2)
    # one patient alone gives the same rows as within the cohort
    alone = scoring.history(LIB, frames[5]).frame.drop(columns="source_row").reset_index(drop=True)
    within = a[a["patient"] == "p5"].drop(columns="source_row").reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, within)


def test_scores_given_instead_of_items_and_several_instruments() -> None:
    data = pd.DataFrame({
        "patient": ["a", "a", "a", "a"],
        "date": ["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01"],
        "instrument": ["phq9", "who5", "phq9", "who5"],
        "total": [15, None, 8, None],
        "percentage": [None, 32, None, 60],
        "raw": [None, 8, None, 15],
    })
    h = scoring.history(LIB, data).frame
    assert sorted(set(zip(h["instrument"], h["scale"], strict=True))) == [
        ("phq9", "total"), ("who5", "percentage"), ("who5", "raw")]
    who5 = h[(h["instrument"] == "who5") & (h["scale"] == "percentage")]
    assert who5["previous_classification"].tolist()[1] == "recovered"  # 32 → 60: +28 ≥ 10 and crosses 50 upward
    raw = h[(h["instrument"] == "who5") & (h["scale"] == "raw")]
    assert raw["band"].tolist() == ["Poor well-being", "Not below the poor well-being cut-off"]
    assert raw["previous_reason"].iloc[1] == ("no published reliable-change threshold, and no reliability or SD "
                                              "declared for the RCI")


def test_tidy_scale_and_score_columns() -> None:
    data = pd.DataFrame({"patient": "a", "date": ["2024-01-01", "2024-03-01"], "instrument": "gad7",
                         "scale": "total", "score": ["12", "7"]})
    h = scoring.history(LIB, data).frame
    assert h["score"].tolist() == [12, 7] and h["previous_classification"].iloc[1] == "recovered"


def test_instrument_filter_and_versions() -> None:
    data = pd.DataFrame({"patient": "a", "date": ["2024-01-01", "2024-01-02"], "instrument": ["phq9", "gad7"],
                         "total": [10, 10], "instrument_version": ["1.0.0", ""]})
    h = scoring.history(LIB, data, instrument="gad7").frame
    assert h["instrument"].tolist() == ["gad7"]
    with pytest.raises(scoring.UnknownInstrumentError, match="did you mean 'phq9'"):
        scoring.history(LIB, data, instrument="phq99")


def test_empty_input_keeps_the_columns() -> None:
    data = pd.DataFrame({"patient": [], "date": [], "instrument": [], "total": []})
    h = scoring.history(LIB, data).frame
    assert h.empty and tuple(h.columns) == HISTORY_COLUMNS


def test_dtypes_are_stable() -> None:
    a = scoring.history(LIB, pd.DataFrame({"patient": "a", "date": ["2024-01-01"], "instrument": "phq9",
                                           "total": [3]})).frame
    b = scoring.history(LIB, phq9_rows("b", ["2024-01-01", "2024-02-01"], [[1] * 9, [0] * 9])).frame
    assert (a.dtypes == b.dtypes).all()
    assert str(a["date"].dtype) == "datetime64[ns]" and str(a["severity"].dtype) == "Int64"
    assert str(a["baseline_classification"].dtype) == "category"


def test_bad_cells_are_reported_not_scored() -> None:
    df = phq9_rows("p1", ["2024-01-01"], [[1, 1, 1, 1, 1, 1, 1, "x", 1]])
    res = scoring.history(LIB, df)
    assert res.frame["score"].iloc[0] == 9  # 8 answered, prorated: 8 × 9/8
    assert res.failures[["instrument", "item", "code"]].values.tolist() == [["phq9", "phq9_8", "not_a_number"]]
    with pytest.raises(scoring.ResponseValidationError):
        scoring.history(LIB, df, strict=True)


@pytest.mark.parametrize(("data", "message"), [
    (pd.DataFrame({"patient": ["a"], "instrument": ["phq9"], "total": [3]}), "no column 'date'"),
    (pd.DataFrame({"patient": ["a"], "date": ["01/13/2024"], "instrument": ["phq9"], "total": [3]}),
     r"not dates \(row 0: '01/13/2024'\)"),
    (pd.DataFrame({"patient": ["a"], "date": ["2024-01-01"], "instrument": ["phq9"], "total": [30]}),
     "outside the scale's range 0–27"),
    (pd.DataFrame({"patient": ["a"], "date": ["2024-01-01"], "instrument": ["phq9"], "total": ["ten"]}),
     "'ten' is not a number"),
    (pd.DataFrame({"patient": ["a"], "date": ["2024-01-01"], "instrument": ["phq9"], "other": [1]}),
     "neither item columns"),
    (pd.DataFrame({"patient": [""], "date": ["2024-01-01"], "instrument": ["phq9"], "total": [1]}),
     "empty patient id"),
])
def test_bad_input_names_the_problem(data: pd.DataFrame, message: str) -> None:
    with pytest.raises(HistoryInputError, match=message):
        scoring.history(LIB, data)


def test_norms_are_applied_per_instrument_and_scale() -> None:
    norms = scoring.load_norms()
    data = pd.DataFrame({"patient": ["a", "a", "b"], "date": ["2024-01-01", "2024-02-01", "2024-01-01"],
                         "instrument": "phq9", "total": [10, 3.1, 5], "sex": ["female", "female", None]})
    h = scoring.history(LIB, data, norms=norms.get("phq9_kocalevent2013_de_sex")).frame
    # Kocalevent 2013, women: M 3.1, SD 3.5 → z(10) = 6.9/3.5 = 1.971, T = 69.7 (reference page §1.1)
    assert h["norm_z"].iloc[0] == pytest.approx(6.9 / 3.5)
    assert round(h["norm_t"].iloc[0], 1) == 69.7
    assert h["norm_t"].iloc[1] == pytest.approx(50.0)
    assert pd.isna(h["norm_t"].iloc[2]) and h["norm_reason"].iloc[2].startswith("sex unknown")
    assert (h["norm_id"] == "phq9_kocalevent2013_de_sex").all()
    plain = scoring.history(LIB, data).frame
    assert plain["norm_t"].isna().all() and (plain.dtypes == h.dtypes).all()
    with pytest.raises(HistoryInputError, match="two norm tables"):
        scoring.history(LIB, data, norms=[norms.get("phq9_kliem2024_de_total"), norms.get("phq9_kliem2024_de_sex")])


# -- one shape and one argument order with score(), explain() and apply_norms() (issue 11 item 6) ------------
def test_history_returns_a_result_with_its_failures_like_score() -> None:
    df = phq9_rows("p1", ["2024-01-01", "2024-02-01"], [[1, 1, 1, 1, 1, 1, 1, "x", 1], [0] * 9])
    res = scoring.history(LIB, df)
    assert isinstance(res, HistoryResult) and not res.ok and res.cells == 2 * len(LIB["phq9"].plan.item_ids)
    assert res.summary() == (f"2 history row(s); 1 problem(s) counted as missing (of {res.cells} item cell(s)): "
                             "1 not_a_number")
    assert scoring.history(LIB, phq9_rows("p1", ["2024-01-01"], [[0] * 9])).ok
    assert scoring.history(LIB, phq9_rows("p1", ["2024-01-01"], [[0] * 9])).summary().endswith("no bad cells")


def test_old_argument_order_still_works_for_one_release_with_a_warning() -> None:
    df = phq9_rows("p1", ["2024-01-01", "2024-02-01"], [[2] * 9, [1] * 9])
    new = scoring.history(LIB, df)
    with pytest.warns(DeprecationWarning, match=r"call history\(library, data\)"):
        old = scoring.history(df, LIB)
    pd.testing.assert_frame_equal(old, new.frame)  # the old order returns the frame alone, as before
    with pytest.warns(DeprecationWarning, match=r"call history\(library, data\)"):
        same = score_history(df, LIB)
    pd.testing.assert_frame_equal(same.frame, new.frame)
    with pytest.raises(TypeError, match="takes a Library"):
        scoring.history({"phq9": LIB["phq9"]}, df)  # type: ignore[arg-type]


def test_score_reason_code_sits_beside_the_reason() -> None:
    items = phq9_rows("p1", ["2024-01-01", "2024-02-01", "2024-03-01"], [[2] * 9, [None] * 9, [1] * 5 + [None] * 4])
    h = scoring.history(LIB, items).frame
    assert HISTORY_COLUMNS[HISTORY_COLUMNS.index("score_reason") + 1] == "score_reason_code"
    assert h["score_reason_code"].tolist() == [None, "none_answered", "too_many_missing"]
    given = pd.DataFrame({"patient": "p1", "date": ["2024-01-01", "2024-02-01"], "instrument": "phq9",
                          "total": [3, None]})
    assert scoring.history(LIB, given).frame["score_reason_code"].tolist() == [None, "no_score_given"]


def test_dates_with_mixed_utc_offsets_are_put_on_one_clock() -> None:
    # 09:00 UTC (10:00+01:00) comes before 09:30 UTC (Z) and after a date-only 2024-01-02 (midnight).
    df = phq9_rows("p1", ["2024-01-03T10:00:00+01:00", "2024-01-03T09:30:00Z", "2024-01-02"],
                   [[1] * 9, [2] * 9, [0] * 9])
    h = scoring.history(LIB, df).frame
    assert h["score"].tolist() == [0, 9, 18]
    assert h["date"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03 09:00"),
                                  pd.Timestamp("2024-01-03 09:30")]
