"""apply_norms and explain(norms=): refusals, age at the administration date, methods, receipts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.definitions.library import Library
from scoring.norms import NormError, NormLibrary, UnknownNormError, load_norms
from scoring.norms.apply import REASONS, completed_years

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def fixtures(lib: Library) -> NormLibrary:
    loaded = load_norms([FIXTURES / "good"], library=lib)
    assert loaded.report.ok, str(loaded.report)
    return loaded


def test_refuses_a_version_the_table_does_not_declare(lib: Library, norms: NormLibrary) -> None:
    table = norms.get("phq9_kliem2024_de_total")
    newer = lib["phq9"].instrument.model_copy(update={"version": "9.0.0"})
    with pytest.raises(NormError, match=r"declares phq9 version\(s\) 1.0.0, 1.1.0, not 9.0.0"):
        scoring.apply_norms(scoring.Definition(newer), pd.DataFrame({"total": [3.0]}), table)


def test_refuses_another_instrument(lib: Library, norms: NormLibrary) -> None:
    with pytest.raises(NormError, match="is for gad7, not phq9"):
        scoring.apply_norms(lib["phq9"], pd.DataFrame({"total": [3.0]}), norms.get("gad7_lowe2008_de_sex"))


def test_missing_columns_are_named(lib: Library, norms: NormLibrary) -> None:
    with pytest.raises(NormError, match="stratified by sex: no column 'gender'"):
        scoring.apply_norms(lib["phq9"], pd.DataFrame({"total": [3.0]}), norms.get("phq9_kliem2024_de_sex"),
                            sex="gender")
    with pytest.raises(NormError, match="stratified by age: no column 'age'"):
        scoring.apply_norms(lib["phq9"], pd.DataFrame({"total": [3.0]}), norms.get("phq9_kocalevent2013_de_age"))
    with pytest.raises(NormError, match="needs date="):
        scoring.apply_norms(lib["phq9"], pd.DataFrame({"total": [3.0], "dob": ["1990-01-01"]}),
                            norms.get("phq9_kocalevent2013_de_age"), birth_date="dob")
    with pytest.raises(NormError, match="no column 'total'"):
        scoring.apply_norms(lib["phq9"], pd.DataFrame({"x": [3.0]}), norms.get("phq9_kliem2024_de_total"))


def test_unknown_norm_id_suggests(norms: NormLibrary) -> None:
    with pytest.raises(UnknownNormError, match="did you mean 'phq9_kliem2024_de_sex'"):
        norms.get("phq9_kliem2024_de_sx")
    assert "phq9_kliem2024_de_sx" not in norms


def test_for_instrument(norms: NormLibrary) -> None:
    ids = [t.id for t in norms.for_instrument("phq9")]
    assert ids == sorted(ids) and "phq9_kocalevent2013_de_sex" in ids and all(i.startswith("phq9") for i in ids)
    assert norms.for_instrument("phq9", "9.9.9") == []
    assert norms.for_instrument("nope") == []


def test_age_is_taken_at_the_administration_date(lib: Library, norms: NormLibrary) -> None:
    table = norms.get("phq9_kocalevent2013_de_age")
    scores = pd.DataFrame({
        "total": [5.0, 5.0, 5.0, 5.0, 5.0],
        "dob": ["1990-06-15", "1990-06-15", None, "2030-01-01", "15.06.1990"],
        "seen": pd.to_datetime(["2024-06-14", "2024-06-15", "2024-01-01", "2024-01-01", "2024-01-01"]),
    })
    out = scoring.apply_norms(lib["phq9"], scores, table, birth_date="dob", date="seen")
    # 33 the day before the 34th birthday, 34 on it: both 25-34; then no birth date, a future birth date and a
    # non-ISO date are unknown ages
    assert list(out["total_norm_stratum"].astype(object).where(out["total_norm_stratum"].notna(), None)) == [
        "age_25_34", "age_25_34", None, None, None]
    assert list(out["total_norm_reason"].astype(str))[2:] == [REASONS[2]] * 3
    boundary = scoring.apply_norms(lib["phq9"], pd.DataFrame({"total": [5.0, 5.0],
                                                              "dob": ["1989-06-15", "1989-06-16"],
                                                              "seen": ["2024-06-15", "2024-06-15"]}),
                                   table, birth_date="dob", date="seen")
    assert list(boundary["total_norm_stratum"].astype(str)) == ["age_35_44", "age_25_34"]


def test_completed_years_leap_day() -> None:
    got = completed_years(pd.Series(["2000-02-29", "2000-02-29", "2000-02-29"]),
                          pd.Series(["2023-02-28", "2023-03-01", "2024-02-29"]))
    assert got.tolist() == [22.0, 23.0, 24.0]


def test_fractional_age_is_floored(lib: Library, norms: NormLibrary) -> None:
    out = scoring.apply_norms(lib["phq9"], pd.DataFrame({"total": [4.0, 4.0], "age": [24.99, 25.0]}),
                              norms.get("phq9_kocalevent2013_de_age"))
    assert list(out["total_norm_stratum"].astype(str)) == ["age_14_24", "age_25_34"]


def test_score_not_in_a_percentile_table(lib: Library, norms: NormLibrary) -> None:
    out = scoring.apply_norms(lib["phq9"], pd.DataFrame({"total": [12.5, 28.0, -1.0, np.nan]}),
                              norms.get("phq9_kliem2024_de_total"))
    assert out["total_percentile"].isna().all()
    assert list(out["total_norm_reason"].astype(str)) == [REASONS[4]] * 3 + [REASONS[0]]
    assert list(out["total_norm_stratum"].astype(str)) == ["all"] * 4  # stratum is known even without a score


def test_lookup_t_method(lib: Library, fixtures: NormLibrary) -> None:
    table = fixtures.get("good_gad7_t")  # fixture: T = 40 + 2·raw
    out = scoring.apply_norms(lib["gad7"], pd.DataFrame({"total": [0.0, 5.0, 21.0]}), table)
    assert out["total_t"].tolist() == [40.0, 50.0, 82.0]
    assert out["total_z"].tolist() == pytest.approx([-1.0, 0.0, 3.2])
    assert out["total_percentile"].isna().all()
    assert set(out["total_norm_reason"].astype(str)) == {"T table: no percentile"}


def test_fixture_with_conversion_and_open_age_band(lib: Library, fixtures: NormLibrary) -> None:
    table = fixtures.get("good_k10_age")  # 0-40 means 10 and 6 → 20 and 16 on 10-50
    out = scoring.apply_norms(lib["k10"], pd.DataFrame({"total": [20.0, 16.0, 16.0], "age": [18, 120, 17]}), table)
    assert out["total_t"].tolist()[:2] == [50.0, 50.0]
    assert np.isnan(out["total_t"].iloc[2]) and str(out["total_norm_reason"].iloc[2]) == REASONS[3]


def test_vectorized_on_many_rows(lib: Library, norms: NormLibrary) -> None:
    rng = np.random.default_rng(1)
    n = 200_000
    scores = pd.DataFrame({"total": rng.integers(0, 28, n).astype(float),
                           "sex": rng.choice(np.array(["f", "m", None], dtype=object), n)})
    out = scoring.apply_norms(lib["phq9"], scores, norms.get("phq9_kliem2024_de_sex"))
    known = scores["sex"].notna().to_numpy()
    assert out["total_percentile"].notna().to_numpy().tolist() == known.tolist()


def test_explain_adds_the_norm_line(lib: Library, norms: NormLibrary) -> None:
    table = norms.get("phq9_kliem2024_de_sex")
    receipt = scoring.explain(lib["phq9"], [1, 1, 1, 1, 0, 0, 0, 0, 0], respondent={"age": 30, "sex": "male"},
                              norms=table)
    line = receipt.scales[0].lines[-1]
    assert line.startswith("norms phq9_kliem2024_de_sex [secondary evidence], stratum male (Men): percentile 82.2")
    assert "(% at or below)" in line and "Kliem S" in line and "doi:10.3389/fpsyt.2024.1483782" in line
    assert line in receipt.to_dict()["scales"][0]["derivation"]
    t = scoring.explain(lib["phq9"], [1, 1, 1, 1, 0, 0, 0, 0, 0], respondent={"sex": "f"},
                        norms=norms.get("phq9_kocalevent2013_de_sex"))
    assert "stratum female (Women (all ages in the survey)): percentile —, z +0.26, T 52.6" in t.scales[0].lines[-1]
    no_age = scoring.explain(lib["phq9"], [0] * 9, norms=norms.get("phq9_kocalevent2013_de_age"))
    assert "no stratum" in no_age.scales[0].lines[-1] and "age unknown" in no_age.scales[0].lines[-1]
    with pytest.raises(NormError):
        scoring.explain(lib["gad7"], [0] * 7, norms=table)
