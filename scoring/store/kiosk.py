"""The patient's side: redeem a one-time code (or link), answer, resume after a reload, complete.

``redeem`` consumes the code atomically (of two concurrent redemptions exactly one succeeds: a
conditional UPDATE on the still-stored hash) and returns a :class:`KioskSession` whose ``ticket`` (256
random bits, stored hashed) lets this tablet — and only for this assignment — go on after a reload or a
crash; everything else is read back from the stored answers. Wrong short codes are limited per client
and overall (:class:`~scoring.store.security.RedeemPolicy`). A patient reaches nothing but their own
assignment: every call checks that the administration belongs to the ticket's assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from scoring.store import audit
from scoring.store.administration import (
    AdministrationInfo,
    Administrations,
    CompletionResult,
    ItemPrompt,
    SavedAnswer,
    info,
)
from scoring.store.audit import Actor
from scoring.store.battery_texts import shown_texts
from scoring.store.context import AlertNotice, Context
from scoring.store.errors import (
    AnswerRejectedError,
    CodeInvalidError,
    ConsentRequiredError,
    NotFoundError,
    StoreError,
    TicketInvalidError,
    TooManyAttemptsError,
)
from scoring.store.models import (
    Administration,
    Alert,
    Assignment,
    AuditEntry,
    Battery,
    BatteryInstrument,
    Consent,
    ConsentText,
    RedeemFailure,
)
from scoring.store.notify import enqueue_guessing_burst
from scoring.store.results import current_answers
from scoring.store.security import is_short_code, keyed_hash, new_token, normalize_code, secret_hash

INVALID = "This code is not valid. Please ask your clinician for a new one."
KIOSK = Actor.kiosk()
#: the tablet's layouts: one question per screen, or the whole questionnaire on one page
LAYOUTS = ("item", "page")
#: ``Assignment.kiosk_screen`` when the tablet reports screens but shows no question (instructions, consent,
#: support message, the end of a questionnaire); NULL means the client never reported a screen
NO_QUESTION = "-"


@dataclass(frozen=True)
class KioskSession:
    """A redeemed assignment on a tablet. Keep ``ticket`` in the tablet's session only; never show it."""

    ticket: str
    assignment_id: int
    expires_at: datetime
    instructions: str | None
    consent_text: str | None
    consent_version: int | None
    consent_needed: bool
    administrations: tuple[AdministrationInfo, ...]
    #: a critical answer was given in this assignment: the tablet shows the support message again after a reload
    #: (the patient never sees the alert itself)
    critical_answer_given: bool = False
    #: the language of ``instructions`` and ``consent_text``: None for the battery's own (default) text
    text_language: str | None = None
    #: the layout the patient chose on this ticket (``item`` or ``page``; None: not chosen, the tablet's default)
    layout: str | None = None
    #: the question the tablet shows: (administration id, item id), item id None for the whole questionnaire
    #: on one page; None when no question is on screen (or the client never reported one)
    screen: tuple[int, str | None] | None = None

    @property
    def finished(self) -> bool:
        return all(a.status in ("completed", "cancelled") for a in self.administrations)


