"""Alerts: critical-item conditions that can fire (and not always), flags over known scales and items."""

from __future__ import annotations

from scoring.definitions.rules.base import RuleContext, fmt
from scoring.definitions.rules.facts import option_values
from scoring.errors import Issue, did_you_mean


def holds(op: str, left: float, right: object) -> bool:
    """Whether ``left op right`` holds (``in``/``not_in`` take a list)."""
    if op == "in":
        return isinstance(right, (list, tuple)) and left in [float(v) for v in right]
    if op == "not_in":
        return isinstance(right, (list, tuple)) and left not in [float(v) for v in right]
    if isinstance(right, (list, tuple, str)):
        return False
    r = float(right)  # type: ignore[arg-type]
    return {">": left > r, ">=": left >= r, "<": left < r, "<=": left <= r, "==": left == r, "!=": left != r}[op]


def critical_items_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    items = [i.id for i in ctx.instrument.items]
    for ci, crit in enumerate(ctx.instrument.critical_items):
        path = ("critical_items", ci)
        if crit.item not in items:
            out.append(ctx.report("E203.critical_item", (*path, "item"), hint=did_you_mean(crit.item, items),
                                  item=crit.item))
            continue
        if (crit.op == "in") != isinstance(crit.value, (list, tuple)):
            out.append(ctx.report("E214.value_shape", (*path, "value")))
            continue
        values = option_values(ctx.instrument, crit.item) or []
        hits = [v for v in values if holds(crit.op, v, crit.value)]
        if not hits:
            out.append(ctx.report("E214.never", (*path, "value"), item=crit.item, codes=[fmt(v) for v in values]))
        elif len(hits) == len(values):
            out.append(ctx.report("E214.always", (*path, "value"), item=crit.item))
    return out


def flags_valid(ctx: RuleContext) -> list[Issue]:
    scales = [s.id for s in ctx.instrument.scales]
    items = [i.id for i in ctx.instrument.items]
    out = []
    for fi, flag in enumerate(ctx.instrument.flags):
        if (flag.all_of is None) == (flag.any_of is None):
            out.append(ctx.report("E221.one_of", ("flags", fi), flag=flag.id))
            continue
        key = "all_of" if flag.all_of is not None else "any_of"
        conditions = flag.all_of if flag.all_of is not None else flag.any_of
        if not conditions:
            out.append(ctx.report("E221.no_conditions", ("flags", fi, key), flag=flag.id))
            continue
        for ci, cond in enumerate(conditions):
            path = ("flags", fi, key, ci)
            if (cond.scale is None) == (cond.item is None):
                out.append(ctx.report("E221.scale_or_item", path))
            elif cond.scale is not None and cond.scale not in scales:
                out.append(ctx.report("E221.unknown_scale", (*path, "scale"), hint=did_you_mean(cond.scale, scales),
                                      flag=flag.id, scale=cond.scale))
            elif cond.item is not None and cond.item not in items:
                out.append(ctx.report("E221.unknown_item", (*path, "item"), hint=did_you_mean(cond.item, items),
                                      flag=flag.id, item=cond.item))
            if (cond.op == "in") != isinstance(cond.value, (list, tuple)):
                out.append(ctx.report("E221.value_shape", (*path, "value")))
    return out
