"""The batteries page's forms: change a battery, put its instruments in order, retire it.

Every change goes through :class:`scoring.store.Batteries`, which decides whether it is made in place (the
battery was never assigned) or saved as a new version (it is in use; the old version is retired and keeps its
assignments). These widgets only gather the input and show the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

import scoring
from scoring.store import Actor, BatteryEdit, BatteryInfo, Clinic, StoreError
from ui import state, widgets


def label(lib: scoring.Library, b: BatteryInfo) -> str:
    """``Name (version 2) — PHQ-9, GAD-7``, with ``· retired`` for a retired version."""
    names = ", ".join(widgets.instrument_label(lib, i) for i, _ in b.instruments)
    return f"{b.label} — {names}" + ("" if b.active else " · retired")


def summary(b: BatteryInfo) -> None:
    """What the battery asks, its version and how often it was assigned."""
    if b.description:
        st.markdown(f"*{b.description}*")
    st.markdown(f"**Instructions:** {b.instructions or '—'}")
    st.markdown(f"**Consent text** (version {b.consent_version or '—'}): {b.consent_text or '—'}")
    use = (f"assigned {b.assignments} time{'s' if b.assignments != 1 else ''}, {b.open_assignments} open"
           if b.in_use else "not assigned yet")
    origin = f" · replaces id {b.previous_id}" if b.previous_id else ""
    st.caption(f"Version {b.version} · id {b.id}{origin} · {use}")
    if not b.active:
        replaced = f"; replaced by id {b.replaced_by}" if b.replaced_by else ""
        st.caption(f"Retired on {widgets.when(b.retired_at)}{replaced}. It takes no new assignments; its open "
                   "assignments still run on the tablet and its history stays in reports.")


def _done(edit: BatteryEdit) -> None:
    b = edit.battery
    if edit.previous is not None:
        message = (f"{b.name} was in use, so the change was saved as version {b.version}; version "
                   f"{edit.previous.version} is retired and keeps its {edit.previous.assignments} assignment"
                   f"{'s' if edit.previous.assignments != 1 else ''}.")
    else:
        message = f"{b.name} changed ({', '.join(edit.changed)})."
    if edit.untranslated:
        message += (f" The instructions in {', '.join(edit.untranslated)} translated the old text and were "
                    "removed: enter them again below.")
    state.flash(message, "success")
    st.rerun()


def _version_note(b: BatteryInfo) -> None:
    if b.in_use:
        st.caption(f"In use ({b.assignments} assignment{'s' if b.assignments != 1 else ''}): saving makes version "
                   f"{b.version + 1}; this version is retired and its assignments keep it unchanged.")


def edit_form(clinic: Clinic, actor: Actor, b: BatteryInfo) -> None:
    """Name, description, instructions and consent text of an active battery."""
    with st.form(f"w_battery_edit_{b.id}"):
        st.markdown("**Change the battery**")
        name = st.text_input("Name", value=b.name, key=f"w_battery_edit_name_{b.id}")
        description = st.text_area("Description (for staff)", value=b.description or "",
                                   key=f"w_battery_edit_desc_{b.id}")
        instructions = st.text_area("Instructions shown before the first questionnaire", value=b.instructions or "",
                                    key=f"w_battery_edit_instr_{b.id}")
        consent = st.text_area("Consent text the patient agrees to first (empty: no consent asked)",
                               value=b.consent_text or "", key=f"w_battery_edit_consent_{b.id}")
        _version_note(b)
        if st.form_submit_button("Save changes", key=f"w_battery_edit_save_{b.id}"):
            try:
                edit = clinic.batteries.edit(actor, b.id, name=name, description=description,
                                             instructions=instructions, consent_text=consent)
            except StoreError as exc:
                st.error(str(exc))
            else:
                _done(edit)


def order_form(clinic: Clinic, actor: Actor, b: BatteryInfo, offered: Sequence[str]) -> None:
    """The instruments in order (a table: change the numbers, tick Remove) and instruments to add at the end."""
    lib = clinic.library
    specs = list(b.instrument_specs)
    table = pd.DataFrame({"Order": list(range(1, len(specs) + 1)), "Instrument": specs,
                          "Name": [widgets.instrument_label(lib, i) for i, _ in b.instruments],
                          "Remove": [False] * len(specs)})
    with st.form(f"w_battery_order_form_{b.id}"):
        st.markdown("**Instruments and their order** (change the numbers to reorder)")
        edited = st.data_editor(table, key=f"w_battery_order_{b.id}", hide_index=True, num_rows="fixed",
                                disabled=["Instrument", "Name"],
                                column_config={"Order": st.column_config.NumberColumn(min_value=1, step=1)})
        present = {i for i, _ in b.instruments}
        added = st.multiselect("Add instruments (at the end)", [i for i in offered if i not in present],
                               format_func=lambda i: widgets.instrument_label(lib, i), key=f"w_battery_add_{b.id}")
        _version_note(b)
        if st.form_submit_button("Save instruments", key=f"w_battery_order_save_{b.id}"):
            kept = edited[~edited["Remove"].astype(bool)].copy()
            kept["_was"] = range(len(kept))
            new = list(kept.sort_values(["Order", "_was"], kind="stable")["Instrument"]) + list(added)
            try:
                if sorted(new) == sorted(specs):
                    edit = clinic.batteries.reorder(actor, b.id, new)
                else:
                    edit = clinic.batteries.edit(actor, b.id, instruments=new)
            except StoreError as exc:
                st.error(str(exc))
            else:
                _done(edit)


def retire_form(clinic: Clinic, actor: Actor, b: BatteryInfo) -> None:
    """Retire, after ticking a confirmation."""
    with st.form(f"w_battery_retire_{b.id}"):
        open_note = (f" Its {b.open_assignments} open assignment{'s' if b.open_assignments != 1 else ''} keep working."
                     if b.open_assignments else "")
        sure = st.checkbox(f"Yes, retire {b.label}: it can no longer be assigned.{open_note}",
                           key=f"w_battery_retire_ok_{b.id}")
        if st.form_submit_button("Retire battery", key=f"w_battery_retire_go_{b.id}"):
            if not sure:
                st.error("Tick the box to confirm retiring this battery.")
                return
            try:
                retired = clinic.batteries.retire(actor, b.id)
            except StoreError as exc:
                st.error(str(exc))
            else:
                state.flash(f"{retired.label} retired: it can no longer be assigned.", "success")
                st.rerun()
