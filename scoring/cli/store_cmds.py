"""Clinic commands: db, user, patient, battery, assign, code, history, alerts, rescore, demo.

Every command takes ``--db URL`` (default: ``PSYSCORE_DATABASE_URL``, else ``./data/psyscore.db``) and
acts as the local system user (whoever can run the CLI on the server can read the database anyway).
The store is imported inside the handlers, so ``psyscore score`` never loads SQLAlchemy.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scoring.cli import EXIT_ERROR, EXIT_OK, UsageError
from scoring.definitions.respondent import SexValueError, parse_sex

if TYPE_CHECKING:
    from scoring.store import Actor, Clinic, Store

ORDER = 50
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``7d``, ``2w`` → timedelta."""
    m = _DURATION.match(text or "")
    if not m or int(m.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}; write e.g. 30m, 2h, 7d or 2w")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r}; write YYYY-MM-DD") from None


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL",
                   help="database URL or SQLite file (default: $PSYSCORE_DATABASE_URL, else ./data/psyscore.db); "
                        "PostgreSQL: postgresql+psycopg://user@host/dbname")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="create, migrate or back up the clinic database",
                       description="Manage the clinic database (embedded SQLite file or PostgreSQL).")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True,
                             help="init, upgrade or backup")
    q = dbsub.add_parser("init", help="create the database schema (safe to repeat)",
                         description="Create the schema of a new clinic database (or migrate an existing one). A "
                         "new clinic starts with the instruments of non-commercial licence switched off (an admin "
                         "enables them on the instruments page after reading the licence); an existing database "
                         "keeps its settings.")
    _db_option(q)
    q.set_defaults(func=cmd_db_init)
    q = dbsub.add_parser("upgrade", help="migrate the schema to this version of psyscore",
                         description="Apply pending migrations. Back up first: psyscore db backup PATH.")
    _db_option(q)
    q.set_defaults(func=cmd_db_upgrade)
    q = dbsub.add_parser("backup", help="write an online backup (file mode 0600)",
                         description="SQLite: online copy with SQLite's backup API. PostgreSQL: pg_dump "
                         "--format=custom (restore with pg_restore -d DBNAME PATH).")
    q.add_argument("path", type=Path, metavar="PATH", help="backup file to create (must not exist)")
    _db_option(q)
    q.set_defaults(func=cmd_db_backup)

    p = sub.add_parser("user", help="manage staff accounts", description="Manage staff accounts.")
    usub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True, help="add, list, disable or enable")
    q = usub.add_parser("add", help="add a staff account",
                        description="Add a staff account. The password is asked for (or read from stdin).")
    q.add_argument("name", help="user name")
    q.add_argument("--role", required=True, choices=("admin", "therapist", "researcher"), help="the account's role")
    q.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    _contact_options(q)
    _db_option(q)
    q.set_defaults(func=cmd_user_add)
    q = usub.add_parser("set", help="set where a staff member's alert notices go",
                        description="Set or clear a staff member's e-mail address and personal webhook (alert "
                        "notices hold no patient data: only that an alert needs attention, and a link).")
    q.add_argument("name", help="user name")
    _contact_options(q)
    q.add_argument("--no-email", action="store_true", help="clear the e-mail address")
    q.add_argument("--no-webhook", action="store_true", help="clear the webhook")
    _db_option(q)
    q.set_defaults(func=cmd_user_set)
    q = usub.add_parser("list", help="list staff accounts", description="List staff accounts.")
    q.add_argument("--json", action="store_true", help="print JSON")
    _db_option(q)
    q.set_defaults(func=cmd_user_list)
    for action, text in (("disable", "disable an account (ends its access)"), ("enable", "enable an account")):
        q = usub.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        q.add_argument("name", help="user name")
        _db_option(q)
        q.set_defaults(func=cmd_user_toggle, enable=action == "enable")

    p = sub.add_parser("patient", help="manage patients", description="Manage patients.")
    psub = p.add_subparsers(dest="patient_command", metavar="ACTION", required=True, help="add, edit or list")
    q = psub.add_parser("add", help="add a patient and print the internal id",
                        description="Add a patient. Identifiers are stored apart from everything exportable; "
                        "the internal id is printed.")
    q.add_argument("--name", required=True, help="full name")
    q.add_argument("--dob", type=parse_date, metavar="YYYY-MM-DD", help="date of birth")
    q.add_argument("--sex", type=_sex_arg, help="sex: female (f, w, woman), male (m, man) or other (x, diverse); "
                   "used by sex-specific norms and cut-offs")
    q.add_argument("--contact", help="contact notes for staff (free text; invitations use --email/--phone)")
    q.add_argument("--external-id", help="identifier in another system (unique), e.g. a record number")
    _patient_address_options(q)
    q.add_argument("--therapist", action="append", default=[], metavar="USER",
                   help="user name of a therapist in the care team (repeatable)")
    _db_option(q)
    q.set_defaults(func=cmd_patient_add)
    q = psub.add_parser("edit", help="change a patient's identifiers, contact or care team",
                        description="Change a patient's identifiers, e-mail, phone or care team. Only the options "
                        "given change; an empty value ('') clears a field (not the name). The audit log records "
                        "which fields changed, never their values.")
    q.add_argument("patient", metavar="PATIENT", help="internal patient id, or an external id")
    q.add_argument("--name", help="full name")
    q.add_argument("--dob", metavar="YYYY-MM-DD", help="date of birth ('' clears it)")
    q.add_argument("--sex", type=_sex_arg, help="sex: female (f, w, woman), male (m, man) or other (x, diverse); "
                   "'' clears it")
    q.add_argument("--contact", help="contact notes for staff (free text)")
    q.add_argument("--external-id", help="identifier in another system (unique)")
    _patient_address_options(q)
    q.add_argument("--add-therapist", action="append", default=[], metavar="USER",
                   help="add a therapist to the care team (repeatable)")
    q.add_argument("--remove-therapist", action="append", default=[], metavar="USER",
                   help="remove a therapist from the care team (repeatable)")
    _db_option(q)
    q.set_defaults(func=cmd_patient_edit)
    q = psub.add_parser("list", help="list patients (ids and care teams; names only with --show-names)",
                        description="List patients: internal id, sex, year of birth and care team. Names and "
                        "external ids are printed only with --show-names; every listing is audited, with whether "
                        "identifiers were shown.")
    q.add_argument("--show-names", action="store_true", help="also print each patient's name and external id")
    q.add_argument("--archived", action="store_true", help="include archived patients")
    q.add_argument("--json", action="store_true", help="JSON instead of a table")
    _db_option(q)
    q.set_defaults(func=cmd_patient_list)

    p = sub.add_parser("battery", help="manage batteries of instruments", description="Manage batteries.")
    bsub = p.add_subparsers(dest="battery_command", metavar="ACTION", required=True,
                            help="add, edit, reorder, retire, text or list")
    q = bsub.add_parser("add", help="add a named battery", description="Add a named, ordered list of instruments.")
    q.add_argument("name", help="battery name")
    q.add_argument("instruments", nargs="+", metavar="ID", help="instrument ids in order (id@version pins a version)")
    q.add_argument("--instructions", help="text shown before the first questionnaire")
    q.add_argument("--description", help="what the battery is for (shown to staff)")
    q.add_argument("--consent-file", type=Path, metavar="F", help="consent text the patient agrees to first")
    q.add_argument("--instructions-in", action="append", default=[], metavar="LANG=FILE",
                   help="the instructions in another language, e.g. es=instrucciones.txt (repeatable); "
                        "--instructions is the default language")
    q.add_argument("--consent-in", action="append", default=[], metavar="LANG=FILE",
                   help="the consent text in another language, e.g. es=consentimiento.txt (repeatable); "
                        "--consent-file is the default language")
    _db_option(q)
    q.set_defaults(func=cmd_battery_add)
    q = bsub.add_parser("text", help="set a battery's instructions/consent in another language",
                        description="Set a battery's instructions and/or consent text in another language; the "
                                    "tablet shows them to patients who choose that language.")
    q.add_argument("name", help="battery name")
    q.add_argument("language", help="language code, e.g. es")
    q.add_argument("--instructions-file", type=Path, metavar="F", help="the instructions in that language")
    q.add_argument("--consent-file", type=Path, metavar="F",
                   help="the consent text in that language (translates the battery's current consent version)")
    _db_option(q)
    q.set_defaults(func=cmd_battery_text)
    q = bsub.add_parser("edit", help="change a battery (a battery in use gets a new version)",
                        description="Change a battery's name, description, instruments, instructions or consent "
                        "text; only the options given change, and '' clears a description or the instructions. "
                        "A battery already assigned is never changed: the change is saved as its next version "
                        "and the old version is retired (its assignments and history keep it). A battery not "
                        "assigned yet changes in place.")
    q.add_argument("name", help="battery name (its latest version is changed)")
    q.add_argument("--name", dest="new_name", metavar="NEW", help="a new name")
    q.add_argument("--description", help="what the battery is for ('' clears it)")
    q.add_argument("--instruments", metavar="ID,ID,...",
                   help="the instruments in order, comma-separated (id@version pins a version)")
    q.add_argument("--instructions", help="text shown before the first questionnaire ('' clears it)")
    q.add_argument("--consent-file", type=Path, metavar="F", help="a new consent text (a new consent version)")
    q.add_argument("--no-consent", action="store_true", help="ask for no consent from now on")
    q.add_argument("--json", action="store_true", help="print JSON")
    _db_option(q)
    q.set_defaults(func=cmd_battery_edit)
    q = bsub.add_parser("reorder", help="put a battery's instruments in a new order",
                        description="Put a battery's instruments in a new order (each of them once). A battery "
                        "in use gets a new version, as with 'battery edit'.")
    q.add_argument("name", help="battery name")
    q.add_argument("order", metavar="ID,ID,...", help="the battery's instrument ids in the new order, comma-separated")
    q.add_argument("--json", action="store_true", help="print JSON")
    _db_option(q)
    q.set_defaults(func=cmd_battery_reorder)
    q = bsub.add_parser("retire", help="retire a battery: no new assignments",
                        description="Retire a battery: it can no longer be assigned; open assignments of it "
                        "still work on the tablet and its history stays in reports.")
    q.add_argument("name", help="battery name")
    _db_option(q)
    q.set_defaults(func=cmd_battery_retire)
    q = bsub.add_parser("list", help="list batteries (active ones; --all for retired and earlier versions)",
                        description="List the batteries that can be assigned: id, name, version, instruments. "
                        "--all adds retired batteries and the earlier versions of edited ones.")
    q.add_argument("--all", action="store_true", help="include retired batteries and earlier versions")
    q.add_argument("--json", action="store_true", help="print JSON")
    _db_option(q)
    q.set_defaults(func=cmd_battery_list)

    p = sub.add_parser("assign", help="assign a battery to a patient and print the one-time code",
                       description="Assign a battery (or instruments) to a patient; prints the one-time code to "
                       "type on the tablet and a link token. Only their hashes are stored.")
    p.add_argument("patient", metavar="PATIENT", help="internal patient id, or an external id")
    p.add_argument("instruments", nargs="*", metavar="ID", help="instrument ids (instead of --battery)")
    p.add_argument("--battery", metavar="NAME", help="a named battery (its current version; a retired one is refused)")
    p.add_argument("--expires", type=parse_duration, metavar="DURATION",
                   help="code lifetime, e.g. 2h, 3d, 2w (default 7d)")
    p.add_argument("--due", type=parse_date, metavar="DATE", help="due date (YYYY-MM-DD)")
    p.add_argument("--every", type=parse_duration, metavar="DURATION",
                   help="repeat, e.g. 2w: the next assignment is created when this one completes")
    p.add_argument("--language", help="language of the questionnaires, e.g. es (default: the definition's)")
    p.add_argument("--send", choices=("email", "sms"),
                   help="also send the one-time link to the patient's e-mail address or phone (from their contact "
                   "details) through the outbox, with reminders until done or expired ('psyscore notify run')")
    p.add_argument("--json", action="store_true", help="print JSON")
    _db_option(p)
    p.set_defaults(func=cmd_assign)

    p = sub.add_parser("code", help="issue a new one-time code for an open assignment",
                       description="Issue a new code and link for an open assignment (e.g. the next one of a "
                       "recurring series); earlier codes stop working.")
    p.add_argument("assignment", type=int, metavar="ASSIGNMENT", help="assignment id")
    p.add_argument("--expires", type=parse_duration, metavar="DURATION", help="code lifetime (default 7d)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _db_option(p)
    p.set_defaults(func=cmd_code)

    p = sub.add_parser("history", help="a patient's administrations with scores, bands and change",
                       description="Completed administrations of a patient, oldest first, with scores, bands and "
                       "change since the previous and the first administration.")
    p.add_argument("patient", metavar="PATIENT", help="internal patient id, or an external id")
    p.add_argument("--json", action="store_true", help="print JSON")
    _db_option(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("alerts", help="list critical-item alerts",
                       description="Alerts raised by critical answers (open and acknowledged; --all adds resolved).")
    p.add_argument("--all", action="store_true", help="include resolved alerts")
    p.add_argument("--json", action="store_true", help="print JSON")
    _db_option(p)
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("rescore", help="recompute stored scores from raw answers and compare",
                       description="Recompute every stored score from the raw answers with the pinned definition "
                       "versions and report differences (exit 1 on any).")
    p.add_argument("--check", action="store_true", required=True,
                   help="compare only (required: stored scores are never rewritten)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _db_option(p)
    p.set_defaults(func=cmd_rescore)

    p = sub.add_parser("demo", help="seed a demo clinic with synthetic patients",
                       description="Seed a demo clinic: an admin, two therapists (demo passwords printed once), "
                       "20 synthetic patients with 3–12 months of PHQ-9, GAD-7, DASS-21, PCL-5 and WHO-5, alerts, "
                       "events and due assignments. Fixed seed.")
    p.add_argument("--if-empty", action="store_true", help="do nothing (exit 0) if the database has users")
    _db_option(p)
    p.set_defaults(func=cmd_demo)


# -- helpers -------------------------------------------------------------------------------------------------
@contextmanager
def open_store(args: argparse.Namespace, *, init: bool = True) -> Iterator[Store]:
    """The store of ``--db``; a brand-new (empty) database is initialised, an outdated one is refused."""
    from scoring.store import Store, StoreError

    try:
        store = Store(args.db) if getattr(args, "db", None) else Store()
    except StoreError:
        raise
    except Exception as exc:  # a malformed URL or a missing driver
        raise UsageError(f"cannot open the database: {exc}") from exc
    try:
        if init and store.is_empty():
            store.upgrade()
            off = licence_defaults(store)
            print(f"initialised a new database: {store!r}"
                  + (f"; non-commercial instruments off until an admin enables them: {', '.join(off)}" if off else ""),
                  file=sys.stderr)
        yield store
    finally:
        store.close()


@contextmanager
def open_clinic(args: argparse.Namespace) -> Iterator[Clinic]:
    from scoring.cli.library_cmds import library_from_args
    from scoring.store import Clinic

    with open_store(args) as store:
        yield Clinic(store, library_from_args(args) if hasattr(args, "definitions") else None)


def _system() -> Actor:
    from scoring.store import Actor

    return Actor.system("cli")


def _patient_id(clinic: Clinic, text: str) -> int:
    return int(text) if text.isdigit() else clinic.patients.find(_system(), text)


def _json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=_default))


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def licence_defaults(store: Store) -> list[str]:
    """A new clinic's instrument settings (:meth:`Catalogue.apply_licence_defaults`): the non-commercial
    instruments switched off; returns their ids."""
    from scoring.store import Actor, Clinic

    return Clinic(store).catalogue.apply_licence_defaults(Actor.system("cli"))


# -- db ------------------------------------------------------------------------------------------------------
def cmd_db_init(args: argparse.Namespace) -> int:
    with open_store(args, init=False) as store:
        new = store.is_empty()
        store.upgrade()
        off = licence_defaults(store) if new else []
        print(f"database ready at schema {store.current_revision()}: {store!r}")
        if off:
            print(f"a new clinic: non-commercial instruments are off until an admin enables them: {', '.join(off)}")
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    with open_store(args, init=False) as store:
        before = store.current_revision()
        store.upgrade()
        print(f"schema {before or 'empty'} → {store.current_revision()}")
    return EXIT_OK


def cmd_db_backup(args: argparse.Namespace) -> int:
    from scoring.store.db import file_mode

    with open_store(args, init=False) as store:
        store.require_current()
        path = store.backup(args.path)
        print(f"backup written to {path} (mode {file_mode(path):o})")
    return EXIT_OK


# -- users ---------------------------------------------------------------------------------------------------
def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise UsageError("no password on stdin")
        return line
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise UsageError("the passwords differ")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    from scoring.store.notify import check_email, check_url

    if args.email:  # checked before the account is made
        check_email(args.email)
    if args.webhook:
        check_url(args.webhook)
    password = _read_password(args)
    with open_clinic(args) as clinic:
        user = clinic.users.add(_system(), args.name, args.role, password)
        if args.email or args.webhook:
            clinic.notifications.set_contact(_system(), user.id, email=args.email, webhook_url=args.webhook)
        print(f"user {user.username} ({user.role}) created with id {user.id}")
    return EXIT_OK


def _contact_options(q: argparse.ArgumentParser) -> None:
    q.add_argument("--email", metavar="ADDRESS", help="e-mail address for alert notices")
    q.add_argument("--webhook", metavar="URL", help="personal webhook (Teams/Slack/EHR bridge) for alert notices")


def cmd_user_set(args: argparse.Namespace) -> int:
    with open_clinic(args) as clinic:
        user = clinic.users.by_name(_system(), args.name)
        c = clinic.notifications.set_contact(_system(), user.id, email=args.email, webhook_url=args.webhook,
                                             clear_email=args.no_email, clear_webhook=args.no_webhook)
    print(f"user {user.username}: e-mail {c.email or '—'}, webhook {c.webhook_url or '—'}")
    return EXIT_OK


def cmd_user_list(args: argparse.Namespace) -> int:
    with open_clinic(args) as clinic:
        users = clinic.users.list(_system())
    if args.json:
        _json([u.__dict__ for u in users])
        return EXIT_OK
    for u in users:
        state = "disabled" if u.disabled else "active"
        print(f"{u.id:>4}  {u.username:<24}{u.role:<12}{state}")
    return EXIT_OK


def cmd_user_toggle(args: argparse.Namespace) -> int:
    with open_clinic(args) as clinic:
        user = clinic.users.by_name(_system(), args.name)
        (clinic.users.enable if args.enable else clinic.users.disable)(_system(), user.id)
        print(f"user {user.username} {'enabled' if args.enable else 'disabled'}")
    return EXIT_OK


# -- patients, batteries, assignments -------------------------------------------------------------------------
def _patient_address_options(q: argparse.ArgumentParser) -> None:
    q.add_argument("--email", metavar="ADDRESS", help="the patient's e-mail address (where invitations go)")
    q.add_argument("--phone", metavar="NUMBER",
                   help="the patient's mobile number with its country code, e.g. '+44 20 7946 0958' (for SMS "
                        "invitations)")


def _check_patient_address(args: argparse.Namespace) -> None:
    """The e-mail and phone are checked before the database is opened (a bad one changes nothing)."""
    from scoring.store.patients import check_patient_email, check_phone

    check_patient_email(args.email)
    check_phone(args.phone)


def _sex_arg(text: str) -> str:
    """``--sex``: read with the one list of codes (:data:`scoring.definitions.respondent.SEX_WORDS`)."""
    try:
        sex = parse_sex(text)
    except SexValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return "" if sex is None else sex.value


def cmd_patient_add(args: argparse.Namespace) -> int:
    _check_patient_address(args)
    with open_clinic(args) as clinic:
        team = [clinic.users.by_name(_system(), name).id for name in args.therapist]
        pid = clinic.patients.add(_system(), args.name, date_of_birth=args.dob, sex=args.sex, contact=args.contact,
                                  external_id=args.external_id, email=args.email, phone=args.phone, therapists=team)
    print(pid)
    return EXIT_OK


def cmd_patient_edit(args: argparse.Namespace) -> int:
    _check_patient_address(args)
    changes: dict[str, object] = {key: getattr(args, key) for key in ("name", "sex", "contact", "external_id", "email",
                                                                      "phone") if getattr(args, key) is not None}
    if args.dob is not None:
        try:
            changes["date_of_birth"] = date.fromisoformat(args.dob.strip()) if args.dob.strip() else None
        except ValueError:
            raise UsageError(f"--dob: not a date: {args.dob!r}; write YYYY-MM-DD (or '' to clear it)") from None
    if not changes and not args.add_therapist and not args.remove_therapist:
        raise UsageError("nothing to change: give at least one of --name, --dob, --sex, --contact, --external-id, "
                         "--email, --phone, --add-therapist, --remove-therapist")
    with open_clinic(args) as clinic:
        pid = _patient_id(clinic, args.patient)
        adding = [clinic.users.by_name(_system(), name) for name in args.add_therapist]
        removing = [clinic.users.by_name(_system(), name).id for name in args.remove_therapist]
        for user in adding:  # checked before anything changes
            if user.role != "therapist" or user.disabled:
                raise UsageError(f"--add-therapist {user.username}: only enabled therapists join a care team "
                                 f"({user.username} is {'disabled' if user.disabled else 'a ' + user.role})")
        if changes:
            clinic.patients.update(_system(), pid, **changes)
        for user in adding:
            clinic.patients.add_to_care_team(_system(), pid, user.id)
        for uid in removing:
            clinic.patients.remove_from_care_team(_system(), pid, uid)
        team = clinic.patients.get(_system(), pid).therapist_ids
        names = sorted(clinic.users.get(_system(), uid).username for uid in team)
    fields = sorted(changes) + (["care team"] if adding or removing else [])
    print(f"patient {pid}: changed {', '.join(f.replace('_', ' ') for f in fields)}; care team: "
          f"{', '.join(names) or '—'}")
    return EXIT_OK


def cmd_patient_list(args: argparse.Namespace) -> int:
    with open_clinic(args) as clinic:
        rows = clinic.patients.listing(_system(), identifiers=args.show_names, archived=args.archived)
    if args.json:
        _json([{"id": r.id, "sex": r.sex, "birth_year": r.birth_year, "archived": not r.active,
                "care_team": list(r.care_team)} | ({"name": r.name, "external_id": r.external_id}
                                                   if args.show_names else {}) for r in rows])
        return EXIT_OK
    header = ["id", "sex", "born", "care team"] + (["name", "external id"] if args.show_names else [])
    table = [[str(r.id), r.sex or "", str(r.birth_year or ""), ", ".join(r.care_team) or "—"]
             + ([r.name or "", r.external_id or ""] if args.show_names else [])
             + (["(archived)"] if not r.active else []) for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, [*widths, 0], strict=False)).rstrip())
    print(f"{len(rows)} patient{'s' if len(rows) != 1 else ''}", file=sys.stderr)
    return EXIT_OK


