"""Who acts (:class:`Actor`), what they may do, and the audit trail written in the action's transaction.

Audit rows hold ids, counts and field names — never names, contact details or answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from scoring.store.errors import PermissionDeniedError
from scoring.store.models import AuditEntry, CareTeam, User

if TYPE_CHECKING:
    from scoring.store.db import Store

ActorKind = Literal["user", "kiosk", "system"]


@dataclass(frozen=True)
class Actor:
    """Who performs an action: a signed-in staff user, a patient at the kiosk, or the system (CLI, demo).

    Build with :meth:`user` (from :meth:`scoring.store.Users.authenticate`), :meth:`kiosk` or :meth:`system`.
    Every service call re-checks a user actor against the database, so disabling a user ends their access.
    """

    kind: ActorKind
    user_id: int | None = None
    role: str | None = None
    label: str = ""

    @classmethod
    def user(cls, user_id: int, role: str, username: str = "") -> Actor:
        return cls("user", user_id, role, username)

    @classmethod
    def kiosk(cls) -> Actor:
        return cls("kiosk", None, None, "kiosk")

    @classmethod
    def system(cls, label: str = "cli") -> Actor:
        return cls("system", None, None, label)


def record(session: Session, at: datetime, actor: Actor, action: str, *, patient_id: int | None = None,
           object_type: str | None = None, object_id: object = None, ok: bool = True,
           detail: dict[str, Any] | None = None) -> None:
    """Add one audit row to the session: it commits (or not) with the action it records."""
    session.add(AuditEntry(
        at=at, actor=actor.kind, user_id=actor.user_id, action=action, patient_id=patient_id,
        object_type=object_type, object_id=None if object_id is None else str(object_id), ok=ok, detail=detail,
    ))


def require_user(session: Session, actor: Actor, roles: Iterable[str] = ("admin", "therapist", "researcher")
                 ) -> User | None:
    """Check a staff actor: exists, not disabled, role allowed. The system actor passes (returns None)."""
    if actor.kind == "system":
        return None
    if actor.kind != "user" or actor.user_id is None:
        raise PermissionDeniedError("this needs a signed-in staff user")
    user = session.get(User, actor.user_id)
    if user is None or user.disabled:
        raise PermissionDeniedError("this account is disabled or does not exist")
    allowed = tuple(roles)
    if user.role not in allowed:
        raise PermissionDeniedError(f"the {user.role} role may not do this (needs {' or '.join(allowed)})")
    return user


def require_patient(session: Session, actor: Actor, patient_id: int) -> None:
    """Therapists reach only patients in their care team; admins and the system reach every patient."""
    user = require_user(session, actor, ("admin", "therapist"))
    if user is None or user.role == "admin":
        return
    in_team = session.scalar(select(exists().where(CareTeam.patient_id == patient_id,
                                                   CareTeam.user_id == user.id)))
    if not in_team:
        raise PermissionDeniedError(f"patient {patient_id} is not in your care team")


def visible_patients(session: Session, actor: Actor) -> Any:
    """A select of the patient ids the actor may see (for ``.in_(...)``); None means every patient."""
    user = require_user(session, actor, ("admin", "therapist"))
    if user is None or user.role == "admin":
        return None
    return select(CareTeam.patient_id).where(CareTeam.user_id == user.id)


@dataclass
class RefusedView:
    """What :func:`denials_audited` records when the block is refused: the view and (once known) the patient."""

    view: str
    patient_id: int | None = None


def record_denied(store: Store, actor: Actor, patient_id: int, view: str) -> None:
    """Record a refused look at a patient (``patient_access_denied``) in its own transaction: the refused one
    rolled back. ``view`` names what was asked (``record``, ``history``, ``assignments`` …)."""
    now = store.now()
    with store.write() as s:
        record(s, now, actor, "patient_access_denied", ok=False, patient_id=patient_id, object_type="patient",
               object_id=patient_id, detail={"view": view})


@contextmanager
def denials_audited(store: Store, actor: Actor, view: str, patient_id: int | None = None) -> Iterator[RefusedView]:
    """Audit a :class:`PermissionDeniedError` raised in the block, then re-raise it.

    Put it outside the block's session (``with denials_audited(...), store.read() as s:``) so that the
    refusal is recorded after the refused transaction ended. When the patient is known only inside the block
    (an alert, an administration), set ``refused.patient_id`` before the check; a refusal with no patient
    known is not recorded.
    """
    refused = RefusedView(view, patient_id)
    try:
        yield refused
    except PermissionDeniedError:
        if refused.patient_id is not None:
            record_denied(store, actor, refused.patient_id, view)
        raise
