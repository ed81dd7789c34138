"""AppTest flows on the patient's tablet: code → PHQ-9 → stored score and alert; codes refused; reload resumes;
idle timeout; no score, band or other patient's data shown."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from scoring.store import TicketInvalidError

from .conftest import Seeded
from .helpers import button, new_app, option_buttons, page_text, progress, type_code

PHQ9_ANSWERS = {"phq9_1": 2, "phq9_2": 1, "phq9_3": 3, "phq9_4": 2, "phq9_5": 1, "phq9_6": 0, "phq9_7": 1,
                "phq9_8": 0, "phq9_9": 2, "phq9_10": 1}


def answer(at, value: int):
    """Tap the option with this position (the options are listed in code order 0, 1, 2, …)."""
    return option_buttons(at)[value].click().run()


def start(at, code: str):
    at.run()
    type_code(at, code)
    return button(at, "Start the questionnaires").click().run()


def test_phq9_by_code_stores_score_raises_alert_and_shows_no_score(seeded: Seeded) -> None:
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["phq9"])
    at = start(new_app(), issued.code)
    assert "session" in at.query_params and len(at.query_params["session"]) >= 43  # ≥ 256 bits, URL-safe
    assert set(at.query_params) == {"session"} and "Alice" not in page_text(at)  # no identifier in the URL
    for k, (item_id, value) in enumerate(PHQ9_ANSWERS.items(), start=1):
        assert f"Question {k} of 10" in progress(at), (item_id, progress(at))
        answer(at, value)
        if item_id == "phq9_9":  # a critical answer: the support message, never the alert
            text = page_text(at)
            assert at.title[0].value == "Thank you for telling us" and "tell a member of staff" in text
            assert "suicide" not in text.lower() and "alert" not in text.lower()
            button(at, "Continue ▶").click().run()
    assert "You have answered every question" in page_text(at)
    button(at, "Continue ▶").click().run()
    text = page_text(at)
    assert at.title[0].value == "Thank you!"
    for forbidden in (r"\b12\b", "Moderate", "(?i)score", "(?i)band", "Bob Sample", "MRN"):
        assert not re.search(forbidden, text), forbidden
    assert "session" not in at.query_params  # nothing left to resume
    history = seeded.clinic.patients.history(seeded.theo, seeded.patient_a, instrument_id="phq9")
    latest = history.iloc[-1]
    assert latest["score"] == sum(v for k, v in PHQ9_ANSWERS.items() if k != "phq9_10") == 12
    assert latest["band"] == "Moderate"
    alerts = [a for a in seeded.clinic.alerts.list(seeded.theo) if a.administration_id == latest["administration_id"]]
    assert [(a.item_id, a.status) for a in alerts] == [("phq9_9", "open")]
    button(at, "Finish").click().run()
    assert at.title[0].value == "Welcome"


def test_back_skip_language_and_one_page_layout(seeded: Seeded) -> None:
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["phq9", "gad7"])
    at = new_app().run()
    type_code(at, issued.code)
    assert [b.label for b in at.button if b.key and b.key.startswith("w_lang_")] == ["English", "Deutsch",
                                                                                  "Español"]
    at.button(key="w_lang_es").click().run()
    assert at.title[0].value == "Antes de empezar"
    button(at, "Empezar los cuestionarios").click().run()
    assert "Pregunta 1 de 10" in progress(at) and "Cuestionario 1 de 2" in progress(at)
    answer(at, 1)
    button(at, "Saltar esta pregunta").click().run()  # an explicit skip is stored as no answer
    assert "Pregunta 3 de 10" in progress(at)
    button(at, "◀ Atrás").click().run()
    assert "Pregunta 2 de 10" in progress(at)
    button(at, "◀ Atrás").click().run()
    assert option_buttons(at)[1].label.startswith("✓")  # the stored answer is marked
    button(at, "Siguiente ▶").click().run()
    answer(at, 3)  # answering the skipped item after all
    adm = seeded.clinic.kiosk  # read back through the store
    ticket = at.query_params["session"]
    prompt = adm.item(ticket, option_buttons_adm(at), "phq9_2")
    assert prompt.current == 3 and prompt.language == "es"


def option_buttons_adm(at) -> int:
    return int(option_buttons(at)[0].key.split("_")[2])


def test_whole_questionnaire_on_one_page(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSYSCORE_KIOSK_LAYOUT", "page")
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["gad7"])
    at = start(new_app(), issued.code)
    finish = next(b for b in at.button if b.key and b.key.startswith("w_finish_questionnaire_"))
    assert finish.disabled and len(option_buttons(at)) == 7 * 4  # seven items, four options each
    items = sorted({b.key.rsplit("_", 1)[0] for b in option_buttons(at)}, key=lambda k: int(k.rsplit("_", 1)[1]))
    for key in items:
        at.button(key=f"{key}_1").click().run()
    next(b for b in at.button if b.key and b.key.startswith("w_finish_questionnaire_")).click().run()
    assert at.title[0].value == "Thank you!"
    history = seeded.clinic.patients.history(seeded.theo, seeded.patient_a, instrument_id="gad7")
    assert history[history["scale_id"] == "total"].iloc[-1]["score"] == 7


def test_used_unknown_and_expired_codes_are_refused(seeded: Seeded) -> None:
    used = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["gad7"])
    seeded.clinic.kiosk.redeem(used.code)
    at = new_app().run()
    type_code(at, used.code)
    assert at.title[0].value == "Welcome" and "This code is not valid" in page_text(at)
    type_code(at, "00000000" if used.code.replace(" ", "") != "00000000" else "11111111")
    assert "This code is not valid" in page_text(at)
    expired = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["gad7"],
                                               expires_in=timedelta(seconds=1))
    time.sleep(1.2)
    type_code(at, expired.code)
    assert at.title[0].value == "Welcome" and "This code is not valid" in page_text(at)
    assert "session" not in at.query_params


def test_link_token_redeems_once_and_leaves_the_url(seeded: Seeded) -> None:
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, battery="Mood")
    at = new_app()
    at.query_params["link"] = issued.token
    at.run()
    assert at.title[0].value == "Before you start" and "link" not in at.query_params
    assert "My answers are stored for my treatment." in page_text(at)
    button(at, "I agree — start").click().run()  # the consent is stored through the store API
    assert "Question 1 of 10" in progress(at)
    again = new_app()
    again.query_params["link"] = issued.token
    again.run()
    assert again.title[0].value == "Welcome" and "This code is not valid" in page_text(again)


def test_reload_resumes_at_the_next_unanswered_item(seeded: Seeded) -> None:
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["phq9"])
    at = start(new_app(), issued.code)
    for value in (1, 2, 3):
        answer(at, value)
    ticket = at.query_params["session"]
    reloaded = new_app()  # a reload: a new session, nothing but the URL
    reloaded.query_params["session"] = ticket
    reloaded.run()
    assert "Question 4 of 10" in progress(reloaded), progress(reloaded)
    assert not any(b.label.startswith("✓") for b in option_buttons(reloaded))
    button(reloaded, "◀ Back").click().run()
    assert option_buttons(reloaded)[3].label.startswith("✓ ")  # the answer given before the reload
    forged = new_app()
    forged.query_params["session"] = ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB")
    forged.run()
    assert forged.title[0].value == "Welcome" and "session" not in forged.query_params


def test_support_message_survives_a_reload_after_a_critical_answer(seeded: Seeded) -> None:
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["phq9"])
    at = start(new_app(), issued.code)
    for item_id, value in PHQ9_ANSWERS.items():
        if item_id == "phq9_10":
            break
        answer(at, value)
        if item_id == "phq9_9":
            assert at.title[0].value == "Thank you for telling us"
            break
    reloaded = new_app()  # the tablet reloads on the support screen: the support message must not be lost
    reloaded.query_params["session"] = at.query_params["session"]
    reloaded.run()
    assert reloaded.title[0].value == "Thank you for telling us" and "tell a member of staff" in page_text(reloaded)
    button(reloaded, "Continue ▶").click().run()
    answer(reloaded, PHQ9_ANSWERS["phq9_10"])
    button(reloaded, "Continue ▶").click().run()
    assert reloaded.title[0].value == "Thank you!"
    assert "tell a member of staff" not in page_text(reloaded)  # the final screen is the same for everyone


def test_idle_timeout_returns_to_the_code_screen_and_ends_the_ticket(seeded: Seeded,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSYSCORE_KIOSK_IDLE_SECONDS", "1")
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["phq9"])
    at = start(new_app(), issued.code)
    answer(at, 1)
    ticket = at.query_params["session"]
    time.sleep(1.3)
    at.run()  # what the browser's timer does (a fragment with run_every)
    assert at.title[0].value == "Welcome" and "not used for a while" in page_text(at)
    assert "session" not in at.query_params and "psyscore_kiosk" not in at.session_state
    with pytest.raises(TicketInvalidError):
        seeded.clinic.kiosk.resume(ticket)
    reloaded = new_app()
    reloaded.query_params["session"] = ticket
    reloaded.run()
    assert reloaded.title[0].value == "Welcome" and "session has ended" in page_text(reloaded)


def test_no_staff_session_on_the_kiosk(seeded: Seeded) -> None:
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["gad7"])
    at = start(new_app(), issued.code)
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page("app_pages/login.py")  # during a patient session only the kiosk page exists
    at.session_state["psyscore_staff"] = None
    at.run()
    assert "Question 1 of 7" in progress(at)


def _bar(at) -> float:
    return at.get("progress")[0].proto.value  # percent


def test_reload_before_the_first_answer_and_in_one_page_layout_resumes_with_that_layout(seeded: Seeded) -> None:
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["gad7", "phq9"])
    at = new_app().run()
    type_code(at, issued.code)
    button(at, "Start the questionnaires").click().run()
    assert "Question 1 of 7" in progress(at) and _bar(at) == 0  # the bar starts at 0
    reloaded = new_app()  # a reload before the first answer: the question, not the instructions again
    reloaded.query_params["session"] = at.query_params["session"]
    reloaded.run()
    assert "Question 1 of 7" in progress(reloaded) and _bar(reloaded) == 0
    page = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["gad7", "phq9"])
    at = new_app().run()
    type_code(at, page.code)
    button(at, "Show all questions on one page").click().run()  # the patient's choice
    button(at, "Start the questionnaires").click().run()
    assert len(option_buttons(at)) == 7 * 4 and _bar(at) == 0  # one page, nothing answered yet: 0, not 1/2
    at.button(key=option_buttons(at)[1].key).click().run()
    reloaded = new_app()
    reloaded.query_params["session"] = at.query_params["session"]
    reloaded.run()
    assert len(option_buttons(reloaded)) == 7 * 4, "the one-page layout was lost on reload"
    assert option_buttons(reloaded)[1].label.startswith("✓") and _bar(reloaded) == 7  # 1 of 7, questionnaire 1 of 2


def test_a_stale_tap_for_a_question_no_longer_on_screen_stores_nothing(seeded: Seeded) -> None:
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["phq9"])
    at = start(new_app(), issued.code)
    stale = option_buttons(at)[2]  # phq9_1's third option, drawn on the first screen
    answer(at, 1)  # phq9_1 = 1; phq9_2 is on screen now
    assert "Question 2 of 10" in progress(at)
    ticket, adm = at.query_params["session"], option_buttons_adm(at)
    assert seeded.clinic.kiosk.resume(ticket).screen == (adm, "phq9_2")
    # the tap of a button from the screen before reaches the server after the next question was drawn
    from scoring.store import AnswerRejectedError
    with pytest.raises(AnswerRejectedError, match="phq9_1 refused: the tablet shows phq9_2"):
        seeded.clinic.kiosk.save_answer(ticket, adm, "phq9_1", 2)
    assert stale.key == f"w_opt_{adm}_phq9_1_2" and all("phq9_2" in b.key for b in option_buttons(at))
    assert seeded.clinic.kiosk.item(ticket, adm, "phq9_1").current == 1 and "Question 2 of 10" in progress(at)
