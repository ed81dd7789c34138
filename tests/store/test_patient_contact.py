"""A patient's own e-mail and phone (migration 0010): checked on entry with a clear error, where invitations go
(never the free-text contact), never in the audit log, the logs or an export; who may add, edit, archive and
assign care teams is enforced in the store (SQLite and PostgreSQL); ``psyscore patient add/edit``."""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import column, func, insert, select, table

import scoring.export as ex
from scoring.store import Actor, Clinic, ConflictError, PermissionDeniedError, Store, StoreError, password_hasher
from scoring.store.models import AuditEntry, Patient, PatientIdentifiers
from scoring.store.patients import check_patient_email, check_phone
from tests.export.conftest import export_bytes
from tests.store.conftest import PASSWORD, SYSTEM
from tests.support.cli import run_cli as _run

EMAIL = "sentinel.k9w@example.org"
PHONE = "+44 20 7946 0958"
PHONE_E164 = "+442079460958"


# -- checks -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("given", "stored"), [
    ("+44 20 7946 0958", "+442079460958"), ("+1 (555) 000-1234", "+15550001234"), ("0049 30 1234567", "+49301234567"),
    ("+33.1.23.45.67.89", "+33123456789"), ("  ", None), (None, None),
])
def test_phone_is_stored_in_e164(given: str | None, stored: str | None) -> None:
    assert check_phone(given) == stored


@pytest.mark.parametrize(("given", "why"), [
    ("020 7946 0958", "country code is missing"), ("+44 20 79x6 0958", "only digits"), ("+0 123 4567", "never starts"),
    ("+12345", "5 digits"), ("+1234567890123456", "16 digits"), ("call me", "only digits"),
])
def test_a_bad_phone_says_why_and_how_without_repeating_it(given: str, why: str) -> None:
    with pytest.raises(StoreError, match=why) as info:
        check_phone(given)
    message = str(info.value)
    assert message.startswith("phone: ") and "e.g. +44 20 7946 0958" in message
    assert given.replace(" ", "") not in message.replace(" ", "")


@pytest.mark.parametrize(("given", "why"), [
    ("ana.example.org", "no @"), ("ana@", "not a domain"), ("ana@@example.org", "more than one @"),
    ("ana @example.org", "a space"), ("a" * 250 + "@example.org", "at most 254"),
])
def test_a_bad_email_says_why(given: str, why: str) -> None:
    with pytest.raises(StoreError, match=why) as info:
        check_patient_email(given)
    assert str(info.value).startswith("e-mail: ") and given not in str(info.value)


def test_email_is_stripped_and_empty_is_none() -> None:
    assert check_patient_email("  ana@example.org ") == "ana@example.org"
    assert check_patient_email("") is None and check_patient_email(None) is None


# -- store --------------------------------------------------------------------------------------------------------
def _audit_count(clinic: Clinic) -> int:
    with clinic.store.read() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_email_and_phone_added_edited_and_cleared(clinic: Clinic, therapist: Actor) -> None:
    pid = clinic.patients.add(therapist, "Contact Person", email=EMAIL, phone=PHONE, contact="mornings only")
    record = clinic.patients.get(therapist, pid)
    assert (record.email, record.phone, record.contact) == (EMAIL, PHONE_E164, "mornings only")
    record = clinic.patients.update(therapist, pid, phone="+1 555 000 1234", email="")
    assert (record.email, record.phone, record.contact) == (None, "+15550001234", "mornings only")
    updated = [r for r in clinic.audit_log(SYSTEM) if r.action == "patient_updated"]
    assert updated[-1].detail == {"fields": ["email", "phone"]}  # the fields, never the values


def test_a_bad_address_changes_nothing(clinic: Clinic, therapist: Actor) -> None:
    pid = clinic.patients.add(therapist, "Kept Person", email=EMAIL)
    before = _audit_count(clinic)
    with pytest.raises(StoreError, match=r"phone: .*country code"):
        clinic.patients.update(therapist, pid, name="Changed Name", phone="07700 900123")
    with pytest.raises(StoreError, match="e-mail: "):
        clinic.patients.add(therapist, "Never Added", email="not-an-address")
    record = clinic.patients.get(therapist, pid)
    assert record.name == "Kept Person" and record.email == EMAIL and record.phone is None
    assert _audit_count(clinic) == before + 1  # only the view just made
    with clinic.store.read() as s:
        assert s.scalar(select(func.count()).select_from(PatientIdentifiers)) == 1


