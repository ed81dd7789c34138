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
        for sex, stratum in ch.by_sex.items():
            where = (*base, "by_sex", sex)
            if stratum.reliability is None and stratum.sd is None:
                out.append(ctx.report("E228.empty_stratum", where, sex=sex))
            if stratum.reliability is not None and not 0 < stratum.reliability.value < 1:
                out.append(ctx.report("E220.reliability", (*where, "reliability")))
            if stratum.sd is not None and stratum.sd.value <= 0:
                out.append(ctx.report("E220.not_positive", (*where, "sd"), name="sd"))
            if stratum.sd is not None and ch.sd is None:
                out.append(ctx.report("E228.stratum_without_general", (*where, "sd"), sex=sex, name="sd"))
            if stratum.reliability is not None and ch.reliability is None:
                out.append(ctx.report("E228.stratum_without_general", (*where, "reliability"), sex=sex,
                                      name="reliability"))
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
