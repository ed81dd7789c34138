"""Staff pages: the selected patient tab stays selected after an action; a new code shows in a dialog;
a password change ends the session (AppTest against a seeded SQLite clinic)."""

from __future__ import annotations

from sqlalchemy import select

from scoring.store.models import StaffSession

from .conftest import PASSWORD, Seeded
from .helpers import button, new_app, open_patient, page_text, sign_in


def _find(node, kind: str) -> list:
    found = [node] if getattr(node, "type", None) == kind else []
    for child in getattr(node, "children", {}).values():
        found += _find(child, kind)
    return found


def test_tab_stays_selected_after_ack_and_event(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    open_patient(at, seeded.patient_a)
    at.session_state["w_patient_tab"] = "Alerts"
    at.run()
    alert = seeded.clinic.alerts.list(seeded.theo, patient_id=seeded.patient_a)[0]
    at.button(key=f"w_ack_{alert.id}").click().run()
    assert seeded.clinic.alerts.list(seeded.theo, patient_id=seeded.patient_a)[0].status == "acknowledged"
    assert at.session_state["w_patient_tab"] == "Alerts"
    assert [t.label for t in at.tabs] == ["Trends and change", "Items", "Alerts", "Events", "Assign", "Report"]
    at.session_state["w_patient_tab"] = "Events"
    at.run()
    at.text_input(key="w_event_label").input("Started CBT group")
    button(at, "Add event").click().run()
    assert at.session_state["w_patient_tab"] == "Events" and not at.exception


def test_new_code_and_qr_in_a_dialog(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    open_patient(at, seeded.patient_a)
    at.session_state["w_patient_tab"] = "Assign"
    at.run()
    button(at, "Assign and show the code").click().run()
    assert not at.exception and not at.error
    dialogs = _find(at._tree, "dialog")
    assert len(dialogs) == 1 and dialogs[0].proto.dialog.title == "Code for the tablet"
    texts = " ".join(str(getattr(el, "value", "")) for el in _find(dialogs[0], "code"))
    assert "?link=" in texts and len(_find(dialogs[0], "image")) == 1  # the link and its QR code, in the dialog
    assert at.session_state["w_patient_tab"] == "Assign"


def test_password_change_ends_the_session(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    at.switch_page("app_pages/account.py").run()
    at.text_input[0].input(PASSWORD)
    at.text_input[1].input(PASSWORD + " new")
    at.text_input[2].input(PASSWORD + " new")
    button(at, "Change password").click().run()
    assert "please sign in again" in page_text(at)
    assert "Signed in as" not in page_text(at)
    with seeded.clinic.store.read() as s:
        rows = list(s.scalars(select(StaffSession)))
    assert rows and all(r.revoked_reason == "password_changed" for r in rows)


def _choices(at) -> list[str]:
    return list(at.selectbox(key="w_patient_choice").options)


def test_caseload_add_search_archive_and_unarchive(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    at.text_input(key="w_new_name").input("Carol Newpatient")
    at.text_input(key="w_new_external").input("MRN-NEW-7")
    at.selectbox(key="w_new_sex").select("female")
    button(at, "Add patient").click().run()
    assert not at.exception and "Patient added." in page_text(at)
    new_id = seeded.clinic.patients.find(seeded.theo, "MRN-NEW-7")  # theo joined the care team
    assert "Carol Newpatient" in _choices(at)
    at.text_input(key="w_caseload_search").input("newpat").run()
    assert _choices(at) == ["Carol Newpatient"]
    at.text_input(key="w_caseload_search").input("mrn-new").run()
    assert _choices(at) == ["Carol Newpatient"]
    at.text_input(key="w_caseload_search").input("no such person").run()
    assert "No patient matches the search." in page_text(at)
    at.text_input(key="w_caseload_search").input("").run()
    at.selectbox(key="w_patient_choice").select(new_id)
    button(at, "Archive patient").click().run()
    assert "Patient archived" in page_text(at)
    assert "Carol Newpatient" not in _choices(at)
    assert seeded.clinic.patients.get(seeded.theo, new_id).name == "Carol Newpatient"  # data kept
    assert "patient_archived" in [r.action for r in seeded.clinic.audit_log(seeded.admin)]
    at.button(key=f"w_unarchive_{new_id}").click().run()
    assert "Carol Newpatient" in _choices(at)
    assert "patient_unarchived" in [r.action for r in seeded.clinic.audit_log(seeded.admin)]


def test_non_commercial_instrument_enabled_after_its_licence(seeded: Seeded) -> None:
    seeded.clinic.catalogue.apply_licence_defaults(seeded.admin)
    at = sign_in(new_app(), "ada")
    at.switch_page("app_pages/instruments.py").run()
    assert not [t for t in at.toggle if t.key == "w_instr_who5"]  # no plain switch while its licence is unread
    at.button(key="w_licence_who5").click().run()
    dialogs = _find(at._tree, "dialog")
    assert len(dialogs) == 1
    shown = " ".join(str(getattr(el, "value", ""))
                     for kind in ("markdown", "warning") for el in _find(dialogs[0], kind))
    who5 = next(s for s in seeded.clinic.catalogue.list(seeded.admin) if s.id == "who5")
    assert not who5.enabled and who5.licence[:40] in shown and "non commercial" in shown
    at.button(key="w_licence_ok_who5").click().run()
    assert next(s for s in seeded.clinic.catalogue.list(seeded.admin) if s.id == "who5").enabled
    assert at.toggle(key="w_instr_who5").value is True


def test_edit_patient_details_and_care_team(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    open_patient(at, seeded.patient_a)
    at.text_input(key="w_edit_name").input("Alice Renamed")
    at.text_input(key="w_edit_contact").input("alice@example.org")
    button(at, "Save details").click().run()
    record = seeded.clinic.patients.get(seeded.theo, seeded.patient_a)
    assert (record.name, record.contact) == ("Alice Renamed", "alice@example.org") and not at.exception
    at.text_input(key="w_team_add_name").input("thea")
    button(at, "Add to the care team").click().run()
    thea = seeded.clinic.users.by_name(seeded.admin, "thea")
    assert thea.id in seeded.clinic.patients.get(seeded.theo, seeded.patient_a).therapist_ids
    at.selectbox(key="w_team_remove_pick").select(thea.id)
    button(at, "Remove").click().run()
    assert thea.id not in seeded.clinic.patients.get(seeded.theo, seeded.patient_a).therapist_ids
