"""Battery versions: edit, reorder, retire; a battery in use is versioned, never changed (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, func, select

from scoring.definitions.library import Library
from scoring.store import Actor, Clinic, ConflictError, PermissionDeniedError, Store, StoreError, password_hasher
from scoring.store.definitions import canonical_json
from scoring.store.models import (
    Administration,
    Answer,
    Assignment,
    AuditEntry,
    Battery,
    BatteryInstrument,
    BatteryText,
    Consent,
    ConsentText,
)
from tests.support.cli import run_cli as _cli

from .conftest import PASSWORD, SYSTEM

T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


def _insert_0008_data(store: Store, library: Library) -> None:
    """A clinic as 0008 stored it: a battery with instruments, consent, a translation, an assignment in use."""
    with store.engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        t = meta.tables
        conn.execute(t["users"].insert(), [{"id": 1, "username": "ada", "role": "admin", "password_hash": "x",
                                            "disabled": False, "failed_logins": 0, "created_at": T0}])
        conn.execute(t["patients"].insert(), [{"id": 1, "created_at": T0, "active": True, "created_by": 1}])
        conn.execute(t["patient_identifiers"].insert(), [{"patient_id": 1, "name": "Sentinel Patientname"}])
        conn.execute(t["batteries"].insert(), [
            {"id": 1, "name": "intake", "instructions": "Please answer.", "consent_version": 1, "adhoc": False,
             "created_at": T0, "created_by": 1},
            {"id": 2, "name": "unused", "instructions": None, "consent_version": None, "adhoc": False,
             "created_at": T0, "created_by": 1}])
        conn.execute(t["battery_instruments"].insert(), [
            {"battery_id": 1, "position": 0, "instrument_id": "phq9", "version": None},
            {"battery_id": 1, "position": 1, "instrument_id": "gad7", "version": None},
            {"battery_id": 2, "position": 0, "instrument_id": "phq2", "version": None}])
        conn.execute(t["consent_texts"].insert(), [{"battery_id": 1, "version": 1, "text": "I agree.",
                                                    "text_hash": "h", "created_at": T0}])
        conn.execute(t["battery_texts"].insert(), [{"battery_id": 1, "language": "es", "instructions": "Responda.",
                                                    "consent_text": "Acepto.", "consent_version": 1,
                                                    "updated_at": T0}])
        conn.execute(t["assignments"].insert(), [{"id": 1, "patient_id": 1, "battery_id": 1, "created_at": T0,
                                                  "created_by": 1, "redeemed_at": T0}])
        conn.execute(t["consents"].insert(), [{"assignment_id": 1, "patient_id": 1, "battery_id": 1,
                                               "consent_version": 1, "text_hash": "h", "agreed_at": T0}])
        phq9 = library.get_version("phq9", None)
        conn.execute(t["definitions"].insert(), [{"instrument_id": "phq9", "version": phq9.version, "hash": phq9.hash,
                                                  "canonical_json": canonical_json(phq9), "first_used_at": T0}])
        conn.execute(t["administrations"].insert(), [
            {"id": 1, "patient_id": 1, "assignment_id": 1, "position": 0, "instrument_id": "phq9",
             "instrument_version": phq9.version, "instrument_hash": phq9.hash, "language": "en", "mode": "kiosk",
             "status": "in_progress", "created_at": T0}])
        conn.execute(t["answers"].insert(), [{"administration_id": 1, "item_id": "phq9_1", "revision": 1,
                                              "value": 2.0, "answered_at": T0}])


def _counts(store: Store) -> dict[str, int]:
    with store.read() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Battery, BatteryInstrument, ConsentText, BatteryText, Assignment, Consent, Administration,
                          Answer)}


def test_upgrade_from_0008_keeps_every_battery_row_and_versions_them(store_url: str, library: Library) -> None:
    with Store(store_url) as store:
        store.upgrade("0008")
        _insert_0008_data(store, library)
        store.upgrade()
        assert store.schema_is_current()
        assert _counts(store) == {"batteries": 2, "battery_instruments": 3, "consent_texts": 1, "battery_texts": 1,
                                  "assignments": 1, "consents": 1, "administrations": 1, "answers": 1}
        with store.read() as s:
            rows = s.execute(select(Battery.id, Battery.name, Battery.version, Battery.previous_id,
                                    Battery.retired_at).order_by(Battery.id)).all()
        assert rows == [(1, "intake", 1, None, None), (2, "unused", 1, None, None)]
        clinic = Clinic(store, library, hasher=password_hasher(fast=True))
        assert [b.instruments for b in clinic.batteries.list(SYSTEM)] == [(("phq9", None), ("gad7", None)),
                                                                           (("phq2", None),)]


@pytest.fixture
def admin(clinic: Clinic) -> Actor:
    return clinic.users.add(SYSTEM, "ada", "admin", PASSWORD).actor


def _actions(clinic: Clinic) -> list[tuple[str, str | None, dict | None]]:
    with clinic.store.read() as s:
        return [tuple(r) for r in s.execute(select(AuditEntry.action, AuditEntry.object_id, AuditEntry.detail)
                                            .where(AuditEntry.object_type == "battery").order_by(AuditEntry.id))]


def _answer_all(clinic: Clinic, ticket: str) -> list[str]:
    """Answer every question on the tablet (0 each) and complete; the instrument ids in the order asked."""
    asked: list[str] = []
    while (prompt := clinic.kiosk.next_item(ticket)) is not None:
        clinic.kiosk.save_answer(ticket, prompt.administration_id, prompt.item_id, 0)
        instrument = prompt.item_id.rsplit("_", 1)[0]
        if not asked or asked[-1] != instrument:
            asked.append(instrument)
        if (clinic.kiosk.next_item(ticket, prompt.administration_id) is None
                and clinic.kiosk.complete(ticket, prompt.administration_id).assignment_completed):
            break
    return asked


def test_an_unused_battery_is_edited_in_place(clinic: Clinic, admin: Actor) -> None:
    b = clinic.batteries.add(admin, "intake", ["phq2", "gad2"], instructions="Please answer.")
    edit = clinic.batteries.edit(admin, "intake", name="Intake", description="First visit",
                                 instruments=["gad2", "phq2", "who5"], instructions="Answer all.",
                                 consent_text="I agree.")
    assert not edit.versioned and edit.previous is None
    assert edit.changed == ("name", "description", "instruments", "instructions", "consent")
    got = clinic.batteries.get(admin, "Intake")
    assert (got.id, got.version, got.name, got.description, got.instruments, got.instructions, got.consent_text,
            got.consent_version, got.active) == (b.id, 1, "Intake", "First visit",
                                                 (("gad2", None), ("phq2", None), ("who5", None)), "Answer all.",
                                                 "I agree.", 1, True)
    edit = clinic.batteries.edit(admin, b.id, description="", consent_text=None)  # clear both
    assert edit.battery.description is None and edit.battery.consent_version is None
    again = clinic.batteries.edit(admin, b.id, consent_text="I agree again.").battery  # a new number, not 1
    assert (again.consent_version, again.consent_text) == (2, "I agree again.")
    assert clinic.batteries.set_consent(admin, b.id, "Third wording.").consent_version == 3
    clinic.batteries.edit(admin, b.id, consent_text="")
    assert [b.name for b in clinic.batteries.list(admin, include_retired=True)] == ["Intake"]
    assert [(a, o, d.get("fields")) for a, o, d in _actions(clinic)[1:]] == [
        ("battery_edited", str(b.id), ["name", "description", "instruments", "instructions", "consent"]),
        ("battery_edited", str(b.id), ["description", "consent"]), ("battery_edited", str(b.id), ["consent"]),
        ("battery_consent_changed", str(b.id), None), ("battery_edited", str(b.id), ["consent"])]
    with pytest.raises(StoreError, match="nothing to change"):
        clinic.batteries.edit(admin, "Intake", name="Intake")


def test_a_battery_in_use_gets_a_new_version_and_its_assignments_keep_the_old(
        clinic: Clinic, admin: Actor, therapist: Actor, patient: int) -> None:
    v1 = clinic.batteries.add(admin, "intake", ["phq2", "gad2"], instructions="Please answer.",
                              consent_text="I agree.")
    clinic.battery_texts.set(admin, "intake", "es", instructions="Responda.", consent_text="Acepto.")
    old_open = clinic.assignments.assign(therapist, patient, battery="intake")
    done = clinic.assignments.assign(therapist, patient, battery="intake")
    session = clinic.kiosk.redeem(done.code)
    clinic.kiosk.agree(session.ticket)
    assert _answer_all(clinic, session.ticket) == ["phq2", "gad2"]

    edit = clinic.batteries.reorder(admin, "intake", ["gad2", "phq2"])
    assert edit.versioned and edit.changed == ("instruments",)
    v2 = edit.battery
    assert (v2.name, v2.version, v2.previous_id, v2.instrument_specs, v2.active, v2.in_use) == (
        "intake", 2, v1.id, ("gad2", "phq2"), True, False)
    assert (v2.instructions, v2.consent_text, v2.consent_version) == ("Please answer.", "I agree.", 1)
    assert edit.previous is not None and not edit.previous.active and edit.previous.replaced_by == v2.id
    assert edit.previous.instrument_specs == ("phq2", "gad2") and edit.previous.open_assignments == 1
    [tr] = clinic.battery_texts.list(admin, v2.id)  # the translation came along, still whole
    assert (tr.language, tr.instructions, tr.consent_text, tr.current) == ("es", "Responda.", "Acepto.", True)

    # what was assigned stays what is asked: the open assignment keeps version 1 and its order
    session = clinic.kiosk.redeem(old_open.code)
    assert [a.instrument_id for a in session.administrations] == ["phq2", "gad2"]
    assert session.instructions == "Please answer." and session.consent_needed
    clinic.kiosk.agree(session.ticket)
    assert _answer_all(clinic, session.ticket) == ["phq2", "gad2"]
    rows = {a.id: a for a in clinic.assignments.for_patient(therapist, patient)}
    assert rows[old_open.assignment_id].battery_id == v1.id and rows[old_open.assignment_id].status == "completed"

    # new assignments by name get the latest version; the old id is refused with what to do
    new = clinic.assignments.assign(therapist, patient, battery="intake")
    assert clinic.kiosk.redeem(new.code).administrations[0].instrument_id == "gad2"
    names = {a.id: a.battery_name for a in clinic.assignments.for_patient(therapist, patient)}
    assert (names[old_open.assignment_id], names[new.assignment_id]) == ("intake", "intake (version 2)")
    with pytest.raises(StoreError, match=r"replaced by version 2 \('intake', id \d+\).*assign that one"):
        clinic.assignments.assign(therapist, patient, battery=v1.id)

    # every version stays readable; the lists show the active one unless asked for all
    assert [(b.id, b.version) for b in clinic.batteries.history(therapist, v1.id)] == [(v2.id, 2), (v1.id, 1)]
    assert [b.id for b in clinic.batteries.list(therapist)] == [v2.id]
    assert [b.id for b in clinic.batteries.list(therapist, include_retired=True)] == [v2.id, v1.id]
    assert clinic.batteries.get(admin, v1.id).instrument_specs == ("phq2", "gad2")
    with pytest.raises(StoreError, match="retired; edit its current version 2"):
        clinic.batteries.edit(admin, v1.id, description="x")
    # a second change of the version now in use makes version 3
    v3 = clinic.batteries.edit(admin, "intake", instructions="Take your time.").battery
    assert (v3.version, v3.previous_id, v3.instrument_specs) == (3, v2.id, ("gad2", "phq2"))
    actions = [(a, o) for a, o, _ in _actions(clinic)]
    assert ("battery_retired", str(v1.id)) in actions and ("battery_reordered", str(v2.id)) in actions
    assert actions[-2:] == [("battery_retired", str(v2.id)), ("battery_edited", str(v3.id))]


def test_changed_instructions_drop_their_translation(clinic: Clinic, admin: Actor, therapist: Actor,
                                                     patient: int) -> None:
    clinic.batteries.add(admin, "intake", ["phq2"], instructions="Please answer.")
    clinic.battery_texts.set(admin, "intake", "es", instructions="Responda.")
    edit = clinic.batteries.edit(admin, "intake", instructions="Answer every question.")  # in place
    assert edit.untranslated == ("es",) and clinic.battery_texts.list(admin, "intake") == []
    clinic.battery_texts.set(admin, "intake", "es", instructions="Responda todo.")
    clinic.assignments.assign(therapist, patient, battery="intake")
    edit = clinic.batteries.edit(admin, "intake", instructions="New words.")  # a new version
    assert edit.versioned and edit.untranslated == ("es",)
    assert clinic.battery_texts.list(admin, edit.battery.id) == []
    assert clinic.battery_texts.list(admin, edit.previous.id)[0].instructions == "Responda todo."  # type: ignore[union-attr]


def test_retired_batteries_take_no_assignments_but_open_ones_keep_working(
        clinic: Clinic, admin: Actor, therapist: Actor, patient: int) -> None:
    b = clinic.batteries.add(admin, "follow-up", ["phq2"])
    issued = clinic.assignments.assign(therapist, patient, battery="follow-up")
    retired = clinic.batteries.retire(admin, "follow-up")
    assert not retired.active and retired.open_assignments == 1
    with pytest.raises(StoreError, match=r"was retired on \d{4}-\d\d-\d\d and takes no new assignments"):
        clinic.assignments.assign(therapist, patient, battery="follow-up")
    with pytest.raises(StoreError, match="already retired"):
        clinic.batteries.retire(admin, b.id)
    with pytest.raises(StoreError, match="retired; add a new battery"):
        clinic.batteries.reorder(admin, "follow-up", ["phq2"])
    assert clinic.batteries.list(therapist) == []
    session = clinic.kiosk.redeem(issued.code)
    assert _answer_all(clinic, session.ticket) == ["phq2"]
    assert clinic.assignments.for_patient(therapist, patient)[0].status == "completed"
    assert ("battery_retired", str(b.id), {"version": 1, "open_assignments": 1}) in _actions(clinic)


def test_only_admins_change_batteries(clinic: Clinic, admin: Actor, therapist: Actor) -> None:
    clinic.batteries.add(admin, "intake", ["phq2", "gad2"])
    for change in (lambda: clinic.batteries.edit(therapist, "intake", description="x"),
                   lambda: clinic.batteries.reorder(therapist, "intake", ["gad2", "phq2"]),
                   lambda: clinic.batteries.retire(therapist, "intake")):
        with pytest.raises(PermissionDeniedError, match="needs admin"):
            change()
    assert clinic.batteries.get(therapist, "intake").instrument_specs == ("phq2", "gad2")


def test_reorder_and_edit_errors_say_what_to_fix(clinic: Clinic, admin: Actor) -> None:
    clinic.batteries.add(admin, "intake", ["phq2", "gad2@1.0.0"])
    for order, message in ((["phq2"], "missing: gad2"), (["phq2", "gad2", "who5"], "not in the battery: who5"),
                           (["phq2", "gad2@9.9.9"], "not in the battery: gad2@9.9.9"),
                           (["phq2", "phq2", "gad2"], "phq2 is given twice"),
                           (["phq2", "gad2"], "already in this order")):
        with pytest.raises(StoreError, match=message):
            clinic.batteries.reorder(admin, "intake", order)
    assert clinic.batteries.reorder(admin, "intake", ["gad2", "phq2"]).battery.instrument_specs == (
        "gad2@1.0.0", "phq2")  # the pinned version is kept
    with pytest.raises(StoreError, match="phq2 is listed twice"):
        clinic.batteries.edit(admin, "intake", instruments=["phq2", "phq2"])
    with pytest.raises(StoreError, match="at least one instrument"):
        clinic.batteries.edit(admin, "intake", instruments=[])
    with pytest.raises(StoreError, match="needs a name"):
        clinic.batteries.edit(admin, "intake", name="  ")
    with pytest.raises(StoreError, match="may not start with 'adhoc:'"):
        clinic.batteries.add(admin, "adhoc:x", ["phq2"])
    with pytest.raises(StoreError, match="no battery named 'nope'; batteries: intake"):
        clinic.batteries.edit(admin, "nope", description="x")


def test_names_stay_unique_across_batteries_and_versions(clinic: Clinic, admin: Actor, therapist: Actor,
                                                         patient: int) -> None:
    a = clinic.batteries.add(admin, "A", ["phq2"])
    clinic.batteries.add(admin, "B", ["gad2"])
    with pytest.raises(ConflictError, match="a battery named 'B' exists"):
        clinic.batteries.edit(admin, "A", name="B")
    clinic.assignments.assign(therapist, patient, battery="A")
    renamed = clinic.batteries.edit(admin, "A", name="A2").battery  # in use: version 2 under the new name
    assert (renamed.name, renamed.version, renamed.previous_id) == ("A2", 2, a.id)
    with pytest.raises(ConflictError, match=r"'A' exists \(id \d+, version 1, retired"):
        clinic.batteries.add(admin, "A", ["phq2"])
    back = clinic.batteries.edit(admin, "A2", name="A").battery  # its own earlier name is free to it
    assert (back.name, back.version) == ("A", 2)  # version 2 was not used yet: changed in place
    assert clinic.batteries.get(admin, "A").id == back.id  # by name: the latest version


def test_instruments_switched_off_cannot_be_added(clinic: Clinic, admin: Actor) -> None:
    clinic.batteries.add(admin, "intake", ["phq2"])
    clinic.catalogue.set_enabled(admin, "gad2", False)
    with pytest.raises(StoreError, match="gad2 is switched off"):
        clinic.batteries.edit(admin, "intake", instruments=["phq2", "gad2"])



def test_cli_battery_edit_reorder_retire_and_list(store: Store, store_url: str, clinic: Clinic, therapist: Actor,
                                                  patient: int, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ("--db", store_url)
    assert _cli(capsys, "battery", "add", "intake", "phq2", "gad2", "--description", "first visit", *db)[0] == 0
    code, out, _ = _cli(capsys, "battery", "edit", "intake", "--instruments", "phq2,gad2,who5", "--instructions",
                        "Please answer.", *db)
    assert code == 0 and "changed in place" in out and "instruments: phq2, gad2, who5" in out
    clinic.assignments.assign(therapist, patient, battery="intake")
    code, out, _ = _cli(capsys, "battery", "reorder", "intake", "who5, phq2,gad2", *db)
    assert code == 0 and "is in use (1 assignment, 1 open): saved as version 2" in out
    assert "version 1 (id 1) is retired" in out

    code, out, _ = _cli(capsys, "battery", "list", *db)
    assert code == 0 and out.splitlines()[0].split() == ["id", "name", "version", "status", "instruments"]
    assert [line.split()[:4] for line in out.splitlines()[1:]] == [["2", "intake", "2", "active"]]
    code, out, _ = _cli(capsys, "battery", "list", "--all", *db)
    assert [line.split()[:4] for line in out.splitlines()[1:]] == [["2", "intake", "2", "active"],
                                                                   ["1", "intake", "1", "retired"]]
    assert "(→ id 2)" in out and "phq2 gad2 who5" in out and "who5 phq2 gad2" in out
    code, out, _ = _cli(capsys, "battery", "list", "--all", "--json", *db)
    rows = json.loads(out)
    assert [(r["id"], r["version"], r["previous_id"], r["replaced_by"], r["instruments"]) for r in rows] == [
        (2, 2, 1, None, ["who5", "phq2", "gad2"]), (1, 1, None, 2, ["phq2", "gad2", "who5"])]
    assert rows[1]["retired_at"] and rows[1]["assignments"] == 1 and rows[0]["description"] == "first visit"

    consent = tmp_path / "consent.txt"
    consent.write_text("I agree.\n", encoding="utf-8")
    code, out, _ = _cli(capsys, "battery", "edit", "intake", "--consent-file", str(consent), "--description", "",
                        "--json", *db)
    result = json.loads(out)
    assert code == 0 and not result["versioned"] and result["changed"] == ["description", "consent"]
    assert result["battery"]["consent_version"] == 1 and result["battery"]["description"] is None

    code, out, _ = _cli(capsys, "battery", "retire", "intake", *db)
    assert code == 0 and "version 2 (id 2) retired: it can no longer be assigned" in out
    code, _, err = _cli(capsys, "assign", str(patient), "--battery", "intake", *db)
    assert code != 0 and "was retired on" in err and "pick an active battery" in err
    code, _, err = _cli(capsys, "battery", "list", *db)
    assert code == 0 and "--all also lists retired ones" in err


def test_cli_battery_errors_are_clear(store_url: str, store: Store, capsys: pytest.CaptureFixture[str],
                                      tmp_path) -> None:
    db = ("--db", store_url)
    assert _cli(capsys, "battery", "add", "intake", "phq2", "gad2", *db)[0] == 0
    for args, message in ((("edit", "intake"), "nothing to change: give --name"),
                          (("edit", "intake", "--instruments", "phq2,,gad2"), "write instrument ids separated by"),
                          (("edit", "intake", "--consent-file", str(tmp_path / "none.txt")), "no such file"),
                          (("edit", "intake", "--consent-file", str(tmp_path), "--no-consent"), "not both"),
                          (("edit", "nope", "--description", "x"), "no battery named 'nope'; batteries: intake"),
                          (("edit", "intake", "--instruments", "phq2,nosuch"), "nosuch"),
                          (("reorder", "intake", "gad2"), "missing: phq2"),
                          (("reorder", "intake", "phq2,gad2"), "already in this order"),
                          (("retire", "nope"), "no battery named 'nope'")):
        code, _, err = _cli(capsys, "battery", *args, *db)
        assert code != 0 and message in err, (args, err)
        assert "Traceback" not in err


def test_a_recurring_assignment_follows_the_current_version_and_ends_when_retired(
        clinic: Clinic, admin: Actor, therapist: Actor, patient: int) -> None:
    from datetime import timedelta

    v1 = clinic.batteries.add(admin, "weekly", ["phq2"])
    first = clinic.assignments.assign(therapist, patient, battery="weekly", every=timedelta(weeks=1))
    v2 = clinic.batteries.edit(admin, "weekly", instruments=["phq2", "gad2"]).battery
    session = clinic.kiosk.redeem(first.code)
    assert _answer_all(clinic, session.ticket) == ["phq2"]  # the first occurrence keeps version 1
    rows = clinic.assignments.for_patient(therapist, patient)
    assert [(r.battery_id, r.status) for r in rows] == [(v1.id, "completed"), (v2.id, "no_code")]
    clinic.batteries.retire(admin, v2.id)
    second = clinic.assignments.issue_code(therapist, rows[1].id)  # open before the retirement: still runs
    assert _answer_all(clinic, clinic.kiosk.redeem(second.code).ticket) == ["phq2", "gad2"]
    assert [r.status for r in clinic.assignments.for_patient(therapist, patient)] == ["completed", "completed"]
    with clinic.store.read() as s:
        assert s.scalar(select(AuditEntry.detail).where(AuditEntry.action == "recurrence_ended")) == {
            "battery_retired": v2.id}


def test_two_admins_editing_at_once_make_one_version(clinic: Clinic, admin: Actor, therapist: Actor,
                                                     patient: int) -> None:
    import threading

    clinic.batteries.add(admin, "intake", ["phq2", "gad2"])
    clinic.assignments.assign(therapist, patient, battery="intake")
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def work(k: int) -> None:
        barrier.wait()
        try:
            outcomes.append(clinic.batteries.edit(admin, "intake", description=f"take {k}"))
        except StoreError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    edits = [o for o in outcomes if not isinstance(o, Exception)]
    errors = [str(o) for o in outcomes if isinstance(o, Exception)]
    # the first makes version 2; the others then change version 2 in place (not assigned yet) or are told to
    # look again — never two versions 2, never a change of version 1
    assert edits and edits[0].battery.version == 2
    assert all(e.battery.version == 2 for e in edits), [(e.battery.version, e.changed) for e in edits]
    assert all("retired" in m or "at the same moment" in m for m in errors), errors
    assert [(b.version, b.active) for b in clinic.batteries.history(admin, "intake")] == [(2, True), (1, False)]
    assert clinic.batteries.history(admin, "intake")[1].description is None  # version 1 unchanged


def test_downgrade_below_0011_refuses_versions_and_a_cascading_rebuild(tmp_path, library: Library) -> None:
    from alembic import command

    with Store(tmp_path / "c.db") as store:
        store.upgrade("0008")
        _insert_0008_data(store, library)
        store.upgrade()
        with pytest.raises(RuntimeError, match="run it with foreign keys off"), store.engine.begin() as conn:
            command.downgrade(store._alembic_config(conn), "0010")  # foreign keys on: refused, nothing lost
        assert _counts(store)["battery_instruments"] == 3
        clinic = Clinic(store, library, hasher=password_hasher(fast=True))
        clinic.batteries.edit(SYSTEM, "intake", description="v2")  # in use: version 2
        with pytest.raises(RuntimeError, match="1 batteries are later versions"), store.engine.begin() as conn:
            command.downgrade(store._alembic_config(conn), "0010")
        assert store.schema_is_current()
