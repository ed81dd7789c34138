"""The demo clinic's accounts: an admin, two therapists and a researcher who signs in with the printed demo
password and reaches research only (no caseload)."""

from __future__ import annotations

import pytest

from scoring.store import Clinic, PermissionDeniedError, password_hasher
from scoring.store.demo import DEMO_PASSWORDS, seed_demo
from tests.store.conftest import SYSTEM


def test_demo_has_a_researcher(store, library) -> None:
    summary = seed_demo(store, library, patients=2, fast_hashes=True)
    assert summary.users["research"] == "demo-researcher"
    clinic = Clinic(store, library, hasher=password_hasher(fast=True))
    roles = {u.username: u.role for u in clinic.users.list(SYSTEM)}
    assert roles == {"admin": "admin", "dr.lee": "therapist", "dr.novak": "therapist", "research": "researcher"}
    me = clinic.users.authenticate("research", DEMO_PASSWORDS["research"])
    assert me.role == "researcher"
    with pytest.raises(PermissionDeniedError):
        clinic.patients.caseload(me.actor)
