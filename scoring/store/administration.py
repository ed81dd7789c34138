"""Administering an instrument: next item, save an answer, go back, resume, complete.

Every answer is written in its own transaction the moment it is given, validated against the pinned
definition version; a rejected answer raises :class:`~scoring.store.errors.AnswerRejectedError` and stores
nothing. A change is a new revision (the earlier one is kept). A critical answer raises an alert in the
same transaction as the answer. Completing scores the stored answers with the pinned definition and
writes scores, alerts, the audit row and (for assignments) the next recurring assignment in one
transaction; completing again does nothing. The patient-facing entry point is :class:`~scoring.store.Kiosk`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scoring.definitions.library import Definition
from scoring.definitions.plan import compare
from scoring.definitions.respondent import age_in_completed_years
from scoring.definitions.schema import Item
from scoring.engine.responses import check_column
from scoring.engine.visibility import visible_items
from scoring.errors import did_you_mean
from scoring.store import audit
from scoring.store.audit import Actor
from scoring.store.batteries import current_version
from scoring.store.context import AlertNotice, Context
from scoring.store.errors import AdministrationClosedError, AnswerRejectedError, NotFoundError
from scoring.store.models import (
    Administration,
    Alert,
    AlertAction,
    Answer,
    Assignment,
    Patient,
    PatientIdentifiers,
)
from scoring.store.notify import enqueue_alert
from scoring.store.results import (
    ScaleScore,
    current_answers,
    extract,
    score_answers,
    store_scores,
    with_recorded_cutoffs,
)


@dataclass(frozen=True)
class OptionChoice:
    """One answer option: the code stored and its label in the administration's language."""

    value: int | float
    label: str


@dataclass(frozen=True)
class ItemPrompt:
    """What the kiosk shows for one item, with the answer stored so far (``current``)."""

    administration_id: int
    instrument_id: str
    instrument_name: str
    instructions: str | None
    item_id: str
    text: str
    verbatim: bool  # False when only a descriptor may be shown (licence)
    options: tuple[OptionChoice, ...]
    position: int  # 1-based among the items shown to this patient
    total: int
    current: int | float | None
    answered: bool  # an answer (or an explicit skip) is stored
    language: str


@dataclass(frozen=True)
class SavedAnswer:
    """The result of saving one answer."""

    administration_id: int
    item_id: str
    revision: int
    value: int | float | None
    changed: bool  # False when the same answer was already stored (nothing written)
    alert_ids: tuple[int, ...]  # alerts raised by this answer


@dataclass(frozen=True)
class CompletionResult:
    """The result of completing an administration (``newly_completed`` False: it already was)."""

    administration_id: int
    newly_completed: bool
    scores: tuple[ScaleScore, ...]
    critical_items: tuple[str, ...]
    assignment_id: int | None
    assignment_completed: bool
    next_assignment_id: int | None


@dataclass(frozen=True)
class AdministrationInfo:
    """An administration without its answers."""

    id: int
    patient_id: int
    assignment_id: int | None
    position: int
    instrument_id: str
    instrument_version: str
    instrument_hash: str
    language: str
    status: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    answered: int  # items with a stored answer or skip


