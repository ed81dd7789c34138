"""The clinic commands end to end (SQLite and PostgreSQL), and the demo clinic."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import update

from scoring.cli import main
from scoring.store import Actor, Clinic, Store
from scoring.store.models import Score
from tests.support.cli import run_cli as run


def test_clinic_commands(store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    db = ("--db", store_url)
    assert run(capsys, "db", "init", *db)[0] == 0
    code, out, _ = run(capsys, "user", "add", "theo", "--role", "therapist", "--password-stdin", *db,
                       stdin="a long password\n", monkeypatch=monkeypatch)
    assert code == 0 and "theo (therapist)" in out
    code, out, _ = run(capsys, "patient", "add", "--name", "Jane Roe", "--dob", "1990-02-03", "--sex", "female",
                       "--external-id", "MRN-1", "--therapist", "theo", *db)
    assert code == 0
    pid = int(out.strip())
    consent = tmp_path / "consent.txt"
    consent.write_text("I agree.\n", encoding="utf-8")
    code, out, _ = run(capsys, "battery", "add", "intake", "phq9", "gad7", "--instructions", "Hello",
                       "--consent-file", str(consent), *db)
    assert code == 0 and "consent text version 1" in out
    code, out, _ = run(capsys, "assign", str(pid), "--battery", "intake", "--expires", "2h", "--due", "2030-01-01",
                       "--every", "2w", "--json", *db)
    issued = json.loads(out)
    assert code == 0 and len(issued["code"].replace(" ", "")) == 12 and issued["due_date"] == "2030-01-01"
    code, out, _ = run(capsys, "assign", "MRN-1", "phq9", *db)
    assert code == 0 and "code:" in out and "link token:" in out
    code, out, _ = run(capsys, "code", str(issued["assignment_id"]), "--json", *db)
    assert code == 0 and json.loads(out)["code"] != issued["code"]
    assert run(capsys, "history", str(pid), *db)[1].strip() == "no completed administrations"

    with Store(store_url) as store:
        clinic = Clinic(store)
        for total in (18, 9):
            answers = {f"phq9_{i}": v for i, v in enumerate([2] * (total // 2) + [0] * (9 - total // 2), start=1)}
            answers["phq9_9"] = 1
            clinic.administrations.record(Actor.system(), pid, "phq9", answers)
    code, out, _ = run(capsys, "history", "MRN-1", "--json", *db)
    rows = json.loads(out)
    assert code == 0 and [r["score"] for r in rows] == [17.0, 9.0]
    assert rows[1]["previous_difference"] == -8.0 and rows[1]["baseline_classification"] == "recovered"
    code, out, _ = run(capsys, "history", str(pid), *db)
    assert "phq9 total" in out and "recovered" in out
    code, out, _ = run(capsys, "alerts", "--json", *db)
    assert code == 0 and [a["item_id"] for a in json.loads(out)] == ["phq9_9", "phq9_9"]
    assert "open" in run(capsys, "alerts", *db)[1]
    code, out, _ = run(capsys, "rescore", "--check", *db)
    assert code == 0 and "0 mismatch(es)" in out
    with Store(store_url) as store, store.write() as s:
        s.execute(update(Score).values(band="Wrong"))
    code, out, _ = run(capsys, "rescore", "--check", *db)
    assert code == 1 and "total.band" in out
    backup = tmp_path / "backup.db"
    code, out, _ = run(capsys, "db", "backup", str(backup), *db)
    assert code == 0 and stat.S_IMODE(backup.stat().st_mode) == 0o600
    code, out, _ = run(capsys, "user", "list", "--json", *db)
    assert [u["username"] for u in json.loads(out)] == ["theo"]
    assert run(capsys, "user", "disable", "theo", *db)[0] == 0


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ("--db", str(tmp_path / "c.db"))
    code, _, err = run(capsys, "assign", "1", "phq9", "--battery", "x", *db)
    assert code == 2 and "not both" in err
    with pytest.raises(SystemExit) as exc:
        main(["assign", "1", "phq9", "--expires", "soon", *db])
    assert exc.value.code == 2
    code, _, err = run(capsys, "history", "NOPE", *db)
    assert code == 1 and "no patient" in err
    code, _, err = run(capsys, "battery", "add", "b", "epds", *db)
    assert code == 1 and "without item text" in err


def test_demo_clinic(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                     library) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PSYSCORE_DATABASE_URL", raising=False)  # the default: ./data/psyscore.db
    monkeypatch.setattr("scoring.store.demo.password_hasher", lambda fast=False: __import__(
        "scoring.store.security", fromlist=["password_hasher"]).password_hasher(fast=True))
    code, out, _ = run(capsys, "demo")
    assert code == 0 and "DEMO PASSWORDS" in out and "demo-admin-password" in out
    assert (tmp_path / "data" / "psyscore.db").exists()
    assert run(capsys, "demo", "--if-empty")[0] == 0
    assert run(capsys, "demo")[0] == 2
    with Store() as store:
        clinic = Clinic(store, library)
        admin = clinic.users.authenticate("admin", "demo-admin-password").actor
        lee = clinic.users.authenticate("dr.lee", "demo-therapist-lee").actor
        assert clinic.rescore_check().ok
        caseload = clinic.patients.caseload(admin)
        assert len(caseload) == 20 and len(clinic.patients.caseload(lee)) == 10
        alerts = clinic.alerts.list(admin, include_resolved=True)
        assert {a.status for a in alerts} >= {"open", "resolved"}
        open_assignments = clinic.assignments.open(admin)
        assert any(a.overdue for a in open_assignments) and any(not a.overdue for a in open_assignments)
        improving = clinic.patients.history(admin, caseload[0].id, instrument_id="phq9")
        months = (improving["completed_at"].iloc[-1] - improving["completed_at"].iloc[0]).days / 30
        assert 3 <= months <= 12.5
        for summary in caseload:
            phq = clinic.patients.history(admin, summary.id, instrument_id="phq9")
            assert len(phq) >= 5 and phq["score"].between(0, 27).all()
        research = clinic.research.instruments(admin)
        assert {r.instrument_id for r in research} == {"phq9", "gad7", "who5", "dass21", "pcl5"}
        # the latent severity links instruments: PHQ-9 and GAD-7 totals of the same visit correlate
        phq9 = clinic.research.administrations(admin, "phq9")
        gad7 = clinic.research.administrations(admin, "gad7")
        merged = phq9.merge(gad7, on=["patient_id", "completed_at"], suffixes=("_phq", "_gad"))
        assert merged["total_phq"].corr(merged["total_gad"]) > 0.6


def test_every_store_subcommand_and_option_has_help() -> None:
    import argparse

    from scoring.cli import build_parser

    parser = build_parser()
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("db", "user", "patient", "battery", "assign", "code", "history", "alerts", "rescore", "demo"):
        sp = top.choices[name]
        parsers = [sp]
        for action in sp._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers += list(action.choices.values())
        for p in parsers:
            assert p.description, p.prog
            for action in p._actions:
                if action.dest != "help":
                    assert action.help, f"{p.prog}: {action.dest} has no help"
            if p is not sp or not any(isinstance(a, argparse._SubParsersAction) for a in sp._actions):
                assert any(a.dest == "db" for a in p._actions), f"{p.prog} has no --db"
