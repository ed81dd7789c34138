"""Pydantic models for norm-table metadata (``norms/<norm_id>.yaml``): shape only.

The numbers live in the CSV beside the metadata (``norms/<norm_id>.csv``); their meaning (strata present,
score range covered, values monotone, instrument and scale exist) is checked by
:mod:`scoring.norms.rules`. All models forbid unknown keys and are frozen, and every list is a tuple
(:data:`~scoring.definitions.schema.FrozenList`), so a loaded table's metadata cannot be altered.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from scoring.definitions.schema import FrozenList, Id, Number, SemVer, StrictModel, Text

NormMethod = Literal["percentile", "mean_sd", "lookup_t"]
Evidence = Literal["primary", "secondary"]


class NormInstrument(StrictModel):
    """The instrument and the definition versions whose scores the table may be applied to."""

    id: Id
    versions: FrozenList[SemVer] = Field(min_length=1, description="Definition versions the table applies to.")


class Stratum(StrictModel):
    """One reference group. Ages are completed years at the administration date, both bounds inclusive."""

    id: Id
    label: Text = Field(description="How the group is described to users, e.g. 'Women, 25-34 years'.")
    sex: Literal["any", "female", "male"] = "any"
    age_min: int | None = Field(default=None, ge=0, le=130)
    age_max: int | None = Field(default=None, ge=0, le=130)
    n: int | None = Field(default=None, ge=1, description="Size of the group, where published.")


class ScoreConversion(StrictModel):
    """Exact linear map from the published metric to psyscore's: psyscore = published × multiplier + offset.

    Example: K10 tables on the 0–40 metric (items 0–4) map to psyscore's 10–50 metric with offset 10.
    """

    multiplier: Number = 1
    offset: Number = 0
    note: Text = Field(description="Why the metrics differ and why the map is exact.")


class NormMetadata(StrictModel):
    """One published norm table (one YAML file plus one CSV of numbers)."""

    schema_version: Literal[1] = 1
    id: Id
    name: Text
    instrument: NormInstrument
    scale: Id = Field(description="Id of the scale in the definition, e.g. 'total'.")
    population: Text
    country: Text = Field(description="ISO 3166 code(s) or a short description, e.g. 'DE'.")
    years: FrozenList[int] = Field(
        default_factory=tuple,
        description="Year(s) of data collection as published (a span as its first and last year); empty when "
        "the sources seen do not state them.",
    )
    n: int | None = Field(default=None, ge=1, description="Size of the whole normative sample.")
    method: NormMethod
    percentile_definition: Literal["midpoint", "at_or_below"] | None = Field(
        default=None,
        description="percentile tables only: 'at_or_below' = % of the sample scoring at or below the score; "
        "'midpoint' = % below plus half the % at the score.",
    )
    omitted_scores: Literal["not_allowed", "same_as_score_below"] = Field(
        default="not_allowed",
        description="percentile tables with at_or_below only: 'same_as_score_below' when the published table "
        "leaves out scores nobody in the stratum obtained (their cumulative % equals that of the next lower "
        "listed score; arithmetic, not interpolation).",
    )
    score_conversion: ScoreConversion | None = None
    strata: FrozenList[Stratum] = Field(min_length=1)
    citations: FrozenList[Text] = Field(min_length=1)
    source_url: Text
    evidence: Evidence = Field(description="primary: numbers seen in the primary source; secondary: only in copies.")
    seen_at: FrozenList[Text] = Field(min_length=1, description="Where each number was read (page, table, commit).")
    caveats: FrozenList[Text] = Field(default_factory=tuple, description="Shown to users with the norm.")
    notes: str | None = None
