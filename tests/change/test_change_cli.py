"""psyscore change and psyscore chart: outputs and exit codes (0 ok, 1 bad data, 2 usage)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from scoring.cli import main

pytest.importorskip("altair")
pytest.importorskip("vl_convert")

ITEMS = [f"phq9_{i}" for i in range(1, 10)]


@pytest.fixture
def long_csv(tmp_path: Path) -> Path:
    rows = [
        ["p1", "2024-01-08", "phq9", 3, 3, 2, 2, 2, 2, 2, 1, 1],
        ["p1", "2024-02-05", "phq9", 2, 2, 2, 1, 1, 2, 1, 1, 0],
        ["p1", "2024-03-04", "phq9", 0, 1, 0, 1, 0, 1, 0, 0, 0],
        ["p2", "2024-01-10", "phq9", 1, 1, 1, 1, 1, 1, 1, "x", 0],
        ["p2", "2024-03-10", "phq9", 2, 2, 2, 2, 2, 2, 2, 2, 2],
    ]
    path = tmp_path / "long.csv"
    pd.DataFrame(rows, columns=["patient", "date", "instrument", *ITEMS]).to_csv(path, index=False)
    return path


def test_change_writes_history_and_failures(long_csv: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "hist.csv"
    assert main(["change", str(long_csv), "-o", str(out)]) == 0
    h = pd.read_csv(out)
    assert len(h) == 5 and h["score"].tolist() == [18, 12, 3, 8, 18]  # p2: 7 × 9/8 = 7.875 → 8
    assert h["baseline_classification"].tolist()[2] == "recovered"
    assert h["date"].iloc[0] == "2024-01-08"
    failures = pd.read_csv(tmp_path / "hist.failures.csv")
    assert failures[["row", "item", "code"]].values.tolist() == [[4, "phq9_8", "not_a_number"]]  # data row 4
    assert "1 bad cell" in capsys.readouterr().err


def test_change_strict_and_xlsx(long_csv: Path, tmp_path: Path) -> None:
    assert main(["change", str(long_csv), "-o", str(tmp_path / "h.xlsx"), "--strict"]) == 1
    assert main(["change", str(long_csv), "-o", str(tmp_path / "h.xlsx"), "--instrument", "phq9"]) == 0
    assert len(pd.read_excel(tmp_path / "h.xlsx")) == 5


@pytest.mark.parametrize("args", [
    ["-o", "OUT.txt"],
    ["-o", "OUT.csv", "--instrument", "phq99"],
    ["-o", "OUT.csv", "--z", "0"],
])
def test_change_usage_errors(long_csv: Path, tmp_path: Path, args: list[str]) -> None:
    args = [a.replace("OUT", str(tmp_path / "h")) for a in args]
    assert main(["change", str(long_csv), *args]) == 2


def test_change_missing_file_and_bad_data(tmp_path: Path) -> None:
    assert main(["change", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "h.csv")]) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("patient,date,instrument,total\na,13/01/2024,phq9,3\n", encoding="utf-8")
    assert main(["change", str(bad), "-o", str(tmp_path / "h.csv")]) == 1


def test_chart_kinds(long_csv: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("date,label\n2024-01-20,sertraline started\n", encoding="utf-8")
    png = tmp_path / "trend.png"
    assert main(["chart", str(long_csv), "--instrument", "phq9", "--patient", "p1", "-o", str(png),
                 "--events", str(events)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["chart", str(long_csv), "--instrument", "phq9", "--patient", "p1", "--kind", "heatmap",
                 "-o", str(tmp_path / "heat.svg")]) == 0
    assert (tmp_path / "heat.svg").read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert main(["chart", str(long_csv), "--instrument", "phq9", "--kind", "jacobson",
                 "-o", str(tmp_path / "jac.json")]) == 0


@pytest.mark.parametrize("args", [
    ["--instrument", "phq9", "-o", "OUT.png"],                                   # trend without --patient
    ["--instrument", "phq9", "--patient", "p1", "-o", "OUT.gif"],                # unsupported output
    ["--instrument", "phq9", "--patient", "zz", "-o", "OUT.png"],                # unknown patient
    ["--instrument", "phq99", "--patient", "p1", "-o", "OUT.png"],                # unknown instrument
    ["--instrument", "phq9", "--patient", "p1", "--scale", "x", "-o", "OUT.png"],  # unknown scale
    ["--instrument", "phq9", "--kind", "jacobson", "--events", "E.csv", "-o", "OUT.png"],
])
def test_chart_usage_errors(long_csv: Path, tmp_path: Path, args: list[str]) -> None:
    args = [a.replace("OUT", str(tmp_path / "c")).replace("E.csv", str(tmp_path / "e.csv")) for a in args]
    assert main(["chart", str(long_csv), *args]) == 2


def test_change_rows_name_what_the_rci_lacks(long_csv: Path, tmp_path: Path) -> None:
    """Issue 10 item 10: PHQ-9 rows said "no reliability/SD declared" although reliability 0.84 is declared."""
    out = tmp_path / "hist.csv"
    assert main(["change", str(long_csv), "-o", str(out)]) == 0
    h = pd.read_csv(out)
    reasons = set(h["baseline_reason"].dropna()) | set(h["previous_reason"].dropna())
    assert "RCI not computed: no SD declared (reliability 0.84 is); classified by the published threshold" in reasons
    assert not any("reliability/SD" in r for r in reasons)
