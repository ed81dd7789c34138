"""``psyscore db init`` starts a new clinic with the licence defaults (non-commercial instruments off), as
``psyscore app`` and ``psyscore demo`` do; re-running it on an existing clinic changes no setting; any other
command that initialises a brand-new database applies them too (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from scoring.cli import main
from scoring.store import Clinic, Store, password_hasher
from tests.store.conftest import PASSWORD, SYSTEM


def _enabled(url: str, library) -> dict[str, bool]:
    with Store(url) as store:
        clinic = Clinic(store, library, hasher=password_hasher(fast=True))
        return {s.id: s.enabled for s in clinic.catalogue.list(SYSTEM)}


def test_db_init_applies_the_licence_defaults_once(store_url: str, library,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "init", "--db", store_url]) == 0
    out = capsys.readouterr().out
    status = _enabled(store_url, library)
    off = sorted(i for i, on in status.items() if not on)
    non_commercial = sorted(i for i in library if str(library[i].instrument.licence.redistribution) == "non_commercial")
    assert off == non_commercial and "who5" in off and status["phq9"] is True
    assert f"non-commercial instruments are off until an admin enables them: {', '.join(off)}" in out
    with Store(store_url) as store:
        clinic = Clinic(store, library, hasher=password_hasher(fast=True))
        admin = clinic.users.add(SYSTEM, "ada", "admin", PASSWORD).actor
        clinic.catalogue.set_enabled(admin, "who5", True)  # an admin's decision
        audited = [r for r in clinic.audit_log(admin) if r.action == "instrument_licence_defaults"]
    assert len(audited) == 1 and audited[0].detail == {"disabled": off}
    assert main(["db", "init", "--db", store_url]) == 0  # safe to repeat: nothing switched back off
    assert "non-commercial" not in capsys.readouterr().out
    assert _enabled(store_url, library)["who5"] is True


def test_db_init_on_an_existing_clinic_keeps_its_settings(store_url: str, library,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with Store(store_url) as store:  # a clinic made before the defaults existed: everything enabled
        store.upgrade()
    assert main(["db", "init", "--db", store_url]) == 0
    capsys.readouterr()
    assert all(_enabled(store_url, library).values())


def test_other_commands_that_create_a_database_apply_them(store_url: str, library,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "list", "--db", store_url]) == 0
    err = capsys.readouterr().err
    assert "initialised a new database" in err and "non-commercial instruments off" in err
    assert _enabled(store_url, library)["who5"] is False