def _language_file(option: str, spec: str) -> tuple[str, str]:
    """``LANG=FILE`` of a per-language text option: the language code and the file's text."""
    from scoring.store import StoreError
    from scoring.store.battery_texts import check_language

    lang, sep, name = spec.partition("=")
    if not sep or not name:
        raise UsageError(f"{option} {spec!r}: write it as LANG=FILE, e.g. {option} es=text_es.txt")
    try:
        lang = check_language(lang)
    except StoreError as exc:
        raise UsageError(f"{option} {spec!r}: {exc}") from exc
    path = Path(name)
    if not path.is_file():
        raise UsageError(f"{option} {spec!r}: no such file: {path}")
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise UsageError(f"{option} {spec!r}: {path} is empty")
    return lang, text


def cmd_battery_add(args: argparse.Namespace) -> int:
    consent = None
    if args.consent_file is not None:
        if not args.consent_file.is_file():
            raise UsageError(f"no such file: {args.consent_file}")
        consent = args.consent_file.read_text(encoding="utf-8").strip() or None
    translated: dict[str, dict[str, str]] = {}
    for option, kind, values in (("--instructions-in", "instructions", args.instructions_in),
                                 ("--consent-in", "consent_text", args.consent_in)):
        for spec in values:
            lang, text = _language_file(option, spec)
            translated.setdefault(lang, {})[kind] = text
    if consent is None and any("consent_text" in v for v in translated.values()):
        raise UsageError("--consent-in translates the consent text: give --consent-file too")
    with open_clinic(args) as clinic:
        b = clinic.batteries.add(_system(), args.name, args.instruments, instructions=args.instructions,
                                 consent_text=consent, description=args.description)
        for lang, texts in translated.items():
            clinic.battery_texts.set(_system(), b.id, lang, **texts)
    print(f"battery {b.name!r} (id {b.id}): {', '.join(i for i, _ in b.instruments)}"
          + (f"; consent text version {b.consent_version}" if b.consent_version else ""))
    return EXIT_OK


