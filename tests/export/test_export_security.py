"""Export hardening: date filters cannot be used to difference out a day; export files are private (0600).

The differencing attack (issue 10, item 11): two exports whose ``--to`` differs by one day used to differ by
exactly the administrations of that day, so that their exact date was revealed although only years are
written. Filters are now widened to whole years (what the profiles release), and the manifest, the codebook
and the store's audit log state the range applied.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import scoring
import scoring.export as ex
from scoring.cli import main
from tests.support.shipped import shipped_library


def _rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    """The rows without the research id (random per export), as a sorted multiset of text tuples."""
    rest = frame.drop(columns=[c for c in frame.columns if c == "research_id"]).astype(str)
    return sorted(map(tuple, rest.itertuples(index=False)))


def _export(capsys: pytest.CaptureFixture[str], out: Path, *args: str, key: Path | None = None
            ) -> tuple[pd.DataFrame, dict, str]:
    """A CLI export: safe_harbor, or pseudonymised under ``key`` (relative days are offered only there)."""
    profile = ["--profile", "safe_harbor"] if key is None else ["--profile", "pseudonymised", "--key-file", str(key)]
    code = main(["export", *profile, "-o", str(out), "-k", "1", *args])
    _, err = capsys.readouterr()
    assert code == 0, err
    return (pd.read_csv(out / "data.csv", keep_default_na=False),
            json.loads((out / "manifest.json").read_text(encoding="utf-8")), err)


@pytest.fixture
def input_csv(tmp_path: Path, extract: pd.DataFrame) -> Path:
    path = tmp_path / "administrations.csv"
    extract.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("dates", "layout"), [("year", "long"), ("relative", "long"), ("year", "wide"),
                                               ("none", "long")])
def test_to_differing_by_one_day_reveals_no_day(tmp_path: Path, input_csv: Path, extract: pd.DataFrame,
                                               capsys: pytest.CaptureFixture[str], key_file: Path, dates: str,
                                               layout: str) -> None:
    key = key_file if dates == "relative" else None  # relative days: pseudonymised only
    days = pd.to_datetime(extract["date"]).dt.date
    day = sorted(d for d in days.unique() if d.month not in (1, 12))[len(days.unique()) // 2]
    on_that_day = int((days == day).sum())
    assert on_that_day > 0  # the attack has something to find
    before, m1, _ = _export(capsys, tmp_path / "a", "--input", str(input_csv), "--dates", dates, "--layout", layout,
                            "--to", (day - timedelta(days=1)).isoformat(), key=key)
    after, m2, err = _export(capsys, tmp_path / "b", "--input", str(input_csv), "--dates", dates, "--layout", layout,
                             "--to", day.isoformat(), key=key)
    assert _rows(before) == _rows(after), "the two exports differ: their difference reveals the day's administrations"
    assert m1["counts"] == m2["counts"]
    assert m1["filters"] == m2["filters"] == {"instruments": None, "from": None, "to": f"{day.year}-12-31",
                                              "date_granularity": "year"}
    assert "date range widened to whole years" in err and f"to {day.year}-12-31" in err
    # the codebook states the range applied, the manifest never the day asked
    assert f"to: {day.year}-12-31" in (tmp_path / "b" / "codebook.md").read_text(encoding="utf-8")
    assert day.isoformat() not in (tmp_path / "b" / "manifest.json").read_text(encoding="utf-8")


def test_from_is_widened_to_the_start_of_its_year(extract: pd.DataFrame, library: scoring.Library) -> None:
    days = pd.to_datetime(extract["date"]).dt.date
    year = 2022
    prep = ex.prepare_export(ex.ExportData(extract), profile="pseudonymised", key=ex.StudyKey(os.urandom(32)), k=1,
                             date_from=date(year, 7, 19), date_to=date(year, 7, 20), library=library)
    assert prep.manifest["counts"]["administrations_exported"] == int((pd.Series(days).map(lambda d: d.year)
                                                                      == year).sum())
    assert prep.manifest["filters"]["from"] == f"{year}-01-01" and prep.manifest["filters"]["to"] == f"{year}-12-31"
    assert prep.audit_filters["asked_from"] == f"{year}-07-19" and prep.audit_filters["asked_to"] == f"{year}-07-20"


def test_an_empty_range_asked_is_still_refused(extract: pd.DataFrame, library: scoring.Library) -> None:
    with pytest.raises(ex.ExportError, match="date range is empty"):
        ex.prepare_export(ex.ExportData(extract), profile="safe_harbor", date_from=date(2022, 5, 2),
                          date_to=date(2022, 5, 1), library=library)


@pytest.fixture
def store_url(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("sqlalchemy")
    from scoring.store import Actor, Clinic, Store, password_hasher

    system = Actor.system("test")
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    with Store(url) as store:
        store.upgrade()
        clinic = Clinic(store, shipped_library(), hasher=password_hasher(fast=True))
        therapist = clinic.users.add(system, "theo", "therapist", "correct horse battery").actor
        for i in range(6):
            pid = clinic.patients.add(therapist, f"Patient {i}", date_of_birth=date(1970 + i, 2, 3), sex="female")
            for when in (datetime(2024, 3, 10 + i, 9, tzinfo=UTC), datetime(2024, 5, 20, 9, tzinfo=UTC)):
                clinic.administrations.record(therapist, pid, "gad7", {f"gad7_{k}": (i + k) % 4 for k in range(1, 8)},
                                              administered_at=when)
    yield url


def test_store_export_differencing_and_audit(store_url: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from scoring.store import Actor, Clinic, Store

    before, m1, _ = _export(capsys, tmp_path / "a", "--db", store_url, "--to", "2024-05-19")
    after, m2, _ = _export(capsys, tmp_path / "b", "--db", store_url, "--to", "2024-05-20")
    assert len(before) == len(after) == 12  # six administrations on 2024-05-20 do not show as a difference
    assert _rows(before) == _rows(after) and m1["filters"] == m2["filters"]
    with Store(store_url) as store:
        log = Clinic(store, shipped_library()).audit_log(Actor.system("test"))
    reads = [r for r in log if r.action == "export_read"]
    assert reads and all(r.detail["to"] == "2025-01-01T00:00:00+00:00" for r in reads), [r.detail for r in reads]
    written = [r for r in log if r.action == "export_written"]
    assert [r.detail["filters"]["asked_to"] for r in written] == ["2024-05-20", "2024-05-19"]  # newest first
    assert all(r.detail["filters"]["to"] == "2024-12-31" for r in written)


def test_export_files_are_private(tmp_path: Path, input_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = os.umask(0o022)  # the usual umask: files would be 0644 without the export's own modes
    try:
        out = tmp_path / "new" / "export"
        code = main(["export", "--profile", "safe_harbor", "--input", str(input_csv), "-o", str(out), "-k", "2",
                     "--format", "csv", "--format", "xlsx", "--format", "sav", "--format", "parquet"])
        assert code == 0, capsys.readouterr().err
        empty = tmp_path / "existing"
        empty.mkdir()
        res = ex.export(input_csv, empty, profile="safe_harbor", formats=["csv"], k=2)
    finally:
        os.umask(old)
    files = sorted(out.iterdir())
    assert len(files) == 7
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [*files, *res.paths]}
    assert set(modes.values()) == {0o600}, {n: oct(m) for n, m in modes.items()}
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert ex.verify(out) == []


# --- relative days: pseudonymised only (corrections.md, security.md item 2; 45 CFR 164.514(b)(2)(i)(C)) ---------


def test_safe_harbor_refuses_relative_days_and_names_the_profile_that_offers_them(
        extract: pd.DataFrame, library: scoring.Library) -> None:
    for layout in ex.LAYOUTS:
        with pytest.raises(ex.ExportError) as refused:
            ex.prepare_export(ex.ExportData(extract), profile="safe_harbor", dates="relative", layout=layout, k=1,
                              library=library)
        message = str(refused.value)
        assert "safe_harbor profile does not offer 'relative' dates" in message
        assert "pseudonymised profile" in message and "164.514(b)(2)(i)(C)" in message
        assert "'year' or 'none'" in message and "Expert Determination" in message
    assert ex.PROFILE_DATE_MODES == {"safe_harbor": ("year", "none"), "pseudonymised": ("year", "relative", "none")}
    for dates in ("year", "none"):
        ex.ExportOptions("safe_harbor", dates=dates).check()
    ex.ExportOptions("pseudonymised", dates="relative").check()
    relative = ex.prepare_export(ex.ExportData(extract), profile="pseudonymised", key=ex.StudyKey(os.urandom(32)),
                                 dates="relative", k=1, library=library)
    assert relative.manifest["dates"] == "relative" and "days_since_first" in relative.data.columns
    label = next(v.label for v in relative.variables if v.name == "days_since_first")
    assert "pseudonymised profile only" in label and "Safe Harbor" in label


def test_cli_refuses_relative_days_under_safe_harbor_before_reading_or_writing(
        tmp_path: Path, input_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["export", "--profile", "safe_harbor", "--input", str(input_csv), "-o", str(out),
                 "--dates", "relative"])
    _, err = capsys.readouterr()
    assert code == 2, err
    assert "does not offer 'relative' dates (--dates relative)" in err and "pseudonymised profile" in err
    assert not out.exists()
    assert "pseudonymised only" in " ".join(_help(capsys).split())


def _help(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    return capsys.readouterr().out
