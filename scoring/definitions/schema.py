"""Pydantic models for instrument definitions: shape only.

Meaning (items exist, bands contiguous, ranges consistent, …) is checked by :mod:`scoring.definitions.rules`.
All models forbid unknown keys and are frozen, and they are immutable all the way down: every list of the
YAML file is held as a tuple (:data:`FrozenList`) and every mapping as a :class:`FrozenDict`, so a loaded
definition (shared by every session of the app, together with its content hash and compiled plan) cannot be
altered afterwards. Both validate, describe (JSON Schema) and serialise exactly as the lists and dicts they
replace, so ``model_dump(mode="json")`` and therefore every content hash is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, NoReturn, TypeVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
)
from pydantic_core import core_schema

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class FrozenDict(Mapping[K, V]):
    """A read-only, hashable mapping that pydantic validates and serialises as a ``dict``.

    >>> d = FrozenDict({"a": 1})
    >>> d["a"], dict(d) == {"a": 1}
    (1, True)
    >>> d["b"] = 2
    Traceback (most recent call last):
    ...
    TypeError: 'FrozenDict' object does not support item assignment
    """

    __slots__ = ("_data", "_hash")
    # Set once in __init__ (through object.__setattr__: __setattr__ refuses every write); declared for the checker.
    _data: dict[K, V]
    _hash: int | None

    def __init__(self, data: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        object.__setattr__(self, "_data", dict(data))
        object.__setattr__(self, "_hash", None)

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = hash(frozenset(self._data.items()))
            object.__setattr__(self, "_hash", h)
        return h

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenDict):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"FrozenDict is read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"FrozenDict is read-only (cannot delete {name!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (self._data,))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        args = get_args(source) or (Any, Any)
        as_dict = handler.generate_schema(dict[args[0], args[1]])  # type: ignore[valid-type]
        return core_schema.no_info_after_validator_function(
            cls, as_dict,
            serialization=core_schema.wrap_serializer_function_ser_schema(
                lambda value, serialize: serialize(dict(value)), schema=as_dict),
        )


class _ListInput:
    """Annotation for ``tuple[X, ...]``: validated, described and serialised as a list, held as a tuple.

    Validating as a list keeps the messages in the YAML author's words ("Input should be a valid list",
    "List should have at least 2 items") rather than Python's ("tuple").
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        inner = handler(source)  # the tuple schema, with any length constraints already applied
        if inner.get("type") != "tuple" or len(inner.get("items_schema", ())) != 1:
            raise TypeError(f"FrozenList needs tuple[X, ...], got {source!r}")
        as_list = core_schema.list_schema(inner["items_schema"][0], min_length=inner.get("min_length"),
                                          max_length=inner.get("max_length"))
        return core_schema.no_info_after_validator_function(
            tuple, as_list,
            serialization=core_schema.wrap_serializer_function_ser_schema(
                lambda value, serialize: serialize(list(value)), schema=as_list),
        )


if TYPE_CHECKING:
    FrozenList = tuple[T, ...]
else:
    FrozenList = Annotated[tuple[T, ...], _ListInput()]
"""A YAML list held as a tuple: ``FrozenList[Option]`` is ``tuple[Option, ...]``."""

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

    #: Fields added to the format after 1.0.0 definitions were stamped with their content hashes. They are left
    #: out of the dump (hence of the canonical JSON and the hash) while they hold their default, so a
    #: definition that does not use them keeps the hash it always had; one that uses them is a new version.
    _added_later: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_unused_later_fields(self, handler: SerializerFunctionWrapHandler,
                                  info: SerializationInfo) -> Any:
        data = handler(self)
        if self._added_later and isinstance(data, dict):
            fields = type(self).model_fields
            for name in self._added_later:
                if name in data and getattr(self, name) == fields[name].get_default(call_default_factory=True):
                    del data[name]
        return data


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
    options: FrozenList[Option] = Field(min_length=2)


class Condition(StrictModel):
    """A comparison on an answer or a respondent attribute: ``<left> <op> <value>``."""

    op: Operator | Literal["in", "not_in"]
    value: Number | str | FrozenList[Number | str]


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
    """A published set of bands. A scale's ``bands`` is its default set (output ``<scale>_band``); each of its
    ``band_sets`` is another published set, output as ``<scale>_band_<id>``."""

    _added_later = ("id", "name")

    id: Id | None = Field(
        default=None, description="Name of the band set (required in band_sets: the output column "
        "<scale>_band_<id>; optional for the default set, which is output as <scale>_band).")
    name: str | None = Field(default=None, description="What the set is called where it is published "
                             "(e.g. 'ABS survey groupings'), shown beside the band.")
    source: Text
    ranges: FrozenList[Band] = Field(min_length=1)


class Cutoff(StrictModel):
    _added_later = ("range",)

    id: Id
    label: Text
    op: Operator
    value: Number = Field(description="The cut-point applied; with `range`, the value chosen within it.")
    range: tuple[Number, Number] | None = Field(
        default=None,
        description="Published range of equally supported cut-points (PCL-5: 31-33). `value` is the one chosen "
        "here; a deployment may choose another within the range (PSYSCORE_CUTOFFS), and the value used is "
        "output as <scale>_<id>_value and stored with every result.")
    sex: Literal["any", "female", "male"] = "any"
    source: Text


