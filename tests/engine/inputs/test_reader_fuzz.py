"""Fuzzing the CSV/XLSX readers through `psyscore score`: no traceback, and no silent score.

Random delimiters, encodings, duplicate and case-varied headers, formulas, missing words and huge cells.
Whatever the file, the command ends with an exit code; when it scores, every row's number of answered items
is exactly the number of its cells holding a valid answer code, and every other non-missing cell is in the
failures file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from scoring.cli import main
from scoring.engine.responses import MISSING_WORDS

ITEMS = [f"phq9_{i}" for i in range(1, 10)]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CELL = st.one_of(
    st.sampled_from(["0", "1", "2", "3", " 2 ", "4", "-1", "2.0", "2.5", "1e0", "=1+1", "=HYPERLINK(\"x\")",
                     "+1", "@SUM(A1)", "NA", "n/a", "None", "NULL", "", "x" * 40_000, "3;2", "1,2", "\"", "é"]),
    st.text(max_size=8),
    st.integers(-2, 5).map(str),
)
EXTRA = st.sampled_from(["note", "id", "PHQ9_3", "Phq9_1", "phq9_x", "phq9_1", "total_x"])


def _header(draw: st.DrawFn) -> list[str]:
    items = draw(st.permutations(ITEMS))
    cased = [draw(st.sampled_from([i, i.upper(), i.capitalize()])) for i in items]
    return cased + draw(st.lists(EXTRA, max_size=2))


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = _header(draw)
    rows = draw(st.lists(st.lists(CELL, min_size=len(header), max_size=len(header)), min_size=1, max_size=5))
    return header, rows


def _valid(text: str) -> bool:
    return text.strip() in {"0", "1", "2", "3"}


def _missing(text: str) -> bool:
    return text.strip().lower() in MISSING_WORDS


def _check(header: list[str], rows: list[list[str]], path: Path) -> None:
    out = path.parent / "scores.csv"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["score", "phq9", str(path), "-o", str(out), "--allow-bad"])  # any exception fails here
    assert code in (0, 1, 2), err.getvalue()
    lowered = [h.lower() for h in header]
    duplicated = len(set(lowered)) != len(lowered)
    if duplicated:
        assert code == 1 and "duplicate column names" in err.getvalue()
        return
    if code != 0:
        assert err.getvalue().strip()  # a failure always says why
        return
    scores = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(scores) == len(rows)
    failures = (pd.read_csv(path.parent / "scores.failures.csv", dtype=str, keep_default_na=False)
                if (path.parent / "scores.failures.csv").exists() else pd.DataFrame(columns=["row", "item"]))
    reported = set(zip(failures["row"], failures["item"], strict=True))
    for r, row in enumerate(rows):
        cells = {h.lower(): v for h, v in zip(header, row, strict=True) if h.lower() in ITEMS}
        answered = sum(_valid(v) for v in cells.values())
        assert int(float(scores.loc[r, "total_n_answered"])) == answered, (row, err.getvalue())
        for item, v in cells.items():
            if not _valid(v) and not _missing(v):
                assert (str(r + 1), item) in reported, (item, v)


@FUZZ
@given(tables(), st.sampled_from([",", ";", "\t", "|"]), st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
def test_csv_reader_never_scores_silently(table: tuple[list[str], list[list[str]]], delimiter: str,
                                          encoding: str) -> None:
    header, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "responses.csv"
        try:
            path.write_bytes(buffer.getvalue().encode(encoding))
        except UnicodeEncodeError:
            return
        if encoding == "utf-16" or (encoding == "latin-1" and not buffer.getvalue().isascii()):
            # not UTF-8: refused with a message, never mis-scored
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(["score", "phq9", str(path), "-o", str(Path(tmp) / "s.csv"), "--allow-bad"])
            assert code == 1 and "UTF-8" in err.getvalue()
            return
        _check(header, rows, path)


@FUZZ
@given(tables())
def test_xlsx_reader_never_scores_silently(table: tuple[list[str], list[list[str]]]) -> None:
    header, rows = table
    rows = [[ILLEGAL_CHARACTERS_RE.sub("", v) for v in row] for row in rows]  # not storable in XLSX at all
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "responses.xlsx"
        wb.save(path)
        _check(header, rows, path)
