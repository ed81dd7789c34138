"""Properties of applying norms (hypothesis): T at the norm mean is 50; percentiles are monotone in the raw
score; a respondent outside every stratum gets NaN with a reason, never a neighbouring stratum; rows are
independent of each other; the columns never change."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoring
from scoring.norms.apply import REASONS, norm_columns
from tests.support.shipped import shipped_library

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LIB = shipped_library()
NORMS = scoring.load_norms(library=LIB)
IDS = list(NORMS)
MEAN_SD = [i for i in IDS if NORMS.get(i).method == "mean_sd"]
PERCENTILE = [i for i in IDS if NORMS.get(i).method == "percentile"]
SEXES = st.sampled_from(["female", "male", "f", "m", "W", "man", "x", "", None, 1])


def _who(stratum) -> dict:
    sex = {"any": "female", "female": "female", "male": "male"}[stratum.sex]
    age = stratum.age_min if stratum.age_min is not None else (stratum.age_max if stratum.age_max is not None else 40)
    return {"sex": sex, "age": age}


@SETTINGS
@given(norm_id=st.sampled_from(MEAN_SD), data=st.data())
def test_t_at_the_norm_mean_is_50(norm_id: str, data: st.DataObject) -> None:
    table = NORMS.get(norm_id)
    stratum = data.draw(st.sampled_from(table.strata))
    mean, sd = table.moments(stratum.id)
    k = data.draw(st.floats(-3, 3))
    out = scoring.apply_norms(LIB[table.instrument_id],
                              pd.DataFrame([{"total": mean, **_who(stratum)}, {"total": mean + k * sd,
                                                                               **_who(stratum)}]), table)
    assert out["total_t"].iloc[0] == 50.0 and out["total_z"].iloc[0] == 0.0
    assert abs(out["total_t"].iloc[1] - (50 + 10 * k)) < 1e-9
    assert str(out["total_norm_stratum"].iloc[0]) == stratum.id


@SETTINGS
@given(norm_id=st.sampled_from(PERCENTILE), data=st.data())
def test_percentile_is_monotone_in_the_raw_score(norm_id: str, data: st.DataObject) -> None:
    table = NORMS.get(norm_id)
    stratum = data.draw(st.sampled_from(table.strata))
    lo, hi = (int(x) for x in table.score_range)  # type: ignore[misc]
    raws = sorted(data.draw(st.lists(st.integers(lo, hi), min_size=2, max_size=30)))
    out = scoring.apply_norms(LIB[table.instrument_id],
                              pd.DataFrame({"total": raws, **{k: v for k, v in _who(stratum).items()}}), table)
    pct = out["total_percentile"].to_numpy()
    assert not np.isnan(pct).any()
    assert (np.diff(pct) >= 0).all()


@SETTINGS
@given(age=st.one_of(st.integers(0, 17), st.integers(45, 54), st.just(None), st.just(-3), st.just("unknown")),
       score=st.integers(0, 40), sex=SEXES)
def test_no_matching_stratum_gives_nan_and_a_reason_never_a_neighbour(age, score: int, sex) -> None:
    table = NORMS.get("pss10_cohen_janickideverts2012_us2009_age")  # 18-24, 25-34, 35-44, 55-64, 65+
    out = scoring.apply_norms(LIB["pss10"],
                              pd.DataFrame({"total": [float(score)], "age": [age], "sex": [sex]}, dtype=object), table)
    row = out.iloc[0]
    assert pd.isna(row["total_norm_stratum"])
    assert np.isnan(row["total_t"]) and np.isnan(row["total_z"]) and np.isnan(row["total_percentile"])
    known_age = isinstance(age, int) and age >= 0
    assert str(row["total_norm_reason"]) == (REASONS[3] if known_age else REASONS[2])


@SETTINGS
@given(sex=st.sampled_from(["x", "", None, "1", 2, "divers"]), score=st.integers(0, 27))
def test_unknown_sex_is_never_mapped_to_a_sex_stratum(sex, score: int) -> None:
    table = NORMS.get("phq9_kliem2024_de_sex")
    out = scoring.apply_norms(LIB["phq9"], pd.DataFrame({"total": [float(score)], "sex": [sex]}, dtype=object), table)
    assert pd.isna(out["total_norm_stratum"].iloc[0]) and np.isnan(out["total_percentile"].iloc[0])
    assert str(out["total_norm_reason"].iloc[0]).startswith("sex unknown")


@SETTINGS
@given(norm_id=st.sampled_from(IDS),
       rows=st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 50).map(float), st.floats(0, 50)),
                               st.one_of(st.none(), st.integers(0, 100)), SEXES), min_size=1, max_size=25),
       seed=st.integers(0, 2**16))
def test_rows_are_independent_and_columns_stable(norm_id: str, rows: list, seed: int) -> None:
    table = NORMS.get(norm_id)
    frame = pd.DataFrame(rows, columns=["total", "age", "sex"]).astype({"total": float})
    out = scoring.apply_norms(LIB[table.instrument_id], frame, table)
    cols = norm_columns("total")
    assert list(out.columns) == ["total", "age", "sex", *cols]
    assert [str(out[c].dtype) for c in cols] == ["float64"] * 3 + ["category"] * 3
    assert list(out["total_norm_reason"].cat.categories) == list(REASONS)
    order = np.random.default_rng(seed).permutation(len(frame))
    shuffled = scoring.apply_norms(LIB[table.instrument_id], frame.iloc[order], table)
    pd.testing.assert_frame_equal(shuffled.sort_index(), out)
    single = [scoring.apply_norms(LIB[table.instrument_id], frame.iloc[[i]], table) for i in range(len(frame))]
    pd.testing.assert_frame_equal(pd.concat(single)[cols[:3]], out[cols[:3]])
