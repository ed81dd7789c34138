"""psyscore score in chunks: the same files as reading the whole file, file-global rows, one accept/refuse story."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from scoring.cli.inputs import bad_cell_counts
from scoring.engine import chunks as chunks_module
from scoring.engine import score
from scoring.engine.files import read_table, write_table
from tests.support.cli import REPO
from tests.support.cli import run_cli as run
from tests.support.shipped import shipped_library

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROWS = 40
CHUNKS = [1, 7, 1000]  # one row at a time, an odd size that splits bad cells over chunks, larger than the file


def _rows(instrument: str, bad_rows: tuple[int, ...] = (0, 6, 7, 13, 25, 39)) -> tuple[list[str], list[list[str]]]:
    """A header and ROWS rows of answers as text, bad cells in ``bad_rows`` (0-based) and a passthrough id."""
    plan = shipped_library()[instrument].plan
    header = ["id", *plan.item_ids, "sex"]
    bad = ["x", "99", "=1+1", "1.0", "-1", "true"]
    rows = []
    for r in range(ROWS):
        answers = [str(int(plan.allowed[k][(r + k) % len(plan.allowed[k])])) for k in range(len(plan.item_ids))]
        if r % 5 == 3:
            answers[1] = ""  # unanswered
        if r in bad_rows:
            answers[r % len(answers)] = bad[r % len(bad)]
        rows.append([f"=p{r}" if r == 2 else f"p{r}", *answers, ["female", "male", "robot", ""][r % 4]])
    return header, rows


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    text = "\n".join(",".join(row) for row in [header, *rows]) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def _reference(instrument: str, src: Path, out: Path) -> tuple[bytes, bytes | None]:
    """What the whole-file library path writes: read_table → score → write_table (no chunks involved)."""
    d = shipped_library()[instrument]
    result = score(d, read_table(src))
    write_table(result.scores, out)
    if result.failures.empty:
        return out.read_bytes(), None
    failures = result.failures.copy()
    failures["row"] = failures["row"].map(lambda r: "" if r is None else int(r) + 1)
    fpath = out.with_name(f"{out.stem}.failures{out.suffix}")
    write_table(failures, fpath)
    return out.read_bytes(), fpath.read_bytes()


def _no_partials(folder: Path) -> None:
    assert not list(folder.glob(".*.partial*")), "a temporary output file was left behind"


@pytest.mark.parametrize("instrument", ["phq9", "audit_c", "pcl5"])
def test_chunked_csv_is_byte_identical_to_reading_the_whole_file(tmp_path: Path, capsys, instrument: str) -> None:
    src = _csv(tmp_path / "r.csv", *_rows(instrument))
    (tmp_path / "ref").mkdir()
    ref_scores, ref_failures = _reference(instrument, src, tmp_path / "ref" / "s.csv")
    assert ref_failures is not None and b"out_of_range" in ref_failures
    errs = []
    for n in CHUNKS:
        out = tmp_path / f"c{n}" / "s.csv"
        code, _, err = run(capsys, "score", instrument, str(src), "-o", str(out), "--chunk-rows", str(n),
                           "--allow-bad")
        assert code == 0, err
        assert out.read_bytes() == ref_scores, f"scores differ for --chunk-rows {n}"
        assert (out.parent / "s.failures.csv").read_bytes() == ref_failures, f"failures differ for {n}"
        errs.append(err.replace(str(out.parent), "OUT"))
        _no_partials(out.parent)
    assert errs[0] == errs[1] == errs[2]  # the same summary, the same first ten failures, the same counts
    assert "'=p2" in ref_scores.decode()  # the formula guard ran on every chunk's text


def test_failure_rows_are_rows_of_the_file_in_every_chunk(tmp_path: Path, capsys) -> None:
    header, rows = _rows("phq9", bad_rows=(25, 39))
    src = _csv(tmp_path / "r.csv", header, rows)
    out = tmp_path / "s.csv"
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(out), "--chunk-rows", "7")
    assert code == 0
    failures = pd.read_csv(tmp_path / "s.failures.csv", dtype=str, keep_default_na=False)
    assert sorted(set(failures["row"])) == ["26", "40"]  # data row 26 is the file's 26th row, not row 5 of chunk 4
    assert "row 26, " in err and "row 40, " in err


def test_column_problems_are_listed_once(tmp_path: Path, capsys) -> None:
    header, rows = _rows("phq9", bad_rows=())
    src = _csv(tmp_path / "r.csv", [h if h != "phq9_9" else "phq9_99" for h in header], rows)
    out = tmp_path / "s.csv"
    code, _, _ = run(capsys, "score", "phq9", str(src), "-o", str(out), "--chunk-rows", "3")
    assert code == 0
    failures = pd.read_csv(tmp_path / "s.failures.csv", dtype=str, keep_default_na=False)
    assert failures["code"].tolist() == ["unknown_item", "missing_column"]


def test_bad_cell_rule_counts_over_the_whole_file(tmp_path: Path, capsys) -> None:
    """The first chunk is all bad, the file is not: accepted. Spread over every chunk above 20 %: refused."""
    header, rows = _rows("phq9", bad_rows=())
    for r in range(3):
        rows[r][1:10] = ["x"] * 9  # 27 of 400 item cells (phq9 has 10 items): 7 %
    src = _csv(tmp_path / "few.csv", header, rows)
    out = tmp_path / "s.csv"
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(out), "--chunk-rows", "3")
    assert code == 0 and out.exists() and "FAILED" not in err
    for r in range(0, ROWS, 2):
        rows[r][1:10] = ["x"] * 9  # with the three above: 189 of 400 cells, in every chunk
    src = _csv(tmp_path / "many.csv", header, rows)
    out = tmp_path / "t.csv"
    out.write_text("an earlier run\n")
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(out), "--chunk-rows", "3")
    assert code == 1 and "189 of 400 item cells (47%) FAILED" in err
    assert out.read_text() == "an earlier run\n"  # a refused run never replaces the earlier scores
    assert (tmp_path / "t.failures.csv").exists()  # the failures say why (as for a file read whole)
    _no_partials(tmp_path)
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(out), "--chunk-rows", "3", "--allow-bad")
    assert code == 0 and "going on because of --allow-bad" in err and len(pd.read_csv(out)) == ROWS


def test_strict_writes_no_scores(tmp_path: Path, capsys) -> None:
    src = _csv(tmp_path / "r.csv", *_rows("phq9"))
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"), "--chunk-rows", "7",
                       "--strict", "--allow-bad")
    assert code == 1 and "strict mode: no scores written" in err
    assert not (tmp_path / "s.csv").exists() and (tmp_path / "s.failures.csv").exists()
    _no_partials(tmp_path)


def test_a_row_of_another_width_in_a_later_chunk_refuses_the_run(tmp_path: Path, capsys) -> None:
    header, rows = _rows("phq9", bad_rows=())
    rows[28] = rows[28][:5]
    rows[33] = [*rows[33], "extra"]
    src = _csv(tmp_path / "r.csv", header, rows)
    out = tmp_path / "s.csv"
    out.write_text("an earlier run\n")
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(out), "--chunk-rows", "7")
    assert code == 1
    assert "line 30 has 5; line 35 has 13" in err and "nothing was scored" in err  # lines of the file
    assert out.read_text() == "an earlier run\n" and not (tmp_path / "s.failures.csv").exists()
    _no_partials(tmp_path)
    with pytest.raises(Exception, match="line 30 has 5; line 35 has 13"):  # the same words as reading it whole
        read_table(src)


def test_header_checks_hold_in_chunks(tmp_path: Path, capsys) -> None:
    header, rows = _rows("phq9", bad_rows=())
    src = _csv(tmp_path / "dup.csv", [*header[:-1], "PHQ9_1"], rows)
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"), "--chunk-rows", "2")
    assert code == 1 and "'phq9_1' (column 2) and 'PHQ9_1' (column 12)" in err
    semi = tmp_path / "semi.csv"
    semi.write_text("\n".join(";".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    code, _, err = run(capsys, "score", "phq9", str(semi), "-o", str(tmp_path / "t.csv"), "--chunk-rows", "4")
    assert code == 0 and "read as semicolon-separated" in err and len(pd.read_csv(tmp_path / "t.csv")) == ROWS
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(header).encode() + b"\n" + b"\xe9" + ",".join(rows[0]).encode() + b"\n")
    code, _, err = run(capsys, "score", "phq9", str(latin), "-o", str(tmp_path / "u.csv"), "--chunk-rows", "4")
    assert code == 1 and f"at byte {len(','.join(header)) + 1}" in err and "save it as CSV UTF-8" in err
    assert not (tmp_path / "u.csv").exists()
    with pytest.raises(SystemExit) as usage:
        run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"), "--chunk-rows", "0")
    assert usage.value.code == 2 and "at least 1" in capsys.readouterr().err
    _no_partials(tmp_path)


def test_parquet_in_and_out_frame_equal_in_every_chunk_size(tmp_path: Path, capsys) -> None:
    d = shipped_library()["audit_c"]
    header, rows = _rows("audit_c")
    frame = pd.DataFrame(rows, columns=header)
    items = list(d.plan.item_ids)
    typed = frame.assign(**{i: pd.to_numeric(frame[i], errors="coerce").astype("Int64") for i in items})
    src = tmp_path / "r.parquet"
    pq.write_table(pa.Table.from_pandas(typed, preserve_index=False), src, row_group_size=9)
    outs = []
    for n in CHUNKS:
        out = tmp_path / f"c{n}" / "s.parquet"
        code, _, err = run(capsys, "score", "audit_c", str(src), "-o", str(out), "--chunk-rows", str(n))
        assert code == 0, err
        outs.append((pq.read_table(out), pq.read_table(out.parent / "s.failures.parquet")))
        _no_partials(out.parent)
    for scores, failures in outs[1:]:
        assert scores.equals(outs[0][0]) and failures.equals(outs[0][1])
    scores, failures = outs[0]
    assert scores.num_rows == ROWS and failures.schema.field("row").type == pa.int64()
    expected = score(d, read_table(src))
    assert scores.column("total").to_pylist() == [None if v != v else v for v in expected.scores["total"]]
    assert failures.column("row").to_pylist() == [int(r) + 1 for r in expected.failures["row"]]
    assert pa.types.is_dictionary(scores.schema.field("total_reason_code").type)  # categories stay categories
    assert scores.schema.field("id").type == pa.string()


def test_xlsx_in_chunks_reads_every_row_and_column(tmp_path: Path, capsys) -> None:
    header, rows = _rows("phq9")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for k, row in enumerate(rows):
        ws.append([int(v) if v.isdigit() else v for v in row])
        if k == 20:
            ws.append([])  # a blank row is skipped, whole or in chunks
    ws.cell(row=ROWS + 2, column=len(header) + 2, value="note")  # a cell right of the header in the last row
    wb.save(tmp_path / "r.xlsx")
    whole = read_table(tmp_path / "r.xlsx")
    assert whole.columns[-1] == f"column_{len(header) + 2}" and len(whole) == ROWS
    outs = []
    for n in CHUNKS:
        out = tmp_path / f"c{n}" / "s.csv"
        code, _, err = run(capsys, "score", "phq9", str(tmp_path / "r.xlsx"), "-o", str(out), "--chunk-rows", str(n))
        assert code == 0, err
        outs.append((out.read_bytes(), (out.parent / "s.failures.csv").read_bytes()))
    assert outs[0] == outs[1] == outs[2]
    assert f"column_{len(header) + 2}".encode() in outs[0][0] and b"note" in outs[0][0]
    xout = tmp_path / "x" / "s.xlsx"
    code, _, err = run(capsys, "score", "phq9", str(tmp_path / "r.xlsx"), "-o", str(xout), "--chunk-rows", "7")
    assert code == 0, err
    ref = tmp_path / "ref.xlsx"
    write_table(score(shipped_library()["phq9"], whole).scores, ref)  # the whole-file library path
    assert pd.read_excel(xout, dtype=str).equals(pd.read_excel(ref, dtype=str))


def test_xlsx_output_above_its_row_limit_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(chunks_module, "XLSX_MAX_ROWS", 10)
    src = _csv(tmp_path / "r.csv", *_rows("phq9", bad_rows=()))
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.xlsx"), "--chunk-rows", "7")
    assert code == 1 and "at most 10 rows" in err and "write .csv or .parquet" in err
    assert not (tmp_path / "s.xlsx").exists()
    _no_partials(tmp_path)


def test_bad_cell_counts_match_the_whole_file() -> None:
    d = shipped_library()["phq9"]
    header, rows = _rows("phq9")
    frame = pd.DataFrame(rows, columns=header)
    whole = bad_cell_counts(score(d, frame).failures)
    parts = sum((bad_cell_counts(score(d, frame.iloc[k:k + 7]).failures) for k in range(0, ROWS, 7)),
                start=type(whole)())
    assert whole == parts and sum(whole.values()) > 0


def test_progress_bar_only_on_a_terminal(tmp_path: Path, capsys) -> None:
    src = _csv(tmp_path / "r.csv", *_rows("phq9", bad_rows=()))
    code, _, err = run(capsys, "score", "phq9", str(src), "-o", str(tmp_path / "s.csv"), "--chunk-rows", "5")
    assert code == 0 and "scoring r.csv" not in err and "\x1b[" not in err
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "scoring", "score", "phq9", str(src), "-o",
                             str(tmp_path / "t.csv"), "--chunk-rows", "5"], stderr=slave, stdout=subprocess.DEVNULL,
                            cwd=REPO, env=env)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            block = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not block:
            break
        seen += block
    os.close(master)
    assert proc.wait(timeout=60) == 0
    assert b"scoring r.csv" in seen and b"rows" in seen
    assert len(pd.read_csv(tmp_path / "t.csv")) == ROWS


def test_read_ahead_holds_at_most_one_item_in_its_helper_and_keeps_order() -> None:
    """The helper makes item k+1 only once item k was taken, so it never holds two; order and errors are kept."""
    import threading
    import time

    made: list[int] = []
    taken: list[int] = []
    lock = threading.Lock()

    def source():
        for k in range(6):
            with lock:
                made.append(k)
                assert len(made) - len(taken) <= 1, (made, taken)  # at most one made and not yet taken
            yield k

    got = []
    for item in chunks_module.read_ahead(source()):
        with lock:
            taken.append(item)
        time.sleep(0.01)  # the caller is slower than the helper: the helper must wait, not run ahead
        got.append(item)
    assert got == list(range(6)) and made == got

    def failing():
        yield 0
        raise ValueError("line 9: bad")

    seen = []
    with pytest.raises(ValueError, match="line 9: bad"):
        for item in chunks_module.read_ahead(failing()):
            seen.append(item)
    assert seen == [0]


def test_read_ahead_left_early_stops_its_helper_and_closes_the_source() -> None:
    import threading

    closed = threading.Event()

    def source():
        try:
            yield from range(100)
        finally:
            closed.set()

    before = threading.active_count()
    ahead = chunks_module.read_ahead(source())
    assert next(ahead) == 0
    ahead.close()
    assert closed.is_set() and threading.active_count() == before


def test_parquet_chunks_keep_types_and_statistics_of_numbers_and_flags(tmp_path: Path) -> None:
    """Chunks written from the frames' buffers read back as the frame (pandas metadata of the first chunk);
    min/max statistics are written for number and flag columns, not for text (dictionary) columns."""
    d = shipped_library()["phq9"]
    frame = pd.DataFrame({f"phq9_{k}": pd.array([k % 4, None, 3, 0] * 5, dtype="Int64") for k in range(1, 10)})
    frame.insert(0, "id", [f"p{k}" for k in range(20)])
    scores = score(d, frame).scores
    target = tmp_path / "s.parquet"
    with chunks_module.ChunkWriter(target) as out:
        for start in range(0, 20, 7):
            out.write(scores.iloc[start:start + 7])
        out.commit()
    back = pd.read_parquet(target)
    pd.testing.assert_frame_equal(back, scores.reset_index(drop=True))
    meta = pq.ParquetFile(target).metadata
    assert meta.num_row_groups == 3
    stats = {meta.schema.column(k).name: meta.row_group(0).column(k).is_stats_set for k in range(meta.num_columns)}
    assert stats["total"] and stats["total_valid"] and stats["total_n_answered"]
    assert not stats["total_band"] and not stats["instrument_id"] and not stats["id"]
