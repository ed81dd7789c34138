"""Clinic store and administration service (SQLite file by default, PostgreSQL for a group practice).

``import scoring`` does not import this package (nor SQLAlchemy); import it explicitly::

    from scoring.store import Actor, Clinic, Store

    store = Store()                  # PSYSCORE_DATABASE_URL, else ./data/psyscore.db
    store.upgrade()                  # create or migrate the schema (Alembic, shipped in the package)
    clinic = Clinic(store)           # refuses library definitions that changed under a stored version
    me = clinic.users.authenticate("ada", password)
    clinic.patients.caseload(me.actor)

Patients use :attr:`Clinic.kiosk` with a one-time code; staff use the other services with their
:class:`Actor`. Results are frozen dataclasses (or DataFrames), never live database objects.
"""

from scoring.store.administration import (
    AdministrationInfo,
    Administrations,
    CompletionResult,
    ItemPrompt,
    OptionChoice,
    SavedAnswer,
    validate_answer,
)
from scoring.store.alerts import AlertActionInfo, AlertInfo, Alerts
from scoring.store.assignments import AssignmentInfo, Assignments, IssuedCode
from scoring.store.audit import Actor
from scoring.store.batteries import Batteries, BatteryEdit, BatteryInfo
from scoring.store.battery_texts import BatteryTexts, BatteryTranslation
from scoring.store.catalogue import Catalogue, InstrumentStatus
from scoring.store.clinic import AuditRow, Clinic
from scoring.store.context import AlertNotice
from scoring.store.db import ENV_DATABASE_URL, Store, default_url, normalize_url
from scoring.store.errors import (
    AccountLockedError,
    AdministrationClosedError,
    AnswerRejectedError,
    AuthenticationError,
    CodeInvalidError,
    ConflictError,
    ConsentRequiredError,
    DefinitionChangedError,
    NotFoundError,
    PermissionDeniedError,
    SchemaError,
    StoreError,
    TicketInvalidError,
    TooManyAttemptsError,
)
from scoring.store.kiosk import Kiosk, KioskSession
from scoring.store.notify import Claimed, ContactInfo, Delivery, NotificationInfo, Notifications, NotifyPolicy
from scoring.store.patients import EventInfo, PatientRecord, Patients, PatientSummary
from scoring.store.research import EXPORTABLE_TABLES, InstrumentCount, ResearchSource
from scoring.store.results import Mismatch, RescoreReport, ScaleScore
from scoring.store.security import RedeemPolicy, password_hasher
from scoring.store.sessions import SessionInfo, StaffSessions
from scoring.store.users import UserInfo, Users

__all__ = [
    "ENV_DATABASE_URL",
    "EXPORTABLE_TABLES",
    "AccountLockedError",
    "Actor",
    "AdministrationClosedError",
    "AdministrationInfo",
    "Administrations",
    "AlertActionInfo",
    "AlertInfo",
    "AlertNotice",
    "Alerts",
    "AnswerRejectedError",
    "AssignmentInfo",
    "Assignments",
    "AuditRow",
    "AuthenticationError",
    "Batteries",
    "BatteryEdit",
    "BatteryInfo",
    "BatteryTexts",
    "BatteryTranslation",
    "Catalogue",
    "Claimed",
    "Clinic",
    "CodeInvalidError",
    "CompletionResult",
    "ConflictError",
    "ConsentRequiredError",
    "ContactInfo",
    "DefinitionChangedError",
    "Delivery",
    "EventInfo",
    "InstrumentCount",
    "InstrumentStatus",
    "IssuedCode",
    "ItemPrompt",
    "Kiosk",
    "KioskSession",
    "Mismatch",
    "NotFoundError",
    "NotificationInfo",
    "Notifications",
    "NotifyPolicy",
    "OptionChoice",
    "PatientRecord",
    "PatientSummary",
    "Patients",
    "PermissionDeniedError",
    "RedeemPolicy",
    "RescoreReport",
    "ResearchSource",
    "SavedAnswer",
    "ScaleScore",
    "SchemaError",
    "SessionInfo",
    "StaffSessions",
    "Store",
    "StoreError",
    "TicketInvalidError",
    "TooManyAttemptsError",
    "UserInfo",
    "Users",
    "default_url",
    "normalize_url",
    "password_hasher",
    "validate_answer",
]
