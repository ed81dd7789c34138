"""Batteries: named, ordered lists of instruments, with instructions and an optional consent text.

A battery that is **in use** (an assignment refers to it, so administrations and consents may too) is never
changed: :meth:`Batteries.edit` and :meth:`Batteries.reorder` then add a new version (``version`` + 1,
``previous_id`` → the version it replaces) and retire the old one, so every stored assignment still says which
instruments, in which order, with which instructions were asked. A battery nobody has been assigned yet is
edited in place. A retired battery takes no new assignments; its open assignments and history keep working.

A new consent text given to :meth:`Batteries.edit` is versioned like any other change. The older
:meth:`Batteries.set_consent` adds a *consent text version* to the battery itself: each agreement records the
version and hash it agreed to, and patients of open assignments who have not agreed yet see the new text.
A recurring assignment's next occurrence takes the battery's current version (:func:`current_version`); a
retired battery ends the series.

Names are unique across batteries: every version of one battery may carry its name (a rename is a new
version when in use), and a name used by another battery, current or retired, is refused. Looking a battery
up by name gives its latest version; by id, exactly that version.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scoring.store import audit
from scoring.store.audit import Actor
from scoring.store.catalogue import require_enabled
from scoring.store.context import Context
from scoring.store.errors import ConflictError, NotFoundError, StoreError
from scoring.store.models import Assignment, Battery, BatteryInstrument, BatteryText, ConsentText

NAME_MAX = 100
ADHOC_PREFIX = "adhoc:"


@dataclass(frozen=True)
class BatteryInfo:
    """One version of a battery, as stored, with how often it was assigned."""

    id: int
    name: str
    instruments: tuple[tuple[str, str | None], ...]  # (instrument id, pinned version or None = latest)
    instructions: str | None
    consent_text: str | None
    consent_version: int | None
    adhoc: bool
    description: str | None = None
    version: int = 1
    previous_id: int | None = None  # the version this one replaced
    replaced_by: int | None = None  # the version that replaced this one
    retired_at: datetime | None = None
    assignments: int = 0  # assignments of this version, any status
    open_assignments: int = 0  # of which neither completed nor cancelled

    @property
    def active(self) -> bool:
        """Whether it can be assigned (not retired)."""
        return self.retired_at is None

    @property
    def in_use(self) -> bool:
        """Whether an edit makes a new version (an assignment refers to this one)."""
        return self.assignments > 0

    @property
    def label(self) -> str:
        """``name``, with ``(version N)`` from version 2 on."""
        return self.name if self.version == 1 else f"{self.name} (version {self.version})"

    @property
    def instrument_specs(self) -> tuple[str, ...]:
        """The instruments as written on input: ``phq9``, or ``phq9@1.0.0`` when a version is pinned."""
        return tuple(f"{i}@{v}" if v else i for i, v in self.instruments)


@dataclass(frozen=True)
class BatteryEdit:
    """What an edit did: ``battery`` is the version to use from now on (``previous`` was retired if not None)."""

    battery: BatteryInfo
    previous: BatteryInfo | None  # set when the battery was in use and a new version was made
    changed: tuple[str, ...]  # field names: name, description, instruments, instructions, consent
    untranslated: tuple[str, ...] = ()  # languages whose instructions translation was dropped (text changed)

    @property
    def versioned(self) -> bool:
        return self.previous is not None


class Keep(Enum):
    """The default of :meth:`Batteries.edit` options: leave that field as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


