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
import pandas as pd

from scoring._version import __version__
from scoring.engine.plan import Plan, ScalePlan, compare


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
    keyed: np.ndarray  # after reverse keying and not-shown values (NaN = missing or not applicable)
    applicable: np.ndarray  # bool
    ignored_not_shown: np.ndarray  # bool: answered although the gate was closed
    ignored_not_applicable: np.ndarray  # bool


def apply_structure(plan: Plan, matrix: np.ndarray, respondent: pd.DataFrame | None) -> Applied:
    """Gates, applicability and reverse keying, vectorized over respondents."""
    n, k = matrix.shape
    values = matrix.copy()
    applicable = np.ones((n, k), dtype=bool)
    not_shown = np.zeros((n, k), dtype=bool)
    not_applicable = np.zeros((n, k), dtype=bool)
    for gate in plan.gates:
        gate_vals = matrix[:, gate.gate]
        known = ~np.isnan(gate_vals)
        closed = known & ~compare(gate_vals, gate.op, gate.value)
        answered = ~np.isnan(values[:, gate.item])
        not_shown[:, gate.item] = closed & answered
        if gate.value_if_not_shown is not None:
            values[closed, gate.item] = gate.value_if_not_shown
        else:
            values[closed, gate.item] = np.nan
            applicable[closed, gate.item] = False
    for rule in plan.applicability:
        if respondent is None or rule.respondent not in respondent.columns:
            continue  # unknown attribute: the item applies
        col = respondent[rule.respondent]
        known = col.notna().to_numpy()
        raw = col.astype(object).where(col.notna(), "").astype(str).str.strip().str.lower().to_numpy(dtype=object)
        target = [str(v).lower() for v in rule.value] if isinstance(rule.value, list) else str(rule.value).lower()
        holds = compare(raw.astype(str), rule.op, target)
        excluded = known & ~holds
        not_applicable[:, rule.item] = excluded & ~np.isnan(values[:, rule.item])
        values[excluded, rule.item] = np.nan
        applicable[excluded, rule.item] = False
    keyed = np.where(plan.reverse, plan.lo + plan.hi - values, values)
    # value_if_not_shown is a score value: undo the reversal applied to it above
    for gate in plan.gates:
        if gate.value_if_not_shown is not None and plan.reverse[gate.item]:
            closed = ~np.isnan(matrix[:, gate.gate]) & ~compare(matrix[:, gate.gate], gate.op, gate.value)
            keyed[closed, gate.item] = gate.value_if_not_shown
    return Applied(matrix, keyed, applicable, not_shown, not_applicable)


@dataclass
class ScaleResult:
    score: np.ndarray
    raw: np.ndarray  # aggregate before proration, rounding, multiplier and table
    n_answered: np.ndarray
    n_applicable: np.ndarray
    prorated: np.ndarray
    valid: np.ndarray
    reason: np.ndarray  # object array of str


def score_scale(sp: ScalePlan, applied: Applied) -> ScaleResult:
    """Score one scale for every respondent at once."""
    vals = applied.keyed[:, sp.index]
    appl = applied.applicable[:, sp.index]
    answered = ~np.isnan(vals) & appl
    n_answered = answered.sum(axis=1)
    n_applicable = appl.sum(axis=1)
    n_missing = n_applicable - n_answered
    if sp.method == "count" and sp.count_op is not None and sp.count_thresholds is not None:
        contrib = _compare_per_item(vals, sp.count_op, sp.count_thresholds) & answered
        total = contrib.sum(axis=1).astype(float)
    elif sp.method == "max":
        weighted = np.where(answered, vals * sp.weights, -np.inf)
        total = weighted.max(axis=1)
        total[n_answered == 0] = np.nan
    else:
        total = np.where(answered, vals, 0.0) @ sp.weights
    raw = total.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        if sp.method == "mean":
            score = total / n_answered
        elif sp.rule == "prorate":
            score = np.where(n_missing > 0, total * n_applicable / n_answered, total)
        else:
            score = total
    if sp.rule == "complete":
        valid = (n_missing == 0) & (n_applicable > 0)
    elif sp.rule == "prorate":
        valid = (n_missing <= (sp.max_missing or 0)) & (n_answered > 0)
    else:
        valid = n_answered >= (sp.min_answered or 1)
    prorated = valid & (n_missing > 0) & (sp.rule == "prorate" or sp.method == "mean")
    if sp.rule == "prorate" and sp.rounding == "half_up":
        score = np.where(prorated, round_half_up(score, sp.decimals), score)
    score = score * sp.multiplier
    if sp.transform_keys is not None and sp.transform_values is not None:
        pos = np.searchsorted(sp.transform_keys, score)
        pos = np.clip(pos, 0, len(sp.transform_keys) - 1)
        exact = sp.transform_keys[pos] == score
        score = np.where(exact, sp.transform_values[pos], np.nan)
        valid &= exact
    score = np.where(valid, score, np.nan)
    reason = _reasons(sp, valid, n_missing, n_answered, n_applicable)
    return ScaleResult(score, raw, n_answered, n_applicable, prorated, valid, reason)


