"""Staff accounts: Argon2id password hashes, disabled flag, failed-login counter and lockout.

Every login attempt is audited in the transaction that updates the counter. One message covers a wrong
name, a wrong password and a disabled account, so the answer does not tell which names exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from scoring.store import audit, sessions
from scoring.store.audit import Actor
from scoring.store.context import Context
from scoring.store.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
)
from scoring.store.models import ROLES, User

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
WRONG = "wrong user name or password, or the account is disabled or locked after too many failed sign-ins"


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str
    disabled: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None

    @property
    def actor(self) -> Actor:
        """The :class:`Actor` to pass to the services for this user."""
        return Actor.user(self.id, self.role, self.username)


def _info(u: User) -> UserInfo:
    return UserInfo(u.id, u.username, u.role, u.disabled, u.locked_until, u.created_at, u.last_login_at)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StoreError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


class Users:
    """Staff accounts. Obtain from :attr:`scoring.store.Clinic.users`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._dummy_hash = ctx.hasher.hash("psyscore-dummy-password")  # ready before the first unknown name

    def add(self, actor: Actor, username: str, role: str, password: str) -> UserInfo:
        """Create an account (admins and the system only)."""
        if role not in ROLES:
            raise StoreError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        username = username.strip()
        if not username or len(username) > 64:
            raise StoreError("a user name has 1–64 characters")
        check_password_strength(password)
        digest = self._ctx.hasher.hash(password)
        now = self._ctx.store.now()
        try:
            with self._ctx.store.write() as s:
                audit.require_user(s, actor, ("admin",))
                u = User(username=username, role=role, password_hash=digest, created_at=now)
                s.add(u)
                s.flush()
                audit.record(s, now, actor, "user_created", object_type="user", object_id=u.id,
                             detail={"role": role})
                return _info(u)
        except IntegrityError as exc:
            raise ConflictError(f"a user named {username!r} exists") from exc

    def authenticate(self, username: str, password: str) -> UserInfo:
        """Check a password; returns the user (``.actor`` for the services) or raises.

        Raises
        ------
        AuthenticationError
            Wrong name or password, a disabled account, or an account locked after ``MAX_FAILED_LOGINS``
            failures in a row (for ``LOCKOUT``): one message, and an Argon2 verification in every case
            (a dummy hash for unknown names), so neither the answer nor its timing tells which names exist.
        """
        now = self._ctx.store.now()
        error: AuthenticationError | None = None
        with self._ctx.store.write() as s:
            u = s.scalar(select(User).where(User.username == username.strip()).with_for_update())
            if u is None:
                self._verify_dummy(password)  # same work as a real check
                audit.record(s, now, Actor.system("login"), "login_failed", ok=False, detail={"reason": "unknown"})
                error = AuthenticationError(WRONG)
            elif u.locked_until is not None and u.locked_until > now:
                # answer exactly as for an unknown name (same message, same Argon2 work): a lockout must not
                # tell an outsider that the name exists; staff see the lock on the Users page
                self._verify(u.password_hash, password)
                audit.record(s, now, Actor.user(u.id, u.role), "login_failed", ok=False, object_type="user",
                             object_id=u.id, detail={"reason": "locked"})
                error = AuthenticationError(WRONG)
            elif not self._verify(u.password_hash, password) or u.disabled:
                reason = "disabled" if u.disabled else "password"
                if not u.disabled:
                    u.failed_logins += 1
                    if u.failed_logins >= MAX_FAILED_LOGINS:
                        u.locked_until, u.failed_logins = now + LOCKOUT, 0
                        reason = "password; locked"
                audit.record(s, now, Actor.user(u.id, u.role), "login_failed", ok=False, object_type="user",
                             object_id=u.id, detail={"reason": reason})
                error = AuthenticationError(WRONG)
            else:
                u.failed_logins, u.locked_until, u.last_login_at = 0, None, now
                if self._ctx.hasher.check_needs_rehash(u.password_hash):
                    u.password_hash = self._ctx.hasher.hash(password)
                audit.record(s, now, Actor.user(u.id, u.role), "login", object_type="user", object_id=u.id)
                return _info(u)
        raise error

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self._ctx.hasher.verify(digest, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _verify_dummy(self, password: str) -> None:
        self._verify(self._dummy_hash, password)

    def _change(self, actor: Actor, user_id: int, action: str, revoke: str | None = None,
                **values: object) -> UserInfo:
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            me = audit.require_user(s, actor, ("admin", "therapist", "researcher"))
            if me is not None and me.role != "admin" and me.id != user_id:
                raise PermissionDeniedError("only an admin may change another account")
            u = s.get(User, user_id)
            if u is None:
                raise NotFoundError(f"no user {user_id}")
            for key, value in values.items():
                setattr(u, key, value)
            ended = sessions.revoke_user(s, u.id, now, revoke) if revoke else 0
            audit.record(s, now, actor, action, object_type="user", object_id=u.id,
                         detail={"sessions_ended": ended} if ended else None)
            return _info(u)

    def set_password(self, actor: Actor, user_id: int, password: str) -> UserInfo:
        """Set a new password (the user themself or an admin); clears a lockout."""
        check_password_strength(password)
        return self._change(actor, user_id, "user_password_changed", revoke="password_changed",
                            password_hash=self._ctx.hasher.hash(password),
                            failed_logins=0, locked_until=None)

    def disable(self, actor: Actor, user_id: int) -> UserInfo:
        """Disable an account (admins): every later call with this user's actor is refused."""
        self._require_admin(actor)
        return self._change(actor, user_id, "user_disabled", revoke="disabled", disabled=True)

    def enable(self, actor: Actor, user_id: int) -> UserInfo:
        self._require_admin(actor)
        return self._change(actor, user_id, "user_enabled", disabled=False, failed_logins=0, locked_until=None)

    def _require_admin(self, actor: Actor) -> None:
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin",))

    def get(self, actor: Actor, user_id: int) -> UserInfo:
        """One account; raises :class:`PermissionDeniedError` for a disabled actor (check it on every page)."""
        with self._ctx.store.read() as s:
            audit.require_user(s, actor)
            u = s.get(User, user_id)
            if u is None:
                raise NotFoundError(f"no user {user_id}")
            return _info(u)

    def list(self, actor: Actor) -> list[UserInfo]:
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin",))
            return [_info(u) for u in s.scalars(select(User).order_by(User.username))]

    def by_name(self, actor: Actor, username: str) -> UserInfo:
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin", "therapist"))
            u = s.scalar(select(User).where(User.username == username))
            if u is None:
                raise NotFoundError(f"no user {username!r}")
            return _info(u)

    def count(self) -> int:
        """Number of accounts (to know whether a first admin must be created)."""
        with self._ctx.store.read() as s:
            return int(s.scalar(select(func.count()).select_from(User)) or 0)
