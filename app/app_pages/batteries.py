"""Admin: batteries — a name, an ordered list of instruments, instructions and a consent text."""

from __future__ import annotations

import streamlit as st

from scoring.store import StoreError
from ui import battery_texts_ui, state, widgets

me = state.require_staff("admin")
clinic = state.clinic()
lib = clinic.library

st.title("Batteries")
state.show_flash()
batteries = clinic.batteries.list(me.actor)
for b in batteries:
    with st.expander(f"{b.name} — {', '.join(widgets.instrument_label(lib, i) for i, _ in b.instruments)}"):
        st.markdown(f"**Instructions:** {b.instructions or '—'}")
        st.markdown(f"**Consent text** (version {b.consent_version or '—'}): {b.consent_text or '—'}")
        with st.form(f"w_consent_{b.id}", clear_on_submit=True):
            text = st.text_area("New consent text (patients agree to the new version from now on)",
                                key=f"w_consent_text_{b.id}")
            if st.form_submit_button("Save consent text") and text.strip():
                clinic.batteries.set_consent(me.actor, b.id, text.strip())
                state.flash("Consent text saved as a new version.", "success")
                st.rerun()
        battery_texts_ui.translations(clinic, me.actor, b, state.settings().battery_language)
if not batteries:
    st.caption("No batteries yet.")

offered = [s for s in clinic.catalogue.list(me.actor) if s.administrable]
with st.form("w_battery_add", clear_on_submit=True):
    st.subheader("Add a battery")
    name = st.text_input("Name", key="w_battery_name")
    chosen = st.multiselect("Instruments, in the order patients answer them", [s.id for s in offered],
                            format_func=lambda i: widgets.instrument_label(lib, i), key="w_battery_instruments")
    instructions = st.text_area("Instructions shown before the first questionnaire", key="w_battery_instructions")
    consent = st.text_area("Consent text the patient agrees to first (optional)", key="w_battery_consent")
    st.caption("Only enabled instruments with item text can be given on the tablet (see Instruments).")
    if st.form_submit_button("Add battery", type="primary"):
        try:
            clinic.batteries.add(me.actor, name.strip(), chosen, instructions=instructions.strip() or None,
                                 consent_text=consent.strip() or None)
        except StoreError as exc:
            st.error(str(exc))
        else:
            state.flash(f"Battery {name.strip()} added.", "success")
            st.rerun()