def _compare_per_item(vals: np.ndarray, op: str, thresholds: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return {
            ">": vals > thresholds, ">=": vals >= thresholds, "<": vals < thresholds,
            "<=": vals <= thresholds, "==": vals == thresholds, "!=": vals != thresholds,
        }[op]


def _reasons(sp: ScalePlan, valid: np.ndarray, n_missing: np.ndarray, n_answered: np.ndarray,
             n_applicable: np.ndarray) -> np.ndarray:
    """Why a score is missing, in words (empty string when the score is valid). Vectorized by case."""
    reason = np.full(len(valid), "", dtype=object)
    invalid = ~valid
    if not invalid.any():
        return reason
    none = invalid & (n_answered == 0)
    reason[none & (n_applicable > 0)] = "no items answered"
    reason[none & (n_applicable == 0)] = "no applicable items"
    rest = invalid & ~none
    if sp.rule == "complete":
        # build "k of n items missing" for each distinct (k, n) pair: few distinct pairs, so few strings
        _fill_counts(reason, rest, n_missing, n_applicable, "{m} of {n} items missing; every item is required")
    elif sp.rule == "prorate":
        _fill_counts(reason, rest, n_missing, n_applicable,
                     "{m} of {n} items missing; at most " + str(sp.max_missing) + " may be prorated")
    else:
        _fill_counts(reason, rest, n_answered, n_applicable,
                     "only {m} of {n} items answered; at least " + str(sp.min_answered) + " needed")
    conv = rest & (reason == "")
    reason[conv] = "raw score not in the conversion table"
    return reason


def _fill_counts(reason: np.ndarray, mask: np.ndarray, m: np.ndarray, n: np.ndarray, template: str) -> None:
    if not mask.any():
        return
    pairs = np.unique(np.stack([m[mask], n[mask]], axis=1), axis=0)
    for mm, nn in pairs:
        sel = mask & (m == mm) & (n == nn)
        reason[sel] = template.format(m=int(mm), n=int(nn))


def assign_bands(sp: ScalePlan, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Band label (object array, None when no score) and severity (float, NaN when no score)."""
    labels = np.full(len(score), None, dtype=object)
    severity = np.full(len(score), np.nan)
    if not len(sp.band_mins):
        return labels, severity
    ok = ~np.isnan(score)
    idx = np.searchsorted(sp.band_mins, score[ok], side="right") - 1
    idx = np.clip(idx, 0, len(sp.band_mins) - 1)
    labels[ok] = np.array(sp.band_labels, dtype=object)[idx]
    severity[ok] = np.array(sp.band_severities, dtype=float)[idx]
    return labels, severity


def _evaluate_flag(flag, finals: dict[str, np.ndarray], raw: np.ndarray) -> pd.arrays.BooleanArray:
    """Kleene three-valued logic: unknown inputs leave the flag unknown unless the known ones decide it."""
    n = raw.shape[0]
    trues = np.zeros(n, dtype=int)
    falses = np.zeros(n, dtype=int)
    for kind, target, op, value in flag.conditions:
        vals = finals[target] if kind == "scale" else raw[:, target]
        known = ~np.isnan(vals)
        hit = compare(vals, op, value) & known
        trues += hit
        falses += known & ~hit
    total = len(flag.conditions)
    if flag.mode == "all":
        result = np.where(falses > 0, False, np.where(trues == total, True, None))
    else:
        result = np.where(trues > 0, True, np.where(falses == total, False, None))
    return pd.array(result, dtype="boolean")


def _sex_codes(respondent: pd.DataFrame | None, n: int) -> np.ndarray:
    """'female', 'male' or '' per row, from a 'sex' column if present (f/female/w/woman, m/male/man)."""
    out = np.full(n, "", dtype=object)
    if respondent is None or "sex" not in respondent.columns:
        return out
    s = respondent["sex"].astype(object).where(respondent["sex"].notna(), "").astype(str).str.strip().str.lower()
    arr = s.to_numpy(dtype=object)
    out[np.isin(arr, ["f", "female", "w", "woman", "women", "2"])] = "female"
    out[np.isin(arr, ["m", "male", "man", "men", "1"])] = "male"
    return out


def score_matrix(plan: Plan, matrix: np.ndarray, respondent: pd.DataFrame | None = None,
                 index: pd.Index | None = None) -> tuple[pd.DataFrame, Applied]:
    """Score a validated item matrix; returns the score columns (stable names and dtypes)."""
    n = matrix.shape[0]
    applied = apply_structure(plan, matrix, respondent)
    cols: dict[str, object] = {}
    finals: dict[str, np.ndarray] = {}
    sex = None
    for sp in plan.scales:
        res = score_scale(sp, applied)
        finals[sp.id] = res.score
        labels, severity = assign_bands(sp, res.score)
        cols[sp.id] = res.score.astype(float)
        cols[f"{sp.id}_band"] = pd.array(labels, dtype="string")
        cols[f"{sp.id}_severity"] = pd.array(np.where(np.isnan(severity), None, severity), dtype="Int64")
        cols[f"{sp.id}_n_answered"] = res.n_answered.astype("int64")
        cols[f"{sp.id}_prorated"] = res.prorated.astype(bool)
        cols[f"{sp.id}_valid"] = res.valid.astype(bool)
        cols[f"{sp.id}_reason"] = pd.array(res.reason, dtype="string")
        for cut in sp.cutoffs:
            if sex is None:
                sex = _sex_codes(respondent, n)
            result = np.full(n, np.nan)
            for sex_of, op, value in cut.entries:
                rows = np.ones(n, bool) if sex_of == "any" else (sex == sex_of)
                hit = compare(res.score, op, value).astype(float)
                result = np.where(rows, hit, result)
            result = np.where(np.isnan(res.score), np.nan, result)
            cols[cut.column] = pd.array(np.where(np.isnan(result), None, result.astype(bool)), dtype="boolean")
    for flag in plan.flags:
        cols[flag.id] = _evaluate_flag(flag, finals, applied.raw)
    critical = np.zeros(n, dtype=bool)
    crit_ids = np.full(n, "", dtype=object)
    for cp in plan.critical:
        vals = applied.raw[:, cp.item]
        hit = compare(vals, cp.op, cp.value) & ~np.isnan(vals)
        critical |= hit
        if hit.any():
            crit_ids[hit] = np.where(crit_ids[hit] == "", cp.item_id, crit_ids[hit] + "," + cp.item_id)
    cols["critical"] = critical
    cols["critical_items"] = pd.array(crit_ids, dtype="string")
    cols["instrument_id"] = pd.array(np.full(n, plan.instrument_id, dtype=object), dtype="string")
    cols["instrument_version"] = pd.array(np.full(n, plan.version, dtype=object), dtype="string")
    cols["instrument_hash"] = pd.array(np.full(n, plan.hash, dtype=object), dtype="string")
    cols["engine_version"] = pd.array(np.full(n, __version__, dtype=object), dtype="string")
    frame = pd.DataFrame(cols, index=index if index is not None else pd.RangeIndex(n))
    return frame, applied
