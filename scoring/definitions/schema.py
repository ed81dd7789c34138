"""Pydantic models for instrument definitions: shape only.

Meaning (items exist, bands contiguous, ranges consistent, …) is checked by :mod:`scoring.definitions.rules`.
All models forbid unknown keys and are frozen, so a loaded definition cannot be altered afterwards.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""Lowercase snake_case identifier (``phq9``, ``phq9_1``, ``depression``)."""

SemVer = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
Text = Annotated[str, StringConstraints(min_length=1)]
Number = int | float

Redistribution = Literal["public_domain", "attribution", "non_commercial", "no_item_text"]
Operator = Literal[">", ">=", "<", "<=", "==", "!="]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Licence(StrictModel):
    """What may be done with the instrument's text and forms."""

    redistribution: Redistribution
    statement: Text = Field(description="The licence terms in the rights holder's own words or a faithful summary.")
    url: str | None = Field(default=None, description="Where the terms are published.")
    commercial_use: Literal["allowed", "permission_required", "not_allowed", "unclear"] = "unclear"


class Option(StrictModel):
    value: Number = Field(description="The numeric code stored and scored for this answer.")
    label: Text


class OptionSet(StrictModel):
    id: Id
    options: list[Option] = Field(min_length=2)


class Condition(StrictModel):
    """A comparison on an answer or a respondent attribute: ``<left> <op> <value>``."""

    op: Operator | Literal["in", "not_in"]
    value: Number | str | list[Number | str]


class ItemCondition(Condition):
    """The item is asked only when another item's answer satisfies the condition (a gate)."""

    item: Id


class RespondentCondition(Condition):
    """The item applies only to respondents whose attribute satisfies the condition (e.g. sex)."""

    respondent: Id = Field(description="Name of a respondent column, e.g. 'sex'.")


class Item(StrictModel):
    id: Id
    text: Text | None = Field(default=None, description="Verbatim item wording (only where the licence allows).")
    descriptor: Text | None = Field(default=None, description="Short paraphrase used when text may not ship.")
    options: Id = Field(description="Id of the response option set.")
    reverse: bool = Field(description="Reverse keyed: scored as (min + max − answer) of its option set.")
    scored: bool = Field(default=True, description="False for items that enter no scale (e.g. PHQ-9 difficulty).")
    shown_if: ItemCondition | None = Field(default=None, description="Gate: asked only when this holds.")
    value_if_not_shown: Number | None = Field(
        default=None,
        description="Score value given to the item when its gate is closed (PC-PTSD-5: 0). "
        "Omitted: the item is not applicable and leaves the scale.",
    )
    applies_if: RespondentCondition | None = Field(
        default=None, description="Applicability by respondent attribute (PHQ-15 item d: women only)."
    )
    loinc: str | None = None


class Missing(StrictModel):
    """How a scale treats unanswered items.

    * ``complete``: every applicable item must be answered.
    * ``prorate``: up to ``max_missing`` items may be missing; the aggregate of the answered items is
      scaled up to the number of applicable items (sum × n_applicable / n_answered), then rounded.
    * ``min_answered``: at least ``min_answered`` items must be answered; the aggregate is taken over the
      answered items without scaling (natural for ``mean`` and ``count``).
    """

    rule: Literal["complete", "prorate", "min_answered"]
    max_missing: int | None = Field(default=None, ge=0)
    min_answered: int | None = Field(default=None, ge=1)
    rounding: Literal["half_up", "none"] = Field(
        default="none", description="Rounding of a prorated score: half-up to `decimals`, or none."
    )
    decimals: int = Field(default=0, ge=0, le=6)
    source: Text | None = None


class Band(StrictModel):
    min: Number
    max: Number
    label: Text
    severity: int = Field(ge=0, description="0 = none/normal; higher = more severe (or more concerning).")


class Bands(StrictModel):
    source: Text
    ranges: list[Band] = Field(min_length=1)


class Cutoff(StrictModel):
    id: Id
    label: Text
    op: Operator
    value: Number
    sex: Literal["any", "female", "male"] = "any"
    source: Text


