"""The caseload: open alerts first (refreshed every few seconds, acknowledged here), each patient's latest
score and band per instrument, the last administration and due or overdue assignments; add, search, archive.
A patient is opened from here only.

Therapists see their care team's patients; admins see every patient of the practice (the store's rule:
admins reach every patient) with each care team, and name the care team when they add a patient (an admin
does not join one). The store checks the role on every call; this page only gathers input and renders."""

from __future__ import annotations

from datetime import date

import streamlit as st

from scoring.definitions.respondent import Sex
from scoring.store import StoreError
from ui import state, widgets

me = state.require_staff("therapist", "admin")
clinic = state.clinic()
admin = me.role == "admin"
therapists = ({u.id: u.username for u in clinic.users.list(me.actor) if u.role == "therapist" and not u.disabled}
              if admin else {})

st.title("Patients" if admin else "Caseload")
state.show_flash()
NEW_PATIENT_KEYS = ("w_new_name", "w_new_external", "w_new_dob", "w_new_sex", "w_new_email", "w_new_phone",
                    "w_new_contact", "w_new_team")
with st.expander("Add a patient", expanded=bool(st.session_state.get("w_new_name"))), st.form("w_add_patient"):
    c1, c2 = st.columns(2)
    new_name = c1.text_input("Full name", key="w_new_name")
    new_ext = c2.text_input("External id (optional, e.g. a record number)", key="w_new_external")
    c3, c4 = st.columns(2)
    new_dob = c3.date_input("Date of birth", value=None, min_value=date(1900, 1, 1), key="w_new_dob")
    new_sex = c4.selectbox("Sex", ["", *(s.value for s in Sex)], key="w_new_sex")
    c5, c6, c7 = st.columns(3)
    new_email = c5.text_input("E-mail (for invitations)", key="w_new_email")
    new_phone = c6.text_input("Mobile phone with country code", key="w_new_phone", placeholder="+44 20 7946 0958")
    new_contact = c7.text_input("Contact notes (optional)", key="w_new_contact")
    new_team = (st.multiselect("Care team", list(therapists), format_func=therapists.get, key="w_new_team",
                               help="The therapists who see this patient; admins see every patient")
                if admin else [])
    if st.form_submit_button("Add patient", type="primary"):
        try:  # a therapist who adds a patient joins the care team; an admin names it
            clinic.patients.add(me.actor, new_name, date_of_birth=new_dob, sex=new_sex or None,
                                contact=new_contact or None, external_id=new_ext or None, email=new_email or None,
                                phone=new_phone or None, therapists=[int(u) for u in new_team])
        except StoreError as exc:
            st.error(str(exc))
        else:
            state.flash("Patient added." + (" No care team yet: only admins see this patient." if admin
                                            and not new_team else ""), "success")
            for key in NEW_PATIENT_KEYS:  # an empty form for the next one (a refused one keeps what was typed)
                st.session_state.pop(key, None)
            st.rerun()
search = st.text_input("Search patients (name or external id)" if admin else
                       "Search the caseload (name or external id)", key="w_caseload_search")
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
    st.info("No patient matches the search." if search else
            "No patients yet." if admin else "No patients in your care team yet.")
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
if admin:  # who looks after each patient (an empty care team: only admins see the patient)
    teams = {p.id: ", ".join(p.care_team) or "— none —" for p in patients}
    table.insert(3, "Care team", table["patient_id"].map(teams))
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
