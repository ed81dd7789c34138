"""A burst of wrong kiosk codes: a security notice to the admins (and the on-call address), sent once per window,
with no code, device or patient in it — driven through the store and a real local SMTP server."""

from __future__ import annotations

import re
from datetime import UTC

import pytest

from scoring.notify import Notifier, NotifySettings, SmtpSettings
from scoring.store import Clinic
from scoring.store.errors import CodeInvalidError, TooManyAttemptsError
from scoring.store.security import RedeemPolicy

from .conftest import PASSWORD, SYSTEM, Clock, SmtpServer, make_team

ON_CALL = "oncall@clinic.example"


def settings(smtp: SmtpServer) -> NotifySettings:
    cfg = NotifySettings(
        smtp=SmtpSettings(smtp.host, smtp.port, sender="psyscore@clinic.example", cafile=str(smtp.cafile),
                          timeout=10), public_url="https://psyscore.clinic.example/", clinic_name="Harbour Practice")
    return cfg.with_policy(on_call=ON_CALL)


def guess(clinic: Clinic, prefix: str, start: int, count: int) -> list[str]:
    """``count`` wrong 12-digit codes from rotating clients, each staying within its per-client limit."""
    policy = RedeemPolicy()
    codes = []
    for i in range(start, start + count):
        code = f"{900000000000 + i * 7919:012d}"
        codes.append(code)
        with pytest.raises(CodeInvalidError):
            clinic.kiosk.redeem(code, client=f"{prefix}-{i // policy.client_failures}")
    return codes


def burst_rows(clinic: Clinic, admin) -> list:
    return clinic.notifications.list(admin, kind="guessing_burst")


def test_guessing_burst_emails_admins_and_on_call_once_per_window(clinic: Clinic, smtp: SmtpServer,
                                                                  clock: Clock) -> None:
    team = make_team(clinic)  # ada (admin, no address), theo (therapist with e-mail), a patient
    clinic.notifications.set_contact(team.admin, team.admin.user_id, email="ada@clinic.example")
    bob = clinic.users.add(SYSTEM, "bob", "admin", PASSWORD)
    clinic.notifications.set_contact(team.admin, bob.id, email="bob@clinic.example")
    clinic.users.disable(team.admin, bob.id)  # a disabled admin is not told
    issued = clinic.assignments.assign(team.theo, team.patient, instruments=["phq2"])
    real_code = issued.code.replace(" ", "")
    policy = RedeemPolicy()

    codes = guess(clinic, "tablet", 0, policy.burst_failures - 1)
    assert burst_rows(clinic, team.admin) == []  # one wrong code short of a burst: nothing queued
    codes += guess(clinic, "tablet", policy.burst_failures - 1, 1)
    rows = burst_rows(clinic, team.admin)
    assert [(r.channel, r.user_id, r.status) for r in rows] == [("email", team.admin.user_id, "pending")]
    assert len(clinic.kiosk.guessing_bursts(team.admin)) == 1

    burst_at = clock.now
    report = Notifier(clinic, settings(smtp)).run_once()
    assert report.scheduled.bursts == 1  # the on-call address, queued by the worker
    assert (report.claimed, report.sent) == (2, 2)
    mails = smtp.wait_for(2)
    assert sorted(m.to[0] for m in mails) == ["ada@clinic.example", ON_CALL]
    start = (burst_at - policy.burst_window).astimezone(UTC)
    for mail in mails:
        assert mail.tls
        msg = mail.message
        assert msg["Subject"] == "psyscore: repeated wrong check-in codes"
        body = msg.get_content()
        assert "wrong check-in codes" in body and "https://psyscore.clinic.example/login" in body
        assert "audit log" in body
        assert f"between {start:%Y-%m-%d %H:%M} and {burst_at.astimezone(UTC):%H:%M} UTC" in body
        raw = mail.data.decode()
        for code in [*codes, real_code]:
            assert code not in raw and code[:6] not in body, "a code leaked into the notice"
        for word in ("Sentinel", "MRN", "sentinel.patient", "tablet-", "phq"):
            assert word.lower() not in raw.lower(), f"{word!r} leaked into the notice"
        # the only digits in the body are the date and times of the window
        assert not re.search(r"\d", re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}|\d{2}:\d{2} UTC", "", body))

    # more wrong codes in the same window: the burst is not recorded again and nothing more is sent
    clock.advance(minutes=5)
    codes += guess(clinic, "second", 0, policy.burst_failures)
    assert len(clinic.kiosk.guessing_bursts(team.admin)) == 1
    again = Notifier(clinic, settings(smtp)).run_once()
    assert (again.scheduled.bursts, again.claimed, again.sent) == (0, 0, 0)
    assert len(smtp.received) == 2
    assert len(burst_rows(clinic, team.admin)) == 2  # ada's row and the on-call row, both sent
    assert {r.status for r in burst_rows(clinic, team.admin)} == {"sent"}

    # a burst in a later window is a new notice
    clock.advance(minutes=16)
    guess(clinic, "third", 0, policy.burst_failures)
    assert len(clinic.kiosk.guessing_bursts(team.admin)) == 2
    later = Notifier(clinic, settings(smtp)).run_once()
    assert (later.scheduled.bursts, later.sent) == (1, 2)
    assert len(smtp.wait_for(4)) == 4

    log = clinic.audit_log(team.admin, limit=2000)
    queued = [r for r in log if r.action == "notification_queued" and (r.detail or {}).get("kind") == "guessing_burst"]
    assert len(queued) == 4  # ada × 2 windows, on-call × 2 windows
    sent_ids = {r.object_id for r in log if r.action == "notification_sent"}
    assert {str(r.id) for r in burst_rows(clinic, team.admin)} <= sent_ids


def test_a_burst_notice_is_queued_with_the_wrong_code_that_completes_the_burst(clinic: Clinic) -> None:
    """The notice rows commit with the burst's audit row: the transaction of the 30th wrong code has both."""
    team = make_team(clinic, webhook="https://hooks.example/psyscore")
    clinic.notifications.set_contact(team.admin, team.admin.user_id, email="ada@clinic.example",
                                     webhook_url="https://hooks.example/ada")
    policy = RedeemPolicy()
    guess(clinic, "tab", 0, policy.burst_failures)
    rows = burst_rows(clinic, team.admin)
    assert sorted((r.channel, r.user_id) for r in rows) == [("email", team.admin.user_id),
                                                            ("webhook", team.admin.user_id)]  # not theo: no admin
    for _ in range(policy.client_failures):  # more wrong codes in the window, then the per-client limit
        with pytest.raises(CodeInvalidError):
            clinic.kiosk.redeem("123456789012", client="tab-again")
    with pytest.raises(TooManyAttemptsError):
        clinic.kiosk.redeem("123456789012", client="tab-again")
    assert len(burst_rows(clinic, team.admin)) == 2
