"""Research ids, study keys, k-anonymity, ages, dates: what the profiles promise."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring
import scoring.export as ex
from scoring.export.anonymizer import SUPPRESSED, class_sizes, k_anonymize


def _gad2(patients: list[str], dates: list[str], **extra: object) -> pd.DataFrame:
    n = len(patients)
    return pd.DataFrame({"patient_id": patients, "date": dates, "instrument": "gad2",
                         "gad2_1": [i % 4 for i in range(n)], "gad2_2": [(i // 4) % 4 for i in range(n)], **extra})


# --- keys and research ids ------------------------------------------------------------------------------


def test_key_file_is_created_private_and_never_overwritten(tmp_path: Path) -> None:
    path = ex.create_key_file(tmp_path / "k")
    text = path.read_text().strip()
    assert len(text) == 64 and int(text, 16) >= 0
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ex.KeyFileError, match="already exists"):
        ex.create_key_file(path)
    assert path.read_text().strip() == text
    assert len(ex.create_key_file(tmp_path / "k512", bits=512).read_text().strip()) == 128


@pytest.mark.parametrize(("content", "message"), [
    ("ab" * 31, "248-bit key; at least 256 bits"),
    ("", "hexadecimal digits"),
    ("zz" * 40, "hexadecimal digits"),
    ("abc" * 21, "hexadecimal digits"),
])
def test_bad_key_files_are_refused_without_echoing_them(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "k"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(ex.KeyFileError, match=message) as err:
        ex.StudyKey.from_file(path)
    assert (not content) or content not in str(err.value)
    assert "psyscore export-key" in str(err.value)


def test_missing_or_shared_key_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ex.KeyFileError, match="does not exist"):
        ex.StudyKey.from_file(tmp_path / "nope")
    if os.name == "posix":
        path = ex.create_key_file(tmp_path / "k")
        path.chmod(0o644)
        with pytest.raises(ex.KeyFileError, match="chmod 600"):
            ex.StudyKey.from_file(path)


def test_key_never_shows_in_repr_or_manifest(tmp_path: Path, key_file: Path) -> None:
    key = ex.StudyKey.from_file(key_file)
    secret = key_file.read_text().strip()
    assert secret not in repr(key) and secret not in str(key)
    res = ex.export(_gad2(["a"] * 5, [f"2024-01-0{i}" for i in range(1, 6)]), tmp_path / "o",
                    profile="pseudonymised", key=key_file, k=1)
    assert secret not in res.manifest_path.read_text()
    assert res.manifest["study_key_fingerprint"] == key.fingerprint != secret[:16]


def test_profiles_and_keys_must_match(tmp_path: Path, key_file: Path) -> None:
    data = _gad2(["a"], ["2024-01-01"])
    with pytest.raises(ex.KeyFileError, match="needs a study key"):
        ex.prepare_export(data, profile="pseudonymised", k=1)
    with pytest.raises(ex.ExportError, match="use no key"):
        ex.prepare_export(data, profile="safe_harbor", key=key_file, k=1)
    with pytest.raises(ex.ExportError, match="unknown profile"):
        ex.prepare_export(data, profile="anonymous", k=1)


def test_pseudonyms_are_stable_within_a_study_and_differ_across_studies(tmp_path: Path) -> None:
    k1, k2 = ex.create_key_file(tmp_path / "a.key"), ex.create_key_file(tmp_path / "b.key")
    patients = [f"p{i}" for i in range(20)]
    # two instruments; each patient's answers encode the patient so that rows can be matched up
    frame = pd.concat([
        pd.DataFrame({"patient_id": patients, "date": "2024-03-01", "instrument": "gad2",
                      "gad2_1": [i % 4 for i in range(20)], "gad2_2": [i // 4 % 4 for i in range(20)]}),
        pd.DataFrame({"patient_id": patients, "date": "2024-04-01", "instrument": "phq2",
                      "phq2_1": [i % 4 for i in range(20)], "phq2_2": [i // 4 % 4 for i in range(20)]}),
    ])

    def ids(key: Path, instrument: str) -> dict[tuple[int, int], str]:
        d = ex.prepare_export(frame, profile="pseudonymised", key=key, instruments=[instrument], k=1).data
        return dict(zip(zip(d[f"{instrument}_1"], d[f"{instrument}_2"], strict=True), d["research_id"].astype(str),
                        strict=True))

    a_gad, a_phq, b_gad = ids(k1, "gad2"), ids(k1, "phq2"), ids(k2, "gad2")
    assert a_gad == a_phq  # the same patient links across two exports of one study
    assert not set(a_gad.values()) & set(b_gad.values())  # and not across studies
    assert ex.StudyKey.from_file(k1).pseudonyms([17])[0] == ex.StudyKey.from_file(k1).pseudonyms(["17"])[0]


def test_safe_harbor_ids_are_random_for_every_export() -> None:
    frame = _gad2([f"p{i}" for i in range(30)], ["2024-01-01"] * 30)
    first = ex.prepare_export(frame, profile="safe_harbor", k=1).data["research_id"].astype(str)
    second = ex.prepare_export(frame, profile="safe_harbor", k=1).data["research_id"].astype(str)
    assert first.str.fullmatch(r"[0-9a-f]{16}").all() and first.is_unique
    assert not set(first) & set(second)


# --- k-anonymity ----------------------------------------------------------------------------------------


def test_k_anonymize_suppresses_values_in_order_then_records() -> None:
    # 6 patients share (2020, band 3, female); 2 share (2021, band 3, female); 1 is alone (2022, band 9, male)
    qi = {"year": np.array([2020] * 6 + [2021] * 2 + [2022]), "age_band": np.array([3] * 8 + [9]),
          "sex": np.array([1] * 8 + [2])}
    codes, keep, rep = k_anonymize(qi, 9, 2)
    assert keep.tolist() == [True] * 8 + [False]  # the lone patient stays unique even with everything withheld
    assert codes["year"][:8].tolist() == [2020] * 6 + [2021] * 2
    assert rep.suppressed_values == {"year": 0, "age_band": 0, "sex": 0}  # counted among exported patients
    assert rep.suppressed_patients == 1 and rep.k_achieved == 2 and rep.patients_after == 8
    codes, keep, rep = k_anonymize(qi, 9, 3)
    # the pair and the lone patient lose year, then age band, then sex, and then form one group of three
    assert keep.all() and rep.k_achieved == 3
    for q in qi:
        assert codes[q].tolist() == qi[q][:6].tolist() + [SUPPRESSED] * 3
    assert rep.suppressed_values == {"year": 3, "age_band": 3, "sex": 3}
    _, keep, rep = k_anonymize(qi, 9, 3, strategy="records")
    assert keep.tolist() == [True] * 6 + [False] * 3
    assert rep.suppressed_values == {"year": 0, "age_band": 0, "sex": 0} and rep.suppressed_patients == 3


def test_class_sizes_count_exact_combinations() -> None:
    m = np.array([[1, 2], [1, 2], [1, 3], [SUPPRESSED, 2]])
    assert class_sizes(m).tolist() == [2, 2, 1, 1]
    assert class_sizes(np.zeros((3, 0), dtype=np.int64)).tolist() == [3, 3, 3]


@pytest.mark.parametrize("strategy", ["values", "records"])
@pytest.mark.parametrize("k", [2, 5, 10])
def test_every_exported_combination_has_at_least_k_patients(extract: pd.DataFrame, k: int, strategy: str) -> None:
    prep = ex.prepare_export(extract, profile="safe_harbor", k=k, suppression=strategy)
    data = prep.data
    # year QI = year of the patient's first administration, as exported (-9 when withheld)
    per_patient = data.groupby("research_id", observed=True).agg(
        year=("year", "min"), sex=("sex", "first"), age_band=("age_band", "first"))
    assert (data.groupby("research_id", observed=True)["year"].nunique() >= 1).all()
    sizes = per_patient.fillna(0).groupby(["year", "age_band", "sex"]).size()
    rep = prep.manifest["k_anonymity"]
    if sizes.empty:  # everyone was in a group smaller than k
        assert strategy == "records" and rep["k_achieved"] is None and rep["patients_after"] == 0
        return
    assert sizes.min() >= k
    assert rep["k"] == k and rep["k_achieved"] == sizes.min()
    assert rep["patients_after"] == len(per_patient) == prep.manifest["counts"]["patients_exported"]
    assert rep["patients_before"] - rep["suppressed_patients"] == rep["patients_after"]
    for q in ("year", "age_band", "sex"):
        assert rep["suppressed_values"][q] == int((per_patient[q] == SUPPRESSED).sum())
    if strategy == "records":
        assert not (per_patient == SUPPRESSED).any().any()
    withheld_year = per_patient.index[per_patient["year"] == SUPPRESSED]
    assert (data.loc[data["research_id"].isin(withheld_year), "year"] == SUPPRESSED).all()


def test_sex_specific_cutoffs_are_withheld_with_sex(library: scoring.Library) -> None:
    n = 12
    frame = pd.DataFrame({"patient_id": [f"p{i}" for i in range(n)], "date": "2024-01-01", "instrument": "audit_c",
                          "sex": ["female"] * 7 + ["male"] * 2 + ["other"] * 3, "audit_c_1": 1, "audit_c_2": 1,
                          "audit_c_3": 1})
    prep = ex.prepare_export(frame, profile="safe_harbor", k=5, quasi_identifiers=["sex"], library=library)
    data = prep.data
    withheld = data["sex"] == SUPPRESSED
    assert withheld.sum() == 5  # male (2) and other (3) withheld together form a group of 5
    cut = [c for c in data.columns if c.startswith("audit_c_total_") and c.split("_")[-1] not in
           ("band", "valid", "prorated", "answered", "code")]
    assert cut
    assert data.loc[withheld, cut].isna().all().all()
    assert data.loc[~withheld, cut].notna().all().all()


def test_k_larger_than_the_cohort_exports_nobody(library: scoring.Library) -> None:
    prep = ex.prepare_export(_gad2(["a", "b"], ["2024-01-01"] * 2), profile="safe_harbor", k=5, library=library)
    assert len(prep.data) == 0 and prep.manifest["k_anonymity"]["k_achieved"] is None


# --- ages -----------------------------------------------------------------------------------------------


def test_ages_over_89_are_90_plus(library: scoring.Library) -> None:
    births = ["1934-01-02", "1934-01-01", "1933-12-31", "1919-06-01", "2000-01-01"]  # at 2024-01-01: 89 … 24
    frame = _gad2([f"p{i}" for i in range(5)], ["2024-01-01"] * 5, birth_date=births, sex="female")
    prep = ex.prepare_export(frame, profile="safe_harbor", k=1, library=library)
    labels = ex.AgeBands().value_labels()
    got = sorted(labels[int(c)] for c in prep.data["age_band"])
    assert got == ["18-24", "85-89", "90+", "90+", "90+"]
    with pytest.raises(ex.ExportError, match="90 or lower"):
        ex.prepare_export(frame, profile="safe_harbor", k=1, age_bands=[0, 18, 65, 95], library=library)


def test_age_from_age_or_birth_year_and_from_a_patients_table(library: scoring.Library) -> None:
    frame = _gad2(["a", "a", "b"], ["2024-05-01", "2025-05-01", "2024-01-01"], age=[91, 92, 30])
    prep = ex.prepare_export(frame, profile="safe_harbor", k=1, library=library)
    assert sorted(prep.data.groupby("research_id", observed=True)["age_band"].first().tolist()) == [3, 10]
    patients = pd.DataFrame({"patient_id": ["a", "b"], "birth_year": [1990, 1930], "sex": ["m", "F"]})
    data = ex.ExportData(_gad2(["a", "b"], ["2024-05-01", "2024-05-01"]), patients)
    prep = ex.prepare_export(data, profile="safe_harbor", k=1, library=library)
    assert sorted(zip(prep.data["sex"], prep.data["age_band"], strict=True)) == [(1, 10), (2, 3)]


# --- dates ----------------------------------------------------------------------------------------------


def _key() -> ex.StudyKey:
    """A throw-away study key: relative days are offered only under the pseudonymised profile."""
    return ex.StudyKey(os.urandom(32))


def test_year_relative_and_none_date_modes(library: scoring.Library) -> None:
    frame = _gad2(["a", "a", "a", "b"], ["2023-12-30", "2024-01-04", "2024-03-01", "2022-06-15"])
    by_year = ex.prepare_export(frame, profile="safe_harbor", k=1, library=library).data
    assert sorted(by_year["year"].tolist()) == [2022, 2023, 2024, 2024]
    rel = ex.prepare_export(frame, profile="pseudonymised", key=_key(), k=1, dates="relative", library=library).data
    a = rel[rel["baseline_year"] == 2023]
    assert a["days_since_first"].tolist() == [0, 5, 62] and a["occasion"].tolist() == [1, 2, 3]
    assert rel.loc[rel["baseline_year"] == 2022, "days_since_first"].tolist() == [0]
    assert "year" not in rel.columns
    none = ex.prepare_export(frame, profile="safe_harbor", k=1, dates="none", library=library).data
    assert not {"year", "baseline_year", "days_since_first"} & set(none.columns)


def test_date_filters_and_baseline_within_the_export(library: scoring.Library) -> None:
    frame = _gad2(["a", "a", "a", "a"], ["2023-12-30", "2024-01-04", "2024-03-01", "2025-01-01"])
    prep = ex.prepare_export(frame, profile="pseudonymised", key=_key(), k=1, dates="relative",
                             date_from=date(2024, 1, 1), date_to=date(2024, 12, 31), library=library)
    assert prep.data["days_since_first"].tolist() == [0, 57] and prep.data["baseline_year"].tolist() == [2024] * 2
    assert prep.manifest["counts"]["rows_outside_filters"] == 2
    assert prep.manifest["filters"] == {"instruments": None, "from": "2024-01-01", "to": "2024-12-31",
                                        "date_granularity": "year"}
    with pytest.raises(ex.ExportError, match="date range is empty"):
        ex.prepare_export(frame, profile="safe_harbor", date_from=date(2024, 2, 1), date_to=date(2024, 1, 1))


def test_dates_as_datetimes_dates_and_text_agree(library: scoring.Library) -> None:
    text = ["2024-01-01", "2024-02-15T13:45:00", "2024-03-31"]
    frames = [_gad2(["a"] * 3, text),
              _gad2(["a"] * 3, list(pd.to_datetime(text, format="ISO8601").tz_localize("Europe/Berlin"))),
              _gad2(["a"] * 3, [d.date() for d in pd.to_datetime(text, format="ISO8601")])]
    got = [ex.prepare_export(f, profile="pseudonymised", key=_key(), k=1, dates="relative", library=library)
           .data["days_since_first"].tolist() for f in frames]
    assert got == [[0, 45, 90]] * 3


# --- scores and layouts ---------------------------------------------------------------------------------


def test_exported_scores_equal_the_engine(extract: pd.DataFrame, library: scoring.Library) -> None:
    prep = ex.prepare_export(extract, profile="safe_harbor", k=1, library=library)
    data = prep.data
    rows = data[data["instrument_id"] == "phq9"]
    items = rows[[f"phq9_{i}" for i in range(1, 11)]].astype("float64").reset_index(drop=True)
    expected = scoring.score(library["phq9"], items).scores
    assert np.allclose(rows["phq9_total"].to_numpy(), expected["total"].to_numpy(), equal_nan=True)
    bands = list(library["phq9"].instrument.scales[0].bands.ranges)
    got_bands = [bands[int(c) - 1].label if pd.notna(c) else None for c in rows["phq9_total_band"]]
    assert got_bands == [None if pd.isna(b) else b for b in expected["total_band"].astype(object)]
    assert rows["phq9_total_prorated"].astype(bool).tolist() == expected["total_prorated"].tolist()


def test_wide_layout_has_one_row_per_patient_with_the_same_values(extract: pd.DataFrame) -> None:
    key = ex.create_key_file(Path(pytest.importorskip("tempfile").mkdtemp()) / "k")
    long = ex.prepare_export(extract, profile="pseudonymised", key=key, k=1, dates="relative").data
    wide = ex.prepare_export(extract, profile="pseudonymised", key=key, k=1, dates="relative", layout="wide").data
    assert wide["research_id"].is_unique and len(wide) == long["research_id"].nunique()
    first = long[(long["instrument_id"] == "phq9") & (long["occasion"] == 1)].set_index("research_id")
    w = wide.set_index("research_id").loc[first.index]
    assert (w["phq9_total_t1"].to_numpy() == first["phq9_total"].to_numpy()).all()
    assert (w["phq9_days_t1"].to_numpy() == first["days_since_first"].to_numpy()).all()
    assert (w["phq9_version_t1"].astype(str) == "1.1.0").all()


def test_from_answers_pivots_one_answer_per_row(library: scoring.Library) -> None:
    adm = pd.DataFrame({"administration_id": [10, 11], "patient_id": [1, 2], "date": ["2024-01-01", "2024-01-02"],
                        "instrument_id": "gad2", "instrument_version": "1.0.0", "secret": "x"})
    answers = pd.DataFrame({"administration_id": [10, 10, 11, 11, 11], "item_id": ["gad2_1", "gad2_2", "gad2_1",
                                                                                  "gad2_2", "gad2_2"],
                            "value": [1, 2, 3, 0, 1]})
    prep = ex.prepare_export(ex.ExportData.from_answers(adm, answers), profile="safe_harbor", k=1, library=library)
    got = sorted(zip(prep.data["gad2_1"], prep.data["gad2_2"], prep.data["gad2_total"], strict=True))
    assert got == [(1, 2, 3.0), (3, 1, 4.0)]  # the last answer to an item wins
    assert "secret" not in prep.dropped_columns  # never even read: from_answers keeps the contract only


def test_unknown_instruments_and_versions_are_reported(library: scoring.Library) -> None:
    with pytest.raises(ex.ExportError, match="unknown instrument"):
        ex.prepare_export(_gad2(["a"], ["2024-01-01"]), profile="safe_harbor", instruments=["nope"], library=library)
    frame = _gad2(["a"], ["2024-01-01"], instrument_version="9.9.9")
    with pytest.raises(ex.ExportError, match=r"'9.9.9' of gad2 is not in the library \(versions: 1.0.0\)"):
        ex.prepare_export(frame, profile="safe_harbor", library=library)


def test_instrument_filter_keeps_only_those(extract: pd.DataFrame, library: scoring.Library) -> None:
    prep = ex.prepare_export(extract, profile="safe_harbor", k=1, instruments=["gad7"], library=library)
    assert set(prep.data["instrument_id"].astype(str)) == {"gad7"}
    assert not [c for c in prep.data.columns if c.startswith(("phq9", "epds"))]
    assert [i["id"] for i in prep.manifest["instruments"]] == ["gad7"]
