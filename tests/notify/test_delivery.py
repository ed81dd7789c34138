"""Delivery against real local servers: SMTP with STARTTLS, signed webhooks, retries, no identifiers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from scoring.notify import Notifier, NotifySettings, SmtpSettings
from scoring.store import Clinic

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
    raise_alert,
)

FORBIDDEN = (PATIENT_NAME, "Sentinel", PATIENT_MRN, PATIENT_EMAIL, PATIENT_PHONE, "1980", "phq9", "PHQ",
             "harm", "dead")


def settings(smtp: SmtpServer | None = None, **policy: object) -> NotifySettings:
    cfg = NotifySettings(
        smtp=SmtpSettings(smtp.host, smtp.port, sender="psyscore@clinic.example", cafile=str(smtp.cafile),
                          timeout=10) if smtp else None,
        webhook_secret=SECRET, public_url="https://psyscore.clinic.example/", clinic_name="Harbour Practice")
    return cfg.with_policy(**policy) if policy else cfg


def no_identifiers(text: str) -> None:
    for word in FORBIDDEN:
        assert word.lower() not in text.lower(), f"{word!r} leaked into a message"


def test_alert_email_over_starttls_holds_no_identifiers(clinic: Clinic, smtp: SmtpServer) -> None:
    team = make_team(clinic)
    alert_id = raise_alert(clinic, team.patient, team.theo)
    rows = clinic.notifications.list(team.admin, alert_id=alert_id)
    assert [(r.kind, r.channel, r.user_id, r.status) for r in rows] == [("alert", "email", team.theo.user_id,
                                                                         "pending")]  # thea has no address
    report = Notifier(clinic, settings(smtp)).run_once()
    assert (report.claimed, report.sent) == (1, 1)
    mail = smtp.wait_for(1)[0]
    assert mail.tls, "the message was not sent over STARTTLS"
    assert mail.to == ["theo@clinic.example"]
    msg = mail.message
    assert msg["Subject"] == "psyscore: an alert needs your attention"
    body = msg.get_content()
    assert "https://psyscore.clinic.example/login" in body and "an alert needs your attention" in body.lower()
    no_identifiers(mail.data.decode())
    assert msg["X-Psyscore-Delivery"] == str(rows[0].id)
    assert clinic.notifications.list(team.admin, alert_id=alert_id)[0].status == "sent"
    actions = [r.action for r in clinic.audit_log(team.admin, limit=50)]
    assert "notification_attempt" in actions and "notification_sent" in actions


def test_starttls_refused_server_is_never_sent_plaintext(clinic: Clinic, tmp_path) -> None:
    """A server without STARTTLS: nothing is sent, the row waits for a retry."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    seen: list[bytes] = []

    def plain_server() -> None:
        conn, _ = listener.accept()
        with conn:
            f = conn.makefile("rwb")
            f.write(b"220 plain ESMTP\r\n")
            f.flush()
            while line := f.readline():
                seen.append(line)
                if line.upper().startswith((b"EHLO", b"HELO")):
                    f.write(b"250-plain\r\n250 SIZE 1000000\r\n")
                elif line.upper().startswith(b"QUIT"):
                    f.write(b"221 bye\r\n")
                    f.flush()
                    break
                else:
                    f.write(b"500 no\r\n")
                f.flush()

    thread = threading.Thread(target=plain_server, daemon=True)
    thread.start()
    team = make_team(clinic)
    raise_alert(clinic, team.patient, team.theo)
    cfg = NotifySettings(smtp=SmtpSettings("127.0.0.1", port, timeout=5), public_url="https://x.example/")
    report = Notifier(clinic, cfg).run_once()
    thread.join(5)
    listener.close()
    assert report.retried == 1 and report.sent == 0
    assert not any(line.upper().startswith((b"MAIL", b"DATA")) for line in seen)
    row = clinic.notifications.list(team.admin)[0]
    assert row.status == "pending" and "STARTTLS" in (row.last_error or "")


def test_signed_webhook_and_retry_after_failures(clinic: Clinic, hooks: HookServer, clock: Clock) -> None:
    team = make_team(clinic, email="", webhook=hooks.url + "/teams")
    alert_id = raise_alert(clinic, team.patient, team.theo)
    notifier = Notifier(clinic, settings(backoff_base=timedelta(seconds=30)))
    hooks.fail_next = 2
    first = notifier.run_once()
    assert (first.claimed, first.retried) == (1, 1)
    row = clinic.notifications.list(team.admin, alert_id=alert_id)[0]
    assert row.status == "pending" and row.attempts == 1 and "HTTP 500" in (row.last_error or "")
    assert row.next_attempt_at == clock.now + timedelta(seconds=30)
    assert notifier.run_once().claimed == 0  # not due yet
    clock.advance(seconds=30)
    assert notifier.run_once().retried == 1
    row = clinic.notifications.list(team.admin, alert_id=alert_id)[0]
    assert row.next_attempt_at == clock.now + timedelta(seconds=60)  # exponential backoff
    clock.advance(seconds=60)
    assert notifier.run_once().sent == 1
    hook = hooks.wait_for(1)[0]
    assert hook.valid, "the HMAC signature did not verify"
    assert hook.path == "/teams" and hook.body["alert_id"] == alert_id and hook.body["kind"] == "alert"
    assert hook.headers["X-Psyscore-Delivery"] == str(row.id)
    no_identifiers(json.dumps(hook.body))
    row = clinic.notifications.list(team.admin, alert_id=alert_id)[0]
    assert (row.status, row.attempts) == ("sent", 3)
    audit = [r for r in clinic.audit_log(team.admin, limit=100) if r.object_type == "notification"]
    assert [r.action for r in reversed(audit)] == ["notification_attempt", "notification_failed"] * 2 + [
        "notification_attempt", "notification_sent"]


