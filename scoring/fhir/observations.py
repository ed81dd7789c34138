"""Scores → FHIR R4 Observations (one per administration × scale), validated through ``fhir.resources``' R4B models.

The input is a score history (:func:`scoring.history`, columns :data:`scoring.change.timeline.HISTORY_COLUMNS`):
one row per administration × scale with the engine's score, band and severity, and the change from the
patient's baseline and previous administration. Each row becomes one Observation:

* ``status`` ``final``; ``category`` ``survey``;
* ``code``: the scale's LOINC code when the definition carries one (they are entered only where verified),
  and always psyscore's own coding (system :func:`scale_system`, code = the scale id), so a reader can map the
  Observation back to the scale whether or not LOINC has a code for it;
* ``valueQuantity`` in UCUM's ``{score}`` unit, or ``dataAbsentReason`` with the engine's reason when the scale
  could not be scored (too many items missing …): never a made-up number;
* ``interpretation``: the band (system :func:`band_system`, code = the band label in lower-case with dashes,
  display = the label) and a ``severity`` component (0 = none, higher = more severe, as in the definition);
* components for the change from baseline and from the previous administration where the history allows it:
  the difference in points, the Jacobson–Truax RCI where reliability or SD is declared, and the classification
  (:data:`scoring.change.CLASSIFICATIONS`, system :data:`CLASSIFICATION_SYSTEM`);
* ``method``: the instrument id (system :data:`INSTRUMENT_SYSTEM`) with the definition version in
  ``Coding.version``, and the content hash and engine version in its text; the hash is a ``meta.tag`` too;
* ``derivedFrom`` the QuestionnaireResponse, ``subject`` and ``effectiveDateTime`` as the caller gives them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from scoring.definitions.library import Definition
from scoring.fhir import urls
from scoring.fhir.questionnaire import FhirError, require_fhir

#: UCUM's annotation unit for a score (valueQuantity.code and .unit)
SCORE_UNIT = "{score}"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
#: psyscore's instruments (code = instrument id, Coding.version = definition version)
INSTRUMENT_SYSTEM = f"{urls.BASE}/CodeSystem/psyscore-instrument"
#: the components psyscore adds to a score Observation
COMPONENT_SYSTEM = f"{urls.BASE}/CodeSystem/psyscore-observation-component"
#: reliable-change classifications (codes: scoring.change.CLASSIFICATIONS)
CLASSIFICATION_SYSTEM = f"{urls.BASE}/CodeSystem/psyscore-change-classification"
#: the component codes, in the order they are written
COMPONENTS = {
    "severity": "Severity rank of the band (0 = none; higher = more severe)",
    "baseline-difference": "Change from the baseline administration (this - baseline), score points",
    "baseline-rci": "Reliable change index (Jacobson-Truax) against the baseline administration",
    "baseline-classification": "Reliable change against the baseline administration",
    "previous-difference": "Change from the previous administration (this - previous), score points",
    "previous-rci": "Reliable change index (Jacobson-Truax) against the previous administration",
    "previous-classification": "Reliable change against the previous administration",
}
CLASSIFICATION_DISPLAY = {
    "reliably_deteriorated": "Reliably deteriorated",
    "no_reliable_change": "No reliable change",
    "reliably_improved": "Reliably improved",
    "recovered": "Recovered (reliable improvement across the cut-off)",
}
#: the columns of a history frame read here
REQUIRED = ("scale", "score", "band", "severity", "valid", "score_reason", "instrument_version", "instrument_hash",
            "engine_version")
_DATE_TIME = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$")


def scale_system(instrument_id: str) -> str:
    """psyscore's CodeSystem of an instrument's scales (code = scale id)."""
    return f"{urls.BASE}/CodeSystem/psyscore-scale/{instrument_id}"


def band_system(instrument_id: str, scale_id: str) -> str:
    """psyscore's CodeSystem of one scale's bands (code = :func:`band_code` of the label)."""
    return f"{urls.BASE}/CodeSystem/psyscore-band/{instrument_id}/{scale_id}"


def band_code(label: str) -> str:
    """A band's code: its label in lower case, runs of other characters as one dash (``moderately-severe``)."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "band"


