"""Definition pinning and rescoring from raw answers."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

import scoring
from scoring.definitions.library import Definition, Library
from scoring.definitions.schema import Instrument
from scoring.store import Clinic, DefinitionChangedError, password_hasher
from scoring.store.definitions import canonical_json
from scoring.store.models import Score, StoredDefinition


def _variant(d: Definition, version: str | None = None, **changes: object) -> Definition:
    data = json.loads(canonical_json(d))
    data.update(changes)
    if version:
        data["version"] = version
    return Definition(Instrument.model_validate(data))


def test_canonical_json_round_trips_every_bundled_definition(library: Library) -> None:
    for d in library.definitions.values():
        again = Definition(Instrument.model_validate(json.loads(canonical_json(d))))
        assert again.hash == d.hash, d.id


def test_changed_definition_is_refused_and_new_version_keeps_old_scores(clinic: Clinic, therapist, patient: int,
                                                                         library: Library) -> None:
    old = clinic.administrations.record(therapist, patient, "phq2", {"phq2_1": 2, "phq2_2": 1})
    phq2 = library["phq2"]
    edited = _variant(phq2, name="PHQ-2 (edited)")
    changed = Library(dict(library.definitions))
    changed.definitions[("phq2", phq2.version)] = edited
    with pytest.raises(DefinitionChangedError, match="changed definition needs a new version"):
        Clinic(clinic.store, changed, hasher=password_hasher(fast=True))
    # a new version is accepted, and old administrations keep their pinned definition and scores
    newer = Library(dict(library.definitions))
    newer.definitions[("phq2", "9.0.0")] = _variant(phq2, version="9.0.0", name="PHQ-2 (edited)")
    clinic2 = Clinic(clinic.store, newer, hasher=password_hasher(fast=True))
    new = clinic2.administrations.record(therapist, patient, "phq2", {"phq2_1": 2, "phq2_2": 1})
    info_old = clinic2.administrations.get(therapist, old.administration_id)
    info_new = clinic2.administrations.get(therapist, new.administration_id)
    assert (info_old.instrument_version, info_old.instrument_hash) == (phq2.version, phq2.hash)
    assert info_new.instrument_version == "9.0.0" and info_new.instrument_hash != phq2.hash
    assert clinic2.rescore_check().ok
    with clinic.store.read() as s:
        versions = set(s.execute(select(StoredDefinition.instrument_id, StoredDefinition.version)).all())
    assert {("phq2", phq2.version), ("phq2", "9.0.0")} <= versions


def test_rescore_check_reproduces_and_detects_tampering(clinic: Clinic, therapist, patient: int) -> None:
    for instrument, n in (("phq9", 9), ("dass21", 21), ("who5", 5), ("pcl5", 20)):
        ids = clinic.library[instrument].plan.item_ids
        answers = {item: (k % 3) for k, item in enumerate(ids[:n])}
        answers[ids[1]] = None  # a skipped item: prorating where the rule allows it
        clinic.administrations.record(therapist, patient, instrument, answers)
    report = clinic.rescore_check()
    assert report.ok and report.administrations == 4 and report.scores >= 4
    with clinic.store.write() as s:
        s.execute(update(Score).where(Score.scale_id == "total").values(value=Score.value + 1))
    report = clinic.rescore_check()
    assert not report.ok
    assert {m.field for m in report.mismatches} == {"total.value"}


def test_library_api_version_pin(library: Library) -> None:
    assert scoring.content_hash(library["phq9"].instrument) == library["phq9"].hash
