"""AppTest: every page for every role renders; navigation is the access control; staff sign-in rules."""

from __future__ import annotations

import time

import pytest

from .conftest import PASSWORD, Seeded
from .helpers import button, new_app, open_patient, page_text, sign_in

ROLE_PAGES = {
    "ada": ("app_pages/users.py", "app_pages/batteries.py", "app_pages/instruments.py", "app_pages/export.py",
            "app_pages/audit.py", "app_pages/account.py", "app_pages/caseload.py", "app_pages/patient.py"),
    "theo": ("app_pages/caseload.py", "app_pages/patient.py", "app_pages/account.py"),
    "rita": ("app_pages/export.py", "app_pages/account.py"),
}
NOT_FOR = {
    "ada": ("app_pages/kiosk.py", "app_pages/login.py"),  # admins manage every patient (issue 9 item 5)
    "theo": ("app_pages/export.py", "app_pages/users.py", "app_pages/kiosk.py", "app_pages/audit.py"),
    "rita": ("app_pages/patient.py", "app_pages/caseload.py", "app_pages/users.py", "app_pages/kiosk.py"),
}


def test_anonymous_pages(seeded: Seeded) -> None:
    at = new_app().run()
    assert not at.exception
    assert at.title[0].value == "Welcome" and [el.key for el in at.get("bidi_component")] == ["w_code"]  # the keypad
    html = "".join(str(el.proto) for el in at.get("html"))
    assert "min-height: 56px" in html  # the kiosk's large touch targets
    at.switch_page("app_pages/login.py").run()
    assert not at.exception and at.title[0].value == "Staff sign-in"
    assert "min-height: 56px" not in "".join(str(el.proto) for el in at.get("html"))  # kiosk pages only
    for page in ("app_pages/caseload.py", "app_pages/patient.py", "app_pages/export.py"):
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page(page)


@pytest.mark.parametrize("user", sorted(ROLE_PAGES))
def test_every_page_of_every_role(seeded: Seeded, user: str) -> None:
    at = sign_in(new_app(), user)
    assert not at.exception, at.exception
    if user in ("theo", "ada"):
        at.switch_page("app_pages/caseload.py").run()
        open_patient(at, seeded.patient_a)
        assert at.title[0].value == "Alice Example"
    for page in ROLE_PAGES[user]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.title, page
        assert not [e.value for e in at.error], (page, [e.value for e in at.error])
    for page in NOT_FOR[user]:
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page(page)


