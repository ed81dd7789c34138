"""Definition → FHIR R4 Questionnaire (HL7 SDC), validated through ``fhir.resources``' R4B models."""

from __future__ import annotations

import re
from typing import Any

from scoring.definitions.library import Definition
from scoring.definitions.schema import Instrument, Item, OptionSet, Translation
from scoring.errors import PsyscoreError
from scoring.fhir import urls
from scoring.fhir.expressions import scale_expression


class FhirError(PsyscoreError):
    """A FHIR resource cannot be built or read (missing extra, unknown language, …)."""


def require_fhir() -> None:
    """Raise a clear error when the optional ``psyscore[fhir]`` extra is not installed."""
    try:
        import fhir.resources  # noqa: F401
        import fhirpathpy  # noqa: F401
    except ImportError as exc:
        raise FhirError("FHIR support needs the optional extra: pip install 'psyscore[fhir]' "
                        f"(missing: {exc.name})") from exc


def _translations(defn: Instrument, current: str, pick: Any) -> dict[str, Any] | None:
    """The ``translation`` extension (``_text``/``_display``) with every other language's text."""
    exts = []
    languages = {defn.language: None, **{code: t for code, t in defn.translations.items()}}
    for code, translation in languages.items():
        if code == current:
            continue
        text = pick(translation)
        if text:
            exts.append({"url": urls.TRANSLATION,
                         "extension": [{"url": "lang", "valueCode": code}, {"url": "content", "valueString": text}]})
    return {"extension": exts} if exts else None


def _text_field(out: dict[str, Any], key: str, defn: Instrument, language: str, pick: Any) -> None:
    """Set ``out[key]`` to the text in ``language`` (falling back to the definition's) and ``_key`` to the
    translations into the other languages."""
    chosen = defn.translations.get(language) if language != defn.language else None
    text = (pick(chosen) if chosen is not None else None) or pick(None)
    if text:
        out[key] = text
        ext = _translations(defn, language, pick)
        if ext:
            out[f"_{key}"] = ext


def _item_text(item: Item, no_text: bool) -> Any:
    def pick(t: Translation | None) -> str | None:
        if t is None:
            return (item.descriptor or item.id) if no_text else (item.text or item.descriptor or item.id)
        return None if no_text else t.items.get(item.id)
    return pick


def _answer_options(defn: Instrument, item: Item, oset: OptionSet, language: str) -> list[dict[str, Any]]:
    lo = min(o.value for o in oset.options)
    hi = max(o.value for o in oset.options)
    out = []
    for option in oset.options:
        score = (lo + hi - option.value) if item.reverse else option.value
        coding: dict[str, Any] = {
            "extension": [{"url": urls.ORDINAL_VALUE, "valueDecimal": score}],
            "system": urls.answer_system(defn.id, oset.id),
            "code": urls.option_code(option.value),
        }

        def pick(t: Translation | None, option: Any = option) -> str | None:
            if t is None:
                return option.label
            labels = t.option_sets.get(oset.id)
            if labels is None or not float(option.value).is_integer():
                return None
            return labels.get(int(option.value))
        _text_field(coding, "display", defn, language, pick)
        out.append({"valueCoding": coding})
    return out


def _enable_when(defn: Instrument, item: Item) -> dict[str, Any]:
    gate = item.shown_if
    assert gate is not None
    from scoring.definitions.plan import compare  # the engine's comparison, so form and engine agree

    gate_item = next(i for i in defn.items if i.id == gate.item)
    oset = next(s for s in defn.option_sets if s.id == gate_item.options)
    import numpy as np

    values = [o.value for o in oset.options]
    holds = compare(np.array(values, dtype=float), gate.op, gate.value)
    opening = [v for v, ok in zip(values, holds, strict=True) if ok]
    conditions = [{"question": gate.item, "operator": "=",
                   "answerCoding": {"system": urls.answer_system(defn.id, oset.id), "code": urls.option_code(v)}}
                  for v in opening]
    out: dict[str, Any] = {"enableWhen": conditions}
    if len(conditions) > 1:
        out["enableBehavior"] = "any"
    return out


def _name(defn: Instrument) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", defn.abbreviation)
    return name if name[:1].isalpha() and name[:1].isupper() else "Q_" + name


