"""Battery instructions and consent per language: the patient's language when translated whole, else the
default text whole (never mixed); consent translations follow the consent version; CLI options."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from scoring.store import Clinic, StoreError
from scoring.store.models import AuditEntry, Consent

EN_INSTR, EN_CONSENT = "Please answer every question.", "I agree that my answers are stored."
ES_INSTR, ES_CONSENT = "Conteste todas las preguntas.", "Acepto que se guarden mis respuestas."


def _battery(clinic: Clinic, therapist) -> None:
    clinic.batteries.add(therapist, "intake", ["phq9"], instructions=EN_INSTR, consent_text=EN_CONSENT)


def test_kiosk_shows_the_chosen_language_and_falls_back_whole(clinic: Clinic, therapist, patient: int) -> None:
    _battery(clinic, therapist)
    clinic.battery_texts.set(therapist, "intake", "es", instructions=ES_INSTR, consent_text=ES_CONSENT)
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, battery="intake").code)
    assert (session.text_language, session.instructions, session.consent_text) == (None, EN_INSTR, EN_CONSENT)
    es = clinic.kiosk.set_language(session.ticket, "es")
    assert (es.text_language, es.instructions, es.consent_text) == ("es", ES_INSTR, ES_CONSENT)
    assert es.consent_needed and es.consent_version == 1
    agreed = clinic.kiosk.agree(es.ticket)  # agreeing to the translation is agreeing to version 1
    assert not agreed.consent_needed
    with clinic._ctx.store.read() as s:
        assert s.scalar(select(Consent.consent_version).where(Consent.assignment_id == es.assignment_id)) == 1
        actions = list(s.scalars(select(AuditEntry.action)))
    assert "battery_text_set" in actions


def test_an_incomplete_or_outdated_translation_is_not_mixed(clinic: Clinic, therapist, patient: int) -> None:
    _battery(clinic, therapist)
    clinic.battery_texts.set(therapist, "intake", "es", instructions=ES_INSTR)  # no consent translated
    [tr] = clinic.battery_texts.list(therapist, "intake")
    assert tr.language == "es" and not tr.current
    ticket = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, battery="intake").code).ticket
    es = clinic.kiosk.set_language(ticket, "es")
    assert (es.text_language, es.instructions, es.consent_text) == (None, EN_INSTR, EN_CONSENT)
    clinic.battery_texts.set(therapist, "intake", "es", consent_text=ES_CONSENT)  # instructions kept
    es = clinic.kiosk.resume(ticket)
    assert (es.text_language, es.instructions, es.consent_text) == ("es", ES_INSTR, ES_CONSENT)
    clinic.batteries.set_consent(therapist, "intake", "I agree (new wording).")  # version 2
    es = clinic.kiosk.resume(ticket)  # the Spanish consent translates version 1: the default whole
    assert (es.text_language, es.instructions, es.consent_text) == (None, EN_INSTR, "I agree (new wording).")
    assert not clinic.battery_texts.list(therapist, "intake")[0].current
    clinic.battery_texts.remove(therapist, "intake", "es")
    assert clinic.battery_texts.list(therapist, "intake") == []


def test_bad_translations_are_refused(clinic: Clinic, therapist) -> None:
    clinic.batteries.add(therapist, "plain", ["gad7"], instructions="Hello.")
    with pytest.raises(StoreError, match="not a language code"):
        clinic.battery_texts.set(therapist, "plain", "Spanish", instructions="Hola.")
    with pytest.raises(StoreError, match="asks for no consent"):
        clinic.battery_texts.set(therapist, "plain", "es", consent_text="Acepto.")
    with pytest.raises(StoreError, match="nothing to save"):
        clinic.battery_texts.set(therapist, "plain", "es", instructions="  ")
    assert clinic.battery_texts.list(therapist, "plain") == []


def test_cli_battery_add_with_texts_per_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scoring.cli import main
    from scoring.store import Store

    db = f"sqlite:///{tmp_path / 'c.db'}"
    Store(db).upgrade()
    (tmp_path / "c_en.txt").write_text(EN_CONSENT, encoding="utf-8")
    (tmp_path / "c_es.txt").write_text(ES_CONSENT, encoding="utf-8")
    (tmp_path / "i_es.txt").write_text(ES_INSTR, encoding="utf-8")
    assert main(["battery", "add", "intake", "phq9", "--db", db, "--instructions", EN_INSTR,
                 "--consent-file", str(tmp_path / "c_en.txt"), "--instructions-in", f"es={tmp_path / 'i_es.txt'}",
                 "--consent-in", f"es={tmp_path / 'c_es.txt'}"]) == 0
    from scoring import load_library
    from scoring.store import Actor, password_hasher

    with Store(db) as store:
        clinic = Clinic(store, load_library(), hasher=password_hasher(fast=True))
        [tr] = clinic.battery_texts.list(Actor.system("t"), "intake")
    assert (tr.language, tr.instructions, tr.consent_text, tr.consent_version, tr.current) == (
        "es", ES_INSTR, ES_CONSENT, 1, True)
    capsys.readouterr()
    assert main(["battery", "add", "other", "phq9", "--db", db, "--instructions-in", "es"]) != 0
    assert "LANG=FILE" in capsys.readouterr().err
    assert main(["battery", "add", "other", "phq9", "--db", db, "--consent-in",
                 f"es={tmp_path / 'c_es.txt'}"]) != 0
    assert "--consent-file" in capsys.readouterr().err


def test_cli_battery_text_for_an_existing_battery(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scoring import load_library
    from scoring.cli import main
    from scoring.store import Actor, Store, password_hasher

    db = f"sqlite:///{tmp_path / 'c.db'}"
    Store(db).upgrade()
    (tmp_path / "c_en.txt").write_text(EN_CONSENT, encoding="utf-8")
    (tmp_path / "i_es.txt").write_text(ES_INSTR, encoding="utf-8")
    (tmp_path / "c_es.txt").write_text(ES_CONSENT, encoding="utf-8")
    assert main(["battery", "add", "intake", "phq9", "--db", db, "--instructions", EN_INSTR,
                 "--consent-file", str(tmp_path / "c_en.txt")]) == 0
    assert main(["battery", "text", "intake", "es", "--db", db,
                 "--instructions-file", str(tmp_path / "i_es.txt")]) == 0
    assert "not shown yet" in capsys.readouterr().out  # the consent is not translated yet
    assert main(["battery", "text", "intake", "es", "--db", db, "--consent-file", str(tmp_path / "c_es.txt")]) == 0
    with Store(db) as store:
        clinic = Clinic(store, load_library(), hasher=password_hasher(fast=True))
        [tr] = clinic.battery_texts.list(Actor.system("t"), "intake")
    assert (tr.instructions, tr.consent_text, tr.current) == (ES_INSTR, ES_CONSENT, True)
    capsys.readouterr()
    assert main(["battery", "text", "intake", "es", "--db", db]) != 0
    assert "--instructions-file" in capsys.readouterr().err
    assert main(["battery", "text", "intake", "Spanish", "--db", db,
                 "--instructions-file", str(tmp_path / "i_es.txt")]) != 0
    assert "not a language code" in capsys.readouterr().err
