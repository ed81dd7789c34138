"""The command line: user contact options, assign --send, psyscore notify run/list/retry/test."""

from __future__ import annotations

import io
import json

import pytest

from scoring.store import Actor, Clinic, Store, password_hasher
from tests.support.cli import run_cli as run
from tests.support.shipped import shipped_library

from .conftest import PASSWORD, SmtpServer, raise_alert


def test_cli_contacts_send_and_run(tmp_path, monkeypatch: pytest.MonkeyPatch, capsys, smtp: SmtpServer) -> None:
    for name in ("PSYSCORE_WEBHOOK_SECRET", "PSYSCORE_SMTP_HOST", "PSYSCORE_ONCALL", "PSYSCORE_ESCALATE_AFTER"):
        monkeypatch.delenv(name, raising=False)
    db = str(tmp_path / "clinic.db")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, _ = run(capsys, "user", "add", "theo", "--role", "therapist", "--password-stdin",
                       "--email", "theo@clinic.example", "--db", db)
    assert code == 0, out
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, _, err = run(capsys, "user", "add", "bad", "--role", "therapist", "--password-stdin", "--email", "nope",
                       "--db", db)
    assert code == 1 and "not an e-mail address" in err
    code, out, _ = run(capsys, "user", "list", "--db", db)
    assert "bad" not in out  # no account made with a bad address
    code, out, _ = run(capsys, "patient", "add", "--name", "Pat Example", "--email", "pat@example.org",
                       "--therapist", "theo", "--db", db)
    pid = out.strip()
    code, out, _ = run(capsys, "assign", pid, "gad7", "--send", "email", "--db", db)
    assert code == 0 and "through the outbox" in out and "code:" in out
    code, out, _ = run(capsys, "patient", "add", "--name", "No Contact", "--therapist", "theo", "--db", db)
    other = out.strip()
    code, out, err = run(capsys, "assign", other, "gad7", "--send", "sms", "--db", db)
    assert code == 1 and "code:" in out and f"patient {other} has no phone number" in err  # the code is still shown

    with Store(db) as store:
        clinic = Clinic(store, shipped_library(), hasher=password_hasher(fast=True))
        theo = clinic.users.by_name(Actor.system("t"), "theo")
        raise_alert(clinic, int(pid), theo.actor)
    code, out, _ = run(capsys, "notify", "run", "--once", "--smtp-host", smtp.host, "--smtp-port", str(smtp.port),
                       "--smtp-cafile", str(smtp.cafile), "--smtp-from", "psyscore@clinic.example",
                       "--public-url", "https://psyscore.clinic.example", "--db", db)
    assert code == 0 and "claimed 2: 2 sent" in out, out
    assert sorted(m.to[0] for m in smtp.wait_for(2)) == ["pat@example.org", "theo@clinic.example"]
    code, out, _ = run(capsys, "notify", "list", "--json", "--db", db)
    rows = json.loads(out)
    assert sorted((r["kind"], r["status"]) for r in rows) == [("alert", "sent"), ("invitation", "sent")]
    code, out, _ = run(capsys, "notify", "test", "ops@clinic.example", "--db", db)
    assert code == 0 and "queued" in out
    code, out, err = run(capsys, "notify", "run", "--once", "--db", db)  # no channel configured: rows wait
    assert code == 0 and "no delivery channel" in err
    code, out, _ = run(capsys, "notify", "list", "--status", "pending", "--db", db)
    assert "test" in out
    code, out, _ = run(capsys, "notify", "retry", "--failed", "--db", db)
    assert code == 0 and "0 notification(s)" in out
    code, out, _ = run(capsys, "user", "set", "theo", "--no-email", "--webhook", "https://hooks.example/t", "--db", db)
    assert code == 0 and "e-mail —" in out and "https://hooks.example/t" in out
