"""Export from the clinic store (SQLite): seeded through the store's API with sentinel identifiers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

import scoring.export as ex
from tests.export.conftest import MARK, export_bytes

pytest.importorskip("sqlalchemy")

from scoring.store import Actor, Clinic, Store, password_hasher
from tests.support.shipped import shipped_library

SYSTEM = Actor.system("test")
PASSWORD = "correct horse battery"
ALL_FORMATS = ["csv", "xlsx", "sav", "parquet"]


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[str, Clinic, Actor, list[str]]]:
    """A SQLite clinic with 12 patients (identifiers full of sentinels), PHQ-9 and GAD-7 administrations."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    store = Store(url)
    store.upgrade()
    clinic = Clinic(store, shipped_library(), hasher=password_hasher(fast=True))
    therapist = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor
    researcher = clinic.users.add(SYSTEM, "rita", "researcher", PASSWORD).actor
    secrets = [MARK]
    for i in range(12):
        dob = date(1930 + i * 5, 1 + i % 12, 3 + i)
        name, contact, ext = f"Patient {MARK} Number{i}", f"p{i}.{MARK.lower()}@example.org, +1 555 {i:04d}", \
            f"MRN-{MARK}-{i:04d}"
        secrets += [name, contact, ext, dob.isoformat()]
        pid = clinic.patients.add(therapist, name, date_of_birth=dob, sex=["female", "male"][i % 2],
                                  contact=contact, external_id=ext)
        clinic.patients.add_event(therapist, pid, date(2025, 1, 2), f"Event {MARK}", f"Note about {MARK} at home")
        for j, when in enumerate((datetime(2024, 3, 1 + i, 10, tzinfo=UTC), datetime(2024, 6, 1 + i, 10, tzinfo=UTC))):
            clinic.administrations.record(therapist, pid, "phq9", {f"phq9_{k}": (i + j + k) % 4 for k in range(1, 10)},
                                          administered_at=when)
        clinic.administrations.record(therapist, pid, "gad7", {f"gad7_{k}": i % 4 for k in range(1, 8)},
                                      administered_at=datetime(2024, 9, 1, 10, tzinfo=UTC))
    try:
        yield url, clinic, researcher, secrets
    finally:
        store.close()


def test_store_export_leaks_no_identifier(seeded: tuple[str, Clinic, Actor, list[str]], tmp_path: Path) -> None:
    _, clinic, researcher, secrets = seeded
    source = ex.StoreSource(clinic.research, researcher)
    res = ex.export(source, tmp_path / "out", profile="pseudonymised", key=ex.StudyKey(os.urandom(32)),
                    formats=ALL_FORMATS, k=2, dates="relative")  # relative days: pseudonymised only
    counts = res.manifest["counts"]
    assert counts["administrations_exported"] == 36 and counts["patients_exported"] == 12
    for name, content in export_bytes(tmp_path / "out"):
        for s in secrets:
            assert s.encode() not in content, (name, s)
    # ages at the administration, banded; sex from the store
    ages = res.data.groupby("research_id", observed=True)["age_band"].first()
    assert ages.max() == 10 or (ages == ex.SUPPRESSED).any()
    assert set(res.data["sex"].dropna()) <= {1, 2, ex.SUPPRESSED}


def test_store_export_scores_with_pinned_definitions(seeded: tuple[str, Clinic, Actor, list[str]]) -> None:
    _, clinic, researcher, _ = seeded
    source = ex.StoreSource(clinic.research, researcher)
    # the accessor itself filters exact UTC days (--to inclusive): March administrations of patients 4..11
    # and June ones of patients 0..2
    exact = source.export_data(instruments=["phq9"], date_from=date(2024, 3, 5), date_to=date(2024, 6, 3))
    assert len(exact.administrations) == 8 + 3
    # the export widens the range to whole years (it releases years, not days): every 2024 PHQ-9
    prep = ex.prepare_export(source, profile="safe_harbor", k=1, instruments=["phq9"], date_from=date(2024, 3, 5),
                             date_to=date(2024, 6, 3))
    data = prep.data
    assert len(data) == 24 and set(data["instrument_id"].astype(str)) == {"phq9"}
    stored = clinic.research.administrations(researcher, "phq9")
    assert sorted(data["phq9_total"].tolist()) == sorted(
        stored.loc[(stored["completed_at"] >= datetime(2024, 1, 1, tzinfo=UTC))
                   & (stored["completed_at"] < datetime(2025, 1, 1, tzinfo=UTC)), "total"].tolist())
    version = clinic.library["phq9"].version  # the seeded administrations use the latest definition
    pinned = clinic.research.definition(researcher, "phq9", version)
    assert prep.manifest["instruments"] == [{"id": "phq9", "version": version, "hash": pinned.hash,
                                             "administrations": 24}]


def test_store_export_needs_a_researcher_or_admin(seeded: tuple[str, Clinic, Actor, list[str]],
                                                  tmp_path: Path) -> None:
    from scoring.store import PermissionDeniedError

    _, clinic, _, _ = seeded
    therapist = clinic.users.authenticate("theo", PASSWORD).actor
    with pytest.raises(PermissionDeniedError):
        ex.export(ex.StoreSource(clinic.research, therapist), tmp_path / "o", profile="safe_harbor")


def test_cli_export_from_the_store(seeded: tuple[str, Clinic, Actor, list[str]], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from scoring.cli import main

    url, _, _, secrets = seeded
    key = ex.create_key_file(tmp_path / "study.key")
    out = tmp_path / "out"
    code = main(["export", "--db", url, "--profile", "pseudonymised", "--key-file", str(key), "-o", str(out),
                 "-k", "2", "--format", "sav", "--format", "parquet", "--layout", "wide"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert not [s for s in secrets if s in stdout + err]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["administrations_exported"] == 36
    wide = pd.read_parquet(out / "data.parquet")
    assert len(wide) == 12 and "phq9_total_t2" in wide.columns and "gad7_total_t1" in wide.columns
    for name, content in export_bytes(out):
        for s in secrets:
            assert s.encode() not in content, (name, s)
    code = main(["export", "--db", str(tmp_path / "missing.db"), "--profile", "safe_harbor", "-o",
                 str(tmp_path / "o2")])
    _, err = capsys.readouterr()
    assert code == 2 and "no such database file" in err and not (tmp_path / "missing.db").exists()
