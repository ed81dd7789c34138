"""Score a validated item matrix with numpy: no loop over respondents.

Order of operations for each scale (documented in instruments/README.md):

1. gates and applicability decide which items apply to each respondent;
2. reverse-keyed items become ``min + max − answer`` of their option set;
3. items are weighted (``sum``, ``mean``) or turned into 0/1 indicators (``count``);
4. the missing-data rule decides validity and prorates: ``sum × n_applicable / n_answered``;
5. a prorated score is rounded as declared (half-up, never banker's rounding);
6. the multiplier, then the conversion table, give the reported score;
7. bands are assigned by lower bound: the band with the largest ``min`` not above the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring._version import __version__
from scoring.definitions.plan import (
    REASON_NONE_ANSWERED,
    REASON_NONE_APPLICABLE,
    REASON_TABLE,
    Plan,
    ScalePlan,
    compare,
)
from scoring.definitions.respondent import SEX_CODES, Sex
from scoring.definitions.respondent import sex_codes as respondent_sex_codes
from scoring.engine.reasons import REASON_CODE_NAMES, reason_code_indices


def round_half_up(values: np.ndarray, decimals: int = 0) -> np.ndarray:
    """Round halves away from zero (scores are non-negative: 2.5 → 3), unlike numpy's half-to-even.

    >>> round_half_up(np.array([0.5, 1.5, 2.5, 2.4999, 18 / 9 * 10]))
    array([ 1.,  2.,  3.,  2., 20.])
    """
    factor = 10.0**decimals
    scaled = values * factor
    # guard against binary representation error: 2.675 * 100 = 267.49999999999997
    nudged = np.round(scaled, 9)
    return np.sign(nudged) * np.floor(np.abs(nudged) + 0.5) / factor


@dataclass
class Applied:
    """Item values after gates, applicability and reverse keying."""

    raw: np.ndarray  # answers as given (NaN = missing)
    effective: np.ndarray  # answers after gates and applicability, before reverse keying
    keyed: np.ndarray  # after reverse keying and not-shown values (NaN = missing or not applicable)
    applicable: np.ndarray | None  # bool per cell; None when every item applies to everyone
    ignored_not_shown: np.ndarray | None  # bool: answered although the gate was closed
    ignored_not_applicable: np.ndarray | None  # bool: answered although the item does not apply
    gate_closed: np.ndarray | None = None  # bool: the item's gate question excluded it (not shown)
    excluded: np.ndarray | None = None  # bool: the item does not apply to this respondent (not shown)

    def applicable_mask(self) -> np.ndarray:
        return np.ones(self.raw.shape, dtype=bool) if self.applicable is None else self.applicable

    def shown_mask(self) -> np.ndarray:
        """Bool per cell: the item is shown to this respondent for these answers (its gate is open or not
        answered yet, and it applies). The kiosk shows exactly these items; the scales score exactly them
        (an item not shown counts only through its ``value_if_not_shown``)."""
        shown = np.ones(self.raw.shape, dtype=bool)
        for mask in (self.gate_closed, self.excluded):
            if mask is not None:
                shown &= ~mask
        return shown


def apply_structure(plan: Plan, matrix: np.ndarray, respondent: pd.DataFrame | None) -> Applied:
    """Gates, applicability and reverse keying, vectorized over respondents."""
    n, k = matrix.shape
    rules = [r for r in plan.applicability if respondent is not None and r.respondent in respondent.columns]
    if not plan.gates and not rules:
        keyed = np.where(plan.reverse, plan.lo + plan.hi - matrix, matrix) if plan.reverse.any() else matrix
        return Applied(matrix, matrix, keyed, None, None, None)
    values = matrix.copy()
    applicable = np.ones((n, k), dtype=bool)
    not_shown = np.zeros((n, k), dtype=bool)
    not_applicable = np.zeros((n, k), dtype=bool)
    gate_closed = np.zeros((n, k), dtype=bool)
    excluded_mask = np.zeros((n, k), dtype=bool)
    closed_by_gate: dict[int, np.ndarray] = {}
    for gate in plan.gates:
        gate_vals = matrix[:, gate.gate]
        closed = ~np.isnan(gate_vals) & ~compare(gate_vals, gate.op, gate.value)
        closed_by_gate[gate.item] = closed
        gate_closed[:, gate.item] |= closed
        given = values[:, gate.item]
        # an answer recorded for a skipped item is ignored (and reported) unless it is the skip value itself
        differs = ~np.isnan(given) if gate.value_if_not_shown is None else (given != gate.value_if_not_shown)
        not_shown[:, gate.item] = closed & ~np.isnan(given) & differs
        if gate.value_if_not_shown is not None:
            values[closed, gate.item] = gate.value_if_not_shown
        else:
            values[closed, gate.item] = np.nan
            applicable[closed, gate.item] = False
    for rule in rules:
        # typed comparison in one place (Applicability.evaluate): sex words, numbers or text
        known, holds = rule.evaluate(respondent[rule.respondent])  # type: ignore[index]
        excluded = known & ~holds
        excluded_mask[:, rule.item] |= excluded
        not_applicable[:, rule.item] = excluded & ~np.isnan(values[:, rule.item])
        values[excluded, rule.item] = np.nan
        applicable[excluded, rule.item] = False
    keyed = np.where(plan.reverse, plan.lo + plan.hi - values, values)
    # value_if_not_shown is already a score value: undo the reversal applied to it above
    for gate in plan.gates:
        if gate.value_if_not_shown is not None and plan.reverse[gate.item]:
            keyed[closed_by_gate[gate.item], gate.item] = gate.value_if_not_shown
    return Applied(matrix, values, keyed, applicable, not_shown, not_applicable, gate_closed, excluded_mask)


@dataclass
class ScaleResult:
    score: np.ndarray
    n_answered: np.ndarray
    n_applicable: np.ndarray
    prorated: np.ndarray
    valid: np.ndarray
    reason_codes: np.ndarray  # codes into ScalePlan.reason_categories
    stages: ScaleStages | None = None  # the intermediate values, when asked for (receipts)


@dataclass
class ScaleStages:
    """What one scale's scoring did, per respondent: the trace a receipt renders (never recomputed).

    Arrays have one row per respondent; per-item arrays one column per item of the scale (``sp.index``).
    """

    counted: np.ndarray  # bool (n, items): the answer entered the scale (applicable and answered)
    used: np.ndarray  # float (n, items): the value that entered (after reverse keying), NaN where not counted
    hits: np.ndarray | None  # bool (n, items): for ``count`` scales, the counted answers meeting the threshold
    aggregate: np.ndarray  # the weighted sum, count or maximum of the counted answers
    after_missing: np.ndarray  # after the mean or prorating (the aggregate where neither applies)
    rounded: np.ndarray  # after half-up rounding of a prorated score
    multiplied: np.ndarray  # after the multiplier, before the conversion table


def score_scale(sp: ScalePlan, applied: Applied, *, trace: bool = False) -> ScaleResult:
    """Score one scale for every respondent at once.

    The loop runs over the scale's items (columns), never over respondents: each step is one vectorized
    operation on a contiguous column, accumulated in place, which keeps temporaries to a few vectors. With
    ``trace`` the result also holds :class:`ScaleStages` (call it for the rows a receipt explains only).
    """
    keyed = applied.keyed
    n = keyed.shape[0]
    counter = np.uint8 if len(sp.index) < 256 else np.int32  # small counters: less memory traffic
    n_answered: npt.NDArray[np.integer] = np.zeros(n, dtype=counter)
    n_applicable: np.ndarray | int = len(sp.index) if applied.applicable is None else np.zeros(n, dtype=counter)
    total = np.zeros(n) if sp.method != "max" else np.full(n, -np.inf)
    counting = sp.method == "count" and sp.count_op is not None and sp.count_thresholds is not None
    m = len(sp.index)
    counted = np.zeros((n, m), dtype=bool) if trace else None
    hits = np.zeros((n, m), dtype=bool) if trace and counting else None
    with np.errstate(invalid="ignore"):
        for j, k in enumerate(sp.index):
            col = keyed[:, k]
            ok = ~np.isnan(col)
            if applied.applicable is not None:
                appl = applied.applicable[:, k]
                ok &= appl
                n_applicable += appl
            np.add(n_answered, ok, out=n_answered, casting="unsafe")
            if counted is not None:
                counted[:, j] = ok
            if counting:
                hit = ok & _compare_per_item(col, sp.count_op or ">=", sp.count_thresholds[j])  # type: ignore[index]
                if hits is not None:
                    hits[:, j] = hit
                total += hit
            elif sp.method == "max":
                np.fmax(total, np.where(ok, col * sp.weights[j], -np.inf), out=total)
            elif sp.weights[j] == 1:
                np.add(total, col, out=total, where=ok)
            else:
                np.add(total, col * sp.weights[j], out=total, where=ok)
    if sp.method == "max":
        total[n_answered == 0] = np.nan
    aggregate = total.copy() if trace else total
    n_answered = n_answered.astype(np.int64)
    n_applicable = np.broadcast_to(np.asarray(n_applicable, dtype=np.int64), (n,))
    n_missing = n_applicable - n_answered
    score = total
    some_missing = n_missing > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if sp.method == "mean":
            score = total / n_answered
        elif sp.rule == "prorate":
            rows = np.flatnonzero(some_missing)
            score[rows] = total[rows] * n_applicable[rows] / n_answered[rows]
    if sp.rule == "complete":
        valid = ~some_missing & (n_applicable > 0)
    elif sp.rule == "prorate":
        valid = (n_missing <= (sp.max_missing or 0)) & (n_answered > 0)
    else:
        valid = n_answered >= (sp.min_answered or 1)
    prorated = valid & some_missing & (sp.rule == "prorate" or sp.method == "mean")
    after_missing = score.copy() if trace else score
    if sp.rule == "prorate" and sp.rounding == "half_up":
        rows = np.flatnonzero(prorated)
        if len(rows):
            score[rows] = round_half_up(score[rows], sp.decimals)
    rounded = score.copy() if trace else score
    if sp.multiplier != 1:
        score *= sp.multiplier
    multiplied = score.copy() if trace else score
    if sp.transform_keys is not None and sp.transform_values is not None:
        pos = np.searchsorted(sp.transform_keys, score)
        pos = np.clip(pos, 0, len(sp.transform_keys) - 1)
        exact = sp.transform_keys[pos] == score
        score = np.where(exact, sp.transform_values[pos], np.nan)
        valid &= exact
    score[~valid] = np.nan
    reason_codes = _reasons(sp, valid, n_missing, n_answered, n_applicable)
    stages = None
    if counted is not None:
        used = np.where(counted, keyed[:, sp.index], np.nan)
        stages = ScaleStages(counted, used, hits, aggregate, after_missing, rounded, multiplied)
    return ScaleResult(score, n_answered, n_applicable, prorated, valid, reason_codes, stages)


def _compare_per_item(vals: np.ndarray, op: str, thresholds: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return {
            ">": vals > thresholds, ">=": vals >= thresholds, "<": vals < thresholds,
            "<=": vals <= thresholds, "==": vals == thresholds, "!=": vals != thresholds,
        }[op]


def _reasons(sp: ScalePlan, valid: np.ndarray, n_missing: np.ndarray, n_answered: np.ndarray,
             n_applicable: np.ndarray) -> np.ndarray:
    """Why a score is missing, as codes into the plan's fixed ``reason_categories`` (0 = valid)."""
    codes = np.zeros(len(valid), dtype=np.int16)
    rows = np.flatnonzero(~valid)
    if not len(rows):
        return codes
    napp = n_applicable[rows]
    answered = n_answered[rows]
    key = answered if sp.rule == "min_answered" else n_missing[rows]
    sub = sp.reason_lut[np.clip(key, 0, sp.reason_lut.shape[0] - 1), np.clip(napp, 0, sp.reason_lut.shape[1] - 1)]
    sub = np.where(sub == 0, REASON_TABLE, sub)  # not a missing-data failure: the conversion table
    sub = np.where(answered == 0, np.where(napp > 0, REASON_NONE_ANSWERED, REASON_NONE_APPLICABLE), sub)
    codes[rows] = sub
    return codes


