"""The canonical urls psyscore gives its FHIR resources (one place, so writer and reader agree)."""

from __future__ import annotations

BASE = "https://psyscore.org/fhir"
LOINC = "http://loinc.org"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"  # R5's name for the item score
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
NOT_CALCULATED = f"{BASE}/StructureDefinition/not-calculated"
HASH_SYSTEM = f"{BASE}/definition-hash"
SCORE_PREFIX = "score."  # linkId of a scale's read-only item: score.<scale id> (a dot is never in an item id)


def questionnaire_url(instrument_id: str) -> str:
    """Canonical url of an instrument's Questionnaire (the version goes after ``|``)."""
    return f"{BASE}/Questionnaire/{instrument_id}"


def answer_system(instrument_id: str, option_set_id: str) -> str:
    """CodeSystem of one option set: code = the option's value.

    One per option set, not one per instrument: within one instrument code ``1`` means different answers
    in different option sets (PHQ-9: "Several days" and "Somewhat difficult").
    """
    return f"{BASE}/CodeSystem/{instrument_id}/{option_set_id}"


def option_code(value: float) -> str:
    """The code of an option value: ``2`` for 2, ``2.5`` for 2.5 (never ``2.0``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
