"""Research export over ``scoring.export`` from the clinic store (through its research accessor, which never
reads identifiers): choose profile, instruments, dates, layout and formats; download a zip with the data,
codebook and manifest. Researchers never see patient pages."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import streamlit as st

import scoring.export as ex
from ui import state

MAX_KEY_BYTES = 4096

me = state.require_staff("researcher", "admin")
clinic = state.clinic()
lib = clinic.library

st.title("Research export")
st.markdown("De-identified outcome data for SPSS, R, Stata or pandas: research ids instead of patients, years "
            "or relative days instead of dates, banded ages (90+), k-anonymity with suppression, a codebook and "
            "a manifest with the SHA-256 of every file. Identifiers never leave the store.")
state.show_flash()
available = clinic.research.instruments(me.actor)
if not available:
    st.info("No completed administrations to export yet.")
    st.stop()
instrument_ids = list(dict.fromkeys(c.instrument_id for c in available))
counts = {i: sum(c.administrations for c in available if c.instrument_id == i) for i in instrument_ids}


def read_key(upload: object) -> ex.StudyKey:
    """The uploaded study key, checked by :meth:`StudyKey.from_file` in a private temporary file."""
    data = upload.getvalue()  # type: ignore[attr-defined]
    if len(data) > MAX_KEY_BYTES:
        raise ex.KeyFileError("a study key file is one short line of hexadecimal digits; this file is too large")
    with tempfile.TemporaryDirectory(prefix="psyscore-key-") as folder:
        path = Path(folder) / "study.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            return ex.StudyKey.from_file(path)
        finally:
            path.unlink(missing_ok=True)


# The profile sits outside the form so the date choices below follow it (relative days: pseudonymised only).
profile = st.radio("Profile", ex.PROFILES, horizontal=True, key="w_export_profile",
                   help="safe_harbor: random research ids for each export (HIPAA). pseudonymised: the same "
                        "patient gets the same id in every export of one study (HMAC under the study key).")
with st.form("w_export"):
    key_file = st.file_uploader("Study key file (pseudonymised only; create one with `psyscore export-key FILE`)",
                                type=["key", "txt", "hex"], key="w_export_key")
    chosen = st.multiselect("Instruments", instrument_ids, default=instrument_ids, key="w_export_instruments",
                            format_func=lambda i: f"{i} ({counts[i]} administrations)")
    c1, c2 = st.columns(2)
    date_from = c1.date_input("From (optional)", value=None, key="w_export_from",
                              help="widened to 1 January of its year: exports release years, not days")
    date_to = c2.date_input("To (optional, inclusive)", value=None, key="w_export_to",
                            help="widened to 31 December of its year: exports release years, not days")
    c3, c4, c5 = st.columns(3)
    layout = c3.selectbox("Layout", ex.LAYOUTS, key="w_export_layout",
                          help="long: one row per administration; wide: one row per patient")
    dates = c4.selectbox("Dates", ex.PROFILE_DATE_MODES[profile], key="w_export_dates",
                         help="year; relative (pseudonymised only — Safe Harbor releases no part of a date but "
                              "the year): days since the patient's first exported administration; none")
    k = c5.number_input("k (k-anonymity)", min_value=2, max_value=100, value=5, key="w_export_k")
    formats = st.multiselect("Formats", ex.FORMATS, default=["csv"], key="w_export_formats")
    submitted = st.form_submit_button("Prepare the export", type="primary")

if submitted:
    try:
        key = read_key(key_file) if profile == "pseudonymised" and key_file is not None else None
        if profile == "safe_harbor" and key_file is not None:
            st.info("The safe_harbor profile uses random research ids; the key file is not used.")
        prepared = ex.prepare_export(
            ex.StoreSource(clinic.research, me.actor, purpose="research export (web app)"), profile=profile,
            key=key, instruments=chosen or None, date_from=date_from, date_to=date_to, layout=layout, dates=dates,
            k=int(k), library=lib)
        with tempfile.TemporaryDirectory(prefix="psyscore-export-") as folder:
            out = Path(folder) / "export"
            result = ex.write_export(prepared, out, formats or ["csv"])
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in result.paths:
                    zf.write(path, path.relative_to(out).as_posix())
        manifest = result.manifest
        clinic.record_audit(me.actor, "export_written",
                            detail={"profile": profile, "formats": formats, "rows": len(result.data),
                                    "instruments": chosen, "filters": result.audit_filters})
    except (ex.ExportError, ex.KeyFileError) as exc:
        st.error(str(exc))
    else:
        counts_m = manifest["counts"]
        kan = manifest["k_anonymity"]
        st.subheader("Manifest summary")
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Rows written", counts_m["rows_written"])
        m2.metric("Patients", counts_m["patients_exported"])
        m3.metric("k achieved", kan["k_achieved"] if kan["k_achieved"] is not None else "—")
        m4.metric("Patients suppressed", kan["suppressed_patients"])
        suppressed = kan["suppressed_values"]
        st.caption(f"Profile {manifest['profile']} · k = {kan['k']} over {', '.join(kan['quasi_identifiers'])} · "
                   "values withheld: " + (", ".join(f"{c} {n}" for c, n in suppressed.items()) if suppressed
                                          else "none"))
        applied = manifest["filters"]
        if applied["date_granularity"]:
            st.caption(f"Dates applied (whole years): from {applied['from'] or 'the start'} to "
                       f"{applied['to'] or 'the end'}")
        st.download_button("Download the export (zip)", buffer.getvalue(),
                           file_name=f"psyscore-export-{date.today().isoformat()}.zip", mime="application/zip",
                           key="w_export_download", type="primary", on_click="ignore")
        with st.expander("Codebook"):
            st.dataframe(prepared.codebook, hide_index=True, width="stretch")
