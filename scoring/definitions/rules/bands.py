"""Bands: ascending, contiguous, covering the scale's range exactly, whole numbers on integer scales."""

from __future__ import annotations

from scoring.definitions.rules.base import RuleContext, fmt, scale_resolved
from scoring.definitions.rules.facts import is_integer_valued
from scoring.errors import Issue


def bands_contiguous(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        if scale.bands is None:
            out.append(ctx.report("W301.no_bands", ("scales", si), scale=scale.id))
            continue
        ranges = scale.bands.ranges
        base = ("scales", si, "bands", "ranges")
        integer = scale_resolved(ctx, scale) and is_integer_valued(ctx.instrument, scale)
        lo, hi = scale.range
        for bi, band in enumerate(ranges):
            if band.min > band.max:
                out.append(ctx.report("E208.min_above_max", (*base, bi), label=band.label, min=fmt(band.min),
                                      max=fmt(band.max)))
            if integer and not (float(band.min).is_integer() and float(band.max).is_integer()):
                out.append(ctx.report("E224.fractional", (*base, bi), label=band.label))
        if ranges[0].min != lo:
            out.append(ctx.report("E208.first_start", (*base, 0, "min"), start=fmt(ranges[0].min), lo=fmt(lo)))
        if ranges[-1].max != hi:
            out.append(ctx.report("E208.last_end", (*base, len(ranges) - 1, "max"), end=fmt(ranges[-1].max),
                                  hi=fmt(hi)))
        for bi in range(1, len(ranges)):
            prev, cur = ranges[bi - 1], ranges[bi]
            fields = {"label": cur.label, "start": fmt(cur.min), "prev": prev.label, "prev_max": fmt(prev.max)}
            if cur.min <= prev.max:
                out.append(ctx.report("E208.overlap", (*base, bi, "min"), prev_min=fmt(prev.min), **fields))
            elif integer and cur.min != prev.max + 1:
                out.append(ctx.report("E208.gap_integer", (*base, bi, "min"), next=fmt(prev.max + 1), **fields))
            elif not integer and cur.min > prev.max + 1:
                out.append(ctx.report("E208.gap", (*base, bi, "min"), **fields))
    return out
