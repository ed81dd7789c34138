"""Option sets: codes unique, referenced sets exist, reverse keying only on symmetric sets."""

from __future__ import annotations

from collections import Counter

from scoring.definitions.rules.base import RuleContext, fmt
from scoring.definitions.rules.facts import option_values
from scoring.errors import Issue, did_you_mean


def option_sets_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, oset in enumerate(ctx.instrument.option_sets):
        values = [float(o.value) for o in oset.options]
        repeated = {v for v, n in Counter(values).items() if n > 1}
        for oi, opt in enumerate(oset.options):
            if float(opt.value) in repeated:
                out.append(ctx.report("E202.value_twice", ("option_sets", si, "options", oi, "value"),
                                      value=fmt(opt.value), option_set=oset.id))
    sets = [s.id for s in ctx.instrument.option_sets]
    for ii, item in enumerate(ctx.instrument.items):
        if item.options not in sets:
            out.append(ctx.report("E201.unknown_option_set", ("items", ii, "options"),
                                  hint=did_you_mean(item.options, sets), item=item.id, options=item.options,
                                  sets=", ".join(sets)))
    return out


def reverse_keys_symmetric(ctx: RuleContext) -> list[Issue]:
    out = []
    for ii, item in enumerate(ctx.instrument.items):
        if not item.reverse:
            continue
        values = option_values(ctx.instrument, item.id)
        if values is None:
            continue
        lo, hi = min(values), max(values)
        if sorted(lo + hi - v for v in values) != sorted(values):
            out.append(ctx.report("E209.asymmetric", ("items", ii, "reverse"), item=item.id,
                                  values=sorted(map(fmt, values))))
    return out
