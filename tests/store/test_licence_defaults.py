"""A new clinic starts with the non-commercial instruments switched off; settings already made are kept
(SQLite and PostgreSQL); ``psyscore app`` applies the defaults when it initialises a database."""

from __future__ import annotations

import pytest

from scoring.cli.app_cmds import prepare_database
from scoring.store import Clinic, Store, StoreError, password_hasher
from tests.store.conftest import SYSTEM


def test_non_commercial_off_by_default(clinic: Clinic) -> None:
    admin = clinic.users.add(SYSTEM, "root", "admin", "correct horse battery").actor
    clinic.catalogue.set_enabled(admin, "dass21", True)  # already decided: left alone
    off = clinic.catalogue.apply_licence_defaults(SYSTEM)
    status = {s.id: s for s in clinic.catalogue.list(admin)}
    expected = sorted(i for i, s in status.items() if s.non_commercial and i != "dass21")
    assert off == expected and "who5" in off and "phq9" not in off
    assert not status["who5"].enabled and status["dass21"].enabled and status["phq9"].enabled
    with pytest.raises(StoreError, match="switched off"):
        clinic.batteries.add(admin, "Wellbeing", ["who5"])
    assert clinic.catalogue.apply_licence_defaults(SYSTEM) == []  # once


def test_psyscore_app_new_database_gets_the_defaults(tmp_path, library) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    prepare_database(url)
    with Store(url) as store:
        clinic = Clinic(store, library, hasher=password_hasher(fast=True))
        status = {s.id: s.enabled for s in clinic.catalogue.list(SYSTEM)}
    assert status["who5"] is False and status["audit"] is False and status["phq9"] is True
