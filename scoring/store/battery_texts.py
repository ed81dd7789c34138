"""A battery's instructions and consent text in other languages than its own.

The battery's own text (``batteries add --instructions/--consent-file``) is its default language. A
translation is shown on the tablet only when it covers every text the battery has — the instructions when
the battery has instructions, and the consent of the battery's *current* consent version when it asks for
consent; otherwise the tablet shows the default text whole, so one screen never mixes two languages. A
consent translation belongs to the consent version it translates: after a new consent version the old
translation is no longer shown until it is saved again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.store import audit
from scoring.store.audit import Actor
from scoring.store.batteries import find_battery
from scoring.store.context import Context
from scoring.store.errors import NotFoundError, StoreError
from scoring.store.models import Battery, BatteryText, ConsentText

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


@dataclass(frozen=True)
class BatteryTranslation:
    """One language's texts of a battery; ``current`` is False when it lacks a text the battery has now."""

    language: str
    instructions: str | None
    consent_text: str | None
    consent_version: int | None
    current: bool


@dataclass(frozen=True)
class ShownTexts:
    """What the tablet shows before the questionnaires: ``language`` is None for the battery's own text."""

    language: str | None
    instructions: str | None
    consent_text: str | None


def check_language(code: str) -> str:
    """A language code as stored (``es``, ``pt-BR``); raises :class:`StoreError` saying how to write one."""
    code = code.strip()
    if not _LANGUAGE.match(code):
        raise StoreError(f"language {code!r} is not a language code; write it like 'es' or 'pt-BR'")
    return code


def _current(b: Battery, row: BatteryText) -> bool:
    if b.instructions and not row.instructions:
        return False
    return b.consent_version is None or (bool(row.consent_text) and row.consent_version == b.consent_version)


def shown_texts(s: Session, b: Battery, language: str | None) -> ShownTexts:
    """The battery's texts for a patient who chose ``language``: the whole translation, else the default."""
    default_consent = None
    if b.consent_version is not None:
        default_consent = s.scalar(select(ConsentText.text).where(ConsentText.battery_id == b.id,
                                                                  ConsentText.version == b.consent_version))
    if language:
        rows = {r.language: r for r in s.scalars(select(BatteryText).where(BatteryText.battery_id == b.id))}
        row = rows.get(language) or rows.get(language.split("-")[0])
        if row is not None and _current(b, row) and (row.instructions or row.consent_text):
            return ShownTexts(row.language, row.instructions if b.instructions else None,
                              row.consent_text if b.consent_version is not None else None)
    return ShownTexts(None, b.instructions, default_consent)


class BatteryTexts:
    """Battery translations. Obtain from :attr:`scoring.store.Clinic.battery_texts`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @staticmethod
    def _find(s: Session, battery: int | str) -> Battery:
        """By id that version, by name its latest version (:func:`scoring.store.batteries.find_battery`)."""
        return find_battery(s, battery)

    def list(self, actor: Actor, battery: int | str) -> list[BatteryTranslation]:
        """Every translation of a battery, by language."""
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin", "therapist"))
            b = self._find(s, battery)
            rows = s.scalars(select(BatteryText).where(BatteryText.battery_id == b.id)
                             .order_by(BatteryText.language))
            return [BatteryTranslation(r.language, r.instructions, r.consent_text, r.consent_version, _current(b, r))
                    for r in rows]

    def set(self, actor: Actor, battery: int | str, language: str, *, instructions: str | None = None,
            consent_text: str | None = None) -> BatteryTranslation:
        """Save a battery's instructions and/or consent in ``language`` (admins and therapists); audited.

        The consent translation is tied to the battery's current consent version. Texts not given keep what
        was saved before for that language."""
        language = check_language(language)
        instructions = (instructions or "").strip() or None
        consent_text = (consent_text or "").strip() or None
        if instructions is None and consent_text is None:
            raise StoreError(f"nothing to save for language {language!r}: give the instructions or the consent text")
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_user(s, actor, ("admin", "therapist"))
            b = self._find(s, battery)
            if consent_text is not None and b.consent_version is None:
                raise StoreError(f"battery {b.name!r} asks for no consent; set its consent text first, "
                                 "then translate it")
            row = s.get(BatteryText, (b.id, language))
            if row is None:
                row = BatteryText(battery_id=b.id, language=language, updated_at=now)
                s.add(row)
            if instructions is not None:
                row.instructions = instructions
            if consent_text is not None:
                row.consent_text, row.consent_version = consent_text, b.consent_version
            row.updated_at = now
            s.flush()
            audit.record(s, now, actor, "battery_text_set", object_type="battery", object_id=b.id,
                         detail={"language": language, "instructions": instructions is not None,
                                 "consent_version": row.consent_version if consent_text is not None else None})
            return BatteryTranslation(row.language, row.instructions, row.consent_text, row.consent_version,
                                      _current(b, row))

    def remove(self, actor: Actor, battery: int | str, language: str) -> None:
        """Delete one language's texts (the tablet shows the default text to patients in that language)."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_user(s, actor, ("admin", "therapist"))
            b = self._find(s, battery)
            row = s.get(BatteryText, (b.id, language))
            if row is None:
                raise NotFoundError(f"battery {b.name!r} has no text in {language!r}")
            s.delete(row)
            audit.record(s, now, actor, "battery_text_removed", object_type="battery", object_id=b.id,
                         detail={"language": language})
