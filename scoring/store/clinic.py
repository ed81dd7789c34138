"""The :class:`Clinic`: one store, one library, and the services built on them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select

from scoring.definitions.library import Definition, Library, load_library
from scoring.store import audit
from scoring.store.administration import Administrations
from scoring.store.alerts import Alerts
from scoring.store.assignments import Assignments, Batteries
from scoring.store.audit import Actor
from scoring.store.battery_texts import BatteryTexts
from scoring.store.catalogue import Catalogue
from scoring.store.context import AlertNotice, Context
from scoring.store.db import Store
from scoring.store.errors import DefinitionChangedError
from scoring.store.kiosk import Kiosk
from scoring.store.kiosk_settings import KioskSettings
from scoring.store.models import AuditEntry
from scoring.store.notify import Notifications
from scoring.store.patients import Patients
from scoring.store.research import ResearchSource
from scoring.store.results import RescoreReport, rescore_check
from scoring.store.security import RedeemPolicy, password_hasher
from scoring.store.sessions import StaffSessions
from scoring.store.users import Users


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    user_id: int | None
    action: str
    patient_id: int | None
    object_type: str | None
    object_id: str | None
    ok: bool
    detail: dict[str, Any] | None


class Clinic:
    """Everything the app and the CLI use, over one :class:`Store` and one :class:`~scoring.Library`.

    Parameters
    ----------
    store
        An open store whose schema is current (:meth:`Store.upgrade`).
    library
        Definitions to administer (default :func:`scoring.load_library`). Any library definition whose id
        and version are stored with a different hash is refused here with
        :class:`~scoring.store.errors.DefinitionChangedError` ("a changed definition needs a new version").
    hasher
        Argon2id hasher for passwords (default: argon2-cffi's recommended parameters).
    policy
        Code lifetimes and attempt limits.
    on_alert
        Called after commit with an :class:`AlertNotice` (ids only) for each alert raised.

    A clinic holds no user state (the actor is passed to every call; caches hold only definitions), so one
    instance may be shared by every session and thread of the app.

    Attributes
    ----------
    users, patients, batteries, assignments, administrations, kiosk, alerts, research, catalogue, notifications
        The services; every method takes the acting :class:`Actor` first (the kiosk takes a ticket).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from scoring.store import Actor, Clinic, Store, password_hasher
    >>> with tempfile.TemporaryDirectory() as tmp, Store(pathlib.Path(tmp) / "c.db") as store:
    ...     store.upgrade()
    ...     clinic = Clinic(store, hasher=password_hasher(fast=True))
    ...     admin = clinic.users.add(Actor.system(), "ada", "admin", "correct horse battery")
    ...     pid = clinic.patients.add(admin.actor, "Test Patient")
    ...     issued = clinic.assignments.assign(admin.actor, pid, instruments=["phq9"])
    ...     session = clinic.kiosk.redeem(issued.code)
    ...     first = clinic.kiosk.next_item(session.ticket)
    ...     saved = clinic.kiosk.save_answer(session.ticket, first.administration_id, first.item_id, 2)
    ...     (first.item_id, saved.revision)
    ('phq9_1', 1)
    """

    def __init__(self, store: Store, library: Library | None = None, *, hasher: PasswordHasher | None = None,
                 policy: RedeemPolicy | None = None, on_alert: Callable[[AlertNotice], None] | None = None) -> None:
        store.require_current()
        self.store = store
        self.library = library if library is not None else load_library()
        self._ctx = Context(store, self.library, hasher or password_hasher(), policy or RedeemPolicy(), on_alert)
        with store.read() as s:
            problems = self._ctx.pinned.conflicts(s, self.library)
        if problems:
            raise DefinitionChangedError("; ".join(problems))
        self.users = Users(self._ctx)
        self.sessions = StaffSessions(self._ctx)
        self.patients = Patients(self._ctx)
        self.batteries = Batteries(self._ctx)
        self.assignments = Assignments(self._ctx, self.batteries)
        self.administrations = Administrations(self._ctx)
        self.kiosk = Kiosk(self._ctx, self.administrations)
        self.alerts = Alerts(self._ctx)
        self.research = ResearchSource(self._ctx)
        self.catalogue = Catalogue(self._ctx)
        self.battery_texts = BatteryTexts(self._ctx)
        self.kiosk_settings = KioskSettings(self._ctx)
        self.notifications = Notifications(self._ctx)

    def rescore_check(self) -> RescoreReport:
        """Recompute every stored score from the raw answers with the pinned definitions (read-only)."""
        with self.store.read() as s:
            return rescore_check(s, self._ctx.pinned)

    def pinned_definitions(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Definition]:
        """The definitions exactly as stored when each (instrument, version) was first administered."""
        with self.store.read() as s:
            return {(i, v): self._ctx.pinned.get(s, i, v) for i, v in sorted(set(keys))}

    def record_audit(self, actor: Actor, action: str, *, patient_id: int | None = None,
                     detail: dict[str, Any] | None = None) -> None:
        """Write an audit row for an action done outside the store (e.g. an export written to files)."""
        now = self.store.now()
        with self.store.write() as s:
            audit.require_user(s, actor)
            audit.record(s, now, actor, action, patient_id=patient_id, detail=detail)

    def audit_log(self, actor: Actor, *, patient_id: int | None = None, limit: int = 200) -> list[AuditRow]:
        """The latest audit rows (admins), optionally for one patient."""
        with self.store.read() as s:
            audit.require_user(s, actor, ("admin",))
            q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
            if patient_id is not None:
                q = q.where(AuditEntry.patient_id == patient_id)
            return [AuditRow(e.id, e.at, e.actor, e.user_id, e.action, e.patient_id, e.object_type, e.object_id,
                             e.ok, e.detail) for e in s.scalars(q)]
