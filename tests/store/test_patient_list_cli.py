"""``psyscore patient list``: ids and care teams, no identifiers unless --show-names; audited either way;
archived patients only with --archived (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from scoring.cli import main
from scoring.store import Clinic, Store, password_hasher
from scoring.store.models import Patient
from tests.store.conftest import PASSWORD, SYSTEM


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_patient_list(store_url: str, library, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(store_url)
    store.upgrade()
    clinic = Clinic(store, library, hasher=password_hasher(fast=True))
    theo = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD)
    a = clinic.patients.add(SYSTEM, "Sentinel Listname", sex="female", external_id="MRN-LIST-1", therapists=[theo.id])
    b = clinic.patients.add(SYSTEM, "Archived Person", external_id="MRN-LIST-2")
    with store.write() as s:
        s.execute(update(Patient).where(Patient.id == b).values(active=False))

    code, out = run(capsys, "patient", "list", "--db", store_url)
    assert code == 0 and str(a) in out and "theo" in out
    assert "Sentinel" not in out and "MRN-LIST" not in out and "Archived" not in out
    code, out = run(capsys, "patient", "list", "--db", store_url, "--show-names", "--archived", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows[a] == {"id": a, "sex": "female", "birth_year": None, "archived": False, "care_team": ["theo"],
                       "name": "Sentinel Listname", "external_id": "MRN-LIST-1"}
    assert rows[b]["archived"] is True and rows[b]["name"] == "Archived Person"
    listed = [r for r in clinic.audit_log(SYSTEM) if r.action == "patients_listed"]
    assert sorted(r.detail["identifiers"] for r in listed) == [False, True]  # one of each, newest first
    assert all("Sentinel" not in json.dumps(r.detail) for r in listed)
    # a therapist's listing is limited to the care team
    assert [r.id for r in clinic.patients.listing(theo.actor, archived=True)] == [a]
    store.close()


def test_caseload_search_and_archive(clinic: Clinic, therapist) -> None:
    a = clinic.patients.add(therapist, "Ana 100% Ruiz", external_id="MRN_A")
    b = clinic.patients.add(therapist, "Bea Ruiz", external_id="MRNXB")
    assert [p.id for p in clinic.patients.caseload(therapist, search="ruiz")] == [a, b]
    assert [p.id for p in clinic.patients.caseload(therapist, search="100%")] == [a]  # % is literal
    assert [p.id for p in clinic.patients.caseload(therapist, search="mrn_")] == [a]  # _ is literal
    clinic.patients.archive(therapist, b)
    assert [p.id for p in clinic.patients.caseload(therapist)] == [a]
    assert [p.id for p in clinic.patients.caseload(therapist, archived=True)] == [b]
    assert clinic.patients.get(therapist, b).name == "Bea Ruiz"  # kept
    clinic.patients.archive(therapist, b, archived=False)
    assert [p.id for p in clinic.patients.caseload(therapist)] == [a, b]
    actions = [r.action for r in clinic.audit_log(SYSTEM, patient_id=b)]
    assert {"patient_archived", "patient_unarchived"} <= set(actions)
