"""Invitations to the patient's own phone or e-mail: a fresh one-time link per message, reminders for due
and recurring assignments that stop when the assignment is completed, cancelled or expired; no clinical
content in any message."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from scoring.notify import Notifier, NotifySettings, SmtpSettings
from scoring.notify.worker import load_sms_sender
from scoring.store import Clinic, CodeInvalidError, StoreError

from .conftest import (
    PATIENT_EMAIL,
    PATIENT_MRN,
    PATIENT_NAME,
    PATIENT_PHONE,
    SECRET,
    Clock,
    HookServer,
    SmtpServer,
    make_team,
)

CLINICAL = (PATIENT_NAME, "Sentinel", PATIENT_MRN, "phq", "gad", "depress", "anxiety", "Mood check")
LINK = re.compile(r"https://psyscore\.clinic\.example/\?link=([A-Za-z0-9_-]+)")


def settings(smtp: SmtpServer | None = None, sms_url: str | None = None, **policy: object) -> NotifySettings:
    cfg = NotifySettings(
        smtp=SmtpSettings(smtp.host, smtp.port, sender="psyscore@clinic.example", cafile=str(smtp.cafile),
                          timeout=10) if smtp else None,
        webhook_secret=SECRET, sms_webhook_url=sms_url, public_url="https://psyscore.clinic.example/",
        clinic_name="Harbour Practice")
    return cfg.with_policy(**policy) if policy else cfg


def no_clinical_content(text: str) -> None:
    for word in CLINICAL:
        assert word.lower() not in text.lower(), f"{word!r} in a message to the patient"


def finish(clinic: Clinic, token: str) -> None:
    """Complete the assignment on the patient's phone through the link."""
    session = clinic.kiosk.redeem(token)
    if session.consent_needed:
        clinic.kiosk.agree(session.ticket)
    for adm in session.administrations:
        while (item := clinic.kiosk.next_item(session.ticket, adm.id)) is not None:
            clinic.kiosk.save_answer(session.ticket, adm.id, item.item_id, item.options[0].value)
        clinic.kiosk.complete(session.ticket, adm.id)


def links(smtp: SmtpServer, n: int) -> list[str]:
    out = []
    for mail in smtp.wait_for(n)[:n]:
        assert mail.to == [PATIENT_EMAIL]
        body = mail.message.get_content()
        no_clinical_content(mail.message["Subject"] + body)
        out.append(LINK.search(body).group(1))
    return out


def test_email_invitation_carries_a_working_link_and_no_clinical_content(clinic: Clinic, smtp: SmtpServer) -> None:
    team = make_team(clinic)
    clinic.batteries.add(team.admin, "Mood check", ["phq9"])
    issued = clinic.assignments.assign(team.theo, team.patient, battery="Mood check")
    clinic.notifications.invite(team.theo, issued.assignment_id, "email")
    report = Notifier(clinic, settings(smtp)).run_once()
    assert report.sent == 1
    mail = smtp.wait_for(1)[0]
    assert mail.tls and mail.message["Subject"] == "A questionnaire from Harbour Practice"
    (token,) = links(smtp, 1)
    assert token != issued.token  # a fresh link, made when it was sent
    with pytest.raises(CodeInvalidError):
        clinic.kiosk.redeem(issued.token)  # the earlier link stopped working
    assert clinic.kiosk.redeem(token).assignment_id == issued.assignment_id
    actions = [r.action for r in clinic.audit_log(team.admin, limit=50)]
    assert {"invitation_queued", "assignment_link_issued", "notification_sent"} <= set(actions)


def test_the_typed_code_still_works_after_an_invitation(clinic: Clinic, smtp: SmtpServer) -> None:
    team = make_team(clinic)
    issued = clinic.assignments.assign(team.theo, team.patient, instruments=["gad7"])
    clinic.notifications.invite(team.theo, issued.assignment_id, "email")
    Notifier(clinic, settings(smtp)).run_once()
    assert clinic.kiosk.redeem(issued.code).assignment_id == issued.assignment_id


def test_invitation_needs_an_address_in_the_contact_details(clinic: Clinic) -> None:
    team = make_team(clinic)
    pid = clinic.patients.add(team.theo, "No Contact")
    issued = clinic.assignments.assign(team.theo, pid, instruments=["gad7"])
    with pytest.raises(StoreError, match=f"patient {pid} has no e-mail address"):
        clinic.notifications.invite(team.theo, issued.assignment_id, "email")
    with pytest.raises(StoreError, match="no phone number"):
        clinic.notifications.invite(team.theo, issued.assignment_id, "sms")
    with pytest.raises(StoreError, match="not in your care team"):
        clinic.notifications.invite(team.thea, issued.assignment_id, "email")


def test_sms_through_the_signed_webhook_sender(clinic: Clinic, hooks: HookServer) -> None:
    team = make_team(clinic, email="")
    issued = clinic.assignments.assign(team.theo, team.patient, instruments=["gad7"])
    clinic.notifications.invite(team.theo, issued.assignment_id, "sms")
    assert Notifier(clinic, settings(sms_url=hooks.url + "/sms")).run_once().sent == 1
    hook = hooks.wait_for(1)[0]
    assert hook.valid and hook.path == "/sms" and hook.body["to"] == PATIENT_PHONE
    no_clinical_content(hook.body["text"])
    token = LINK.search(hook.body["text"]).group(1)
    assert clinic.kiosk.redeem(token).assignment_id == issued.assignment_id


