"""``psyscore analyze``: exit codes, report formats, the researcher's own definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from scoring.cli import build_parser
from tests.support.cli import run_cli as run
from tests.support.shipped import shipped_library

REF = Path(__file__).parents[1] / "reference" / "reliability"
DEFINITIONS = Path(__file__).parent / "definitions"
EXPECTED = json.loads((REF / "expected.json").read_text(encoding="utf-8"))
DATA = REF / "likert8.csv"



def test_analyze_writes_a_markdown_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.md"
    code, _, err = run(capsys, "analyze", DATA, "--instrument", "likert8", "--definitions", DEFINITIONS, "-o", out)
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert "# Reliability:" in text and "| total | pairwise | 8 | 300 |" in text
    assert "likert8 1.0.0" in err and str(out) in err


def test_analyze_json_matches_psych(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    code, _, _ = run(capsys, "analyze", DATA, "--instrument", "likert8", "--definitions", DEFINITIONS, "-o", out)
    assert code == 0
    scales = {(s["scale_id"], s["missing"]): s for s in json.loads(out.read_text(encoding="utf-8"))["scales"]}
    for missing in ("pairwise", "listwise"):
        ours, psych = scales[("total", missing)], EXPECTED["keyed"][missing]  # the definition reverses i6
        assert ours["alpha"] == pytest.approx(psych["raw_alpha"], abs=1e-6)
        assert ours["omega_total"] == pytest.approx(psych["omega_total"], abs=1e-6)


def test_analyze_csv_writes_three_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rel.csv"
    code, _, _ = run(capsys, "analyze", DATA, "--instrument", "likert8", "--definitions", DEFINITIONS, "-o", out,
                     "--missing", "pairwise")
    assert code == 0
    assert pd.read_csv(out)["missing"].tolist() == ["pairwise", "pairwise"]
    assert (tmp_path / "rel.items.csv").is_file() and (tmp_path / "rel.warnings.csv").is_file()


def test_analyze_reads_xlsx_and_reports_miskeyed_items(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = pd.read_csv(DATA)
    data["i6"] = 4 - data["i6"]  # as if the reversed item had been entered already reversed
    xlsx = tmp_path / "answers.xlsx"
    data.to_excel(xlsx, index=False)
    out = tmp_path / "rel.json"
    code, _, err = run(capsys, "analyze", xlsx, "--instrument", "likert8", "--definitions", DEFINITIONS, "-o", out)
    assert code == 0
    assert "i6 correlates negatively" in err
    warnings = json.loads(out.read_text(encoding="utf-8"))["warnings"]
    assert {w["item"] for w in warnings if w["code"] == "miskeyed" and w["scale_id"] == "total"} == {"i6"}


def test_bundled_instrument(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "phq9.csv"
    csv.write_text("phq9_1,phq9_2,phq9_3,phq9_4,phq9_5,phq9_6,phq9_7,phq9_8,phq9_9\n"
                   "0,1,1,0,2,1,0,0,0\n3,3,2,3,2,3,2,1,1\n1,1,x,1,1,0,1,0,0\n2,2,2,1,1,2,2,1,0\n", encoding="utf-8")
    code, _, err = run(capsys, "analyze", csv, "--instrument", "phq9", "-o", tmp_path / "r.md")
    assert code == 0 and "1 bad cell(s)" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--instrument", "likert9"], "unknown instrument 'likert9'"),
    (["--instrument", "likert8", "--definitions", "no/such/folder"], "no such folder"),
    (["--instrument", "likert8", "--output-ext", ".txt"], "report must end in .md, .json or .csv"),
    (["--instrument", "likert8", "--ci-level", "95"], "--ci-level must be between 0 and 1"),
])
def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                             message: str) -> None:
    out = tmp_path / "r.md"
    if "--output-ext" in args:
        args = args[:2]
        out = tmp_path / "r.txt"
    elif "--definitions" not in args:
        args = [*args, "--definitions", str(DEFINITIONS)]
    code, _, err = run(capsys, "analyze", DATA, *args, "-o", out)
    assert code == 2 and message in err
    assert not out.exists()


def test_missing_input_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "analyze", tmp_path / "none.csv", "--instrument", "phq9", "-o", tmp_path / "r.md")
    assert code == 2 and "no such file" in err


def test_every_option_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    analyze = sub.choices["analyze"]
    for action in analyze._actions:
        assert action.help, action.dest


def test_analyze_from_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--db reads completed administrations through the store's research accessor and equals the file route."""
    from scoring.reliability import analyze
    from scoring.store import Actor, Clinic, Store
    from scoring.store.demo import seed_demo

    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    lib = shipped_library()
    with Store(url) as store:
        store.upgrade()
        seed_demo(store, lib, patients=4, fast_hashes=True)
        frame = Clinic(store, lib).research.administrations(Actor.system("test"), "phq9")
    out = tmp_path / "report.json"
    code, _, err = run(capsys, "analyze", "--db", url, "--instrument", "phq9", "-o", out)
    assert code == 0, err
    report = json.loads(out.read_text(encoding="utf-8"))
    ours = {(s["scale_id"], s["missing"]): s for s in report["scales"]}[("total", "pairwise")]
    items = [f"phq9_{i}" for i in range(1, 11)]
    direct = analyze(lib["phq9"], pd.DataFrame(frame[items].to_numpy(dtype=float), columns=items))
    expected = direct.scales.set_index(["scale_id", "missing"]).loc[("total", "pairwise")]
    assert ours["alpha"] == pytest.approx(expected["alpha"], abs=1e-12) and 0 < ours["alpha"] < 1
    with Store(url) as store:
        log = Clinic(store, lib).audit_log(Actor.system("t"), limit=100_000)
        reads = [r for r in log if r.action == "export_read"]
        assert any("reliability analysis" in str(r.detail) for r in reads), reads


def test_analyze_needs_exactly_one_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "analyze", "--instrument", "phq9", "-o", tmp_path / "r.md")
    assert code == 2 and "either INPUT" in err
    code, _, err = run(capsys, "analyze", "--db", tmp_path / "none.db", "--instrument", "phq9", "-o", tmp_path / "r.md")
    assert code == 2 and "no such database file" in err
