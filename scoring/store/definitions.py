"""Definition pinning: each definition version the store uses is kept as canonical JSON with its hash.

The first administration under ``phq9 1.0.0`` stores that definition's canonical JSON in the
``definitions`` table. From then on, administrations are scored and rescored with exactly that text, not
with whatever the library holds today. A library definition whose id and version are stored with a
different hash is refused with :class:`~scoring.store.errors.DefinitionChangedError`: a changed definition
needs a new version number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.definitions.library import Definition, Library
from scoring.definitions.schema import Instrument
from scoring.store.errors import DefinitionChangedError, NotFoundError, StoreError
from scoring.store.models import StoredDefinition


def canonical_json(definition: Definition) -> str:
    """The text whose SHA-256 is ``definition.hash`` (see :func:`scoring.content_hash`)."""
    return json.dumps(definition.instrument.model_dump(mode="json"), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


def changed_message(instrument_id: str, version: str, stored: str, given: str) -> str:
    return (f"{instrument_id} {version} in the library differs from the definition stored with that version "
            f"(stored hash {stored[:12]}, library hash {given[:12]}): a changed definition needs a new version "
            "number; historical administrations keep the stored one")


@dataclass
class PinnedDefinitions:
    """Reads and pins definitions; caches reconstructed definitions by hash (they never change)."""

    def __post_init__(self) -> None:
        self._by_hash: dict[str, Definition] = {}

    def pin(self, session: Session, definition: Definition, now: object) -> None:
        """Store ``definition`` if its id+version is new; refuse it if that id+version has another hash."""
        stored = session.get(StoredDefinition, (definition.id, definition.version))
        if stored is None:
            dialect = session.get_bind().dialect.name
            values = dict(instrument_id=definition.id, version=definition.version, hash=definition.hash,
                          canonical_json=canonical_json(definition), first_used_at=now)
            if dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                session.execute(pg_insert(StoredDefinition).values(**values).on_conflict_do_nothing())
            else:
                from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                session.execute(sqlite_insert(StoredDefinition).values(**values).on_conflict_do_nothing())
            stored = session.get(StoredDefinition, (definition.id, definition.version), populate_existing=True)
            if stored is None:  # pragma: no cover - the insert or a concurrent one just wrote it
                raise StoreError(f"could not pin {definition.id} {definition.version}")
        if stored.hash != definition.hash:
            raise DefinitionChangedError(changed_message(definition.id, definition.version, stored.hash,
                                                         definition.hash))
        self._by_hash.setdefault(definition.hash, definition)

    def get(self, session: Session, instrument_id: str, version: str) -> Definition:
        """The pinned definition of ``instrument_id`` ``version``, rebuilt from the stored JSON."""
        stored = session.get(StoredDefinition, (instrument_id, version))
        if stored is None:
            raise NotFoundError(f"{instrument_id} {version} has never been used in this store")
        return self.from_row(stored)

    def for_administration(self, session: Session, instrument_id: str, version: str, digest: str) -> Definition:
        """The pinned definition of an administration, from the cache by its hash when possible."""
        cached = self._by_hash.get(digest)
        if cached is not None and (cached.id, cached.version) == (instrument_id, version):
            return cached
        return self.get(session, instrument_id, version)

    def from_row(self, stored: StoredDefinition) -> Definition:
        cached = self._by_hash.get(stored.hash)
        if cached is not None:
            return cached
        model = Instrument.model_validate(json.loads(stored.canonical_json))
        definition = Definition(model)
        if definition.hash != stored.hash:
            raise StoreError(f"stored definition {stored.instrument_id} {stored.version} does not match its hash "
                             "(the definitions table was altered)")
        self._by_hash[stored.hash] = definition
        return definition

    def conflicts(self, session: Session, library: Library) -> list[str]:
        """One message per library definition whose id+version is stored with another hash."""
        stored = {(r.instrument_id, r.version): r.hash for r in session.scalars(select(StoredDefinition))}
        problems = []
        for (instrument_id, version), definition in sorted(library.definitions.items()):
            known = stored.get((instrument_id, version))
            if known is not None and known != definition.hash:
                problems.append(changed_message(instrument_id, version, known, definition.hash))
        return problems