def cmd_battery_text(args: argparse.Namespace) -> int:
    texts: dict[str, str] = {}
    for option, kind, path in (("--instructions-file", "instructions", args.instructions_file),
                               ("--consent-file", "consent_text", args.consent_file)):
        if path is not None:
            texts[kind] = _language_file(option, f"{args.language}={path}")[1]
    if not texts:
        raise UsageError("give --instructions-file and/or --consent-file")
    with open_clinic(args) as clinic:
        tr = clinic.battery_texts.set(_system(), args.name, args.language, **texts)
    print(f"battery {args.name!r}: texts in {tr.language} saved"
          + ("" if tr.current else " (not shown yet: translate the instructions and the current consent too)"))
    return EXIT_OK


def _battery_json(b: Any) -> dict[str, Any]:
    return {"id": b.id, "name": b.name, "version": b.version, "previous_id": b.previous_id,
            "replaced_by": b.replaced_by, "retired_at": b.retired_at, "description": b.description,
            "instruments": list(b.instrument_specs), "instructions": b.instructions,
            "consent_version": b.consent_version, "assignments": b.assignments,
            "open_assignments": b.open_assignments}


def _split_ids(option: str, text: str) -> list[str]:
    ids = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not i for i in ids):
        raise UsageError(f"{option} {text!r}: write instrument ids separated by commas, e.g. phq9,gad7")
    return ids


