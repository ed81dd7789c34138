"""psyscore score --engine spark: Parquet and CSV folders in and out, the same scores and failures as the
single-machine command, --strict and the bad-cell rule decide before scores are written, --definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.spark.test_spark_score import FIXTURES, _table
from tests.support.shipped import shipped_library

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _read_folder(path: Path) -> pd.DataFrame:
    """A Spark output folder (part files) as one pandas frame of text or typed cells."""
    parts = sorted(p for p in path.iterdir() if p.suffix in (".parquet", ".csv") and not p.name.startswith("."))
    assert parts, f"no part files in {path}"
    if parts[0].suffix == ".parquet":
        return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)
    return pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in parts], ignore_index=True)


def _cells(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    """Rows as text, missing as '' (Parquet nulls, NaN, NA and CSV empty cells alike), sorted."""
    def text(v: Any) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        v = str(v)
        return v.lower() if v in ("True", "False") else v  # pandas writes True, Spark true
    return sorted(tuple(text(v) for v in row) for row in frame.astype(object).itertuples(index=False))


def test_parquet_in_and_out_equals_the_single_machine_command(spark: Any, cli: Any, tmp_path: Path) -> None:
    table = _table("phq9", rows=200, seed=4)
    src = tmp_path / "responses.parquet"
    pq.write_table(table, src)
    one = cli("score", "phq9", src, "-o", tmp_path / "one.parquet", "--allow-bad")
    assert one.code == 0, one.err
    res = cli("score", "phq9", src, "-o", tmp_path / "spark.parquet", "--engine", "spark", "--master", "local[2]",
              "--row-id", "id", "--allow-bad")
    assert res.code == 0, res.err
    assert "on Spark" in res.err and "problem(s) counted as missing" in res.err
    assert (tmp_path / "spark.parquet").is_dir()
    want = pq.read_table(tmp_path / "one.parquet").to_pandas()
    got = _read_folder(tmp_path / "spark.parquet")
    assert list(got.columns) == list(want.columns)
    assert _cells(got) == _cells(want)
    # failures: the single-machine file names rows by position (+1 for the file line); here by the id column
    ids = table.column("id").to_pylist()
    one_f = pq.read_table(tmp_path / "one.failures.parquet").to_pandas()
    one_f["row"] = [None if pd.isna(r) else ids[int(r) - 1] for r in one_f["row"]]
    got_f = _read_folder(tmp_path / "spark.failures.parquet")
    assert list(got_f.columns) == ["row", "item", "value", "code", "message"]
    assert len(got_f) > 10 and _cells(got_f) == _cells(one_f)


def test_csv_folder_with_own_definitions_and_strict(spark: Any, cli: Any, tmp_path: Path) -> None:
    import scoring

    d = scoring.load_library([FIXTURES])["demo_scale"]
    table = _table("demo_scale", rows=60, seed=8, definition=d)
    folder = tmp_path / "in"
    folder.mkdir()
    frame = table.to_pandas().astype(object)
    frame.iloc[:30].to_csv(folder / "a.csv", index=False)
    frame.iloc[30:].to_csv(folder / "b.csv", index=False)
    out = tmp_path / "scores.csv"
    res = cli("score", "demo_scale", folder, "-o", out, "--engine", "spark", "--definitions", FIXTURES,
              "--row-id", "id", "--allow-bad")
    assert res.code == 0, res.err
    got = _read_folder(out)
    assert len(got) == 60 and {"total", "total_band", "critical"} <= set(got.columns)
    whole = tmp_path / "whole.csv"
    frame.to_csv(whole, index=False)
    one = cli("score", "demo_scale", whole, "-o", tmp_path / "one.csv", "--definitions", FIXTURES, "--allow-bad")
    assert one.code == 0, one.err
    assert _cells(got) == _cells(pd.read_csv(tmp_path / "one.csv", dtype=str, keep_default_na=False))
    strict = cli("score", "demo_scale", folder, "-o", tmp_path / "strict.csv", "--engine", "spark", "--definitions",
                 FIXTURES, "--strict", "--allow-bad")
    assert strict.code == 1 and "strict mode: no scores written" in strict.err
    assert not (tmp_path / "strict.csv").exists() and (tmp_path / "strict.failures.csv").is_dir()


def test_refusals_are_usage_errors(cli: Any, tmp_path: Path) -> None:
    src = tmp_path / "r.parquet"
    pq.write_table(_table("phq9", rows=3), src)
    assert shipped_library()["phq9"] is not None
    res = cli("score", "phq9", src, "-o", tmp_path / "o.xlsx", "--engine", "spark")
    assert res.code == 2 and "must end in .parquet or .csv" in res.err
    res = cli("score", "phq9", src, "-o", tmp_path / "o.parquet", "--engine", "spark", "--chunk-rows", "10")
    assert res.code == 2 and "--chunk-rows is for --engine pandas" in res.err


def test_analyze_on_spark_equals_the_single_machine_report(spark: Any, cli: Any, tmp_path: Path) -> None:
    import json

    import numpy as np

    table = _table("dass21", rows=150, seed=6)
    src = tmp_path / "responses.parquet"
    pq.write_table(table, src)
    one = cli("analyze", src, "--instrument", "dass21", "-o", tmp_path / "one.json", "--allow-bad")
    assert one.code == 0, one.err
    res = cli("analyze", src, "--instrument", "dass21", "-o", tmp_path / "spark.json", "--engine", "spark",
              "--row-id", "id", "--allow-bad")
    assert res.code == 0, res.err
    assert "150 row(s) analysed with dass21" in res.err
    want, got = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("one", "spark"))
    assert got["n_rows"] == want["n_rows"] and got["n_bad_cells"] == want["n_bad_cells"] > 0
    for level in ("scales", "items", "warnings"):
        assert len(got[level]) == len(want[level])
        for g, w in zip(got[level], want[level], strict=True):
            assert g.keys() == w.keys()
            for k, v in w.items():
                if isinstance(v, float):
                    assert np.isclose(g[k], v, rtol=0, atol=1e-9), (level, k)
                else:
                    assert g[k] == v, (level, k)


def test_csv_headers_checked_before_spark_reads(cli: Any, tmp_path: Path) -> None:
    """Spark would rename a repeated name (phq9_1 in column 0 -> phq9_10, a real item) and match the files
    of a folder by position: both are refused, naming the file, before Spark reads anything."""
    items = ",".join(f"phq9_{i}" for i in range(1, 10))
    dup = tmp_path / "dup.csv"
    dup.write_text(f"id,{items},PHQ9_1\n1,{','.join('1' * 9)},2\n", encoding="utf-8")
    res = cli("score", "phq9", dup, "-o", tmp_path / "o.parquet", "--engine", "spark")
    assert res.code == 1 and "duplicate column names 'phq9_1' and 'PHQ9_1'" in res.err and "dup.csv" in res.err
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text(f"id,{items}\n1,{','.join('1' * 9)}\n", encoding="utf-8")
    swapped = ",".join(f"phq9_{i}" for i in (2, 1, *range(3, 10)))
    (folder / "b.csv").write_text(f"id,{swapped}\n2,{','.join('0' * 9)}\n", encoding="utf-8")
    res = cli("score", "phq9", folder, "-o", tmp_path / "f.parquet", "--engine", "spark")
    assert res.code == 1 and "b.csv: its header differs from that of" in res.err
    assert not (tmp_path / "o.parquet").exists() and not (tmp_path / "f.parquet").exists()


def test_a_ragged_csv_row_stops_the_run_without_quoting_it(spark: Any, cli: Any, tmp_path: Path) -> None:
    items = ",".join(f"phq9_{i}" for i in range(1, 10))
    src = tmp_path / "r.csv"
    src.write_text(f"id,{items}\n1,{','.join('1' * 9)}\n2,1,3,0\n", encoding="utf-8")
    res = cli("score", "phq9", src, "-o", tmp_path / "o.parquet", "--engine", "spark")
    assert res.code == 1 and "a row has another number of cells than the header" in res.err
    assert "2,1,3,0" not in res.err and not (tmp_path / "o.parquet").exists()