class Sourced(StrictModel):
    value: Number
    source: Text
    note: str | None = None


class Reliability(Sourced):
    kind: Literal["test_retest", "alpha", "omega", "icc"]


SdPopulation = Literal["clinical", "general_population", "non_clinical", "mixed"]


class SD(Sourced):
    """The SD of a reference sample, with the kind of sample it comes from (the RCI names it)."""

    _added_later = ("population",)

    population: SdPopulation | None = Field(
        default=None, description="The sample the SD comes from: clinical (Jacobson & Truax's choice: "
        "the pre-treatment clinical sample), general_population, non_clinical or mixed.")


class ChangeStratum(StrictModel):
    """Reliability and SD published for one stratum (e.g. women), used instead of the general ones."""

    reliability: Reliability | None = None
    sd: SD | None = None


class Change(StrictModel):
    """Parameters of reliable and clinically significant change, each with its source."""

    _added_later = ("by_sex",)

    reliability: Reliability | None = None
    sd: SD | None = Field(default=None, description="SD of the reference sample used for the RCI.")
    by_sex: FrozenDict[Literal["female", "male"], ChangeStratum] = Field(
        default_factory=FrozenDict,
        description="Reliability and SD published per sex; used for respondents of that sex (a sex column), "
        "the general ones otherwise.")
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

    table: FrozenDict[int, Number]
    source: Text


class CountIf(StrictModel):
    op: Operator
    value: Number
    per_item: FrozenDict[Id, Number] = Field(
        default_factory=FrozenDict, description="Item-specific thresholds that override `value` (ASRS Part A)."
    )


class Scale(StrictModel):
    _added_later = ("band_sets",)

    id: Id
    name: Text
    items: FrozenList[Id] = Field(min_length=1)
    method: Literal["sum", "mean", "count", "max"]
    count_if: CountIf | None = Field(default=None, description="For method count: when an item counts.")
    weights: FrozenDict[Id, Number] = Field(default_factory=FrozenDict)
    multiplier: Number = 1
    transform: Transform | None = None
    missing: Missing
    range: tuple[Number, Number]
    higher_is: Literal["worse", "better", "neutral"]
    bands: Bands | None = None
    band_sets: FrozenList[Bands] = Field(
        default_factory=tuple, description="Other published band sets, each with its id and source; output "
        "as <scale>_band_<id> beside the default set `bands`.")
    cutoffs: FrozenList[Cutoff] = Field(default_factory=tuple)
    change: Change | None = None
    loinc: str | None = None
    description: str | None = None


class FlagCondition(StrictModel):
    """``<scale score> <op> <value>`` or ``<item answer> <op> <value>`` (give exactly one of scale, item)."""

    scale: Id | None = None
    item: Id | None = None
    op: Operator | Literal["in"]
    value: Number | FrozenList[Number]


class Flag(StrictModel):
    """A published decision rule (e.g. PCL-5 DSM-5 provisional diagnosis, AUDIT escalation rule).

    Give ``all_of`` (every condition holds) or ``any_of`` (at least one holds). Unknown inputs make the
    flag unknown unless the known ones decide it.
    """

    id: Id
    label: Text
    all_of: FrozenList[FlagCondition] | None = None
    any_of: FrozenList[FlagCondition] | None = None
    source: Text


class CriticalItem(StrictModel):
    item: Id
    op: Operator | Literal["in"]
    value: Number | FrozenList[Number]
    message: Text = Field(description="What the clinician sees.")
    source: Text


class Translation(StrictModel):
    """Item and option text in another language, with where it comes from."""

    source: Text
    name: str | None = None
    instructions: str | None = None
    items: FrozenDict[Id, Text] = Field(default_factory=FrozenDict)
    option_sets: FrozenDict[Id, FrozenDict[int, Text]] = Field(default_factory=FrozenDict)


class Instrument(StrictModel):
    """One versioned instrument definition (one YAML file)."""

    schema_version: Literal[1] = 1
    id: Id
    version: SemVer
    name: Text
    abbreviation: Text
    description: str | None = None
    citations: FrozenList[Text] = Field(min_length=1)
    source_url: Text
    text_source: str | None = Field(default=None, description="Where the verbatim item wording was taken from.")
    copyright: Text
    licence: Licence
    language: LanguageCode = "en"
    instructions: str | None = None
    recall_period: str | None = None
    translations: FrozenDict[LanguageCode, Translation] = Field(default_factory=FrozenDict)
    option_sets: FrozenList[OptionSet] = Field(min_length=1)
    items: FrozenList[Item] = Field(min_length=1)
    scales: FrozenList[Scale] = Field(min_length=1)
    flags: FrozenList[Flag] = Field(default_factory=tuple)
    critical_items: FrozenList[CriticalItem] = Field(default_factory=tuple)
    loinc_panel: str | None = None
    notes: str | None = None


def definition_json_schema() -> dict:
    """JSON Schema of the instrument definition format, generated from the pydantic models."""
    schema = Instrument.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://psyscore.org/schema/instrument-1.json"
    return schema