def test_update_refuses_an_empty_name_and_a_taken_external_id(clinic: Clinic, therapist: Actor) -> None:
    clinic.patients.add(therapist, "First Person", external_id="MRN-1")
    pid = clinic.patients.add(therapist, "Second Person", external_id="MRN-2")
    with pytest.raises(StoreError, match="needs a name"):
        clinic.patients.update(therapist, pid, name="  ")
    with pytest.raises(ConflictError, match="external id"):
        clinic.patients.update(therapist, pid, external_id="MRN-1")
    assert clinic.patients.get(therapist, pid).external_id == "MRN-2"
    with pytest.raises(StoreError, match="cannot change birth_year"):
        clinic.patients.update(therapist, pid, birth_year=1990)


def test_invitations_go_to_the_email_and_phone_fields_not_the_contact_text(clinic: Clinic, therapist: Actor) -> None:
    pid = clinic.patients.add(therapist, "Two Addresses", contact="old@example.org or her sister x@example.org",
                              email=EMAIL, phone=PHONE)
    issued = clinic.assignments.assign(therapist, pid, instruments=["gad7"])
    clinic.notifications.invite(therapist, issued.assignment_id, "email")
    clinic.notifications.invite(therapist, issued.assignment_id, "sms")
    claimed = {c.channel: c for c in clinic.notifications.claim(("email", "sms"))}
    assert clinic.notifications.prepare(claimed["email"]).address == EMAIL
    assert clinic.notifications.prepare(claimed["sms"]).address == PHONE_E164

    only_text = clinic.patients.add(therapist, "Contact Text Only", contact="ana@example.org, +1 555 000 1234")
    issued = clinic.assignments.assign(therapist, only_text, instruments=["gad7"])
    with pytest.raises(StoreError, match=rf"patient {only_text} has no e-mail address on their record.*--email"):
        clinic.notifications.invite(therapist, issued.assignment_id, "email")
    with pytest.raises(StoreError, match=r"no phone number on their record.*--phone"):
        clinic.notifications.invite(therapist, issued.assignment_id, "sms")


