"""``psyscore export`` and ``psyscore export-key``: exit codes, files, messages; lazy optional imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.support.cli import run_cli as run


@pytest.fixture
def input_csv(tmp_path: Path, extract: pd.DataFrame) -> Path:
    path = tmp_path / "administrations.csv"
    extract.to_csv(path, index=False)
    return path


def test_export_safe_harbor_to_every_format(tmp_path: Path, input_csv: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    out = tmp_path / "out"
    code, _, err = run(capsys, "export", "--profile", "safe_harbor", "--input", input_csv, "-o", out,
                       "--format", "csv", "--format", "xlsx", "--format", "sav", "--format", "parquet", "-k", "3",
                       "--instrument", "phq9", "gad7", "--from", "2021-01-01", "--to", "2024-12-31")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["codebook.csv", "codebook.md", "data.csv", "data.parquet",
                                                     "data.sav", "data.xlsx", "manifest.json"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["filters"] == {"instruments": ["phq9", "gad7"], "from": "2021-01-01", "to": "2024-12-31",
                                   "date_granularity": "year"}
    assert "k achieved" in err and "administration(s) of" in err


def test_export_pseudonymised_with_a_new_key(tmp_path: Path, input_csv: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "study.key"
    code, _, err = run(capsys, "export-key", key)
    assert code == 0 and key.is_file() and "0600" in err
    if os.name == "posix":
        assert key.stat().st_mode & 0o777 == 0o600
    code, _, err = run(capsys, "export-key", key)
    assert code == 2 and "already exists" in err
    outs = []
    for name in ("a", "b"):
        code, _, err = run(capsys, "export", "--profile", "pseudonymised", "--key-file", key, "--input", input_csv,
                           "-o", tmp_path / name, "-k", "1", "--layout", "wide", "--dates", "relative")
        assert code == 0, err
        outs.append(pd.read_csv(tmp_path / name / "data.csv")["research_id"])
    assert sorted(outs[0]) == sorted(outs[1])  # same study key, same research ids


@pytest.mark.parametrize(("args", "message"), [
    (["--profile", "pseudonymised"], "needs --key-file"),
    (["--profile", "safe_harbor", "--key-file", "k"], "drop --key-file"),
    (["--profile", "safe_harbor", "--from", "01/02/2024"], "YYYY-MM-DD"),
    (["--profile", "safe_harbor", "--age-bands", "0,x"], "whole numbers"),
    (["--profile", "safe_harbor", "--definitions", "no/such/folder"], "no such folder"),
])
def test_usage_errors_exit_2(tmp_path: Path, input_csv: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                             message: str) -> None:
    code, _, err = run(capsys, "export", *args, "--input", input_csv, "-o", tmp_path / "o")
    assert code == 2 and message in err, err


def test_missing_input_and_non_empty_output_exit_2(tmp_path: Path, input_csv: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "export", "--profile", "safe_harbor", "--input", tmp_path / "nope.csv", "-o",
                       tmp_path / "o")
    assert code == 2 and "no such file" in err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    code, _, err = run(capsys, "export", "--profile", "safe_harbor", "--input", input_csv, "-o", tmp_path / "full")
    assert code == 2 and "not an empty folder" in err


def test_bad_data_and_short_keys_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"patient_id": ["a"], "date": ["yesterday"], "instrument": ["gad2"]}).to_csv(bad, index=False)
    code, _, err = run(capsys, "export", "--profile", "safe_harbor", "--input", bad, "-o", tmp_path / "o")
    assert code == 1 and "column 'date': row 1 not a date" in err and "yesterday" not in err
    short = tmp_path / "short.key"
    short.write_text("ab" * 16)
    short.chmod(0o600)
    good = tmp_path / "good.csv"
    pd.DataFrame({"patient_id": ["a"], "date": ["2024-01-01"], "instrument": ["gad2"]}).to_csv(good, index=False)
    code, _, err = run(capsys, "export", "--profile", "pseudonymised", "--key-file", short, "--input", good,
                       "-o", tmp_path / "o2")
    assert code == 1 and "128-bit key; at least 256 bits" in err and "ab" * 16 not in err
    assert not (tmp_path / "o2").exists()


def test_xlsx_input(tmp_path: Path, extract: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.xlsx"
    extract.head(40).to_excel(src, index=False)
    code, _, err = run(capsys, "export", "--profile", "safe_harbor", "--input", src, "-o", tmp_path / "o", "-k", "1")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "o" / "data.csv")) == 40


def test_export_modules_import_without_pyarrow_or_pyreadstat() -> None:
    """``import scoring`` and the export's import never load the optional writers' packages themselves.

    pandas 3 imports pyarrow on its own when it is installed, so the check blocks pyarrow and pyreadstat
    and shows that scoring, scoring.export and the CLI parser still import and prepare an export.
    """
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pyarrow', 'pyreadstat'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pandas as pd, scoring, scoring.export as ex, scoring.cli\n"
        "scoring.cli.build_parser()\n"
        "frame = pd.DataFrame({'patient_id': ['a'], 'date': ['2024-01-01'], 'instrument': ['gad2'], 'gad2_1': [1],"
        " 'gad2_2': [2]})\n"
        "prep = ex.prepare_export(frame, profile='safe_harbor', k=1)\n"
        "import tempfile\n"
        "try:\n"
        "    ex.write_export(prep, tempfile.mkdtemp() + '/o', ['parquet'])\n"
        "except ex.ExportError as exc:\n"
        "    assert 'psyscore[export]' in str(exc), exc\n"
        "else:\n"
        "    raise SystemExit('parquet written without pyarrow?')\n"
        "assert 'pyreadstat' not in sys.modules and 'streamlit' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-c", "import sys, scoring, scoring.export, scoring.cli; "
                           "scoring.cli.build_parser(); assert 'pyreadstat' not in sys.modules"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