class Sourced(StrictModel):
    value: Number
    source: Text
    note: str | None = None


class Reliability(Sourced):
    kind: Literal["test_retest", "alpha", "omega", "icc"]


class Change(StrictModel):
    """Parameters of reliable and clinically significant change, each with its source."""

    reliability: Reliability | None = None
    sd: Sourced | None = Field(default=None, description="SD of the reference sample used for the RCI.")
    reliable_change: Sourced | None = Field(
        default=None, description="Published minimum reliable difference in score points."
    )
    mcid: Sourced | None = None
    clinical_cutoff: Sourced | None = None
    functional_mean: Sourced | None = None
    functional_sd: Sourced | None = None
    dysfunctional_mean: Sourced | None = None
    dysfunctional_sd: Sourced | None = None


class Transform(StrictModel):
    """A published conversion table from the (rounded) raw score to a reported metric."""

    table: dict[int, Number]
    source: Text


class CountIf(StrictModel):
    op: Operator
    value: Number
    per_item: dict[Id, Number] = Field(
        default_factory=dict, description="Item-specific thresholds that override `value` (ASRS Part A)."
    )


class Scale(StrictModel):
    id: Id
    name: Text
    items: list[Id] = Field(min_length=1)
    method: Literal["sum", "mean", "count", "max"]
    count_if: CountIf | None = Field(default=None, description="For method count: when an item counts.")
    weights: dict[Id, Number] = Field(default_factory=dict)
    multiplier: Number = 1
    transform: Transform | None = None
    missing: Missing
    range: tuple[Number, Number]
    higher_is: Literal["worse", "better", "neutral"]
    bands: Bands | None = None
    cutoffs: list[Cutoff] = Field(default_factory=list)
    change: Change | None = None
    loinc: str | None = None
    description: str | None = None


class FlagCondition(StrictModel):
    """``<scale score> <op> <value>`` or ``<item answer> <op> <value>`` (give exactly one of scale, item)."""

    scale: Id | None = None
    item: Id | None = None
    op: Operator | Literal["in"]
    value: Number | list[Number]


class Flag(StrictModel):
    """A published decision rule (e.g. PCL-5 DSM-5 provisional diagnosis, AUDIT escalation rule).

    Give ``all_of`` (every condition holds) or ``any_of`` (at least one holds). Unknown inputs make the
    flag unknown unless the known ones decide it.
    """

    id: Id
    label: Text
    all_of: list[FlagCondition] | None = None
    any_of: list[FlagCondition] | None = None
    source: Text


class CriticalItem(StrictModel):
    item: Id
    op: Operator | Literal["in"]
    value: Number | list[Number]
    message: Text = Field(description="What the clinician sees.")
    source: Text


class Translation(StrictModel):
    """Item and option text in another language, with where it comes from."""

    source: Text
    name: str | None = None
    instructions: str | None = None
    items: dict[Id, Text] = Field(default_factory=dict)
    option_sets: dict[Id, dict[int, Text]] = Field(default_factory=dict)


class Instrument(StrictModel):
    """One versioned instrument definition (one YAML file)."""

    schema_version: Literal[1] = 1
    id: Id
    version: SemVer
    name: Text
    abbreviation: Text
    description: str | None = None
    citations: list[Text] = Field(min_length=1)
    source_url: Text
    text_source: str | None = Field(default=None, description="Where the verbatim item wording was taken from.")
    copyright: Text
    licence: Licence
    language: LanguageCode = "en"
    instructions: str | None = None
    recall_period: str | None = None
    translations: dict[LanguageCode, Translation] = Field(default_factory=dict)
    option_sets: list[OptionSet] = Field(min_length=1)
    items: list[Item] = Field(min_length=1)
    scales: list[Scale] = Field(min_length=1)
    flags: list[Flag] = Field(default_factory=list)
    critical_items: list[CriticalItem] = Field(default_factory=list)
    loinc_panel: str | None = None
    notes: str | None = None


def definition_json_schema() -> dict:
    """JSON Schema of the instrument definition format, generated from the pydantic models."""
    schema = Instrument.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://psyscore.org/schema/instrument-1.json"
    return schema