def _print_edit(edit: Any, as_json: bool) -> None:
    b = edit.battery
    if as_json:
        _json({"battery": _battery_json(b), "versioned": edit.versioned, "changed": list(edit.changed),
               "previous": _battery_json(edit.previous) if edit.previous else None,
               "untranslated": list(edit.untranslated)})
        return
    if edit.previous is not None:
        p = edit.previous
        print(f"battery {p.name!r} is in use ({p.assignments} assignment{'s' if p.assignments != 1 else ''}, "
              f"{p.open_assignments} open): saved as version {b.version} (id {b.id}); version {p.version} "
              f"(id {p.id}) is retired and its assignments keep it")
    else:
        print(f"battery {b.name!r} (id {b.id}) changed in place (not assigned yet)")
    print(f"  changed: {', '.join(edit.changed)}")
    print(f"  instruments: {', '.join(b.instrument_specs)}")
    for lang in edit.untranslated:
        print(f"  the instructions in {lang} translated the old text and were dropped: "
              f"psyscore battery text {b.name!r} {lang} --instructions-file F")


def cmd_battery_edit(args: argparse.Namespace) -> int:
    from scoring.store.batteries import KEEP

    if args.no_consent and args.consent_file is not None:
        raise UsageError("give --consent-file or --no-consent, not both")
    options: dict[str, Any] = {}
    if args.new_name is not None:
        options["name"] = args.new_name
    if args.description is not None:
        options["description"] = args.description
    if args.instruments is not None:
        options["instruments"] = _split_ids("--instruments", args.instruments)
    if args.instructions is not None:
        options["instructions"] = args.instructions
    consent: Any = KEEP
    if args.consent_file is not None:
        if not args.consent_file.is_file():
            raise UsageError(f"--consent-file: no such file: {args.consent_file}")
        consent = args.consent_file.read_text(encoding="utf-8").strip()
        if not consent:
            raise UsageError(f"--consent-file: {args.consent_file} is empty (to ask for no consent: --no-consent)")
    elif args.no_consent:
        consent = None
    if not options and consent is KEEP:
        raise UsageError("nothing to change: give --name, --description, --instruments, --instructions, "
                         "--consent-file or --no-consent")
    with open_clinic(args) as clinic:
        edit = clinic.batteries.edit(_system(), args.name, consent_text=consent, **options)
    _print_edit(edit, args.json)
    return EXIT_OK


