"""Score receipts: how each number of one administration was derived, in words and as data.

The receipt is built from the same engine run as :func:`scoring.score` (a one-row frame), so it can never
disagree with the scores; the words only narrate the arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition
from scoring.definitions.plan import compare
from scoring.engine.compute import apply_structure, round_half_up
from scoring.engine.responses import MISSING_WORDS, check_responses
from scoring.engine.scorer import score


class NormLine(Protocol):
    """What :func:`explain` needs of a norm table (a :class:`scoring.norms.NormTable`, a later stage)."""

    @property
    def scale(self) -> str: ...

    def explain_line(self, definition: Definition, scores: pd.DataFrame) -> str: ...


_MISSING_TOKENS = frozenset(MISSING_WORDS)  # the one list `score` uses too (README: bad input)


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
    #: critical items that were not answered (and so could not be checked), as receipt lines
    critical_unanswered: list[str] = field(default_factory=list)

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
            "critical_unanswered": self.critical_unanswered,
            "flags": self.flags,
            "failures": self.failures,
        }

    def lines(self, warnings: Mapping[str, str] | None = None) -> list[tuple[int, str]]:
        """The receipt as (indent level, text) lines; ``warnings`` (scale id → text) follow their scale."""
        out = [(0, f"{self.instrument_id} {self.version} (hash {self.hash[:12]}, engine {self.engine_version})")]
        if self.failures:
            out.append((0, "Input problems:"))
            out.extend((1, f"- {f}") for f in self.failures)
        for s in self.scales:
            shown = "not scorable" if s.score is None else _num(s.score)
            out.append((0, f"Scale {s.id} ({s.name}): {shown}" + (f" — {s.band}" if s.band else "")))
            out.extend((1, line) for line in s.lines)
            if warnings and s.id in warnings:
                out.append((1, f"WARNING: {warnings[s.id]}"))
        if self.flags:
            out.append((0, "Decision rules:"))
            out.extend((1, f"- {f}") for f in self.flags)
        if not self.critical and not self.critical_unanswered:
            out.append((0, "Critical items: none"))
        elif not self.critical:
            out.append((0, "Critical items: none endorsed; "
                           + ", ".join(c.split(" ", 1)[0] for c in self.critical_unanswered) + " not answered"))
        else:
            out.append((0, "Critical items:"))
        out.extend((1, f"! {c}") for c in self.critical)
        out.extend((1, f"? {c}") for c in self.critical_unanswered)
        return out

    def __str__(self) -> str:
        return "\n".join("  " * level + text for level, text in self.lines())


def _num(x: Any) -> str:
    """A number as a clinician reads it: 7, 7.875, — for missing (never ``np.float64(7.0)`` or ``nan``)."""
    if x is None or x is pd.NA or (isinstance(x, (float, np.floating)) and math.isnan(x)):
        return "—"
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:.4f}".rstrip("0").rstrip(".")


def show_value(value: Any) -> str:
    """Any cell value for a receipt line: numbers as :func:`_num`, text quoted, missing as —."""
    if value is None or value is pd.NA:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _num(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    return repr(str(value))


def responses_to_row(definition: Definition, responses: Sequence[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """Map a response vector (administration order) or mapping to ``{item_id: value}``.

    A sequence may list every item, or only the items that enter a scale (unscored items then count as
    unanswered). Empty strings and the words of ``scoring.engine.responses.MISSING_WORDS`` (``NA``, ``n/a`` …,
    any case) mean unanswered.
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
    norms: NormLine | None = None,
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
    checked = check_responses(plan, frame)
    respondent_frame = frame[[c for c in frame.columns if c not in plan.item_ids]]
    applied = apply_structure(plan, checked.matrix, respondent_frame)
    raw = applied.raw[0]
    keyed = applied.keyed[0]
    applicable = applied.applicable_mask()[0]
    answers = {item: (None if np.isnan(raw[k]) else _as_number(raw[k])) for k, item in enumerate(plan.item_ids)}
    gate_of = {g.item: g for g in plan.gates}
    rule_of = {a.item: a for a in plan.applicability if a.respondent in respondent_frame.columns}

    def why_left_out(k: int) -> str:
        """Why item k does not count for this respondent (its gate is closed, or it does not apply)."""
        gate = gate_of.get(k)
        if gate is not None and _gate_closed(raw[gate.gate], gate):
            why = (f"not asked: {plan.item_ids[gate.gate]} = {_num(raw[gate.gate])}, asked only if "
                   f"{gate.op} {show_value(gate.value)}")
        else:
            rule = rule_of.get(k)
            given = "—" if rule is None else show_value(respondent_frame[rule.respondent].iloc[0])
            why = ("does not apply to this respondent" if rule is None else
                   f"does not apply: {rule.respondent} = {given}, applies if {rule.op} {show_value(rule.value)}")
        if not np.isnan(raw[k]) and not (gate is not None and gate.value_if_not_shown is not None
                                         and raw[k] == gate.value_if_not_shown):
            why += f"; the answer {_num(raw[k])} was ignored"
        return why

    receipts = []
    missing_of: dict[str, list[str]] = {}
    for sp in plan.scales:
        lines: list[str] = []
        terms: list[tuple[str, float, float]] = []  # (text, weighted value used, value used)
        missing: list[str] = []
        excluded: list[str] = []
        for j, k in enumerate(sp.index):
            item = plan.item_ids[k]
            w = sp.weights[j]
            if not applicable[k]:
                excluded.append(f"{item} ({why_left_out(k)})")
                continue
            if np.isnan(keyed[k]):
                missing.append(item)
                continue
            value = float(keyed[k])
            gate = gate_of.get(k)
            if gate is not None and gate.value_if_not_shown is not None and _gate_closed(raw[gate.gate], gate):
                desc = f"{item}={_num(value)} ({why_left_out(k)}; scored {_num(gate.value_if_not_shown)})"
            else:
                desc = f"{item}={_num(raw[k])}"
                if plan.reverse[k]:
                    desc += f"→{_num(value)} (reversed: {_num(plan.lo[k])}+{_num(plan.hi[k])}−{_num(raw[k])})"
            if w != 1:
                desc += f"×{_num(w)}"
            terms.append((desc, value * w, value))
        missing_of[sp.id] = missing
        n_app = len(sp.index) - len(excluded)
        if excluded:
            lines.append(f"left out: {'; '.join(excluded)}")
        if sp.method == "count" and sp.count_thresholds is not None:
            thresholds = _thresholds_for(sp, plan, applicable, keyed)
            counted = [d for (d, _, v), thr in zip(terms, thresholds, strict=True) if _cmp(v, sp.count_op or ">=", thr)]
            lines.append(f"count of items with answer {sp.count_op} threshold: {len(counted)}"
                         + (f" ({', '.join(counted)})" if counted else ""))
            aggregate = float(len(counted))
        elif sp.method == "max":
            aggregate = max((t[1] for t in terms), default=float("nan"))
            lines.append("highest weighted answer: " + (_num(aggregate) if terms else "—")
                         + (f" among {', '.join(t[0] for t in terms)}" if terms else ""))
        else:
            aggregate = float(sum(t[1] for t in terms))
            lines.append(f"{sp.method} of {len(terms)} item(s): " + (" + ".join(t[0] for t in terms) or "none")
                         + f" = {_num(aggregate)}")
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
            value = aggregate
            if sp.method == "mean" and terms:
                value = aggregate / len(terms)
                lines.append(f"mean = {_num(aggregate)} / {len(terms)} = {_num(value)}")
            elif bool(out[f"{sp.id}_prorated"]) and sp.method == "sum":
                pro = aggregate * n_app / len(terms)
                value = _half_up(pro, rule.decimals) if rule.rounding == "half_up" else pro
                lines.append(f"prorated: {_num(aggregate)} × {n_app}/{len(terms)} = {_num(pro)}"
                             + (f" → rounded half-up to {_num(value)}" if rule.rounding == "half_up"
                                else " (not rounded)"))
            if sp.multiplier != 1:
                product = value * sp.multiplier
                lines.append(f"multiplied by {_num(sp.multiplier)}: {_num(value)} × {_num(sp.multiplier)} = "
                             f"{_num(product)}")
                value = product
            if sp.transform_keys is not None:
                converted = float(score_value)
                lines.append(f"converted with the published table ({sp.source.transform.source}): "  # type: ignore[union-attr]
                             f"{_num(value)} → {_num(converted)}")
                value = converted
            if not math.isclose(value, float(score_value), rel_tol=0, abs_tol=1e-9):
                lines.append(f"WARNING: this derivation gives {_num(value)} but the engine scored "
                             f"{_num(score_value)}; please report this as a psyscore bug")
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
    for f, fp in zip(ins.flags, plan.flags, strict=True):
        val = out[f.id]
        open_inputs: list[str] = []
        for kind, target, _, _ in fp.conditions:
            if kind == "scale" and not bool(out[f"{target}_valid"]):
                open_inputs += [m for m in missing_of.get(str(target), []) if m not in open_inputs]
            elif kind == "item" and np.isnan(applied.effective[0, target]) and applicable[target]:
                name = plan.item_ids[int(target)]
                open_inputs += [] if name in open_inputs else [name]
        note = ""
        if open_inputs and pd.isna(val):
            note = f" (depends on the unanswered {', '.join(open_inputs)})"
        elif open_inputs:
            verb = "is" if len(open_inputs) == 1 else "are"
            note = f" (decided although {', '.join(open_inputs)} {verb} unanswered: no possible answer changes it)"
        flags.append(f"{f.id}: {'unknown' if pd.isna(val) else ('yes' if bool(val) else 'no')}{note} — {f.label}")
    critical = []
    critical_unanswered = []
    hit_items = str(out["critical_items"]).split(",")
    for c, cp in zip(ins.critical_items, plan.critical, strict=True):
        if c.item in hit_items:
            critical.append(f"{c.item} = {_num(answers[c.item])} ({c.op} {show_value(c.value)}): {c.message}")
        elif np.isnan(applied.effective[0, cp.item]) and applicable[cp.item]:
            critical_unanswered.append(f"{c.item} not answered: the critical item could not be checked (an answer "
                                       f"{c.op} {show_value(c.value)} alerts: {c.message})")
    if norms is not None:
        line = norms.explain_line(definition, result.scores)
        for receipt in receipts:
            if receipt.id == norms.scale:
                receipt.lines.append(line)
    failures = [f"{r['item']}: {show_value(r['value'])} — {r['message']} [{r['code']}]"
                for _, r in result.failures.iterrows()]
    return Explanation(ins.id, ins.version, definition.hash, str(out["engine_version"]), answers, receipts,
                       critical, flags, failures, critical_unanswered)


def _gate_closed(gate_value: float, gate: Any) -> bool:
    return bool(not np.isnan(gate_value) and not compare(np.array([gate_value]), gate.op, gate.value)[0])


def _thresholds_for(sp: Any, plan: Any, applicable: np.ndarray, keyed: np.ndarray) -> list[float]:
    """The count thresholds of the items that entered the count (applicable and answered), in order."""
    return [float(t) for j, t in enumerate(sp.count_thresholds)
            if applicable[sp.index[j]] and not np.isnan(keyed[sp.index[j]])]


def _cmp(v: float, op: str, t: float) -> bool:
    return {">": v > t, ">=": v >= t, "<": v < t, "<=": v <= t, "==": v == t, "!=": v != t}[op]


def _half_up(x: float, decimals: int) -> float:
    return float(round_half_up(np.array([x]), decimals)[0])


def _as_number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)
