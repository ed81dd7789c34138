"""The tablet's support message: an admin's text in the store > the environment default > the shipped text;
audited changes, admins only; a support file named in the environment that cannot be used is an error naming
the file and why (also when ``psyscore app`` starts), never a silent fall back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from scoring import messages
from scoring.store import Actor, Clinic, PermissionDeniedError, StoreError
from scoring.store.kiosk_settings import SupportFileError, support_defaults
from scoring.store.models import AuditEntry

from .conftest import PASSWORD, SYSTEM


@pytest.fixture
def admin(clinic: Clinic) -> Actor:
    return clinic.users.add(SYSTEM, "ada", "admin", PASSWORD).actor


def test_store_over_environment_over_shipped(clinic: Clinic, admin: Actor) -> None:
    env = {"en": "Env: call 000."}
    ks = clinic.kiosk_settings
    assert ks.support_message("en", env) == "Env: call 000."
    assert ks.support_message("es", env) == messages.message("support_default", "es")
    ks.set_support_message(admin, "es", "  Llame a la clínica: 111.  ")
    ks.set_support_message(admin, "en", "Clinic: call 222.")
    assert ks.support_message("es-MX", env) == "Llame a la clínica: 111."
    assert ks.support_message("en", env) == "Clinic: call 222."
    assert ks.support_message("fr", env) == "Clinic: call 222."  # not shipped: English
    shown = {m.language: (m.source, m.text) for m in ks.support_messages(admin, env)}
    shipped = {lang: ("shipped", messages.message("support_default", lang)) for lang in messages.shipped_languages()}
    assert shown == shipped | {"en": ("clinic", "Clinic: call 222."), "es": ("clinic", "Llame a la clínica: 111.")}
    assert ks.clear_support_message(admin, "en") is True
    assert ks.clear_support_message(admin, "en") is False
    assert ks.support_message("en", env) == "Env: call 000."
    assert {m.language: m.source for m in ks.support_messages(admin, {})} == (
        dict.fromkeys(messages.shipped_languages(), "shipped") | {"es": "clinic"})


def test_changes_are_audited_and_admin_only(clinic: Clinic, admin: Actor, therapist: Actor) -> None:
    ks = clinic.kiosk_settings
    ks.set_support_message(admin, "en", "First.")
    ks.set_support_message(admin, "en", "Second.")
    ks.clear_support_message(admin, "en")
    with clinic.store.read() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action.like("kiosk_support_message%"))
                         .order_by(AuditEntry.id)).all()
    assert [(r.action, r.user_id, r.object_id) for r in rows] == [
        ("kiosk_support_message_set", admin.user_id, "en"), ("kiosk_support_message_set", admin.user_id, "en"),
        ("kiosk_support_message_cleared", admin.user_id, "en")]
    assert rows[1].detail == {"language": "en", "before": "First.", "after": "Second."}
    with pytest.raises(PermissionDeniedError):
        ks.set_support_message(therapist, "en", "Nope.")
    with pytest.raises(PermissionDeniedError):
        ks.support_messages(therapist)
    with pytest.raises(StoreError, match="empty"):
        ks.set_support_message(admin, "en", "   ")
    with pytest.raises(StoreError, match="no tablet catalogue"):
        ks.set_support_message(admin, "xx", "Hello.")
    with pytest.raises(StoreError, match="2000"):
        ks.set_support_message(admin, "en", "x" * 2001)


def test_environment_defaults_and_file_errors(tmp_path: Path) -> None:
    good = tmp_path / "es.txt"
    good.write_text("\ufeffLínea de crisis: 000\n", encoding="utf-8")
    assert support_defaults({"PSYSCORE_KIOSK_SUPPORT_MESSAGE": " Call 000 ",
                             "PSYSCORE_KIOSK_SUPPORT_FILE_ES": str(good)}) == {
        "en": "Call 000", "es": "Línea de crisis: 000"}
    assert support_defaults({}) == {}
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n", encoding="utf-8")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Línea".encode("latin-1"))
    cases = {str(tmp_path / "missing.txt"): "does not exist", str(tmp_path): "is a folder",
             str(empty): "is empty", str(latin): "is not UTF-8"}
    for path, why in cases.items():
        with pytest.raises(SupportFileError, match=why) as err:
            support_defaults({"PSYSCORE_KIOSK_SUPPORT_FILE_ES": path})
        assert f"PSYSCORE_KIOSK_SUPPORT_FILE_ES={path}" in str(err.value)
    # a text given as well does not hide a file that cannot be used
    with pytest.raises(SupportFileError, match="does not exist"):
        support_defaults({"PSYSCORE_KIOSK_SUPPORT_MESSAGE": "x", "PSYSCORE_KIOSK_SUPPORT_FILE": str(tmp_path / "no")})


def test_psyscore_app_refuses_to_start_with_a_bad_support_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("streamlit")
    from scoring.cli import main

    bad = tmp_path / "support.txt"
    bad.write_bytes(b"\xff\xfe not text")
    monkeypatch.setenv("PSYSCORE_KIOSK_SUPPORT_FILE", str(bad))
    assert main(["app", "--db", f"sqlite:///{tmp_path / 'c.db'}", "--port", "1"]) == 1
    err = capsys.readouterr().err
    assert f"PSYSCORE_KIOSK_SUPPORT_FILE={bad}" in err and "not UTF-8" in err
    assert not (tmp_path / "c.db").exists()  # stopped before anything was opened or started