def cmd_battery_reorder(args: argparse.Namespace) -> int:
    order = _split_ids("order", args.order)
    with open_clinic(args) as clinic:
        edit = clinic.batteries.reorder(_system(), args.name, order)
    _print_edit(edit, args.json)
    return EXIT_OK


def cmd_battery_retire(args: argparse.Namespace) -> int:
    with open_clinic(args) as clinic:
        b = clinic.batteries.retire(_system(), args.name)
    print(f"battery {b.name!r} version {b.version} (id {b.id}) retired: it can no longer be assigned"
          + (f"; its {b.open_assignments} open assignment{'s' if b.open_assignments != 1 else ''} still work"
             if b.open_assignments else ""))
    return EXIT_OK


def cmd_battery_list(args: argparse.Namespace) -> int:
    with open_clinic(args) as clinic:
        rows = clinic.batteries.list(_system(), include_retired=args.all)
    if args.json:
        _json([_battery_json(b) for b in rows])
        return EXIT_OK
    table = [[str(b.id), b.name, str(b.version),
              "active" if b.active else f"retired {b.retired_at:%Y-%m-%d}"
              + (f" (→ id {b.replaced_by})" if b.replaced_by else ""),
              " ".join(b.instrument_specs)] for b in rows]
    header = ["id", "name", "version", "status", "instruments"]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        print("no batteries" + ("" if args.all else " (--all also lists retired ones)"), file=sys.stderr)
    return EXIT_OK


