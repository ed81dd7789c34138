"""Scales: their items exist and are scored, the declared range is what the items allow, the missing-data
rule is consistent, conversion tables cover the raw range, cut-offs lie in the range."""

from __future__ import annotations

from scoring.definitions.rules.base import RuleContext, dupes, fmt, scale_resolved
from scoring.definitions.rules.facts import final_range, raw_range
from scoring.definitions.schema import Cutoff
from scoring.errors import Issue, did_you_mean


def scale_items_exist(ctx: RuleContext) -> list[Issue]:
    items = {i.id: i for i in ctx.instrument.items}
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        for ii, item_id in enumerate(scale.items):
            if item_id not in items:
                out.append(ctx.report("E203.scale_item", ("scales", si, "items", ii),
                                      hint=did_you_mean(item_id, items), item=item_id, scale=scale.id))
            elif not items[item_id].scored:
                out.append(ctx.report("E204.unscored_item", ("scales", si, "items", ii), item=item_id,
                                      scale=scale.id))
        for item_id in sorted(dupes(scale.items)):
            out.append(ctx.report("E205.item_twice", ("scales", si, "items", scale.items.index(item_id)),
                                  item=item_id, scale=scale.id))
        for key in scale.weights:
            if key not in scale.items:
                out.append(ctx.report("E206.weight", ("scales", si, "weights", key),
                                      hint=did_you_mean(key, scale.items), key=key, scale=scale.id))
        if scale.count_if:
            for key in scale.count_if.per_item:
                if key not in scale.items:
                    out.append(ctx.report("E206.count_threshold", ("scales", si, "count_if", "per_item", key),
                                          hint=did_you_mean(key, scale.items), key=key, scale=scale.id))
    return out


