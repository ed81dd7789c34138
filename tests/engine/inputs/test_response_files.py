"""Issue 10 items 1-5, 14, 15, 19: response files for score/analyze/change are never scored silently."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from scoring.cli import main
from scoring.engine.files import read_table, write_table
from scoring.engine.responses import FAILURE_CODES, MISSING_WORDS
from tests.support.cli import run_cli as run
from tests.support.shipped import shipped_library

ITEMS = [f"phq9_{i}" for i in range(1, 10)]
ROW = [3, 0, 1, 2, 0, 0, 1, 0, 3]  # total 10
README = Path(__file__).parents[3] / "README.md"



def write_csv(path: Path, header: list[str], rows: list[list[object]], sep: str = ",") -> Path:
    lines = [sep.join(header)] + [sep.join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# item 1: duplicate columns
def test_duplicate_item_column_in_csv_is_an_error_naming_both(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "r.csv", [*ITEMS, "phq9_1"], [[*ROW, 0]])
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 1
    assert "'phq9_1' (column 1)" in err and "'phq9_1' (column 10)" in err
    assert not (tmp_path / "s.csv").exists()


def test_duplicate_item_column_differing_in_case_is_an_error(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "r.csv", [*ITEMS, "PHQ9_2"], [[*ROW, 3]])
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 1 and "'phq9_2'" in err and "'PHQ9_2'" in err
    assert "Traceback" not in err


def test_duplicate_column_in_xlsx_is_a_clean_error(tmp_path: Path, capsys) -> None:
    wb = openpyxl.Workbook()
    wb.active.append([*ITEMS, "phq9_1"])
    wb.active.append([*ROW, 0])
    wb.save(tmp_path / "r.xlsx")
    code, _, err = run(capsys, "score", "phq9", str(tmp_path / "r.xlsx"), "-o", str(tmp_path / "s.csv"))
    assert code == 1 and "duplicate column names" in err and "(column 10)" in err


# item 2: formula cells
def test_xlsx_formula_cell_is_a_bad_cell_with_its_own_code(tmp_path: Path, capsys) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(ITEMS)
    wb.active.append(["=1+1", *ROW[1:]])
    wb.save(tmp_path / "r.xlsx")
    frame = read_table(tmp_path / "r.xlsx")
    assert frame.loc[0, "phq9_1"] == "=1+1"
    code, _, err = run(capsys, "score", "phq9", str(tmp_path / "r.xlsx"), "-o", str(tmp_path / "s.csv"))
    assert code == 0
    fails = pd.read_csv(tmp_path / "s.failures.csv", dtype=str)
    assert fails.loc[0, "code"] == "formula" and fails.loc[0, "item"] == "phq9_1"
    assert "formula" in err


def test_xlsx_formula_with_cached_value_is_not_scored(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(ITEMS)
    wb.active.append(["=1+1", *ROW[1:]])
    wb.save(tmp_path / "r.xlsx")
    # add the cached value a spreadsheet program would store beside the formula
    with zipfile.ZipFile(tmp_path / "r.xlsx") as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = sheet.replace("<f>1+1</f><v></v>", "<f>1+1</f><v>2</v>").replace("<f>1+1</f><v/>", "<f>1+1</f><v>2</v>")
    if "<v>2</v>" not in sheet:
        sheet = sheet.replace("<f>1+1</f>", "<f>1+1</f><v>2</v>")
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(tmp_path / "c.xlsx", "w") as z:
        for n, b in parts.items():
            z.writestr(n, b)
    frame = read_table(tmp_path / "c.xlsx")
    assert frame.loc[0, "phq9_1"] == "=1+1"


# item 3: delimiters, case, no item column
@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_and_tab_files_are_sniffed_and_said(tmp_path: Path, capsys, sep: str, name: str) -> None:
    src = write_csv(tmp_path / "r.csv", ITEMS, [ROW], sep=sep)
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 0, err
    assert f"{name}-separated" in err
    assert pd.read_csv(tmp_path / "s.csv")["total"].tolist() == [10]


def test_upper_case_headers_are_matched(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "r.csv", [i.upper() for i in ITEMS], [ROW])
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 0, err
    assert pd.read_csv(tmp_path / "s.csv")["total"].tolist() == [10]


def test_no_item_column_exits_non_zero_with_a_hint(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "r.csv", ["a", "b"], [[1, 2]])
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 1 and "no column of the file is an item of phq9" in err
    assert not (tmp_path / "s.csv").exists()
    code, _, err = run(capsys, "analyze", str(src), "--instrument", "phq9", "-o", str(tmp_path / "a.json"))
    assert code == 1 and "no column of the file is an item" in err


def test_column_level_problem_prints_column_not_row_nan(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "r.csv", ITEMS[:-1], [ROW[:-1]] * 5)
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 0
    assert "row nan" not in err
    assert re.search(r"column phq9_9: .*\[missing_column\]", err)


# item 4: most cells fail
def test_mostly_bad_file_exits_non_zero_unless_allowed(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "r.csv", ITEMS, [[f"{v}.0" for v in ROW]] * 4)
    code, _, err = run(capsys, "analyze", str(src), "--instrument", "phq9", "-o", str(tmp_path / "a.json"))
    assert code == 1 and "FAILED validation" in err and "--accept-integral-floats" in err
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 1 and "FAILED validation" in err
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"), "--allow-bad")
    assert code == 0 and "WARNING" in err


def test_accept_integral_floats_reads_2_0_but_refuses_2_5(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "r.csv", ITEMS, [[f"{v}.0" for v in ROW], ["2.5", *[f"{v}.0" for v in ROW[1:]]]])
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"),
                       "--accept-integral-floats")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "s.csv")["total"].tolist()[0] == 10
    fails = pd.read_csv(tmp_path / "s.failures.csv", dtype=str)
    assert fails["value"].tolist() == ["2.5"]
    code, _, err = run(capsys, "analyze", str(src), "--instrument", "phq9", "-o", str(tmp_path / "a.json"),
                       "--accept-integral-floats")
    assert code == 0, err


# item 5: missing words
@pytest.mark.parametrize("word", ["NA", "na", "N/A", "n/a", "nan", "NaN", "None", "NONE", "null", "Null", " "])
def test_missing_words_are_one_case_insensitive_list(word: str) -> None:
    import scoring

    lib = shipped_library()
    frame = pd.DataFrame([[word, *ROW[1:]]], columns=ITEMS, dtype=object)
    res = scoring.score(lib["phq9"], frame)
    assert res.failures.empty
    assert int(res.scores["total_n_answered"].iloc[0]) == 8


def test_missing_words_are_in_help_and_readme(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    out = capsys.readouterr().out
    text = README.read_text(encoding="utf-8")
    for word in MISSING_WORDS:
        if word:
            assert repr(word) in " ".join(out.split()), word
            assert f"`{word}`" in text, word


def test_readme_lists_every_failure_code() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [code for code in FAILURE_CODES if f"`{code}`" not in text]
    assert not missing


# item 14: formula injection in outputs
def test_outputs_neutralise_formulas(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "r.csv", ["note", *ITEMS], [['=HYPERLINK("http://x")', "=1+1", *ROW[1:]]])
    for ext in ("csv", "xlsx"):
        out = tmp_path / f"s.{ext}"
        code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(out))
        assert code == 0, err
        for path in (out, tmp_path / f"s.failures.{ext}"):
            if ext == "csv":
                cells = path.read_text(encoding="utf-8")
                assert ",=" not in cells and not cells.startswith("=")
            else:
                wb = openpyxl.load_workbook(path)
                values = [c.value for row in wb.active.iter_rows() for c in row]
                assert not any(isinstance(v, str) and v.startswith("=") for v in values)
                assert any(isinstance(v, str) and v.startswith("'=") for v in values)


def test_write_table_neutralises_column_names_and_cells(tmp_path: Path) -> None:
    write_table(pd.DataFrame({"=x": ["@SUM(1)", "ok"]}), tmp_path / "o.csv")
    assert tmp_path.joinpath("o.csv").read_text().splitlines() == ["'=x", "'@SUM(1)", "ok"]


# item 15: stale <dimension>
def test_stale_xlsx_dimension_does_not_drop_rows(tmp_path: Path, capsys) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(ITEMS)
    for _ in range(6):
        wb.active.append(ROW)
    wb.save(tmp_path / "r.xlsx")
    with zipfile.ZipFile(tmp_path / "r.xlsx") as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    assert re.search(r'<dimension ref="A1:I7"\s*/>', sheet)
    parts["xl/worksheets/sheet1.xml"] = re.sub(r'<dimension ref="A1:I7"\s*/>', '<dimension ref="A1:B2"/>',
                                               sheet).encode()
    with zipfile.ZipFile(tmp_path / "stale.xlsx", "w") as z:
        for n, b in parts.items():
            z.writestr(n, b)
    code, _, err = run(capsys, "score", "phq9", str(tmp_path / "stale.xlsx"), "-o", str(tmp_path / "s.csv"))
    assert code == 0, err
    assert pd.read_csv(tmp_path / "s.csv")["total"].tolist() == [10] * 6


# item 19: output paths
def test_output_onto_its_input_is_refused(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "r.csv", ITEMS, [ROW])
    before = src.read_bytes()
    for argv in (["score", "phq9", str(src), "-o", str(src)],
                 ["change", str(src), "-o", str(src)]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and "is the input file" in err
        assert src.read_bytes() == before


def test_output_into_a_missing_folder_is_created(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "r.csv", ITEMS, [ROW])
    out = tmp_path / "new" / "deeper" / "s.csv"
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(out))
    assert code == 0 and "created the output folder" in err
    assert pd.read_csv(out)["total"].tolist() == [10]


# issue 11 (the disagreement named in issue 10 item 5): explain and score share one missing-word list
@pytest.mark.parametrize("word", ["-", "n/a", "N/A", "NULL"])
def test_explain_and_score_agree_on_missing_words(word: str) -> None:
    import scoring
    from scoring.engine.receipt import explain

    d = shipped_library()["phq9"]
    frame = pd.DataFrame([[word, *ROW[1:]]], columns=ITEMS, dtype=object)
    scored = scoring.score(d, frame)
    receipt = explain(d, [word, *[str(v) for v in ROW[1:]]])
    assert bool(len(receipt.failures)) == bool(len(scored.failures)), (word, receipt.failures, scored.failures)


def test_csv_with_unnamed_trailing_columns_is_read(tmp_path: Path, capsys) -> None:
    src = tmp_path / "r.csv"
    src.write_text(",".join([*ITEMS, "", ""]) + "\n" + ",".join([*map(str, ROW), "", ""]) + "\n", encoding="utf-8")
    assert list(read_table(src).columns)[-2:] == ["column_10", "column_11"]
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 0, err


# a row with another number of cells than the header is never padded: a stray line break splits a respondent
def test_a_line_break_inside_an_unquoted_cell_is_an_error_naming_the_line(tmp_path: Path, capsys) -> None:
    src = tmp_path / "r.csv"
    src.write_bytes((",".join([*ITEMS, "note"]) + "\n" + ",".join(map(str, ROW)) + ",seen\rtwice\n").encode())
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"), "--allow-bad")
    assert code == 1 and "Traceback" not in err
    assert "line 2 has 10" not in err and "line 3 has 1" in err and "header's 10" in err
    assert not (tmp_path / "s.csv").exists()


def test_short_and_long_rows_are_errors_and_quoted_line_breaks_are_kept(tmp_path: Path) -> None:
    short = write_csv(tmp_path / "short.csv", ITEMS, [ROW, ROW[:5]])
    with pytest.raises(Exception, match=r"line 3 has 5"):
        read_table(short)
    quoted = tmp_path / "quoted.csv"
    quoted.write_text("phq9_1,note\n1,\"two\nlines\"\n\n2,x\n", encoding="utf-8")
    frame = read_table(quoted)
    assert frame["note"].tolist() == ["two\nlines", "x"] and frame["phq9_1"].tolist() == ["1", "2"]


# the bad-cell share counts cells that could not be read, not answers ignored by a gate or a respondent value
def test_answers_ignored_by_a_gate_do_not_count_as_bad_cells(tmp_path: Path, capsys) -> None:
    # AUDIT-C: items 2 and 3 are not shown when item 1 is 0; answering them anyway is reported (not_shown), 2 of 3
    # cells per row, but nothing failed to read — no refusal
    src = write_csv(tmp_path / "a.csv", ["audit_c_1", "audit_c_2", "audit_c_3"], [[0, 2, 1]] * 4)
    code, _, err = run(capsys, "score", "audit_c", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 0, err
    assert "FAILED validation" not in err
    failures = pd.read_csv(tmp_path / "s.failures.csv", dtype=str)
    assert set(failures["code"]) == {"not_shown"} and len(failures) == 8


def test_unrecognised_sex_values_do_not_count_as_bad_item_cells(tmp_path: Path, capsys) -> None:
    items = [f"phq15_{i}" for i in range(1, 16)]
    src = write_csv(tmp_path / "p.csv", [*items, "sex"], [[1] * 15 + ["?"]] * 3)
    code, _, err = run(capsys, "score", "phq15", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 0, err
    assert "FAILED validation" not in err and "unrecognised_sex" in err


def test_the_bad_share_still_refuses_unreadable_cells(tmp_path: Path, capsys) -> None:
    src = write_csv(tmp_path / "b.csv", ITEMS, [["x"] * 9] * 2)
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"))
    assert code == 1 and re.search(r"18 of \d+ item cells \(\d+%\) FAILED validation \(18 not_a_number\)", err)