def _print_issued(issued: Any, as_json: bool) -> None:
    data = {"assignment_id": issued.assignment_id, "patient_id": issued.patient_id, "code": issued.code,
            "link_token": issued.token, "expires_at": issued.expires_at, "due_date": issued.due_date}
    if as_json:
        _json(data)
        return
    print(f"assignment {issued.assignment_id} for patient {issued.patient_id}")
    print(f"  code:       {issued.code}   (type on the tablet; valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC)")
    print(f"  link token: {issued.token}")
    if issued.due_date:
        print(f"  due:        {issued.due_date}")
    print("  shown once: only hashes are stored.")


def cmd_assign(args: argparse.Namespace) -> int:
    if bool(args.battery) == bool(args.instruments):
        raise UsageError("give --battery NAME or instrument ids, not both")
    with open_clinic(args) as clinic:
        pid = _patient_id(clinic, args.patient)
        issued = clinic.assignments.assign(_system(), pid, battery=args.battery, instruments=args.instruments,
                                           expires_in=args.expires, due=args.due, every=args.every,
                                           language=args.language)
        send_error = None
        if args.send:
            from scoring.store import StoreError

            try:
                clinic.notifications.invite(_system(), issued.assignment_id, args.send)
            except StoreError as exc:  # the code is still shown: it is the only copy
                send_error = str(exc)
    _print_issued(issued, args.json)
    if send_error:
        print(f"psyscore assign: error: the link was not sent: {send_error}", file=sys.stderr)
        return EXIT_ERROR
    if args.send and not args.json:
        print(f"  the link goes by {'e-mail' if args.send == 'email' else 'SMS'} through the outbox (a fresh link is "
              "made when it is sent): run 'psyscore notify run', or the web app delivers it")
    return EXIT_OK


