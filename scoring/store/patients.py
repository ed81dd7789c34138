"""Patients (identifiers kept in their own table), care teams, events and a patient's score history.

Every view of a patient's record is audited in the transaction that reads it. Who may do what is decided
here, not in the app: admins (and the local system user) reach every patient — add, edit, archive, care
team, and the clinical record; therapists reach the patients of their care team; researchers reach no
patient (they read the de-identified research export only).

A patient's ``email`` and ``phone`` are where invitations go (checked on entry: e-mail syntax, a phone
number in E.164 form). They live with the other identifiers, are never exported, and audit rows name the
fields changed, never their values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scoring.definitions.respondent import SexValueError, parse_sex
from scoring.store import audit
from scoring.store.audit import Actor
from scoring.store.context import Context
from scoring.store.errors import ConflictError, NotFoundError, PermissionDeniedError, StoreError
from scoring.store.models import (
    SEXES,
    Administration,
    CareTeam,
    Event,
    Patient,
    PatientIdentifiers,
    Score,
    User,
)
from scoring.store.results import current_answers

HISTORY_COLUMNS = ("administration_id", "instrument_id", "instrument_version", "completed_at", "scale_id",
                   "score", "band", "severity", "valid", "prorated", "n_answered")
LATEST_COLUMNS = ("patient_id", "instrument_id", "instrument_version", "administration_id", "completed_at",
                  "scale_id", "score", "band", "severity", "valid", "administrations")


@dataclass(frozen=True)
class PatientRecord:
    """A patient with identifiers (for clinical screens only — never for export or logs)."""

    id: int
    name: str
    date_of_birth: date | None
    sex: str | None
    contact: str | None
    external_id: str | None
    created_at: datetime
    therapist_ids: tuple[int, ...]
    email: str | None = None
    phone: str | None = None
    active: bool = True


@dataclass(frozen=True)
class PatientSummary:
    """A caseload row: id, name, external id and the care team's user names."""

    id: int
    name: str
    external_id: str | None
    care_team: tuple[str, ...] = ()


@dataclass(frozen=True)
class PatientListing:
    """A row of ``psyscore patient list``: the name and external id only when identifiers were asked for."""

    id: int
    sex: str | None
    birth_year: int | None
    active: bool
    care_team: tuple[str, ...]
    name: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class EventInfo:
    id: int
    patient_id: int
    date: date
    label: str
    note: str | None
    created_by: int | None


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
PHONE_EXAMPLE = "+44 20 7946 0958"


def check_patient_email(value: str | None) -> str | None:
    """A patient's e-mail address, stripped (None when empty); raises :class:`StoreError` saying what is wrong.

    The message never repeats the address (it may reach a terminal or a screen someone else sees).

    >>> check_patient_email("  ana@example.org ")
    'ana@example.org'
    """
    if value is None or not value.strip():
        return None
    v = value.strip()
    if "@" not in v:
        why = "it has no @"
    elif len(v) > 254:
        why = f"it is {len(v)} characters long (at most 254)"
    elif any(c.isspace() for c in v):
        why = "it contains a space"
    elif not _EMAIL.fullmatch(v):
        why = "the part after the @ is not a domain name" if v.count("@") == 1 else "it has more than one @"
    else:
        return v
    raise StoreError(f"e-mail: not a valid e-mail address ({why}); write one address, e.g. name@example.org, "
                     "or leave it empty")


