"""Battery versions: edit, reorder, retire; a battery in use is versioned, never changed (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData, func, select

from scoring.definitions.library import Library
from scoring.store import Clinic, Store, password_hasher
from scoring.store.definitions import canonical_json
from scoring.store.models import (
    Administration,
    Answer,
    Assignment,
    Battery,
    BatteryInstrument,
    BatteryText,
    Consent,
    ConsentText,
)

from .conftest import SYSTEM

T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


def _insert_0008_data(store: Store, library: Library) -> None:
    """A clinic as 0008 stored it: a battery with instruments, consent, a translation, an assignment in use."""
    with store.engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        t = meta.tables
        conn.execute(t["users"].insert(), [{"id": 1, "username": "ada", "role": "admin", "password_hash": "x",
                                            "disabled": False, "failed_logins": 0, "created_at": T0}])
        conn.execute(t["patients"].insert(), [{"id": 1, "created_at": T0, "active": True, "created_by": 1}])
        conn.execute(t["patient_identifiers"].insert(), [{"patient_id": 1, "name": "Sentinel Patientname"}])
        conn.execute(t["batteries"].insert(), [
            {"id": 1, "name": "intake", "instructions": "Please answer.", "consent_version": 1, "adhoc": False,
             "created_at": T0, "created_by": 1},
            {"id": 2, "name": "unused", "instructions": None, "consent_version": None, "adhoc": False,
             "created_at": T0, "created_by": 1}])
        conn.execute(t["battery_instruments"].insert(), [
            {"battery_id": 1, "position": 0, "instrument_id": "phq9", "version": None},
            {"battery_id": 1, "position": 1, "instrument_id": "gad7", "version": None},
            {"battery_id": 2, "position": 0, "instrument_id": "phq2", "version": None}])
        conn.execute(t["consent_texts"].insert(), [{"battery_id": 1, "version": 1, "text": "I agree.",
                                                    "text_hash": "h", "created_at": T0}])
        conn.execute(t["battery_texts"].insert(), [{"battery_id": 1, "language": "es", "instructions": "Responda.",
                                                    "consent_text": "Acepto.", "consent_version": 1,
                                                    "updated_at": T0}])
        conn.execute(t["assignments"].insert(), [{"id": 1, "patient_id": 1, "battery_id": 1, "created_at": T0,
                                                  "created_by": 1, "redeemed_at": T0}])
        conn.execute(t["consents"].insert(), [{"assignment_id": 1, "patient_id": 1, "battery_id": 1,
                                               "consent_version": 1, "text_hash": "h", "agreed_at": T0}])
        phq9 = library.get_version("phq9", None)
        conn.execute(t["definitions"].insert(), [{"instrument_id": "phq9", "version": phq9.version, "hash": phq9.hash,
                                                  "canonical_json": canonical_json(phq9), "first_used_at": T0}])
        conn.execute(t["administrations"].insert(), [
            {"id": 1, "patient_id": 1, "assignment_id": 1, "position": 0, "instrument_id": "phq9",
             "instrument_version": phq9.version, "instrument_hash": phq9.hash, "language": "en", "mode": "kiosk",
             "status": "in_progress", "created_at": T0}])
        conn.execute(t["answers"].insert(), [{"administration_id": 1, "item_id": "phq9_1", "revision": 1,
                                              "value": 2.0, "answered_at": T0}])


def _counts(store: Store) -> dict[str, int]:
    with store.read() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Battery, BatteryInstrument, ConsentText, BatteryText, Assignment, Consent, Administration,
                          Answer)}


def test_upgrade_from_0008_keeps_every_battery_row_and_versions_them(store_url: str, library: Library) -> None:
    with Store(store_url) as store:
        store.upgrade("0008")
        _insert_0008_data(store, library)
        store.upgrade()
        assert store.schema_is_current()
        assert _counts(store) == {"batteries": 2, "battery_instruments": 3, "consent_texts": 1, "battery_texts": 1,
                                  "assignments": 1, "consents": 1, "administrations": 1, "answers": 1}
        with store.read() as s:
            rows = s.execute(select(Battery.id, Battery.name, Battery.version, Battery.previous_id,
                                    Battery.retired_at).order_by(Battery.id)).all()
        assert rows == [(1, "intake", 1, None, None), (2, "unused", 1, None, None)]
        clinic = Clinic(store, library, hasher=password_hasher(fast=True))
        assert [b.instruments for b in clinic.batteries.list(SYSTEM)] == [(("phq9", None), ("gad7", None)),
                                                                           (("phq2", None),)]
