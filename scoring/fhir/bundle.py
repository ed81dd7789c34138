"""QuestionnaireResponses from stored answers, and FHIR R4 transaction Bundles (validated by the R4B models).

:func:`patient_bundle` puts one patient's Questionnaires, QuestionnaireResponses and score Observations into a
transaction Bundle from already-loaded data (the store gathers it: :func:`scoring.store.fhir_export.export_patient`).
Every entry has a ``urn:uuid`` ``fullUrl`` and a ``request``: Questionnaires are created only if the server
has none with that url and version (``ifNoneExist``), everything else is POSTed; references between entries
(``subject``, ``derivedFrom``) are those ``urn:uuid`` urls, so they resolve inside the Bundle and a server
rewrites them to the ids it assigns.

Identifiers: the Patient entry holds no name, birth date, address, contact or record number. By default it
has no identifier at all, only a random reference made for this export (two exports of one patient cannot be
linked through it); ``subject_identifier`` puts an identifier of the caller's choosing there (the store's
internal id, or a pseudonym agreed with the receiver), and ``sex`` the administrative gender (sex-specific
rules need it to re-score the responses) — both only when asked for. The Patient is labelled
pseudonymised (``meta.security`` ``PSEUDED``).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from scoring.definitions.library import Definition, Library
from scoring.fhir import urls
from scoring.fhir.observations import fhir_date_time, to_observations
from scoring.fhir.questionnaire import FhirError, require_fhir, to_questionnaire
from scoring.fhir.responses import META_COLUMNS as _META

#: system of the identifier the caller chooses for the Patient (an internal id or a pseudonym)
PSEUDONYM_SYSTEM = f"{urls.BASE}/patient-pseudonym"
SECURITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
#: the history columns :func:`patient_bundle` reads besides those of :func:`to_observations`
HISTORY_KEYS = ("administration_id", "instrument", "instrument_version")
#: the answer-table columns it reads (then one column per item)
ANSWER_KEYS = ("administration_id", "date", "instrument", "instrument_version")


def new_reference() -> str:
    """A fresh ``urn:uuid:`` reference (random, version 4)."""
    return f"urn:uuid:{uuid.uuid4()}"


@dataclass(frozen=True)
class Entry:
    """One resource of a transaction Bundle with where it goes."""

    full_url: str
    resource: dict[str, Any]
    method: str = "POST"
    url: str | None = None  # default: the resource type
    if_none_exist: str | None = None

    def as_json(self) -> dict[str, Any]:
        request: dict[str, Any] = {"method": self.method, "url": self.url or self.resource["resourceType"]}
        if self.if_none_exist:
            request["ifNoneExist"] = self.if_none_exist
        return {"fullUrl": self.full_url, "resource": self.resource, "request": request}


def transaction_bundle(entries: Sequence[Entry]) -> dict[str, Any]:
    """A FHIR R4 ``transaction`` Bundle of ``entries`` (JSON-ready dict, validated by the R4B model).

    Raises :class:`FhirError` when two entries share a ``fullUrl`` or a reference of the form ``urn:uuid:…``
    names no entry (a server would refuse the transaction).

    >>> b = transaction_bundle([Entry("urn:uuid:4c8a3f0e-8a4b-4d0e-9a7e-2b8f1f6c5d10",
    ...                               {"resourceType": "Patient"})])
    >>> b["type"], b["entry"][0]["request"]
    ('transaction', {'method': 'POST', 'url': 'Patient'})
    """
    require_fhir()
    from fhir.resources.R4B.bundle import Bundle

    seen: set[str] = set()
    for e in entries:
        if e.full_url in seen:
            raise FhirError(f"two entries of the Bundle have the fullUrl {e.full_url}")
        seen.add(e.full_url)
    for e in entries:
        for ref in _references(e.resource):
            if ref.startswith("urn:uuid:") and ref not in seen:
                raise FhirError(f"the {e.resource['resourceType']} {e.full_url} refers to {ref}, which is not in "
                                "the Bundle")
    doc: dict[str, Any] = {"resourceType": "Bundle", "type": "transaction"}
    if entries:
        doc["entry"] = [e.as_json() for e in entries]
    return Bundle.model_validate(doc).model_dump(mode="json", by_alias=True, exclude_none=True)


def _references(node: object) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                out.append(value)
            else:
                out += _references(value)
    elif isinstance(node, list):
        for value in node:
            out += _references(value)
    return out


def to_questionnaire_response(definition: Definition, answers: Mapping[str, object], *,
                              subject: str | None = None, authored: object = None) -> dict[str, Any]:
    """A completed QuestionnaireResponse to ``definition``'s Questionnaire (:func:`to_questionnaire`).

    ``answers``: item id → option value (None/NaN = unanswered, left out). Each answer is a ``valueCoding`` in
    the item's option-set CodeSystem (code = the value, as the Questionnaire writes it) with the option label as
    ``display`` — except for ``no_item_text`` instruments, whose labels are not shipped. ``authored`` is the
    administration time (:func:`fhir_date_time`). Validated by the R4B model; :func:`read_responses` reads it
    back to the same answers.

    Raises :class:`FhirError` for an item the definition does not have or a value not among its options.
    """
    require_fhir()
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    ins = definition.instrument
    sets = {s.id: s for s in ins.option_sets}
    known = {i.id: i for i in ins.items}
    strange = sorted(set(answers) - set(known))
    if strange:
        raise FhirError(f"{ins.id} {ins.version} has no item {', '.join(strange)}")
    labels = ins.licence.redistribution != "no_item_text"
    items: list[dict[str, Any]] = []
    for item in ins.items:
        value = answers.get(item.id)
        if value is None or value is pd.NA:
            continue
        number = float(value)  # type: ignore[arg-type]
        if math.isnan(number):
            continue
        option = next((o for o in sets[item.options].options if float(o.value) == number), None)
        if option is None:
            raise FhirError(f"{ins.id} {item.id}: {value!r} is not one of its option values")
        coding: dict[str, Any] = {"system": urls.answer_system(ins.id, item.options),
                                  "code": urls.option_code(option.value)}
        if labels:
            coding["display"] = option.label
        items.append({"linkId": item.id, "answer": [{"valueCoding": coding}]})
    qr: dict[str, Any] = {"resourceType": "QuestionnaireResponse",
                          "questionnaire": f"{urls.questionnaire_url(ins.id)}|{ins.version}",
                          "status": "completed"}
    if subject:
        qr["subject"] = {"reference": subject}
    when = fhir_date_time(authored)
    if when:
        qr["authored"] = when
    if items:
        qr["item"] = items
    return QuestionnaireResponse.model_validate(qr).model_dump(mode="json", by_alias=True, exclude_none=True)


def pseudonymous_patient(*, identifier: str | None = None, sex: str | None = None) -> dict[str, Any]:
    """The Patient of an export: no name, birth date, contact or record number; ``identifier`` (the caller's
    choice, system :data:`PSEUDONYM_SYSTEM`, type ``PSEUDED``) and ``sex`` (``female``/``male``/``other`` →
    ``gender``) only if given. ``meta.security`` ``PSEUDED`` (HL7 v3 ObservationValue "pseudonymized")."""
    patient: dict[str, Any] = {"resourceType": "Patient", "meta": {"security": [
        {"system": SECURITY_SYSTEM, "code": "PSEUDED", "display": "pseudonymized"}]}}
    if identifier is not None:
        if not identifier.strip():
            raise FhirError("the Patient identifier is empty: give a pseudonym, or none for a random reference")
        patient["identifier"] = [{"type": {"coding": [{"system": SECURITY_SYSTEM, "code": "PSEUDED",
                                                       "display": "pseudonymized"}]},
                                  "system": PSEUDONYM_SYSTEM, "value": identifier.strip()}]
    if sex is not None:  # the store's sexes (female, male, other) are FHIR administrative genders
        patient["gender"] = sex if sex in ("female", "male", "other") else "unknown"
    return patient


def patient_bundle(history: pd.DataFrame, answers: pd.DataFrame, definitions: Mapping[tuple[str, str], Definition],
                   *, subject_identifier: str | None = None, sex: str | None = None) -> dict[str, Any]:
    """One patient's Questionnaires, QuestionnaireResponses and score Observations as a transaction Bundle.

    Parameters
    ----------
    history
        The patient's score history (:func:`scoring.history` / ``Patients.change_history``) with an
        ``administration_id`` column naming the administration of each row.
    answers
        One row per administration (``Patients.answer_table``): ``administration_id, date, instrument,
        instrument_version`` then the item answers. Only completed administrations belong here.
    definitions
        ``(instrument id, version)`` → the definition each administration was given with.
    subject_identifier, sex
        See :func:`pseudonymous_patient`; by default neither is written.

    Every history row's administration must be in ``answers`` (:class:`FhirError` otherwise), so each
    Observation's ``derivedFrom`` resolves inside the Bundle.
    """
    missing = [c for c in HISTORY_KEYS if c not in history.columns] + [
        c for c in ANSWER_KEYS if c not in answers.columns]
    if missing:
        raise FhirError(f"patient_bundle needs the column(s) {', '.join(missing)}")
    patient_ref = new_reference()
    entries = [Entry(patient_ref, pseudonymous_patient(identifier=subject_identifier, sex=sex))]
    keys = list(dict.fromkeys(zip(answers["instrument"].astype(str), answers["instrument_version"].astype(str),
                                  strict=True)))
    for key in keys:
        if key not in definitions:
            raise FhirError(f"no definition given for {key[0]} {key[1]}")
        q = to_questionnaire(definitions[key])
        q.pop("id", None)  # the server assigns it; the canonical url|version is what responses name
        entries.append(Entry(new_reference(), q, if_none_exist=f"url={q['url']}&version={q['version']}"))
    response_ref: dict[int, str] = {}
    for row in answers.to_dict("records"):
        d = definitions[(str(row["instrument"]), str(row["instrument_version"]))]
        ref = new_reference()
        response_ref[int(row["administration_id"])] = ref
        given = {i: row[i] for i in d.plan.item_ids if i in row}
        entries.append(Entry(ref, to_questionnaire_response(d, given, subject=patient_ref, authored=row["date"])))
    unknown = sorted({int(a) for a in history["administration_id"]} - set(response_ref))
    if unknown:
        raise FhirError(f"score rows of administration(s) {', '.join(map(str, unknown))} have no answers: give "
                        "every administration's answers")
    for (instrument, version), rows in history.groupby(["instrument", "instrument_version"], sort=False):
        d = definitions[(str(instrument), str(version))]
        refs = [response_ref[int(a)] for a in rows["administration_id"]]
        for obs in to_observations(rows, d, subject=patient_ref, derived_from=refs):
            entries.append(Entry(new_reference(), obs))
    return transaction_bundle(entries)


_RESPONSE_LABEL = re.compile(r"^(?:entry \d+ \(([A-Za-z0-9.\-]{1,64})\)|([A-Za-z0-9.\-]{1,64}))$")


def response_id(label: str) -> str | None:
    """The resource id in a :func:`read_responses` ``response`` label (``r1``, ``entry 3 (r1)``); None for a
    response without an id (``(no id)``, ``entry 3 (no id)``). FHIR ids have no spaces or brackets, so the
    label is unambiguous."""
    m = _RESPONSE_LABEL.match(label)
    return (m.group(1) or m.group(2)) if m else None


@dataclass(frozen=True)
class ObservationBundle:
    """The result of :func:`observations_bundle`: the Bundle, and what the caller should tell the user."""

    bundle: dict[str, Any]
    observations: int
    without_subject: int  # responses whose subject was missing or a urn: reference into their own file
    without_source: int  # responses without an id, so the Observations have no derivedFrom


def observations_bundle(library: Library, frame: pd.DataFrame) -> ObservationBundle:
    """Score Observations of :func:`read_responses`' frame, as a transaction Bundle (``fhir score
    --observations``).

    The responses are scored through :func:`scoring.history`, so each Observation has the engine's score and
    band and, where the same subject answered the same instrument more than once (with ``authored`` dates),
    the reliable change from their first and previous response. ``derivedFrom`` is
    ``QuestionnaireResponse/<id>`` (the response as it sits on the server it came from; responses without an id
    get none) and ``subject`` the response's own reference, copied as written — except a ``urn:uuid:``
    reference into the input Bundle, which would not resolve in this one (the Patient, with whatever it
    identifies, is never copied). ``effectiveDateTime`` is the response's ``authored``.
    """
    from scoring.change.timeline import history

    n = len(frame)
    subjects: list[str | None] = []
    dates: list[str | None] = []
    keys: list[str] = []
    for k, (subject, authored) in enumerate(zip(frame["subject"], frame["authored"], strict=True)):
        ref = subject if isinstance(subject, str) and subject and not subject.startswith("urn:") else None
        when = fhir_date_time(authored) if isinstance(authored, str) else None
        subjects.append(ref)
        dates.append(when)
        # change only between dated responses of one named subject; the others are each their own series
        keys.append(f"s:{ref}" if ref and when else f"r:{k}")
    sources = [response_id(str(label)) for label in frame["response"]]
    items = [c for c in frame.columns if c not in _META]
    # one clock for the ordering: UTC (history refuses text with mixed offsets); undated rows are their own series
    instants = pd.to_datetime([d or "1970-01-01" for d in dates], utc=True, format="ISO8601").tz_localize(None)
    data = pd.DataFrame({"patient": keys, "date": instants,
                         "instrument": frame["instrument"].to_numpy(),
                         "instrument_version": frame["version"].to_numpy(),
                         "sex": frame["sex"].to_numpy()}, index=range(n))
    data = pd.concat([data, frame[items].reset_index(drop=True)], axis=1)
    entries: list[Entry] = []
    if n:
        for (instrument, version), group in data.groupby(["instrument", "instrument_version"], sort=False):
            d = library.get_version(str(instrument), str(version))
            cols = ["patient", "date", "instrument", "instrument_version", "sex", *d.plan.item_ids]
            rows = history(library, group[cols]).frame
            at = rows["source_row"].to_numpy(dtype=int)
            obs = to_observations(rows, d, subject=[subjects[r] for r in at],
                                  derived_from=[f"QuestionnaireResponse/{sources[r]}" if sources[r] else None
                                                for r in at],
                                  effective=[dates[r] for r in at])
            entries += [Entry(new_reference(), o) for o in obs]
    return ObservationBundle(transaction_bundle(entries), len(entries),
                             without_subject=sum(s is None for s in subjects),
                             without_source=sum(s is None for s in sources))
