"""One patient's record as a FHIR transaction Bundle, from a SQLite and a PostgreSQL store (library and CLI).

The patient carries sentinel identifiers (name, external id, birth date, contact, e-mail, phone): none of them may
appear anywhere in the Bundle's JSON. Values are checked against the stored scores and the engine re-scoring the
stored answers; every reference resolves inside the Bundle; a cancelled and an unfinished administration are not
exported; another therapist's patient is refused; the export is audited.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

import scoring
from scoring.definitions.library import Library
from scoring.fhir import read_responses
from scoring.fhir.bundle import PSEUDONYM_SYSTEM
from scoring.store import Actor, Clinic, PermissionDeniedError, Store, StoreError, password_hasher
from scoring.store.fhir_export import export_patient
from tests.support.cli import run_cli

SYSTEM = Actor.system("test")
PASSWORD = "correct horse battery"
SENTINELS = ("Sentinel Patientname", "MRN-SENTINEL-1", "1980-06-15", "sentinel@example.org", "+447700900123",
             "sentinel-contact-note")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    s.upgrade()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def clinic(store: Store, library: Library) -> Clinic:
    return Clinic(store, library, hasher=password_hasher(fast=True))


@pytest.fixture
def seeded(clinic: Clinic) -> tuple[Actor, Actor, int]:
    theo = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor
    thea = clinic.users.add(SYSTEM, "thea", "therapist", PASSWORD).actor
    pid = clinic.patients.add(theo, SENTINELS[0], external_id=SENTINELS[1], date_of_birth=date(1980, 6, 15),
                              sex="female", contact=SENTINELS[5], email=SENTINELS[3], phone=SENTINELS[4])
    for k, level in enumerate((3, 2, 0)):
        when = datetime(2025, 1 + k, 6, 9, 30, tzinfo=UTC)
        clinic.administrations.record(theo, pid, "phq9", {f"phq9_{i}": level for i in range(1, 10)},
                                      administered_at=when)
    clinic.administrations.record(theo, pid, "gad7", {f"gad7_{i}": 1 for i in range(1, 8)},
                                  administered_at=datetime(2025, 2, 6, 9, 45, tzinfo=UTC))
    # a form with items missing beyond the PHQ-9's rule: stored, not scorable
    clinic.administrations.record(theo, pid, "phq9", {"phq9_1": 1}, administered_at=datetime(2025, 4, 1, tzinfo=UTC))
    started = clinic.administrations.start(theo, pid, "gad7")  # never finished: not exported
    clinic.administrations.save_answer(theo, started.id, "gad7_1", 3)
    cancelled = clinic.administrations.start(theo, pid, "phq9")
    clinic.administrations.save_answer(theo, cancelled.id, "phq9_1", 3)
    clinic.administrations.cancel(theo, cancelled.id)
    return theo, thea, pid


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _check_bundle(bundle: dict, clinic: Clinic, library: Library, pid: int) -> None:
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate_json(json.dumps(bundle))
    assert bundle["type"] == "transaction"
    text = json.dumps(bundle, ensure_ascii=False)
    for sentinel in SENTINELS:
        assert sentinel not in text, sentinel
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls) and all(u.startswith("urn:uuid:") for u in full_urls)
    for e in bundle["entry"]:
        kind = e["resource"]["resourceType"]
        assert e["request"]["url"] == kind and e["request"]["method"] == "POST"
        if kind == "Questionnaire":
            q = e["resource"]
            assert e["request"]["ifNoneExist"] == f"url={q['url']}&version={q['version']}"
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    patients = _resources(bundle, "Patient")
    assert len(patients) == 1
    patient_url = next(u for u, r in by_url.items() if r["resourceType"] == "Patient")
    assert set(patients[0]) <= {"resourceType", "meta", "identifier", "gender"}
    stored = clinic.patients.history(SYSTEM, pid)
    responses = _resources(bundle, "QuestionnaireResponse")
    assert len(responses) == stored["administration_id"].nunique() == 5  # completed only
    assert {q["url"].rsplit("/", 1)[1] for q in _resources(bundle, "Questionnaire")} == {"phq9", "gad7"}
    observations = _resources(bundle, "Observation")
    assert len(observations) == len(stored)
    for obs in observations:
        assert obs["subject"] == {"reference": patient_url}
        source = by_url[obs["derivedFrom"][0]["reference"]]  # resolves inside the Bundle
        assert source["resourceType"] == "QuestionnaireResponse" and source["subject"]["reference"] == patient_url
        assert obs["effectiveDateTime"] == source["authored"]
    # the values: the stored scores, and the engine re-scoring the answers the responses carry
    qr_frame, failures = read_responses(library, {"resourceType": "Bundle", "type": "collection",
                                                  "entry": [{"resource": r} for r in responses]})
    assert failures.empty
    for instrument, rows in qr_frame.groupby("instrument"):
        d = library[str(instrument)]
        engine = scoring.score(d, rows[list(d.plan.item_ids)]).scores.reset_index(drop=True)
        when = list(rows["authored"])
        for k, obs in enumerate(o for o in observations if o["method"]["coding"][0]["code"] == instrument):
            scale = obs["code"]["coding"][-1]["code"]
            at = when.index(obs["effectiveDateTime"])
            value = engine[scale].iloc[at]
            if pd.isna(value):
                assert "valueQuantity" not in obs and obs["dataAbsentReason"]["text"].startswith("not scored")
            else:
                assert obs["valueQuantity"]["value"] == value, (instrument, k)
    stored_values = sorted(v for v in stored["score"].dropna())
    exported = sorted(o["valueQuantity"]["value"] for o in observations if "valueQuantity" in o)
    assert exported == stored_values


def test_export_from_the_store(clinic: Clinic, library: Library, seeded: tuple[Actor, Actor, int]) -> None:
    theo, thea, pid = seeded
    bundle = export_patient(clinic, theo, pid)
    _check_bundle(bundle, clinic, library, pid)
    patient = _resources(bundle, "Patient")[0]
    assert "identifier" not in patient and "gender" not in patient
    assert patient["meta"]["security"][0]["code"] == "PSEUDED"
    again = export_patient(clinic, theo, pid)  # a new random reference every time: exports cannot be linked
    assert again["entry"][0]["fullUrl"] != bundle["entry"][0]["fullUrl"]
    phq9 = [o for o in _resources(bundle, "Observation") if o["method"]["coding"][0]["code"] == "phq9"]
    assert [o["valueQuantity"]["value"] for o in phq9 if "valueQuantity" in o] == [27, 18, 0]
    last = next(o for o in phq9 if o["effectiveDateTime"] == "2025-03-06T09:30:00Z")
    classes = {c["code"]["coding"][0]["code"]: c for c in last["component"]}
    assert classes["baseline-difference"]["valueQuantity"]["value"] == -27
    assert classes["baseline-classification"]["valueCodeableConcept"]["coding"][0]["code"] == "recovered"
    audit = [r for r in clinic.audit_log(SYSTEM, patient_id=pid) if r.action == "fhir_bundle_exported"]
    assert len(audit) == 2 and audit[0].detail["resources"]["Observation"] == len(phq9) + 1
    with pytest.raises(PermissionDeniedError):
        export_patient(clinic, thea, pid)


def test_an_exported_bundle_is_read_back_whole(clinic: Clinic, library: Library,
                                               seeded: tuple[Actor, Actor, int]) -> None:
    """psyscore's own Bundle scores without failures: its Patient, Questionnaire and Observation entries are
    context, so the 20 % rule of ``psyscore fhir score`` does not refuse it."""
    theo, _, pid = seeded
    bundle = export_patient(clinic, theo, pid, subject="internal", include_sex=True)
    frame, failures = read_responses(library, bundle)
    assert failures.empty, failures.to_dict("records")
    assert len(frame) == len(_resources(bundle, "QuestionnaireResponse")) and frame["sex"].notna().all()


def test_a_bundle_of_context_only_says_so(library: Library) -> None:
    frame, failures = read_responses(library, {"resourceType": "Bundle", "type": "collection",
                                               "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}]})
    assert frame.empty and failures["code"].tolist() == ["no_responses"]
    assert "no QuestionnaireResponse" in failures["message"].iloc[0]


def test_subject_choices(clinic: Clinic, library: Library, seeded: tuple[Actor, Actor, int]) -> None:
    theo, _, pid = seeded
    internal = export_patient(clinic, theo, pid, subject="internal", include_sex=True)
    patient = _resources(internal, "Patient")[0]
    assert patient["identifier"] == [{"type": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "PSEUDED",
        "display": "pseudonymized"}]}, "system": PSEUDONYM_SYSTEM, "value": str(pid)}]
    assert patient["gender"] == "female"
    chosen = export_patient(clinic, theo, pid, subject="pseudonym", pseudonym=" study-0042 ")
    assert _resources(chosen, "Patient")[0]["identifier"][0]["value"] == "study-0042"
    _check_bundle(chosen, clinic, library, pid)
    with pytest.raises(StoreError, match="needs the pseudonym"):
        export_patient(clinic, theo, pid, subject="pseudonym", pseudonym="  ")
    with pytest.raises(StoreError, match="only with subject 'pseudonym'"):
        export_patient(clinic, theo, pid, subject="random", pseudonym="x")


def test_export_of_a_patient_without_results(clinic: Clinic) -> None:
    theo = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor
    pid = clinic.patients.add(theo, "Nobody Yet")
    bundle = export_patient(clinic, theo, pid)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]


def test_fhir_export_command(store_url: str, clinic: Clinic, library: Library, seeded: tuple[Actor, Actor, int],
                             tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, pid = seeded
    out = tmp_path / "out" / "bundle.json"
    code, _, err = run_cli(capsys, "fhir", "export", SENTINELS[1], "-o", out, "--db", store_url,
                           monkeypatch=monkeypatch)
    assert code == 0, err
    assert "1 Patient, 2 Questionnaire, 5 QuestionnaireResponse" in err and SENTINELS[0] not in err
    bundle = json.loads(out.read_text(encoding="utf-8"))
    _check_bundle(bundle, clinic, library, pid)
    code, _, err = run_cli(capsys, "fhir", "export", str(pid), "-o", out, "--pseudonym", "p-9", "--include-sex",
                           "--db", store_url, monkeypatch=monkeypatch)
    assert code == 0, err
    patient = _resources(json.loads(out.read_text(encoding="utf-8")), "Patient")[0]
    assert patient["identifier"][0]["value"] == "p-9" and patient["gender"] == "female"
    code, _, err = run_cli(capsys, "fhir", "export", str(pid), "-o", out, "--subject", "internal", "--pseudonym",
                           "p-9", "--db", store_url, monkeypatch=monkeypatch)
    assert code != 0 and "--pseudonym goes with --subject pseudonym" in err
    code, _, err = run_cli(capsys, "fhir", "export", "MRN-NOBODY", "-o", out, "--db", store_url,
                           monkeypatch=monkeypatch)
    assert code != 0 and "no patient with this external id" in err
    code, _, err = run_cli(capsys, "fhir", "export", str(pid), "-o", tmp_path / "b.xml", "--db", store_url,
                           monkeypatch=monkeypatch)
    assert code != 0 and "must end in .json" in err
