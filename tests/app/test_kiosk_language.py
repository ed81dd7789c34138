"""The tablet in Spanish: every screen from the Spanish catalogue and the battery's Spanish texts; an
untranslated battery text falls back to the default language for the whole screen; the support message in
the patient's language and configurable; the thank-you screen identical whether or not a critical item was
endorsed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scoring import messages

from .conftest import Seeded
from .helpers import button, new_app, option_buttons, page_text, progress, type_code

ES_INSTR = "Conteste pensando en las últimas dos semanas."
ES_CONSENT = "Mis respuestas se guardan para mi tratamiento."
ES = messages.catalogue("es")
EN = messages.catalogue("en")


def _english_words_left(text: str) -> list[str]:
    """English catalogue phrases on a Spanish screen (the words both languages share are left out)."""
    return [v for k, v in EN.items() if v != ES[k] and len(v) > 8 and v in text]


def _answer_all(at) -> None:
    """Answer every remaining question with its first option, through every questionnaire."""
    for _ in range(40):
        if option_buttons(at):
            option_buttons(at)[0].click().run()
        elif at.title and at.title[0].value == ES["support_title"]:
            button(at, ES["continue"]).click().run()
        elif _finish(at) is not None:
            _finish(at).click().run()
        else:
            return


def _finish(at):
    """The button that closes a questionnaire (keyed per administration), if on screen."""
    return next((b for b in at.button if b.key and b.key.startswith("w_finish_questionnaire")), None)


def _spanish_session(seeded: Seeded, *, translated: bool = True):
    if translated:
        seeded.clinic.battery_texts.set(seeded.admin, "Mood", "es", instructions=ES_INSTR, consent_text=ES_CONSENT)
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, battery="Mood")
    at = new_app().run()
    type_code(at, issued.code)
    at.button(key="w_lang_es").click().run()
    return at


def test_spanish_consent_instructions_support_and_thanks(seeded: Seeded) -> None:
    at = _spanish_session(seeded)
    text = page_text(at)
    assert at.title[0].value == "Antes de empezar" and ES_INSTR in text and ES_CONSENT in text
    assert "Please answer" not in text and "My answers" not in text and not _english_words_left(text)
    button(at, "Acepto — empezar").click().run()
    assert "Pregunta 1 de 10" in progress(at) and "Cuestionario 1 de 2" in progress(at)
    for _ in range(8):
        option_buttons(at)[0].click().run()
    option_buttons(at)[2].click().run()  # PHQ-9 item 9 endorsed: the support message, in Spanish
    text = page_text(at)
    assert at.title[0].value == "Gracias por decírnoslo" and ES["support_default"] in text
    assert not _english_words_left(text) and "tell a member of staff" not in text
    _answer_all(at)
    text = page_text(at)
    assert at.title[0].value == "¡Gracias!" and ES["thanks"] in text and ES["support_default"] not in text
    assert [b.label for b in at.button] == ["Terminar"] and not _english_words_left(text)


def _thanks_screen(seeded: Seeded, item9: int) -> tuple[str, list[str]]:
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["phq9"])
    at = new_app().run()
    type_code(at, issued.code)
    button(at, "Start the questionnaires").click().run()
    for k in range(1, 10):
        option_buttons(at)[item9 if k == 9 else 0].click().run()
        if at.title and at.title[0].value == "Thank you for telling us":
            button(at, "Continue ▶").click().run()
    option_buttons(at)[0].click().run()
    _finish(at).click().run()
    assert at.title[0].value == "Thank you!"
    html = [str(el.proto) for el in at.get("html")]  # less the tap guard's script and run marker (per run)
    shown = [h for h in html if "<style>" not in h and "<script" not in h and "data-psy-run" not in h]
    return "\n".join([*(el.value for el in at.title), *(el.value for el in at.markdown), *shown]), \
        [b.label for b in at.button]


def test_thank_you_screen_is_the_same_with_or_without_a_critical_answer(seeded: Seeded) -> None:
    critical = _thanks_screen(seeded, item9=3)
    plain = _thanks_screen(seeded, item9=0)
    assert any(a.item_id == "phq9_9" and a.status == "open" for a in seeded.clinic.alerts.list(seeded.theo))
    assert critical == plain
    assert EN["support_default"] not in critical[0] and "psy-support" not in critical[0]
    assert EN["thanks"] in critical[0]


def test_untranslated_battery_text_shows_the_whole_screen_in_the_default_language(seeded: Seeded) -> None:
    at = _spanish_session(seeded, translated=False)
    text = page_text(at)
    assert at.title[0].value == "Before you start" and "Please answer about the last two weeks." in text
    assert "I agree — start" in text and not any(v in text for k, v in ES.items() if v != EN[k] and len(v) > 8)
    button(at, "I agree — start").click().run()
    assert "Pregunta 1 de 10" in progress(at)  # the questionnaire itself is in Spanish (its own translation)


def test_configured_support_message_per_language(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSYSCORE_KIOSK_SUPPORT_MESSAGE", "Call the clinic's crisis line 0000.")
    monkeypatch.setenv("PSYSCORE_KIOSK_SUPPORT_MESSAGE_ES", "Llame a la línea de crisis de la clínica: 0000.")
    at = _spanish_session(seeded)
    button(at, "Acepto — empezar").click().run()
    for k in range(1, 10):
        option_buttons(at)[1 if k == 9 else 0].click().run()
    text = page_text(at)
    assert "Llame a la línea de crisis de la clínica: 0000." in text and "Call the clinic" not in text


def test_spanish_idle_timeout_and_code_errors(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSYSCORE_KIOSK_IDLE_SECONDS", "1")
    at = _spanish_session(seeded)
    button(at, "Acepto — empezar").click().run()
    option_buttons(at)[0].click().run()
    time.sleep(1.3)
    at.run()
    # the next person to pick up the tablet is not met in the last patient's language: back to the default,
    # with the reason in it; choosing Español shows the same notice in Spanish (never a mixed screen)
    text = page_text(at)
    assert at.title[0].value == EN["code_title"] and EN["idle"] in text and ES["idle"] not in text
    at.button(key="w_code_lang_es").click().run()
    text = page_text(at)
    assert at.title[0].value == "Bienvenido/a" and ES["idle"] in text and not _english_words_left(text)
    type_code(at, "0" * 12)
    text = page_text(at)
    assert ES["invalid"] in text and ES["code_help"] in text and not _english_words_left(text)
    keypad = str(next(el for el in at.get("bidi_component") if el.key == "w_code").proto)
    assert ES["clear"] in keypad and ES["start"] in keypad  # the keypad's labels travel as its data
    assert f'"{EN["clear"]}"' not in keypad and "Code entered so far" not in keypad


def _audit_actions(seeded: Seeded, action: str) -> list[dict]:
    from sqlalchemy import select

    from scoring.store.models import AuditEntry

    with seeded.clinic.store.read() as s:
        return [e.detail for e in s.scalars(select(AuditEntry).where(AuditEntry.action == action))]


def test_language_chosen_on_the_code_screen_carries_into_the_session(seeded: Seeded) -> None:
    at = new_app().run()
    assert [b.label for b in at.button if b.key and b.key.startswith("w_code_lang_")] == [
        "English", "العربية", "Deutsch", "Español"]  # every shipped catalogue, English first
    assert at.title[0].value == EN["code_title"] and at.button(key="w_code_lang_en").proto.type == "primary"
    at.button(key="w_code_lang_es").click().run()
    text = page_text(at)
    assert at.title[0].value == ES["code_title"] and ES["code_help"] in text and not _english_words_left(text)
    assert at.button(key="w_code_lang_es").proto.type == "primary"
    keypad = str(next(el for el in at.get("bidi_component") if el.key == "w_code").proto)
    assert ES["start"] in keypad and ES["clear"] in keypad
    seeded.clinic.battery_texts.set(seeded.admin, "Mood", "es", instructions=ES_INSTR, consent_text=ES_CONSENT)
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, battery="Mood")
    type_code(at, issued.code)
    text = page_text(at)  # the welcome screen starts in Spanish, its language choice on Español
    assert at.title[0].value == ES["instructions"] and ES_INSTR in text and not _english_words_left(text)
    assert at.button(key="w_lang_es").proto.type == "primary" and at.button(key="w_lang_en").proto.type != "primary"
    assert {"language": "es"}.items() <= _audit_actions(seeded, "kiosk_language_set")[-1].items()
    at.button(key="w_lang_en").click().run()  # the choice after the code still works, starting from Spanish
    assert at.title[0].value == EN["instructions"]


def test_no_choice_keeps_the_assignment_language_and_nothing_leaks_to_the_next_patient(seeded: Seeded) -> None:
    at = new_app().run()
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["phq9"])
    type_code(at, issued.code)
    assert at.title[0].value == EN["instructions"] and _audit_actions(seeded, "kiosk_language_set") == []
    # a Spanish-speaking patient: chooses on the code screen, answers, finishes
    seeded.clinic.store.close()
    at = new_app().run()
    at.button(key="w_code_lang_es").click().run()
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, instruments=["phq9"])
    type_code(at, issued.code)
    assert at.title[0].value == ES["instructions"]
    button(at, ES["begin"]).click().run()
    for _ in range(10):
        option_buttons(at)[0].click().run()
    _finish(at).click().run()
    assert at.title[0].value == ES["thanks_title"]
    button(at, ES["finish"]).click().run()
    # the tablet is handed back: the next patient meets the default language, Español not preselected
    text = page_text(at)
    assert at.title[0].value == EN["code_title"] and EN["code_help"] in text
    assert at.button(key="w_code_lang_en").proto.type == "primary"
    assert at.button(key="w_code_lang_es").proto.type != "primary"
    issued = seeded.clinic.assignments.assign(seeded.thea, seeded.patient_b, instruments=["phq9"])
    type_code(at, issued.code)
    assert at.title[0].value == EN["instructions"]


def test_code_screen_language_goes_back_after_the_idle_timeout(seeded: Seeded,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSYSCORE_KIOSK_IDLE_SECONDS", "1")
    at = new_app().run()
    at.button(key="w_code_lang_es").click().run()
    assert at.title[0].value == ES["code_title"]
    time.sleep(1.3)
    at.run()
    assert at.title[0].value == EN["code_title"]


def test_admin_sets_the_support_message_and_the_tablet_shows_it(seeded: Seeded,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from .helpers import sign_in

    monkeypatch.setenv("PSYSCORE_KIOSK_SUPPORT_MESSAGE_ES", "Entorno: llame al 000.")
    at = sign_in(new_app(), "ada")
    at.switch_page("app_pages/kiosk_settings.py").run()
    assert at.text_area(key="w_support_text_es").value == "Entorno: llame al 000."
    assert at.text_area(key="w_support_text_en").value == EN["support_default"]
    assert "the deployment default (environment)" in page_text(at)
    at.text_area(key="w_support_text_es").input("Clínica: llame al 111.")
    at.button(key="w_support_save_es").click().run()
    assert seeded.clinic.kiosk_settings.support_message("es") == "Clínica: llame al 111."
    assert _audit_actions(seeded, "kiosk_support_message_set")[-1]["after"] == "Clínica: llame al 111."
    at.text_area(key="w_support_text_en").input("   ")
    at.button(key="w_support_save_en").click().run()
    assert "empty" in page_text(at) and seeded.clinic.kiosk_settings.stored_support_messages() == {
        "es": "Clínica: llame al 111."}
    # the tablet: the admin's text over the environment's
    kiosk = _spanish_session(seeded)
    button(kiosk, "Acepto — empezar").click().run()
    for k in range(1, 10):
        option_buttons(kiosk)[1 if k == 9 else 0].click().run()
    text = page_text(kiosk)
    assert "Clínica: llame al 111." in text and "Entorno" not in text
    # back to the deployment default
    at.button(key="w_support_clear_es").click().run()
    assert seeded.clinic.kiosk_settings.stored_support_messages() == {}
    assert _audit_actions(seeded, "kiosk_support_message_cleared")[-1]["language"] == "es"


def test_only_admins_reach_the_support_message_page(seeded: Seeded) -> None:
    from .helpers import sign_in

    at = sign_in(new_app(), "theo")
    with pytest.raises(ValueError, match="navigation page"):  # not in a therapist's navigation at all
        at.switch_page("app_pages/kiosk_settings.py")
    source = (Path(__file__).parents[2] / "app" / "app_pages" / "kiosk_settings.py").read_text(encoding="utf-8")
    assert 'state.require_staff("admin")' in source  # and the page checks the role itself


def test_admin_enters_battery_texts_per_language_on_the_batteries_page(seeded: Seeded) -> None:
    from .helpers import sign_in

    at = sign_in(new_app(), "ada")
    at.switch_page("app_pages/batteries.py").run()
    mood = next(b for b in seeded.clinic.batteries.list(seeded.admin) if b.name == "Mood")
    options = at.selectbox(key=f"w_battery_text_lang_{mood.id}").options
    assert options == ["العربية (ar)", "Deutsch (de)", "Español (es)"]
    at.selectbox(key=f"w_battery_text_lang_{mood.id}").set_value("es")
    at.text_area(key=f"w_battery_text_instr_{mood.id}").input(ES_INSTR)
    at.text_area(key=f"w_battery_text_consent_{mood.id}").input(ES_CONSENT)
    button(at, "Save texts in this language").click().run()
    [tr] = seeded.clinic.battery_texts.list(seeded.admin, "Mood")
    assert (tr.language, tr.instructions, tr.consent_text, tr.consent_version, tr.current) == (
        "es", ES_INSTR, ES_CONSENT, 1, True)
    assert "Español" in page_text(at) and ES_CONSENT in page_text(at)
