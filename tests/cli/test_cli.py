"""The command line: exit codes, outputs and help text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from scoring.cli import build_parser, main
from tests.support.cli import run_cli_process

FIXTURES = Path(__file__).parents[1] / "fixtures"


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_instruments_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("instruments", "--json", capsys=capsys)
    assert code == 0
    rows = json.loads(out)
    assert {"phq9"} <= {r["id"] for r in rows}
    assert all(len(r["hash"]) == 64 for r in rows)


def test_show_json_items_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("show", "phq9", "--json", capsys=capsys)
    assert code == 0
    data = json.loads(out)
    assert [i["id"] for i in data["items"]] == [f"phq9_{i}" for i in range(1, 11)]
    total = data["scales"][0]
    assert total["id"] == "total"
    assert next(b["label"] for b in total["bands"]["ranges"]) == "None–minimal"


def test_show_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("show", "phq9", capsys=capsys)
    assert code == 0 and "Little interest or pleasure" in out and "Critical items" in out


def test_unknown_instrument_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run("show", "phq99", capsys=capsys)
    assert code == 2
    assert "did you mean 'phq9'" in err


def test_validate_ok_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("validate", str(FIXTURES / "definitions" / "good"), capsys=capsys)
    assert code == 0 and "0 error(s)" in out
    bad = FIXTURES / "definitions" / "bad" / "e208_band_gap.yaml"
    code, _, err = run("validate", str(bad), capsys=capsys)
    assert code == 1
    assert f"{bad}:35 scales[0].bands.ranges[1].min: error E208" in err
    code, out, _ = run("validate", "--json", str(bad), capsys=capsys)
    assert code == 1 and json.loads(out)["issues"][0]["line"] == 35
    code, _, err = run("validate", "no/such/path", capsys=capsys)
    assert code == 2


def test_validate_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("validate", "--codes", capsys=capsys)
    assert code == 0 and "E208" in out


def test_validate_bundled_library(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run("validate", capsys=capsys)
    assert code == 0, err


def _responses(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    rows = ["patient,phq9_1,phq9_2,phq9_3,phq9_4,phq9_5,phq9_6,phq9_7,phq9_8,phq9_9",
            "a,3,0,1,2,0,0,1,0,3", "b,1,1,1,1,1,1,1,1,x"]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_score_csv_with_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "out.csv"
    code, _, err = run("score", "phq9", str(_responses(tmp_path)), "-o", str(out_path), capsys=capsys)
    assert code == 0
    scores = pd.read_csv(out_path)
    assert scores["total"].tolist() == [10, 9]
    assert scores["patient"].tolist() == ["a", "b"]
    failures = pd.read_csv(tmp_path / "out.failures.csv")
    assert failures[["row", "item", "code"]].values.tolist() == [[2, "phq9_9", "not_a_number"]]
    assert "1 not_a_number" in err and "row 2, phq9_9" in err


def test_score_strict_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "out.csv"
    code, _, err = run("score", "phq9", str(_responses(tmp_path)), "-o", str(out_path), "--strict", capsys=capsys)
    assert code == 1 and not out_path.exists() and "strict" in err


def test_score_xlsx_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = pd.DataFrame({f"phq9_{i}": [1, None] for i in range(1, 10)})
    src.insert(0, "patient", ["a", "b"])
    xin = tmp_path / "in.xlsx"
    src.to_excel(xin, index=False)
    xout = tmp_path / "out.xlsx"
    code, _, _ = run("score", "phq9", str(xin), "-o", str(xout), capsys=capsys)
    assert code == 0
    back = pd.read_excel(xout)
    assert back.loc[0, "total"] == 9 and pd.isna(back.loc[1, "total"])
    assert back.loc[1, "total_reason"] == "no items answered"


def test_score_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run("score", "phq9", str(tmp_path / "none.csv"), "-o", str(tmp_path / "o.csv"), capsys=capsys)
    assert code == 2
    code, _, _ = run("score", "phq9", str(_responses(tmp_path)), "-o", str(tmp_path / "o.txt"), capsys=capsys)
    assert code == 2
    with pytest.raises(SystemExit) as info:
        main(["score", "phq9"])
    assert info.value.code == 2


def test_score_rejects_non_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "in.xlsx"
    bad.write_text("not a zip")
    code, _, err = run("score", "phq9", str(bad), "-o", str(tmp_path / "o.csv"), capsys=capsys)
    assert code == 1 and "not a valid .xlsx" in err


def test_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("explain", "phq9", "--responses", "3,0,1,2,,0,1,0,3", capsys=capsys)
    assert code == 0
    assert "prorated: 10 × 9/8 = 11.25 → rounded half-up to 11" in out
    assert "Moderate" in out and "phq9_9 = 3" in out
    code, out, _ = run("explain", "phq9", "--responses", "3,0,1,2,0,0,1,0,3", "--json", capsys=capsys)
    data = json.loads(out)
    assert data["scales"][0]["score"] == 10 and data["critical"]
    code, _, err = run("explain", "phq9", "--responses", "1,2", capsys=capsys)
    assert code == 2 and "give them in this order" in err
    code, _, _ = run("explain", "phq9", "--responses", "1,1,1,1,1,1,1,1,7", capsys=capsys)
    assert code == 1


def test_every_command_has_help_and_is_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for name, sp in sub.choices.items():
        assert sp.description or sp.format_help(), name
        for action in sp._actions:
            if action.dest != "help":
                assert action.help, f"psyscore {name}: option {action.dest} has no help text"
        assert f"psyscore {name}" in readme, f"psyscore {name} is not documented in README.md"


def test_python_m_scoring() -> None:
    proc = run_cli_process("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("psyscore ")


def test_import_scoring_does_not_import_streamlit() -> None:
    code = "import sys, scoring, scoring.cli; scoring.load_library(); assert 'streamlit' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_committed_json_schema_matches_models() -> None:
    from scoring.definitions.schema import definition_json_schema

    committed = json.loads((Path(__file__).parents[2] / "instruments" / "schema.json").read_text(encoding="utf-8"))
    assert committed == definition_json_schema(), "run: make schema"


def test_receipt_of_a_scale_without_bands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("explain", "who5", "--responses", "3,3,3,3,3", capsys=capsys)
    assert code == 0
    assert "nan" not in out
    assert "Scale percentage (" in out and ": 60" in out
