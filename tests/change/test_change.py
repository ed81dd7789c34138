"""Reliable and clinically significant change: hand-computed values, properties, direction symmetry.

Worked examples and where they come from:

* Reference page §1.3 (illustrative SD 5.0, r = .84, Jacobson & Truax 1991 formulas):
  SEM = 5·√0.16 = 2.00; SE_diff = √2·2 = 2.828; 1.96·SE_diff = 5.54; pre 18 → post 11: RCI = −7/2.828 = −2.47.
* CORE-10 (Connell & Barkham 2007 manual via NovoPsych; Barkham et al. 2013): functional M 4.7, SD 4.8;
  dysfunctional M 19.7, SD 7.7: a = 19.7 − 15.4 = 4.3; b = 4.7 + 9.6 = 14.3;
  c = (4.8·19.7 + 7.7·4.7)/(4.8 + 7.7) = (94.56 + 36.19)/12.5 = 10.46 (published cut-off 11).
  RCI at 95% with α .90 and SD 7.7: 1.96·7.7·√0.2 = 6.75; at 90%: 1.645·7.7·√0.2 = 5.66 → the published 6.
* GAD-7 (Löwe et al. 2008 SD 3.4, α .89): 1.96·3.4·√0.22 = 3.126 (the definition's note says 3.13).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.change import (
    CLASSIFICATIONS,
    COMPARISON_COLUMNS,
    PARAMETER_COLUMNS,
    ChangeParameters,
    change_parameters,
    compare,
)
from tests.support.shipped import shipped_library

LIB = shipped_library()


def test_jacobson_truax_worked_example() -> None:
    p = ChangeParameters.from_values(higher_is="worse", reliability=0.84, sd=5.0)
    assert p.sem == pytest.approx(2.0)
    assert p.se_diff == pytest.approx(2.0 * math.sqrt(2.0))
    assert p.threshold_jt == pytest.approx(5.5437, abs=1e-4)
    assert p.criterion == "jacobson_truax" and p.threshold == pytest.approx(p.threshold_jt)
    out = compare([18], [11], p)
    assert out["rci"].iloc[0] == pytest.approx(-7 / (2 * math.sqrt(2)))
    assert round(out["rci"].iloc[0], 2) == -2.47
    assert bool(out["reliable"].iloc[0]) and out["classification"].iloc[0] == "reliably_improved"


def test_rci_boundary_is_strict() -> None:
    """|RCI| > 1.96 is reliable; a difference of exactly 1.96·SE_diff is not."""
    p = ChangeParameters.from_values(higher_is="worse", reliability=0.84, sd=5.0)
    edge = p.threshold_jt
    out = compare([20.0, 20.0], [20.0 - edge * (1 - 1e-9), 20.0 - edge * (1 + 1e-9)], p)
    assert out["reliable"].tolist() == [False, True]


def test_core10_clinical_significance_cutoffs() -> None:
    q = ChangeParameters.from_values(higher_is="worse", functional_mean=4.7, functional_sd=4.8,
                                     dysfunctional_mean=19.7, dysfunctional_sd=7.7)
    assert q.cutoff_a == pytest.approx(4.3)
    assert q.cutoff_b == pytest.approx(14.3)
    assert q.cutoff_c == pytest.approx(10.46)
    assert q.cutoff_kind == "c" and q.cutoff == pytest.approx(10.46)
    only_clinical = ChangeParameters.from_values(higher_is="worse", dysfunctional_mean=19.7, dysfunctional_sd=7.7)
    assert only_clinical.cutoff_kind == "a" and only_clinical.cutoff == pytest.approx(4.3)
    only_functional = ChangeParameters.from_values(higher_is="worse", functional_mean=4.7, functional_sd=4.8)
    assert only_functional.cutoff_kind == "b" and only_functional.cutoff == pytest.approx(14.3)


def test_core10_definition_uses_published_values() -> None:
    p = change_parameters(LIB["core10"])
    assert p.criterion == "published" and p.threshold == 6
    assert p.threshold_jt == pytest.approx(1.96 * 7.7 * math.sqrt(0.2))
    assert ChangeParameters.from_values(higher_is="worse", reliability=0.9, sd=7.7, z=1.645).threshold_jt == \
        pytest.approx(5.66, abs=0.005)
    assert p.cutoff_kind == "declared" and p.cutoff == 11
    assert p.cutoff_c == pytest.approx(10.46)


def test_gad7_definition_threshold_matches_its_note() -> None:
    p = change_parameters(LIB["gad7"])
    assert p.threshold_jt == pytest.approx(3.13, abs=0.005)
    assert (p.criterion, p.threshold, p.cutoff) == ("published", 4, 8)


def test_phq9_nhs_talking_therapies_rules() -> None:
    """NHS Talking Therapies: reliable improvement = drop of 6 or more; recovery = from ≥10 to <10."""
    p = change_parameters(LIB["phq9"])
    out = compare([16, 16, 16, 12, 9, 4], [11, 10, 9, 6, 3, 10], p)
    assert out["difference"].tolist() == [-5, -6, -7, -6, -6, 6]
    assert out["classification"].tolist() == [
        "no_reliable_change", "reliably_improved", "recovered", "recovered", "reliably_improved",
        "reliably_deteriorated"]
    # pre 9 is already below caseness: a reliable improvement, not a recovery
    assert out["pre_clinical"].tolist() == [True, True, True, True, False, False]
    assert out["mcid_met"].tolist() == [True, True, True, True, True, False]  # MCID 5 points (Löwe 2004)
    assert (out["criterion"] == "published").all() and (out["threshold"] == 6).all()
    assert out["rci"].isna().all()  # no SD declared: the RCI is not guessed
    # reliability 0.84 is declared: the reason names the SD as what is missing (issue 10 item 10)
    assert (out["reason"] == "RCI not computed: no SD declared (reliability 0.84 is); classified by the "
                             "published threshold").all()


def test_who5_is_direction_aware() -> None:
    p = change_parameters(LIB["who5"], "percentage")
    assert p.higher_is == "better" and p.cutoff == 50
    out = compare([40, 40, 60, 48], [52, 48, 44, 60], p)
    assert out["improvement"].tolist() == [12, 8, -16, 12]
    assert out["classification"].tolist() == ["recovered", "no_reliable_change", "reliably_deteriorated",
                                              "recovered"]


def test_no_parameters_gives_nan_with_reason() -> None:
    p = change_parameters(LIB["phq2"])
    out = compare([6, 5], [0, 5], p)
    assert p.criterion == "none"
    assert out["rci"].isna().all() and out["reliable"].isna().all() and out["classification"].isna().all()
    assert (out["reason"] == "no published reliable-change threshold, and no reliability or SD declared for the "
                             "RCI").all()


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"reliability": 0.84}, "no published reliable-change threshold, and no SD declared (reliability 0.84 is) for "
                            "the RCI"),
    ({"sd": 5.0}, "no published reliable-change threshold, and no reliability declared (SD 5 is) for the RCI"),
    ({"reliability": 0.84, "reliable_change": 6}, "RCI not computed: no SD declared (reliability 0.84 is); "
                                                  "classified by the published threshold"),
    ({"sd": 5.0, "reliable_change": 6}, "RCI not computed: no reliability declared (SD 5 is); classified by the "
                                        "published threshold"),
    ({"reliable_change": 6}, "RCI not computed: no reliability or SD declared; classified by the published "
                             "threshold"),
    ({"reliability": 0.84, "sd": 5.0}, ""),
])
def test_reason_names_exactly_what_is_missing(kwargs: dict, reason: str) -> None:
    assert ChangeParameters.from_values(higher_is="worse", **kwargs).reason == reason


def test_neutral_scale_reports_change_but_no_classification() -> None:
    p = ChangeParameters.from_values(higher_is="neutral", reliability=0.8, sd=3.0)
    out = compare([10], [18], p)
    assert bool(out["reliable"].iloc[0]) and pd.isna(out["classification"].iloc[0])
    assert "neutral" in out["reason"].iloc[0]


def test_missing_scores_give_missing_results() -> None:
    p = change_parameters(LIB["phq9"])
    out = compare([np.nan, 10, np.nan], [5, np.nan, np.nan], p)
    assert out["classification"].isna().all() and out["reliable"].isna().all()
    assert out["reason"].tolist() == ["no earlier score to compare with", "no score at this administration",
                                      "no score at this administration"]


def test_stable_columns_and_dtypes() -> None:
    for params in (change_parameters(LIB["phq9"]), change_parameters(LIB["phq2"]),
                   ChangeParameters.from_values(higher_is="neutral")):
        out = compare([1.0, 2.0], [3.0, 4.0], params)
        assert tuple(out.columns) == COMPARISON_COLUMNS + PARAMETER_COLUMNS
        assert str(out["classification"].dtype) == "category"
        assert list(out["classification"].cat.categories) == list(CLASSIFICATIONS)
        assert out["classification"].cat.ordered
        for col in ("rci_reliable", "threshold_reliable", "reliable", "pre_clinical", "post_clinical", "mcid_met"):
            assert str(out[col].dtype) == "boolean", col
        for col in ("difference", "improvement", "rci", "threshold", "se_diff", "cutoff", "mcid"):
            assert out[col].dtype == float, col


def test_index_follows_post_series() -> None:
    p = change_parameters(LIB["phq9"])
    post = pd.Series([5.0, 6.0], index=["a", "b"])
    assert list(compare([10, 12], post, p).index) == ["a", "b"]


@pytest.mark.parametrize("kwargs", [
    {"reliability": 1.0}, {"reliability": 0.0}, {"sd": 0.0}, {"reliable_change": -1.0}, {"z": 0.0},
])
def test_bad_parameters_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ChangeParameters.from_values(higher_is="worse", **kwargs)


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        compare([1, 2], [1], change_parameters(LIB["phq9"]))


# -- properties --------------------------------------------------------------------------------------------
scores = st.floats(min_value=0, max_value=40, allow_nan=False)
params_st = st.builds(
    lambda r, sd, thr, cut, hib: ChangeParameters.from_values(
        higher_is=hib, reliability=r, sd=sd, reliable_change=thr, clinical_cutoff=cut),
    st.floats(min_value=0.05, max_value=0.99), st.floats(min_value=0.5, max_value=15),
    st.one_of(st.none(), st.floats(min_value=0.5, max_value=12)), st.one_of(st.none(), st.floats(0, 40)),
    st.sampled_from(["worse", "better"]),
)


@settings(max_examples=200, deadline=None)
@given(pre=st.lists(scores, min_size=1, max_size=20), data=st.data(), params=params_st)
def test_rci_is_antisymmetric(pre: list[float], data: st.DataObject, params: ChangeParameters) -> None:
    post = data.draw(st.lists(scores, min_size=len(pre), max_size=len(pre)))
    ab = compare(pre, post, params)
    ba = compare(post, pre, params)
    np.testing.assert_allclose(ab["rci"].to_numpy(), -ba["rci"].to_numpy())
    assert ab["reliable"].tolist() == ba["reliable"].tolist()


@settings(max_examples=200, deadline=None)
@given(pre=st.lists(scores, min_size=1, max_size=20), data=st.data(), params=params_st)
def test_classification_agrees_with_thresholds(pre: list[float], data: st.DataObject,
                                               params: ChangeParameters) -> None:
    post = data.draw(st.lists(scores, min_size=len(pre), max_size=len(pre)))
    out = compare(pre, post, params)
    diff = np.asarray(post) - np.asarray(pre)
    if params.criterion == "published":
        expected = np.abs(diff) >= params.threshold_published - 1e-9
    else:
        expected = np.abs(diff / params.se_diff) > params.z
    assert out["reliable"].to_numpy(dtype=bool).tolist() == expected.tolist()
    improved = diff * params.direction > 0
    cls = out["classification"].astype(str).to_numpy()
    assert (cls[~expected] == "no_reliable_change").all()
    assert (cls[expected & ~improved] == "reliably_deteriorated").all()
    assert np.isin(cls[expected & improved], ["reliably_improved", "recovered"]).all()
    recovered = cls == "recovered"
    if params.cutoff_kind == "none":
        assert not recovered.any()
    else:
        assert (out["pre_clinical"].to_numpy(dtype=bool)[recovered]).all()
        assert not (out["post_clinical"].to_numpy(dtype=bool)[recovered]).any()
        should = expected & improved & out["pre_clinical"].to_numpy(dtype=bool) & \
            ~out["post_clinical"].to_numpy(dtype=bool)
        assert (recovered == should).all()


@settings(max_examples=200, deadline=None)
@given(pre=st.lists(st.integers(0, 27), min_size=1, max_size=20), data=st.data(),
       r=st.floats(min_value=0.05, max_value=0.99), sd=st.floats(min_value=0.5, max_value=10),
       thr=st.one_of(st.none(), st.integers(1, 10)), cut=st.integers(0, 27))
def test_higher_is_better_mirrors_higher_is_worse(pre: list[int], data: st.DataObject, r: float, sd: float,
                                                  thr: int | None, cut: int) -> None:
    """Reflecting scores x → 27 − x and the cut-off turns a higher-is-worse scale into a higher-is-better one."""
    post = data.draw(st.lists(st.integers(0, 27), min_size=len(pre), max_size=len(pre)))
    worse = ChangeParameters.from_values(higher_is="worse", reliability=r, sd=sd, reliable_change=thr,
                                         clinical_cutoff=cut, mcid=3)
    better = ChangeParameters.from_values(higher_is="better", reliability=r, sd=sd, reliable_change=thr,
                                          clinical_cutoff=27 - cut, mcid=3)
    a = compare(pre, post, worse)
    b = compare(27 - np.asarray(pre), 27 - np.asarray(post), better)
    assert a["classification"].tolist() == b["classification"].tolist()
    assert a["improvement"].tolist() == b["improvement"].tolist()
    assert a["mcid_met"].tolist() == b["mcid_met"].tolist()
    assert a["pre_clinical"].tolist() == b["pre_clinical"].tolist()
    np.testing.assert_allclose(a["rci"].to_numpy(), -b["rci"].to_numpy())


def test_every_bundled_scale_has_consistent_parameters() -> None:
    """Every declared parameter set resolves; the threshold is the published one where declared."""
    for instrument_id in LIB:
        for sc in LIB[instrument_id].instrument.scales:
            p = ChangeParameters.from_scale(sc, instrument_id=instrument_id)
            ch = sc.change
            if ch is not None and ch.reliable_change is not None:
                assert p.criterion == "published" and p.threshold == ch.reliable_change.value
            if ch is not None and ch.clinical_cutoff is not None:
                assert p.cutoff == ch.clinical_cutoff.value
            assert set(p.sources) <= {"reliability", "sd", "reliable_change", "mcid", "clinical_cutoff",
                                      "functional_mean", "functional_sd", "dysfunctional_mean", "dysfunctional_sd"}
