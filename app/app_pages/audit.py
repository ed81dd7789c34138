"""Admin: the latest entries of the append-only audit log (ids and actions only, never names or answers)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import state

me = state.require_staff("admin")
clinic = state.clinic()

st.title("Audit log")
rows = clinic.audit_log(me.actor, limit=500)
st.dataframe(pd.DataFrame({
    "At": [r.at for r in rows], "Actor": [r.actor for r in rows], "User id": [r.user_id for r in rows],
    "Action": [r.action for r in rows], "Patient id": [r.patient_id for r in rows],
    "Object": [f"{r.object_type} {r.object_id}" if r.object_type else "" for r in rows],
    "OK": [r.ok for r in rows],
}), hide_index=True, width="stretch")
