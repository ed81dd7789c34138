"""AppTest: admins manage the practice's patients (every patient, care teams, archive); e-mail and phone are
edited on the caseload and the patient page with a clear error for a bad one (SQLite clinic)."""

from __future__ import annotations

from .conftest import Seeded
from .helpers import button, new_app, open_patient, page_text, sign_in


def _choices(at) -> list[str]:
    return list(at.selectbox(key="w_patient_choice").options)


def _patients_page(at):
    return at.switch_page("app_pages/caseload.py").run()


def test_admin_sees_every_patient_with_the_care_team(seeded: Seeded) -> None:
    at = _patients_page(sign_in(new_app(), "ada"))
    assert not at.exception and at.title[0].value == "Patients"
    assert sorted(_choices(at)) == ["Alice Example", "Bob Sample"]  # both care teams
    table = at.dataframe[0].value
    teams = dict(zip(table["Patient"], table["Care team"], strict=True))
    assert teams == {"Alice Example": "theo", "Bob Sample": "thea"}
    at.text_input(key="w_caseload_search").input("mrn-b").run()
    assert _choices(at) == ["Bob Sample"]


def test_admin_adds_a_patient_with_a_care_team_and_contact(seeded: Seeded) -> None:
    at = _patients_page(sign_in(new_app(), "ada"))
    at.text_input(key="w_new_name").input("Carol Admin-Added")
    at.text_input(key="w_new_external").input("MRN-ADM-1")
    at.text_input(key="w_new_phone").input("07700 900123")  # no country code: refused, nothing added
    at.multiselect(key="w_new_team").select(seeded.thea.user_id)
    button(at, "Add patient").click().run()
    errors = [e.value for e in at.error]
    assert errors and "phone: not a valid phone number (the country code is missing" in errors[0]
    assert "Carol Admin-Added" not in _choices(at)
    assert at.text_input(key="w_new_name").value == "Carol Admin-Added"  # nothing typed is lost
    assert at.multiselect(key="w_new_team").value == [seeded.thea.user_id]
    at.text_input(key="w_new_email").input("carol@example.org")
    at.text_input(key="w_new_phone").input("+44 20 7946 0958")
    button(at, "Add patient").click().run()
    assert not at.exception and "Patient added." in page_text(at)
    pid = seeded.clinic.patients.find(seeded.admin, "MRN-ADM-1")
    record = seeded.clinic.patients.get(seeded.admin, pid)
    assert (record.email, record.phone, record.therapist_ids) == ("carol@example.org", "+442079460958",
                                                                  (seeded.thea.user_id,))
    assert seeded.clinic.patients.get(seeded.thea, pid).name == "Carol Admin-Added"  # thea's patient now
    assert at.text_input(key="w_new_name").value == "" and at.multiselect(key="w_new_team").value == []


def test_admin_edits_contact_care_team_and_archives_on_the_patient_page(seeded: Seeded) -> None:
    at = _patients_page(sign_in(new_app(), "ada"))
    open_patient(at, seeded.patient_b)
    assert not at.exception and at.title[0].value == "Bob Sample"
    at.text_input(key="w_edit_email").input("bob at example")
    button(at, "Save details").click().run()
    assert any("e-mail: not a valid e-mail address (it has no @)" in e.value for e in at.error)
    at.text_input(key="w_edit_email").input("bob@example.org")
    at.text_input(key="w_edit_phone").input("+1 555 000 1234")
    button(at, "Save details").click().run()
    assert "Details saved." in page_text(at)
    record = seeded.clinic.patients.get(seeded.admin, seeded.patient_b)
    assert (record.email, record.phone) == ("bob@example.org", "+15550001234")

    assert at.selectbox(key="w_team_add_pick").options == ["theo"]  # the therapists not yet in the team
    at.selectbox(key="w_team_add_pick").select(seeded.theo.user_id)
    at.button(key="w_team_add").click().run()
    assert "Care team updated." in page_text(at)
    at.selectbox(key="w_team_remove_pick").select(seeded.thea.user_id)
    at.button(key="w_team_remove").click().run()
    assert seeded.clinic.patients.get(seeded.admin, seeded.patient_b).therapist_ids == (seeded.theo.user_id,)
    assert "**Care team:** theo" in page_text(at)

    at.button(key="w_patient_archive").click().run()
    assert "Patient archived" in page_text(at) and "archived" in at.caption[0].value
    assert not seeded.clinic.patients.get(seeded.admin, seeded.patient_b).active
    at.button(key="w_patient_unarchive").click().run()
    assert seeded.clinic.patients.get(seeded.admin, seeded.patient_b).active
    actions = [r.action for r in seeded.clinic.audit_log(seeded.admin)]
    assert {"patient_updated", "care_team_added", "care_team_removed", "patient_archived",
            "patient_unarchived"} <= set(actions)


def test_therapist_adds_a_patient_with_email_and_phone(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    assert not [w for w in at.multiselect if w.key == "w_new_team"]  # a therapist joins the care team instead
    at.text_input(key="w_new_name").input("Dana Therapist-Added")
    at.text_input(key="w_new_external").input("MRN-TH-1")
    at.text_input(key="w_new_email").input("dana@example.org")
    at.text_input(key="w_new_phone").input("0044 20 7946 0958")
    button(at, "Add patient").click().run()
    assert "Patient added." in page_text(at)
    record = seeded.clinic.patients.get(seeded.theo, seeded.clinic.patients.find(seeded.theo, "MRN-TH-1"))
    assert (record.email, record.phone, record.therapist_ids) == ("dana@example.org", "+442079460958",
                                                                  (seeded.theo.user_id,))
    assert sorted(_choices(at)) == ["Alice Example", "Dana Therapist-Added"]  # still only theo's own patients


def test_researcher_has_no_patient_pages(seeded: Seeded) -> None:
    import pytest

    at = sign_in(new_app(), "rita")
    for page in ("app_pages/caseload.py", "app_pages/patient.py"):
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page(page)