def _usage(s: Session, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    if not ids:
        return {}
    is_open = case((Assignment.completed_at.is_(None) & Assignment.cancelled_at.is_(None), 1), else_=0)
    rows = s.execute(select(Assignment.battery_id, func.count(), func.sum(is_open))
                     .where(Assignment.battery_id.in_(ids)).group_by(Assignment.battery_id)).all()
    return {bid: (int(n), int(n_open or 0)) for bid, n, n_open in rows}


def _infos(s: Session, batteries: Sequence[Battery]) -> list[BatteryInfo]:
    ids = [b.id for b in batteries]
    usage = _usage(s, ids)
    successors = dict(s.execute(select(Battery.previous_id, Battery.id).where(Battery.previous_id.in_(ids))).all()
                      ) if ids else {}
    return [_info(s, b, usage.get(b.id, (0, 0)), successors.get(b.id)) for b in batteries]


def _info(s: Session, b: Battery, usage: tuple[int, int], replaced_by: int | None) -> BatteryInfo:
    items = s.execute(select(BatteryInstrument.instrument_id, BatteryInstrument.version)
                      .where(BatteryInstrument.battery_id == b.id).order_by(BatteryInstrument.position)).all()
    consent = None
    if b.consent_version is not None:
        consent = s.scalar(select(ConsentText.text).where(ConsentText.battery_id == b.id,
                                                          ConsentText.version == b.consent_version))
    return BatteryInfo(b.id, b.name, tuple((i, v) for i, v in items), b.instructions, consent, b.consent_version,
                       b.adhoc, b.description, b.version, b.previous_id, replaced_by, b.retired_at, *usage)


def battery_info(s: Session, b: Battery) -> BatteryInfo:
    """The :class:`BatteryInfo` of one stored battery version."""
    return _infos(s, [b])[0]


def find_battery(s: Session, battery: int | str, *, lock: bool = False) -> Battery:
    """A battery by id (that version) or by name (its latest version); ``lock`` takes a row lock for a change."""
    if isinstance(battery, int):
        q = select(Battery).where(Battery.id == battery)
    else:
        q = select(Battery).where(Battery.name == battery).order_by(Battery.version.desc()).limit(1)
    b = s.scalar(q.with_for_update() if lock else q)
    if b is None:
        if isinstance(battery, str):
            names = list(s.scalars(select(Battery.name).where(Battery.adhoc.is_(False), Battery.retired_at.is_(None))
                                   .order_by(Battery.name)))
            hint = f"; batteries: {', '.join(names)}" if names else "; there are no batteries yet"
            raise NotFoundError(f"no battery named {battery!r}{hint}")
        raise NotFoundError(f"no battery with id {battery}")
    return b


def _successor(s: Session, b: Battery) -> Battery | None:
    return s.scalar(select(Battery).where(Battery.previous_id == b.id))


def current_version(s: Session, battery_id: int) -> Battery | None:
    """The newest version of a battery (itself when never replaced); None when that version is retired.

    A recurring assignment's next occurrence is made from it: an edited battery recurs as its new version,
    a retired one ends the series.
    """
    b = s.get(Battery, battery_id)
    while b is not None and (newer := _successor(s, b)) is not None:
        b = newer
    return b if b is not None and b.retired_at is None else None


def assignable_battery(s: Session, battery: int | str) -> Battery:
    """The battery for a new assignment: refused with what to do when it is retired or was replaced.

    The row is share-locked so that an edit in place cannot run while the assignment is being made.
    """
    b = find_battery(s, battery)
    b = s.scalar(select(Battery).where(Battery.id == b.id).with_for_update(read=True)) or b
    if b.retired_at is not None:
        newer = _successor(s, b)
        while newer is not None and newer.retired_at is not None:
            newer = _successor(s, newer)
        what = f"battery {b.name!r} version {b.version} (id {b.id})"
        if newer is not None:
            raise StoreError(f"{what} was replaced by version {newer.version} ({newer.name!r}, id {newer.id}) on "
                             f"{b.retired_at:%Y-%m-%d}: assign that one")
        raise StoreError(f"{what} was retired on {b.retired_at:%Y-%m-%d} and takes no new assignments; "
                         "pick an active battery ('psyscore battery list')")
    return b


def _require_editable(s: Session, b: Battery) -> None:
    if b.adhoc:
        raise StoreError("instruments assigned without a battery cannot be edited; add a battery")
    if b.retired_at is not None:
        newer = _successor(s, b)
        raise StoreError(f"battery {b.name!r} version {b.version} is retired"
                         + (f"; edit its current version {newer.version} (id {newer.id})" if newer
                            else "; add a new battery instead"))


def _clean(text: str | None) -> str | None:
    return (text or "").strip() or None


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise StoreError("a battery needs a name")
    if len(name) > NAME_MAX:
        raise StoreError(f"a battery name has at most {NAME_MAX} characters ({len(name)} given)")
    if name.startswith(ADHOC_PREFIX):
        raise StoreError(f"a battery name may not start with {ADHOC_PREFIX!r} (kept for instruments assigned "
                         "without a battery)")
    return name


def _lineage(s: Session, b: Battery) -> list[Battery]:
    """``b`` and every version before it, newest first."""
    out = [b]
    while out[-1].previous_id is not None:
        prev = s.get(Battery, out[-1].previous_id)
        if prev is None:  # pragma: no cover - a foreign key keeps it
            break
        out.append(prev)
    return out


def _require_free_name(s: Session, name: str, own: Sequence[Battery] = ()) -> None:
    other = s.scalar(select(Battery).where(Battery.name == name, Battery.id.not_in([b.id for b in own] or [-1]))
                     .order_by(Battery.version.desc()).limit(1))
    if other is not None:
        state = f"retired on {other.retired_at:%Y-%m-%d}" if other.retired_at else "active"
        raise ConflictError(f"a battery named {name!r} exists (id {other.id}, version {other.version}, {state}); "
                            "choose another name")


def _next_consent_version(s: Session, battery_id: int, current: int | None) -> int:
    """After the current one and after any stored (a consent removed and given again gets a new number)."""
    stored = s.scalar(select(func.max(ConsentText.version)).where(ConsentText.battery_id == battery_id)) or 0
    return max(current or 0, stored) + 1


def _add_consent(s: Session, battery_id: int, version: int, text: str, now: datetime) -> None:
    s.add(ConsentText(battery_id=battery_id, version=version, text=text,
                      text_hash=hashlib.sha256(text.encode()).hexdigest(), created_at=now))


class Batteries:
    """Named batteries and their versions. Obtain from :attr:`scoring.store.Clinic.batteries`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def _check_instruments(self, instruments: Sequence[str]) -> list[tuple[str, str | None]]:
        if not instruments:
            raise StoreError("a battery needs at least one instrument")
        out: list[tuple[str, str | None]] = []
        for spec in instruments:
            instrument_id, _, version = spec.strip().partition("@")
            definition = self._ctx.library.get_version(instrument_id, version or None)
            if any(item.text is None for item in definition.instrument.items):
                licence = definition.instrument.licence.redistribution
                raise StoreError(f"{instrument_id} ships without item text ({licence}): it can be scored but not "
                                 "administered on the kiosk; add a licensed definition "
                                 "with item text to your own definitions folder")
            if any(i == instrument_id for i, _ in out):
                raise StoreError(f"{instrument_id} is listed twice; a battery gives each instrument once")
            out.append((instrument_id, version or None))
        return out

    def add(self, actor: Actor, name: str, instruments: Sequence[str], *, instructions: str | None = None,
            consent_text: str | None = None, description: str | None = None) -> BatteryInfo:
        """Create a battery. ``instruments`` are ids in order (``"phq9"``, or ``"phq9@1.0.0"`` to pin a version)."""
        name = _check_name(name)
        items = self._check_instruments(instruments)
        now = self._ctx.store.now()
        try:
            with self._ctx.store.write() as s:
                user = audit.require_user(s, actor, ("admin", "therapist"))
                require_enabled(s, [i for i, _ in items])
                _require_free_name(s, name)
                b = self._create(s, name, items, _clean(instructions), _clean(consent_text), now,
                                 user.id if user else None, description=_clean(description))
                audit.record(s, now, actor, "battery_created", object_type="battery", object_id=b.id,
                             detail={"instruments": [i for i, _ in items]})
                return battery_info(s, b)
        except IntegrityError as exc:  # the same name added at the same moment
            raise ConflictError(f"a battery named {name!r} exists") from exc

    @staticmethod
    def _create(s: Session, name: str, items: list[tuple[str, str | None]], instructions: str | None,
                consent_text: str | None, now: datetime, user_id: int | None, adhoc: bool = False, *,
                description: str | None = None) -> Battery:
        b = Battery(name=name, instructions=instructions, created_at=now, created_by=user_id, adhoc=adhoc,
                    description=description, version=1)
        s.add(b)
        s.flush()
        for pos, (instrument_id, version) in enumerate(items):
            s.add(BatteryInstrument(battery_id=b.id, position=pos, instrument_id=instrument_id, version=version))
        if consent_text:
            _add_consent(s, b.id, 1, consent_text, now)
            s.flush()
            b.consent_version = 1
        s.flush()
        return b

    def set_consent(self, actor: Actor, battery: int | str, text: str) -> BatteryInfo:
        """Replace the consent text: a new text version; agreements keep the version they agreed to."""
        text = text.strip()
        if not text:
            raise StoreError("the consent text is empty; to ask for no consent, edit the battery")
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_user(s, actor, ("admin", "therapist"))
            b = find_battery(s, battery, lock=True)
            if b.retired_at is not None:
                raise StoreError(f"battery {b.name!r} version {b.version} is retired; change its current version")
            version = _next_consent_version(s, b.id, b.consent_version)
            _add_consent(s, b.id, version, text, now)
            s.flush()
            b.consent_version = version
            audit.record(s, now, actor, "battery_consent_changed", object_type="battery", object_id=b.id,
                         detail={"version": version})
            return battery_info(s, b)

    def get(self, actor: Actor, battery: int | str) -> BatteryInfo:
        """One battery: by id that version, by name its latest version."""
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin", "therapist"))
            return battery_info(s, find_battery(s, battery))

    def list(self, actor: Actor, *, include_adhoc: bool = False, include_retired: bool = False) -> list[BatteryInfo]:
        """Batteries by name: the active ones (what can be assigned), or every version with ``include_retired``."""
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin", "therapist"))
            q = select(Battery).order_by(Battery.name, Battery.version.desc())
            if not include_adhoc:
                q = q.where(Battery.adhoc.is_(False))
            if not include_retired:
                q = q.where(Battery.retired_at.is_(None))
            return _infos(s, list(s.scalars(q)))

    def history(self, actor: Actor, battery: int | str) -> builtins.list[BatteryInfo]:
        """Every version of a battery, newest first (``battery`` may name or be any of them)."""
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin", "therapist"))
            b = find_battery(s, battery)
            newer = _successor(s, b)
            while newer is not None:
                b, newer = newer, _successor(s, newer)
            return _infos(s, _lineage(s, b))

    def edit(self, actor: Actor, battery: int | str, *, name: str | None = None,
             description: str | Keep | None = KEEP,
             instruments: Sequence[str] | None = None, instructions: str | Keep | None = KEEP,
             consent_text: str | Keep | None = KEEP) -> BatteryEdit:
        """Change a battery (admins). Only what is given changes; ``""`` or None clears a description,
        instructions or consent text (no consent asked).

        In use (assigned at least once): a new version is made with the change and the old one is retired; its
        assignments keep it. Not in use: changed in place. Changed instructions drop the instructions of its
        translations (they translated the old text); a new consent text is a new consent version. Audited
        with the names of the fields changed.
        """
        return self._edit(actor, battery, name=name, description=description, instruments=instruments,
                          instructions=instructions, consent_text=consent_text)

    def reorder(self, actor: Actor, battery: int | str, order: Sequence[str]) -> BatteryEdit:
        """Put the battery's instruments in ``order`` (each of its instrument ids once; ``id@version`` also
        matches). Like :meth:`edit`: a battery in use gets a new version."""
        wanted = [o.strip() for o in order if o.strip()]
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin",))
            b = find_battery(s, battery)
            _require_editable(s, b)
            current = battery_info(s, b).instruments
        by_id = {i: f"{i}@{v}" if v else i for i, v in current}
        specs: list[str] = []
        unknown = []
        for w in wanted:
            instrument_id = w.partition("@")[0]
            if instrument_id not in by_id or (w != instrument_id and w != by_id[instrument_id]):
                unknown.append(w)
            elif by_id[instrument_id] in specs:
                raise StoreError(f"{instrument_id} is given twice in the new order")
            else:
                specs.append(by_id[instrument_id])
        missing = [i for i, spec in by_id.items() if spec not in specs]
        if unknown or missing:
            parts = ([f"not in the battery: {', '.join(unknown)}"] if unknown else []) + (
                [f"missing: {', '.join(missing)}"] if missing else [])
            raise StoreError(f"the new order must list each of the battery's instruments once ({'; '.join(parts)}); "
                             f"it has {', '.join(by_id.values())}")
        if specs == list(by_id.values()):
            raise StoreError(f"the instruments are already in this order: {', '.join(specs)}")
        return self._edit(actor, battery, instruments=specs, action="battery_reordered")

    def _edit(self, actor: Actor, battery: int | str, *, name: str | None = None,
              description: str | Keep | None = KEEP,
              instruments: Sequence[str] | None = None, instructions: str | Keep | None = KEEP,
              consent_text: str | Keep | None = KEEP,
              action: str = "battery_edited") -> BatteryEdit:
        items = self._check_instruments(instruments) if instruments is not None else None
        now = self._ctx.store.now()
        try:
            with self._ctx.store.write() as s:
                user = audit.require_user(s, actor, ("admin",))
                b = find_battery(s, battery, lock=True)
                _require_editable(s, b)
                before = battery_info(s, b)
                new_name = _check_name(name) if name is not None else b.name
                new_description = b.description if description is KEEP else _clean(description)
                new_instructions = (b.instructions if instructions is KEEP
                                    else _clean(instructions))
                new_consent = (before.consent_text if consent_text is KEEP
                               else _clean(consent_text))
                new_items = items if items is not None else list(before.instruments)
                changed = tuple(field for field, old, new in (
                    ("name", b.name, new_name), ("description", b.description, new_description),
                    ("instruments", list(before.instruments), new_items),
                    ("instructions", b.instructions, new_instructions),
                    ("consent", before.consent_text, new_consent)) if old != new)
                if not changed:
                    raise StoreError(f"nothing to change: battery {b.name!r} already is as given")
                lineage = _lineage(s, b)
                if "name" in changed:
                    _require_free_name(s, new_name, lineage)
                if "instruments" in changed:
                    added = {i for i, _ in new_items} - {i for i, _ in before.instruments}
                    require_enabled(s, sorted(added))
                target = b
                if before.in_use:
                    target = Battery(name=new_name, instructions=new_instructions, description=new_description,
                                     adhoc=False, created_at=now, created_by=user.id if user else None,
                                     version=b.version + 1, previous_id=b.id)
                    s.add(target)
                    s.flush()
                    if b.consent_version is not None and "consent" not in changed:  # the same text, same number
                        _add_consent(s, target.id, b.consent_version, before.consent_text or "", now)
                        s.flush()
                        target.consent_version = b.consent_version
                    b.retired_at = now
                else:
                    target.name, target.description, target.instructions = new_name, new_description, new_instructions
                    if "instruments" in changed:
                        for row in s.scalars(select(BatteryInstrument).where(BatteryInstrument.battery_id == b.id)):
                            s.delete(row)
                        s.flush()
                if before.in_use or "instruments" in changed:
                    for pos, (instrument_id, version) in enumerate(new_items):
                        s.add(BatteryInstrument(battery_id=target.id, position=pos, instrument_id=instrument_id,
                                                version=version))
                if "consent" in changed:
                    if new_consent is None:
                        target.consent_version = None
                    else:
                        consent_version = _next_consent_version(s, target.id, b.consent_version)
                        _add_consent(s, target.id, consent_version, new_consent, now)
                        s.flush()
                        target.consent_version = consent_version
                untranslated = self._carry_translations(s, b, target, "instructions" in changed, now)
                s.flush()
                detail: dict[str, object] = {"fields": list(changed), "version": target.version}
                if before.in_use:
                    detail["previous_id"] = b.id
                    audit.record(s, now, actor, "battery_retired", object_type="battery", object_id=b.id,
                                 detail={"replaced_by": target.id, "open_assignments": before.open_assignments})
                audit.record(s, now, actor, action, object_type="battery", object_id=target.id, detail=detail)
                after = battery_info(s, target)
                return BatteryEdit(after, battery_info(s, b) if before.in_use else None, changed, untranslated)
        except IntegrityError as exc:  # another admin changed it at the same moment
            raise ConflictError("the battery was changed by someone else at the same moment; look again and "
                                "repeat the change") from exc

    @staticmethod
    def _carry_translations(s: Session, old: Battery, new: Battery, instructions_changed: bool,
                            now: datetime) -> tuple[str, ...]:
        """Copy (new version) or keep (in place) the translations; drop those of instructions that changed."""
        dropped = []
        for row in list(s.scalars(select(BatteryText).where(BatteryText.battery_id == old.id)
                                  .order_by(BatteryText.language))):
            instructions = row.instructions
            if instructions_changed and instructions:
                instructions = None
                dropped.append(row.language)
            consent = row.consent_text if new.consent_version is not None else None
            if new.id != old.id:
                if instructions or consent:
                    s.add(BatteryText(battery_id=new.id, language=row.language, instructions=instructions,
                                      consent_text=consent, consent_version=row.consent_version if consent else None,
                                      updated_at=now))
            elif instructions or row.consent_text:
                row.instructions = instructions
            else:
                s.delete(row)
        return tuple(dropped)

    def retire(self, actor: Actor, battery: int | str) -> BatteryInfo:
        """Retire a battery (admins): no new assignments; open ones and the history keep it. Audited."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_user(s, actor, ("admin",))
            b = find_battery(s, battery, lock=True)
            if b.adhoc:
                raise StoreError("instruments assigned without a battery cannot be retired")
            if b.retired_at is not None:
                raise StoreError(f"battery {b.name!r} version {b.version} was already retired on "
                                 f"{b.retired_at:%Y-%m-%d}")
            b.retired_at = now
            s.flush()
            info = battery_info(s, b)
            audit.record(s, now, actor, "battery_retired", object_type="battery", object_id=b.id,
                         detail={"version": b.version, "open_assignments": info.open_assignments})
            return info

    def adhoc(self, s: Session, instruments: Sequence[str], now: datetime, user_id: int | None) -> Battery:
        """The unnamed battery for a list of instruments given at assignment time (created once)."""
        items = self._check_instruments(instruments)
        require_enabled(s, [i for i, _ in items])
        name = ADHOC_PREFIX + "+".join(f"{i}@{v}" if v else i for i, v in items)
        existing = s.scalar(select(Battery).where(Battery.name == name))
        return existing or self._create(s, name, items, None, None, now, user_id, adhoc=True)
