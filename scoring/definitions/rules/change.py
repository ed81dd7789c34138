"""Change parameters: reliability in (0, 1), SDs and thresholds positive, means and cut-offs in range."""

from __future__ import annotations

from scoring.definitions.rules.base import RuleContext, fmt
from scoring.errors import Issue


def change_params_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        ch = scale.change
        if ch is None:
            continue
        base = ("scales", si, "change")
        if ch.reliability and not 0 < ch.reliability.value < 1:
            out.append(ctx.report("E220.reliability", (*base, "reliability")))
        for name in ("sd", "functional_sd", "dysfunctional_sd", "reliable_change", "mcid"):
            param = getattr(ch, name)
            if param is not None and param.value <= 0:
                out.append(ctx.report("E220.not_positive", (*base, name), name=name))
        lo, hi = scale.range
        for name in ("clinical_cutoff", "functional_mean", "dysfunctional_mean"):
            param = getattr(ch, name)
            if param is not None and not lo <= param.value <= hi:
                out.append(ctx.report("E220.outside_range", (*base, name), name=name, value=fmt(param.value),
                                      lo=fmt(lo), hi=fmt(hi)))
    return out