def cmd_code(args: argparse.Namespace) -> int:
    with open_clinic(args) as clinic:
        issued = clinic.assignments.issue_code(_system(), args.assignment, expires_in=args.expires)
    _print_issued(issued, args.json)
    return EXIT_OK


# -- history, alerts, rescore, demo -------------------------------------------------------------------------------
HISTORY_FIELDS = ("date", "instrument", "instrument_version", "scale", "score", "band", "severity", "valid",
                  "previous_difference", "previous_classification", "baseline_difference", "baseline_classification")


def history_rows(clinic: Clinic, patient_id: int) -> list[dict[str, Any]]:
    """The patient's stored scores with change (``scoring.history`` over the pinned definitions)."""
    import pandas as pd

    stored = clinic.patients.history(_system(), patient_id)
    if stored.empty:
        return []
    frame = clinic.patients.change_history(_system(), patient_id)
    adm_ids = stored["administration_id"].to_numpy()
    rows = []
    for rec in frame.to_dict("records"):
        row: dict[str, Any] = {"administration_id": int(adm_ids[int(rec["source_row"])])}
        for key in HISTORY_FIELDS:
            value = rec[key]
            if value is None or value is pd.NA or (isinstance(value, float) and value != value):
                value = None
            elif isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            elif hasattr(value, "item"):
                value = value.item()
            row[key] = value
        rows.append(row)
    return rows