def test_patient_page_shows_trends_items_change_and_report(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    text = page_text(at)
    assert "Alice Example" in text and "Bob Sample" not in text  # only the own caseload
    assert "1 open" in text  # the PHQ-9 item 9 alert comes first
    open_patient(at, seeded.patient_a)
    assert len(at.get("vega_lite_chart")) >= 3  # PHQ-9 and GAD-7 trends + an item heatmap
    text = page_text(at)
    assert "Sertraline started" in text and "phq9_9" in text
    assert "reliably improved" in text or "recovered" in text
    button(at, "Prepare the report").click().run(timeout=180)
    downloads = {b.label for b in at.get("download_button")}
    assert {"Download PDF", "Download XLSX"} <= downloads, downloads


def test_alert_acknowledge_resolve_event_and_assignment(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    open_patient(at, seeded.patient_a)
    alert = seeded.clinic.alerts.list(seeded.theo, patient_id=seeded.patient_a)[0]
    at.button(key=f"w_ack_{alert.id}").click().run()
    assert seeded.clinic.alerts.list(seeded.theo, patient_id=seeded.patient_a)[0].status == "acknowledged"
    at.text_area(key=f"w_resolve_note_{alert.id}").input("Risk assessed in session; safety plan agreed.")
    button(at, "Resolve").click().run()
    assert seeded.clinic.alerts.list(seeded.theo, patient_id=seeded.patient_a) == []
    at.text_input(key="w_event_label").input("Started CBT group")
    button(at, "Add event").click().run()
    assert "Started CBT group" in [e.label for e in seeded.clinic.patients.events(seeded.theo, seeded.patient_a)]
    button(at, "Assign and show the code").click().run()  # the default: the first battery
    assert not at.exception and not at.error
    assigned = seeded.clinic.assignments.for_patient(seeded.theo, seeded.patient_a)
    assert assigned and assigned[-1].battery_name == "Mood" and assigned[-1].status == "waiting"
    code_html = page_text(at)
    assert "?link=" in code_html and len(at.get("image")) == 1  # the link and its QR code


def test_therapist_cannot_open_another_therapists_patient(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    assert "Bob Sample" not in page_text(at)
    at.query_params["patient"] = str(seeded.patient_b)  # never read: a patient is chosen in the session only
    at.switch_page("app_pages/patient.py").run()
    assert "Open a patient from your caseload." in page_text(at)
    at.session_state["psyscore_patient_id"] = seeded.patient_b  # even if the session were tampered with
    at.run()
    text = page_text(at)
    assert "not in your care team" in text and "Bob Sample" not in text and "MRN-B" not in text
    assert "psyscore_patient_id" not in at.session_state


def test_researcher_never_reaches_patient_data(seeded: Seeded) -> None:
    at = sign_in(new_app(), "rita")
    assert at.title[0].value == "Research export"
    with pytest.raises(ValueError):
        at.switch_page("app_pages/patient.py")
    at.session_state["psyscore_patient_id"] = seeded.patient_a
    at.run()
    text = page_text(at)
    assert "Alice Example" not in text and "MRN-A" not in text
    button(at, "Prepare the export").click().run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    text = page_text(at)
    assert "Manifest summary" in text
    assert [m.label for m in at.metric] == ["Rows written", "Patients", "k achieved", "Patients suppressed"]
    assert [b.label for b in at.download_button] == ["Download the export (zip)"]
    assert "Alice Example" not in text


def test_admin_manages_users_batteries_and_instruments(seeded: Seeded) -> None:
    at = sign_in(new_app(), "ada")
    at.text_input(key="w_user_name").input("nina")
    at.selectbox(key="w_user_role").select("therapist")
    at.text_input[1].input("a long enough password")
    button(at, "Add user").click().run()
    assert "nina" in {u.username for u in seeded.clinic.users.list(seeded.admin)}
    at.selectbox(key="w_user_pick").select("theo").run()
    at.button(key="w_user_disable").click().run()
    assert next(u for u in seeded.clinic.users.list(seeded.admin) if u.username == "theo").disabled
    at.switch_page("app_pages/instruments.py").run()
    text = page_text(at)
    assert "no item text — cannot be given on the kiosk" in text and "non-commercial" in text
    at.toggle(key="w_instr_gad7").set_value(False).run()
    assert not next(s for s in seeded.clinic.catalogue.list(seeded.admin) if s.id == "gad7").enabled
    at.switch_page("app_pages/batteries.py").run()
    assert "gad7" not in at.multiselect(key="w_battery_instruments").options
    assert "epds" not in at.multiselect(key="w_battery_instruments").options  # no item text
    at.text_input(key="w_battery_name").input("Wellbeing")
    at.multiselect(key="w_battery_instruments").select("who5")
    button(at, "Add battery").click().run()
    assert "Wellbeing" in {b.name for b in seeded.clinic.batteries.list(seeded.admin)}


def test_disabled_user_loses_access_at_once(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    assert at.title[0].value == "Caseload"
    seeded.clinic.users.disable(seeded.admin, seeded.theo.user_id)
    at.run()
    assert at.title[0].value == "Staff sign-in" and "disabled" in page_text(at)


def test_lockout_after_repeated_failures(seeded: Seeded) -> None:
    at = new_app()
    for _ in range(5):
        at = sign_in(at, "theo", "wrong password!")
        assert "Wrong user name or password" in page_text(at)
    at = sign_in(at, "theo", PASSWORD)
    assert "locked" in page_text(at) and at.title[0].value == "Staff sign-in"


def test_staff_idle_timeout_signs_out(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSYSCORE_STAFF_IDLE_MINUTES", "0.02")  # 1.2 seconds
    at = sign_in(new_app(), "theo")
    assert at.title[0].value == "Caseload"
    time.sleep(1.5)
    at.run()
    assert at.title[0].value == "Staff sign-in" and "without activity" in page_text(at)
    assert "psyscore_staff" not in at.session_state