def fhir_date_time(value: object) -> str | None:
    """A FHIR ``dateTime`` for an administration time: text already in FHIR form is kept as written (a date
    stays a date); a timestamp is written in UTC with ``Z`` (a naive one is taken as UTC, as the store and
    :func:`scoring.history` keep them). None for a missing or unreadable value."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text if _DATE_TIME.match(text) else None
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if pd.isna(ts):
        return None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ts.microsecond:06d}" if ts.microsecond else "") + "Z"


def _number(value: object) -> float | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _decimal(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text or None


def _component(code: str, **value: Any) -> dict[str, Any]:
    return {"code": {"coding": [{"system": COMPONENT_SYSTEM, "code": code, "display": COMPONENTS[code]}]}, **value}


def _change_components(row: Mapping[Any, Any], which: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    diff = _number(row.get(f"{which}_difference"))
    if diff is None:
        return out  # the baseline itself, or no earlier score: nothing to compare with
    out.append(_component(f"{which}-difference", valueQuantity={
        "value": _decimal(diff), "unit": SCORE_UNIT, "system": UCUM, "code": SCORE_UNIT}))
    rci = _number(row.get(f"{which}_rci"))
    if rci is not None:
        out.append(_component(f"{which}-rci", valueQuantity={"value": round(rci, 4), "unit": "1", "system": UCUM,
                                                             "code": "1"}))
    cls = _text(row.get(f"{which}_classification"))
    if cls is not None:
        concept: dict[str, Any] = {"coding": [{"system": CLASSIFICATION_SYSTEM, "code": cls,
                                               "display": CLASSIFICATION_DISPLAY.get(cls, cls)}]}
        reason = _text(row.get(f"{which}_reason"))
        concept["text"] = CLASSIFICATION_DISPLAY.get(cls, cls) + (f" ({reason})" if reason else "")
        out.append(_component(f"{which}-classification", valueCodeableConcept=concept))
    return out


def _per_row(value: object, n: int, name: str) -> list[Any]:
    if value is None or isinstance(value, str):
        return [value] * n
    values = list(value)  # type: ignore[call-overload]
    if len(values) != n:
        raise FhirError(f"{name} has {len(values)} values for {n} history rows: give one per row (or one for all)")
    return values


def to_observations(rows: pd.DataFrame, definition: Definition, *,
                    subject: str | Sequence[str | None] | None = None,
                    derived_from: str | Sequence[str | None] | None = None,
                    effective: str | Sequence[object] | None = None) -> list[dict[str, Any]]:
    """One FHIR R4 Observation (JSON-ready dict, validated by the R4B model) per row of a score history.

    Parameters
    ----------
    rows
        History rows of ``definition``'s instrument (:func:`scoring.history`'s frame, or
        :meth:`scoring.store.Patients.change_history`): the columns :data:`REQUIRED`, plus ``date`` and the
        ``baseline_*`` / ``previous_*`` change columns where present.
    definition
        The definition the rows were scored with (its scales' names, LOINC codes and bands).
    subject
        The Patient reference (``urn:uuid:…``, ``Patient/…``) for every row, or one per row; None: no subject.
        psyscore never puts a name or other identifier here: the caller chooses the reference.
    derived_from
        The QuestionnaireResponse reference, for every row or one per row; None: no ``derivedFrom``.
    effective
        The administration time per row (or one for all); default the rows' ``date``. Text already in FHIR
        ``dateTime`` form is kept as written, timestamps are written in UTC.

    Raises
    ------
    FhirError
        A row of another instrument or version, a scale the definition does not have, a missing column, or a
        per-row argument of the wrong length.

    Examples
    --------
    >>> import pandas as pd, scoring
    >>> lib = scoring.load_library()
    >>> h = scoring.history(lib, pd.DataFrame({"patient": ["p"] * 2, "date": ["2024-01-08", "2024-03-04"],
    ...                                        "instrument": "phq9", "total": [18, 8]})).frame
    >>> obs = to_observations(h, lib["phq9"], subject="urn:uuid:0f4b1f5e-3c54-4d38-9b9e-3c1f0f2b2a11")
    >>> [o["valueQuantity"]["value"] for o in obs], obs[1]["code"]["coding"][0]["code"]
    ([18, 8], '44261-6')
    >>> [c["valueCodeableConcept"]["coding"][0]["code"] for c in obs[1]["component"] if "valueCodeableConcept" in c]
    ['recovered', 'recovered']
    """
    require_fhir()
    from fhir.resources.R4B.observation import Observation

    ins = definition.instrument
    missing = [c for c in REQUIRED if c not in rows.columns]
    if missing:
        raise FhirError(f"the score rows lack the column(s) {', '.join(missing)}: pass the frame of "
                        "scoring.history (or Patients.change_history)")
    n = len(rows)
    subjects = _per_row(subject, n, "subject")
    sources = _per_row(derived_from, n, "derived_from")
    if effective is None:
        times = list(rows["date"]) if "date" in rows.columns else [None] * n
    else:
        times = _per_row(effective, n, "effective")
    if "instrument" in rows.columns:
        other = sorted({str(i) for i in rows["instrument"]} - {ins.id})
        if other:
            raise FhirError(f"rows of {', '.join(other)} given with the definition of {ins.id}: convert each "
                            "instrument's rows with its own definition")
    versions = sorted({str(v) for v in rows["instrument_version"]} - {ins.version})
    if versions:
        raise FhirError(f"rows scored with {ins.id} {', '.join(versions)} given with the definition of version "
                        f"{ins.version}: convert each version's rows with its definition")
    scales = {s.id: s for s in ins.scales}
    unknown = sorted({str(s) for s in rows["scale"]} - set(scales))
    if unknown:
        raise FhirError(f"{ins.id} {ins.version} has no scale {', '.join(unknown)}")
    out: list[dict[str, Any]] = []
    for k, row in enumerate(rows.to_dict("records")):
        scale = scales[str(row["scale"])]
        coding = [{"system": urls.LOINC, "code": scale.loinc, "display": scale.name}] if scale.loinc else []
        coding.append({"system": scale_system(ins.id), "code": scale.id, "display": scale.name})
        digest = str(row["instrument_hash"])
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "meta": {"tag": [{"system": urls.HASH_SYSTEM, "code": digest,
                              "display": f"psyscore content hash of {ins.id} {ins.version}"}]},
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
            "code": {"coding": coding, "text": f"{ins.abbreviation} {scale.name}"},
        }
        if subjects[k]:
            obs["subject"] = {"reference": subjects[k]}
        when = fhir_date_time(times[k])
        if when:
            obs["effectiveDateTime"] = when
        value = _number(row["score"])
        if value is not None and bool(row["valid"]):
            obs["valueQuantity"] = {"value": _decimal(value), "unit": SCORE_UNIT, "system": UCUM, "code": SCORE_UNIT}
        else:
            reason = _text(row.get("score_reason")) or "not scored"
            obs["dataAbsentReason"] = {"coding": [{"system": DATA_ABSENT, "code": "unknown", "display": "Unknown"}],
                                       "text": f"not scored: {reason}"}
        band = _text(row.get("band"))
        components: list[dict[str, Any]] = []
        if band is not None and "valueQuantity" in obs:
            obs["interpretation"] = [{"coding": [{"system": band_system(ins.id, scale.id), "code": band_code(band),
                                                  "display": band}], "text": band}]
            severity = _number(row.get("severity"))
            if severity is not None:
                components.append(_component("severity", valueInteger=int(severity)))
        if "valueQuantity" in obs:
            components += _change_components(row, "baseline") + _change_components(row, "previous")
        if components:
            obs["component"] = components
        if sources[k]:
            obs["derivedFrom"] = [{"reference": sources[k]}]
        obs["method"] = {"coding": [{"system": INSTRUMENT_SYSTEM, "code": ins.id, "version": ins.version,
                                     "display": ins.name}],
                         "text": f"psyscore {ins.id} {ins.version} (definition hash {digest}), engine "
                                 f"{row['engine_version']}"}
        out.append(Observation.model_validate(obs).model_dump(mode="json", by_alias=True, exclude_none=True))
    return out
