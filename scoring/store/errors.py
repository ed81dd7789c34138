"""Errors raised by the clinic store. Messages never contain names, contact details or answers."""

from __future__ import annotations

from scoring.errors import PsyscoreError


class StoreError(PsyscoreError):
    """Base class of every error the store raises."""


class NotFoundError(StoreError):
    """A record does not exist (or the actor may not know that it exists)."""


class PermissionDeniedError(StoreError):
    """The actor may not do this (role, care team or a disabled account)."""


class AuthenticationError(StoreError):
    """Wrong user name or password, a disabled account, or a locked account (one message for all)."""


class AccountLockedError(AuthenticationError):
    """Too many failed logins: the account is locked until ``locked_until``."""

    def __init__(self, message: str, locked_until: object = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


class CodeInvalidError(StoreError):
    """A one-time code or link is unknown, used, expired or cancelled (one message for all)."""


class TooManyAttemptsError(StoreError):
    """Too many wrong codes from this client (or overall) in the current window; try again later."""


class TicketInvalidError(StoreError):
    """A kiosk ticket is unknown, expired, or its assignment is finished."""


class ConsentRequiredError(StoreError):
    """The battery has a consent text that the patient has not agreed to yet."""


class AnswerRejectedError(StoreError):
    """An answer failed validation against the pinned definition; nothing was stored.

    ``code`` is the failure code of :data:`scoring.engine.responses.FAILURE_CODES` (or ``unknown_item``,
    ``administration_closed``).
    """

    def __init__(self, message: str, code: str, item_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.item_id = item_id


class AdministrationClosedError(StoreError):
    """The administration is completed or cancelled and cannot change any more."""


class DefinitionChangedError(StoreError):
    """A library definition has the id and version of a stored one but different content."""


class SchemaError(StoreError):
    """The database is not initialised, or its schema is older or newer than this psyscore."""


class ConflictError(StoreError):
    """A uniqueness rule was violated (user name, battery name, external id …)."""
