"""Admin: which instruments the clinic offers, with each licence. Non-commercial and no-item-text
instruments are marked; a no-item-text instrument can be scored but never given on the kiosk."""

from __future__ import annotations

import streamlit as st

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
        right.toggle("Enabled", value=s.enabled, key=f"w_instr_{s.id}", on_change=toggle, args=(s.id,))
