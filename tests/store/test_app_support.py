"""Store methods the web app needs: kiosk idle expiry, language, going forward; caseload scores; answer
tables; instruments switched on and off."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scoring.store import (
    Clinic,
    PermissionDeniedError,
    Store,
    StoreError,
    TicketInvalidError,
    password_hasher,
)

from .conftest import PASSWORD, SYSTEM, Clock


def test_touch_slides_the_ticket_expiry(store_url: str, library) -> None:
    clock = Clock()
    with Store(store_url, clock=clock) as store:
        store.upgrade()
        clinic = Clinic(store, library, hasher=password_hasher(fast=True))
        me = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor
        pid = clinic.patients.add(me, "Kiosk Patient")
        session = clinic.kiosk.redeem(clinic.assignments.assign(me, pid, instruments=["gad7"]).code)
        expiry = clinic.kiosk.touch(session.ticket, timedelta(minutes=5))
        assert expiry == clock.now + timedelta(minutes=5)
        clock.advance(minutes=4)
        clinic.kiosk.touch(session.ticket, timedelta(minutes=5))  # activity: five more minutes from now
        clock.advance(minutes=4)
        assert clinic.kiosk.next_item(session.ticket) is not None
        clock.advance(minutes=2)  # idle for six minutes: the ticket no longer resumes
        with pytest.raises(TicketInvalidError):
            clinic.kiosk.resume(session.ticket)
        with pytest.raises(TicketInvalidError):
            clinic.kiosk.touch(session.ticket, timedelta(minutes=5))
        with pytest.raises(StoreError):
            clinic.kiosk.touch("whatever", timedelta(0))


def test_language_following_item_and_answer_table(clinic: Clinic, therapist, patient: int) -> None:
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, instruments=["phq9", "who5"]).code)
    changed = clinic.kiosk.set_language(session.ticket, "es")
    langs = {a.instrument_id: a.language for a in changed.administrations}
    assert langs["phq9"] == "es"
    assert langs["who5"] == library_language(clinic, "who5")  # no Spanish WHO-5: keeps its own
    first = clinic.kiosk.next_item(session.ticket)
    assert first is not None and first.language == "es" and first.text != library_text(clinic, "phq9", "phq9_1")
    second = clinic.kiosk.following_item(session.ticket, first.administration_id, first.item_id)
    assert second is not None and second.item_id == "phq9_2" and not second.answered
    last_id = library_items(clinic, "phq9")[-1]
    assert clinic.kiosk.following_item(session.ticket, first.administration_id, last_id) is None
    for k, item in enumerate(library_items(clinic, "phq9")):
        clinic.kiosk.save_answer(session.ticket, first.administration_id, item, k % 4)
    clinic.kiosk.complete(session.ticket, first.administration_id)
    again = clinic.kiosk.set_language(session.ticket, "en")  # started questionnaires keep their language
    assert {a.instrument_id: a.language for a in again.administrations}["phq9"] == "es"
    table = clinic.patients.answer_table(therapist, patient)
    assert list(table["instrument"]) == ["phq9"] and table.loc[0, "phq9_3"] == 2.0 and table.loc[0, "sex"] == "female"
    assert list(table.columns[:5]) == ["administration_id", "date", "instrument", "instrument_version", "sex"]
    other = clinic.users.add(SYSTEM, "olga", "therapist", PASSWORD).actor
    with pytest.raises(PermissionDeniedError):
        clinic.patients.answer_table(other, patient)


def library_language(clinic: Clinic, instrument_id: str) -> str:
    return clinic.library[instrument_id].instrument.language


def library_text(clinic: Clinic, instrument_id: str, item_id: str) -> str | None:
    return next(i.text for i in clinic.library[instrument_id].instrument.items if i.id == item_id)


def library_items(clinic: Clinic, instrument_id: str) -> list[str]:
    return list(clinic.library[instrument_id].plan.item_ids)


def test_latest_scores_per_patient_and_instrument(clinic: Clinic, therapist, patient: int) -> None:
    other = clinic.users.add(SYSTEM, "olga", "therapist", PASSWORD).actor
    theirs = clinic.patients.add(other, "Other Patient")
    phq = [f"phq9_{i}" for i in range(1, 10)]
    for total_each in (2, 1):
        clinic.administrations.record(therapist, patient, "phq9", dict.fromkeys(phq, total_each))
    clinic.administrations.record(therapist, patient, "gad7", {f"gad7_{i}": 0 for i in range(1, 8)})
    clinic.administrations.record(other, theirs, "phq9", dict.fromkeys(phq, 3))
    mine = clinic.patients.latest_scores(therapist)
    assert set(mine["patient_id"]) == {patient}
    phq_row = mine[(mine["instrument_id"] == "phq9") & (mine["scale_id"] == "total")].iloc[0]
    assert phq_row["score"] == 9.0 and phq_row["band"] == "Mild" and phq_row["administrations"] == 2
    assert set(mine["instrument_id"]) == {"phq9", "gad7"}
    admin = clinic.users.add(SYSTEM, "ada", "admin", PASSWORD).actor
    assert set(clinic.patients.latest_scores(admin)["patient_id"]) == {patient, theirs}
    researcher = clinic.users.add(SYSTEM, "rita", "researcher", PASSWORD).actor
    with pytest.raises(PermissionDeniedError):
        clinic.patients.latest_scores(researcher)


def test_switched_off_instruments_cannot_be_assigned(clinic: Clinic, therapist, patient: int) -> None:
    admin = clinic.users.add(SYSTEM, "ada", "admin", PASSWORD).actor
    clinic.batteries.add(admin, "Mood", ["phq9", "gad7"])
    listed = {s.id: s for s in clinic.catalogue.list(therapist)}
    assert listed["phq9"].enabled and listed["phq9"].administrable
    assert listed["epds"].redistribution == "no_item_text" and not listed["epds"].administrable
    assert listed["who5"].non_commercial
    with pytest.raises(PermissionDeniedError):
        clinic.catalogue.set_enabled(therapist, "gad7", False)
    status = clinic.catalogue.set_enabled(admin, "gad7", False)
    assert not status.enabled and not status.administrable
    with pytest.raises(StoreError, match="switched off"):
        clinic.assignments.assign(therapist, patient, instruments=["gad7"])
    with pytest.raises(StoreError, match="switched off"):
        clinic.assignments.assign(therapist, patient, battery="Mood")
    with pytest.raises(StoreError, match="switched off"):
        clinic.batteries.add(admin, "Anxiety", ["gad7"])
    clinic.catalogue.set_enabled(admin, "gad7", True)
    assert clinic.assignments.assign(therapist, patient, battery="Mood").code
