"""The batteries page's per-language texts: what each language shows on the tablet, and a form to set it."""

from __future__ import annotations

import streamlit as st

from scoring import messages
from scoring.store import Actor, BatteryInfo, Clinic, StoreError
from ui import state


def translations(clinic: Clinic, actor: Actor, battery: BatteryInfo, default_language: str) -> None:
    """List a battery's translations and let staff save the instructions/consent in another language."""
    own = messages.ENDONYMS.get(default_language, default_language)
    st.markdown(f"**Other languages** (the texts above are in {own}; "
                "a patient who chooses a language with no complete translation sees them in that language)")
    for tr in clinic.battery_texts.list(actor, battery.id):
        note = "" if tr.current else " — *not shown: translate the current instructions and consent version*"
        st.markdown(f"- **{messages.ENDONYMS.get(tr.language, tr.language)}** ({tr.language}){note}\n\n"
                    f"  Instructions: {tr.instructions or '—'}\n\n"
                    f"  Consent (of version {tr.consent_version or '—'}): {tr.consent_text or '—'}")
    others = [c for c in messages.shipped_languages() if c != default_language]
    with st.form(f"w_battery_text_{battery.id}", clear_on_submit=True):
        lang = st.selectbox("Language", others, format_func=lambda c: f"{messages.ENDONYMS.get(c, c)} ({c})",
                            key=f"w_battery_text_lang_{battery.id}")
        instructions = st.text_area("Instructions in this language", key=f"w_battery_text_instr_{battery.id}")
        consent = st.text_area(f"Consent text in this language (translates version {battery.consent_version})"
                               if battery.consent_version else "Consent text in this language (the battery has none)",
                               key=f"w_battery_text_consent_{battery.id}", disabled=battery.consent_version is None)
        if st.form_submit_button("Save texts in this language"):
            try:
                clinic.battery_texts.set(actor, battery.id, lang, instructions=instructions, consent_text=consent)
            except StoreError as exc:
                st.error(str(exc))
            else:
                state.flash(f"Texts in {messages.ENDONYMS.get(lang, lang)} saved.", "success")
                st.rerun()
