"""The batteries page (AppTest): an admin changes, reorders and retires batteries; a battery in use is saved
as a new version; assigning offers only active batteries, and open assignments of old versions still run."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import Seeded
from .helpers import new_app, open_patient, page_text, sign_in


def _page(seeded: Seeded) -> AppTest:
    at = sign_in(new_app(), "ada")
    return at.switch_page("app_pages/batteries.py").run()


def _mood(seeded: Seeded):
    return seeded.clinic.batteries.get(seeded.admin, "Mood")


def test_an_unused_battery_is_changed_in_place(seeded: Seeded) -> None:
    at = _page(seeded)
    mood = _mood(seeded)
    assert "Version 1 · id" in page_text(at) and "not assigned yet" in page_text(at)
    at.text_input(key=f"w_battery_edit_name_{mood.id}").input("Mood check")
    at.text_area(key=f"w_battery_edit_desc_{mood.id}").input("Every two weeks")
    at.button(key=f"w_battery_edit_save_{mood.id}").click().run()
    assert not at.exception and "Mood check changed (name, description)" in page_text(at)
    now = seeded.clinic.batteries.get(seeded.admin, mood.id)
    assert (now.name, now.version, now.description) == ("Mood check", 1, "Every two weeks")


def test_a_battery_in_use_is_saved_as_a_new_version(seeded: Seeded) -> None:
    issued = seeded.clinic.assignments.assign(seeded.theo, seeded.patient_a, battery="Mood")
    mood = _mood(seeded)
    at = _page(seeded)
    assert "assigned 1 time, 1 open" in page_text(at) and "saving makes version 2" in page_text(at)
    at.text_area(key=f"w_battery_edit_instr_{mood.id}").input("Think of the last two weeks.")
    at.button(key=f"w_battery_edit_save_{mood.id}").click().run()
    assert not at.exception
    assert "was in use, so the change was saved as version 2; version 1 is retired" in page_text(at)
    v2 = _mood(seeded)
    assert (v2.version, v2.previous_id, v2.instructions) == (2, mood.id, "Think of the last two weeks.")
    assert "Mood (version 2)" in [e.label.split(" — ")[0] for e in at.expander]
    at.toggle(key="w_battery_show_all").set_value(True).run()
    text = page_text(at)
    assert "Retired on" in text and f"replaced by id {v2.id}" in text
    assert f"w_battery_edit_name_{mood.id}" not in [t.key for t in at.text_input]  # the old version is read-only
    # the open assignment keeps version 1: its instructions on the tablet are the old ones
    session = seeded.clinic.kiosk.redeem(issued.code)
    assert session.instructions == "Please answer about the last two weeks."


def test_reorder_remove_and_add_instruments_in_the_table(seeded: Seeded) -> None:
    mood = _mood(seeded)
    at = _page(seeded)
    editor = next(e for e in at.data_editor if e.key == f"w_battery_order_{mood.id}")
    assert list(editor.value["Instrument"]) == ["phq9", "gad7"]
    at.session_state[f"w_battery_order_{mood.id}"] = {"edited_rows": {0: {"Order": 3}}, "added_rows": [],
                                                     "deleted_rows": []}
    at.button(key=f"w_battery_order_save_{mood.id}").click().run()
    assert not at.exception and "Mood changed (instruments)" in page_text(at)
    assert _mood(seeded).instrument_specs == ("gad7", "phq9")
    at.session_state[f"w_battery_order_{mood.id}"] = {"edited_rows": {1: {"Remove": True}}, "added_rows": [],
                                                     "deleted_rows": []}
    at.multiselect(key=f"w_battery_add_{mood.id}").select("who5")
    at.button(key=f"w_battery_order_save_{mood.id}").click().run()
    assert not at.exception and _mood(seeded).instrument_specs == ("gad7", "who5")


def test_retire_needs_confirmation_and_assigning_offers_only_active_batteries(seeded: Seeded) -> None:
    seeded.clinic.batteries.add(seeded.admin, "Wellbeing", ["who5"])
    mood = _mood(seeded)
    at = _page(seeded)
    at.button(key=f"w_battery_retire_go_{mood.id}").click().run()
    assert "Tick the box to confirm" in page_text(at) and _mood(seeded).active
    at.checkbox(key=f"w_battery_retire_ok_{mood.id}").check()
    at.button(key=f"w_battery_retire_go_{mood.id}").click().run()
    assert not at.exception and "Mood retired: it can no longer be assigned." in page_text(at)
    assert not _mood(seeded).active
    assert [e.label.split(" — ")[0] for e in at.expander] == ["Wellbeing"]

    at = open_patient(sign_in(new_app(), "theo"), seeded.patient_a)
    assert at.selectbox(key="w_assign_battery").options == ["Wellbeing"]


def test_therapists_have_no_batteries_page(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/batteries.py")