def test_wrong_secret_is_refused_by_the_receiver_and_retried(clinic: Clinic, hooks: HookServer) -> None:
    team = make_team(clinic, email="", webhook=hooks.url + "/x")
    raise_alert(clinic, team.patient, team.theo)
    cfg = NotifySettings(webhook_secret="another-secret", public_url="https://x.example/")
    assert Notifier(clinic, cfg).run_once().retried == 1
    assert hooks.wait_for(1)[0].valid is False
    assert "HTTP 401" in (clinic.notifications.list(team.admin)[0].last_error or "")


def test_gives_up_after_max_attempts_keeps_the_row_and_retry_requeues(clinic: Clinic, clock: Clock) -> None:
    from .conftest import free_port

    team = make_team(clinic, email="", webhook=f"http://127.0.0.1:{free_port()}/nobody")
    raise_alert(clinic, team.patient, team.theo)
    notifier = Notifier(clinic, settings(max_attempts=3, backoff_base=timedelta(seconds=1)))
    for _ in range(3):
        notifier.run_once()
        clock.advance(minutes=5)
    row = clinic.notifications.list(team.admin)[0]
    assert (row.status, row.attempts) == ("failed", 3) and "not reachable" in (row.last_error or "")
    assert clinic.notifications.retry(team.admin, all_failed=True) == 1
    row = clinic.notifications.list(team.admin)[0]
    assert (row.status, row.attempts) == ("pending", 0)


def test_acknowledged_before_delivery_is_skipped(clinic: Clinic, smtp: SmtpServer) -> None:
    team = make_team(clinic)
    alert_id = raise_alert(clinic, team.patient, team.theo)
    clinic.alerts.acknowledge(team.theo, alert_id)
    report = Notifier(clinic, settings(smtp)).run_once()
    assert report.skipped == 1 and not smtp.received
    assert clinic.notifications.list(team.admin)[0].status == "skipped"


def test_escalation_to_on_call_once(clinic: Clinic, smtp: SmtpServer, clock: Clock) -> None:
    team = make_team(clinic)
    first = raise_alert(clinic, team.patient, team.theo)
    second = raise_alert(clinic, team.patient, team.theo)
    clinic.alerts.acknowledge(team.theo, second)
    notifier = Notifier(clinic, settings(smtp, escalate_after=timedelta(minutes=30),
                                         on_call="oncall@clinic.example"))
    assert notifier.run_once().scheduled.escalations == 0
    clock.advance(minutes=31)
    report = notifier.run_once()
    assert report.scheduled.escalations == 1
    assert notifier.run_once().scheduled.escalations == 0  # one escalation row per alert
    rows = clinic.notifications.list(team.admin, kind="escalation")
    assert [(r.alert_id, r.status) for r in rows] == [(first, "sent")]
    mails = [m for m in smtp.wait_for(2) if m.to == ["oncall@clinic.example"]]
    assert len(mails) == 1
    assert "not been acknowledged" in mails[0].message["Subject"]
    no_identifiers(mails[0].data.decode())
    assert "escalated" in [a.action for a in clinic.alerts.actions(team.theo, first)]
    assert "alert_escalated" in [r.action for r in clinic.audit_log(team.admin, limit=100)]


def test_escalation_to_an_on_call_webhook(clinic: Clinic, hooks: HookServer, clock: Clock) -> None:
    team = make_team(clinic, email="")
    alert_id = raise_alert(clinic, team.patient, team.theo)
    clock.advance(hours=2)
    Notifier(clinic, settings(escalate_after=timedelta(hours=1), on_call=hooks.url + "/oncall")).run_once()
    hook = hooks.wait_for(1)[0]
    assert hook.valid and hook.path == "/oncall"
    assert (hook.body["kind"], hook.body["alert_id"]) == ("escalation", alert_id)


def test_disabled_recipient_gets_nothing(clinic: Clinic, smtp: SmtpServer) -> None:
    team = make_team(clinic)
    raise_alert(clinic, team.patient, team.theo)
    clinic.users.disable(team.admin, team.theo.user_id)
    assert Notifier(clinic, settings(smtp)).run_once().skipped == 1
    assert not smtp.received


@pytest.mark.parametrize("bad", ["not-an-address", "a@b", "two@x.example three@y.example"])
def test_contact_settings_are_checked(clinic: Clinic, bad: str) -> None:
    from scoring.store import StoreError

    team = make_team(clinic)
    with pytest.raises(StoreError, match="not an e-mail address"):
        clinic.notifications.set_contact(team.theo, team.theo.user_id, email=bad)
    with pytest.raises(StoreError, match="not a webhook URL"):
        clinic.notifications.set_contact(team.theo, team.theo.user_id, webhook_url="ftp://x")
    with pytest.raises(StoreError, match="only an admin"):
        clinic.notifications.set_contact(team.thea, team.theo.user_id, email="x@y.example")