def scale_range_matches(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        if not scale_resolved(ctx, scale):
            continue
        lo, hi = scale.range
        if lo > hi:
            out.append(ctx.report("E207.reversed", ("scales", si, "range"), lo=fmt(lo), hi=fmt(hi)))
            continue
        rng = final_range(ctx.instrument, scale)
        if rng is None:
            continue  # reported by the conversion-table rule
        if abs(rng[0] - lo) > 1e-9 or abs(rng[1] - hi) > 1e-9:
            out.append(ctx.report("E207.mismatch", ("scales", si, "range"), scale=scale.id, lo=fmt(lo), hi=fmt(hi),
                                  item_lo=fmt(rng[0]), item_hi=fmt(rng[1])))
    return out


def missing_rule_consistent(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        m = scale.missing
        path = ("scales", si, "missing")
        n = len(scale.items)
        if m.rule == "prorate":
            if m.max_missing is None:
                out.append(ctx.report("E210.prorate_needs_max_missing", (*path, "rule")))
            elif m.max_missing >= n:
                out.append(ctx.report("E210.max_missing_too_high", (*path, "max_missing"),
                                      max_missing=m.max_missing, n=n, most=n - 1))
            if m.min_answered is not None:
                out.append(ctx.report("E210.prorate_min_answered", (*path, "min_answered")))
            if scale.method in ("count", "max"):
                out.append(ctx.report("E210.not_proratable", (*path, "rule"), method=scale.method))
        elif m.rule == "min_answered":
            if m.min_answered is None:
                out.append(ctx.report("E210.min_answered_needed", (*path, "rule")))
            elif m.min_answered > n:
                out.append(ctx.report("E210.min_answered_too_high", (*path, "min_answered"),
                                      min_answered=m.min_answered, n=n))
            if m.max_missing is not None:
                out.append(ctx.report("E210.min_answered_max_missing", (*path, "max_missing")))
            if scale.method == "sum" and m.min_answered is not None and m.min_answered < n:
                out.append(ctx.report("E210.partial_sum", (*path, "rule")))
        else:
            if m.max_missing is not None or m.min_answered is not None:
                out.append(ctx.report("E210.complete_takes_nothing", path))
        if m.rule != "prorate" and m.rounding != "none":
            out.append(ctx.report("E210.rounding", (*path, "rounding"), rounding=m.rounding))
        if scale.method == "count" and scale.count_if is None:
            out.append(ctx.report("E211.count_needs_count_if", ("scales", si, "method"), scale=scale.id))
        if scale.method != "count" and scale.count_if is not None:
            out.append(ctx.report("E211.count_if_unused", ("scales", si, "count_if"), scale=scale.id,
                                  method=scale.method))
    return out


def transform_covers_range(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        if scale.transform is None or not scale_resolved(ctx, scale):
            continue
        rng = raw_range(ctx.instrument, scale)
        if rng is None:
            continue
        lo, hi = rng[0] * scale.multiplier, rng[1] * scale.multiplier
        if not (float(lo).is_integer() and float(hi).is_integer()):
            continue
        needed = set(range(int(min(lo, hi)), int(max(lo, hi)) + 1))
        missing = sorted(needed - set(scale.transform.table))
        extra = sorted(set(scale.transform.table) - needed)
        if missing:
            out.append(ctx.report("E212.table_gap", ("scales", si, "transform", "table"), missing=missing[:8],
                                  more="…" if len(missing) > 8 else ""))
        if extra:
            out.append(ctx.report("E212.table_extra", ("scales", si, "transform", "table", extra[0]),
                                  extra=extra[:8]))
        if scale.missing.rule == "prorate" and scale.missing.rounding != "half_up":
            out.append(ctx.report("E212.table_rounding", ("scales", si, "missing", "rounding")))
    return out


def cutoffs_in_range(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        lo, hi = scale.range
        seen: dict[str, list[str]] = {}
        for ci, cut in enumerate(scale.cutoffs):
            if not lo <= cut.value <= hi:
                out.append(ctx.report("E213.cutoff_range", ("scales", si, "cutoffs", ci, "value"), cutoff=cut.id,
                                      value=fmt(cut.value), lo=fmt(lo), hi=fmt(hi)))
            sexes = seen.setdefault(cut.id, [])
            if cut.sex in sexes or (sexes and "any" in (*sexes, cut.sex)):
                out.append(ctx.report("E200.cutoff_twice", ("scales", si, "cutoffs", ci, "id"), cutoff=cut.id,
                                      scale=scale.id))
            sexes.append(cut.sex)
            out += _cutoff_range(ctx, si, ci, scale.id, cut, lo, hi)
        for ci, cut in enumerate(scale.cutoffs):
            if cut.range is not None and len(seen[cut.id]) > 1:
                out.append(ctx.report("E227.range_per_sex", ("scales", si, "cutoffs", ci, "range"), cutoff=cut.id))
    return out


def _cutoff_range(ctx: RuleContext, si: int, ci: int, scale_id: str, cut: Cutoff, lo: float, hi: float,
                  ) -> list[Issue]:
    """A published range of cut-points: ordered, within the scale, holding the chosen value."""
    if cut.range is None:
        return []
    where = ("scales", si, "cutoffs", ci, "range")
    r_lo, r_hi = cut.range
    if r_lo >= r_hi:
        return [ctx.report("E227.range_order", where, cutoff=cut.id, r_lo=fmt(r_lo), r_hi=fmt(r_hi))]
    if not (lo <= r_lo and r_hi <= hi):
        return [ctx.report("E227.range_outside", where, cutoff=cut.id, r_lo=fmt(r_lo), r_hi=fmt(r_hi), lo=fmt(lo),
                           hi=fmt(hi), scale=scale_id)]
    if not r_lo <= cut.value <= r_hi:
        return [ctx.report("E227.value_outside", ("scales", si, "cutoffs", ci, "value"), cutoff=cut.id,
                           value=fmt(cut.value), r_lo=fmt(r_lo), r_hi=fmt(r_hi))]
    return []
