"""Admin: which instruments the clinic offers, with each licence. Non-commercial and no-item-text
instruments are marked; a no-item-text instrument can be scored but never given on the kiosk."""

from __future__ import annotations

import streamlit as st

from scoring.store import InstrumentStatus
from ui import state

me = state.require_staff("admin")
clinic = state.clinic()

st.title("Instruments")
st.markdown("Switch off what your clinic does not use: it can no longer be put into a battery or assigned "
            "(stored results stay). 🟡 **non-commercial** licences allow use only outside commercial settings. "
            "⛔ **no item text**: psyscore ships only a scoring definition (the wording is proprietary), so it "
            "can score data you hold but **cannot be administered on the kiosk** — it has no text to show.")
state.show_flash()


def toggle(instrument_id: str) -> None:
    enabled = bool(st.session_state[f"w_instr_{instrument_id}"])
    clinic.catalogue.set_enabled(me.actor, instrument_id, enabled)


@st.dialog("Enable a non-commercial instrument", width="large")
def confirm_licence(status: InstrumentStatus) -> None:
    """The licence is read before a non-commercial instrument is switched on."""
    st.markdown(f"**{status.abbreviation or status.id}** — {status.name} · v{status.version}")
    st.warning(f"Licence: {status.redistribution.replace('_', ' ')}; commercial use: "
               f"{status.commercial_use.replace('_', ' ')}.")
    st.markdown(status.licence or "(no licence statement)")
    ok, cancel = st.columns(2)
    if ok.button("I have read the licence: enable", key=f"w_licence_ok_{status.id}", type="primary"):
        clinic.catalogue.set_enabled(me.actor, status.id, True)
        st.session_state.pop(PENDING, None)
        state.flash(f"{status.abbreviation or status.id} enabled.", "success")
        st.rerun()
    if cancel.button("Cancel", key=f"w_licence_cancel_{status.id}"):
        st.session_state.pop(PENDING, None)
        st.rerun()


PENDING = "psyscore_licence_pending"  # the instrument whose licence dialog is open


for s in clinic.catalogue.list(me.actor):
    with st.container(border=True):
        left, right = st.columns([5, 1])
        marks = []
        if s.non_commercial:
            marks.append("🟡 non-commercial")
        if not s.has_item_text:
            marks.append("⛔ no item text — cannot be given on the kiosk")
        left.markdown(f"**{s.abbreviation or s.id}** — {s.name} · v{s.version} · {s.items} items"
                      + (" · " + " · ".join(marks) if marks else ""))
        left.caption(f"Licence: {s.redistribution.replace('_', ' ')}; commercial use: "
                     f"{s.commercial_use.replace('_', ' ')}. {s.licence}")
        if s.non_commercial and not s.enabled:  # off by default in a new clinic: the licence first
            if right.button("Enable…", key=f"w_licence_{s.id}"):
                st.session_state[PENDING] = s.id
            if st.session_state.get(PENDING) == s.id:
                confirm_licence(s)
        else:
            right.toggle("Enabled", value=s.enabled, key=f"w_instr_{s.id}", on_change=toggle, args=(s.id,))