def _num(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def info(adm: Administration, answered: int = 0) -> AdministrationInfo:
    return AdministrationInfo(
        adm.id, adm.patient_id, adm.assignment_id, adm.position, adm.instrument_id, adm.instrument_version,
        adm.instrument_hash, adm.language, adm.status, adm.created_at, adm.started_at, adm.completed_at, answered)


def validate_answer(definition: Definition, item_id: str, value: object) -> float | None:
    """Check one answer against a definition with the engine's cell validation; None clears the answer.

    Raises
    ------
    AnswerRejectedError
        With the engine's failure code (``out_of_range``, ``not_an_option``, ``bool_value`` …).
    """
    plan = definition.plan
    try:
        k = plan.item_ids.index(item_id)
    except ValueError:
        hint = did_you_mean(item_id, plan.item_ids)
        raise AnswerRejectedError(
            f"no item {item_id!r} in {definition.id} {definition.version}" + (f"; {hint}" if hint else ""),
            "unknown_item", item_id) from None
    if value is None:
        return None
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
        number = float(value)
        if number in set(plan.allowed[k].tolist()):  # the common case; anything else gets the engine's verdict
            return number
    values, frames = check_column(pd.Series([value], dtype=object), item_id, plan.allowed[k], ())
    if frames:
        failure = pd.concat(frames).iloc[0]
        raise AnswerRejectedError(f"answer to {item_id} rejected: {failure['message']} [{failure['code']}]",
                                  str(failure["code"]), item_id)
    result = float(values[0])
    if math.isnan(result):
        raise AnswerRejectedError(f"answer to {item_id} rejected: no value; pass None to clear an answer",
                                  "not_a_number", item_id)
    return result


def shown_items(definition: Definition, answers: Mapping[str, float | None], sex: str | None) -> list[Item]:
    """Items shown to this respondent now: the engine decides (:func:`scoring.engine.visibility.visible_items`)
    with the respondent attributes the store scores with (``sex``, as in :func:`.results.answers_frame`), so
    the kiosk shows exactly the items whose answers the scoring counts."""
    visible = set(visible_items(definition, answers, {"sex": sex}))
    return [item for item in definition.instrument.items if item.id in visible]


def age_on(date_of_birth: date | None, day: date) -> int | None:
    """Age in completed years on ``day`` (:func:`scoring.definitions.respondent.age_in_completed_years`)."""
    if date_of_birth is None or day < date_of_birth:
        return None
    return age_in_completed_years(date_of_birth, day)


class Administrations:
    """Administrations for staff (paper forms, entry on the patient's behalf) and the kiosk's engine room.

    Obtain from :attr:`scoring.store.Clinic.administrations`.
    """

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # -- staff API ------------------------------------------------------------------------------------------
    def start(self, actor: Actor, patient_id: int, instrument_id: str, *, version: str | None = None,
              language: str | None = None) -> AdministrationInfo:
        """Open an administration for a patient (entered by staff), pinning the definition used."""
        definition = self._ctx.library.get_version(instrument_id, version)
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_patient(s, actor, patient_id)
            adm = self.create(s, patient_id, definition, now, mode="staff", language=language,
                              entered_by=actor.user_id)
            audit.record(s, now, actor, "administration_created", patient_id=patient_id,
                         object_type="administration", object_id=adm.id, detail={"instrument": instrument_id})
            return info(adm)

    def record(self, actor: Actor, patient_id: int, instrument_id: str, answers: Mapping[str, object], *,
               version: str | None = None, language: str | None = None,
               administered_at: datetime | None = None) -> CompletionResult:
        """Enter a whole completed form at once (e.g. from paper): validate every answer, then store the
        administration, its answers, scores, alerts and audit row in one transaction (nothing on error)."""
        definition = self._ctx.library.get_version(instrument_id, version)
        values = {item: validate_answer(definition, item, v) for item, v in answers.items()}
        now = self._ctx.store.now()
        when = administered_at or now
        notices: list[AlertNotice] = []
        with self._ctx.store.write() as s:
            audit.require_patient(s, actor, patient_id)
            adm = self.create(s, patient_id, definition, when, mode="staff", language=language,
                              entered_by=actor.user_id)
            adm.status, adm.started_at = "in_progress", when
            for item_id, value in values.items():
                s.add(Answer(administration_id=adm.id, item_id=item_id, revision=1, value=value, answered_at=when,
                             entered_by=actor.user_id))
            s.flush()
            result = self.complete_in(s, adm, actor, now, notices, completed_at=when)
        self._ctx.notify(notices)
        return result

    def get(self, actor: Actor, administration_id: int) -> AdministrationInfo:
        with (audit.denials_audited(self._ctx.store, actor, "administration") as refused,
              self._ctx.store.read() as s):
            adm = self._load(s, administration_id)
            refused.patient_id = adm.patient_id
            audit.require_patient(s, actor, adm.patient_id)
            return info(adm, len(current_answers(s, [adm.id])[adm.id]))

    def answers(self, actor: Actor, administration_id: int) -> dict[str, int | float | None]:
        """The current answer to every answered item (None = skipped); the view is audited."""
        now = self._ctx.store.now()
        with (audit.denials_audited(self._ctx.store, actor, "answers") as refused,
              self._ctx.store.write() as s):
            adm = self._load(s, administration_id)
            refused.patient_id = adm.patient_id
            audit.require_patient(s, actor, adm.patient_id)
            audit.record(s, now, actor, "answers_viewed", patient_id=adm.patient_id,
                         object_type="administration", object_id=adm.id)
            return {k: _num(v) for k, v in current_answers(s, [adm.id])[adm.id].items()}

    def answer_history(self, actor: Actor, administration_id: int) -> list[tuple[str, int, int | float | None,
                                                                                  datetime]]:
        """Every stored revision ``(item_id, revision, value, answered_at)`` in order; the view is audited."""
        now = self._ctx.store.now()
        with (audit.denials_audited(self._ctx.store, actor, "answer_history") as refused,
              self._ctx.store.write() as s):
            adm = self._load(s, administration_id)
            refused.patient_id = adm.patient_id
            audit.require_patient(s, actor, adm.patient_id)
            audit.record(s, now, actor, "answers_viewed", patient_id=adm.patient_id,
                         object_type="administration", object_id=adm.id, detail={"history": True})
            rows = s.execute(select(Answer.item_id, Answer.revision, Answer.value, Answer.answered_at)
                             .where(Answer.administration_id == adm.id).order_by(Answer.id))
            return [(i, r, _num(v), t) for i, r, v, t in rows]

    def next_item(self, actor: Actor, administration_id: int) -> ItemPrompt | None:
        """The first shown item without a stored answer, or None when every shown item has one."""
        with (audit.denials_audited(self._ctx.store, actor, "administration") as refused,
              self._ctx.store.read() as s):
            adm = self._load(s, administration_id)
            refused.patient_id = adm.patient_id
            audit.require_patient(s, actor, adm.patient_id)
            return self.prompt(s, adm)

    def item(self, actor: Actor, administration_id: int, item_id: str) -> ItemPrompt:
        """One item with its stored answer (to go back and change it)."""
        with (audit.denials_audited(self._ctx.store, actor, "administration") as refused,
              self._ctx.store.read() as s):
            adm = self._load(s, administration_id)
            refused.patient_id = adm.patient_id
            audit.require_patient(s, actor, adm.patient_id)
            return self.prompt_for(s, adm, item_id)

    def save_answer(self, actor: Actor, administration_id: int, item_id: str, value: object) -> SavedAnswer:
        """Validate and store one answer now (None clears it); see :class:`Administrations`."""
        notices: list[AlertNotice] = []
        with self._ctx.store.write() as s:
            adm = self.lock(s, administration_id)
            audit.require_patient(s, actor, adm.patient_id)
            saved = self.save_in(s, adm, item_id, value, actor, self._ctx.store.now(), notices)
        self._ctx.notify(notices)
        return saved

    def complete(self, actor: Actor, administration_id: int) -> CompletionResult:
        """Score and close the administration; a second call returns ``newly_completed=False``."""
        notices: list[AlertNotice] = []
        with self._ctx.store.write() as s:
            adm = self.lock(s, administration_id)
            audit.require_patient(s, actor, adm.patient_id)
            result = self.complete_in(s, adm, actor, self._ctx.store.now(), notices)
        self._ctx.notify(notices)
        return result

    def cancel(self, actor: Actor, administration_id: int) -> None:
        """Close an unfinished administration without scores (its answers are kept)."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            adm = self.lock(s, administration_id)
            audit.require_patient(s, actor, adm.patient_id)
            if adm.status in ("completed", "cancelled"):
                raise AdministrationClosedError(f"administration {adm.id} is {adm.status}")
            adm.status = "cancelled"
            audit.record(s, now, actor, "administration_cancelled", patient_id=adm.patient_id,
                         object_type="administration", object_id=adm.id)

    # -- session-level operations (shared with the kiosk) ----------------------------------------------------
    def definition(self, s: Session, adm: Administration) -> Definition:
        """The pinned definition, at the cut-points recorded with the administration when it was created."""
        pinned = self._ctx.pinned.for_administration(s, adm.instrument_id, adm.instrument_version,
                                                     adm.instrument_hash)
        return with_recorded_cutoffs(pinned, adm.cutoff_values)

    @staticmethod
    def _load(s: Session, administration_id: int) -> Administration:
        adm = s.get(Administration, administration_id)
        if adm is None:
            raise NotFoundError(f"no administration {administration_id}")
        return adm

    @staticmethod
    def lock(s: Session, administration_id: int) -> Administration:
        """Load an administration for change, locking its row (PostgreSQL; SQLite's write lock is held)."""
        adm = s.scalar(select(Administration).where(Administration.id == administration_id).with_for_update())
        if adm is None:
            raise NotFoundError(f"no administration {administration_id}")
        return adm

    def create(self, s: Session, patient_id: int, definition: Definition, now: datetime, *, mode: str,
               language: str | None = None, assignment_id: int | None = None, position: int = 0,
               entered_by: int | None = None) -> Administration:
        patient = s.get(Patient, patient_id)
        if patient is None:
            raise NotFoundError(f"no patient {patient_id}")
        self._ctx.pinned.pin(s, definition, now)
        ins = definition.instrument
        lang = language if language and (language == ins.language or language in ins.translations) else ins.language
        dob = s.scalar(select(PatientIdentifiers.date_of_birth).where(PatientIdentifiers.patient_id == patient_id))
        adm = Administration(
            patient_id=patient_id, assignment_id=assignment_id, position=position, instrument_id=definition.id,
            instrument_version=definition.version, instrument_hash=definition.hash, language=lang, mode=mode,
            status="pending", respondent_sex=patient.sex, age_years=age_on(dob, now.date()), created_at=now,
            entered_by=entered_by, cutoff_values=definition.cutoff_values or None,
        )
        s.add(adm)
        s.flush()
        return adm

    def prompt(self, s: Session, adm: Administration) -> ItemPrompt | None:
        definition = self.definition(s, adm)
        answers = current_answers(s, [adm.id])[adm.id]
        shown = shown_items(definition, answers, adm.respondent_sex)
        for k, item in enumerate(shown):
            if item.id not in answers:
                return self._make_prompt(definition, adm, item, k, len(shown), answers)
        return None

    def prompts(self, s: Session, adm: Administration) -> tuple[ItemPrompt, ...]:
        """Every item shown to this respondent now, in order, with its stored answer (the one-page layout)."""
        definition = self.definition(s, adm)
        answers = current_answers(s, [adm.id])[adm.id]
        shown = shown_items(definition, answers, adm.respondent_sex)
        return tuple(self._make_prompt(definition, adm, item, k, len(shown), answers) for k, item in enumerate(shown))

    def prompt_for(self, s: Session, adm: Administration, item_id: str, offset: int = 0) -> ItemPrompt:
        definition = self.definition(s, adm)
        answers = current_answers(s, [adm.id])[adm.id]
        shown = shown_items(definition, answers, adm.respondent_sex)
        ids = [i.id for i in shown]
        if item_id not in ids:
            if item_id in definition.plan.item_ids:
                raise NotFoundError(f"{item_id} is not shown to this patient now (its gate is closed)")
            raise NotFoundError(f"no item {item_id!r} in {definition.id} {definition.version}")
        k = min(max(ids.index(item_id) + offset, 0), len(ids) - 1)
        return self._make_prompt(definition, adm, shown[k], k, len(shown), answers)

    @staticmethod
    def _make_prompt(definition: Definition, adm: Administration, item: Item, k: int, total: int,
                     answers: Mapping[str, float | None]) -> ItemPrompt:
        ins = definition.instrument
        tr = ins.translations.get(adm.language) if adm.language != ins.language else None
        labels: Mapping[int, str] = tr.option_sets.get(item.options, {}) if tr else {}
        option_set = next(o for o in ins.option_sets if o.id == item.options)
        options = tuple(
            OptionChoice(o.value, labels.get(int(o.value), o.label) if float(o.value).is_integer() else o.label)
            for o in option_set.options)
        text = (tr.items.get(item.id) if tr else None) or item.text or item.descriptor or item.id
        return ItemPrompt(
            administration_id=adm.id, instrument_id=ins.id,
            instrument_name=(tr.name if tr and tr.name else ins.name),
            instructions=(tr.instructions if tr and tr.instructions else ins.instructions),
            item_id=item.id, text=text, verbatim=item.text is not None, options=options, position=k + 1,
            total=total, current=_num(answers.get(item.id)), answered=item.id in answers, language=adm.language,
        )

    def save_in(self, s: Session, adm: Administration, item_id: str, value: object, actor: Actor, now: datetime,
                notices: list[AlertNotice]) -> SavedAnswer:
        if adm.status in ("completed", "cancelled"):
            raise AdministrationClosedError(f"administration {adm.id} is {adm.status}; its answers cannot change")
        definition = self.definition(s, adm)
        clean = validate_answer(definition, item_id, value)
        last = s.execute(select(Answer.revision, Answer.value)
                         .where(Answer.administration_id == adm.id, Answer.item_id == item_id)
                         .order_by(Answer.revision.desc()).limit(1)).first()
        if last is not None and last.value == clean:
            return SavedAnswer(adm.id, item_id, last.revision, _num(clean), False, ())
        revision = 1 if last is None else last.revision + 1
        s.add(Answer(administration_id=adm.id, item_id=item_id, revision=revision, value=clean, answered_at=now,
                     entered_by=actor.user_id))
        if adm.status == "pending":
            adm.status, adm.started_at = "in_progress", now
            audit.record(s, now, actor, "administration_started", patient_id=adm.patient_id,
                         object_type="administration", object_id=adm.id)
        elif last is not None:
            audit.record(s, now, actor, "answer_changed", patient_id=adm.patient_id, object_type="administration",
                         object_id=adm.id, detail={"item": item_id, "revision": revision})
        alert_ids = self._critical(s, adm, definition, item_id, clean, actor, now, notices)
        return SavedAnswer(adm.id, item_id, revision, _num(clean), True, alert_ids)

    def _critical(self, s: Session, adm: Administration, definition: Definition, item_id: str,
                  value: float | None, actor: Actor, now: datetime, notices: list[AlertNotice]) -> tuple[int, ...]:
        """Raise (or annotate) the alert of a critical item when its answer is saved."""
        rules = [c for c in definition.plan.critical if c.item_id == item_id]
        if not rules:
            return ()
        hit = value is not None and any(bool(compare(np.array([value]), c.op, c.value)[0]) for c in rules)
        existing = s.scalar(select(Alert).where(Alert.administration_id == adm.id, Alert.item_id == item_id))
        if existing is not None:
            if existing.still_critical != hit:
                existing.still_critical = hit
                s.add(AlertAction(alert_id=existing.id, action="answer_changed", at=now, user_id=actor.user_id,
                                  still_critical=hit))
                audit.record(s, now, actor, "alert_answer_changed", patient_id=adm.patient_id, object_type="alert",
                             object_id=existing.id, detail={"still_critical": hit})
            return ()
        if not hit:
            return ()
        message = next(c.message for c in rules if compare(np.array([value]), c.op, c.value)[0])
        return (self._raise_alert(s, adm, item_id, message.strip(), actor, now, notices),)

    @staticmethod
    def _raise_alert(s: Session, adm: Administration, item_id: str, message: str, actor: Actor, now: datetime,
                     notices: list[AlertNotice]) -> int:
        alert = Alert(administration_id=adm.id, patient_id=adm.patient_id, item_id=item_id, message=message,
                      status="open", still_critical=True, raised_at=now)
        s.add(alert)
        s.flush()
        s.add(AlertAction(alert_id=alert.id, action="raised", at=now, user_id=actor.user_id, still_critical=True))
        audit.record(s, now, actor, "alert_raised", patient_id=adm.patient_id, object_type="alert",
                     object_id=alert.id, detail={"administration": adm.id, "item": item_id})
        enqueue_alert(s, alert, now)  # the care team's notices commit with the alert (scoring.store.notify)
        notices.append(AlertNotice(alert.id, adm.patient_id, adm.id, item_id, now))
        return alert.id

    def complete_in(self, s: Session, adm: Administration, actor: Actor, now: datetime,
                    notices: list[AlertNotice], completed_at: datetime | None = None) -> CompletionResult:
        if adm.status == "completed":
            return CompletionResult(adm.id, False, (), tuple(filter(None, (adm.critical_items or "").split(","))),
                                    adm.assignment_id, False, None)
        if adm.status == "cancelled":
            raise AdministrationClosedError(f"administration {adm.id} was cancelled")
        definition = self.definition(s, adm)
        answers = current_answers(s, [adm.id])[adm.id]
        result = score_answers(definition, [answers], [adm.respondent_sex])
        scales, flags, critical = extract(definition, result, 0)
        store_scores(s, adm, definition, scales, now)
        adm.status, adm.completed_at = "completed", completed_at or now
        adm.started_at = adm.started_at or adm.completed_at
        adm.flags, adm.critical_items = flags, critical
        critical_ids = tuple(filter(None, critical.split(",")))
        if critical_ids:  # alerts are raised when answers are saved; this catches any path that bypassed it
            have = set(s.scalars(select(Alert.item_id).where(Alert.administration_id == adm.id)))
            for item_id in critical_ids:
                if item_id not in have:
                    message = next(c.message for c in definition.plan.critical if c.item_id == item_id)
                    self._raise_alert(s, adm, item_id, message.strip(), actor, now, notices)
        audit.record(s, now, actor, "administration_completed", patient_id=adm.patient_id,
                     object_type="administration", object_id=adm.id,
                     detail={"instrument": adm.instrument_id, "version": adm.instrument_version,
                             "answers": len(answers)})
        assignment_done, next_id = False, None
        if adm.assignment_id is not None:
            assignment_done, next_id = self._finish_assignment(s, adm.assignment_id, actor, now)
        return CompletionResult(adm.id, True, tuple(scales), critical_ids, adm.assignment_id, assignment_done,
                                next_id)

    @staticmethod
    def _finish_assignment(s: Session, assignment_id: int, actor: Actor, now: datetime) -> tuple[bool, int | None]:
        # lock the assignment first, so that two administrations of it completing at once (PostgreSQL) are
        # counted one after the other and the last one closes the assignment
        assignment = s.scalar(select(Assignment).where(Assignment.id == assignment_id).with_for_update())
        if assignment is None or assignment.completed_at is not None:
            return False, None
        s.flush()
        open_left = s.scalar(select(func.count()).select_from(Administration).where(
            Administration.assignment_id == assignment_id, Administration.status.in_(("pending", "in_progress"))))
        if open_left:
            return False, None
        assignment.completed_at = now
        assignment.ticket_hash = None
        audit.record(s, now, actor, "assignment_completed", patient_id=assignment.patient_id,
                     object_type="assignment", object_id=assignment.id)
        if not assignment.recur_days:
            return True, None
        battery = current_version(s, assignment.battery_id)  # an edited battery recurs as its new version
        if battery is None:  # retired: the series ends here
            audit.record(s, now, actor, "recurrence_ended", patient_id=assignment.patient_id,
                         object_type="assignment", object_id=assignment.id,
                         detail={"battery_retired": assignment.battery_id})
            return True, None
        base = assignment.due_date or now.date()
        nxt = Assignment(patient_id=assignment.patient_id, battery_id=battery.id,
                         language=assignment.language, created_at=now, created_by=assignment.created_by,
                         due_date=max(base, now.date()) + timedelta(days=assignment.recur_days),
                         recur_days=assignment.recur_days, previous_id=assignment.id)
        s.add(nxt)
        s.flush()
        audit.record(s, now, actor, "assignment_created", patient_id=assignment.patient_id,
                     object_type="assignment", object_id=nxt.id, detail={"recurring_after": assignment.id})
        return True, nxt.id

