"""Nothing identifying leaves: sentinels in every identifying field, scanned in the bytes of every format."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring
import scoring.export as ex
from tests.export.conftest import MARK, export_bytes, identifier_strings

ALL_FORMATS = ["csv", "xlsx", "sav", "parquet"]
FIXED = {"research_id", "occasion", "year", "baseline_year", "days_since_first", "sex", "age_band",
         "instrument_id", "instrument_version"}


def _leaks(folder: Path, secrets: set[str]) -> list[tuple[str, str]]:
    found = []
    needles = [(s, s.encode("utf-8")) for s in secrets if s]
    for name, content in export_bytes(folder):
        for text, needle in needles:
            if needle in content or needle.lower() in content.lower():
                found.append((name, text))
    return found


@pytest.mark.parametrize(("profile", "dates"), [("safe_harbor", "year"), ("safe_harbor", "none"),
                                                ("pseudonymised", "year"), ("pseudonymised", "relative")])
@pytest.mark.parametrize("layout", ["long", "wide"])
def test_sentinels_never_appear_in_any_export_file(extract: pd.DataFrame, tmp_path: Path, key_file: Path,
                                                   profile: str, layout: str, dates: str) -> None:
    key = key_file if profile == "pseudonymised" else None
    res = ex.export(extract, tmp_path / "out", profile=profile, key=key, layout=layout, dates=dates,
                    formats=ALL_FORMATS, k=3)
    names = {p.name for p in res.paths}
    assert names == {"data.csv", "data.xlsx", "data.sav", "data.parquet", "codebook.csv", "codebook.md",
                     "manifest.json"}
    assert res.manifest["counts"]["administrations_exported"] > 0
    secrets = identifier_strings(extract)
    if key is not None:
        secrets.add(key_file.read_text().strip())
    assert _leaks(tmp_path / "out", secrets) == []


def test_only_allowlisted_columns_leave(extract: pd.DataFrame, library: scoring.Library) -> None:
    prep = ex.prepare_export(extract, profile="safe_harbor", k=3, library=library)
    item_ids = {it.id for i in ("phq9", "gad7", "audit_c", "epds") for it in library[i].instrument.items}
    for col in prep.data.columns:
        assert col in FIXED or col in item_ids or re.match(r"^(phq9|gad7|audit_c|epds)_[a-z0-9_]+$", col), col
    assert set(prep.dropped_columns) == {"birth_date", "name", "email", "phone", "address", "mrn", "external_id",
                                         "postcode", "notes", "clinician"} - {"birth_date"}
    assert prep.manifest["counts"]["input_columns_dropped"] == 9
    # the patient id never appears as a value, whatever the column
    values = prep.data.astype(str).to_numpy().ravel()
    assert not any(MARK in str(v) for v in values)


def test_unknown_columns_are_dropped_even_when_named_like_allowed_data(library: scoring.Library) -> None:
    frame = pd.DataFrame({"patient_id": ["a"] * 6, "date": [f"2024-01-0{i}" for i in range(1, 7)],
                          "instrument": "gad2", "gad2_1": 1, "gad2_2": 2, "gad2_3": f"{MARK}-extra item",
                          "research_id": f"{MARK}-forged", "sex_note": f"{MARK}", "year": f"{MARK}"})
    prep = ex.prepare_export(frame, profile="safe_harbor", k=1, library=library)
    assert not any(MARK in str(v) for v in prep.data.to_numpy().ravel())
    assert {"gad2_3", "research_id", "sex_note", "year"} <= set(prep.dropped_columns)


def test_free_text_in_an_item_cell_is_never_written(library: scoring.Library, tmp_path: Path) -> None:
    frame = pd.DataFrame({"patient_id": [f"p{i}" for i in range(6)], "date": "2024-05-01", "instrument": "gad2",
                          "gad2_1": ["1", "2", f"call {MARK} on 555", "0", "3", "1"], "gad2_2": "1"})
    res = ex.export(frame, tmp_path / "o", profile="safe_harbor", k=1, formats=ALL_FORMATS, library=library)
    assert res.manifest["counts"]["invalid_answer_cells"] == {"gad2": 1}
    assert res.data["gad2_1"].isna().sum() == 1
    assert _leaks(tmp_path / "o", {MARK}) == []


def test_errors_about_bad_input_name_rows_never_values(library: scoring.Library) -> None:
    base = {"patient_id": ["a", "b"], "date": ["2024-01-01", "2024-01-02"], "instrument": "gad2",
            "gad2_1": 1, "gad2_2": 1}
    cases = {
        "date": [f"{MARK}-1931-04-23", "2024-01-02"],
        "sex": ["female", f"{MARK} (patient said)"],
        "instrument": ["gad2", f"Alice {MARK}"],
        "birth_year": ["1950", f"{MARK}"],
        "instrument_version": ["1.0.0", f"{MARK}"],
    }
    for column, values in cases.items():
        frame = pd.DataFrame({**base, column: values})
        with pytest.raises(ex.ExportError) as err:
            ex.prepare_export(frame, profile="safe_harbor", k=1, library=library)
        message = str(err.value)
        assert MARK not in message and "1931" not in message, message
        assert "row" in message and repr(column) in message, message


def test_missing_required_column_is_reported(library: scoring.Library) -> None:
    with pytest.raises(ex.ExportError, match="no column 'date'"):
        ex.prepare_export(pd.DataFrame({"patient_id": ["a"], "instrument": ["gad2"]}), profile="safe_harbor",
                          library=library)


def test_no_identifier_reaches_stderr_or_stdout(extract: pd.DataFrame, tmp_path: Path, key_file: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from scoring.cli import main

    src = tmp_path / "in.csv"
    extract.to_csv(src, index=False)
    code = main(["export", "--profile", "pseudonymised", "--key-file", str(key_file), "--input", str(src),
                 "-o", str(tmp_path / "out"), "-k", "3", "--format", "csv", "--format", "sav"])
    out, err = capsys.readouterr()
    assert code == 0, err
    secrets = identifier_strings(extract) | {key_file.read_text().strip()}
    assert not [s for s in secrets if s in out + err]
    assert "dropped 9 input column(s)" in err  # names of the columns only


def test_index_of_the_input_never_leaks(library: scoring.Library, tmp_path: Path) -> None:
    frame = pd.DataFrame({"patient_id": [f"p{i}" for i in range(6)], "date": "2024-05-01", "instrument": "gad2",
                          "gad2_1": 1, "gad2_2": 2}, index=[f"{MARK}-row{i}" for i in range(6)])
    ex.export(frame, tmp_path / "o", profile="safe_harbor", k=1, formats=ALL_FORMATS, library=library)
    assert _leaks(tmp_path / "o", {MARK}) == []


def test_rows_are_not_in_internal_id_order(library: scoring.Library) -> None:
    n = 200
    frame = pd.DataFrame({"patient_id": np.arange(n), "date": "2024-05-01", "instrument": "gad2",
                          "gad2_1": np.arange(n) % 4, "gad2_2": (np.arange(n) // 4) % 4})
    prep = ex.prepare_export(frame, profile="safe_harbor", k=1, dates="none", library=library)
    # the research ids are sorted; the answers (a function of the internal id here) are shuffled
    assert prep.data["research_id"].astype(str).is_monotonic_increasing
    assert not (prep.data["gad2_1"].to_numpy() == np.arange(n) % 4).all()
