"""Shape of definitions (pydantic v2, unknown keys rejected, frozen)."""

from scoring.schema.instrument import (
    Band,
    Bands,
    Change,
    Condition,
    CountIf,
    CriticalItem,
    Cutoff,
    Flag,
    FlagCondition,
    Instrument,
    Item,
    ItemCondition,
    Licence,
    Missing,
    Option,
    OptionSet,
    Reliability,
    RespondentCondition,
    Scale,
    Sourced,
    Transform,
    Translation,
)

__all__ = [
    "Band",
    "Bands",
    "Change",
    "Condition",
    "CountIf",
    "CriticalItem",
    "Cutoff",
    "Flag",
    "FlagCondition",
    "Instrument",
    "Item",
    "ItemCondition",
    "Licence",
    "Missing",
    "Option",
    "OptionSet",
    "Reliability",
    "RespondentCondition",
    "Scale",
    "Sourced",
    "Transform",
    "Translation",
    "definition_json_schema",
]


def definition_json_schema() -> dict:
    """JSON Schema of the instrument definition format, generated from the pydantic models."""
    schema = Instrument.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://psyscore.org/schema/instrument-1.json"
    return schema
