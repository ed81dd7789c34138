"""Shared data for the export tests: a clinic extract with sentinel identifiers in every identifying field."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring
from tests.support.shipped import shipped_library

#: every identifying value carries this marker, so one scan finds any of them
MARK = "Q7XZ"
SENTINEL_DATES_OF_BIRTH = ("1931-04-23", "1934-11-02", "1988-02-29")
INSTRUMENTS = ("phq9", "gad7", "audit_c", "epds")


def _answers(definition: scoring.Definition, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    sets = {s.id: [o.value for o in s.options] for s in definition.instrument.option_sets}
    return {it.id: rng.choice(sets[it.options], n) for it in definition.instrument.items}


def clinic_extract(n_patients: int = 60, per_patient: int = 4, seed: int = 7) -> pd.DataFrame:
    """Administrations with identifiers (name, e-mail, phone, address, MRN, external id, exact birth date,
    postcode, notes) that must never leave, next to the allowlisted columns.

    Patients ``P-Q7XZ-000`` … ; exact administration dates in 2021–2024; ages from 20 to 104 (so 90+ occurs).
    """
    rng = np.random.default_rng(seed)
    lib = shipped_library()
    rows = []
    for i in range(n_patients):
        dob = SENTINEL_DATES_OF_BIRTH[i] if i < len(SENTINEL_DATES_OF_BIRTH) else \
            f"{1920 + (i * 7) % 80}-{1 + i % 12:02d}-{1 + (i * 5) % 28:02d}"
        sex = ["female", "male"][i % 2] if i % 13 else ""
        start = pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(rng.integers(0, 900)))
        for j in range(per_patient):
            inst = INSTRUMENTS[(i + j) % len(INSTRUMENTS)]
            rows.append({
                "patient_id": f"P-{MARK}-{i:03d}",
                "date": (start + pd.Timedelta(days=int(30 * j + rng.integers(0, 20)))).strftime("%Y-%m-%d"),
                "instrument": inst,
                "sex": sex,
                "birth_date": dob,
                "name": f"Alice {MARK} Example{i}",
                "email": f"alice.{MARK.lower()}{i}@example.org",
                "phone": f"+1 555 {MARK} {i:04d}",
                "address": f"{i} Sentinel Street {MARK}, Springfield",
                "mrn": f"MRN-{MARK}-{i:05d}",
                "external_id": f"EXT{MARK}{i}",
                "postcode": f"ZIP{MARK}{i:03d}",
                "notes": f"=HYPERLINK(\"http://evil/{MARK}\") said she lives with her sister {MARK}",
                "clinician": f"Dr {MARK} Who",
            })
    frame = pd.DataFrame(rows)
    for inst in INSTRUMENTS:
        d = lib[inst]
        sel = (frame["instrument"] == inst).to_numpy()
        for item, values in _answers(d, rng, int(sel.sum())).items():
            col = np.full(len(frame), np.nan)
            col[sel] = values
            frame[item] = col
    frame.loc[0, "phq9_1"] = np.nan
    return frame


def identifier_strings(frame: pd.DataFrame) -> set[str]:
    """Every identifying value of the extract, as text, plus compact forms of the exact dates."""
    out: set[str] = {MARK, MARK.lower()}
    for col in ("patient_id", "name", "email", "phone", "address", "mrn", "external_id", "postcode", "notes"):
        out.update(frame[col].astype(str))
    out.update(frame["date"].unique())  # exact administration dates: 2022-03-14
    for value in frame["birth_date"].unique():
        out.add(value)  # 1931-04-23
        out.add(value.replace("-", ""))  # 19310423
        y, m, d = value.split("-")
        out.update({f"{d}/{m}/{y}", f"{m}/{d}/{y}", f"{d}.{m}.{y}"})
    return out


def export_bytes(folder: Path) -> Iterator[tuple[str, bytes]]:
    """(name, content) of every file in an export, XLSX parts unzipped, Parquet and SAV also decoded."""
    for path in sorted(folder.iterdir()):
        raw = path.read_bytes()
        yield path.name, raw
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                for info in z.infolist():
                    yield f"{path.name}:{info.filename}", z.read(info)
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            yield f"{path.name}:decoded", table.to_pandas().to_csv().encode("utf-8")
            yield f"{path.name}:metadata", repr(table.schema).encode("utf-8") + b"".join(
                k + v for f in table.schema for k, v in (f.metadata or {}).items()) + b"".join(
                k + v for k, v in (table.schema.metadata or {}).items())
        elif path.suffix == ".sav":
            import pyreadstat

            frame, meta = pyreadstat.read_sav(str(path))
            yield f"{path.name}:decoded", frame.to_csv().encode("utf-8")
            yield f"{path.name}:meta", repr(vars(meta)).encode("utf-8")


@pytest.fixture(scope="session")
def extract() -> pd.DataFrame:
    return clinic_extract()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    from scoring.export import create_key_file

    return create_key_file(tmp_path / "study.key")
