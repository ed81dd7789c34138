"""Facts derived from a definition that both the rules and the compiler need.

These functions assume only that the definition passed the shape pass; they tolerate dangling ids (the
rules report those) by skipping what they cannot resolve.
"""

from __future__ import annotations

import math

from scoring.definitions.schema import Instrument, Scale


def option_values(instrument: Instrument, item_id: str) -> list[float] | None:
    """Allowed answer codes of an item, or None when the item or its option set is unknown."""
    items = {i.id: i for i in instrument.items}
    sets = {s.id: s for s in instrument.option_sets}
    item = items.get(item_id)
    if item is None or item.options not in sets:
        return None
    return [float(o.value) for o in sets[item.options].options]


def scored_values(instrument: Instrument, item_id: str) -> list[float] | None:
    """Values an item can contribute after reverse keying (and its not-shown value)."""
    values = option_values(instrument, item_id)
    if values is None:
        return None
    item = next(i for i in instrument.items if i.id == item_id)
    lo, hi = min(values), max(values)
    out = [lo + hi - v for v in values] if item.reverse else list(values)
    if item.value_if_not_shown is not None:
        out.append(float(item.value_if_not_shown))
    return out


def raw_range(instrument: Instrument, scale: Scale) -> tuple[float, float] | None:
    """(min, max) of the aggregate before multiplier and transform; None if items are unresolved."""
    if scale.method == "count":
        return 0.0, float(len(scale.items))
    lows: list[float] = []
    highs: list[float] = []
    for item_id in scale.items:
        values = scored_values(instrument, item_id)
        if values is None:
            return None
        w = float(scale.weights.get(item_id, 1))
        a, b = w * min(values), w * max(values)
        lows.append(min(a, b))
        highs.append(max(a, b))
    if scale.method == "sum":
        return math.fsum(lows), math.fsum(highs)
    if scale.method == "max":
        return max(lows), max(highs)
    return min(lows), max(highs)  # mean


def final_range(instrument: Instrument, scale: Scale) -> tuple[float, float] | None:
    """(min, max) of the reported score: raw range × multiplier, then through the conversion table."""
    rng = raw_range(instrument, scale)
    if rng is None:
        return None
    lo, hi = rng[0] * scale.multiplier, rng[1] * scale.multiplier
    lo, hi = min(lo, hi), max(lo, hi)
    if scale.transform is not None:
        table = scale.transform.table
        covered = [v for k, v in table.items() if lo <= k <= hi]
        if not covered:
            return None
        return float(min(covered)), float(max(covered))
    return lo, hi


def is_integer_valued(instrument: Instrument, scale: Scale) -> bool:
    """True when every score the scale can produce is a whole number."""
    if scale.transform is not None:
        return all(float(v).is_integer() for v in scale.transform.table.values())
    if scale.method == "mean":
        return False
    if not float(scale.multiplier).is_integer():
        return False
    if scale.method == "count":
        return True
    if scale.missing.rule == "prorate" and not (scale.missing.rounding == "half_up" and scale.missing.decimals == 0):
        return False
    for item_id in scale.items:
        values = scored_values(instrument, item_id)
        if values is None:
            return False
        w = float(scale.weights.get(item_id, 1))
        if not w.is_integer() or not all(float(v).is_integer() for v in values):
            return False
    return True