class Kiosk:
    """Patient-facing administration. Obtain from :attr:`scoring.store.Clinic.kiosk`."""

    def __init__(self, ctx: Context, administrations: Administrations) -> None:
        self._ctx = ctx
        self._adm = administrations

    # -- codes ----------------------------------------------------------------------------------------------
    def redeem(self, code: str, *, client: str = "") -> KioskSession:
        """Redeem a short code or link token; returns the session for this assignment.

        Parameters
        ----------
        code
            The short code as typed (spaces and dashes ignored) or a link token.
        client
            A key for the device or browser session (the app passes its session id); wrong short codes are
            limited per client and overall.

        Raises
        ------
        CodeInvalidError
            Unknown, used, expired or cancelled (one message for all).
        TooManyAttemptsError
            Too many wrong short codes recently; try again later.
        """
        policy = self._ctx.policy
        text = normalize_code(code)
        short = is_short_code(text, policy.code_digits)
        if not short:
            text = (code or "").strip()  # a link token: '-' and '_' are part of it
        key = self._ctx.store.secret_key()
        client_key = keyed_hash(key, "client", client)
        now = self._ctx.store.now()
        failed = blocked = False
        # one transaction: the per-client check, the lookup and the recording of a wrong code (SQLite: BEGIN
        # IMMEDIATE serialises writers; PostgreSQL: a transaction lock per client key), so parallel guessers
        # from one client cannot pass the limit between the check and the record
        with self._ctx.store.write() as s:
            if short:
                self._lock_client(s, client_key)
                blocked = self._too_many(s, client_key, now)
            if blocked:
                audit.record(s, now, KIOSK, "code_redeem_blocked", ok=False, detail={"kind": "code"})
            else:
                column = Assignment.code_hash if short else Assignment.token_hash
                digest = keyed_hash(key, "code", text) if short else secret_hash("token", text)
                a = s.scalar(select(Assignment).where(column == digest))
                usable = (a is not None and a.cancelled_at is None and a.completed_at is None
                          and a.code_expires_at is not None and a.code_expires_at > now)
                if not usable:
                    if short:
                        s.add(RedeemFailure(at=now, client=client_key))
                        self._burst_check(s, now)
                    audit.record(s, now, KIOSK, "code_redeem_failed", ok=False,
                                 patient_id=a.patient_id if a is not None else None,
                                 object_type="assignment" if a is not None else None,
                                 object_id=a.id if a is not None else None,
                                 detail={"kind": "code" if short else "link"})
                    failed = True
                else:
                    assert a is not None
                    ticket = new_token()
                    expires = now + policy.ticket_ttl
                    # atomic single use: only the transaction that still sees the hash wins
                    won = cast("CursorResult[Any]", s.execute(  # an UPDATE gives a CursorResult: rowcount
                        update(Assignment).where(Assignment.id == a.id, column == digest)
                        .values(code_hash=None, token_hash=None,
                                redeemed_at=func.coalesce(Assignment.redeemed_at, now),
                                ticket_hash=secret_hash("ticket", ticket), ticket_expires_at=expires)
                        .execution_options(synchronize_session=False)
                    )).rowcount
                    if won != 1:
                        failed = True
                    else:
                        s.expire(a)
                        self._ensure_administrations(s, a, now)
                        audit.record(s, now, KIOSK, "code_redeemed", patient_id=a.patient_id,
                                     object_type="assignment", object_id=a.id,
                                     detail={"kind": "code" if short else "link"})
                        return self._session(s, a, ticket)
        if blocked:
            raise TooManyAttemptsError("Too many wrong codes. Please wait a few minutes or ask your clinician.")
        if failed:
            raise CodeInvalidError(INVALID)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def code_digits(self) -> int:
        """How many digits a short code has (the tablet keypad's length)."""
        return self._ctx.policy.code_digits

    @staticmethod
    def _lock_client(s: Session, client_key: str) -> None:
        """Serialise the redemptions of one client until the transaction ends (PostgreSQL advisory lock)."""
        if s.get_bind().dialect.name == "postgresql":
            key = int.from_bytes(bytes.fromhex(client_key[:16]), "big", signed=True)
            s.execute(sql_text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def _too_many(self, s: Session, client_key: str, now: datetime) -> bool:
        """This client's wrong short codes reached the limit of the window (other clients are not affected)."""
        p = self._ctx.policy
        mine = s.scalar(select(func.count()).select_from(RedeemFailure).where(
            RedeemFailure.client == client_key, RedeemFailure.at > now - p.client_window))
        return (mine or 0) >= p.client_failures

    def _burst_check(self, s: Session, now: datetime) -> None:
        """Many wrong codes from all clients together: audit ``code_guessing_burst`` once per burst window.

        Nobody is locked out by it (a clinic-wide lock would let anyone block every patient's code); the
        event is for staff (the audit log; :meth:`guessing_bursts`), and each enabled admin with an e-mail
        address or webhook gets a security notice queued in this transaction (no code, device or patient in it).
        """
        p = self._ctx.policy
        since = now - p.burst_window
        everyone = s.scalar(select(func.count()).select_from(RedeemFailure).where(RedeemFailure.at > since)) or 0
        if everyone < p.burst_failures:
            return
        s.flush()
        already = s.scalar(select(AuditEntry.id).where(AuditEntry.action == "code_guessing_burst",
                                                        AuditEntry.at > since).limit(1))
        if already is None:
            clients = s.scalar(select(func.count(func.distinct(RedeemFailure.client)))
                               .where(RedeemFailure.at > since)) or 0
            audit.record(s, now, Actor.system("kiosk-guard"), "code_guessing_burst", ok=False,
                         detail={"failures": int(everyone), "clients": int(clients),
                                 "window_minutes": int(p.burst_window.total_seconds() // 60)})
            enqueue_guessing_burst(s, now, p.burst_window)  # a notice to the admins, in this transaction

    def guessing_bursts(self, actor: Actor, *, since: datetime | None = None) -> list[tuple[datetime, dict]]:
        """Bursts of wrong codes (admins): ``(time, detail)`` newest first, for a staff warning."""
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin",))
            q = select(AuditEntry.at, AuditEntry.detail).where(AuditEntry.action == "code_guessing_burst")
            if since is not None:
                q = q.where(AuditEntry.at > since)
            return [(at, detail or {}) for at, detail in s.execute(q.order_by(AuditEntry.id.desc()))]

    def _ensure_administrations(self, s: Session, a: Assignment, now: datetime) -> None:
        if s.scalar(select(func.count()).select_from(Administration).where(Administration.assignment_id == a.id)):
            return  # redeemed before (a re-issued code): resume where the patient stopped
        entries = s.execute(select(BatteryInstrument.instrument_id, BatteryInstrument.version)
                            .where(BatteryInstrument.battery_id == a.battery_id)
                            .order_by(BatteryInstrument.position)).all()
        for pos, (instrument_id, version) in enumerate(entries):
            definition = self._ctx.library.get_version(instrument_id, version)
            self._adm.create(s, a.patient_id, definition, now, mode="kiosk", language=a.language,
                             assignment_id=a.id, position=pos)

    @staticmethod
    def _battery(s: Session, a: Assignment) -> Battery:
        """The assignment's battery (a checked error, not an assert: asserts vanish under ``python -O``)."""
        battery = s.get(Battery, a.battery_id)
        if battery is None:
            raise NotFoundError("the battery of this assignment no longer exists; ask the practice for a new code")
        return battery

    def _session(self, s: Session, a: Assignment, ticket: str) -> KioskSession:
        battery = self._battery(s, a)
        shown = shown_texts(s, battery, a.language)  # the patient's language when translated whole
        consent_text = shown.consent_text
        agreed = s.scalar(select(Consent.id).where(Consent.assignment_id == a.id)) is not None
        adms = list(s.scalars(select(Administration).where(Administration.assignment_id == a.id)
                              .order_by(Administration.position)))
        answered = current_answers(s, [x.id for x in adms])
        critical = bool(adms) and s.scalar(
            select(Alert.id).where(Alert.administration_id.in_([x.id for x in adms])).limit(1)) is not None
        return KioskSession(
            ticket=ticket, assignment_id=a.id, expires_at=a.ticket_expires_at or self._ctx.store.now(),
            instructions=shown.instructions, consent_text=consent_text, text_language=shown.language,
            consent_version=battery.consent_version,
            consent_needed=consent_text is not None and not agreed,
            administrations=tuple(info(x, len(answered[x.id])) for x in adms),
            critical_answer_given=critical, layout=a.kiosk_layout, screen=_parse_screen(a.kiosk_screen),
        )

    # -- tickets --------------------------------------------------------------------------------------------
    def _assignment(self, s: Session, ticket: str, now: datetime, lock: bool = False) -> Assignment:
        q = select(Assignment).where(Assignment.ticket_hash == secret_hash("ticket", ticket))
        a = s.scalar(q.with_for_update() if lock else q)
        if (a is None or a.cancelled_at is not None or a.completed_at is not None
                or a.ticket_expires_at is None or a.ticket_expires_at <= now):
            raise TicketInvalidError("This session has ended. Please ask your clinician for a new code.")
        return a

    def _administration(self, s: Session, a: Assignment, administration_id: int | None, lock: bool) -> Administration:
        if administration_id is None:
            adm_id = s.scalar(select(Administration.id).where(
                Administration.assignment_id == a.id, Administration.status.in_(("pending", "in_progress")))
                .order_by(Administration.position).limit(1))
            if adm_id is None:
                raise NotFoundError("every questionnaire of this assignment is finished")
        else:
            adm_id = administration_id
        adm = self._adm.lock(s, adm_id) if lock else s.get(Administration, adm_id)
        if adm is None or adm.assignment_id != a.id:
            raise NotFoundError(f"no administration {administration_id} in this session")
        return adm

    def _require_consent(self, s: Session, a: Assignment) -> None:
        battery = s.get(Battery, a.battery_id)
        if (battery is not None and battery.consent_version is not None
                and s.scalar(select(Consent.id).where(Consent.assignment_id == a.id)) is None):
            raise ConsentRequiredError("the patient has to agree to the consent text first")

    def resume(self, ticket: str) -> KioskSession:
        """The session of a ticket, rebuilt from the database (after a reload or a crash)."""
        with self._ctx.store.read() as s:
            return self._session(s, self._assignment(s, ticket, self._ctx.store.now()), ticket)

    def agree(self, ticket: str) -> KioskSession:
        """Record the patient's agreement to the battery's current consent text (time and text version)."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            a = self._assignment(s, ticket, now, lock=True)
            battery = self._battery(s, a)
            if battery.consent_version is not None and s.scalar(
                    select(Consent.id).where(Consent.assignment_id == a.id)) is None:
                text_hash = s.scalar(select(ConsentText.text_hash).where(
                    ConsentText.battery_id == battery.id, ConsentText.version == battery.consent_version))
                s.add(Consent(assignment_id=a.id, patient_id=a.patient_id, battery_id=battery.id,
                              consent_version=battery.consent_version, text_hash=text_hash or "", agreed_at=now))
                audit.record(s, now, KIOSK, "consent_given", patient_id=a.patient_id, object_type="assignment",
                             object_id=a.id, detail={"consent_version": battery.consent_version})
            s.flush()
            return self._session(s, a, ticket)

    def next_item(self, ticket: str, administration_id: int | None = None) -> ItemPrompt | None:
        """The next unanswered item (of the given administration, or of the first unfinished one)."""
        with self._ctx.store.read() as s:
            a = self._assignment(s, ticket, self._ctx.store.now())
            self._require_consent(s, a)
            return self._adm.prompt(s, self._administration(s, a, administration_id, lock=False))

    def item(self, ticket: str, administration_id: int, item_id: str) -> ItemPrompt:
        """One item with its stored answer (to go back)."""
        with self._ctx.store.read() as s:
            a = self._assignment(s, ticket, self._ctx.store.now())
            return self._adm.prompt_for(s, self._administration(s, a, administration_id, lock=False), item_id)

    def previous_item(self, ticket: str, administration_id: int, item_id: str) -> ItemPrompt:
        """The item shown before ``item_id`` (the first item stays the first)."""
        with self._ctx.store.read() as s:
            a = self._assignment(s, ticket, self._ctx.store.now())
            adm = self._administration(s, a, administration_id, lock=False)
            return self._adm.prompt_for(s, adm, item_id, offset=-1)

    def following_item(self, ticket: str, administration_id: int, item_id: str) -> ItemPrompt | None:
        """The item shown after ``item_id`` (None after the last one), answered or not (to go forward)."""
        with self._ctx.store.read() as s:
            a = self._assignment(s, ticket, self._ctx.store.now())
            adm = self._administration(s, a, administration_id, lock=False)
            nxt = self._adm.prompt_for(s, adm, item_id, offset=1)
            return None if nxt.item_id == item_id else nxt

    # -- what the tablet shows: a tap is bound to the question it was made on ------------------------------------
    def show_item(self, ticket: str, administration_id: int | None = None, item_id: str | None = None, *,
                  idle: timedelta | None = None) -> ItemPrompt | None:
        """The question the tablet shows now, recorded as the ticket's screen.

        From then on :meth:`save_answer` takes an answer only for this question (a tap made on one question
        can never answer another). ``item_id`` None: the next unanswered item of the administration; when
        every shown item is answered this returns None and no question is on screen. ``idle`` extends the
        ticket like :meth:`touch` in the same transaction.
        """
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            a = self._assignment(s, ticket, now, lock=True)
            self._require_consent(s, a)
            adm = self._administration(s, a, administration_id, lock=False)
            prompt = self._adm.prompt(s, adm) if item_id is None else self._adm.prompt_for(s, adm, item_id)
            a.kiosk_screen = f"{adm.id}:{prompt.item_id}" if prompt is not None else NO_QUESTION
            _keep_alive(a, now, idle)
            return prompt

    def show_page(self, ticket: str, administration_id: int, *,
                  idle: timedelta | None = None) -> tuple[ItemPrompt, ...]:
        """Every item of the administration on one page, recorded as the screen: answers to any of them are
        taken, answers to other questionnaires refused. ``idle`` as for :meth:`show_item`."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            a = self._assignment(s, ticket, now, lock=True)
            self._require_consent(s, a)
            adm = self._administration(s, a, administration_id, lock=False)
            prompts = self._adm.prompts(s, adm)
            a.kiosk_screen = f"{adm.id}:*"
            _keep_alive(a, now, idle)
            return prompts

    def show_no_question(self, ticket: str, *, idle: timedelta | None = None) -> None:
        """The tablet shows no question (instructions, consent, support message): every answer is refused."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            a = self._assignment(s, ticket, now, lock=True)
            a.kiosk_screen = NO_QUESTION
            _keep_alive(a, now, idle)

    def set_layout(self, ticket: str, layout: str) -> None:
        """Keep the layout the patient chose with the ticket, so that a reload resumes with it."""
        if layout not in LAYOUTS:
            raise StoreError(f"unknown kiosk layout {layout!r}; use one of: {', '.join(LAYOUTS)}")
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            self._assignment(s, ticket, now, lock=True).kiosk_layout = layout

    def save_answer(self, ticket: str, administration_id: int, item_id: str, value: object, *,
                    idle: timedelta | None = None) -> SavedAnswer:
        """Store one answer now (None = skip). Raises :class:`AnswerRejectedError` and stores nothing if invalid.

        Once the tablet reports its screens (:meth:`show_item`, :meth:`show_page`), only an answer to the
        question on screen is taken; any other is refused with code ``not_on_screen`` (the stored answers
        stay as they were). ``idle`` extends the ticket like :meth:`touch` in the same transaction.
        """
        now = self._ctx.store.now()
        notices: list[AlertNotice] = []
        with self._ctx.store.write() as s:
            a = self._assignment(s, ticket, now)  # not locked first: the administration's row lock comes first,
            self._require_consent(s, a)           # as in complete() (no lock-order deadlock on PostgreSQL)
            adm = self._administration(s, a, administration_id, lock=True)
            screen = a.kiosk_screen
            if screen is not None and screen not in (f"{adm.id}:{item_id}", f"{adm.id}:*"):
                shown = _parse_screen(screen)
                if shown is None:
                    where = "no question is on screen"
                elif shown[0] != adm.id:
                    where = "the tablet shows another questionnaire"
                else:
                    where = f"the tablet shows {shown[1]}"
                raise AnswerRejectedError(
                    f"answer to {item_id} refused: {where} (a tap is taken only for the question it was made on); "
                    "nothing was stored and the stored answers are unchanged", "not_on_screen", item_id)
            saved = self._adm.save_in(s, adm, item_id, value, KIOSK, now, notices)
            _keep_alive(a, now, idle)
        self._ctx.notify(notices)
        return saved

    def complete(self, ticket: str, administration_id: int) -> CompletionResult:
        """Complete one administration (scores, alerts, audit in one transaction; again: does nothing)."""
        now = self._ctx.store.now()
        notices: list[AlertNotice] = []
        with self._ctx.store.write() as s:
            a = self._assignment(s, ticket, now)
            self._require_consent(s, a)
            adm = self._administration(s, a, administration_id, lock=True)
            result = self._adm.complete_in(s, adm, KIOSK, now, notices)
            if a.kiosk_screen is not None:
                a.kiosk_screen = NO_QUESTION  # the finished questionnaire takes no more taps
        self._ctx.notify(notices)
        return result

    def touch(self, ticket: str, idle: timedelta) -> datetime:
        """Keep the tablet session alive for ``idle`` from now (call it on each tap); returns the new expiry.

        The ticket then stops working ``idle`` after the patient's last activity, so a reload after an idle
        timeout does not resume. Raises :class:`TicketInvalidError` if it has already ended.
        """
        if idle <= timedelta(0):
            raise StoreError("the idle timeout must be positive")
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            a = self._assignment(s, ticket, now, lock=True)
            a.ticket_expires_at = now + idle
            return a.ticket_expires_at

    def set_language(self, ticket: str, language: str) -> KioskSession:
        """Show the questionnaires not started yet in ``language``, where their definition has it.

        Questionnaires already started keep the language they were started in (their answers were given
        to that wording); definitions without the language keep their own. Audited.
        """
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            a = self._assignment(s, ticket, now, lock=True)
            changed = []
            for adm in s.scalars(select(Administration).where(Administration.assignment_id == a.id,
                                                              Administration.status == "pending")):
                ins = self._adm.definition(s, adm).instrument
                if (language == ins.language or language in ins.translations) and adm.language != language:
                    adm.language = language
                    changed.append(adm.id)
            a.language = language
            audit.record(s, now, KIOSK, "kiosk_language_set", patient_id=a.patient_id, object_type="assignment",
                         object_id=a.id, detail={"language": language, "administrations": changed})
            s.flush()
            return self._session(s, a, ticket)

    def leave(self, ticket: str) -> None:
        """End the tablet session (idle timeout, hand-back): the ticket stops working; answers stay."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            a = s.scalar(select(Assignment).where(Assignment.ticket_hash == secret_hash("ticket", ticket)))
            if a is not None:
                a.ticket_hash = None
                audit.record(s, now, KIOSK, "kiosk_session_ended", patient_id=a.patient_id,
                             object_type="assignment", object_id=a.id)


def _keep_alive(a: Assignment, now: datetime, idle: timedelta | None) -> None:
    if idle is not None:
        if idle <= timedelta(0):
            raise StoreError("the idle timeout must be positive")
        a.ticket_expires_at = now + idle


def _parse_screen(screen: str | None) -> tuple[int, str | None] | None:
    if not screen or screen == NO_QUESTION:
        return None
    adm, _, item = screen.partition(":")
    return int(adm), (None if item == "*" else item)
