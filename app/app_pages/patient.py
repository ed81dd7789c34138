"""One patient: details and care team, trends, items, change, alerts, events, assignments, report.

The patient id comes from ``st.session_state`` (set by a click on the caseload), never from the URL, and
the store checks the role and the care team on every call of every run: a therapist reaches the patients
of their care team, an admin every patient (and manages the care team from a list of the therapists).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from scoring.change.timeline import normed_history
from scoring.charts import item_heatmap, trend_chart
from scoring.definitions.respondent import Sex
from scoring.reports import PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE, ReportInputError, patient_report
from scoring.reports.text import item_labels
from scoring.store import IssuedCode, NotFoundError, PermissionDeniedError, StoreError
from ui import resources, state, widgets

me = state.require_staff("therapist", "admin")
clinic = state.clinic()
cfg = state.settings()
lib = clinic.library

pid = state.selected_patient()
if pid is None:
    st.info("Open a patient from your caseload.")
    st.page_link("app_pages/caseload.py", label="Go to the caseload", icon="👥")
    st.stop()
try:
    record = clinic.patients.get(me.actor, pid)
except (PermissionDeniedError, NotFoundError):
    st.session_state.pop(state.PATIENT, None)
    st.error("This patient no longer exists." if me.role == "admin" else "This patient is not in your care team.")
    st.page_link("app_pages/caseload.py", label="Go to the caseload", icon="👥")
    st.stop()

st.title(record.name)
facts = [f"born {record.date_of_birth}" if record.date_of_birth else None, record.sex,
         f"record {record.external_id}" if record.external_id else None, None if record.active else "archived"]
st.caption(" · ".join(f for f in facts if f))
state.show_flash()
with st.expander("Edit details and care team", expanded=not record.therapist_ids and me.role == "admin"):
    with st.form("w_patient_edit"):
        c1, c2 = st.columns(2)
        ed_name = c1.text_input("Full name", value=record.name, key="w_edit_name")
        ed_ext = c2.text_input("External id", value=record.external_id or "", key="w_edit_external")
        c3, c4 = st.columns(2)
        ed_dob = c3.date_input("Date of birth", value=record.date_of_birth, min_value=date(1900, 1, 1),
                               key="w_edit_dob")
        sexes = ["", *(s.value for s in Sex)]  # the one list: scoring.definitions.respondent
        ed_sex = c4.selectbox("Sex", sexes, index=sexes.index(record.sex or ""), key="w_edit_sex")
        c5, c6, c7 = st.columns(3)
        ed_email = c5.text_input("E-mail (for invitations)", value=record.email or "", key="w_edit_email")
        ed_phone = c6.text_input("Mobile phone with country code", value=record.phone or "", key="w_edit_phone",
                                 placeholder="+44 20 7946 0958")
        ed_contact = c7.text_input("Contact notes", value=record.contact or "", key="w_edit_contact")
        if st.form_submit_button("Save details"):
            try:
                clinic.patients.update(me.actor, pid, name=ed_name, external_id=ed_ext or None,
                                       date_of_birth=ed_dob, sex=ed_sex or None, contact=ed_contact or None,
                                       email=ed_email or None, phone=ed_phone or None)
            except StoreError as exc:
                st.error(str(exc))
            else:
                state.flash("Details saved.", "success")
                st.rerun()
    if me.role == "admin":  # the user list is the admin's: every enabled therapist
        therapists = {u.id: u.username for u in clinic.users.list(me.actor) if u.role == "therapist"}
        team = {uid: therapists.get(uid) or clinic.users.get(me.actor, uid).username for uid in record.therapist_ids}
    else:
        therapists = {}
        team = {uid: clinic.users.get(me.actor, uid).username for uid in record.therapist_ids}
    st.markdown("**Care team:** " + (", ".join(sorted(team.values())) or "— none: only admins see this patient"))
    t1, t2 = st.columns(2)
    if me.role == "admin":
        addable = [uid for uid in therapists if uid not in team]
        pick = t1.selectbox("Add a therapist", addable, format_func=therapists.get, index=None,
                            key="w_team_add_pick", placeholder="Choose a therapist")
        adding = t1.button("Add to the care team", key="w_team_add", disabled=not addable)
        colleague = therapists.get(int(pick), "") if pick is not None else ""
    else:
        colleague = t1.text_input("Add a colleague (user name)", key="w_team_add_name").strip()
        adding = t1.button("Add to the care team", key="w_team_add")
    if adding and not colleague:
        st.error("Choose the therapist to add." if me.role == "admin" else "Type the colleague's user name.")
    elif adding:
        try:
            clinic.patients.add_to_care_team(me.actor, pid, clinic.users.by_name(me.actor, colleague).id)
        except StoreError as exc:
            st.error(str(exc))
        else:
            state.flash("Care team updated.", "success")
            st.rerun()
    others = [uid for uid in team if uid != me.user_id]
    if others:
        leaving = t2.selectbox("Remove from the care team", others, format_func=team.get, key="w_team_remove_pick")
        if t2.button("Remove", key="w_team_remove"):
            clinic.patients.remove_from_care_team(me.actor, pid, int(leaving))
            state.flash("Care team updated.", "success")
            st.rerun()
    if record.active:
        if st.button("Archive patient", key="w_patient_archive", help="Leaves the caseload; every record is kept"):
            clinic.patients.archive(me.actor, pid)
            state.flash("Patient archived: their records are kept.", "success")
            st.rerun()
    elif st.button("Un-archive", key="w_patient_unarchive"):
        clinic.patients.archive(me.actor, pid, archived=False)
        state.flash("Patient back on the caseload.", "success")
        st.rerun()

stored = clinic.patients.history(me.actor, pid)
history = clinic.patients.change_history(me.actor, pid) if len(stored) else pd.DataFrame()
norm_tables: list = []
if len(history):  # percentiles and T scores wherever a norm table applies (sex and birth date pick the strata)
    history, norm_tables = normed_history(history, lib, resources.norms(), sex=record.sex,
                                          birth_date=record.date_of_birth)
answers = clinic.patients.answer_table(me.actor, pid)
events = clinic.patients.events(me.actor, pid)
events_frame = pd.DataFrame({"date": [e.date for e in events], "label": [e.label for e in events]})
alerts = clinic.alerts.list(me.actor, include_resolved=True, patient_id=pid)


def definition_for(instrument_id: str, version: str | None = None):
    try:
        return lib.get_version(instrument_id, version)
    except (KeyError, LookupError, ValueError):
        return lib[instrument_id]


# stable labels and a key: the selected tab stays selected after an action (ack, event, assign) reruns the page
n_open = sum(a.status == "open" for a in alerts)
tab_trends, tab_items, tab_alerts, tab_events, tab_assign, tab_report = st.tabs(
    ["Trends and change", "Items", "Alerts", "Events", "Assign", "Report"], key="w_patient_tab", on_change="rerun")


@st.dialog("Code for the tablet", width="large")
def show_code(issued: IssuedCode) -> None:
    """A new code and its QR code in a dialog (shown once; closing it leaves the page as it was)."""
    widgets.handover(issued, cfg.public_url)

# -- trends and change ------------------------------------------------------------------------------------------
with tab_trends:
    if history.empty:
        st.info("No completed questionnaires yet.")
    else:
        instruments = list(dict.fromkeys(history["instrument"]))
        for instrument_id in instruments:
            rows = history[history["instrument"] == instrument_id]
            d = definition_for(instrument_id, str(rows["instrument_version"].iloc[-1]))
            scales = list(dict.fromkeys(rows["scale"]))
            st.subheader(widgets.instrument_label(lib, instrument_id) + f" — {d.instrument.name}")
            scale = scales[0] if len(scales) == 1 else st.selectbox(
                "Scale", scales, index=scales.index("total") if "total" in scales else 0,
                key=f"w_scale_{instrument_id}")
            chart = trend_chart(history, d, scale=scale, events=events_frame if len(events_frame) else None,
                                title=f"{widgets.instrument_label(lib, instrument_id)} — {scale}")
            st.altair_chart(chart, width="stretch")
        st.subheader("Change: baseline against latest")
        last = history.groupby(["instrument", "scale"], sort=False).tail(1)
        summary = pd.DataFrame({
            "Instrument": [widgets.instrument_label(lib, i) for i in last["instrument"]],
            "Scale": last["scale"].to_numpy(),
            "Baseline": pd.to_datetime(last["baseline_date"]).dt.strftime("%Y-%m-%d").to_numpy(),
            "Baseline score": last["baseline_score"].to_numpy(),
            "Latest": pd.to_datetime(last["date"]).dt.strftime("%Y-%m-%d").to_numpy(),
            "Latest score": last["score"].to_numpy(),
            "Band": last["band"].to_numpy(),
            "Change": last["baseline_difference"].to_numpy(),
            "Classification": last["baseline_classification"].astype(object).fillna("—")
            .str.replace("_", " ").to_numpy(),
        })
        if norm_tables:
            summary["Percentile"] = last["norm_percentile"].round(1).to_numpy()
            summary["T score"] = last["norm_t"].round(1).to_numpy()
        st.dataframe(summary, hide_index=True, width="stretch")
        for t in norm_tables:
            st.caption(f"Norms for {widgets.instrument_label(lib, t.instrument_id)} {t.scale}: {t.meta.name} — "
                       f"{t.citation}")

# -- items -------------------------------------------------------------------------------------------------------
with tab_items:
    if answers.empty:
        st.info("No completed questionnaires yet.")
    else:
        chosen = st.selectbox("Instrument", list(dict.fromkeys(answers["instrument"])),
                              format_func=lambda i: widgets.instrument_label(lib, i), key="w_items_instrument")
        rows = answers[answers["instrument"] == chosen]
        d = definition_for(chosen, str(rows["instrument_version"].iloc[-1]))
        st.altair_chart(item_heatmap(rows, d), width="stretch")
        items = [i for i in d.plan.item_ids if i in rows.columns]
        table = rows[["date", *items]].copy()
        table["date"] = table["date"].dt.strftime("%Y-%m-%d %H:%M")
        st.dataframe(table.set_index("date").T.rename(index=item_labels(d)), width="stretch")

# -- alerts ------------------------------------------------------------------------------------------------------
with tab_alerts:
    if n_open:
        st.caption(f"{n_open} open")
    if not alerts:
        st.success("No alerts for this patient.")
    for a in alerts:
        with st.container(border=True):
            icon = {"open": "🔴", "acknowledged": "🟠", "resolved": "✅"}[a.status]
            st.markdown(f"{icon} **{widgets.instrument_label(lib, a.instrument_id)} {a.item_id}** · {a.status} · "
                        f"raised {widgets.when(a.raised_at)}" + ("" if a.still_critical else " · answer since changed"))
            st.caption(a.message)
            if a.note:
                st.text(a.note)
            if a.status == "resolved":
                continue
            if a.status == "open" and st.button("Acknowledge", key=f"w_ack_{a.id}"):
                clinic.alerts.acknowledge(me.actor, a.id)
                state.flash("Alert acknowledged.", "success")
                st.rerun()
            with st.form(f"w_resolve_{a.id}", clear_on_submit=True):
                note = st.text_area("What was done (required to resolve)", key=f"w_resolve_note_{a.id}")
                if st.form_submit_button("Resolve"):
                    try:
                        clinic.alerts.resolve(me.actor, a.id, note)
                    except StoreError as exc:
                        st.error(str(exc))
                    else:
                        state.flash("Alert resolved.", "success")
                        st.rerun()

# -- events ------------------------------------------------------------------------------------------------------
with tab_events:
    if events:
        st.dataframe(pd.DataFrame({"Date": [e.date.isoformat() for e in events], "Event": [e.label for e in events],
                                   "Note": [e.note or "" for e in events]}), hide_index=True, width="stretch")
    else:
        st.caption("No events yet. Events (a medication change, the start of therapy …) are drawn on the charts.")
    with st.form("w_event", clear_on_submit=True):
        day = st.date_input("Date", value=date.today(), key="w_event_date")
        label = st.text_input("Event", max_chars=200, key="w_event_label")
        note = st.text_area("Note (optional)", key="w_event_note")
        if st.form_submit_button("Add event"):
            if not label.strip():
                st.error("Give the event a short label.")
            else:
                clinic.patients.add_event(me.actor, pid, day, label.strip(), note.strip() or None)
                state.flash("Event added.", "success")
                st.rerun()

# -- assign ------------------------------------------------------------------------------------------------------
with tab_assign:
    batteries = clinic.batteries.list(me.actor)
    offered = [s for s in clinic.catalogue.list(me.actor) if s.administrable]
    with st.form("w_assign"):
        kind = st.radio("What", ["A battery", "Instruments"], horizontal=True, key="w_assign_kind")
        battery = st.selectbox("Battery", [b.name for b in batteries], key="w_assign_battery")
        picked = st.multiselect("Instruments (in this order)", [s.id for s in offered],
                                format_func=lambda i: widgets.instrument_label(lib, i), key="w_assign_instruments")
        c1, c2, c3 = st.columns(3)
        hours = c1.number_input("Code valid for (hours)", min_value=1, max_value=24 * 30, value=24 * 7,
                                key="w_assign_hours")
        due = c2.date_input("Due date (optional)", value=None, key="w_assign_due")
        every = c3.selectbox("Repeat", ["never", "weekly", "every 2 weeks", "every 4 weeks"], key="w_assign_every")
        send = st.radio("Also send the link to the patient", ["no", "by e-mail", "by SMS"], horizontal=True,
                        key="w_assign_send", help="To the patient's e-mail address or mobile phone (Edit details "
                        "above), with reminders until done; the message holds no clinical content")
        submitted = st.form_submit_button("Assign and show the code", type="primary")
    if submitted:
        repeat = {"never": None, "weekly": 7, "every 2 weeks": 14, "every 4 weeks": 28}[every]
        try:
            issued = clinic.assignments.assign(
                me.actor, pid, battery=battery if kind == "A battery" else None,
                instruments=picked if kind == "Instruments" else (), expires_in=timedelta(hours=int(hours)),
                due=due, every=timedelta(days=repeat) if repeat else None)
        except StoreError as exc:
            st.error(str(exc))
        else:
            widgets.send_invitation(clinic, me.actor, issued, {"by e-mail": "email", "by SMS": "sms"}.get(send))
            show_code(issued)
    st.subheader("Assignments")
    assigned = clinic.assignments.for_patient(me.actor, pid)
    if not assigned:
        st.caption("None yet.")
    for a in reversed(assigned):
        cols = st.columns([4, 1, 1])
        cols[0].markdown(f"**{a.battery_name.removeprefix('adhoc:')}** · {a.status.replace('_', ' ')}"
                         + (f" · due {a.due_date}" if a.due_date else "") + (" · ⚠️ overdue" if a.overdue else "")
                         + (f" · repeats every {a.recur_days} days" if a.recur_days else ""))
        if a.status in ("completed", "cancelled"):
            continue
        if cols[1].button("New code", key=f"w_code_{a.id}"):
            try:
                show_code(clinic.assignments.issue_code(me.actor, a.id))
            except StoreError as exc:
                st.error(str(exc))
        if cols[2].button("Cancel", key=f"w_cancel_{a.id}"):
            clinic.assignments.cancel(me.actor, a.id)
            state.flash("Assignment cancelled.", "success")
            st.rerun()

# -- report ------------------------------------------------------------------------------------------------------
with tab_report:
    if history.empty:
        st.info("The report needs at least one completed questionnaire.")
    else:
        st.markdown("A PDF and an XLSX workbook with the trend charts, the change summary, alerts, events and a "
                    "score receipt for each administration.")
        key = f"psyscore_report_{pid}"
        if st.button("Prepare the report", key="w_report", type="primary"):
            adm_of_row = stored["administration_id"].to_numpy()
            by_adm = answers.drop(columns=["date", "instrument", "instrument_version"]).set_index("administration_id")
            source = {}
            for k in history["source_row"].unique():
                row = by_adm.loc[int(adm_of_row[int(k)])]
                source[int(k)] = {c: v for c, v in row.items() if v is not None and not pd.isna(v)}
                if record.date_of_birth:  # the receipts' norm lines need the age at each administration
                    source[int(k)]["birth_date"] = record.date_of_birth
            with st.spinner("Drawing charts and writing the report …"):
                try:
                    report = patient_report(history, lib, administrations=source, patient_label=record.name,
                                            norms=norm_tables or None,
                                            events=events_frame, alerts=alerts, clinic_name=cfg.clinic_name)
                    st.session_state[key] = (report.to_pdf(), report.to_xlsx())
                except ReportInputError as exc:
                    st.error(str(exc))
        files = st.session_state.get(key)
        if files:
            stem = f"psyscore-report-{date.today().isoformat()}"
            c1, c2 = st.columns(2)
            c1.download_button("Download PDF", files[0], file_name=f"{stem}.pdf", mime=PDF_MEDIA_TYPE,
                               key="w_report_pdf", on_click="ignore")
            c2.download_button("Download XLSX", files[1], file_name=f"{stem}.xlsx", mime=XLSX_MEDIA_TYPE,
                               key="w_report_xlsx", on_click="ignore")

    st.divider()
    st.markdown("**FHIR Bundle** — the Questionnaires, responses and score Observations of this patient as a FHIR R4 "
                "transaction Bundle (JSON), for an electronic health record. It holds no name, birth date, contact "
                "or record number; choose how the patient is identified in it.")
    with st.form("w_fhir"):
        how = st.radio("Identify the patient by", ["a random reference (no identifier)", "the internal id",
                                                   "a pseudonym I give"], key="w_fhir_subject",
                       help="A random reference is new at every download, so two downloads cannot be linked.")
        pseudonym = st.text_input("Pseudonym (only with 'a pseudonym I give')", key="w_fhir_pseudonym")
        with_sex = st.checkbox("Include the recorded sex (needed to re-score sex-specific rules)", key="w_fhir_sex")
        prepare = st.form_submit_button("Prepare FHIR Bundle")
    fhir_key = f"psyscore_fhir_{pid}"
    if prepare:
        from scoring.errors import PsyscoreError
        from scoring.store.fhir_export import export_patient

        mode = {"the internal id": "internal", "a pseudonym I give": "pseudonym"}.get(how, "random")
        try:
            bundle = export_patient(clinic, me.actor, pid, subject=mode,
                                    pseudonym=pseudonym if mode == "pseudonym" else None, include_sex=with_sex)
        except PsyscoreError as exc:  # no pseudonym given, the optional FHIR extra missing, …
            st.session_state.pop(fhir_key, None)
            st.error(str(exc))
        else:
            import json

            st.session_state[fhir_key] = json.dumps(bundle, indent=2, ensure_ascii=False).encode("utf-8")
    if st.session_state.get(fhir_key):
        st.download_button("Download FHIR Bundle", st.session_state[fhir_key],
                           file_name=f"psyscore-fhir-{date.today().isoformat()}.json", mime="application/fhir+json",
                           key="w_fhir_download", on_click="ignore")
