"""AppTest: the open-alerts banner on staff pages, Acknowledge on the caseload, alert-notice settings on My
account, and sending the link from the Assign tab."""

from __future__ import annotations

from .conftest import PHQ9, Seeded
from .helpers import button, new_app, open_patient, page_text, sign_in


def banner(at) -> str:
    return "\n".join(w.value for w in at.warning if "open alert" in w.value)


def test_banner_on_every_therapist_page_and_acknowledge_clears_it(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    assert "**1 open alert** for your patients" in banner(at)
    at.switch_page("app_pages/account.py").run()
    assert "1 open alert" in banner(at)  # every staff page, not only the caseload
    # a second critical answer, saved by another session: shown on the next run of the page
    seeded.clinic.administrations.record(seeded.theo, seeded.patient_a, "phq9", dict.fromkeys(PHQ9, 1)
                                         | {"phq9_9": 3})
    at.run()
    assert "**2 open alerts**" in banner(at)
    at.switch_page("app_pages/caseload.py").run()
    assert "Alerts — 2 open, 0 acknowledged" in page_text(at)
    acks = [b for b in at.button if b.key and b.key.startswith("w_alert_ack_")]
    assert len(acks) == 2
    acks[0].click().run()
    assert not at.exception
    assert "Alert acknowledged." in page_text(at)
    assert "Alerts — 1 open, 1 acknowledged" in page_text(at)
    assert "**1 open alert**" in banner(at)
    statuses = sorted(a.status for a in seeded.clinic.alerts.list(seeded.theo))
    assert statuses == ["acknowledged", "open"]


def test_no_banner_without_open_alerts_of_ones_own_patients(seeded: Seeded) -> None:
    for a in seeded.clinic.alerts.list(seeded.theo):
        seeded.clinic.alerts.acknowledge(seeded.theo, a.id)
    at = sign_in(new_app(), "theo")
    assert banner(at) == "" and "Alerts — 0 open, 1 acknowledged" in page_text(at)
    seeded.clinic.administrations.record(seeded.thea, seeded.patient_b, "phq9", dict.fromkeys(PHQ9, 1)
                                         | {"phq9_9": 2})
    at.run()
    assert banner(at) == ""  # thea's patient: not theo's alert


def test_alert_notice_settings_on_my_account(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    at.switch_page("app_pages/account.py").run()
    at.text_input(key="w_contact_email").input("not an address")
    button(at, "Save").click().run()
    assert any("not an e-mail address" in e.value for e in at.error)
    at.text_input(key="w_contact_email").input("theo@clinic.example")
    at.text_input(key="w_contact_webhook").input("https://hooks.example/theo")
    button(at, "Save").click().run()
    assert "Saved." in page_text(at)
    c = seeded.clinic.notifications.contact(seeded.theo, seeded.theo.user_id)
    assert (c.email, c.webhook_url) == ("theo@clinic.example", "https://hooks.example/theo")


def test_assign_and_send_the_link(seeded: Seeded) -> None:
    seeded.clinic.patients.update(seeded.theo, seeded.patient_a, email="alice@example.org")
    at = sign_in(new_app(), "theo")
    open_patient(at, seeded.patient_a)
    at.radio(key="w_assign_send").set_value("by e-mail")
    button(at, "Assign and show the code").click().run()
    assert not at.exception
    assert "The link goes to the patient by e-mail" in page_text(at)
    rows = seeded.clinic.notifications.list(seeded.admin, kind="invitation")
    assert [(r.channel, r.status) for r in rows] == [("email", "pending")]
