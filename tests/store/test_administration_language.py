"""The language of each administration is stored with it (administrations.language), on SQLite and PostgreSQL:
the tablet's choice for questionnaires not started yet, the language a questionnaire was started in once
started, the definition's own language where it has no translation, and a paper form entered in German."""

from __future__ import annotations

from sqlalchemy import select

from scoring.store import Clinic, Store
from scoring.store.models import Administration

from .conftest import SYSTEM


def _stored(store: Store) -> dict[str, str]:
    with store.read() as s:
        return {a.instrument_id: a.language for a in s.scalars(select(Administration))}


def test_tablet_language_is_stored_per_administration(store: Store, clinic: Clinic, therapist, patient: int) -> None:
    issued = clinic.assignments.assign(SYSTEM, patient, instruments=["phq9", "gad7", "who5"])
    session = clinic.kiosk.redeem(issued.code)
    assert {a.language for a in session.administrations} == {"en"}
    session = clinic.kiosk.set_language(session.ticket, "de")
    langs = {a.instrument_id: a.language for a in session.administrations}
    # WHO-5 has no German translation shipped: it keeps its own language, the screen never mixes two
    assert langs["phq9"] == langs["gad7"] == "de" and langs["who5"] == clinic.library["who5"].instrument.language
    prompt = clinic.kiosk.next_item(session.ticket)
    assert prompt is not None and prompt.language == "de"
    assert prompt.text == "Wenig Interesse oder Freude an Ihren Tätigkeiten"
    assert [o.label for o in prompt.options] == ["Überhaupt nicht", "An einzelnen Tagen",
                                                  "An mehr als der Hälfte der Tage", "Beinahe jeden Tag"]
    clinic.kiosk.save_answer(session.ticket, prompt.administration_id, prompt.item_id, 1)
    # PHQ-9 was started in German and keeps it; GAD-7, not started yet, follows a new choice
    session = clinic.kiosk.set_language(session.ticket, "es")
    assert {a.instrument_id: a.language for a in session.administrations}["phq9"] == "de"
    assert _stored(store) == {"phq9": "de", "gad7": "es", "who5": clinic.library["who5"].instrument.language}


def test_a_paper_form_in_german_is_stored_as_german(store: Store, clinic: Clinic, therapist, patient: int) -> None:
    done = clinic.administrations.record(therapist, patient, "gad7", {f"gad7_{k}": 1 for k in range(1, 8)},
                                         language="de")
    assert done is not None
    assert _stored(store) == {"gad7": "de"}
    # a language the definition does not have is not stored as if it had been shown
    clinic.administrations.record(therapist, patient, "phq9", {f"phq9_{k}": 0 for k in range(1, 10)},
                                  language="xx")
    assert _stored(store) == {"gad7": "de", "phq9": "en"}