def test_reminders_until_completed(clinic: Clinic, smtp: SmtpServer, clock: Clock) -> None:
    team = make_team(clinic)
    issued = clinic.assignments.assign(team.theo, team.patient, instruments=["gad7"],
                                       expires_in=timedelta(days=14))
    clinic.notifications.invite(team.theo, issued.assignment_id, "email")
    notifier = Notifier(clinic, settings(smtp, reminder_every=timedelta(days=2), max_reminders=5))
    assert notifier.run_once().sent == 1
    clock.advance(days=1)
    assert notifier.run_once().scheduled.reminders == 0
    clock.advance(days=1, minutes=1)
    report = notifier.run_once()
    assert (report.scheduled.reminders, report.sent) == (1, 1)
    first, reminder = links(smtp, 2)
    assert smtp.received[1].message["Subject"] == "Reminder from Harbour Practice"
    with pytest.raises(CodeInvalidError):
        clinic.kiosk.redeem(first)
    finish(clinic, reminder)
    clock.advance(days=3)
    report = notifier.run_once()
    assert report.scheduled.reminders == 0 and report.scheduled.stopped == {"completed": 1}
    clock.advance(days=10)
    assert notifier.run_once().claimed == 0 and len(smtp.received) == 2


def test_reminders_stop_when_the_code_expires(clinic: Clinic, smtp: SmtpServer, clock: Clock) -> None:
    team = make_team(clinic)
    issued = clinic.assignments.assign(team.theo, team.patient, instruments=["gad7"], expires_in=timedelta(days=3))
    clinic.notifications.invite(team.theo, issued.assignment_id, "email")
    notifier = Notifier(clinic, settings(smtp, reminder_every=timedelta(days=2)))
    notifier.run_once()
    clock.advance(days=2, minutes=1)
    assert notifier.run_once().scheduled.reminders == 1
    clock.advance(days=1)
    report = notifier.run_once()
    assert report.scheduled.stopped == {"expired": 1} and report.scheduled.reminders == 0
    clock.advance(days=5)
    assert notifier.run_once().claimed == 0 and len(smtp.received) == 2


def test_cancelled_assignment_gets_no_queued_reminder(clinic: Clinic, smtp: SmtpServer) -> None:
    team = make_team(clinic)
    issued = clinic.assignments.assign(team.theo, team.patient, instruments=["gad7"])
    clinic.notifications.invite(team.theo, issued.assignment_id, "email")
    clinic.assignments.cancel(team.theo, issued.assignment_id)
    report = Notifier(clinic, settings(smtp)).run_once()
    assert report.skipped == 1 and not smtp.received and report.scheduled.stopped == {"cancelled": 1}


def test_due_date_reminder_comes_on_the_due_date(clinic: Clinic, smtp: SmtpServer, clock: Clock) -> None:
    team = make_team(clinic)
    due = (clock.now + timedelta(days=2)).date()
    issued = clinic.assignments.assign(team.theo, team.patient, instruments=["gad7"], due=due)
    clinic.notifications.invite(team.theo, issued.assignment_id, "email")
    notifier = Notifier(clinic, settings(smtp, reminder_every=timedelta(days=7)))
    notifier.run_once()
    clock.now = clock.now.replace(year=due.year, month=due.month, day=due.day, hour=0, minute=0) + \
        timedelta(minutes=1)
    assert notifier.run_once().scheduled.reminders == 1


def test_recurring_series_invites_the_next_assignment_on_its_due_date(clinic: Clinic, smtp: SmtpServer,
                                                                      clock: Clock) -> None:
    team = make_team(clinic)
    issued = clinic.assignments.assign(team.theo, team.patient, instruments=["gad7"], every=timedelta(days=7))
    clinic.notifications.invite(team.theo, issued.assignment_id, "email")
    notifier = Notifier(clinic, settings(smtp, reminder_every=timedelta(days=3)))
    notifier.run_once()
    finish(clinic, links(smtp, 1)[0])
    nxt = [a for a in clinic.assignments.for_patient(team.theo, team.patient) if a.status == "no_code"]
    assert len(nxt) == 1 and nxt[0].recur_days == 7
    assert notifier.run_once().scheduled.invitations == 0  # not due yet
    clock.advance(days=7, minutes=1)
    report = notifier.run_once()
    assert (report.scheduled.invitations, report.sent) == (1, 1)
    token = links(smtp, 2)[1]
    assert clinic.kiosk.redeem(token).assignment_id == nxt[0].id


def test_a_pluggable_sms_sender(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clinic: Clinic) -> None:
    (tmp_path / "my_sms_gateway.py").write_text(
        "SENT = []\n"
        "class Sender:\n"
        "    def send_sms(self, to, text, *, delivery_id):\n"
        "        SENT.append((to, text, delivery_id))\n"
        "def factory(settings):\n"
        "    return Sender()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_sms_gateway", raising=False)  # a fresh module for each backend
    cfg = NotifySettings(sms_sender="my_sms_gateway:factory", public_url="https://psyscore.clinic.example/",
                         clinic_name="Harbour Practice")
    assert load_sms_sender(cfg) is not None and "sms" in cfg.channels
    team = make_team(clinic, email="")
    issued = clinic.assignments.assign(team.theo, team.patient, instruments=["gad7"])
    clinic.notifications.invite(team.theo, issued.assignment_id, "sms")
    assert Notifier(clinic, cfg).run_once().sent == 1
    sent = sys.modules["my_sms_gateway"].SENT
    assert [to for to, _, _ in sent] == [PATIENT_PHONE] and LINK.search(sent[0][1])
    with pytest.raises(StoreError, match="cannot load"):
        load_sms_sender(NotifySettings(sms_sender="no_such_module_xyz:factory"))
