"""Server-side staff sessions: exchange once, resume by cookie secret, idle/absolute timeout, revocation at
sign-out, disable and password change; only hashes are stored (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scoring.store import Clinic, Store, password_hasher
from scoring.store.models import StaffSession
from scoring.store.sessions import digest
from tests.store.conftest import PASSWORD, SYSTEM, Clock

IDLE, MAX = timedelta(minutes=30), timedelta(hours=12)


def _clinic(store_url: str, library, clock: Clock) -> Clinic:
    store = Store(store_url, clock=clock)
    store.upgrade()
    return Clinic(store, library, hasher=password_hasher(fast=True))


def _signed_in(clinic: Clinic, name: str = "ada", role: str = "therapist"):
    info = clinic.users.add(SYSTEM, name, role, PASSWORD)
    me = clinic.users.authenticate(name, PASSWORD)
    sid, token = clinic.sessions.begin(me.actor)
    return info, sid, token


def test_exchange_once_then_resume_and_only_hashes_stored(store_url, library) -> None:
    clock = Clock()
    clinic = _clinic(store_url, library, clock)
    info, sid, token = _signed_in(clinic)
    secret = clinic.sessions.exchange(token)
    assert secret and secret != token
    assert clinic.sessions.exchange(token) is None  # one time only
    clock.advance(minutes=10)
    live = clinic.sessions.resume(secret, IDLE, MAX)
    assert live is not None and (live.id, live.user_id, live.role) == (sid, info.id, "therapist")
    assert clinic.sessions.resume("not-the-secret", IDLE, MAX) is None
    with clinic.store.read() as s:
        row = s.scalar(select(StaffSession).where(StaffSession.id == sid))
        assert row.session_hash == digest(secret) and secret not in (row.session_hash, row.exchange_hash)
        assert row.exchange_hash is None and row.last_seen_at == clock.now
    clinic.store.close()


def test_exchange_token_expires(store_url, library) -> None:
    clock = Clock()
    clinic = _clinic(store_url, library, clock)
    _, _, token = _signed_in(clinic)
    clock.advance(seconds=61)
    assert clinic.sessions.exchange(token) is None
    clinic.store.close()


def test_idle_and_absolute_timeouts(store_url, library) -> None:
    clock = Clock()
    clinic = _clinic(store_url, library, clock)
    _, sid, token = _signed_in(clinic)
    secret = clinic.sessions.exchange(token)
    clock.advance(minutes=31)
    assert clinic.sessions.resume(secret, IDLE, MAX) is None
    assert clinic.sessions.check(sid, IDLE, MAX) == "idle"
    clock.advance(minutes=1)  # revoked: it stays ended
    assert clinic.sessions.resume(secret, timedelta(days=1), timedelta(days=2)) is None

    _, sid2, token2 = _signed_in(clinic, "bob")
    secret2 = clinic.sessions.exchange(token2)
    for _ in range(25):  # active every 29 minutes for 12 h 05
        clock.advance(minutes=29)
        if clinic.sessions.resume(secret2, IDLE, MAX) is None:
            break
    assert clinic.sessions.check(sid2, IDLE, MAX) == "expired"
    clinic.store.close()


def test_sign_out_disable_and_password_change_revoke(store_url, library) -> None:
    clock = Clock()
    clinic = _clinic(store_url, library, clock)
    admin = clinic.users.add(SYSTEM, "root", "admin", PASSWORD).actor
    info, sid, token = _signed_in(clinic)
    secret = clinic.sessions.exchange(token)
    clinic.sessions.end(info.actor, sid)
    assert clinic.sessions.check(sid, IDLE, MAX) == "signed_out"
    assert clinic.sessions.resume(secret, IDLE, MAX) is None

    sid_a, token_a = clinic.sessions.begin(info.actor)
    sid_b, token_b = clinic.sessions.begin(info.actor)
    secret_a = clinic.sessions.exchange(token_a)
    clinic.users.set_password(info.actor, info.id, "another long password")
    assert clinic.sessions.check(sid_a, IDLE, MAX) == "password_changed"
    assert clinic.sessions.resume(secret_a, IDLE, MAX) is None
    assert clinic.sessions.exchange(token_b) is None  # an unexchanged token dies too
    assert clinic.sessions.check(sid_b, IDLE, MAX) == "password_changed"

    sid_c, token_c = clinic.sessions.begin(info.actor)
    secret_c = clinic.sessions.exchange(token_c)
    clinic.users.disable(admin, info.id)
    assert clinic.sessions.check(sid_c, IDLE, MAX) == "disabled"
    assert clinic.sessions.resume(secret_c, IDLE, MAX) is None
    clinic.users.enable(admin, info.id)  # enabling again does not bring an old session back
    assert clinic.sessions.resume(secret_c, IDLE, MAX) is None
    actions = [r.action for r in clinic.audit_log(admin)]
    assert "session_ended" in actions and "session_started" in actions
    clinic.store.close()
