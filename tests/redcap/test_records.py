"""REDCap record exports read for the engine: record id, events, repeating instruments, checkbox columns,
missing-data codes counted as unanswered (never as bad cells), bad values named by record and field; the
``--redcap`` option of ``psyscore score`` and ``psyscore change`` end to end, and ``psyscore redcap dictionary``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from scoring.definitions.library import Library
from scoring.engine import score
from scoring.redcap import RedcapError, read_export, to_history
from scoring.redcap.records import ExportReader
from tests.conftest import Cli

PHQ9 = [f"phq9_{i}" for i in range(1, 11)]


def _export(rows: list[dict[str, str]], columns: list[str]) -> pd.DataFrame:
    """An export as psyscore reads a CSV file: text cells, '' for empty."""
    return pd.DataFrame([{c: r.get(c, "") for c in columns} for r in rows], columns=columns, dtype=str)


def _answers(values: list[str]) -> dict[str, str]:
    return dict(zip(PHQ9, values, strict=True))


LONGITUDINAL = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance", "age",
                "demo_note", *PHQ9, "phq9_timestamp", "phq9_complete"]


def _longitudinal() -> pd.DataFrame:
    rows = [
        {"record_id": "1", "redcap_event_name": "screening_arm_1", "age": "40", "demo_note": "x"},  # another form
        {"record_id": "1", "redcap_event_name": "baseline_arm_1",
         **_answers(["3", "3", "2", "2", "2", "2", "2", "2", "0", "1"]), "phq9_timestamp": "2024-01-08 10:00:00",
         "phq9_complete": "2"},
        {"record_id": "1", "redcap_event_name": "followup_arm_1", "redcap_repeat_instrument": "phq9",
         "redcap_repeat_instance": "1", **_answers(["1", "1", "1", "1", "UNK", "1", "1", "1", "0", "0"]),
         "phq9_timestamp": "2024-02-05 09:00:00", "phq9_complete": "2"},
        {"record_id": "1", "redcap_event_name": "followup_arm_1", "redcap_repeat_instrument": "phq9",
         "redcap_repeat_instance": "2", **_answers(["0", "0", "0", "1", "0", "0", "0", "0", "0", "0"]),
         "phq9_timestamp": "2024-03-04 09:00:00", "phq9_complete": "2"},
        {"record_id": "1", "redcap_event_name": "followup_arm_1", "redcap_repeat_instrument": "adverse_events",
         "redcap_repeat_instance": "1"},  # another repeating instrument
        {"record_id": "2", "redcap_event_name": "baseline_arm_1",
         **_answers(["2", "7", "NASK", "nask", "1", "1", "1", "1", "1", ""]), "phq9_timestamp": "2024-01-10 08:00:00",
         "phq9_complete": "1"},
    ]
    return _export(rows, LONGITUDINAL)


def test_events_and_repeat_instances_are_read(library: Library) -> None:
    d = library["phq9"]
    responses, reader = read_export(_longitudinal(), d)
    # the screening row (another form) and the adverse-events instance are left out; the export's rows are kept
    assert list(responses.index) == [1, 2, 3, 5]
    assert list(responses.columns[:4]) == ["record_id", "redcap_event_name", "redcap_repeat_instrument",
                                           "redcap_repeat_instance"]
    assert "demo_note" not in responses.columns and "age" in responses.columns
    assert reader.rows_read == 6 and reader.left_out == 2
    result = score(d, responses)
    s = result.scores
    # UNK is unanswered: 7 points over 8 answered items, prorated 7 × 9 / 8 = 7.875, rounded half-up to 8
    assert s["total"].tolist()[:3] == [18.0, 8.0, 1.0]
    assert s.loc[2, "total_prorated"]
    # missing-data codes are unanswered, not bad cells; 'nask' is the code NASK whatever its case
    assert reader.missing == {("phq9_5", "UNK"): 1, ("phq9_3", "NASK"): 1, ("phq9_4", "NASK"): 1}
    f = result.failures
    assert f[["row", "item", "value", "code"]].values.tolist() == [[5, "phq9_2", "7", "out_of_range"]]
    assert reader.label(5) == "6 (record_id 2, event baseline_arm_1)"
    assert reader.label(2) == "3 (record_id 1, event followup_arm_1, instance 1)"
    assert "missing-data codes counted as unanswered: NASK 2, UNK 1" in reader.summary()
    table = reader.missing_table()
    assert table.columns.tolist() == ["item", "field", "code", "count"] and table["count"].sum() == 3


def test_checkbox_columns_are_joined(library: Library) -> None:
    d = library["phq9"]
    cols = ["record_id", *PHQ9[:8], *(f"phq9_9___{c}" for c in ("0", "1", "2", "3", "unk")), "phq9_10"]
    base = {c: "0" for c in PHQ9[:8]}
    rows = [
        {"record_id": "a", **base, "phq9_9___0": "0", "phq9_9___1": "1", "phq9_9___2": "0", "phq9_9___3": "0"},
        {"record_id": "b", **base, "phq9_9___0": "0", "phq9_9___1": "0", "phq9_9___2": "0", "phq9_9___3": "0"},
        {"record_id": "c", **base, "phq9_9___0": "0", "phq9_9___1": "1", "phq9_9___2": "0", "phq9_9___3": "1"},
        {"record_id": "d", **base, "phq9_9___unk": "1", "phq9_9___0": "0", "phq9_9___1": "0", "phq9_9___2": "0",
         "phq9_9___3": "0"},
        {"record_id": "e", **base, "phq9_9___0": "0", "phq9_9___1": "yes", "phq9_9___2": "0", "phq9_9___3": "0"},
    ]
    responses, reader = read_export(_export(rows, cols), d)
    assert responses["phq9_9"].tolist() == ["1", None, "several checked: 1, 3", None,
                                            "checkbox column phq9_9___1 holds 'yes', not 0 or 1"]
    result = score(d, responses)
    assert result.scores["critical"].tolist()[:2] == [True, False]
    bad = result.failures[result.failures["item"] == "phq9_9"]
    assert bad["row"].tolist() == [2, 4] and set(bad["code"]) == {"not_a_number"}
    assert reader.missing == {("phq9_9", "UNK"): 1}
    assert reader.label(2) == "3 (record_id c)"


def test_unknown_checkbox_code_and_clashing_codes_are_errors(library: Library) -> None:
    d = library["phq9"]
    with pytest.raises(RedcapError, match=r"phq9_9___7: '7' is neither an answer code"):
        read_export(_export([{"record_id": "1"}], ["record_id", "phq9_9___7"]), d)
    with pytest.raises(RedcapError, match="both as one column and as checkbox columns"):
        read_export(_export([{"record_id": "1"}], ["record_id", "phq9_9", "phq9_9___1"]), d)
    with pytest.raises(RedcapError, match="missing-data code '1' is also an answer code"):
        ExportReader(d, missing_codes=("UNK", "1"))
    with pytest.raises(RedcapError, match="no record identifier column 'study_id'"):
        read_export(_export([{"record_id": "1"}], ["record_id", "phq9_1"]), d, record_id="study_id")


def test_project_codes_replace_the_defaults(library: Library) -> None:
    d = library["gad7"]
    cols = ["study_id", *(f"gad7_{i}" for i in range(1, 8))]
    rows = [{"study_id": "s1", **{f"gad7_{i}": "1" for i in range(1, 8)}, "gad7_7": "-999"},
            {"study_id": "s2", **{f"gad7_{i}": "1" for i in range(1, 8)}, "gad7_7": "UNK"}]
    responses, reader = read_export(_export(rows, cols), d, missing_codes=("-999",))
    assert list(responses.columns[:1]) == ["study_id"]  # the first column is the record identifier
    result = score(d, responses)
    assert result.scores["total"].tolist() == [7.0, 7.0]  # one missing item prorated: 6 × 7/6 = 7
    assert result.failures["value"].tolist() == ["UNK"]  # not a code of this project: a bad cell
    assert reader.missing == {("gad7_7", "-999"): 1}


def test_history_orders_by_date_event_and_instance(library: Library) -> None:
    long, readers = to_history(_longitudinal(), library)
    assert [r.definition.id for r in readers] == ["phq9"]
    assert long[["patient", "instrument", "redcap_event_name", "redcap_repeat_instance", "export_row"]].values.tolist(
    ) == [["1", "phq9", "baseline_arm_1", "", 2], ["1", "phq9", "followup_arm_1", "1", 3],
          ["1", "phq9", "followup_arm_1", "2", 4], ["2", "phq9", "baseline_arm_1", "", 6]]
    undated = _longitudinal()
    undated.loc[3, "phq9_timestamp"] = "[not completed]"
    with pytest.raises(RedcapError, match=r"no date in 'phq9_timestamp' \(row 4 \(record_id 1\)\)"):
        to_history(undated, library)
    with pytest.raises(RedcapError, match="no column 'visit_date'"):
        to_history(_longitudinal(), library, date_field="visit_date")


def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_score_redcap_end_to_end(cli: Cli, tmp_path: Path) -> None:
    export = _write(tmp_path / "export.csv", _longitudinal())
    out = tmp_path / "scores.csv"
    code, _, err = cli("score", "phq9", export, "--redcap", "--allow-bad", "-o", out)
    assert code == 0, err
    scores = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert scores["record_id"].tolist() == ["1", "1", "1", "2"]
    assert scores["redcap_event_name"].tolist()[:2] == ["baseline_arm_1", "followup_arm_1"]
    assert scores["total"].tolist()[:3] == ["18.0", "8.0", "1.0"]
    assert "row 6 (record_id 2, event baseline_arm_1), phq9_2: '7'" in err
    assert "2 left out" in err and "missing-data codes counted as unanswered: NASK 2, UNK 1" in err
    failures = pd.read_csv(tmp_path / "scores.failures.csv", dtype=str)
    assert failures["row"].tolist() == ["6 (record_id 2, event baseline_arm_1)"]
    code, _, err = cli("score", "phq9", export, "--form", "phq9", "-o", tmp_path / "x.csv")
    assert code == 2 and "--form applies with --redcap only" in err


def test_change_redcap_end_to_end(cli: Cli, tmp_path: Path) -> None:
    export = _write(tmp_path / "export.csv", _longitudinal())
    out = tmp_path / "history.csv"
    code, _, err = cli("change", export, "--redcap", "--allow-bad", "-o", out)
    assert code == 0, err
    h = pd.read_csv(out, dtype=str, keep_default_na=False)
    mine = h[h["scale"] == "total"]
    assert mine["patient"].tolist() == ["1", "1", "1", "2"]
    assert mine["date"].tolist() == ["2024-01-08", "2024-02-05", "2024-03-04", "2024-01-10"]
    assert mine["score"].tolist()[:3] == ["18.0", "8.0", "1.0"]
    assert mine["redcap_event_name"].tolist()[:2] == ["baseline_arm_1", "followup_arm_1"]
    assert mine["export_row"].tolist() == ["2", "3", "4", "6"]
    assert "6 (record_id 2, event baseline_arm_1), phq9_2: '7'" in err
    failures = pd.read_csv(tmp_path / "history.failures.csv", dtype=str)
    assert failures["row"].tolist() == ["6 (record_id 2, event baseline_arm_1)"]


def test_dictionary_command(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "dd" / "dictionary.csv"
    code, _, err = cli("redcap", "dictionary", "phq9", "gad7", "mini_ipip", "-o", out)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0]["Variable / Field Name"] == "record_id"
    assert {r["Form Name"] for r in rows} == {"phq9", "gad7", "mini_ipip"}
    assert "mini_ipip_conscient_444390" in {r["Variable / Field Name"] for r in rows}
    assert "calc field(s)" in err
    code, _, err = cli("redcap", "dictionary", "phq99", "-o", out)
    assert code == 2 and "phq99" in err
    code, _, err = cli("redcap", "dictionary", "phq9", "-o", tmp_path / "d.xlsx")
    assert code == 2 and ".csv" in err


def test_score_redcap_in_chunks_and_to_parquet(cli: Cli, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    export = _write(tmp_path / "export.csv", _longitudinal())
    whole, chunked = tmp_path / "whole.csv", tmp_path / "chunked.csv"
    assert cli("score", "phq9", export, "--redcap", "--allow-bad", "-o", whole)[0] == 0
    code, _, err = cli("score", "phq9", export, "--redcap", "--allow-bad", "--chunk-rows", "2", "-o", chunked)
    assert code == 0, err
    assert whole.read_bytes() == chunked.read_bytes()  # rows left out in one chunk, kept in another: same file
    assert (tmp_path / "whole.failures.csv").read_bytes() == (tmp_path / "chunked.failures.csv").read_bytes()
    assert "6 REDCap row(s) read; 2 left out" in err
    out = tmp_path / "scores.parquet"
    code, _, err = cli("score", "phq9", export, "--redcap", "--allow-bad", "-o", out)
    assert code == 0, err
    failures = pd.read_parquet(tmp_path / "scores.failures.parquet")
    assert failures["row"].tolist() == [6]  # a Parquet failures file keeps the row a number


def test_numbers_from_a_spreadsheet_are_read(library: Library) -> None:
    d = library["gad2"]
    export = pd.DataFrame({"record_id": [1, 2], "gad2_1": [3, "UNK"], "gad2_2": [2, 1]}, dtype=object)
    responses, reader = read_export(export, d)
    result = score(d, responses)
    assert result.scores["total"].tolist()[0] == 5.0 and pd.isna(result.scores["total"].iloc[1])
    assert result.failures.empty and reader.missing == {("gad2_1", "UNK"): 1}
