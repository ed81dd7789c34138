"""One patient's record as a FHIR R4 transaction Bundle (``psyscore fhir export``, the patient page's download).

The store gathers the data (with its role and care-team checks: a therapist exports only the patients of their
care team) and :func:`scoring.fhir.bundle.patient_bundle` writes it: the Questionnaires of the definition
versions the patient was given, one QuestionnaireResponse per completed administration (its current answers)
and one Observation per administration × scale (the stored score, band, and reliable change from baseline and
previous, as on the patient page). Only completed administrations are exported: cancelled or unfinished ones
never are. The export is audited (``fhir_bundle_exported``, with the counts, never the identifier chosen).
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd

from scoring.definitions.library import Definition
from scoring.store.audit import Actor
from scoring.store.clinic import Clinic
from scoring.store.errors import StoreError

#: how the Patient of the Bundle is identified: ``random`` (a reference made for this export, no identifier),
#: ``internal`` (the store's patient id as the identifier), ``pseudonym`` (an identifier the user gives)
SubjectMode = Literal["random", "internal", "pseudonym"]


def export_patient(clinic: Clinic, actor: Actor, patient_id: int, *, subject: SubjectMode = "random",
                   pseudonym: str | None = None, include_sex: bool = False) -> dict[str, Any]:
    """The patient's Questionnaires, responses and score Observations as a FHIR transaction Bundle (a dict).

    Parameters
    ----------
    subject
        ``random`` (default): the Patient entry has no identifier, only a random ``urn:uuid`` made for this
        export. ``internal``: the store's internal patient id is its identifier (links exports of one store;
        means nothing elsewhere). ``pseudonym``: ``pseudonym`` is. The name, birth date, contact details and
        external record id are never written.
    include_sex
        Write the recorded sex as the Patient's ``gender`` (sex-specific rules need it to re-score).

    Raises
    ------
    PermissionDeniedError, NotFoundError
        The actor may not see the patient, or there is no such patient.
    StoreError
        A pseudonym missing or given with another mode.
    FhirError
        The optional extra ``psyscore[fhir]`` is not installed.
    """
    from scoring.fhir.bundle import patient_bundle
    from scoring.fhir.questionnaire import require_fhir

    require_fhir()
    if subject == "pseudonym":
        if not pseudonym or not pseudonym.strip():
            raise StoreError("subject 'pseudonym' needs the pseudonym to write: give one, or use subject 'random'")
        identifier: str | None = pseudonym.strip()
    elif pseudonym is not None:
        raise StoreError(f"a pseudonym is written only with subject 'pseudonym', not {subject!r}")
    else:
        identifier = str(patient_id) if subject == "internal" else None
    record = clinic.patients.get(actor, patient_id)
    stored = clinic.patients.history(actor, patient_id)
    answers = clinic.patients.answer_table(actor, patient_id)
    if len(stored):
        history = clinic.patients.change_history(actor, patient_id)
        adm_of_row = stored["administration_id"].to_numpy()
        rows = history["source_row"].to_numpy(dtype=int)
        changed = bool(rows.size) and int(rows.max()) >= len(stored)
        if not changed:
            changed = not ((stored["instrument_id"].to_numpy()[rows] == history["instrument"].to_numpy()).all()
                           and (stored["scale_id"].to_numpy()[rows] == history["scale"].to_numpy()).all())
        if changed:
            raise StoreError("the patient's record changed during the export (a questionnaire was completed): "
                             "export again")
        history = history.assign(administration_id=adm_of_row[rows])
    else:
        history = pd.DataFrame(columns=["administration_id", "instrument", "instrument_version", "scale", "score"])
    definitions = _definitions(clinic, answers)
    bundle = patient_bundle(history, answers, definitions, subject_identifier=identifier,
                            sex=record.sex if include_sex else None)
    counts: dict[str, int] = {}
    for entry in bundle.get("entry", []):
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    clinic.record_audit(actor, "fhir_bundle_exported", patient_id=patient_id,
                        detail={"subject": subject, "sex": include_sex, "resources": counts})
    return bundle


def _definitions(clinic: Clinic, answers: pd.DataFrame) -> dict[tuple[str, str], Definition]:
    """The pinned definition of every (instrument, version) the patient was given."""
    return clinic.pinned_definitions(zip(answers["instrument"].astype(str),
                                         answers["instrument_version"].astype(str), strict=True))
