"""``psyscore norms`` and ``psyscore score --norms``: output, exit codes and located messages."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.support.cli import run_cli as run

FIXTURES = Path(__file__).parent / "fixtures"



def test_norms_lists_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "norms")
    assert code == 0
    assert "phq9_kliem2024_de_sex  (phq9.total, percentile, secondary evidence, N = 2,519)" in out
    assert "gad7_lowe2008_de_sex  (gad7.total, mean_sd, primary evidence, N = 5,030)" in out
    assert "citation: Kocalevent RD, Hinz A, Brähler E." in out


def test_norms_json_for_one_instrument(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "norms", "--instrument", "k10", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == ["k10_lehmann2023_eu7"]
    row = rows[0]
    assert {"id", "instrument", "scale", "population", "n", "method", "evidence", "citation"} <= set(row)
    assert row["n"] == 7087 and row["evidence"] == "primary" and len(row["hash"]) == 64


def test_norms_unknown_instrument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "norms", "--instrument", "phq99")
    assert code == 2 and "did you mean 'phq9'" in err


def test_norms_validate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "norms", "--validate")
    assert code == 0 and "0 error(s)" in out
    code, out, _ = run(capsys, "norms", "--validate", str(FIXTURES / "good"))
    assert code == 0 and "3 valid norm table(s)" in out
    bad = FIXTURES / "bad" / "e409_not_monotone.yaml"
    code, _, err = run(capsys, "norms", "--validate", str(bad))
    assert code == 1
    assert f"{bad.with_suffix('.csv')}:7 percentile: error E409: stratum 'all': cumulative % falls" in err
    code, out, _ = run(capsys, "norms", "--validate", "--json", str(FIXTURES / "bad" / "e411_overlapping_strata.yaml"))
    assert code == 1
    issue = json.loads(out)["issues"][0]
    assert (issue["code"], issue["line"], issue["path"]) == ("E411", 15, "strata[1]")
    code, _, _ = run(capsys, "norms", "--validate", "no/such/folder")
    assert code == 2


def test_validate_codes_lists_norm_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "--codes")
    assert code == 0 and "E408" in out and "norm table does not cover" in out


def _input(tmp_path: Path, with_sex: bool = True) -> Path:
    rows = ["patient,age,sex,phq9_1,phq9_2,phq9_3,phq9_4,phq9_5,phq9_6,phq9_7,phq9_8,phq9_9",
            "a,30,m,1,1,1,1,0,0,0,0,0", "b,61,female,3,3,3,3,3,3,3,3,3", "c,40,,0,0,0,0,0,0,0,0,0"]
    if not with_sex:
        rows = [",".join(c for i, c in enumerate(r.split(",")) if i != 2) for r in rows]
    path = tmp_path / "in.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_score_with_norms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "out.csv"
    code, _, err = run(capsys, "score", "phq9", str(_input(tmp_path)), "-o", str(out_path),
                       "--norms", "phq9_kliem2024_de_sex")
    assert code == 0 and "norms phq9_kliem2024_de_sex (secondary evidence)" in err
    scores = pd.read_csv(out_path)
    assert list(scores.columns[-6:]) == ["total_percentile", "total_z", "total_t", "total_norm_stratum",
                                         "total_norm_reason", "total_norm_id"]
    assert scores["total_percentile"].tolist()[:2] == [82.2, 99.9]
    assert pd.isna(scores["total_percentile"].iloc[2]) and scores["total_norm_reason"].iloc[2].startswith("sex unk")
    assert set(scores["total_norm_id"]) == {"phq9_kliem2024_de_sex"}


def test_score_norms_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "out.csv"
    code, _, err = run(capsys, "score", "phq9", str(_input(tmp_path)), "-o", str(out_path), "--norms", "phq9_kliem")
    assert code == 2 and "did you mean 'phq9_kliem2024_de_sex'" in err
    code, _, err = run(capsys, "score", "phq9", str(_input(tmp_path)), "-o", str(out_path),
                       "--norms", "gad7_lowe2008_de_sex")
    assert code == 2 and "is for gad7, not phq9" in err
    code, _, err = run(capsys, "score", "phq9", str(_input(tmp_path, with_sex=False)), "-o", str(out_path),
                       "--norms", "phq9_kliem2024_de_sex")
    assert code == 2 and "stratified by sex: add the column(s) sex" in err
    assert not out_path.exists()
