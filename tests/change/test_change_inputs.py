"""Issue 10 items 1, 3, 4: ``psyscore change`` reads response files through the same path as ``score``.

Case-insensitive headers, duplicate columns as errors naming both, delimiter sniffing, the > 20 % bad-cell
rule with ``--allow-bad`` and ``--accept-integral-floats`` — with the same messages as ``score``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import scoring
from scoring.cli import main
from scoring.engine.responses import DuplicateColumnError
from tests.support.shipped import shipped_library

ITEMS = [f"phq9_{i}" for i in range(1, 10)]
ROWS = [["p1", "2024-01-08", "phq9", 3, 3, 2, 2, 2, 2, 2, 1, 1],  # 18
        ["p1", "2024-02-05", "phq9", 2, 2, 2, 1, 1, 2, 1, 1, 0],  # 12
        ["p2", "2024-01-10", "phq9", 1, 1, 1, 1, 1, 1, 1, 1, 0]]  # 8
HEADER = ["patient", "date", "instrument", *ITEMS]


def write(path: Path, header: list[str], rows: list[list[object]], sep: str = ",") -> Path:
    path.write_text("\n".join([sep.join(header), *(sep.join(map(str, r)) for r in rows)]) + "\n", encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


def scores(path: Path) -> list[float]:
    return pd.read_csv(path)["score"].tolist()


def test_upper_case_headers_are_matched(tmp_path: Path, capsys) -> None:
    src = write(tmp_path / "r.csv", [h.upper() for h in HEADER], ROWS)
    code, err = run(capsys, "change", str(src), "-o", str(tmp_path / "h.csv"))
    assert code == 0, err
    assert scores(tmp_path / "h.csv") == [18, 12, 8]
    assert not (tmp_path / "h.failures.csv").exists()
    # the library too: scoring.history matches names as scoring.score does
    frame = pd.DataFrame(ROWS, columns=[f" {h.title()} " for h in HEADER])
    assert scoring.history(shipped_library(), frame).frame["score"].tolist() == [18, 12, 8]


@pytest.mark.parametrize("extra", ["phq9_1", "PHQ9_1"])
def test_duplicate_item_column_is_an_error_naming_both_as_in_score(tmp_path: Path, capsys, extra: str) -> None:
    src = write(tmp_path / "r.csv", [*HEADER, extra], [[*r, 0] for r in ROWS])
    code, err = run(capsys, "change", str(src), "-o", str(tmp_path / "h.csv"))
    assert code == 1 and "duplicate column names" in err and "Traceback" not in err
    assert "'phq9_1'" in err and repr(extra) in err
    assert not (tmp_path / "h.csv").exists()
    score_code, score_err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert score_code == 1
    assert _message(err, "duplicate column names") == _message(score_err, "duplicate column names")


def test_duplicate_required_column_differing_in_case_is_an_error() -> None:
    frame = pd.DataFrame([[*ROWS[0][:3], "p9"]], columns=["patient", "date", "instrument", "Patient"])
    with pytest.raises(DuplicateColumnError, match="'patient' and 'Patient'"):
        scoring.history(shipped_library(), frame)


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_delimiter_is_sniffed_and_said(tmp_path: Path, capsys, sep: str, name: str) -> None:
    src = write(tmp_path / "r.csv", HEADER, ROWS, sep=sep)
    code, err = run(capsys, "change", str(src), "-o", str(tmp_path / "h.csv"))
    assert code == 0, err
    assert f"{name}-separated" in err and scores(tmp_path / "h.csv") == [18, 12, 8]


def test_mostly_bad_file_stops_unless_allowed_with_the_message_of_score(tmp_path: Path, capsys) -> None:
    src = write(tmp_path / "r.csv", HEADER, [[*r[:3], *(f"{v}.0" for v in r[3:])] for r in ROWS])
    out = tmp_path / "h.csv"
    code, err = run(capsys, "change", str(src), "-o", str(out))
    assert code == 1 and "FAILED validation" in err and "--accept-integral-floats" in err
    assert not out.exists()
    _, score_err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert _message(err, "FAILED validation") == _message(score_err, "FAILED validation")
    code, err = run(capsys, "change", str(src), "-o", str(out), "--allow-bad")
    assert code == 0 and "WARNING" in err and "--allow-bad" in err


def test_accept_integral_floats_reads_2_0_but_refuses_2_5(tmp_path: Path, capsys) -> None:
    rows = [[*r[:3], *(f"{v}.0" for v in r[3:])] for r in ROWS]
    rows[2][3] = "1.5"
    src = write(tmp_path / "r.csv", HEADER, rows)
    code, err = run(capsys, "change", str(src), "-o", str(tmp_path / "h.csv"), "--accept-integral-floats")
    assert code == 0, err
    assert scores(tmp_path / "h.csv")[:2] == [18, 12]
    fails = pd.read_csv(tmp_path / "h.failures.csv", dtype=str)
    assert fails[["instrument", "row", "item", "value"]].values.tolist() == [["phq9", "3", "phq9_1", "1.5"]]


def test_help_documents_the_shared_input_options(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["change", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--accept-integral-floats" in text and "--allow-bad" in text and "'n/a'" in text


def test_bad_share_counts_the_cells_of_the_rows_scored_from_items(tmp_path: Path, capsys) -> None:
    """Rows of another instrument given as scores add no item cells to the share."""
    rows = [[*ROWS[0], ""], ["p3", "2024-01-01", "gad7", *[""] * 9, 5]]
    rows[0][3] = "x"
    src = write(tmp_path / "r.csv", ["patient", "date", "instrument", *ITEMS, "total"], rows)

    result = scoring.history(shipped_library(), pd.read_csv(src))
    assert result.cells == 10 and len(result.failures) == 1  # one PHQ-9 row × its 10 items
    code, err = run(capsys, "change", str(src), "-o", str(tmp_path / "h.csv"))
    assert code == 0 and "FAILED" not in err, err  # 1 of 10, not 1 of 20
    assert pd.read_csv(tmp_path / "h.csv")["score"].tolist()[-1] == 5  # the GAD-7 row, from its total


def test_failure_listing_is_the_one_of_score(tmp_path: Path, capsys) -> None:
    rows = [[*r[:3], *(["x"] * 4), *r[7:]] for r in ROWS]  # 12 bad cells of 30 (40 %): --allow-bad
    src = write(tmp_path / "r.csv", HEADER, rows)
    code, err = run(capsys, "change", str(src), "-o", str(tmp_path / "h.csv"), "--allow-bad")
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith("  ")]
    assert lines[0].startswith("  phq9 row 1, phq9_1: 'x': ") and lines[0].endswith("[not_a_number]")
    assert lines[-1] == f"  … 2 more in {tmp_path / 'h.failures.csv'}"
    _, score_err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"), "--allow-bad")
    score_lines = [ln for ln in score_err.splitlines() if ln.startswith("  ")]
    assert [ln.replace("  phq9 ", "  ", 1) for ln in lines[:-1]] == score_lines[:-1]


def _message(err: str, needle: str) -> str:
    """The line of stderr containing ``needle``, without the ``psyscore COMMAND: error:`` prefix."""
    (line,) = [ln for ln in err.splitlines() if needle in ln]
    return line.split("error: ", 1)[-1]