def cmd_history(args: argparse.Namespace) -> int:
    with open_clinic(args) as clinic:
        rows = history_rows(clinic, _patient_id(clinic, args.patient))
    if args.json:
        _json(rows)
        return EXIT_OK
    if not rows:
        print("no completed administrations")
        return EXIT_OK
    current = None
    for r in rows:
        key = (r["instrument"], r["scale"])
        if key != current:
            current = key
            print(f"\n{r['instrument']} {r['scale']}")
        score = "—" if r["score"] is None else f"{r['score']:g}"
        change = ""
        if r["previous_difference"] is not None:
            change = f"  Δ {r['previous_difference']:+g}"
        if r["baseline_classification"]:
            change += f"  since first: {r['baseline_difference']:+g} {r['baseline_classification'].replace('_', ' ')}"
        print(f"  {r['date']:%Y-%m-%d}  #{r['administration_id']:<6}{score:>6}  {r['band'] or '':<20}{change}")
    return EXIT_OK


def cmd_alerts(args: argparse.Namespace) -> int:
    with open_clinic(args) as clinic:
        alerts = clinic.alerts.list(_system(), include_resolved=args.all)
    if args.json:
        _json([a.__dict__ for a in alerts])
        return EXIT_OK
    if not alerts:
        print("no alerts")
        return EXIT_OK
    for a in alerts:
        changed = "" if a.still_critical else "  (answer since changed)"
        print(f"#{a.id:<5}{a.status:<13}patient {a.patient_id:<6}{a.instrument_id}/{a.item_id:<12}"
              f"{a.raised_at:%Y-%m-%d %H:%M}{changed}")
        print(f"       {a.message}")
    return EXIT_OK


def cmd_rescore(args: argparse.Namespace) -> int:
    with open_clinic(args) as clinic:
        report = clinic.rescore_check()
    if args.json:
        _json({"ok": report.ok, "administrations": report.administrations, "scores": report.scores,
               "mismatches": [m.__dict__ for m in report.mismatches]})
    else:
        for m in report.mismatches[:50]:
            print(f"administration {m.administration_id} ({m.instrument_id} {m.instrument_version}) {m.field}: "
                  f"stored {m.stored!r}, recomputed {m.recomputed!r}")
        if len(report.mismatches) > 50:
            print(f"… {len(report.mismatches) - 50} more")
        print(f"{report.administrations} administration(s), {report.scores} score(s) recomputed: "
              f"{len(report.mismatches)} mismatch(es)")
    return EXIT_OK if report.ok else EXIT_ERROR


def cmd_demo(args: argparse.Namespace) -> int:
    from scoring.store.demo import seed_demo

    with open_clinic(args) as clinic:
        if clinic.users.count():
            if args.if_empty:
                print("the database has users already: no demo seeded", file=sys.stderr)
                return EXIT_OK
            raise UsageError("the database is not empty; the demo seeds a new database only (use --if-empty)")
        summary = seed_demo(clinic.store, clinic.library,
                            progress=lambda line: print(f"  {line}", file=sys.stderr))
    print("DEMO CLINIC — synthetic data only. Demo accounts (DEMO PASSWORDS, shown once; never use for real data):")
    for name, password in summary.users.items():
        print(f"  {name:<10} {password}")
    print(f"{summary.patients} patients, {summary.administrations} administrations, {summary.open_alerts} open "
          f"alerts, {summary.events} events, {summary.assignments} assignments")
    print(f"Try the tablet with code {summary.kiosk_code}")
    return EXIT_OK
