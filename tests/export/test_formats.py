"""Round trips (SAV labels, XLSX sheets, Parquet metadata, CSV), manifest hashes, formula injection."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring
import scoring.export as ex
from scoring.export.codebook import Variable, valid_spss_name
from scoring.export.writers import write_csv, write_parquet, write_sav, write_xlsx

ALL_FORMATS = ["csv", "xlsx", "sav", "parquet"]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, extract: pd.DataFrame) -> ex.ExportResult:
    return ex.export(extract, tmp_path_factory.mktemp("x") / "out", profile="safe_harbor", formats=ALL_FORMATS, k=3)


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as plain objects for comparison: categoricals as text, missing as None."""
    out = {}
    for c in frame.columns:
        s = frame[c].astype(object)
        out[c] = s.where(frame[c].notna(), None)
    return pd.DataFrame(out)


def _missing(v: object) -> bool:
    return v is None or v is pd.NA or v == "" or (isinstance(v, float) and np.isnan(v))


def _same(a: object, b: object) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    try:
        return float(a) == float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(a) == str(b)


def _assert_equal(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    exp = _expected(expected)
    for c in exp.columns:
        bad = [(i, a, b) for i, (a, b) in enumerate(zip(exp[c], got[c], strict=True)) if not _same(a, b)]
        assert not bad, (c, bad[:3])


def test_manifest_hashes_match_the_files(written: ex.ExportResult) -> None:
    folder = written.manifest_path.parent
    manifest = json.loads(written.manifest_path.read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {p.name for p in written.paths[:-1]}
    assert ex.verify(folder) == []
    (folder / "data.csv").write_bytes((folder / "data.csv").read_bytes() + b"\n")
    assert ex.verify(folder) == ["data.csv"]


def test_manifest_content(written: ex.ExportResult, library: scoring.Library) -> None:
    m = written.manifest
    assert m["profile"] == "safe_harbor" and m["engine"]["version"] == scoring.__version__
    assert m["study_key_fingerprint"] is None
    assert {(i["id"], i["version"], i["hash"]) for i in m["instruments"]} == {
        (i, library[i].version, library[i].hash) for i in ("audit_c", "epds", "gad7", "phq9")}
    assert sum(i["administrations"] for i in m["instruments"]) == m["counts"]["administrations_exported"]
    assert m["counts"]["rows_written"] == len(written.data)
    assert m["k_anonymity"]["k"] == 3 and m["k_anonymity"]["k_achieved"] >= 3
    assert m["norms"] == [] and m["formats"] == ALL_FORMATS


def test_csv_round_trip(written: ex.ExportResult) -> None:
    folder = written.manifest_path.parent
    got = pd.read_csv(folder / "data.csv", dtype=object, keep_default_na=False, na_values=[""])
    got = got.astype(object).where(got.notna(), None)
    _assert_equal(written.data, got)


def test_sav_round_trip_keeps_variable_and_value_labels(written: ex.ExportResult) -> None:
    import pyreadstat

    folder = written.manifest_path.parent
    frame, meta = pyreadstat.read_sav(str(folder / "data.sav"), user_missing=True)
    _assert_equal(written.data, frame.astype(object).where(frame.notna(), None))
    labels = meta.column_names_to_labels
    assert labels["phq9_1"].startswith("PHQ-9 item 1: Little interest or pleasure")
    assert labels["epds_1"].startswith("EPDS item 1: ")  # descriptor, not the copyrighted wording
    assert "Depression severity" in labels["phq9_total"]
    values = meta.variable_value_labels
    assert values["phq9_1"] == {0.0: "Not at all", 1.0: "Several days", 2.0: "More than half the days",
                                3.0: "Nearly every day"}
    assert values["phq9_total_band"][1.0] == "None–minimal" and values["phq9_total_band"][5.0] == "Severe"
    assert values["sex"] == {1.0: "female", 2.0: "male", 3.0: "other"}
    assert values["age_band"][10.0] == "90+"
    assert meta.missing_ranges["sex"] == [{"lo": -9.0, "hi": -9.0}]
    assert meta.variable_measure["phq9_total"] == "scale" and meta.variable_measure["sex"] == "nominal"


def test_xlsx_round_trip_has_data_and_codebook_sheets(written: ex.ExportResult) -> None:
    import openpyxl

    folder = written.manifest_path.parent
    wb = openpyxl.load_workbook(folder / "data.xlsx", read_only=True)
    assert wb.sheetnames == ["data", "codebook"]
    rows = list(wb["data"].iter_rows(values_only=True, max_col=written.data.shape[1]))
    got = pd.DataFrame(rows[1:], columns=rows[0], dtype=object)
    _assert_equal(written.data, got)
    cb = list(wb["codebook"].iter_rows(values_only=True))
    assert cb[0][:3] == ("variable", "label", "kind")
    assert [r[0] for r in cb[1:]] == list(written.data.columns)
    wb.close()


def test_parquet_round_trip_keeps_metadata(written: ex.ExportResult) -> None:
    import pyarrow.parquet as pq

    folder = written.manifest_path.parent
    table = pq.read_table(folder / "data.parquet")
    _assert_equal(written.data, table.to_pandas())
    field = table.schema.field("phq9_total_band")
    meta = {k.decode(): v.decode() for k, v in field.metadata.items()}
    assert meta["label"] == "PHQ-9 Depression severity: band"
    assert json.loads(meta["value_labels"])["5"] == "Severe"
    assert "Kroenke" in meta["rule.bands_source"]
    sex = {k.decode(): v.decode() for k, v in table.schema.field("sex").metadata.items()}
    assert json.loads(sex["missing_codes"]) == {"-9": "withheld by k-anonymity suppression (disclosure control)"}
    summary = json.loads(table.schema.metadata[b"psyscore"])
    assert summary["profile"] == "safe_harbor" and summary["k_anonymity"]["k"] == 3
    assert {i["id"] for i in summary["instruments"]} == {"audit_c", "epds", "gad7", "phq9"}


def test_codebook_files_describe_every_variable(written: ex.ExportResult) -> None:
    folder = written.manifest_path.parent
    cb = pd.read_csv(folder / "codebook.csv", dtype=object, keep_default_na=False)
    assert cb["variable"].tolist() == list(written.data.columns)
    md = (folder / "codebook.md").read_text(encoding="utf-8")
    assert "# Codebook" in md and "| phq9_total |" in md and "Kroenke" in md
    assert "Edinburgh Postnatal Depression Scale" in md  # licence and citation per instrument


def test_formula_injection_is_neutralised_in_every_format(tmp_path: Path) -> None:
    import openpyxl
    import pyarrow.parquet as pq
    import pyreadstat

    risky = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", "safe", "＝fullwidth"]
    frame = pd.DataFrame({"text": pd.Series(risky, dtype=object),
                          "cat": pd.Categorical(risky),
                          "num": np.arange(len(risky), dtype=float) - 3})
    variables = [Variable("text", "=label", "item", "string"), Variable("cat", "+label", "item", "string"),
                 Variable("num", "-label", "score", "float", value_labels={-3.0: "=minus three"})]
    expected = ["'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd", "'\tTAB", "'\rCR", "safe", "'＝fullwidth"]
    write_csv(frame, tmp_path / "d.csv")
    with open(tmp_path / "d.csv", newline="", encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    assert [r["text"] for r in got] == expected and [r["cat"] for r in got] == expected
    assert got[0]["num"] == "-3"  # numbers stay numbers
    write_xlsx(frame, pd.DataFrame({"variable": ["=x"], "label": ["@y"]}), tmp_path / "d.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "d.xlsx")
    cells = [c.value for row in wb["data"].iter_rows(min_row=2) for c in row[:2]]
    # XML parsers turn a literal carriage return into a line feed; the apostrophe is what matters
    assert sorted(cells) == sorted([e.replace("\r", "\n") for e in expected] * 2)
    assert all(c.data_type != "f" for ws in wb for row in ws.iter_rows() for c in row)
    assert [c.value for c in wb["codebook"][2]] == ["'=x", "'@y"]
    write_sav(frame, variables, tmp_path / "d.sav")
    sav, meta = pyreadstat.read_sav(str(tmp_path / "d.sav"))
    assert sav["text"].tolist() == expected
    assert meta.column_names_to_labels["text"] == "'=label"
    assert meta.variable_value_labels["num"] == {-3.0: "'=minus three"}
    write_parquet(frame, variables, tmp_path / "d.parquet", metadata={})
    pqt = pq.read_table(tmp_path / "d.parquet").to_pandas()
    assert pqt["text"].tolist() == expected and [str(x) for x in pqt["cat"]] == expected


def test_codebook_text_from_definitions_is_neutralised(tmp_path: Path) -> None:
    lib = scoring.load_library([Path(__file__).parent / "definitions"])
    frame = pd.DataFrame({"patient_id": [f"p{i}" for i in range(5)], "date": "2024-02-02", "instrument": "formula",
                          "formula_1": [0, 1, 2, 0, 1], "formula_2": 1})
    res = ex.export(frame, tmp_path / "o", profile="safe_harbor", k=1, formats=ALL_FORMATS, library=lib)
    cb = pd.read_csv(tmp_path / "o" / "codebook.csv", dtype=object, keep_default_na=False)
    text = cb.set_index("variable")
    assert text.loc["formula_1", "text"] == "'=HYPERLINK(\"http://example.org\")"
    assert text.loc["formula_total_band", "label"] == "'@FORM +Total: band"
    assert all(not str(v).startswith(("=", "+", "-", "@")) for v in cb.to_numpy().ravel())
    import pyreadstat

    _, meta = pyreadstat.read_sav(str(tmp_path / "o" / "data.sav"))
    assert meta.variable_value_labels["formula_1"][0.0] == "'-1 strongly disagree"
    assert res.manifest["counts"]["administrations_exported"] == 5


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_variable_names_follow_spss_rules(extract: pd.DataFrame, layout: str) -> None:
    prep = ex.prepare_export(extract, profile="pseudonymised", key=ex.StudyKey(os.urandom(32)), k=3, layout=layout,
                             dates="relative")
    names = list(prep.data.columns)
    assert all(valid_spss_name(n) for n in names), [n for n in names if not valid_spss_name(n)]
    assert len({n.lower() for n in names}) == len(names)
    assert [v.name for v in prep.variables] == names


def test_namer_shortens_and_disambiguates() -> None:
    from scoring.export.codebook import Namer

    namer = Namer()
    long = "a" * 70
    first, second = namer(long), namer(long)
    assert len(first) <= 64 and len(second) <= 64 and first != second
    assert namer("with") == "with_" and namer("ALL") == "ALL_"
    assert namer("x") == "x" and namer("X") == "X_2"
    assert namer("1abc").startswith("v_")


def test_xlsx_refuses_more_rows_than_a_sheet_holds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from scoring.export import writers

    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)
    with pytest.raises(ex.ExportError, match="do not fit an Excel sheet"):
        writers.write_xlsx(pd.DataFrame({"a": range(4)}), pd.DataFrame(), tmp_path / "x.xlsx")


def test_output_folder_must_be_new_or_empty(extract: pd.DataFrame, tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("x")
    with pytest.raises(ex.ExportError, match="not an empty folder"):
        ex.export(extract, tmp_path, profile="safe_harbor", k=3)
