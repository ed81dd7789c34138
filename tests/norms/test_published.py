"""Every shipped norm table reproduces its published values.

The numbers below are typed from the sources named in each table's ``seen_at`` (not read from the CSVs),
so a transcription change in ``norms/`` fails here. Mean/SD tables: the published mean gives z = 0 and
T = 50, mean + 1 SD gives T = 60. Percentile tables: published rows read back exactly through
``apply_norms``; omitted rows take the cumulative % of the score below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.definitions.library import Library
from scoring.norms import NormLibrary

# (norm id, instrument, {stratum: (mean, sd) on the published metric}, respondent columns per stratum)
MEAN_SD = [
    ("phq9_kocalevent2013_de_sex", "phq9", {"female": (3.1, 3.5), "male": (2.7, 3.5)},
     {"female": {"sex": "female"}, "male": {"sex": "male"}}),
    ("phq9_kocalevent2013_de_age", "phq9",
     {"age_14_24": (2.3, 3.3), "age_25_34": (2.3, 3.2), "age_35_44": (2.6, 3.5), "age_45_54": (2.8, 3.5),
      "age_55_64": (3.2, 3.5), "age_65_74": (3.3, 3.6), "age_75_plus": (4.4, 3.9)},
     {"age_14_24": {"age": 14}, "age_25_34": {"age": 34}, "age_35_44": {"age": 40}, "age_45_54": {"age": 54},
      "age_55_64": {"age": 55}, "age_65_74": {"age": 70}, "age_75_plus": {"age": 99}}),
    ("gad7_lowe2008_de_sex", "gad7", {"female": (3.2, 3.5), "male": (2.7, 3.2)},
     {"female": {"sex": "w"}, "male": {"sex": "M"}}),
    ("phq15_kocalevent2013_de_sex", "phq15", {"female": (4.3, 4.1), "male": (3.4, 4.0)},
     {"female": {"sex": "woman"}, "male": {"sex": "man"}}),
    ("pss10_cohen_williamson1988_us1983_sex", "pss10", {"female": (13.7, 6.6), "male": (12.1, 5.9)},
     {"female": {"sex": "f"}, "male": {"sex": "m"}}),
    ("pss10_cohen_janickideverts2012_us2009_sex", "pss10", {"female": (16.14, 7.56), "male": (15.52, 7.44)},
     {"female": {"sex": "female"}, "male": {"sex": "male"}}),
    ("pss10_cohen_janickideverts2012_us2009_age", "pss10",
     {"age_18_24": (16.78, 6.86), "age_25_34": (17.46, 7.31), "age_35_44": (16.38, 7.04),
      "age_55_64": (14.5, 7.2), "age_65_plus": (11.09, 6.77)},
     {"age_18_24": {"age": 18}, "age_25_34": {"age": 25}, "age_35_44": {"age": 44}, "age_55_64": {"age": 64},
      "age_65_plus": {"age": 65}}),
    ("core10_connell_barkham2007_uk_general", "core10", {"all": (4.7, 4.8)}, {"all": {}}),
    ("core10_connell_barkham2007_uk_primarycare", "core10", {"all": (19.7, 7.7)}, {"all": {}}),
    # Peitz et al. 2024 abstract: metric ("logit-transformed") M = 24.79, SD = 3.73, adults 18+
    ("swemwbs_peitz2024_de_total", "swemwbs", {"all": (24.79, 3.73)}, {"all": {"age": 18}}),
    # Clarke et al. 2011 abstract: pupils aged 13-16, mean 48.8 (SD 6.8)
    ("wemwbs_clarke2011_uk_teen", "wemwbs", {"age_13_16": (48.8, 6.8)}, {"age_13_16": {"age": 13}}),
    # Gerber et al. 2016, adolescent sample table: ISI total score M 6.67, SD 4.39
    ("isi_gerber2016_adolescents", "isi", {"all": (6.67, 4.39)}, {"all": {}}),
    # PCL-5 reference groups as listed in the measurely repository (Bovin 2016 veterans; Ashbaugh 2016 students)
    ("pcl5_bovin2016_us_veterans", "pcl5", {"all": (36.97, 21.16)}, {"all": {}}),
    ("pcl5_ashbaugh2016_ca_students", "pcl5", {"all": (20.9, 17.7)}, {"all": {}}),
    # Psychol Res Behav Manag 2023;16:2647 abstract: Japanese web panel aged 20-59, N = 3254,
    # "The mean (standard deviation) K6 scores were 5.71 (5.84) at T1"
    ("k6_prbm2023_jp_web_panel", "k6", {"age_20_59": (5.71, 5.84)}, {"age_20_59": {"age": 20}}),
]


@pytest.mark.parametrize(("norm_id", "instrument", "published", "who"), MEAN_SD, ids=[m[0] for m in MEAN_SD])
def test_published_mean_gives_t_50(norm_id: str, instrument: str, published: dict, who: dict,
                                   lib: Library, norms: NormLibrary) -> None:
    table = norms.get(norm_id)
    assert table.method == "mean_sd" and table.instrument_id == instrument
    assert {s.id for s in table.strata} == set(published)
    rows = []
    for stratum, (mean, sd) in published.items():
        assert table.moments(stratum) == pytest.approx((mean, sd), abs=1e-12)
        rows += [{"total": mean, **who[stratum], "want": stratum, "t_want": 50.0},
                 {"total": mean + sd, **who[stratum], "want": stratum, "t_want": 60.0},
                 {"total": mean - 2 * sd, **who[stratum], "want": stratum, "t_want": 30.0}]
    out = scoring.apply_norms(lib[instrument], pd.DataFrame(rows), table)
    assert list(out["total_norm_stratum"].astype(str)) == list(out["want"])
    np.testing.assert_allclose(out["total_t"], out["t_want"], atol=1e-9)
    np.testing.assert_allclose(out["total_z"], (out["t_want"] - 50) / 10, atol=1e-12)
    assert out["total_percentile"].isna().all()
    assert set(out["total_norm_reason"].astype(str)) == {"mean/SD norms: no percentile (a normal-curve percentile "
                                                         "would assume a distribution)"}


def test_k10_lehmann_converted_exactly_from_0_40(lib: Library, norms: NormLibrary) -> None:
    table = norms.get("k10_lehmann2023_eu7")
    # published: 8.5 (7.3) on 0-40; psyscore's k10 is 10-50 (each respondent's total + 10)
    assert table.moments("all") == pytest.approx((18.5, 7.3))
    scores = pd.DataFrame({"total": [18.5, 25.8, 10.0]})
    out = scoring.apply_norms(lib["k10"], scores, table)
    np.testing.assert_allclose(out["total_t"], [50.0, 60.0, 50 + 10 * (10 - 18.5) / 7.3])


def test_k10_apply_from_item_answers(lib: Library, norms: NormLibrary) -> None:
    """End to end: answers on 1-5 → 10-50 total → T; all answers 'none of the time' (0 on 0-40)."""
    answers = pd.DataFrame({f"k10_{i}": [1] for i in range(1, 11)})
    result = scoring.score(lib["k10"], answers)
    out = scoring.apply_norms(lib["k10"], result.scores, norms.get("k10_lehmann2023_eu7"))
    assert out.loc[0, "total"] == 10
    assert out.loc[0, "total_z"] == pytest.approx((0 - 8.5) / 7.3)


# Kliem et al. 2024 (PHQ-9) and 2025 (GAD-7), cumulative % at or below, as transcribed in
# DarianFaur/ClinCog public/norms.js @058484e1 (rows the articles leave out are absent)
PHQ9_TOTAL = {0: 41.0, 1: 52.3, 2: 64.3, 3: 72.9, 4: 79.2, 5: 83.8, 6: 87.5, 7: 89.4, 8: 92.1, 9: 93.9, 10: 95.0,
              11: 95.9, 12: 96.4, 13: 97.2, 14: 97.8, 15: 98.3, 16: 98.8, 17: 99.0, 18: 99.0, 19: 99.3, 20: 99.5,
              21: 99.6, 22: 99.7, 23: 99.8, 25: 99.8, 26: 99.9, 27: 99.9}
PHQ9_MALE = {0: 44.9, 1: 56.7, 2: 68.1, 3: 76.2, 4: 82.2, 5: 86.5, 6: 89.8, 7: 91.5, 8: 93.7, 9: 94.8, 10: 95.6,
             11: 96.4, 12: 96.8, 13: 97.5, 14: 98.0, 15: 98.5, 16: 99.0, 18: 99.1, 19: 99.3, 20: 99.4, 21: 99.6,
             23: 99.7, 25: 99.8, 27: 99.9}
PHQ9_FEMALE = {0: 37.4, 1: 48.5, 2: 61.1, 3: 70.1, 4: 76.9, 5: 81.5, 6: 85.6, 7: 88.0, 8: 90.8, 9: 93.1, 10: 94.4,
               11: 95.3, 12: 96.0, 13: 97.0, 14: 97.6, 15: 98.0, 16: 98.6, 17: 98.9, 19: 99.2, 20: 99.5, 21: 99.6,
               22: 99.8, 23: 99.8, 26: 99.9, 27: 99.9}
GAD7_TOTAL = {0: 47.8, 1: 60.5, 2: 70.1, 3: 76.7, 4: 81.3, 5: 85.9, 6: 89.4, 7: 93.2, 8: 94.7, 9: 95.7, 10: 96.7,
              11: 97.5, 12: 98.0, 13: 98.5, 14: 99.0, 15: 99.2, 16: 99.4, 17: 99.6, 18: 99.7, 19: 99.8, 20: 99.8,
              21: 99.9}
GAD7_MALE = {0: 51.6, 1: 63.5, 2: 73.5, 3: 79.0, 4: 83.4, 5: 87.4, 6: 90.7, 7: 94.0, 8: 95.4, 9: 96.2, 10: 97.1,
             11: 98.1, 12: 98.2, 13: 98.7, 14: 99.0, 16: 99.2, 17: 99.4, 18: 99.6, 19: 99.7, 20: 99.7, 21: 99.9}
GAD7_FEMALE = {0: 44.3, 1: 57.9, 2: 67.0, 3: 74.6, 4: 79.5, 5: 84.6, 6: 88.4, 7: 92.5, 8: 94.1, 9: 95.2, 10: 96.4,
               11: 97.1, 12: 97.8, 13: 98.4, 14: 99.0, 15: 99.5, 16: 99.6, 17: 99.7, 18: 99.8, 19: 99.9, 21: 99.9}

PERCENTILE = [
    ("phq9_kliem2024_de_total", "phq9", 27, {"all": PHQ9_TOTAL}, {"all": {}}),
    ("phq9_kliem2024_de_sex", "phq9", 27, {"male": PHQ9_MALE, "female": PHQ9_FEMALE},
     {"male": {"sex": "male"}, "female": {"sex": "female"}}),
    ("gad7_kliem2025_de_total", "gad7", 21, {"all": GAD7_TOTAL}, {"all": {}}),
    ("gad7_kliem2025_de_sex", "gad7", 21, {"male": GAD7_MALE, "female": GAD7_FEMALE},
     {"male": {"sex": "m"}, "female": {"sex": "f"}}),
]


@pytest.mark.parametrize(("norm_id", "instrument", "top", "published", "who"), PERCENTILE,
                         ids=[p[0] for p in PERCENTILE])
def test_published_percentile_rows_read_back(norm_id: str, instrument: str, top: int, published: dict, who: dict,
                                             lib: Library, norms: NormLibrary) -> None:
    table = norms.get(norm_id)
    assert table.method == "percentile" and table.meta.percentile_definition == "at_or_below"
    rows = [{"total": float(raw), **who[s], "stratum": s} for s in published for raw in range(top + 1)]
    out = scoring.apply_norms(lib[instrument], pd.DataFrame(rows), table)
    for (_, row), (_, got) in zip(pd.DataFrame(rows).iterrows(), out.iterrows(), strict=True):
        stratum, raw = row["stratum"], int(row["total"])
        listed = published[stratum]
        below = max(r for r in listed if r <= raw)
        assert got["total_percentile"] == listed[below], (stratum, raw)  # exact, no rounding anywhere
        reason = str(got["total_norm_reason"])
        assert ("nobody in the stratum had this score" in reason) == (raw not in listed), (stratum, raw)
        assert np.isnan(got["total_t"]) and np.isnan(got["total_z"])


def test_kliem_omitted_rows_are_the_ones_the_reference_lists(norms: NormLibrary) -> None:
    implied = {s: [raw for raw in range(28) if norms.get("phq9_kliem2024_de_sex").compiled.implied[k, raw]]
               for k, s in enumerate(["female", "male"])}
    assert implied == {"female": [18, 24, 25], "male": [17, 22, 24, 26]}
    t = norms.get("phq9_kliem2024_de_sex")
    assert t.lookup("male", 17) == 99.0 and t.lookup("male", 26) == 99.8 and t.lookup("female", 25) == 99.8


def test_kliem_severity_bands_add_up_to_the_cumulative_table(norms: NormLibrary) -> None:
    """Kliem 2024 Table 3 band percentages (79.24, 14.69, 3.85, 1.51) against the cumulative Table 2."""
    t = norms.get("phq9_kliem2024_de_total")
    cum = np.cumsum([79.24, 14.69, 3.85, 1.51])
    assert [t.lookup("all", r) for r in (4, 9, 14, 19)] == [round(float(c), 1) for c in cum]
    g = norms.get("gad7_kliem2025_de_total")
    assert [g.lookup("all", r) for r in (4, 9, 14)] == [round(float(c), 1) for c in np.cumsum([81.30, 14.37, 3.29])]


def test_kocalevent_age_bands_add_up_to_the_published_n(norms: NormLibrary) -> None:
    t = norms.get("phq9_kocalevent2013_de_age")
    assert sum(s.n or 0 for s in t.strata) == t.meta.n == 5018
    weighted = sum((s.n or 0) * t.moments(s.id)[0] for s in t.strata) / 5018
    assert round(weighted, 2) == 2.91


def test_every_table_states_its_provenance(norms: NormLibrary) -> None:
    for norm_id in norms:
        m = norms.get(norm_id).meta
        assert m.citations and m.source_url.startswith("http") and m.seen_at, norm_id
        if m.evidence == "secondary":
            assert any("econdary" in c for c in m.caveats), f"{norm_id}: a secondary table says so to users"


def test_k6_japanese_panel_keeps_to_its_age_band(lib: Library, norms: NormLibrary) -> None:
    """Aged 20-59 only: 19- and 60-year-olds get no stratum (never a neighbouring one); 59 still matches."""
    table = norms.get("k6_prbm2023_jp_web_panel")
    scores = pd.DataFrame({"total": [5.71, 5.71, 11.55, 5.71], "age": [19, 59, 35.9, 60]})
    out = scoring.apply_norms(lib["k6"], scores, table, age="age")
    assert out["total_norm_stratum"].tolist()[1:3] == ["age_20_59", "age_20_59"]
    assert out["total_norm_stratum"].isna().tolist() == [True, False, False, True]
    np.testing.assert_allclose(out["total_t"], [np.nan, 50.0, 60.0, np.nan])
    assert table.meta.evidence == "primary" and table.meta.n == 3254