def test_address_never_in_the_audit_log_or_the_logs(clinic: Clinic, therapist: Actor,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pid = clinic.patients.add(therapist, "Logged Nowhere", email=EMAIL, phone=PHONE)
    clinic.patients.update(therapist, pid, email="other." + EMAIL, phone="+1 555 000 9876")
    clinic.patients.get(therapist, pid)
    with pytest.raises(StoreError):
        clinic.patients.update(therapist, pid, phone="+44 20 7946 09x8")
    issued = clinic.assignments.assign(therapist, pid, instruments=["gad7"])
    clinic.notifications.invite(therapist, issued.assignment_id, "email")
    rows = " ".join(f"{r.action} {r.detail}" for r in clinic.audit_log(SYSTEM))
    for secret in ("sentinel", "k9w", "7946", "0958", "9876", "+1555"):
        assert secret not in rows.lower()
        assert secret not in caplog.text.lower()
    listing = clinic.patients.listing(SYSTEM, identifiers=True)
    assert "k9w" not in repr(listing)  # patient list --show-names prints names and external ids, not addresses


def test_export_drops_email_and_phone(clinic: Clinic, therapist: Actor, tmp_path: Path) -> None:
    researcher = clinic.users.add(SYSTEM, "rita", "researcher", PASSWORD).actor
    secrets = []
    for i in range(6):
        email, phone = f"p{i}.exportk9w@example.org", f"+44 20 7946 {1000 + i}"
        secrets += [email, phone, phone.replace(" ", ""), "exportk9w"]
        pid = clinic.patients.add(therapist, f"Export Patient {i}", date_of_birth=date(1970 + i, 1, 2), sex="female",
                                  email=email, phone=phone)
        clinic.administrations.record(therapist, pid, "phq9", {f"phq9_{k}": (i + k) % 4 for k in range(1, 10)})
    source = ex.StoreSource(clinic.research, researcher)
    out = tmp_path / "out"
    res = ex.export(source, out, profile="pseudonymised", key=ex.StudyKey(os.urandom(32)),
                    formats=["csv", "xlsx", "sav", "parquet"], k=1)
    assert res.manifest["counts"]["patients_exported"] == 6
    assert not {c for c in res.data.columns if "mail" in c.lower() or "phone" in c.lower()}
    for name, content in export_bytes(out):
        for secret in secrets:
            assert secret.encode() not in content, (name, secret)


# -- who may do what -------------------------------------------------------------------------------------------
def test_admin_manages_every_patient_in_the_store(clinic: Clinic, therapist: Actor) -> None:
    admin = clinic.users.add(SYSTEM, "ada", "admin", PASSWORD).actor
    thea = clinic.users.add(SYSTEM, "thea", "therapist", PASSWORD).actor
    theirs = clinic.patients.add(therapist, "Theo's Patient")
    pid = clinic.patients.add(admin, "Admin Added", email=EMAIL, therapists=[thea.user_id])
    assert clinic.patients.get(thea, pid).therapist_ids == (thea.user_id,)  # the admin did not join
    with pytest.raises(StoreError, match="only therapists join"):
        clinic.patients.add(admin, "Nobody", therapists=[admin.user_id])
    with pytest.raises(StoreError, match="only therapists join"):
        clinic.patients.add_to_care_team(admin, theirs, admin.user_id)
    clinic.patients.update(admin, theirs, phone=PHONE)
    clinic.patients.add_to_care_team(admin, theirs, thea.user_id)
    clinic.patients.remove_from_care_team(admin, theirs, therapist.user_id)
    caseload = {p.id: p for p in clinic.patients.caseload(admin)}
    assert set(caseload) == {theirs, pid} and caseload[theirs].care_team == ("thea",)
    clinic.patients.archive(admin, theirs)
    assert clinic.patients.get(admin, theirs).active is False
    assert [p.id for p in clinic.patients.caseload(admin, archived=True)] == [theirs]
    with pytest.raises(PermissionDeniedError):  # theo left the care team: no longer his patient
        clinic.patients.get(therapist, theirs)


def test_therapist_and_researcher_are_refused_in_the_store(clinic: Clinic, therapist: Actor) -> None:
    thea = clinic.users.add(SYSTEM, "thea", "therapist", PASSWORD).actor
    rita = clinic.users.add(SYSTEM, "rita", "researcher", PASSWORD).actor
    theirs = clinic.patients.add(thea, "Thea's Patient")
    for call in (lambda: clinic.patients.update(therapist, theirs, email=EMAIL),
                 lambda: clinic.patients.archive(therapist, theirs),
                 lambda: clinic.patients.add_to_care_team(therapist, theirs, therapist.user_id),
                 lambda: clinic.patients.remove_from_care_team(therapist, theirs, thea.user_id)):
        with pytest.raises(PermissionDeniedError, match="not in your care team"):
            call()
    for call in (lambda: clinic.patients.add(rita, "Researcher Added"),
                 lambda: clinic.patients.update(rita, theirs, name="X"),
                 lambda: clinic.patients.archive(rita, theirs),
                 lambda: clinic.patients.caseload(rita),
                 lambda: clinic.patients.add_to_care_team(rita, theirs, therapist.user_id)):
        with pytest.raises(PermissionDeniedError, match="researcher role may not"):
            call()
    record = clinic.patients.get(thea, theirs)
    assert record.email is None and record.active and record.therapist_ids == (thea.user_id,)


# -- migration 0010 -----------------------------------------------------------------------------------------------
def test_migration_copies_unambiguous_contacts_and_keeps_the_text(store_url: str) -> None:
    store = Store(store_url)
    try:
        store.upgrade("0009")
        contacts = {
            1: "ana@example.org", 2: "mobile +44 20 7946 0958", 3: "ana@example.org; 0044 20 7946 0958 (mobile)",
            4: "a@example.org or b@example.org", 5: "020 7946 0958", 6: "+1 555 000 1234 / +1 555 000 9999",
            7: None, 8: "ANA@example.org, ana@example.org",
        }
        old = table("patient_identifiers", column("patient_id"), column("name"), column("contact"))  # as at 0009
        with store.engine.begin() as conn:
            for pid, contact in contacts.items():
                conn.execute(insert(Patient.__table__).values(id=pid, created_at=datetime.now(UTC), active=True))
                conn.execute(insert(old).values(patient_id=pid, name=f"Person {pid}", contact=contact))
        store.upgrade()
        with store.read() as s:
            rows = {r.patient_id: (r.email, r.phone, r.contact) for r in s.scalars(select(PatientIdentifiers))}
            audit_rows = [r for r in s.scalars(select(AuditEntry))
                          if r.action == "patient_contact_split_by_upgrade"]
        assert rows[1] == ("ana@example.org", None, contacts[1])
        assert rows[2] == (None, "+442079460958", contacts[2])
        assert rows[3] == ("ana@example.org", "+442079460958", contacts[3])
        assert rows[4] == (None, None, contacts[4])  # two addresses: left for staff
        assert rows[5] == (None, None, contacts[5])  # no country code: left for staff
        assert rows[6] == (None, None, contacts[6])
        assert rows[7] == (None, None, None)
        assert rows[8][0] is not None and rows[8][0].lower() == "ana@example.org"  # the same address twice
        assert len(audit_rows) == 1
        assert audit_rows[0].detail == {"contacts": 7, "emails": 3, "phones": 2, "left_for_staff": 3,
                                        "revision": "0010"}
        assert "example" not in str(audit_rows[0].detail)
    finally:
        store.close()


# -- CLI ----------------------------------------------------------------------------------------------------------

def test_cli_patient_add_and_edit(store_url: str, library, capsys: pytest.CaptureFixture[str]) -> None:
    with Store(store_url) as store:
        store.upgrade()
        clinic = Clinic(store, library, hasher=password_hasher(fast=True))
        clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD)
        clinic.users.add(SYSTEM, "thea", "therapist", PASSWORD)
        clinic.users.add(SYSTEM, "ada", "admin", PASSWORD)
    db = ("--db", store_url)
    code, _, err = _run(capsys, "patient", "add", "--name", "Bad Phone", "--phone", "07700 900123", *db)
    assert code == 1 and "phone: not a valid phone number (the country code is missing" in err
    assert "07700" not in err
    code, out, err = _run(capsys, "patient", "add", "--name", "Cli Person", "--email", EMAIL, "--phone", PHONE,
                          "--external-id", "MRN-CLI-1", "--therapist", "theo", *db)
    assert code == 0, err
    pid = int(out.strip())
    code, out, err = _run(capsys, "patient", "edit", "MRN-CLI-1", "--phone", "", "--email", "new@example.org",
                          "--add-therapist", "thea", "--remove-therapist", "theo", "--dob", "1980-02-03", *db)
    assert code == 0, err
    assert out.strip() == f"patient {pid}: changed date of birth, email, phone, care team; care team: thea"
    code, _, err = _run(capsys, "patient", "edit", str(pid), "--email", "x@", *db)
    assert code == 1 and "e-mail: not a valid e-mail address" in err
    code, _, err = _run(capsys, "patient", "edit", str(pid), "--add-therapist", "ada", "--name", "Never", *db)
    assert code == 2 and "only enabled therapists join a care team" in err
    code, _, err = _run(capsys, "patient", "edit", str(pid), *db)
    assert code == 2 and "nothing to change" in err
    code, _, err = _run(capsys, "patient", "edit", str(pid), "--dob", "03/02/1980", *db)
    assert code == 2 and "--dob: not a date" in err
    with Store(store_url) as store:
        record = Clinic(store, library, hasher=password_hasher(fast=True)).patients.get(SYSTEM, pid)
    assert (record.name, record.email, record.phone, record.date_of_birth) == (
        "Cli Person", "new@example.org", None, date(1980, 2, 3))
    assert len(record.therapist_ids) == 1
