"""``psyscore validate`` recognises norm-table files and checks them with the norm rules.

Before: a norm file under ``psyscore validate`` gave about 18 "unknown key" errors (it was read as an
instrument definition). Now it is recognised by its keys and validated like ``psyscore norms --validate``;
the Python API (``load_library``/``validate``) says in one issue (E106) where it belongs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scoring import validate
from scoring.cli import main

ROOT = Path(__file__).parents[2]
NORMS = ROOT / "norms"
NORM_FIXTURES = ROOT / "tests" / "norms" / "fixtures"
DEFINITIONS = ROOT / "tests" / "fixtures" / "definitions"
TABLE = "phq9_kliem2024_de_sex"


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["validate", *(str(a) for a in args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_valid_norm_file_is_validated_with_the_norm_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, NORMS / f"{TABLE}.yaml")
    assert code == 0, err
    assert "E110" not in out + err and "E106" not in out + err
    assert "0 valid definition(s), 1 valid norm table(s); 0 error(s)" in out


def test_the_norm_csv_stands_for_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, NORMS / f"{TABLE}.csv")
    assert code == 0, err
    assert "1 valid norm table(s)" in out


def test_the_bundled_norms_folder_validates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, NORMS)
    assert code == 0, err
    tables = len(list(NORMS.glob("*.yaml")))
    assert f"0 valid definition(s), {tables} valid norm table(s); 0 error(s)" in out


@pytest.mark.parametrize("fixture", ["e409_not_monotone", "e405_unknown_instrument", "e408_score_range_gap"])
def test_a_bad_norm_file_gets_its_norm_issue(capsys: pytest.CaptureFixture[str], fixture: str) -> None:
    code, _out, err = run(capsys, NORM_FIXTURES / "bad" / f"{fixture}.yaml")
    assert code == 1
    expected = fixture[:4].upper()
    assert f"error {expected}:" in err, err
    assert "E110" not in err and "unknown key 'strata'" not in err


def test_definitions_and_norm_files_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder holding both: each file is checked as what it is, in one report (JSON here)."""
    shutil.copy(DEFINITIONS / "good" / "demo_scale.yaml", tmp_path)
    shutil.copy(NORMS / f"{TABLE}.yaml", tmp_path)
    shutil.copy(NORMS / f"{TABLE}.csv", tmp_path)
    code, out, _ = run(capsys, "--json", tmp_path)
    result = json.loads(out)
    assert code == 0 and result["ok"] and result["definitions"] == 1 and result["norm_tables"] == 1


def test_a_norm_file_is_checked_against_the_definitions_given(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A norm table for an instrument that is not bundled is valid next to that instrument's definition."""
    definition = (DEFINITIONS / "good" / "demo_scale.yaml").read_text(encoding="utf-8")
    (tmp_path / "demo_scale.yaml").write_text(definition, encoding="utf-8")
    meta = (NORMS / f"{TABLE}.yaml").read_text(encoding="utf-8")
    assert "id: phq9\n" in meta
    norm = tmp_path / "demo_norm.yaml"
    norm.write_text(meta.replace(f"id: {TABLE}", "id: demo_norm").replace("id: phq9\n", "id: demo_scale\n"),
                    encoding="utf-8")
    shutil.copy(NORMS / f"{TABLE}.csv", tmp_path / "demo_norm.csv")
    code, _, err = run(capsys, norm)
    assert code == 1 and "E405" in err  # demo_scale is not in the library: validated against the bundled one
    code, _, err = run(capsys, tmp_path / "demo_scale.yaml", norm)
    assert "E405" not in err  # now the definition given is known; other norm issues (range) may remain
    assert "E110" not in err


def test_the_library_api_says_where_a_norm_file_belongs() -> None:
    report = validate([NORMS / f"{TABLE}.yaml"])
    assert [i.code for i in report.issues] == ["E106"]
    issue = report.issues[0]
    assert issue.file == str(NORMS / f"{TABLE}.yaml") and issue.line is not None
    assert "norm-table file" in issue.message and "psyscore norms --validate" in (issue.hint or "")


def test_codes_markdown_is_the_committed_doc(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--codes", "--markdown")
    assert code == 0
    assert out == (ROOT / "docs" / "issue-codes.md").read_text(encoding="utf-8")