def to_questionnaire(definition: Definition, *, language: str | None = None) -> dict[str, Any]:
    """The definition as a FHIR R4 Questionnaire (JSON-ready dict), validated by the R4B model.

    Canonical ``url`` + ``version`` (the definition's), its content hash as an identifier and a meta tag,
    copyright and licence, linkIds = item ids, LOINC codes only where the definition carries them, answer
    options as codings (system per option set, code = value) with the item score (after reverse keying) in
    the ``ordinalValue`` extension, ``enableWhen`` for gated items, the other languages in ``translation``
    extensions, and one read-only item per scale (linkId ``score.<scale id>``) with an SDC
    ``calculatedExpression`` where the rule can be written in FHIRPath (else a note saying why not).
    ``no_item_text`` instruments carry the item descriptors only, never the wording.

    >>> import scoring
    >>> phq9 = scoring.load_library()["phq9"]
    >>> q = to_questionnaire(phq9, language="es")
    >>> q["url"], q["language"], q["item"][1]["linkId"], q["version"] == phq9.version
    ('https://psyscore.org/fhir/Questionnaire/phq9', 'es', 'phq9_1', True)
    """
    require_fhir()
    from fhir.resources.R4B.questionnaire import Questionnaire

    defn = definition.instrument
    language = language or defn.language
    if language != defn.language and language not in defn.translations:
        known = ", ".join(sorted({defn.language, *defn.translations}))
        raise FhirError(f"{defn.id} {defn.version} has no {language!r} translation (languages: {known})")
    no_text = defn.licence.redistribution == "no_item_text"
    hash_tag = {"system": urls.HASH_SYSTEM, "code": definition.hash,
                "display": f"psyscore content hash of {defn.id} {defn.version}"}
    licence = defn.licence
    copyright_text = defn.copyright + f"\n\nLicence ({licence.redistribution}): {licence.statement}"
    if licence.url:
        copyright_text += f" {licence.url}"
    q: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": defn.id.replace("_", "-"),
        "meta": {"profile": ["http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"], "tag": [hash_tag]},
        "language": language,
        "url": urls.questionnaire_url(defn.id),
        "identifier": [{"system": urls.HASH_SYSTEM, "value": definition.hash}],
        "version": defn.version,
        "name": _name(defn),
        "status": "active",
        "subjectType": ["Patient"],
        "copyright": copyright_text,
    }
    _text_field(q, "title", defn, language, lambda t: defn.name if t is None else t.name)
    description = defn.description or ""
    if no_text:
        description += (" Item wording is not included (licence: no_item_text): the items carry psyscore's own "
                        "short descriptors; administer from the rights holder's form.")
    if description.strip():
        q["description"] = description.strip()
    if defn.loinc_panel:
        q["code"] = [{"system": urls.LOINC, "code": defn.loinc_panel}]
    items: list[dict[str, Any]] = []
    if defn.instructions and not no_text:
        instr: dict[str, Any] = {"linkId": f"{defn.id}.instructions", "type": "display"}
        _text_field(instr, "text", defn, language, lambda t: defn.instructions if t is None else t.instructions)
        items.append(instr)
    sets = {s.id: s for s in defn.option_sets}
    for item in defn.items:
        entry: dict[str, Any] = {"linkId": item.id}
        if item.loinc:
            entry["code"] = [{"system": urls.LOINC, "code": item.loinc}]
        _text_field(entry, "text", defn, language, _item_text(item, no_text))
        entry["type"] = "choice"
        if item.shown_if is not None:
            entry.update(_enable_when(defn, item))
        entry["answerOption"] = _answer_options(defn, item, sets[item.options], language)
        items.append(entry)
    for scale in defn.scales:
        expr = scale_expression(defn, scale)
        entry = {"linkId": f"{urls.SCORE_PREFIX}{scale.id}"}
        if expr.expression is not None:
            entry["extension"] = [{"url": urls.CALCULATED, "valueExpression": {
                "description": f"{scale.name} as psyscore scores it", "language": "text/fhirpath",
                "expression": expr.expression}}]
        else:
            entry["extension"] = [{"url": urls.NOT_CALCULATED, "valueString": expr.reason}]
        if scale.loinc:
            entry["code"] = [{"system": urls.LOINC, "code": scale.loinc}]
        entry["text"] = scale.name
        entry["type"] = "decimal"
        entry["readOnly"] = True
        if expr.expression is None:
            entry["item"] = [{"linkId": f"{urls.SCORE_PREFIX}{scale.id}.note", "type": "display",
                              "text": f"Not calculated in the form: {expr.reason}; psyscore scores it."}]
        items.append(entry)
    q["item"] = items
    model = Questionnaire.model_validate(q)
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)
