"""Score receipts: how each number of one administration was derived, in words and as data.

The receipt is built from the same engine run as :func:`scoring.score` (a one-row frame), so it can never
disagree with the scores; the words only narrate the arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scoring.engine import score
from scoring.library import Definition

if TYPE_CHECKING:
    from scoring.norms import NormTable

_MISSING_TOKENS = {"", "na", "nan", "-", "none", "null"}


@dataclass
class ScaleReceipt:
    id: str
    name: str
    score: float | None
    band: str | None
    lines: list[str] = field(default_factory=list)


@dataclass
class Explanation:
    """A score receipt. ``str(explanation)`` is the text; :meth:`to_dict` the same as data."""

    instrument_id: str
    version: str
    hash: str
    engine_version: str
    answers: dict[str, Any]
    scales: list[ScaleReceipt]
    critical: list[str]
    flags: list[str]
    failures: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument_id": self.instrument_id,
            "version": self.version,
            "hash": self.hash,
            "engine_version": self.engine_version,
            "answers": self.answers,
            "scales": [
                {"id": s.id, "name": s.name, "score": s.score, "band": s.band, "derivation": s.lines}
                for s in self.scales
            ],
            "critical": self.critical,
            "flags": self.flags,
            "failures": self.failures,
        }

    def __str__(self) -> str:
        out = [f"{self.instrument_id} {self.version} (hash {self.hash[:12]}, engine {self.engine_version})"]
        if self.failures:
            out.append("Input problems (counted as unanswered):")
            out.extend(f"  - {f}" for f in self.failures)
        for s in self.scales:
            shown = "not scorable" if s.score is None else _num(s.score)
            out.append(f"Scale {s.id} ({s.name}): {shown}" + (f" — {s.band}" if s.band else ""))
            out.extend(f"  {line}" for line in s.lines)
        if self.flags:
            out.append("Decision rules:")
            out.extend(f"  - {f}" for f in self.flags)
        out.append("Critical items: " + ("none" if not self.critical else ""))
        out.extend(f"  ! {c}" for c in self.critical)
        return "\n".join(out)


def _num(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:.4f}".rstrip("0").rstrip(".")


def responses_to_row(definition: Definition, responses: Sequence[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """Map a response vector (administration order) or mapping to ``{item_id: value}``.

    A sequence may list every item, or only the items that enter a scale (unscored items then count as
    unanswered). Empty strings, ``NA`` and ``-`` mean unanswered.
    """
    items = [i.id for i in definition.definition.items]
    if isinstance(responses, Mapping):
        row = dict(responses)
    else:
        values = list(responses)
        scored = [i.id for i in definition.definition.items if i.scored]
        if len(values) == len(items):
            row = dict(zip(items, values, strict=True))
        elif len(values) == len(scored):
            row = dict(zip(scored, values, strict=True))
        else:
            raise ValueError(
                f"{definition.id} has {len(items)} items ({len(scored)} scored): got {len(values)} responses; "
                f"give them in this order: {', '.join(items)}"
            )
    for key, value in list(row.items()):
        if isinstance(value, str) and value.strip().lower() in _MISSING_TOKENS:
            row[key] = None
    return row


def explain(
    definition: Definition,
    responses: Sequence[Any] | Mapping[str, Any],
    *,
    respondent: Mapping[str, Any] | None = None,
    norms: NormTable | None = None,
) -> Explanation:
    """Derive the scores of one administration step by step.

    Parameters
    ----------
    definition
        ``load_library()["phq9"]`` etc.
    responses
        Answers in administration order, or a mapping ``item id → answer``; ``None`` = unanswered.
    respondent
        Respondent attributes used by the definition (e.g. ``{"sex": "female"}``) and by ``norms``
        (``{"age": 34, "sex": "female"}``, age in completed years at the administration).
    norms
        A norm table (``scoring.load_norms().get(...)``): adds a line with the percentile, z and T, the
        stratum and the citation to the receipt of the table's scale.

    Examples
    --------
    >>> import scoring
    >>> lib = scoring.load_library()
    >>> receipt = scoring.explain(lib["phq9"], [3, 0, 1, 2, 0, 0, 1, 0, None])
    >>> receipt.scales[0].score, receipt.scales[0].band
    (8.0, 'Mild')
    """
    row = responses_to_row(definition, responses)
    frame_data = {k: [v] for k, v in row.items()}
    for key, value in (respondent or {}).items():
        frame_data[key] = [value]
    frame = pd.DataFrame(frame_data)
    for col in frame.columns:
        if frame[col].isna().all():
            frame[col] = frame[col].astype(float)
    result = score(definition, frame)
    out = result.scores.iloc[0]
    plan = definition.plan
    ins = definition.definition
    from scoring.responses import check_responses

    checked = check_responses(plan, frame)
    from scoring.engine.compute import apply_structure

    respondent_frame = frame[[c for c in frame.columns if c not in plan.item_ids]]
    applied = apply_structure(plan, checked.matrix, respondent_frame)
    raw = applied.raw[0]
    keyed = applied.keyed[0]
    applicable = applied.applicable_mask()[0]
    answers = {item: (None if np.isnan(raw[k]) else _as_number(raw[k])) for k, item in enumerate(plan.item_ids)}
    receipts = []
    for sp in plan.scales:
        lines: list[str] = []
        terms = []
        missing = []
        excluded = []
        for j, k in enumerate(sp.index):
            item = plan.item_ids[k]
            w = sp.weights[j]
            if not applicable[k]:
                excluded.append(item)
                continue
            if np.isnan(keyed[k]):
                missing.append(item)
                continue
            value = keyed[k]
            desc = f"{item}={_num(raw[k]) if not np.isnan(raw[k]) else 'not shown'}"
            if plan.reverse[k] and not np.isnan(raw[k]):
                desc += f"→{_num(value)} (reversed: {_num(plan.lo[k])}+{_num(plan.hi[k])}−{_num(raw[k])})"
            if w != 1:
                desc += f"×{_num(w)}"
            terms.append((desc, value * w, value))
        n_app = len(sp.index) - len(excluded)
        if excluded:
            lines.append(f"not applicable, left out: {', '.join(excluded)}")
        if sp.method == "count" and sp.count_thresholds is not None:
            counted = [d for (d, _, v), thr in zip(terms, _thresholds_for(sp, plan, missing, excluded), strict=False)
                       if _cmp(v, sp.count_op or ">=", thr)]
            lines.append(f"count of items with answer {sp.count_op} threshold: {len(counted)}"
                         + (f" ({', '.join(counted)})" if counted else ""))
            aggregate = float(len(counted))
        elif sp.method == "max":
            aggregate = max((t[1] for t in terms), default=float("nan"))
            lines.append("highest weighted answer: " + (_num(aggregate) if terms else "—")
                         + (f" among {', '.join(t[0] for t in terms)}" if terms else ""))
        else:
            aggregate = float(sum(t[1] for t in terms))
            lines.append(f"{sp.method} of {len(terms)} answered item(s): " + " + ".join(t[0] for t in terms)
                         + f" = {_num(aggregate)}")
            if sp.method == "mean" and terms:
                lines.append(f"mean = {_num(aggregate)} / {len(terms)} = {_num(aggregate / len(terms))}")
        if missing:
            lines.append(f"unanswered: {', '.join(missing)}")
        rule = sp.source.missing
        rule_text = {"complete": "every item required",
                     "prorate": f"prorate when at most {rule.max_missing} missing",
                     "min_answered": f"at least {rule.min_answered} answered"}[rule.rule]
        lines.append(f"missing-data rule: {rule_text}" + (f" (source: {rule.source})" if rule.source else ""))
        score_value = out[sp.id]
        valid = bool(out[f"{sp.id}_valid"])
        if not valid:
            lines.append(f"not scorable: {out[f'{sp.id}_reason']}")
        else:
            if bool(out[f"{sp.id}_prorated"]) and sp.method == "sum":
                pro = aggregate * n_app / len(terms)
                lines.append(f"prorated: {_num(aggregate)} × {n_app}/{len(terms)} = {_num(pro)}"
                             + (f" → rounded half-up to {_num(_half_up(pro, rule.decimals))}"
                                if rule.rounding == "half_up" else " (not rounded)"))
            if sp.multiplier != 1:
                lines.append(f"multiplied by {_num(sp.multiplier)}")
            if sp.transform_keys is not None:
                lines.append(f"converted with the published table ({sp.source.transform.source})"  # type: ignore[union-attr]
                             f" to {_num(score_value)}")
            if sp.band_labels:
                band = out[f"{sp.id}_band"]
                b = sp.source.bands
                rng = next(r for r in b.ranges if r.label == band) if b else None  # type: ignore[union-attr]
                if rng is not None and b is not None:
                    lines.append(f"band: {_num(score_value)} lies in {_num(rng.min)}–{_num(rng.max)} → {band} "
                                 f"(source: {b.source})")
            for cut in sp.cutoffs:
                val = out[cut.column]
                state = "unknown (needs sex)" if pd.isna(val) else ("met" if bool(val) else "not met")
                entries = "; ".join(f"{'' if s == 'any' else s + ' '}{op} {_num(v)}" for s, op, v in cut.entries)
                lines.append(f"cut-off {cut.id} ({entries}): {state}")
        receipts.append(ScaleReceipt(
            sp.id, sp.name, None if not valid else float(score_value),
            None if pd.isna(out[f"{sp.id}_band"]) else str(out[f"{sp.id}_band"]), lines,
        ))
    flags = []
    for f in ins.flags:
        val = out[f.id]
        flags.append(f"{f.id}: {'unknown' if pd.isna(val) else ('yes' if bool(val) else 'no')} — {f.label}")
    critical = []
    for c in ins.critical_items:
        if c.item in str(out["critical_items"]).split(","):
            critical.append(f"{c.item} = {_num(answers[c.item])} ({c.op} {c.value}): {c.message}")
    if norms is not None:
        from scoring.norms_apply import explain_line

        line = explain_line(definition, norms, result.scores)
        for receipt in receipts:
            if receipt.id == norms.scale:
                receipt.lines.append(line)
    failures = [f"{r['item']}: {r['value']!r} — {r['message']} [{r['code']}]" for _, r in result.failures.iterrows()]
    return Explanation(ins.id, ins.version, definition.hash, str(out["engine_version"]), answers, receipts,
                       critical, flags, failures)


def _thresholds_for(sp, plan, missing, excluded):
    return [t for j, t in enumerate(sp.count_thresholds)
            if plan.item_ids[sp.index[j]] not in missing and plan.item_ids[sp.index[j]] not in excluded]


def _cmp(v: float, op: str, t: float) -> bool:
    return {">": v > t, ">=": v >= t, "<": v < t, "<=": v <= t, "==": v == t, "!=": v != t}[op]


def _half_up(x: float, decimals: int) -> float:
    from scoring.engine.compute import round_half_up

    return float(round_half_up(np.array([x]), decimals)[0])


def _as_number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)
