"""Which library instruments the clinic offers: enabled or switched off by an admin, with licence facts.

Every instrument of the library is enabled unless an admin switched it off (a row in ``instrument_settings``); a
new clinic starts with the non-commercial ones off (:meth:`Catalogue.apply_licence_defaults`, run whenever a
command creates a new database: ``psyscore db init``, ``psyscore app``, ``psyscore demo`` and any other command
opening a store that does not exist yet). A switched-off instrument cannot be put into a new battery or
assigned; stored administrations keep their scores. Instruments that ship without item text (``no_item_text``)
can be scored but never administered on the kiosk, whatever the setting.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.store import audit
from scoring.store.audit import Actor
from scoring.store.context import Context
from scoring.store.errors import NotFoundError, StoreError
from scoring.store.models import InstrumentSetting


@dataclass(frozen=True)
class InstrumentStatus:
    """One library instrument as the clinic offers it (latest version)."""

    id: str
    version: str
    name: str
    abbreviation: str | None
    items: int
    redistribution: str  # public_domain | attribution | non_commercial | no_item_text …
    commercial_use: str
    licence: str  # the licence statement
    has_item_text: bool  # False: scored only, never shown on the kiosk
    enabled: bool
    changed_at: datetime | None
    changed_by: int | None

    @property
    def administrable(self) -> bool:
        """Enabled and with item text: can be given on the kiosk."""
        return self.enabled and self.has_item_text

    @property
    def non_commercial(self) -> bool:
        return self.redistribution == "non_commercial"


def disabled_instruments(s: Session) -> set[str]:
    """Ids of the instruments an admin switched off."""
    return set(s.scalars(select(InstrumentSetting.instrument_id).where(InstrumentSetting.enabled.is_(False))))


def require_enabled(s: Session, instrument_ids: Iterable[str]) -> None:
    """Refuse instruments that an admin switched off (raises :class:`StoreError` naming them)."""
    off = sorted(set(instrument_ids) & disabled_instruments(s))
    if off:
        raise StoreError(f"{', '.join(off)} {'is' if len(off) == 1 else 'are'} switched off in this clinic; "
                         "an admin can enable it on the instruments page")


class Catalogue:
    """The clinic's instrument list. Obtain from :attr:`scoring.store.Clinic.catalogue`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def _status(self, instrument_id: str, row: InstrumentSetting | None) -> InstrumentStatus:
        d = self._ctx.library[instrument_id]
        ins = d.instrument
        return InstrumentStatus(
            id=d.id, version=d.version, name=ins.name, abbreviation=ins.abbreviation, items=len(ins.items),
            redistribution=str(ins.licence.redistribution), commercial_use=str(ins.licence.commercial_use),
            licence=ins.licence.statement.strip(), has_item_text=all(i.text is not None for i in ins.items),
            enabled=row.enabled if row is not None else True,
            changed_at=row.changed_at if row is not None else None,
            changed_by=row.changed_by if row is not None else None,
        )

    def list(self, actor: Actor) -> list[InstrumentStatus]:
        """Every library instrument (latest version) with its licence facts and whether it is enabled."""
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin", "therapist"))
            rows = {r.instrument_id: r for r in s.scalars(select(InstrumentSetting))}
        return [self._status(i, rows.get(i)) for i in sorted(self._ctx.library)]

    def apply_licence_defaults(self, actor: Actor) -> builtins.list[str]:
        """A new clinic's defaults: every non-commercial instrument without a setting is switched off (an admin
        enables it after reading its licence). Instruments already set are left alone; returns those switched
        off; audited."""
        now = self._ctx.store.now()
        off: list[str] = []
        with self._ctx.store.write() as s:
            user = audit.require_user(s, actor, ("admin",))
            have = set(s.scalars(select(InstrumentSetting.instrument_id)))
            for instrument_id in sorted(self._ctx.library):
                if instrument_id in have:
                    continue
                if str(self._ctx.library[instrument_id].instrument.licence.redistribution) == "non_commercial":
                    s.add(InstrumentSetting(instrument_id=instrument_id, enabled=False, changed_at=now,
                                            changed_by=user.id if user else None))
                    off.append(instrument_id)
            if off:
                audit.record(s, now, actor, "instrument_licence_defaults", object_type="instrument",
                             detail={"disabled": off})
        return off

    def set_enabled(self, actor: Actor, instrument_id: str, enabled: bool) -> InstrumentStatus:
        """Switch an instrument on or off (admins); audited."""
        if instrument_id not in self._ctx.library:
            raise NotFoundError(f"no instrument {instrument_id!r} in the library")
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            user = audit.require_user(s, actor, ("admin",))
            row = s.get(InstrumentSetting, instrument_id)
            if row is None:
                row = InstrumentSetting(instrument_id=instrument_id, enabled=enabled, changed_at=now)
                s.add(row)
            row.enabled, row.changed_at, row.changed_by = enabled, now, user.id if user else None
            s.flush()
            audit.record(s, now, actor, "instrument_enabled" if enabled else "instrument_disabled",
                         object_type="instrument", object_id=instrument_id)
            return self._status(instrument_id, row)
