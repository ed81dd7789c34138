"""The tablet's support/crisis message per language: an admin setting in the store over a deployment default.

What the tablet shows after a critical answer, in the patient's language, is the first of

1. the text an admin saved for that language (:meth:`KioskSettings.set_support_message`, audited);
2. the deployment default from the environment (:func:`support_defaults`:
   ``PSYSCORE_KIOSK_SUPPORT_MESSAGE`` or the file named by ``PSYSCORE_KIOSK_SUPPORT_FILE`` for English, the
   same names with ``_ES`` etc. for the other shipped languages);
3. the message catalogue's ``support_default`` (which names no phone number: set your crisis line).

A support file named in the environment that cannot be read, is not UTF-8 or is empty is an error that
names the file and says why (:class:`SupportFileError`), raised where the settings are read — ``psyscore
app`` checks it before the server starts — never a silent fall back to the shipped text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from scoring import messages
from scoring.store import audit
from scoring.store.audit import Actor
from scoring.store.context import Context
from scoring.store.errors import StoreError
from scoring.store.models import KioskSupportMessage

ENV_SUPPORT = "PSYSCORE_KIOSK_SUPPORT_MESSAGE"
ENV_SUPPORT_FILE = "PSYSCORE_KIOSK_SUPPORT_FILE"
#: the longest support message an admin may save (it must fit one tablet screen)
MAX_CHARS = 2000


class SupportFileError(StoreError):
    """A support-message file named in the environment cannot be used (which file, why, how to fix)."""


@dataclass(frozen=True)
class SupportMessage:
    """The support message of one shipped language: what the tablet shows and where it comes from.

    ``source`` is ``"clinic"`` (saved by an admin), ``"environment"`` (the deployment default) or
    ``"shipped"`` (the catalogue's default)."""

    language: str
    text: str
    source: str
    updated_at: datetime | None = None


def env_names(language: str) -> tuple[str, str]:
    """The environment variables of ``language``'s default: (message, file)."""
    suffix = "" if language == messages.REFERENCE else "_" + language.upper()
    return ENV_SUPPORT + suffix, ENV_SUPPORT_FILE + suffix


def _read_file(variable: str, path: str) -> str:
    fix = f"fix the file or unset {variable}"
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise SupportFileError(f"{variable}={path}: the support message file does not exist; {fix}") from None
    except IsADirectoryError:
        raise SupportFileError(f"{variable}={path}: is a folder, not a text file; {fix}") from None
    except OSError as exc:
        raise SupportFileError(f"{variable}={path}: cannot be read ({exc.strerror or exc}); {fix}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SupportFileError(f"{variable}={path}: byte {exc.start} is not UTF-8; save the file as UTF-8 "
                               f"or unset {variable}") from None
    text = text.strip()
    if not text:
        raise SupportFileError(f"{variable}={path}: the file is empty; write the clinic's support message "
                               f"in it or unset {variable}")
    return text


def support_defaults(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The deployment's support messages by shipped language, from the environment.

    A message given directly wins over a file. Raises :class:`SupportFileError` when a file named there
    cannot be used (missing, unreadable, not UTF-8, empty)."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for code in messages.shipped_languages():
        text_var, file_var = env_names(code)
        text = env.get(text_var, "").strip()
        path = env.get(file_var, "").strip()
        if path:
            from_file = _read_file(file_var, path)  # checked even when the text is also given: no silent typo
            text = text or from_file
        if text:
            found[code] = text
    return found


def _check_language(language: str) -> str:
    code = (language or "").strip().lower()
    shipped = messages.shipped_languages()
    if code not in shipped:
        raise StoreError(f"language {language!r} has no tablet catalogue; choose one of {', '.join(shipped)}")
    return code


class KioskSettings:
    """Kiosk settings an admin changes in the app. Obtain from :attr:`scoring.store.Clinic.kiosk_settings`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def stored_support_messages(self) -> dict[str, str]:
        """The support messages admins saved, by language (read by the tablet: no staff actor, nothing
        patient-related; not audited)."""
        with self._ctx.store.read() as s:
            return {row.language: row.text for row in s.scalars(select(KioskSupportMessage))}

    def support_message(self, language: str | None, defaults: Mapping[str, str] | None = None) -> str:
        """The support message the tablet shows in ``language``: saved by an admin, else ``defaults`` (the
        deployment's, from :func:`support_defaults`), else the catalogue's default."""
        return self._resolve(messages.resolve_language(language), self.stored_support_messages(),
                             defaults or {}).text

    @staticmethod
    def _resolve(code: str, stored: Mapping[str, str], defaults: Mapping[str, str],
                 updated: Mapping[str, datetime] | None = None) -> SupportMessage:
        if stored.get(code):
            return SupportMessage(code, stored[code], "clinic", (updated or {}).get(code))
        if defaults.get(code):
            return SupportMessage(code, defaults[code], "environment")
        return SupportMessage(code, messages.message("support_default", code), "shipped")

    def support_messages(self, actor: Actor, defaults: Mapping[str, str] | None = None) -> list[SupportMessage]:
        """Every shipped language's support message and its source (admins)."""
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin",))
            rows = list(s.scalars(select(KioskSupportMessage)))
        stored = {r.language: r.text for r in rows}
        updated = {r.language: r.updated_at for r in rows}
        return [self._resolve(code, stored, defaults or {}, updated) for code in messages.shipped_languages()]

    def set_support_message(self, actor: Actor, language: str, text: str) -> SupportMessage:
        """Save the clinic's support message in ``language`` (admins); audited with the old and new text."""
        code = _check_language(language)
        text = (text or "").strip()
        if not text:
            raise StoreError(f"the support message in {code!r} is empty; write the clinic's message (e.g. who "
                             "to tell and the crisis line to call), or use the deployment default")
        if len(text) > MAX_CHARS:
            raise StoreError(f"the support message in {code!r} has {len(text)} characters; keep it to "
                             f"{MAX_CHARS} so it fits one tablet screen")
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_user(s, actor, ("admin",))
            row = s.get(KioskSupportMessage, code)
            before = row.text if row is not None else None
            if row is None:
                row = KioskSupportMessage(language=code, text=text, updated_at=now, updated_by=actor.user_id)
                s.add(row)
            else:
                row.text, row.updated_at, row.updated_by = text, now, actor.user_id
            audit.record(s, now, actor, "kiosk_support_message_set", object_type="kiosk_support_message",
                         object_id=code, detail={"language": code, "before": before, "after": text})
        return SupportMessage(code, text, "clinic", now)

    def clear_support_message(self, actor: Actor, language: str) -> bool:
        """Remove the clinic's message in ``language`` (admins): the deployment default applies again.
        Audited; False when nothing was saved."""
        code = _check_language(language)
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_user(s, actor, ("admin",))
            row = s.get(KioskSupportMessage, code)
            if row is None:
                return False
            before = row.text
            s.delete(row)
            audit.record(s, now, actor, "kiosk_support_message_cleared", object_type="kiosk_support_message",
                         object_id=code, detail={"language": code, "before": before})
        return True
