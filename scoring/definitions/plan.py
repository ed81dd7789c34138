"""Compile a validated definition once into arrays the scorer uses (keys matrix, masks, bounds, rules).

A plan is shared by every caller of its definition (the app's library serves all sessions): every array in
it is read-only (``flags.writeable`` is False) and every rule a frozen dataclass of tuples. Gate and
applicability values are compiled to the type they are compared with: gates compare numbers with the gate
item's answer codes; respondent conditions compare canonical sex words (``sex``), numbers (a numeric
value, e.g. ``age >= 18``) or text ignoring case (any other column).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scoring.definitions.respondent import SEX_CODES, Sex, parse_sex, sex_codes
from scoring.definitions.schema import Condition, RespondentCondition, Scale
from scoring.errors import PsyscoreError

if TYPE_CHECKING:
    from scoring.definitions.library import Definition

SCALE_SUFFIXES = ("band", "severity", "n_answered", "prorated", "valid", "reason", "reason_code")
REASON_NONE_ANSWERED, REASON_NONE_APPLICABLE, REASON_TABLE = 1, 2, 3
_FIXED_REASONS = ("", "no items answered", "no applicable items", "raw score not in the conversion table")
MAX_CRITICAL_ITEMS = 12  # critical_items categories enumerate every combination: 2**12 at most


@dataclass(frozen=True)
class CutoffPlan:
    id: str
    label: str
    column: str
    #: (sex, op, value) entries; sex is "any", "female" or "male"
    entries: tuple[tuple[str, str, float], ...]
    #: the published range of cut-points when the definition declares one (then there is a single entry)
    range: tuple[float, float] | None = None
    #: ``<column>_value``: the cut-point in effect, output for cut-offs with a published range
    value_column: str | None = None
    #: the definition's own choice within the range (the value in effect differs when a deployment chose)
    default_value: float | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if self.value_column is None else (self.column, self.value_column)

    @property
    def value(self) -> float | None:
        """The cut-point in effect of a cut-off with one entry (any sex)."""
        return self.entries[0][2] if len(self.entries) == 1 else None


@dataclass(frozen=True)
class BandSetPlan:
    """One band set other than the default, output as ``<scale>_band_<id>``."""

    id: str
    name: str | None
    column: str
    source: str
    mins: np.ndarray
    labels: tuple[str, ...]
    severities: tuple[int, ...]


@dataclass(frozen=True)
class ScalePlan:
    """One scale, compiled."""

    id: str
    name: str
    index: np.ndarray  # positions of the scale's items in Plan.item_ids
    weights: np.ndarray  # one weight per item of the scale
    method: str
    count_op: str | None
    count_thresholds: np.ndarray | None  # per item of the scale
    multiplier: float
    transform_keys: np.ndarray | None
    transform_values: np.ndarray | None
    rule: str
    max_missing: int | None
    min_answered: int | None
    rounding: str
    decimals: int
    range: tuple[float, float]
    band_mins: np.ndarray
    band_labels: tuple[str, ...]
    band_severities: tuple[int, ...]
    cutoffs: tuple[CutoffPlan, ...]
    higher_is: str
    band_sets: tuple[BandSetPlan, ...]
    reason_categories: tuple[str, ...]
    reason_lut: np.ndarray  # [missing (or answered) count, applicable count] -> code into reason_categories
    source: Scale = field(repr=False)

    @property
    def columns(self) -> tuple[str, ...]:
        base = (self.id, *(f"{self.id}_{s}" for s in SCALE_SUFFIXES))
        return base + tuple(b.column for b in self.band_sets) + tuple(col for c in self.cutoffs for col in c.columns)


class PlanError(PsyscoreError, ValueError):
    """A definition that did not pass validation cannot be compiled (e.g. a gate value that is not a number)."""


@dataclass(frozen=True)
class Gate:
    item: int  # position of the gated item
    gate: int  # position of the gate item
    op: str
    value: float | tuple[float, ...]  # compared with the gate item's answer codes: always numbers
    value_if_not_shown: float | None


@dataclass(frozen=True)
class Applicability:
    """``applies_if``: the item applies to respondents whose ``respondent`` column satisfies ``op value``.

    ``value`` is as written in the definition (for receipts); ``target`` is what is compared: canonical sex
    words for ``sex``, numbers when ``numeric``, else lower-case text.
    """

    item: int
    respondent: str
    op: str
    value: object
    target: str | float | tuple[str, ...] | tuple[float, ...] = ""
    numeric: bool = False

    def evaluate(self, column: pd.Series | Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
        """(known, holds) per respondent for one respondent column.

        ``known`` is False where the attribute is not recorded (or, for sex, is neither female nor male;
        for a numeric condition, is not a number): the item then stays applicable, as for a missing value.
        """
        col = column if isinstance(column, pd.Series) else pd.Series(list(column), dtype=object)
        col = col.reset_index(drop=True)
        if self.respondent == "sex":
            codes, _ = sex_codes(col)
            raw = np.full(len(col), "", dtype=object)
            raw[codes == SEX_CODES[Sex.FEMALE]] = Sex.FEMALE.value
            raw[codes == SEX_CODES[Sex.MALE]] = Sex.MALE.value
            known = raw != ""
            return known, compare(raw.astype(str), self.op, self.target) & known
        if self.numeric:
            text = col.astype(object).where(col.notna(), "").astype(str).str.strip()
            numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
            known = ~np.isnan(numbers)
            return known, compare(numbers, self.op, self.target) & known
        known = col.notna().to_numpy(dtype=bool)
        text = col.astype(object).where(col.notna(), "").astype(str).str.strip().str.lower()
        return known, compare(text.to_numpy(dtype=object).astype(str), self.op, self.target) & known


@dataclass(frozen=True)
class CriticalPlan:
    item: int
    item_id: str
    op: str
    value: object
    message: str


@dataclass(frozen=True)
class FlagPlan:
    id: str
    label: str
    mode: str  # "all" or "any"
    #: (kind, target, op, value): kind "scale" (target = scale id) or "item" (target = item position)
    conditions: tuple[tuple[str, str | int, str, object], ...]


@dataclass(frozen=True)
class Plan:
    """Everything needed to score an instrument, as arrays. Built once per definition (cached)."""

    instrument_id: str
    version: str
    hash: str
    item_ids: tuple[str, ...]
    allowed: tuple[np.ndarray, ...]  # sorted allowed codes per item
    lo: np.ndarray
    hi: np.ndarray
    integer_codes: np.ndarray  # bool per item: every allowed code is a whole number
    reverse: np.ndarray  # bool per item
    scored: np.ndarray  # bool per item: enters a scale, a gate, a flag or a critical rule
    keys: np.ndarray  # items × scales weight matrix (0 where the item is not in the scale)
    scales: tuple[ScalePlan, ...]
    gates: tuple[Gate, ...]
    applicability: tuple[Applicability, ...]
    critical: tuple[CriticalPlan, ...]
    flags: tuple[FlagPlan, ...]
    critical_categories: tuple[str, ...]

    @property
    def output_columns(self) -> tuple[str, ...]:
        cols: list[str] = []
        for s in self.scales:
            cols.extend(s.columns)
        cols.extend(f.id for f in self.flags)
        cols.extend(["critical", "critical_items", "instrument_id", "instrument_version", "instrument_hash",
                     "engine_version"])
        return tuple(cols)


def compile_plan(definition: Definition) -> Plan:
    """Compile a validated :class:`~scoring.definitions.library.Definition` into a :class:`Plan`."""
    ins = definition.instrument
    item_ids = tuple(i.id for i in ins.items)
    pos = {item_id: k for k, item_id in enumerate(item_ids)}
    sets = {s.id: s for s in ins.option_sets}
    allowed = tuple(np.array(sorted(float(o.value) for o in sets[i.options].options)) for i in ins.items)
    lo = np.array([a[0] for a in allowed])
    hi = np.array([a[-1] for a in allowed])
    integer_codes = np.array([bool(np.all(a == np.round(a))) for a in allowed])
    reverse = np.array([i.reverse for i in ins.items], dtype=bool)
    used = {i for s in ins.scales for i in s.items} | {i.shown_if.item for i in ins.items if i.shown_if}
    used |= {c.item for c in ins.critical_items}
    used |= {c.item for f in ins.flags for c in (*(f.all_of or ()), *(f.any_of or ())) if c.item}
    scored = np.array([i.id in used for i in ins.items], dtype=bool)

    keys = np.zeros((len(item_ids), len(ins.scales)))
    scales = []
    for s_idx, scale in enumerate(ins.scales):
        index = np.array([pos[i] for i in scale.items], dtype=np.intp)
        weights = np.array([float(scale.weights.get(i, 1)) for i in scale.items])
        keys[index, s_idx] = weights
        thresholds = None
        if scale.count_if is not None:
            thresholds = np.array([float(scale.count_if.per_item.get(i, scale.count_if.value)) for i in scale.items])
        t_keys = t_vals = None
        if scale.transform is not None:
            ordered = sorted(scale.transform.table.items())
            t_keys = np.array([k for k, _ in ordered], dtype=float)
            t_vals = np.array([v for _, v in ordered], dtype=float)
        bands = scale.bands.ranges if scale.bands else []
        cut_groups: dict[str, list] = {}
        for c in scale.cutoffs:
            cut_groups.setdefault(c.id, []).append(c)
        choices = definition.cutoff_choices
        cutoffs = tuple(
            CutoffPlan(cid, group[0].label, f"{scale.id}_{cid}",
                       tuple((c.sex, c.op, float(choices.get(f"{scale.id}.{cid}", c.value))) for c in group),
                       range=None if group[0].range is None else (float(group[0].range[0]), float(group[0].range[1])),
                       value_column=None if group[0].range is None else f"{scale.id}_{cid}_value",
                       default_value=float(group[0].value))
            for cid, group in cut_groups.items()
        )
        band_sets = tuple(
            BandSetPlan(b.id or "", b.name, f"{scale.id}_band_{b.id}", b.source,
                        _read_only(np.array([float(r.min) for r in b.ranges])), tuple(r.label for r in b.ranges),
                        tuple(r.severity for r in b.ranges))
            for b in scale.band_sets
        )
        reasons, lut = _reason_table(scale, len(index))
        scales.append(ScalePlan(
            id=scale.id, name=scale.name, index=index,
            weights=weights, method=scale.method,
            count_op=scale.count_if.op if scale.count_if else None, count_thresholds=thresholds,
            multiplier=float(scale.multiplier), transform_keys=t_keys, transform_values=t_vals,
            rule=scale.missing.rule, max_missing=scale.missing.max_missing,
            min_answered=scale.missing.min_answered, rounding=scale.missing.rounding,
            decimals=scale.missing.decimals, range=(float(scale.range[0]), float(scale.range[1])),
            band_mins=np.array([float(b.min) for b in bands]), band_labels=tuple(b.label for b in bands),
            band_severities=tuple(b.severity for b in bands), cutoffs=cutoffs, higher_is=scale.higher_is,
            band_sets=band_sets, reason_categories=reasons, reason_lut=lut, source=scale,
        ))

    gates = tuple(
        Gate(pos[i.id], pos[i.shown_if.item], i.shown_if.op, _gate_value(i.id, i.shown_if),
             None if i.value_if_not_shown is None else float(i.value_if_not_shown))
        for i in ins.items if i.shown_if is not None
    )
    applicability = tuple(
        _applicability(pos[i.id], i.id, i.applies_if) for i in ins.items if i.applies_if is not None
    )
    critical = tuple(
        CriticalPlan(pos[c.item], c.item, c.op, c.value, c.message) for c in ins.critical_items
    )
    for array in (*allowed, lo, hi, integer_codes, reverse, scored, keys):
        _read_only(array)
    for sp in scales:
        for optional in (sp.index, sp.weights, sp.count_thresholds, sp.transform_keys, sp.transform_values,
                         sp.band_mins, sp.reason_lut):
            if optional is not None:
                _read_only(optional)
    flags = tuple(
        FlagPlan(
            f.id, f.label, "all" if f.all_of is not None else "any",
            tuple(
                ("scale", c.scale, c.op, c.value) if c.scale is not None else ("item", pos[c.item or ""], c.op, c.value)
                for c in (f.all_of if f.all_of is not None else f.any_of or [])
            ),
        )
        for f in ins.flags
    )
    return Plan(
        instrument_id=ins.id, version=ins.version, hash=definition.hash, item_ids=item_ids, allowed=allowed,
        lo=lo, hi=hi, integer_codes=integer_codes, reverse=reverse, scored=scored, keys=keys, scales=tuple(scales),
        gates=gates, applicability=applicability, critical=critical, flags=flags,
        critical_categories=_critical_categories(critical),
    )


def _reason_table(scale: Scale, n_items: int) -> tuple[tuple[str, ...], np.ndarray]:
    """Every reason the missing-data rule can give, and a lookup [count, n_applicable] -> reason code."""
    m = scale.missing
    reasons = list(_FIXED_REASONS)
    lut = np.zeros((n_items + 1, n_items + 1), dtype=np.int16)
    for napp in range(1, n_items + 1):
        for count in range(0, n_items + 1):
            if m.rule == "complete" and 1 <= count < napp:
                text = f"{count} of {napp} items missing; every item is required"
            elif m.rule == "prorate" and (m.max_missing or 0) < count < napp:
                text = f"{count} of {napp} items missing; at most {m.max_missing} may be prorated"
            elif m.rule == "min_answered" and 1 <= count < (m.min_answered or 1) and count <= napp:
                text = f"only {count} of {napp} items answered; at least {m.min_answered} needed"
            else:
                continue
            reasons.append(text)
            lut[count, napp] = len(reasons) - 1
    return tuple(reasons), lut


def _critical_categories(critical: tuple[CriticalPlan, ...]) -> tuple[str, ...]:
    """Category i lists the critical items whose bit is set in i (so a bit pattern is its own code)."""
    if len(critical) > MAX_CRITICAL_ITEMS:
        raise ValueError(f"at most {MAX_CRITICAL_ITEMS} critical items are supported, got {len(critical)}")
    return tuple(
        ",".join(c.item_id for k, c in enumerate(critical) if code >> k & 1) for code in range(2 ** len(critical))
    )


def is_number(value: object) -> bool:
    """A number in a definition (YAML int or float; ``true``/``false`` are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _gate_value(item_id: str, cond: Condition) -> float | tuple[float, ...]:
    """A gate's value as the numbers it is compared with (pass 2 refuses anything else: E225)."""
    values = tuple(cond.value) if isinstance(cond.value, (list, tuple)) else (cond.value,)
    if not all(is_number(v) for v in values):
        raise PlanError(f"the gate of item {item_id!r} compares its answer with {cond.value!r}, which is not a "
                        "number; validate the definition first (psyscore validate)")
    numbers = tuple(float(v) for v in values)
    return numbers if cond.op in ("in", "not_in") else numbers[0]


def _applicability(position: int, item_id: str, cond: RespondentCondition) -> Applicability:
    """Compile ``applies_if``: sex values to canonical words, numeric values to floats, text to lower case."""
    values = tuple(cond.value) if isinstance(cond.value, (list, tuple)) else (cond.value,)
    many = cond.op in ("in", "not_in")
    numeric = False
    try:
        if cond.respondent == "sex":
            sexes = [parse_sex(v) for v in values]
            if any(s not in (Sex.FEMALE, Sex.MALE) for s in sexes):
                raise ValueError("sex conditions compare with female or male")
            words: tuple[str, ...] = tuple(s.value for s in sexes if s is not None)
            target: str | float | tuple[str, ...] | tuple[float, ...] = words if many else words[0]
        elif all(is_number(v) for v in values):
            numeric = True
            numbers = tuple(float(v) for v in values)
            target = numbers if many else numbers[0]
        elif any(is_number(v) for v in values) or cond.op not in ("==", "!=", "in", "not_in"):
            raise ValueError("mixes numbers and text, or orders text")
        else:
            texts = tuple(str(v).strip().lower() for v in values)
            target = texts if many else texts[0]
    except ValueError as exc:  # SexValueError is a ValueError
        raise PlanError(f"applies_if of item {item_id!r} ({cond.respondent} {cond.op} {cond.value!r}) cannot be "
                        f"compiled: {exc}; validate the definition first (psyscore validate)") from None
    return Applicability(position, cond.respondent, cond.op, cond.value, target, numeric)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _as_float(value: object) -> float:
    """``float(value)`` for the numbers (and numeric text) a condition compares with; TypeError otherwise."""
    if isinstance(value, (str, int, float, np.number)):
        return float(value)
    raise TypeError(f"float() argument must be a string or a real number, not {type(value).__name__!r}")


def compare(values: np.ndarray, op: str, target: object) -> np.ndarray:
    """Vectorized ``values <op> target``; NaN compares False (callers handle missing separately)."""
    if op in ("in", "not_in"):
        targets = target if isinstance(target, (list, tuple)) else [target]
        if values.dtype.kind in "fiu":
            numeric = [_as_float(t) for t in targets if not isinstance(t, str)]
            hit = np.isin(values, numeric)
        else:
            hit = np.isin(values.astype(str), [str(t) for t in targets])
        return hit if op == "in" else ~hit
    if values.dtype.kind not in "fiu":
        values_s = values.astype(str)
        t = str(target)
        return {"==": values_s == t, "!=": values_s != t}.get(op, np.zeros(len(values), bool))
    number = _as_float(target)
    with np.errstate(invalid="ignore"):
        if op == ">":
            return values > number
        if op == ">=":
            return values >= number
        if op == "<":
            return values < number
        if op == "<=":
            return values <= number
        if op == "==":
            return values == number
        if op == "!=":
            return (values != number) & ~np.isnan(values)
    raise ValueError(f"unknown operator {op!r}")