def band_codes(sp: ScalePlan, score: np.ndarray) -> np.ndarray:
    """Index of each score's band (-1 when there is no score or no bands): the largest ``min`` ≤ score."""
    return codes_by_lower_bound(sp.band_mins, score)


def codes_by_lower_bound(mins: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Index of each score's band in a set with these ascending lower bounds (-1 without a score or bands)."""
    if not len(mins):
        return np.full(len(score), -1, dtype=np.int16)
    codes = np.zeros(len(score), dtype=np.int16)
    ok = ~np.isnan(score)
    if len(mins) <= 16:  # a few comparisons beat a binary search per element
        with np.errstate(invalid="ignore"):
            for m in mins[1:]:
                codes += score >= m
        codes[~ok] = -1
        return codes
    idx = np.searchsorted(mins, score[ok], side="right") - 1
    codes[ok] = np.clip(idx, 0, len(mins) - 1)
    return codes


def assign_bands(sp: ScalePlan, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Band label (object array, None when no score) and severity (float, NaN when no score)."""
    codes = band_codes(sp, score)
    labels = np.array([*sp.band_labels, None], dtype=object)[codes]
    severity = np.array([*sp.band_severities, np.nan], dtype=float)[codes]
    return labels, severity


def _categorical(codes: np.ndarray, categories: list[str], ordered: bool = False) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories), ordered=ordered)


def _boolean(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.where(known, values, False).astype(bool), ~known)


def score_bounds(sp: ScalePlan, plan: Plan, applied: Applied, res: ScaleResult) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest score each respondent could have once every missing answer is given.

    Equal to the score where the scale is scored; where it is not scorable only because applicable items are
    unanswered, the bounds over every possible answer to those items (each missing item independently takes
    any of its option codes). NaN where no answer could make the scale scorable, or where a conversion table
    maps the raw score (bounds of a table lookup are not attempted). Vectorized: the loop runs over the
    scale's items, never over respondents.
    """
    score = res.score
    lower = score.copy()
    upper = score.copy()
    n_applicable = res.n_applicable
    rows = ~res.valid & (n_applicable > res.n_answered) & (n_applicable > 0)
    if sp.rule == "min_answered":
        rows &= n_applicable >= (sp.min_answered or 1)
    if sp.transform_keys is not None or not rows.any():
        lower[rows] = np.nan
        upper[rows] = np.nan
        return lower, upper
    keyed = applied.keyed[rows]
    appl = None if applied.applicable is None else applied.applicable[rows]
    m = keyed.shape[0]
    counting = sp.method == "count" and sp.count_op is not None and sp.count_thresholds is not None
    lo = np.zeros(m) if sp.method != "max" else np.full(m, -np.inf)
    hi = lo.copy()
    with np.errstate(invalid="ignore"):
        for j, k in enumerate(sp.index):
            col = keyed[:, k]
            answered = ~np.isnan(col)
            missing = ~answered
            if appl is not None:
                answered &= appl[:, k]
                missing &= appl[:, k]
            if counting:
                thr = sp.count_thresholds[j]  # type: ignore[index]
                codes = plan.allowed[k]
                if plan.reverse[k]:
                    codes = plan.lo[k] + plan.hi[k] - codes
                met = compare(codes.astype(float), sp.count_op or ">=", thr)
                can, must = bool(met.any()), bool(met.all())
                hit = answered & _compare_per_item(col, sp.count_op or ">=", thr)
                lo += hit | (missing & must)
                hi += hit | (missing & can)
                continue
            w = sp.weights[j]
            low_k, high_k = sorted((w * plan.lo[k], w * plan.hi[k]))
            if sp.method == "max":
                np.fmax(lo, np.where(answered, col * w, np.where(missing, low_k, -np.inf)), out=lo)
                np.fmax(hi, np.where(answered, col * w, np.where(missing, high_k, -np.inf)), out=hi)
            else:
                lo += np.where(answered, col * w, np.where(missing, low_k, 0.0))
                hi += np.where(answered, col * w, np.where(missing, high_k, 0.0))
    if sp.method == "mean":
        napp = n_applicable[rows]
        lo, hi = lo / napp, hi / napp
    if sp.multiplier != 1:
        lo, hi = np.minimum(lo * sp.multiplier, hi * sp.multiplier), np.maximum(lo * sp.multiplier, hi * sp.multiplier)
    lower[rows] = lo
    upper[rows] = hi
    return lower, upper


def _decided(lower: np.ndarray, upper: np.ndarray, op: str, target: object) -> tuple[np.ndarray, np.ndarray]:
    """(certainly true, certainly false) of ``value <op> target`` for every value in [lower, upper]."""
    known = ~np.isnan(lower) & ~np.isnan(upper)
    if op not in (">", ">=", "<", "<=", "==", "!=") or isinstance(target, (str, list, tuple)):
        exact = known & (lower == upper)
        hit = compare(lower, op, target)
        return exact & hit, exact & ~hit
    t = float(target)  # type: ignore[arg-type]
    with np.errstate(invalid="ignore"):
        true, false = {
            ">": (lower > t, upper <= t),
            ">=": (lower >= t, upper < t),
            "<": (upper < t, lower >= t),
            "<=": (upper <= t, lower > t),
            "==": ((lower == t) & (upper == t), (t < lower) | (t > upper)),
            "!=": ((t < lower) | (t > upper), (lower == t) & (upper == t)),
        }[op]
    return known & true, known & false


def _evaluate_flag(flag, bounds: dict[str, tuple[np.ndarray, np.ndarray]], plan: Plan,
                   applied: Applied) -> pd.arrays.BooleanArray:
    """Kleene three-valued logic over conditions that are each decided whatever the missing answers are.

    A condition on a scale uses :func:`score_bounds`: a PCL-5 cluster count of at least 4 with one item
    unanswered meets ``>= 1`` for every possible answer, so the condition is true, not unknown. A condition
    on an unanswered item that applies is decided only when every option code of the item decides it. The
    flag is unknown only when some answer to the missing items could change it (per condition; exact when
    the conditions share no item, as the PCL-5 clusters).
    """
    raw = applied.effective
    n = raw.shape[0]
    trues = np.zeros(n, dtype=int)
    falses = np.zeros(n, dtype=int)
    for kind, target, op, value in flag.conditions:
        if kind == "scale":
            lower, upper = bounds[target]
        else:
            vals = raw[:, target]
            open_ = np.isnan(vals) & applied.applicable_mask()[:, target]
            lower = np.where(open_, plan.lo[target], vals)
            upper = np.where(open_, plan.hi[target], vals)
            if op in ("==", "!=", "in", "not_in"):  # codes between lo and hi may not exist: check the codes
                codes = plan.allowed[target].astype(float)
                met = compare(codes, op, value)
                all_met, none_met = bool(met.all()), not bool(met.any())
                true, false = _decided(vals, vals, op, value)
                trues += true | (open_ & all_met)
                falses += false | (open_ & none_met)
                continue
        true, false = _decided(lower, upper, op, value)
        trues += true
        falses += false
    total = len(flag.conditions)
    if flag.mode == "all":
        known = (falses > 0) | (trues == total)
        value = trues == total
    else:
        known = (trues > 0) | (falses == total)
        value = trues > 0
    return _boolean(value, known)


_SEX = {"female": SEX_CODES[Sex.FEMALE], "male": SEX_CODES[Sex.MALE]}


def sex_codes(respondent: pd.DataFrame | None, n: int) -> np.ndarray:
    """0 unknown, 1 female, 2 male per row, from a ``sex`` column (:func:`scoring.definitions.respondent.sex_codes`).

    ``other``, not recorded and refused values are unknown to sex-specific rules. Numeric codings are not
    guessed: 1 and 2 mean different sexes in different data sets.
    """
    out = np.zeros(n, dtype=np.int8)
    if respondent is None or "sex" not in respondent.columns:
        return out
    codes, _ = respondent_sex_codes(respondent["sex"])
    out[codes == _SEX["female"]] = 1
    out[codes == _SEX["male"]] = 2
    return out


def score_matrix(plan: Plan, matrix: np.ndarray, respondent: pd.DataFrame | None = None,
                 index: pd.Index | None = None) -> tuple[pd.DataFrame, Applied]:
    """Score a validated item matrix; returns the score columns (stable names and dtypes).

    See :func:`traced_score_matrix` for the same run with each scale's :class:`ScaleStages`.
    """
    frame, applied, _ = traced_score_matrix(plan, matrix, respondent, index, trace=False)
    return frame, applied


def traced_score_matrix(plan: Plan, matrix: np.ndarray, respondent: pd.DataFrame | None = None,
                        index: pd.Index | None = None, *, trace: bool = True,
                        ) -> tuple[pd.DataFrame, Applied, dict[str, ScaleStages]]:
    """Score a validated item matrix; returns the score columns, the item structure and (with ``trace``) the
    stages of every scale — what a receipt renders, from the very run that produced the scores.

    Text columns are categoricals whose categories are fixed by the plan, so dtypes never depend on the data:
    bands (ordered by severity), reasons (every message the missing-data rule can produce), reason codes (the
    closed set :data:`scoring.engine.reasons.REASON_CODE_NAMES`), critical items
    (every combination of the instrument's critical items) and provenance.
    """
    n = matrix.shape[0]
    applied = apply_structure(plan, matrix, respondent)
    cols: dict[str, object] = {}
    results: dict[str, ScaleResult] = {}
    sex = None
    stages: dict[str, ScaleStages] = {}
    for sp in plan.scales:
        res = score_scale(sp, applied, trace=trace)
        results[sp.id] = res
        if res.stages is not None:
            stages[sp.id] = res.stages
        bands = band_codes(sp, res.score)
        has_band = bands >= 0
        cols[sp.id] = res.score.astype(float)
        cols[f"{sp.id}_band"] = _categorical(bands, list(sp.band_labels), ordered=True)
        severities = np.array([*sp.band_severities, 0], dtype=np.int64)[bands]
        cols[f"{sp.id}_severity"] = pd.arrays.IntegerArray(severities, ~has_band)
        cols[f"{sp.id}_n_answered"] = res.n_answered.astype("int64")
        cols[f"{sp.id}_prorated"] = res.prorated.astype(bool)
        cols[f"{sp.id}_valid"] = res.valid.astype(bool)
        cols[f"{sp.id}_reason"] = _categorical(res.reason_codes, list(sp.reason_categories))
        cols[f"{sp.id}_reason_code"] = _categorical(reason_code_indices(res.reason_codes, sp.rule),
                                                    list(REASON_CODE_NAMES))
        for band_set in sp.band_sets:  # another published set: <scale>_band_<id>, ordered like the default
            cols[band_set.column] = _categorical(codes_by_lower_bound(band_set.mins, res.score),
                                                 list(band_set.labels), ordered=True)
        scored = ~np.isnan(res.score)
        for cut in sp.cutoffs:
            if sex is None:
                sex = sex_codes(respondent, n)
            value = np.zeros(n, dtype=bool)
            known = np.zeros(n, dtype=bool)
            for sex_of, op, target in cut.entries:
                rows = np.ones(n, bool) if sex_of == "any" else (sex == _SEX[sex_of])
                value = np.where(rows, compare(res.score, op, target), value)
                known |= rows
            cols[cut.column] = _boolean(value, known & scored)
            if cut.value_column is not None:  # the cut-point in effect, for every row (scored or not)
                cols[cut.value_column] = np.full(n, cut.entries[0][2], dtype=float)
    flag_scales = {t for f in plan.flags for kind, t, _, _ in f.conditions if kind == "scale"}
    bounds = {sp.id: score_bounds(sp, plan, applied, results[sp.id]) for sp in plan.scales if sp.id in flag_scales}
    for flag in plan.flags:
        cols[flag.id] = _evaluate_flag(flag, bounds, plan, applied)
    critical = np.zeros(n, dtype=bool)
    bits = np.zeros(n, dtype=np.int32)
    for k, cp in enumerate(plan.critical):
        vals = applied.effective[:, cp.item]  # an answer to a skipped question is ignored, as in the score
        hit = compare(vals, cp.op, cp.value) & ~np.isnan(vals)
        critical |= hit
        bits |= hit.astype(np.int32) << k
    cols["critical"] = critical
    # category i names the critical items whose bit is set in i, so the bit pattern is the code
    cols["critical_items"] = _categorical(bits, list(plan.critical_categories))
    zeros = np.zeros(n, dtype=np.int8)
    cols["instrument_id"] = _categorical(zeros, [plan.instrument_id])
    cols["instrument_version"] = _categorical(zeros, [plan.version])
    cols["instrument_hash"] = _categorical(zeros, [plan.hash])
    cols["engine_version"] = _categorical(zeros, [__version__])
    frame = pd.DataFrame(cols, index=index if index is not None else pd.RangeIndex(n), copy=False)
    return frame, applied, stages
