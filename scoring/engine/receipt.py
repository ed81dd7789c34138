"""Score receipts: how each number of one administration was derived, in words and as data.

The receipt renders the trace of the engine run that produced the scores (:func:`.scorer.traced_score` on a
one-row frame): which answers counted and with which value after reverse keying, which items gates or
applicability left out, the aggregate, the mean or prorating, rounding, the multiplier, the conversion table,
bands, cut-offs, flags and critical items. Nothing is recomputed here, so a receipt can never disagree with
its score; the words only narrate the arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition
from scoring.engine.scorer import traced_score


class NormLine(Protocol):
    """What :func:`explain` needs of a norm table (a :class:`scoring.norms.NormTable`, a later stage)."""

    @property
    def scale(self) -> str: ...

    def explain_line(self, definition: Definition, scores: pd.DataFrame) -> str: ...


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
    unanswered). Values are passed to the scoring as given: empty strings and the words of
    :data:`scoring.engine.responses.MISSING_WORDS` (``NA``, ``n/a`` …, any case) mean unanswered there, as in
    :func:`scoring.score` — the one list.
    """
    items = [i.id for i in definition.instrument.items]
    if isinstance(responses, Mapping):
        row = dict(responses)
    else:
        values = list(responses)
        scored = [i.id for i in definition.instrument.items if i.scored]
        if len(values) == len(items):
            row = dict(zip(items, values, strict=True))
        elif len(values) == len(scored):
            row = dict(zip(scored, values, strict=True))
        else:
            raise ValueError(
                f"{definition.id} has {len(items)} items ({len(scored)} scored): got {len(values)} responses; "
                f"give them in this order: {', '.join(items)}"
            )
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
    result, trace = traced_score(definition, frame)
    out = result.scores.iloc[0]
    plan = definition.plan
    ins = definition.instrument
    applied = trace.applied
    respondent_frame = frame[[c for c in frame.columns if c not in plan.item_ids]]
    raw = applied.raw[0]
    applicable = applied.applicable_mask()[0]
    gate_closed = np.zeros(len(raw), bool) if applied.gate_closed is None else applied.gate_closed[0]
    excluded_here = np.zeros(len(raw), bool) if applied.excluded is None else applied.excluded[0]
    answers = {item: (None if np.isnan(raw[k]) else _as_number(raw[k])) for k, item in enumerate(plan.item_ids)}
    gate_of = {g.item: g for g in plan.gates}
    rule_of = {a.item: a for a in plan.applicability if a.respondent in respondent_frame.columns}

    def why_left_out(k: int) -> str:
        """Why item k does not count for this respondent, as the engine decided (gate closed, or excluded)."""
        gate = gate_of.get(k)
        rule = rule_of.get(k)
        if gate is not None and gate_closed[k]:
            why = (f"not asked: {plan.item_ids[gate.gate]} = {_num(raw[gate.gate])}, asked only if "
                   f"{gate.op} {show_value(gate.value)}")
        elif rule is not None and excluded_here[k]:
            given = show_value(respondent_frame[rule.respondent].iloc[0])
            why = f"does not apply: {rule.respondent} = {given}, applies if {rule.op} {show_value(rule.value)}"
        else:
            why = "does not apply to this respondent"
        if not np.isnan(raw[k]) and not (gate is not None and gate.value_if_not_shown is not None
                                         and raw[k] == gate.value_if_not_shown):
            why += f"; the answer {_num(raw[k])} was ignored"
        return why

    receipts = []
    missing_of: dict[str, list[str]] = {}
    for sp in plan.scales:
        st = trace.stages[sp.id]
        counted = st.counted[0]
        used = st.used[0]
        lines: list[str] = []
        terms: list[str] = []  # one text per counted answer, in item order
        hit_terms: list[str] = []  # count scales: the counted answers that met their threshold
        missing: list[str] = []
        excluded: list[str] = []
        for j, k in enumerate(sp.index):
            item = plan.item_ids[k]
            w = sp.weights[j]
            if not applicable[k]:
                excluded.append(f"{item} ({why_left_out(k)})")
                continue
            if not counted[j]:
                missing.append(item)
                continue
            value = float(used[j])
            gate = gate_of.get(k)
            if gate is not None and gate.value_if_not_shown is not None and gate_closed[k]:
                desc = f"{item}={_num(value)} ({why_left_out(k)}; scored {_num(gate.value_if_not_shown)})"
            else:
                desc = f"{item}={_num(raw[k])}"
                if plan.reverse[k]:
                    desc += f"→{_num(value)} (reversed: {_num(plan.lo[k])}+{_num(plan.hi[k])}−{_num(raw[k])})"
            if w != 1:
                desc += f"×{_num(w)}"
            terms.append(desc)
            if st.hits is not None and st.hits[0, j]:
                hit_terms.append(desc)
        missing_of[sp.id] = missing
        n_app = len(sp.index) - len(excluded)
        aggregate = float(st.aggregate[0])
        if excluded:
            lines.append(f"left out: {'; '.join(excluded)}")
        if st.hits is not None:
            lines.append(f"count of items with answer {sp.count_op} threshold: {_num(aggregate)}"
                         + (f" ({', '.join(hit_terms)})" if hit_terms else ""))
        elif sp.method == "max":
            lines.append("highest weighted answer: " + (_num(aggregate) if terms else "—")
                         + (f" among {', '.join(terms)}" if terms else ""))
        else:
            lines.append(f"{sp.method} of {len(terms)} item(s): " + (" + ".join(terms) or "none")
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
            after_missing, rounded, multiplied = (float(st.after_missing[0]), float(st.rounded[0]),
                                                  float(st.multiplied[0]))
            if sp.method == "mean" and terms:
                lines.append(f"mean = {_num(aggregate)} / {len(terms)} = {_num(after_missing)}")
            elif bool(out[f"{sp.id}_prorated"]):
                lines.append(f"prorated: {_num(aggregate)} × {n_app}/{len(terms)} = {_num(after_missing)}"
                             + (f" → rounded half-up to {_num(rounded)}" if rule.rounding == "half_up"
                                else " (not rounded)"))
            if sp.multiplier != 1:
                lines.append(f"multiplied by {_num(sp.multiplier)}: {_num(rounded)} × {_num(sp.multiplier)} = "
                             f"{_num(multiplied)}")
            if sp.transform_keys is not None:
                lines.append(f"converted with the published table ({sp.source.transform.source}): "  # type: ignore[union-attr]
                             f"{_num(multiplied)} → {_num(score_value)}")
            if sp.band_labels:
                band = out[f"{sp.id}_band"]
                b = sp.source.bands
                rng = next(r for r in b.ranges if r.label == band) if b else None
                if rng is not None and b is not None:
                    named = "" if not b.id else f"band set {b.id}" + (f": {b.name}" if b.name else "") + "; "
                    lines.append(f"band: {_num(score_value)} lies in {_num(rng.min)}–{_num(rng.max)} → {band} "
                                 f"({named}source: {b.source})")
            for band_set, alt in zip(sp.band_sets, sp.source.band_sets, strict=True):
                label = out[band_set.column]
                hit = next((r for r in alt.ranges if r.label == label), None)
                if hit is not None:
                    lines.append(f"band in set {band_set.id}" + (f" ({band_set.name})" if band_set.name else "")
                                 + f": {_num(score_value)} lies in {_num(hit.min)}–{_num(hit.max)} → {label} "
                                 f"(source: {alt.source})")
            for cut in sp.cutoffs:
                val = out[cut.column]
                state = "unknown (needs sex)" if pd.isna(val) else ("met" if bool(val) else "not met")
                entries = "; ".join(f"{'' if s == 'any' else s + ' '}{op} {_num(v)}" for s, op, v in cut.entries)
                if cut.range is not None:
                    chosen = ("the definition's choice" if cut.value == cut.default_value
                              else f"chosen by this deployment; the definition's is {_num(cut.default_value or 0)}")
                    entries += f", within the published range {_num(cut.range[0])}–{_num(cut.range[1])}: {chosen}"
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
            elif kind == "item" and np.isnan(applied.effective[0, int(target)]) and applicable[int(target)]:
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


def _as_number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)
