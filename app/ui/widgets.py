"""Reusable display helpers for staff pages: labels, dates, the caseload table, links and QR codes, the
open-alerts banner.

They arrange what the store returns for display and compute no scores; only the banner asks the store
itself (one cheap count, every few seconds, in a fragment).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

import scoring
from scoring.store import Actor, AlertInfo, AssignmentInfo, Clinic, IssuedCode, PatientSummary, StoreError

ALERT_POLL = timedelta(seconds=5)  # an alert shows on every staff page within this (plus one store query)


def instrument_label(library: scoring.Library, instrument_id: str) -> str:
    try:
        d = library[instrument_id].instrument
    except (KeyError, LookupError):
        return instrument_id
    return d.abbreviation or d.id


def when(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def score_text(score: float | None, band: str | None) -> str:
    if score is None or pd.isna(score):
        return "not scorable"
    text = f"{score:g}"
    return f"{text} · {band}" if band else text


def caseload_table(patients: Sequence[PatientSummary], latest: pd.DataFrame, alerts: Sequence[AlertInfo],
                   assignments: Sequence[AssignmentInfo], library: scoring.Library) -> pd.DataFrame:
    """One row per patient: open alerts, latest score and band per instrument (its ``total`` scale, else
    each scale), last administration, due and overdue assignments. Patients with open alerts come first,
    then those with overdue assignments."""
    rows = []
    for p in patients:
        mine = latest[latest["patient_id"] == p.id]
        row: dict[str, object] = {"patient_id": p.id, "Patient": p.name, "External id": p.external_id or ""}
        n_open = sum(1 for a in alerts if a.patient_id == p.id and a.status == "open")
        n_ack = sum(1 for a in alerts if a.patient_id == p.id and a.status == "acknowledged")
        row["Alerts"] = (f"🔴 {n_open} open" if n_open else "") + (f" 🟠 {n_ack} ack." if n_ack else "")
        row["Last administration"] = mine["completed_at"].max() if len(mine) else pd.NaT
        for instrument_id, rows_i in mine.groupby("instrument_id", sort=True):
            label = instrument_label(library, str(instrument_id))
            total = rows_i[rows_i["scale_id"] == "total"]
            if len(total):
                r = total.iloc[0]
                row[label] = score_text(r["score"], r["band"])
            else:
                row[label] = "; ".join(f"{r['scale_id']} {score_text(r['score'], r['band'])}"
                                       for _, r in rows_i.iterrows())
        mine_a = [a for a in assignments if a.patient_id == p.id]
        overdue = [a for a in mine_a if a.overdue]
        due = [a for a in mine_a if not a.overdue and a.due_date is not None]
        parts = [f"⚠️ overdue: {a.battery_name.removeprefix('adhoc:')} (due {a.due_date})" for a in overdue]
        parts += [f"due {a.due_date}: {a.battery_name.removeprefix('adhoc:')}" for a in due]
        waiting = [a for a in mine_a if a.due_date is None]
        parts += [f"open: {a.battery_name.removeprefix('adhoc:')} ({a.status.replace('_', ' ')})" for a in waiting]
        row["Assignments"] = "; ".join(parts)
        row["_sort"] = (0 if n_open else 1 if n_ack else 2, 0 if overdue else 1, p.name.lower())
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame = frame.sort_values("_sort", kind="stable").drop(columns=["_sort"]).reset_index(drop=True)
    fixed = ["patient_id", "Patient", "External id", "Alerts", "Last administration"]
    instruments = sorted(c for c in frame.columns if c not in (*fixed, "Assignments"))
    frame["Last administration"] = pd.to_datetime(frame["Last administration"], utc=True)
    return frame[fixed + instruments + ["Assignments"]].fillna({c: "" for c in instruments})


def app_base_url(public_url: str | None) -> str:
    """The address patients' links start with: the configured public URL, else this app's own address."""
    if public_url:
        return public_url.rstrip("/") + "/"
    url = getattr(st.context, "url", None) or "http://localhost:8501/"
    parts = urlsplit(url)
    base_path = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"{parts.scheme}://{parts.netloc}/" + (f"{base_path}/" if base_path else "")


def qr_png(text: str, *, scale: int = 6) -> bytes:
    """A QR code (segno, pure Python) as PNG bytes."""
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def handover(issued: IssuedCode, public_url: str | None) -> None:
    """Show a fresh code once: the code (12 digits) to type on the tablet, the one-time link and its QR code."""
    link = f"{app_base_url(public_url)}?link={issued.token}"
    with st.container(border=True):
        left, right = st.columns([3, 2])
        left.markdown("**Code for the tablet** (shown once; only its hash is stored)")
        left.markdown(f"<div style='font-size:2.4rem;letter-spacing:0.25rem;font-variant-numeric:tabular-nums'>"
                      f"{issued.code}</div>", unsafe_allow_html=True)
        left.caption(f"Valid until {when(issued.expires_at)}. Single use.")
        left.caption("One-time link (or scan the QR code with the tablet):")
        left.code(link, language=None, wrap_lines=True)
        right.image(qr_png(link), caption="Scan with the tablet to start", width=220)


def alert_banner(clinic: Clinic, actor: Actor, *, caseload_link: bool) -> None:
    """A banner with the number of open alerts of the signed-in user's patients, refreshed every
    :data:`ALERT_POLL` without a reload (an ``st.fragment`` polling one indexed count)."""

    @st.fragment(run_every=ALERT_POLL)
    def _banner() -> None:
        try:
            count, newest = clinic.alerts.open_summary(actor)
        except StoreError:  # a disabled account: the page's own check signs it out
            return
        if not count:
            return
        with st.container(key="psy_alert_banner"):
            st.warning(f"**{count} open alert{'s' if count != 1 else ''}** for your patients — newest raised "
                     f"{when(newest)}. " + ("Acknowledge on the caseload." if caseload_link else ""), icon="🚨")
            if caseload_link:
                st.page_link("app_pages/caseload.py", label="Open the caseload", icon="👥")

    _banner()


def send_invitation(clinic: Clinic, actor: Actor, issued: IssuedCode, channel: str | None) -> None:
    """Queue the assignment's link for the patient's e-mail or phone (``channel`` None: nothing to send)."""
    if channel is None:
        return
    try:
        clinic.notifications.invite(actor, issued.assignment_id, channel)
    except StoreError as exc:
        st.error(f"The link was not sent: {exc}")
    else:
        st.success(f"The link goes to the patient by {'e-mail' if channel == 'email' else 'SMS'} (a fresh link, "
                   "made when it is sent), with reminders until the questionnaire is done or the code expires.")
