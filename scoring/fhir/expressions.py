"""FHIRPath (SDC ``calculatedExpression``) for a scale's score, where the scale's rule can be written in it.

The expression reads the answers of a QuestionnaireResponse (``%resource``) by linkId, applies reverse keys
(``min + max − answer``), gates with a value when not shown, weights, the missing-data rule (complete, or
prorating with half-up rounding to whole numbers), ``sum``/``count``/``max`` and the multiplier. It is
empty exactly when the engine gives no score. A rule beyond that (a mean, ``min_answered``, prorating
without rounding or to decimals, respondent applicability, a gate without a not-shown value, a conversion
table, text comparisons) gets no expression: :func:`scale_expression` returns the reason instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from scoring.definitions.schema import Instrument, Item, Scale

_OPS = MappingProxyType({"==": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="})


@dataclass(frozen=True)
class Expression:
    """A FHIRPath expression, or why there is none."""

    expression: str | None
    reason: str | None = None


def _num(value: object) -> str:
    f = float(value)  # type: ignore[arg-type]
    return str(int(f)) if f.is_integer() else repr(f)


def _answer(link_id: str) -> str:
    return f"%resource.repeat(item).where(linkId='{link_id}').answer.value.code.toDecimal()"


def _compare(left: str, op: str, value: object) -> str | None:
    if op in ("in", "not_in"):
        values = value if isinstance(value, (tuple, list)) else (value,)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return None
        test = f"({left} in ({' | '.join(_num(v) for v in values)}))"
        return test if op == "in" else f"{test}.not()"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return f"({left} {_OPS[op]} {_num(value)})"


def _keyed(defn: Instrument, item: Item) -> tuple[str | None, str | None]:
    """The expression of one item's score value (empty when unanswered), or why it cannot be written."""
    if item.applies_if is not None:
        return None, (f"{item.id} applies only to some respondents ({item.applies_if.respondent}), which the form "
                      "cannot see")
    raw = _answer(item.id)
    value = raw
    if item.reverse:
        opts = next(s for s in defn.option_sets if s.id == item.options).options
        lo, hi = min(o.value for o in opts), max(o.value for o in opts)
        value = f"({_num(lo + hi)} - {raw})"
    gate = item.shown_if
    if gate is None:
        return value, None
    if item.value_if_not_shown is None:
        return None, f"{item.id} leaves the scale when its gate is closed (the number of items then varies)"
    test = _compare(_answer(gate.item), gate.op, gate.value)
    if test is None:
        return None, f"the gate of {item.id} compares with text"
    closed = f"({_answer(gate.item)}.exists() and {test}.not())"
    return f"iif({closed}, {_num(item.value_if_not_shown)}, {value})", None


def scale_expression(defn: Instrument, scale: Scale) -> Expression:
    """The FHIRPath of ``scale``'s score over a QuestionnaireResponse, or the reason there is none."""
    items = {i.id: i for i in defn.items}
    if scale.transform is not None:
        return Expression(None, "the score is read from a published conversion table")
    if scale.method == "mean" or scale.missing.rule == "min_answered":
        return Expression(None, "the score is a mean over the answered items (a decimal a form would round "
                                "differently from the engine)")
    rule = scale.missing.rule
    if rule == "prorate" and (scale.missing.rounding != "half_up" or scale.missing.decimals != 0
                              or scale.method != "sum"):
        return Expression(None, "missing answers are prorated without rounding to a whole number")
    terms: list[str] = []
    for item_id in scale.items:
        term, why = _keyed(defn, items[item_id])
        if term is None:
            return Expression(None, why)
        terms.append(term)
    weights = [scale.weights.get(i, 1) for i in scale.items]
    weighted = [t if w == 1 else f"({t} * {_num(w)})" for t, w in zip(terms, weights, strict=True)]
    n = len(terms)
    all_there = " and ".join(f"{t}.exists()" for t in terms)
    if scale.method == "count":
        if scale.count_if is None:
            return Expression(None, "a count scale without a counting rule")
        hits = []
        for item_id, t in zip(scale.items, terms, strict=True):
            threshold = scale.count_if.per_item.get(item_id, scale.count_if.value)
            test = _compare(t, scale.count_if.op, threshold)
            if test is None:
                return Expression(None, "the counting rule compares with text")
            hits.append(f"iif({test}, 1, 0)")
        core = f"iif({all_there}, {' + '.join(hits)}, {{}})"
    elif scale.method == "max":
        core = f"iif({all_there}, ({' | '.join(weighted)}).max(), {{}})"
    elif rule == "complete":
        core = " + ".join(weighted)  # FHIRPath: a sum with an empty operand is empty
    else:  # prorate, half-up to whole numbers
        answered = " + ".join(f"iif({t}.exists(), 1, 0)" for t in terms)
        total = " + ".join(f"iif({t}.exists(), {w}, 0)" for t, w in zip(terms, weighted, strict=True))
        most = scale.missing.max_missing or 0
        core = (f"iif(({answered}) = {n}, {total}, iif(({answered}) > 0 and ({answered}) >= {n - most}, "
                f"((({total}) * {n} / ({answered})) + 0.5).floor(), {{}}))")
    if scale.multiplier != 1:
        core = f"(({core}) * {_num(scale.multiplier)})"
    return Expression(core)
