"""Bands: ascending, contiguous, covering the scale's range exactly, whole numbers on integer scales.

The same checks hold for every band set of a scale: the default ``bands`` and each of ``band_sets``, whose
ids name the output columns ``<scale>_band_<id>`` and so must be given, distinct, and not clash with
another output column of the scale.
"""

from __future__ import annotations

from collections.abc import Sequence

from scoring.definitions.rules.base import RuleContext, fmt, scale_resolved
from scoring.definitions.rules.drafts import has_todo_within
from scoring.definitions.rules.facts import is_integer_valued
from scoring.definitions.schema import Bands, Scale
from scoring.errors import Issue

#: suffixes of <scale>_band_<id> that would clash with the band's own columns
_RESERVED_SET_IDS = ("set",)


def bands_contiguous(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        if scale.bands is None:
            if not has_todo_within(ctx, ("scales", si)):  # a draft's TODO there says what to write
                out.append(ctx.report("W301.no_bands", ("scales", si), scale=scale.id))
            if scale.band_sets:
                out.append(ctx.report("E226.sets_without_default", ("scales", si, "band_sets"), scale=scale.id))
        else:
            out += _check_set(ctx, scale, scale.bands, ("scales", si, "bands"))
        seen = {scale.bands.id} if scale.bands is not None and scale.bands.id else set()
        for bi, band_set in enumerate(scale.band_sets):
            base = ("scales", si, "band_sets", bi)
            if band_set.id is None:
                out.append(ctx.report("E226.set_id_missing", base, scale=scale.id))
            elif band_set.id in seen:
                out.append(ctx.report("E226.set_id_twice", (*base, "id"), set_id=band_set.id, scale=scale.id))
            elif band_set.id in _RESERVED_SET_IDS:
                out.append(ctx.report("E226.set_id_reserved", (*base, "id"), set_id=band_set.id))
            if band_set.id:
                seen.add(band_set.id)
            out += _check_set(ctx, scale, band_set, base)
    return out


def _check_set(ctx: RuleContext, scale: Scale, bands: Bands, where: Sequence[str | int]) -> list[Issue]:
    out = []
    ranges = bands.ranges
    base = (*where, "ranges")
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