def check_phone(value: str | None) -> str | None:
    """A patient's phone number in E.164 form (``+``, country code and number, 7–15 digits in all), or None
    when empty; spaces, dashes, dots, slashes and brackets are dropped and a leading ``00`` becomes ``+``.
    Raises :class:`StoreError` saying what is wrong (without repeating the number).

    >>> check_phone("+44 (20) 7946-0958")
    '+442079460958'
    >>> check_phone("0049 30 1234567")
    '+49301234567'
    """
    if value is None or not value.strip():
        return None
    compact = _PHONE_SEPARATORS.sub("", value.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if _E164.fullmatch(compact):
        return compact
    digits = sum(c.isdigit() for c in compact)
    if any(not (c.isdigit() or c == "+") for c in compact):
        why = "only digits, spaces, dashes, dots and brackets are allowed after the +"
    elif not compact.startswith("+") or compact.count("+") > 1:
        why = "the country code is missing (start with + or 00 and the country code)"
    elif compact[1:2] == "0":
        why = "a country code never starts with 0"
    else:
        why = f"it has {digits} digits; a number with its country code has 7 to 15"
    raise StoreError(f"phone: not a valid phone number ({why}); write it with the country code, e.g. "
                     f"{PHONE_EXAMPLE}, or leave it empty")


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise StoreError(f"expected text, got {type(value).__name__}")
    return value.strip() or None


def _sex(value: str | None) -> str | None:
    """The stored sex for ``value``: the one list of codes, :data:`scoring.definitions.respondent.SEX_WORDS`."""
    try:
        sex = parse_sex(value)
    except SexValueError as exc:
        raise StoreError(f"{exc} ({', '.join(SEXES)})") from None
    return None if sex is None else sex.value


class Patients:
    """Patients, care teams and events. Obtain from :attr:`scoring.store.Clinic.patients`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def add(self, actor: Actor, name: str, *, date_of_birth: date | None = None, sex: str | None = None,
            contact: str | None = None, external_id: str | None = None, email: str | None = None,
            phone: str | None = None, therapists: Sequence[int] = ()) -> int:
        """Create a patient; returns the internal id. Admins and therapists; a therapist who adds a patient
        joins the care team; ``therapists`` (user ids) must be enabled therapists. ``email`` and ``phone`` are
        checked (:func:`check_patient_email`, :func:`check_phone`) before anything is stored."""
        if not name.strip():
            raise StoreError("a patient needs a name")
        email, phone = check_patient_email(email), check_phone(phone)
        now = self._ctx.store.now()
        try:
            with self._ctx.store.write() as s:
                user = audit.require_user(s, actor, ("admin", "therapist"))
                p = Patient(sex=_sex(sex), birth_year=date_of_birth.year if date_of_birth else None, created_at=now,
                            created_by=user.id if user else None)
                s.add(p)
                s.flush()
                s.add(PatientIdentifiers(patient_id=p.id, name=name.strip(), date_of_birth=date_of_birth,
                                         contact=_text(contact), external_id=_text(external_id), email=email,
                                         phone=phone))
                team = set(therapists) | ({user.id} if user is not None and user.role == "therapist" else set())
                for uid in sorted(team):
                    _require_therapist(s, uid)
                    s.add(CareTeam(patient_id=p.id, user_id=uid, added_at=now))
                audit.record(s, now, actor, "patient_created", patient_id=p.id, object_type="patient",
                             object_id=p.id, detail={"care_team": sorted(team)})
                s.flush()
                return p.id
        except IntegrityError as exc:
            raise ConflictError("a patient with this external id exists") from exc

    def get(self, actor: Actor, patient_id: int) -> PatientRecord:
        """The patient's record with identifiers; the view is audited."""
        now = self._ctx.store.now()
        with self._audited_denial(actor, patient_id, "record"), self._ctx.store.write() as s:
            audit.require_patient(s, actor, patient_id)
            p = s.get(Patient, patient_id)
            ident = s.get(PatientIdentifiers, patient_id)
            if p is None or ident is None:
                raise NotFoundError(f"no patient {patient_id}")
            team = tuple(s.scalars(select(CareTeam.user_id).where(CareTeam.patient_id == patient_id)))
            audit.record(s, now, actor, "patient_viewed", patient_id=patient_id, object_type="patient",
                         object_id=patient_id)
            return PatientRecord(p.id, ident.name, ident.date_of_birth, p.sex, ident.contact, ident.external_id,
                                 p.created_at, team, ident.email, ident.phone, bool(p.active))

    def update(self, actor: Actor, patient_id: int, **changes: object) -> PatientRecord:
        """Change identifiers or sex (``name``, ``date_of_birth``, ``sex``, ``contact``, ``external_id``,
        ``email``, ``phone``; None or empty text clears a field, except the name). Admins and the care team.

        Every value is checked before anything changes; the audit row names the fields changed, never their
        values.
        """
        allowed = {"name", "date_of_birth", "sex", "contact", "external_id", "email", "phone"}
        unknown = set(changes) - allowed
        if unknown:
            raise StoreError(f"cannot change {', '.join(sorted(unknown))}; the fields are {', '.join(sorted(allowed))}")
        values: dict[str, object] = {}
        for key, value in changes.items():
            if key == "name":
                if not isinstance(value, str) or not value.strip():
                    raise StoreError("a patient needs a name")
                values[key] = value.strip()
            elif key == "date_of_birth":
                if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
                    raise StoreError("date_of_birth must be a date (YYYY-MM-DD) or empty")
                values[key] = value
            elif key == "sex":
                values[key] = _sex(_text(value))
            elif key == "email":
                values[key] = check_patient_email(_text(value))
            elif key == "phone":
                values[key] = check_phone(_text(value))
            else:
                values[key] = _text(value)
        now = self._ctx.store.now()
        try:
            with self._ctx.store.write() as s:
                audit.require_patient(s, actor, patient_id)
                p, ident = s.get(Patient, patient_id), s.get(PatientIdentifiers, patient_id)
                if p is None or ident is None:
                    raise NotFoundError(f"no patient {patient_id}")
                changed = []
                for key, value in values.items():
                    if key == "sex":
                        if p.sex != value:
                            p.sex = value  # type: ignore[assignment]
                            changed.append(key)
                    elif getattr(ident, key) != value:
                        setattr(ident, key, value)
                        changed.append(key)
                        if key == "date_of_birth":
                            p.birth_year = value.year if isinstance(value, date) else None
                s.flush()
                audit.record(s, now, actor, "patient_updated", patient_id=patient_id, object_type="patient",
                             object_id=patient_id, detail={"fields": sorted(changed)})
        except IntegrityError as exc:
            raise ConflictError("another patient has this external id; external ids are unique") from exc
        return self.get(actor, patient_id)

    def caseload(self, actor: Actor, *, search: str | None = None, archived: bool = False) -> list[PatientSummary]:
        """The patients the actor may see (therapist: care team; admin: everyone); the view is audited.

        ``search`` keeps the patients whose name or external id contains it (any case); ``archived`` lists
        the archived patients instead of the active ones."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            visible = audit.visible_patients(s, actor)
            q = (select(Patient.id, PatientIdentifiers.name, PatientIdentifiers.external_id)
                 .join(PatientIdentifiers, PatientIdentifiers.patient_id == Patient.id)
                 .where(Patient.active.is_(not archived)).order_by(PatientIdentifiers.name, Patient.id))
            if visible is not None:
                q = q.where(Patient.id.in_(visible))
            if search and search.strip():
                term = search.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                pattern = f"%{term}%"
                q = q.where(func.lower(PatientIdentifiers.name).like(pattern, escape="\\")
                            | func.lower(func.coalesce(PatientIdentifiers.external_id, "")).like(pattern, escape="\\"))
            found = list(s.execute(q))
            teams = _care_teams(s, [r[0] for r in found])
            rows = [PatientSummary(pid, name, ext, tuple(teams.get(pid, ()))) for pid, name, ext in found]
            audit.record(s, now, actor, "caseload_viewed", detail={"patients": len(rows)})
            return rows

    def archive(self, actor: Actor, patient_id: int, *, archived: bool = True) -> None:
        """Archive a patient (gone from the caseload; every record kept) or, with ``archived=False``, bring
        them back. Admins and the care team; audited."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_patient(s, actor, patient_id)
            p = s.get(Patient, patient_id)
            if p is None:
                raise NotFoundError(f"no patient {patient_id}")
            p.active = not archived
            audit.record(s, now, actor, "patient_archived" if archived else "patient_unarchived",
                         patient_id=patient_id, object_type="patient", object_id=patient_id)

    def listing(self, actor: Actor, *, identifiers: bool = False, archived: bool = False) -> list[PatientListing]:
        """The patients the actor may see with their care teams, without names or external ids unless
        ``identifiers`` (audited either way, with whether identifiers were shown); ``archived`` adds the
        archived (inactive) patients."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_user(s, actor, ("admin", "therapist"))
            visible = audit.visible_patients(s, actor)
            q = select(Patient).order_by(Patient.id)
            if not archived:
                q = q.where(Patient.active.is_(True))
            if visible is not None:
                q = q.where(Patient.id.in_(visible))
            patients = list(s.scalars(q))
            ids = [p.id for p in patients]
            teams = _care_teams(s, ids)
            names: dict[int, tuple[str, str | None]] = {}
            if identifiers:
                names = {pid: (name, ext) for pid, name, ext in s.execute(
                    select(PatientIdentifiers.patient_id, PatientIdentifiers.name, PatientIdentifiers.external_id)
                    .where(PatientIdentifiers.patient_id.in_(ids)))}
            rows = [PatientListing(p.id, p.sex, p.birth_year, bool(p.active), tuple(teams.get(p.id, ())),
                                   *names.get(p.id, (None, None))) for p in patients]
            audit.record(s, now, actor, "patients_listed", detail={"patients": len(rows), "identifiers": identifiers})
            return rows

    def find(self, actor: Actor, external_id: str) -> int:
        """The internal id of the patient with this external id (within the actor's reach).

        A patient outside the actor's care team answers like an unknown external id (the error names no
        id); the refusal is audited.
        """
        with self._ctx.store.read() as s:
            pid = s.scalar(select(PatientIdentifiers.patient_id).where(PatientIdentifiers.external_id == external_id))
            if pid is None:
                raise NotFoundError("no patient with this external id")
            try:
                audit.require_patient(s, actor, pid)
            except PermissionDeniedError:
                denied = True
            else:
                return pid
        if denied:
            audit.record_denied(self._ctx.store, actor, pid, "find")
        raise NotFoundError("no patient with this external id")

    def _audited_denial(self, actor: Actor, patient_id: int, view: str) -> AbstractContextManager[Any]:
        return audit.denials_audited(self._ctx.store, actor, view, patient_id)

    def add_to_care_team(self, actor: Actor, patient_id: int, user_id: int) -> None:
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_patient(s, actor, patient_id)
            if s.get(Patient, patient_id) is None:
                raise NotFoundError(f"no patient {patient_id}")
            _require_therapist(s, user_id)
            if s.get(CareTeam, (patient_id, user_id)) is None:
                s.add(CareTeam(patient_id=patient_id, user_id=user_id, added_at=now))
                audit.record(s, now, actor, "care_team_added", patient_id=patient_id, object_type="user",
                             object_id=user_id)

    def remove_from_care_team(self, actor: Actor, patient_id: int, user_id: int) -> None:
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_patient(s, actor, patient_id)
            s.execute(delete(CareTeam).where(CareTeam.patient_id == patient_id, CareTeam.user_id == user_id))
            audit.record(s, now, actor, "care_team_removed", patient_id=patient_id, object_type="user",
                         object_id=user_id)

    # -- events ---------------------------------------------------------------------------------------------
    def add_event(self, actor: Actor, patient_id: int, day: date, label: str, note: str | None = None) -> int:
        """Annotate the patient's timeline (shown on charts)."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_patient(s, actor, patient_id)
            e = Event(patient_id=patient_id, date=day, label=label, note=note, created_by=actor.user_id,
                      created_at=now)
            s.add(e)
            s.flush()
            audit.record(s, now, actor, "event_added", patient_id=patient_id, object_type="event", object_id=e.id)
            return e.id

    def events(self, actor: Actor, patient_id: int) -> list[EventInfo]:
        with self._audited_denial(actor, patient_id, "events"), self._ctx.store.read() as s:
            audit.require_patient(s, actor, patient_id)
            rows = s.scalars(select(Event).where(Event.patient_id == patient_id).order_by(Event.date, Event.id))
            return [EventInfo(e.id, e.patient_id, e.date, e.label, e.note, e.created_by) for e in rows]

    # -- history --------------------------------------------------------------------------------------------
    def history(self, actor: Actor, patient_id: int, *, instrument_id: str | None = None) -> pd.DataFrame:
        """Completed administrations with their stored scores, one row per scale, oldest first.

        Columns: ``administration_id, instrument_id, instrument_version, completed_at, scale_id, score,
        band, severity, valid, prorated, n_answered``. The view is audited.
        """
        now = self._ctx.store.now()
        with self._audited_denial(actor, patient_id, "history"), self._ctx.store.write() as s:
            audit.require_patient(s, actor, patient_id)
            q = (select(Administration.id, Administration.instrument_id, Administration.instrument_version,
                        Administration.completed_at, Score.scale_id, Score.value, Score.band, Score.severity,
                        Score.valid, Score.prorated, Score.n_answered)
                 .join(Score, Score.administration_id == Administration.id)
                 .where(Administration.patient_id == patient_id, Administration.status == "completed")
                 .order_by(Administration.completed_at, Administration.id, Score.id))
            if instrument_id is not None:
                q = q.where(Administration.instrument_id == instrument_id)
            rows = s.execute(q).all()
            audit.record(s, now, actor, "history_viewed", patient_id=patient_id, object_type="patient",
                         object_id=patient_id, detail={"rows": len(rows)})
        return _history_frame(rows)

    def latest_scores(self, actor: Actor) -> pd.DataFrame:
        """For every patient the actor may see: the scales of each instrument's latest completed
        administration, one row per patient × instrument × scale (for a caseload). The view is audited.

        Columns: ``patient_id, instrument_id, instrument_version, administration_id, completed_at, scale_id,
        score, band, severity, valid, administrations`` (completed administrations of that instrument).
        """
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            visible = audit.visible_patients(s, actor)
            ranked = select(
                Administration.id.label("adm_id"), Administration.patient_id, Administration.instrument_id,
                Administration.instrument_version, Administration.completed_at,
                func.row_number().over(partition_by=(Administration.patient_id, Administration.instrument_id),
                                       order_by=(Administration.completed_at.desc(), Administration.id.desc()))
                .label("rank"),
                func.count().over(partition_by=(Administration.patient_id, Administration.instrument_id))
                .label("n"),
            ).join(Patient, Patient.id == Administration.patient_id).where(
                Administration.status == "completed", Patient.active.is_(True))
            if visible is not None:
                ranked = ranked.where(Administration.patient_id.in_(visible))
            r = ranked.subquery()
            rows = s.execute(
                select(r.c.patient_id, r.c.instrument_id, r.c.instrument_version, r.c.adm_id, r.c.completed_at,
                       Score.scale_id, Score.value, Score.band, Score.severity, Score.valid, r.c.n)
                .join(Score, Score.administration_id == r.c.adm_id).where(r.c.rank == 1)
                .order_by(r.c.patient_id, r.c.instrument_id, Score.id)).all()
            audit.record(s, now, actor, "caseload_scores_viewed",
                         detail={"patients": len({row[0] for row in rows})})
        frame = pd.DataFrame.from_records(rows, columns=list(LATEST_COLUMNS))
        frame["score"] = frame["score"].astype(float)
        frame["severity"] = frame["severity"].astype("Int64")
        frame["band"] = frame["band"].astype(object).where(frame["band"].notna(), None)
        frame["completed_at"] = pd.to_datetime(frame["completed_at"], utc=True)
        return frame

    def answer_table(self, actor: Actor, patient_id: int, *, instrument_id: str | None = None) -> pd.DataFrame:
        """The patient's completed administrations with their current answers, one row each, oldest first
        (for item heatmaps and score receipts). The view is audited once.

        Columns: ``administration_id, date`` (completion time, UTC), ``instrument, instrument_version, sex``
        (as scored), then one float column per item of the pinned definitions (NaN = unanswered).
        """
        now = self._ctx.store.now()
        with self._audited_denial(actor, patient_id, "answers"), self._ctx.store.write() as s:
            audit.require_patient(s, actor, patient_id)
            q = (select(Administration).where(Administration.patient_id == patient_id,
                                              Administration.status == "completed")
                 .order_by(Administration.completed_at, Administration.id))
            if instrument_id is not None:
                q = q.where(Administration.instrument_id == instrument_id)
            adms = list(s.scalars(q))
            answers = current_answers(s, [a.id for a in adms])
            items: list[str] = []
            for key in dict.fromkeys((a.instrument_id, a.instrument_version, a.instrument_hash) for a in adms):
                d = self._ctx.pinned.for_administration(s, *key)
                items += [i for i in d.plan.item_ids if i not in items]
            audit.record(s, now, actor, "answers_viewed", patient_id=patient_id, object_type="patient",
                         object_id=patient_id, detail={"administrations": len(adms)})
        base = pd.DataFrame({
            "administration_id": [a.id for a in adms],
            # pandas-stubs reject the Optional elements of completed_at; to_datetime would make a None NaT
            "date": pd.to_datetime([a.completed_at for a in adms], utc=True),  # type: ignore[arg-type]
            "instrument": [a.instrument_id for a in adms],
            "instrument_version": [a.instrument_version for a in adms],
            "sex": pd.Series([a.respondent_sex for a in adms], dtype=object),
        })
        matrix = np.full((len(adms), len(items)), np.nan)
        pos = {item: k for k, item in enumerate(items)}
        for r, a in enumerate(adms):
            for item, value in answers[a.id].items():
                if value is not None and item in pos:
                    matrix[r, pos[item]] = value
        return pd.concat([base, pd.DataFrame(matrix, columns=items, index=base.index)], axis=1)

    def change_history(self, actor: Actor, patient_id: int) -> pd.DataFrame:
        """The patient's stored scores through :func:`scoring.history`: bands, change from baseline and from
        the previous administration (reliable change, clinical significance), one row per administration ×
        scale. Each administration is read with the definition version it was given under (pinned), so a
        newer library version changes nothing here. The view is audited.
        """
        from scoring.change.timeline import history
        from scoring.definitions.library import Library

        frame = self.history(actor, patient_id)
        with self._ctx.store.read() as s:
            pinned = {(i, v): self._ctx.pinned.get(s, i, v)
                      for i, v in set(zip(frame["instrument_id"], frame["instrument_version"], strict=True))}
        data = pd.DataFrame({
            "patient": patient_id, "date": frame["completed_at"], "instrument": frame["instrument_id"],
            "instrument_version": frame["instrument_version"], "scale": frame["scale_id"], "score": frame["score"],
        })
        return history(Library(definitions=pinned), data).frame


def _require_therapist(s: Session, user_id: int) -> None:
    """A care team is made of enabled therapists (an admin reaches every patient without being in one)."""
    u = s.get(User, user_id)
    if u is None:
        raise NotFoundError(f"no user {user_id}")
    if u.role != "therapist":
        raise StoreError(f"user {u.username} is a{'n' if u.role == 'admin' else ''} {u.role}: only therapists join "
                         "a care team (admins reach every patient anyway)")
    if u.disabled:
        raise StoreError(f"user {u.username} is disabled: enable the account first")


def _care_teams(s: Session, patient_ids: Sequence[int]) -> dict[int, list[str]]:
    """Patient id → the user names of its care team, sorted."""
    teams: dict[int, list[str]] = {}
    if not patient_ids:
        return teams
    q = (select(CareTeam.patient_id, User.username).join(User, User.id == CareTeam.user_id)
         .where(CareTeam.patient_id.in_(patient_ids)).order_by(User.username))
    for pid, name in s.execute(q):
        teams.setdefault(pid, []).append(name)
    return teams


def _history_frame(rows: Sequence[Any]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(HISTORY_COLUMNS))
    frame["score"] = frame["score"].astype(float)
    frame["severity"] = frame["severity"].astype("Int64")
    frame["band"] = frame["band"].astype(object).where(frame["band"].notna(), None)
    frame["valid"] = frame["valid"].astype(bool)
    frame["prorated"] = frame["prorated"].astype(bool)
    return frame
