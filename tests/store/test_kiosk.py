"""Kiosk and administration: autosave, validation, going back, resume, completion, alerts, consent."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scoring.store import (
    AdministrationClosedError,
    AnswerRejectedError,
    Clinic,
    CodeInvalidError,
    ConsentRequiredError,
    NotFoundError,
    PermissionDeniedError,
    RedeemPolicy,
    Store,
    StoreError,
    TicketInvalidError,
    TooManyAttemptsError,
    password_hasher,
)
from scoring.store.models import Alert, AlertAction, Answer, AuditEntry, RedeemFailure, Score
from scoring.store.security import kiosk_client

from .conftest import SYSTEM, Clock


def _answer_all(clinic: Clinic, ticket: str, values: dict[str, object], adm_id: int | None = None) -> int:
    while (prompt := clinic.kiosk.next_item(ticket, adm_id)) is not None:
        clinic.kiosk.save_answer(ticket, prompt.administration_id, prompt.item_id, values.get(prompt.item_id))
        adm_id = prompt.administration_id
    assert adm_id is not None
    return adm_id


def test_full_flow_scores_alert_and_audit(clinic: Clinic, therapist, patient: int) -> None:
    issued = clinic.assignments.assign(therapist, patient, instruments=["phq9", "gad7"])
    assert len(issued.code.replace(" ", "")) == 12 and len(issued.token) >= 43
    session = clinic.kiosk.redeem(issued.code)
    assert [a.instrument_id for a in session.administrations] == ["phq9", "gad7"]
    first = clinic.kiosk.next_item(session.ticket)
    assert first is not None and first.item_id == "phq9_1" and first.position == 1 and first.total == 10
    assert [o.value for o in first.options] == [0, 1, 2, 3] and first.options[0].label == "Not at all"
    phq = dict(zip([f"phq9_{i}" for i in range(1, 11)], [3, 0, 1, 2, 0, 0, 1, 0, 3, 1], strict=True))
    alerts_seen: list[int] = []
    for item_id, value in phq.items():
        saved = clinic.kiosk.save_answer(session.ticket, first.administration_id, item_id, value)
        alerts_seen += saved.alert_ids
        if item_id == "phq9_9":  # the alert exists as soon as the answer is saved
            assert [a.item_id for a in clinic.alerts.list(therapist)] == ["phq9_9"]
    assert len(alerts_seen) == 1
    assert clinic.kiosk.next_item(session.ticket, first.administration_id) is None
    done = clinic.kiosk.complete(session.ticket, first.administration_id)
    assert done.newly_completed and not done.assignment_completed and done.critical_items == ("phq9_9",)
    total = next(s for s in done.scores if s.scale_id == "total")
    assert total.value == 10.0 and total.band == "Moderate" and total.cutoffs == {"probable_depression": True}
    again = clinic.kiosk.complete(session.ticket, first.administration_id)
    assert not again.newly_completed
    gad_id = _answer_all(clinic, session.ticket, {f"gad7_{i}": 1 for i in range(1, 9)})
    last = clinic.kiosk.complete(session.ticket, gad_id)
    assert last.assignment_completed
    with pytest.raises(TicketInvalidError):
        clinic.kiosk.next_item(session.ticket)
    with clinic.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Score)) == 1 + len(clinic.library["gad7"].plan.scales)
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert actions.count("administration_completed") == 2 and "alert_raised" in actions
    assert actions.count("code_redeemed") == 1 and "assignment_completed" in actions
    history = clinic.patients.history(therapist, patient)
    assert list(history["instrument_id"]) == ["phq9", "gad7"] and history["score"].iloc[0] == 10.0


def test_rejected_answer_stores_nothing(clinic: Clinic, therapist, patient: int) -> None:
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, instruments=["phq9"]).token)
    adm = session.administrations[0].id
    for bad, code in ((4, "out_of_range"), (True, "bool_value"), ("1e0", "bad_number_format"), (1.5, "not_integer"),
                      ("x", "not_a_number"), (float("nan"), "not_a_number")):
        with pytest.raises(AnswerRejectedError) as err:
            clinic.kiosk.save_answer(session.ticket, adm, "phq9_1", bad)
        assert err.value.code == code, bad
    with pytest.raises(AnswerRejectedError, match="did you mean 'phq9_1'") as err:
        clinic.kiosk.save_answer(session.ticket, adm, "phq9_01", 1)
    assert err.value.code == "unknown_item"
    with clinic.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 0
    assert clinic.kiosk.save_answer(session.ticket, adm, "phq9_1", "2").value == 2  # text digits are fine


def test_change_answer_keeps_history_and_alert(clinic: Clinic, therapist, patient: int) -> None:
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, instruments=["phq9"]).code)
    adm = session.administrations[0].id
    t = session.ticket
    raised = clinic.kiosk.save_answer(t, adm, "phq9_9", 2)
    assert raised.alert_ids
    same = clinic.kiosk.save_answer(t, adm, "phq9_9", 2)
    assert not same.changed and same.revision == 1
    back = clinic.kiosk.save_answer(t, adm, "phq9_9", 0)  # the patient goes back and changes it
    assert back.revision == 2 and back.alert_ids == ()
    again = clinic.kiosk.save_answer(t, adm, "phq9_9", 1)
    assert again.revision == 3 and again.alert_ids == ()  # still one alert per administration × item
    [alert] = clinic.alerts.list(therapist)
    assert alert.status == "open" and alert.still_critical
    actions = [(a.action, a.still_critical) for a in clinic.alerts.actions(therapist, alert.id)]
    assert actions == [("raised", True), ("answer_changed", False), ("answer_changed", True)]
    history = clinic.administrations.answer_history(therapist, adm)
    assert [(i, r, v) for i, r, v, _ in history] == [("phq9_9", 1, 2), ("phq9_9", 2, 0), ("phq9_9", 3, 1)]
    prompt = clinic.kiosk.item(t, adm, "phq9_9")
    assert prompt.current == 1 and prompt.answered
    assert clinic.kiosk.previous_item(t, adm, "phq9_9").item_id == "phq9_8"
    assert clinic.kiosk.previous_item(t, adm, "phq9_1").item_id == "phq9_1"
    ack = clinic.alerts.acknowledge(therapist, alert.id)
    assert ack.status == "acknowledged" and ack.acknowledged_by == therapist.user_id
    res = clinic.alerts.resolve(therapist, alert.id, "called the patient; safety plan reviewed")
    assert res.status == "resolved" and clinic.alerts.list(therapist) == []


def test_resume_after_reload_from_stored_answers(store: Store, library, therapist, patient: int) -> None:
    clinic = Clinic(store, library, hasher=password_hasher(fast=True))
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, instruments=["gad7"]).code)
    adm = session.administrations[0].id
    for i in (1, 2, 3):
        clinic.kiosk.save_answer(session.ticket, adm, f"gad7_{i}", 2)
    # a reload: nothing in memory survives but the ticket; a new Clinic over the same database
    fresh = Clinic(Store(store.url.render_as_string(hide_password=False)), library)
    try:
        resumed = fresh.kiosk.resume(session.ticket)
        assert resumed.administrations[0].answered == 3 and resumed.administrations[0].status == "in_progress"
        assert fresh.kiosk.next_item(session.ticket).item_id == "gad7_4"
    finally:
        fresh.store.close()
    # the code itself is single use
    with pytest.raises(CodeInvalidError):
        clinic.kiosk.redeem(session.ticket)
    # a re-issued code continues where the patient stopped (the tablet lost its ticket)
    code = clinic.assignments.issue_code(therapist, session.assignment_id).code
    again = clinic.kiosk.redeem(code)
    assert again.administrations[0].id == adm and clinic.kiosk.next_item(again.ticket).item_id == "gad7_4"
    with pytest.raises(TicketInvalidError):  # the old ticket was replaced
        clinic.kiosk.next_item(session.ticket)


def test_codes_single_use_expiry_and_attempt_limits(store_url: str, library, tmp_path) -> None:
    clock = Clock()
    policy = RedeemPolicy(client_failures=3, burst_failures=5)
    with Store(store_url, clock=clock) as store:
        store.upgrade()
        clinic = Clinic(store, library, hasher=password_hasher(fast=True), policy=policy)
        t = clinic.users.add(SYSTEM, "t", "therapist", "long enough pw").actor
        admin = clinic.users.add(SYSTEM, "a", "admin", "long enough pw").actor
        pid = clinic.patients.add(t, "P")
        issued = clinic.assignments.assign(t, pid, instruments=["phq2"], expires_in=timedelta(hours=2))
        assert len(issued.code.replace(" ", "")) == clinic.kiosk.code_digits == 12
        clock.advance(hours=3)
        with pytest.raises(CodeInvalidError):
            clinic.kiosk.redeem(issued.code)
        fresh = clinic.assignments.issue_code(t, issued.assignment_id)
        for guess in ("0" * 12, "1" * 12, "2" * 12):
            with pytest.raises(CodeInvalidError):
                clinic.kiosk.redeem(guess, client="tablet-1")
        with pytest.raises(TooManyAttemptsError):  # even the right code, from this client, for now
            clinic.kiosk.redeem(fresh.code, client="tablet-1")
        for n, guess in enumerate(("3" * 12, "4" * 12, "5" * 12)):
            with pytest.raises(CodeInvalidError):
                clinic.kiosk.redeem(guess, client=f"rotating-{n}")
        bursts = clinic.kiosk.guessing_bursts(admin)  # 1 (expired) + 3 + 3 wrong codes >= 5: staff see a burst
        assert len(bursts) == 1 and bursts[0][1]["failures"] >= 5
        # no clinic-wide lock: another tablet still redeems the right code
        assert clinic.kiosk.redeem(fresh.code, client="tablet-3").assignment_id == issued.assignment_id
        with store.read() as s:
            blocked = s.scalar(select(func.count()).select_from(AuditEntry)
                               .where(AuditEntry.action == "code_redeem_blocked"))
        assert blocked == 1
        clock.advance(hours=2)
        with pytest.raises(CodeInvalidError):  # used
            clinic.kiosk.redeem(fresh.code, client="tablet-3")
        with pytest.raises(PermissionDeniedError):
            clinic.kiosk.guessing_bursts(t)


def test_parallel_guessers_from_one_client_get_no_more_than_the_limit(store_url: str, library) -> None:
    """The per-client check and the recording of a wrong code are one transaction: 8 threads, limit 5."""
    policy = RedeemPolicy(client_failures=5)
    with Store(store_url) as store:
        store.upgrade()
        clinic = Clinic(store, library, hasher=password_hasher(fast=True), policy=policy)
        n = 8
        barrier = threading.Barrier(n)
        outcomes: list[str] = []
        lock = threading.Lock()

        def guess(k: int) -> None:
            barrier.wait()
            for j in range(3):
                try:
                    clinic.kiosk.redeem(f"{k:06d}{j:06d}", client="one-tablet")
                except CodeInvalidError:
                    result = "wrong"
                except TooManyAttemptsError:
                    result = "blocked"
                with lock:
                    outcomes.append(result)

        threads = [threading.Thread(target=guess, args=(k,)) for k in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(outcomes) == 3 * n
        assert outcomes.count("wrong") == 5  # exactly the limit, whatever the interleaving
        with store.read() as s:
            assert s.scalar(select(func.count()).select_from(RedeemFailure)) == 5


@pytest.mark.parametrize(("peer", "forwarded", "proxies", "expected"), [
    ("192.0.2.7", None, "", "ip:192.0.2.7"),
    (None, None, "", "ip:loopback"),  # every browser session on this machine is one client
    ("2001:db8::1", None, "", "ip:2001:db8::/64"),
    ("2001:db8::ffff:1", None, "", "ip:2001:db8::/64"),  # another address of the same /64
    ("192.0.2.7", "203.0.113.1", "", "forwarded:unconfigured-proxy"),  # forged header, no proxy configured
    ("192.0.2.7", "203.0.113.2", "", "forwarded:unconfigured-proxy"),  # rotating it changes nothing
    ("203.0.113.9", "203.0.113.9", "127.0.0.1", "ip:203.0.113.9"),  # resolved by the server for a trusted proxy
])
def test_kiosk_client_key_cannot_be_rotated(peer, forwarded, proxies, expected) -> None:
    assert kiosk_client(peer, forwarded, proxies) == expected


def test_ticket_reaches_only_its_own_assignment(clinic: Clinic, therapist, patient: int) -> None:
    other = clinic.patients.add(therapist, "Other")
    mine = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, instruments=["phq2"]).code)
    theirs = clinic.kiosk.redeem(clinic.assignments.assign(therapist, other, instruments=["phq2"]).code)
    with pytest.raises(NotFoundError):
        clinic.kiosk.save_answer(mine.ticket, theirs.administrations[0].id, "phq2_1", 1)
    with pytest.raises(TicketInvalidError):
        clinic.kiosk.next_item("not-a-ticket")
    clinic.kiosk.leave(mine.ticket)
    with pytest.raises(TicketInvalidError):
        clinic.kiosk.next_item(mine.ticket)


def test_consent_is_required_and_recorded(clinic: Clinic, therapist, patient: int) -> None:
    clinic.batteries.add(therapist, "intake", ["phq9", "gad7"], instructions="Please answer.",
                         consent_text="I agree that my answers are stored.")
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, battery="intake").code)
    assert session.consent_needed and session.consent_version == 1 and session.instructions == "Please answer."
    with pytest.raises(ConsentRequiredError):
        clinic.kiosk.next_item(session.ticket)
    agreed = clinic.kiosk.agree(session.ticket)
    assert not agreed.consent_needed
    assert clinic.kiosk.next_item(session.ticket).item_id == "phq9_1"
    clinic.batteries.set_consent(therapist, "intake", "New text.")
    assert clinic.batteries.get(therapist, "intake").consent_version == 2


def test_gates_skip_items_and_staff_entry(clinic: Clinic, therapist, patient: int) -> None:
    adm = clinic.administrations.start(therapist, patient, "audit")
    clinic.administrations.save_answer(therapist, adm.id, "audit_1", 0)  # never drinks: items 2–8 are skipped
    nxt = clinic.administrations.next_item(therapist, adm.id)
    assert nxt is not None and nxt.item_id == "audit_9" and nxt.position == 2 and nxt.total == 3
    with pytest.raises(NotFoundError, match="gate is closed"):
        clinic.administrations.item(therapist, adm.id, "audit_3")
    clinic.administrations.save_answer(therapist, adm.id, "audit_9", 0)
    clinic.administrations.save_answer(therapist, adm.id, "audit_10", 0)
    assert clinic.administrations.next_item(therapist, adm.id) is None
    result = clinic.administrations.complete(therapist, adm.id)
    assert next(s for s in result.scores if s.scale_id == "total").value == 0.0
    with pytest.raises(AdministrationClosedError):
        clinic.administrations.save_answer(therapist, adm.id, "audit_9", 1)
    paper = clinic.administrations.record(therapist, patient, "phq9", {f"phq9_{i}": int(i < 9) for i in range(1, 10)})
    assert paper.newly_completed and next(s for s in paper.scores if s.scale_id == "total").value == 8.0
    with pytest.raises(AnswerRejectedError):
        clinic.administrations.record(therapist, patient, "phq9", {"phq9_1": 9})
    with clinic.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
        assert s.scalar(select(func.count()).select_from(AlertAction)) == 0


def test_recurring_assignment_creates_the_next(clinic: Clinic, therapist, patient: int) -> None:
    from datetime import date

    issued = clinic.assignments.assign(therapist, patient, instruments=["phq2"], due=date(2030, 1, 1),
                                       every=timedelta(weeks=2))
    session = clinic.kiosk.redeem(issued.code)
    adm = _answer_all(clinic, session.ticket, {"phq2_1": 1, "phq2_2": 1})
    done = clinic.kiosk.complete(session.ticket, adm)
    assert done.assignment_completed and done.next_assignment_id is not None
    rows = clinic.assignments.for_patient(therapist, patient)
    assert [r.status for r in rows] == ["completed", "no_code"]
    assert rows[1].due_date == date(2030, 1, 15) and rows[1].recur_days == 14
    nxt = clinic.assignments.issue_code(therapist, done.next_assignment_id)
    assert clinic.kiosk.redeem(nxt.code).assignment_id == done.next_assignment_id


def test_translation_alert_hook_and_audit_reader(store: Store, library, patient: int, therapist) -> None:
    notices = []
    clinic = Clinic(store, library, hasher=password_hasher(fast=True), on_alert=notices.append)
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, instruments=["phq9"],
                                                            language="es").code)
    prompt = clinic.kiosk.next_item(session.ticket)
    assert prompt.language == "es" and prompt.text == "Poco interés o placer en hacer cosas"
    assert prompt.options[0].label == "Ningún día" and prompt.instructions.startswith("Durante")
    saved = clinic.kiosk.save_answer(session.ticket, prompt.administration_id, "phq9_9", 3)
    assert [n.alert_id for n in notices] == list(saved.alert_ids) and notices[0].item_id == "phq9_9"
    clinic.patients.update(therapist, patient, contact="new-sentinel@example.org")
    admin = clinic.users.add(SYSTEM, "ada", "admin", "long enough pw").actor
    clinic.record_audit(admin, "export_written", detail={"files": 3})
    rows = clinic.audit_log(admin)
    assert rows[0].action == "export_written"
    updated = next(r for r in rows if r.action == "patient_updated")
    assert updated.detail == {"fields": ["contact"]}
    assert all("sentinel" not in str(r.detail).lower() for r in rows)


def _answers(clinic: Clinic, adm: int) -> list[tuple[str, int, float | None]]:
    with clinic.store.read() as s:
        return [tuple(r) for r in s.execute(select(Answer.item_id, Answer.revision, Answer.value)
                                            .where(Answer.administration_id == adm).order_by(Answer.id))]


def test_a_tap_is_bound_to_the_question_on_screen(clinic: Clinic, therapist, patient: int) -> None:
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, instruments=["phq9", "gad7"]).token)
    ticket, phq, gad = session.ticket, session.administrations[0].id, session.administrations[1].id
    assert session.screen is None and session.layout is None  # nothing reported yet
    clinic.kiosk.save_answer(ticket, phq, "phq9_1", 1)  # a client that reports no screens is not bound
    first = clinic.kiosk.show_item(ticket, phq, idle=timedelta(minutes=5))
    assert first is not None and first.item_id == "phq9_2"
    assert clinic.kiosk.resume(ticket).screen == (phq, "phq9_2")
    # the double tap of the bug: the second tap lands on the next question before it was shown
    for item_id, adm in (("phq9_3", phq), ("phq9_1", phq), ("gad7_1", gad)):
        with pytest.raises(AnswerRejectedError, match=f"answer to {item_id} refused") as err:
            clinic.kiosk.save_answer(ticket, adm, item_id, 2)
        assert err.value.code == "not_on_screen" and err.value.item_id == item_id
    with pytest.raises(AnswerRejectedError, match="the tablet shows phq9_2"):
        clinic.kiosk.save_answer(ticket, phq, "phq9_3", 2)
    assert _answers(clinic, phq) == [("phq9_1", 1, 1.0)]  # nothing stored, nothing lost
    clinic.kiosk.save_answer(ticket, phq, "phq9_2", 3)
    with pytest.raises(AnswerRejectedError):  # still phq9_2 on screen until the tablet shows the next one
        clinic.kiosk.save_answer(ticket, phq, "phq9_3", 0)
    clinic.kiosk.save_answer(ticket, phq, "phq9_2", 2)  # changing the answer on screen is a new revision
    assert clinic.kiosk.show_item(ticket, phq).item_id == "phq9_3"
    with pytest.raises(AnswerRejectedError, match="phq9_2 refused: the tablet shows phq9_3"):
        clinic.kiosk.save_answer(ticket, phq, "phq9_2", 0)  # a stale tap on the question before
    back = clinic.kiosk.show_item(ticket, phq, "phq9_1")  # going back makes that question the current one
    assert back.item_id == "phq9_1" and back.current == 1
    clinic.kiosk.save_answer(ticket, phq, "phq9_1", 0)
    assert _answers(clinic, phq) == [("phq9_1", 1, 1.0), ("phq9_2", 1, 3.0), ("phq9_2", 2, 2.0), ("phq9_1", 2, 0.0)]
    clinic.kiosk.show_no_question(ticket)  # e.g. the support message
    with pytest.raises(AnswerRejectedError, match="no question is on screen"):
        clinic.kiosk.save_answer(ticket, phq, "phq9_1", 3)
    clinic.kiosk.show_item(ticket, phq, "phq9_5")
    with pytest.raises(AnswerRejectedError, match="another questionnaire"):
        clinic.kiosk.save_answer(ticket, gad, "gad7_1", 3)


def test_one_page_layout_takes_every_item_of_its_questionnaire_only(clinic: Clinic, therapist, patient: int) -> None:
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, instruments=["gad7", "phq9"]).token)
    ticket, gad, phq = session.ticket, session.administrations[0].id, session.administrations[1].id
    clinic.kiosk.set_layout(ticket, "page")
    with pytest.raises(StoreError, match="unknown kiosk layout 'grid'; use one of: item, page"):
        clinic.kiosk.set_layout(ticket, "grid")
    prompts = clinic.kiosk.show_page(ticket, gad)
    assert [p.item_id for p in prompts] == [f"gad7_{i}" for i in range(1, 8)] and not any(p.answered for p in prompts)
    for item_id in ("gad7_7", "gad7_1", "gad7_4"):  # any order: all of them are on screen
        clinic.kiosk.save_answer(ticket, gad, item_id, 1)
    with pytest.raises(AnswerRejectedError, match="another questionnaire") as err:
        clinic.kiosk.save_answer(ticket, phq, "phq9_1", 1)
    assert err.value.code == "not_on_screen"
    resumed = clinic.kiosk.resume(ticket)  # a reload: the layout and the screen come back from the store
    assert resumed.layout == "page" and resumed.screen == (gad, None)
    assert [p.answered for p in clinic.kiosk.show_page(ticket, gad)] == [True, False, False, True, False, False, True]
    for i in (2, 3, 5, 6):
        clinic.kiosk.save_answer(ticket, gad, f"gad7_{i}", 0)
    clinic.kiosk.complete(ticket, gad)
    assert clinic.kiosk.resume(ticket).screen is None  # the finished questionnaire takes no more taps
    with pytest.raises(AnswerRejectedError, match="no question is on screen"):
        clinic.kiosk.save_answer(ticket, phq, "phq9_1", 1)
    assert _answers(clinic, phq) == []
