"""Server-side staff sessions: a sign-in survives a reload or a second tab through an HttpOnly cookie.

The browser holds only a random session secret (in a ``Secure; HttpOnly; SameSite=Strict`` cookie set by the
app's cookie route); the store keeps its SHA-256, the user, when it began, when it was last seen and when it
was revoked. The sign-in page never handles that secret: it mints a one-time *exchange* token (valid for
``EXCHANGE_TTL``), which the browser swaps once for the cookie. Sessions end at the idle or absolute timeout,
at sign-out, when the account is disabled and when its password changes (:func:`revoke_user`, called in those
transactions). Nothing here is an identifier of a patient.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scoring.store import audit
from scoring.store.audit import Actor
from scoring.store.context import Context
from scoring.store.models import StaffSession, User

EXCHANGE_TTL = timedelta(seconds=60)


def digest(secret: str) -> str:
    """The stored form of a session secret or exchange token."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    """A live staff session (ids and role only)."""

    id: int
    user_id: int
    username: str
    role: str
    created_at: datetime
    last_seen_at: datetime

    @property
    def actor(self) -> Actor:
        return Actor.user(self.user_id, self.role, self.username)


def revoke_user(s: Session, user_id: int, now: datetime, reason: str) -> int:
    """Revoke every open session of a user inside the caller's transaction; returns how many."""
    result = s.execute(update(StaffSession)
                       .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
                       .values(revoked_at=now, revoked_reason=reason, exchange_hash=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _ended(row: StaffSession, user: User | None, now: datetime, idle: timedelta, maximum: timedelta) -> str | None:
    if row.revoked_at is not None:
        return row.revoked_reason or "revoked"
    if user is None or user.disabled:
        return "disabled"
    if now - row.last_seen_at > idle:
        return "idle"
    if now - row.created_at > maximum:
        return "expired"
    return None


class StaffSessions:
    """Staff sessions. Obtain from :attr:`scoring.store.Clinic.sessions`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def begin(self, actor: Actor) -> tuple[int, str]:
        """Start a session for the signed-in ``actor`` (right after :meth:`Users.authenticate`).

        Returns the session id and a one-time exchange token for :meth:`exchange` (valid ``EXCHANGE_TTL``).
        """
        now = self._ctx.store.now()
        token = secrets.token_urlsafe(32)
        with self._ctx.store.write() as s:
            user = audit.require_user(s, actor)
            if user is None:
                raise ValueError("a staff session needs a user actor")
            row = StaffSession(user_id=user.id, exchange_hash=digest(token), exchange_expires_at=now + EXCHANGE_TTL,
                               created_at=now, last_seen_at=now)
            s.add(row)
            s.flush()
            audit.record(s, now, actor, "session_started", object_type="staff_session", object_id=row.id)
            return row.id, token

    def exchange(self, token: str) -> str | None:
        """Swap a one-time exchange token for the session secret (the cookie value); None when the token is
        unknown, used, expired, or its session or account has ended. A token works once."""
        if not token or len(token) > 200:
            return None
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            row = s.scalar(select(StaffSession).where(StaffSession.exchange_hash == digest(token))
                           .with_for_update())
            if row is None:
                return None
            row.exchange_hash = None  # used, whatever happens next
            expires = row.exchange_expires_at
            row.exchange_expires_at = None
            user = s.get(User, row.user_id)
            if expires is None or now > expires or row.revoked_at is not None or user is None or user.disabled:
                return None
            secret = secrets.token_urlsafe(32)
            row.session_hash = digest(secret)
            return secret

    def resume(self, secret: str, idle: timedelta, maximum: timedelta) -> SessionInfo | None:
        """The live session whose cookie holds ``secret`` (its last-seen time is moved to now), or None.

        An idle or expired session is revoked here so that it cannot come back."""
        if not secret or len(secret) > 200:
            return None
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            row = s.scalar(select(StaffSession).where(StaffSession.session_hash == digest(secret))
                           .with_for_update())
            if row is None:
                return None
            user = s.get(User, row.user_id)
            reason = _ended(row, user, now, idle, maximum)
            if reason is not None:
                if row.revoked_at is None:
                    row.revoked_at, row.revoked_reason = now, reason
                return None
            assert user is not None
            row.last_seen_at = now
            return SessionInfo(row.id, user.id, user.username, user.role, row.created_at, now)

    def check(self, session_id: int, idle: timedelta, maximum: timedelta, *, touch: bool = True) -> str | None:
        """Why the session has ended (``signed_out``, ``disabled``, ``password_changed``, ``idle``,
        ``expired``…), or None while it is live; ``touch`` moves its last-seen time to now."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            row = s.get(StaffSession, session_id, with_for_update=True)
            if row is None:
                return "unknown"
            reason = _ended(row, s.get(User, row.user_id), now, idle, maximum)
            if reason is not None:
                if row.revoked_at is None:
                    row.revoked_at, row.revoked_reason = now, reason
                return reason
            if touch:
                row.last_seen_at = now
            return None

    def end(self, actor: Actor, session_id: int, reason: str = "signed_out") -> None:
        """Sign out: revoke the session (every tab that shares its cookie is signed out too)."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            row = s.get(StaffSession, session_id, with_for_update=True)
            if row is None or row.user_id != actor.user_id:
                return
            if row.revoked_at is None:
                row.revoked_at, row.revoked_reason, row.exchange_hash = now, reason, None
                audit.record(s, now, actor, "session_ended", object_type="staff_session", object_id=row.id,
                             detail={"reason": reason})
