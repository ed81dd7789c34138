"""Admin: batteries — a name, an ordered list of instruments, instructions and a consent text.

Admins add, change, reorder and retire batteries here; a battery already assigned is saved as a new version
(the store decides, :class:`scoring.store.Batteries`). Therapists only pick active batteries when assigning.
"""

from __future__ import annotations

import streamlit as st

from scoring.store import StoreError
from ui import battery_edit_ui, battery_texts_ui, state, widgets

me = state.require_staff("admin")
clinic = state.clinic()
lib = clinic.library

st.title("Batteries")
state.show_flash()
show_all = st.toggle("Show retired batteries and earlier versions", key="w_battery_show_all")
batteries = clinic.batteries.list(me.actor, include_retired=show_all)
offered = [s.id for s in clinic.catalogue.list(me.actor) if s.administrable]
for b in batteries:
    with st.expander(battery_edit_ui.label(lib, b)):
        battery_edit_ui.summary(b)
        if not b.active:
            continue
        battery_edit_ui.edit_form(clinic, me.actor, b)
        battery_edit_ui.order_form(clinic, me.actor, b, offered)
        battery_texts_ui.translations(clinic, me.actor, b, state.settings().battery_language)
        battery_edit_ui.retire_form(clinic, me.actor, b)
if not batteries:
    st.caption("No batteries yet.")

with st.form("w_battery_add", clear_on_submit=True):
    st.subheader("Add a battery")
    name = st.text_input("Name", key="w_battery_name")
    description = st.text_input("Description (for staff, optional)", key="w_battery_description")
    chosen = st.multiselect("Instruments, in the order patients answer them", offered,
                            format_func=lambda i: widgets.instrument_label(lib, i), key="w_battery_instruments")
    instructions = st.text_area("Instructions shown before the first questionnaire", key="w_battery_instructions")
    consent = st.text_area("Consent text the patient agrees to first (optional)", key="w_battery_consent")
    st.caption("Only enabled instruments with item text can be given on the tablet (see Instruments).")
    if st.form_submit_button("Add battery", type="primary"):
        try:
            clinic.batteries.add(me.actor, name, chosen, instructions=instructions, consent_text=consent,
                                 description=description)
        except StoreError as exc:
            st.error(str(exc))
        else:
            state.flash(f"Battery {name.strip()} added.", "success")
            st.rerun()
