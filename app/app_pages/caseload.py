"""The therapist's caseload: open alerts first (refreshed every few seconds, acknowledged here), each
patient's latest score and band per instrument, the last administration and due or overdue assignments.
A patient is opened from here only."""

from __future__ import annotations

from datetime import date

import streamlit as st

from scoring.store import StoreError
from ui import state, widgets

me = state.require_staff("therapist")
clinic = state.clinic()

st.title("Caseload")
state.show_flash()
with st.expander("Add a patient"), st.form("w_add_patient", clear_on_submit=True):
    c1, c2 = st.columns(2)
    new_name = c1.text_input("Full name", key="w_new_name")
    new_ext = c2.text_input("External id (optional, e.g. a record number)", key="w_new_external")
    c3, c4, c5 = st.columns(3)
    new_dob = c3.date_input("Date of birth", value=None, min_value=date(1900, 1, 1), key="w_new_dob")
    new_sex = c4.selectbox("Sex", ["", "female", "male", "other"], key="w_new_sex")
    new_contact = c5.text_input("Contact (phone, e-mail)", key="w_new_contact")
    if st.form_submit_button("Add patient", type="primary"):
        try:  # the therapist who adds a patient joins the care team
            clinic.patients.add(me.actor, new_name, date_of_birth=new_dob, sex=new_sex or None,
                                contact=new_contact or None, external_id=new_ext or None)
        except StoreError as exc:
            st.error(str(exc))
        else:
            state.flash("Patient added.", "success")
            st.rerun()
search = st.text_input("Search the caseload (name or external id)", key="w_caseload_search")
patients = clinic.patients.caseload(me.actor, search=search or None)
archived = clinic.patients.caseload(me.actor, archived=True)
if archived:
    with st.expander(f"Archived patients ({len(archived)})"):
        for p in archived:
            left, right = st.columns([4, 1])
            left.markdown(f"**{p.name}**" + (f" · {p.external_id}" if p.external_id else ""))
            if right.button("Un-archive", key=f"w_unarchive_{p.id}"):
                clinic.patients.archive(me.actor, p.id, archived=False)
                state.flash("Patient back on the caseload.", "success")
                st.rerun()
if not patients:
    st.info("No patient matches the search." if search else "No patients in your care team yet.")
    st.stop()
names = {p.id: p.name for p in patients}
alerts = [a for a in clinic.alerts.list(me.actor) if a.patient_id in names]
latest = clinic.patients.latest_scores(me.actor)
assignments = [a for a in clinic.assignments.open(me.actor) if a.patient_id in names]


def open_patient(patient_id: int) -> None:
    state.select_patient(patient_id)
    st.switch_page("app_pages/patient.py")


OPEN_SEEN = "psyscore_caseload_open_alerts"
st.session_state[OPEN_SEEN] = sorted(a.id for a in alerts if a.status == "open")  # what this run's table shows


@st.fragment(run_every=widgets.ALERT_POLL)
def alerts_panel() -> None:
    """Open and acknowledged alerts, first on the page, refreshed without a reload; a new or acknowledged
    alert reruns the page so that the table below puts its patient first."""
    now = [a for a in clinic.alerts.list(me.actor) if a.patient_id in names]
    open_ids = sorted(a.id for a in now if a.status == "open")
    if st.session_state.get(OPEN_SEEN) != open_ids:  # changed since the table was drawn: draw the page again
        st.rerun()
    if not now:
        st.success("No open alerts.")
        return
    st.subheader(f"Alerts — {len(open_ids)} open, {len(now) - len(open_ids)} acknowledged")
    for a in now:
        with st.container(border=True):
            left, ack, go = st.columns([5, 1, 1])
            left.markdown(f"{'🔴' if a.status == 'open' else '🟠'} **{names[a.patient_id]}** · "
                          f"{widgets.instrument_label(clinic.library, a.instrument_id)} {a.item_id} · "
                          f"{a.status} · raised {widgets.when(a.raised_at)}"
                          + ("" if a.still_critical else " · answer since changed"))
            left.caption(a.message)
            if a.status == "open" and ack.button("Acknowledge", key=f"w_alert_ack_{a.id}", type="primary"):
                try:
                    clinic.alerts.acknowledge(me.actor, a.id)
                except StoreError as exc:
                    st.error(str(exc))
                else:
                    state.flash("Alert acknowledged.", "success")
                    st.rerun()
            if go.button("Open", key=f"w_alert_open_{a.id}"):
                open_patient(a.patient_id)


alerts_panel()

st.subheader("Patients")
table = widgets.caseload_table(patients, latest, alerts, assignments, clinic.library)
st.dataframe(table.drop(columns=["patient_id"]), hide_index=True, width="stretch",
             column_config={"Last administration": st.column_config.DatetimeColumn(format="YYYY-MM-DD")})
order = list(table["patient_id"])
with st.form("w_open_patient"):
    choice = st.selectbox("Open a patient", order, format_func=lambda pid: names[pid], key="w_patient_choice")
    go, arch = st.columns([1, 1])
    if go.form_submit_button("Open patient", type="primary"):
        open_patient(int(choice))
    if arch.form_submit_button("Archive patient", help="Leaves the caseload; every record is kept (un-archive "
                               "from 'Archived patients')"):
        clinic.patients.archive(me.actor, int(choice))
        state.flash("Patient archived: their records are kept.", "success")
        st.rerun()
