"""The patient page's "Download FHIR Bundle": the therapist chooses how the patient is identified; the Bundle has
no name, birth date or record number; the download is audited
(the chosen identifier is not logged)."""

from __future__ import annotations

import json

from .conftest import SYSTEM, Seeded
from .helpers import button, new_app, open_patient, sign_in


def _bundle(at, pid: int) -> dict:
    return json.loads(at.session_state[f"psyscore_fhir_{pid}"].decode("utf-8"))


def test_download_fhir_bundle(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    open_patient(at, seeded.patient_a)
    assert not [b for b in at.get("download_button") if b.label == "Download FHIR Bundle"]
    button(at, "Prepare FHIR Bundle").click().run(timeout=120)
    assert [b.label for b in at.get("download_button") if b.label == "Download FHIR Bundle"]
    bundle = _bundle(at, seeded.patient_a)
    text = json.dumps(bundle)
    for identifier in ("Alice Example", "MRN-A", "1980-05-01"):
        assert identifier not in text
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("QuestionnaireResponse") == 6 and kinds.count("Patient") == 1
    stored = seeded.clinic.patients.history(SYSTEM, seeded.patient_a)
    assert kinds.count("Observation") == len(stored)
    patient = bundle["entry"][0]["resource"]
    assert "identifier" not in patient and "gender" not in patient

    at.radio(key="w_fhir_subject").set_value("a pseudonym I give")  # a form: values go with the submit
    at.text_input(key="w_fhir_pseudonym").input("  ")
    button(at, "Prepare FHIR Bundle").click().run(timeout=120)
    assert any("needs the pseudonym" in e.value for e in at.error), [e.value for e in at.error]
    at.text_input(key="w_fhir_pseudonym").input("study-7")
    at.checkbox(key="w_fhir_sex").check()
    button(at, "Prepare FHIR Bundle").click().run(timeout=120)
    patient = _bundle(at, seeded.patient_a)["entry"][0]["resource"]
    assert patient["identifier"][0]["value"] == "study-7" and patient["gender"] == "female"
    audit = [r for r in seeded.clinic.audit_log(seeded.admin, patient_id=seeded.patient_a)
             if r.action == "fhir_bundle_exported"]
    assert len(audit) == 2 and all(r.user_id is not None for r in audit)
    assert "study-7" not in json.dumps([r.detail for r in audit])  # the chosen identifier is not logged
