"""The therapist's caseload: open alerts first, each patient's latest score and band per instrument, the
last administration and due or overdue assignments. A patient is opened from here only."""

from __future__ import annotations

import streamlit as st

from ui import state, widgets

me = state.require_staff("therapist")
clinic = state.clinic()

st.title("Caseload")
state.show_flash()
patients = clinic.patients.caseload(me.actor)
if not patients:
    st.info("No patients in your care team yet.")
    st.stop()
names = {p.id: p.name for p in patients}
alerts = [a for a in clinic.alerts.list(me.actor) if a.patient_id in names]
latest = clinic.patients.latest_scores(me.actor)
assignments = [a for a in clinic.assignments.open(me.actor) if a.patient_id in names]


def open_patient(patient_id: int) -> None:
    state.select_patient(patient_id)
    st.switch_page("app_pages/patient.py")


open_alerts = [a for a in alerts if a.status == "open"]
if alerts:
    st.subheader(f"Alerts — {len(open_alerts)} open, {len(alerts) - len(open_alerts)} acknowledged")
    for a in alerts:
        with st.container(border=True):
            left, right = st.columns([5, 1])
            left.markdown(f"{'🔴' if a.status == 'open' else '🟠'} **{names[a.patient_id]}** · "
                          f"{widgets.instrument_label(clinic.library, a.instrument_id)} {a.item_id} · "
                          f"{a.status} · raised {widgets.when(a.raised_at)}"
                          + ("" if a.still_critical else " · answer since changed"))
            left.caption(a.message)
            if right.button("Open", key=f"w_alert_open_{a.id}"):
                open_patient(a.patient_id)
else:
    st.success("No open alerts.")

st.subheader("Patients")
table = widgets.caseload_table(patients, latest, alerts, assignments, clinic.library)
st.dataframe(table.drop(columns=["patient_id"]), hide_index=True, width="stretch",
             column_config={"Last administration": st.column_config.DatetimeColumn(format="YYYY-MM-DD")})
order = list(table["patient_id"])
with st.form("w_open_patient"):
    choice = st.selectbox("Open a patient", order, format_func=lambda pid: names[pid], key="w_patient_choice")
    if st.form_submit_button("Open patient", type="primary"):
        open_patient(int(choice))
