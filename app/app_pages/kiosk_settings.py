"""Admin: the tablet's support/crisis message in each language (shown after a critical answer).

The text saved here comes first; without it the deployment default from the environment applies
(``PSYSCORE_KIOSK_SUPPORT_MESSAGE[_ES]`` / ``PSYSCORE_KIOSK_SUPPORT_FILE[_ES]``), else the shipped text. Every
change is audited (old and new text).
"""

from __future__ import annotations

import streamlit as st

from scoring.store import StoreError
from ui import state
from ui.kiosk_ui import language_name

me = state.require_staff("admin")
clinic = state.clinic()
cfg = state.settings()

SOURCES = {"clinic": "saved here by an admin", "environment": "the deployment default (environment)",
           "shipped": "psyscore's shipped text — it names no crisis line: set yours"}

st.title("Tablet support message")
st.markdown("After a patient gives a critical answer (e.g. PHQ-9 item 9) the tablet shows this message, in the "
            "patient's language, before the next question. Name **who to tell and your local crisis line**. "
            "The thank-you screen is the same for every patient: it never shows this message.")
state.show_flash()


def save(language: str) -> None:
    try:
        clinic.kiosk_settings.set_support_message(me.actor, language, st.session_state[f"w_support_text_{language}"])
    except StoreError as err:
        state.flash(str(err), "error")
        return
    state.flash(f"Support message in {language_name(language)} saved.", "success")


def clear(language: str) -> None:
    try:
        cleared = clinic.kiosk_settings.clear_support_message(me.actor, language)
    except StoreError as err:
        state.flash(str(err), "error")
        return
    st.session_state.pop(f"w_support_text_{language}", None)
    state.flash(f"{language_name(language)}: the deployment default applies again." if cleared
                else f"{language_name(language)}: nothing was saved here.", "info")


for shown in clinic.kiosk_settings.support_messages(me.actor, cfg.support_messages):
    code = shown.language
    st.subheader(f"{language_name(code)} ({code})")
    when = f", {shown.updated_at:%Y-%m-%d %H:%M} UTC" if shown.updated_at else ""
    st.caption(f"Shown now: {SOURCES[shown.source]}{when}")
    st.text_area("Support message", value=shown.text, key=f"w_support_text_{code}", height=140,
                 max_chars=2000)
    left, right = st.columns(2)
    left.button("Save", key=f"w_support_save_{code}", type="primary", on_click=save, args=(code,))
    right.button("Use the deployment default", key=f"w_support_clear_{code}", on_click=clear, args=(code,),
                 disabled=shown.source != "clinic")
