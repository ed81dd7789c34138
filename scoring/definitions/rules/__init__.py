"""Second validation pass: the meaning of a definition.

Each rule is a small function ``rule(ctx) -> list[Issue]`` that never raises; :data:`RULES` is the tuple
the validator runs, so every issue in a definition is reported at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scoring.definitions.loading import SourceDoc, format_path
from scoring.definitions.rules.facts import final_range, is_integer_valued, option_values, raw_range
from scoring.definitions.schema import Instrument, Scale
from scoring.errors import Issue, did_you_mean


@dataclass(frozen=True)
class RuleContext:
    instrument: Instrument
    doc: SourceDoc | None = None

    def issue(self, code: str, message: str, path: Sequence[str | int] = (), hint: str | None = None) -> Issue:
        line = self.doc.line_of(path) if self.doc else None
        return Issue(code, message, self.doc.file if self.doc else None, line, format_path(path), hint)


Rule = Callable[[RuleContext], list[Issue]]


def _dupes(values: Iterable[str]) -> set[str]:
    return {v for v, n in Counter(values).items() if n > 1}


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def unique_ids(ctx: RuleContext) -> list[Issue]:
    ins = ctx.instrument
    out = []
    for kind, entries in (
        ("option_sets", ins.option_sets),
        ("items", ins.items),
        ("scales", ins.scales),
        ("flags", ins.flags),
    ):
        dupes = _dupes(e.id for e in entries)
        for i, e in enumerate(entries):
            if e.id in dupes:
                out.append(ctx.issue("E200", f"{kind[:-1].replace('_', ' ')} id {e.id!r} is used twice",
                                     (kind, i, "id"), "ids must be unique within an instrument"))
    for fi, flag in enumerate(ins.flags):
        if flag.id in {s.id for s in ins.scales}:
            out.append(ctx.issue("E200", f"flag id {flag.id!r} is also a scale id", ("flags", fi, "id")))
    for group_name, names in (("scales", [s.id for s in ins.scales]), ("flags", [f.id for f in ins.flags])):
        clash = set(names) & {i.id for i in ins.items}
        for name in sorted(clash):
            idx = names.index(name)
            out.append(ctx.issue("E200", f"{group_name[:-1]} id {name!r} is also an item id", (group_name, idx, "id"),
                                 "scale and flag ids become output columns: they must differ from item ids"))
    return out


def option_sets_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, oset in enumerate(ctx.instrument.option_sets):
        values = [float(o.value) for o in oset.options]
        dupes = {v for v, n in Counter(values).items() if n > 1}
        for oi, opt in enumerate(oset.options):
            if float(opt.value) in dupes:
                out.append(ctx.issue("E202", f"value {_fmt(opt.value)} appears twice in option set {oset.id!r}",
                                     ("option_sets", si, "options", oi, "value"), "each answer needs its own code"))
    sets = [s.id for s in ctx.instrument.option_sets]
    for ii, item in enumerate(ctx.instrument.items):
        if item.options not in sets:
            hint = did_you_mean(item.options, sets) or f"defined option sets: {', '.join(sets)}"
            out.append(ctx.issue("E201", f"item {item.id!r} uses unknown option set {item.options!r}",
                                 ("items", ii, "options"), hint))
    return out


def scale_items_exist(ctx: RuleContext) -> list[Issue]:
    items = {i.id: i for i in ctx.instrument.items}
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        for ii, item_id in enumerate(scale.items):
            if item_id not in items:
                hint = did_you_mean(item_id, items) or "list only ids from `items`"
                out.append(ctx.issue("E203", f"unknown item {item_id!r} in scale {scale.id!r}",
                                     ("scales", si, "items", ii), hint))
            elif not items[item_id].scored:
                out.append(ctx.issue("E204", f"item {item_id!r} is marked scored: false but is in scale {scale.id!r}",
                                     ("scales", si, "items", ii), "remove it from the scale or mark it scored"))
        for item_id in sorted(_dupes(scale.items)):
            out.append(ctx.issue("E205", f"item {item_id!r} appears more than once in scale {scale.id!r}",
                                 ("scales", si, "items", scale.items.index(item_id)), "use a weight instead"))
        for key in scale.weights:
            if key not in scale.items:
                out.append(ctx.issue("E206", f"weight given for {key!r}, which is not in scale {scale.id!r}",
                                     ("scales", si, "weights", key), did_you_mean(key, scale.items)))
        if scale.count_if:
            for key in scale.count_if.per_item:
                if key not in scale.items:
                    out.append(ctx.issue("E206", f"count threshold given for {key!r}, not in scale {scale.id!r}",
                                         ("scales", si, "count_if", "per_item", key), did_you_mean(key, scale.items)))
    return out


def _scale_resolved(ctx: RuleContext, scale: Scale) -> bool:
    items = {i.id: i for i in ctx.instrument.items}
    sets = {s.id for s in ctx.instrument.option_sets}
    return all(i in items and items[i].options in sets for i in scale.items)


def scale_range_matches(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        if not _scale_resolved(ctx, scale):
            continue
        lo, hi = scale.range
        if lo > hi:
            out.append(ctx.issue("E207", f"range [{_fmt(lo)}, {_fmt(hi)}] is reversed", ("scales", si, "range")))
            continue
        rng = final_range(ctx.instrument, scale)
        if rng is None:
            continue  # reported by the conversion-table rule
        if abs(rng[0] - lo) > 1e-9 or abs(rng[1] - hi) > 1e-9:
            out.append(ctx.issue(
                "E207",
                f"scale {scale.id!r} declares range [{_fmt(lo)}, {_fmt(hi)}] but its items, weights, multiplier "
                f"and table give [{_fmt(rng[0])}, {_fmt(rng[1])}]",
                ("scales", si, "range"),
                "check the option values, reverse keys, weights and multiplier, or correct the range",
            ))
    return out


def bands_contiguous(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        if scale.bands is None:
            out.append(ctx.issue("W301", f"scale {scale.id!r} has no bands", ("scales", si),
                                 "fine where none are published (say so in the description)"))
            continue
        ranges = scale.bands.ranges
        base = ("scales", si, "bands", "ranges")
        integer = _scale_resolved(ctx, scale) and is_integer_valued(ctx.instrument, scale)
        lo, hi = scale.range
        for bi, band in enumerate(ranges):
            if band.min > band.max:
                out.append(ctx.issue("E208", f"band {band.label!r} has min {_fmt(band.min)} > max {_fmt(band.max)}",
                                     (*base, bi)))
            if integer and not (float(band.min).is_integer() and float(band.max).is_integer()):
                out.append(ctx.issue("E224", f"band {band.label!r} has non-integer bounds on an integer-valued scale",
                                     (*base, bi), "use the published whole-number cut-points"))
        if ranges[0].min != lo:
            out.append(ctx.issue("E208", f"first band starts at {_fmt(ranges[0].min)}, the range at {_fmt(lo)}",
                                 (*base, 0, "min"), "the bands must cover the whole score range"))
        if ranges[-1].max != hi:
            out.append(ctx.issue("E208", f"last band ends at {_fmt(ranges[-1].max)}, the range at {_fmt(hi)}",
                                 (*base, len(ranges) - 1, "max"), "the bands must cover the whole score range"))
        for bi in range(1, len(ranges)):
            prev, cur = ranges[bi - 1], ranges[bi]
            if cur.min <= prev.max:
                out.append(ctx.issue("E208", f"band {cur.label!r} starts at {_fmt(cur.min)}, inside "
                                     f"{prev.label!r} ({_fmt(prev.min)}–{_fmt(prev.max)}): bands overlap",
                                     (*base, bi, "min"), "list bands in ascending order without overlap"))
            elif integer and cur.min != prev.max + 1:
                out.append(ctx.issue("E208", f"gap between {prev.label!r} (max {_fmt(prev.max)}) and {cur.label!r} "
                                     f"(min {_fmt(cur.min)})", (*base, bi, "min"),
                                     f"on an integer scale the next band must start at {_fmt(prev.max + 1)}"))
            elif not integer and cur.min > prev.max + 1:
                out.append(ctx.issue("E208", f"gap between {prev.label!r} (max {_fmt(prev.max)}) and {cur.label!r} "
                                     f"(min {_fmt(cur.min)})", (*base, bi, "min"),
                                     "bands must be contiguous; scores between two published cut-points "
                                     "belong to the lower band"))
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
            out.append(ctx.issue(
                "E209",
                f"item {item.id!r} is reverse keyed but its option values {sorted(map(_fmt, values))} are not "
                "symmetric, so (min + max − answer) would produce codes that are not options",
                ("items", ii, "reverse"),
                "use a separate option set with the reversed values instead of reverse: true",
            ))
    return out


def missing_rule_consistent(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        m = scale.missing
        path = ("scales", si, "missing")
        n = len(scale.items)
        if m.rule == "prorate":
            if m.max_missing is None:
                out.append(ctx.issue("E210", "rule prorate needs max_missing", (*path, "rule"),
                                     "say how many items may be missing, e.g. max_missing: 2"))
            elif m.max_missing >= n:
                out.append(ctx.issue("E210", f"max_missing {m.max_missing} allows a score with no answers "
                                     f"({n} items)", (*path, "max_missing"), f"use at most {n - 1}"))
            if m.min_answered is not None:
                out.append(ctx.issue("E210", "rule prorate takes max_missing, not min_answered",
                                     (*path, "min_answered")))
            if scale.method in ("count", "max"):
                out.append(ctx.issue("E210", f"a {scale.method} cannot be prorated", (*path, "rule"),
                                     "use min_answered or complete"))
        elif m.rule == "min_answered":
            if m.min_answered is None:
                out.append(ctx.issue("E210", "rule min_answered needs min_answered", (*path, "rule")))
            elif m.min_answered > n:
                out.append(ctx.issue("E210", f"min_answered {m.min_answered} exceeds the {n} items",
                                     (*path, "min_answered")))
            if m.max_missing is not None:
                out.append(ctx.issue("E210", "rule min_answered takes min_answered, not max_missing",
                                     (*path, "max_missing")))
            if scale.method == "sum" and m.min_answered is not None and m.min_answered < n:
                out.append(ctx.issue("E210", "a sum over a subset of answered items is not comparable between "
                                     "respondents", (*path, "rule"), "use prorate, or method mean"))
        else:
            if m.max_missing is not None or m.min_answered is not None:
                out.append(ctx.issue("E210", "rule complete takes neither max_missing nor min_answered", path))
        if m.rule != "prorate" and m.rounding != "none":
            out.append(ctx.issue("E210", f"rounding {m.rounding!r} only applies to prorated scores",
                                 (*path, "rounding")))
        if scale.method == "count" and scale.count_if is None:
            out.append(ctx.issue("E211", f"scale {scale.id!r} counts items but has no count_if",
                                 ("scales", si, "method"), "add count_if: {op: '>=', value: 2}"))
        if scale.method != "count" and scale.count_if is not None:
            out.append(ctx.issue("E211", f"count_if given but scale {scale.id!r} uses method {scale.method}",
                                 ("scales", si, "count_if")))
    return out


def transform_covers_range(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        if scale.transform is None or not _scale_resolved(ctx, scale):
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
            out.append(ctx.issue("E212", f"conversion table lacks raw scores {missing[:8]}"
                                 + ("…" if len(missing) > 8 else ""), ("scales", si, "transform", "table"),
                                 "every raw score the scale can produce needs a row"))
        if extra:
            out.append(ctx.issue("E212", f"conversion table has raw scores outside the raw range: {extra[:8]}",
                                 ("scales", si, "transform", "table", extra[0])))
        if scale.missing.rule == "prorate" and scale.missing.rounding != "half_up":
            out.append(ctx.issue("E212", "a conversion table needs whole raw scores: prorate with rounding half_up",
                                 ("scales", si, "missing", "rounding")))
    return out


def cutoffs_in_range(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        lo, hi = scale.range
        seen: dict[str, list[str]] = {}
        for ci, cut in enumerate(scale.cutoffs):
            if not lo <= cut.value <= hi:
                out.append(ctx.issue("E213", f"cut-off {cut.id!r} at {_fmt(cut.value)} is outside the range "
                                     f"[{_fmt(lo)}, {_fmt(hi)}]", ("scales", si, "cutoffs", ci, "value")))
            sexes = seen.setdefault(cut.id, [])
            if cut.sex in sexes or (sexes and "any" in (*sexes, cut.sex)):
                out.append(ctx.issue("E200", f"cut-off id {cut.id!r} is repeated in scale {scale.id!r}",
                                     ("scales", si, "cutoffs", ci, "id"),
                                     "one id may have one entry for any sex, or one entry per sex"))
            sexes.append(cut.sex)
    return out


def _holds(op: str, left: float, right: object) -> bool:
    if op == "in":
        return isinstance(right, list) and left in [float(v) for v in right]
    if op == "not_in":
        return isinstance(right, list) and left not in [float(v) for v in right]
    if isinstance(right, (list, str)):
        return False
    r = float(right)  # type: ignore[arg-type]
    return {">": left > r, ">=": left >= r, "<": left < r, "<=": left <= r, "==": left == r, "!=": left != r}[op]


def critical_items_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    items = [i.id for i in ctx.instrument.items]
    for ci, crit in enumerate(ctx.instrument.critical_items):
        path = ("critical_items", ci)
        if crit.item not in items:
            out.append(ctx.issue("E203", f"critical item refers to unknown item {crit.item!r}", (*path, "item"),
                                 did_you_mean(crit.item, items)))
            continue
        if (crit.op == "in") != isinstance(crit.value, list):
            out.append(ctx.issue("E214", "use a list with op 'in' and a single number otherwise", (*path, "value")))
            continue
        values = option_values(ctx.instrument, crit.item) or []
        hits = [v for v in values if _holds(crit.op, v, crit.value)]
        if not hits:
            out.append(ctx.issue("E214", f"no answer to {crit.item!r} meets the condition, so it never fires",
                                 (*path, "value"), f"the item's codes are {[_fmt(v) for v in values]}"))
        elif len(hits) == len(values):
            out.append(ctx.issue("E214", f"every answer to {crit.item!r} meets the condition, so it always fires",
                                 (*path, "value")))
    return out


def gates_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    order = [i.id for i in ctx.instrument.items]
    for ii, item in enumerate(ctx.instrument.items):
        if item.shown_if is not None:
            gate = item.shown_if.item
            if gate not in order:
                out.append(ctx.issue("E203", f"gate of {item.id!r} refers to unknown item {gate!r}",
                                     ("items", ii, "shown_if", "item"), did_you_mean(gate, order)))
            elif order.index(gate) >= ii:
                out.append(ctx.issue("E215", f"gate item {gate!r} is not asked before {item.id!r}",
                                     ("items", ii, "shown_if", "item"), "move the gate item earlier"))
            elif ctx.instrument.items[order.index(gate)].shown_if is not None:
                out.append(ctx.issue("E215", f"gate item {gate!r} is itself gated; nested gates are not supported",
                                     ("items", ii, "shown_if", "item")))
        if item.value_if_not_shown is not None:
            if item.shown_if is None:
                out.append(ctx.issue("E216", f"{item.id!r} has value_if_not_shown but no shown_if gate",
                                     ("items", ii, "value_if_not_shown")))
            values = option_values(ctx.instrument, item.id)
            if values is not None and float(item.value_if_not_shown) not in values:
                out.append(ctx.issue("E216", f"value_if_not_shown {_fmt(item.value_if_not_shown)} is not one of "
                                     f"the item's codes {[_fmt(v) for v in values]}",
                                     ("items", ii, "value_if_not_shown")))
    return out


def items_used(ctx: RuleContext) -> list[Issue]:
    in_scales = {i for s in ctx.instrument.scales for i in s.items}
    gates = {i.shown_if.item for i in ctx.instrument.items if i.shown_if}
    out = []
    for ii, item in enumerate(ctx.instrument.items):
        if item.scored and item.id not in in_scales and item.id not in gates:
            out.append(ctx.issue("W300", f"item {item.id!r} enters no scale", ("items", ii),
                                 "add it to a scale, or mark it scored: false if it is asked but not scored"))
    return out


def item_text_licence(ctx: RuleContext) -> list[Issue]:
    out = []
    no_text = ctx.instrument.licence.redistribution == "no_item_text"
    for ii, item in enumerate(ctx.instrument.items):
        if no_text and item.text is not None:
            out.append(ctx.issue("E218", f"item {item.id!r} carries text, but the licence is no_item_text",
                                 ("items", ii, "text"), "replace it with a short descriptor"))
        if no_text and item.descriptor is None:
            out.append(ctx.issue("E218", f"item {item.id!r} needs a descriptor", ("items", ii),
                                 "add a short paraphrase so clinicians can tell the items apart"))
        if not no_text and item.text is None:
            out.append(ctx.issue("E218", f"item {item.id!r} has no text", ("items", ii),
                                 "add the verbatim wording, or set licence.redistribution: no_item_text"))
    if no_text and ctx.instrument.translations:
        out.append(ctx.issue("E218", "translations carry item text, which the licence does not allow",
                             ("translations",)))
    if ctx.instrument.licence.redistribution != "no_item_text" and not ctx.instrument.text_source:
        out.append(ctx.issue("E218", "verbatim item text needs its text_source", ("text_source",),
                             "say where the wording was taken from"))
    return out


def translations_complete(ctx: RuleContext) -> list[Issue]:
    out = []
    ins = ctx.instrument
    item_ids = [i.id for i in ins.items if i.text is not None]
    sets = {s.id: s for s in ins.option_sets}
    for lang, tr in ins.translations.items():
        base = ("translations", lang)
        if lang == ins.language:
            out.append(ctx.issue("E217", f"translation {lang!r} is the definition's own language", base))
        for item_id in item_ids:
            if item_id not in tr.items:
                out.append(ctx.issue("E217", f"translation {lang!r} lacks item {item_id!r}", (*base, "items")))
        for key in tr.items:
            if key not in item_ids:
                out.append(ctx.issue("E217", f"translation {lang!r} has unknown item {key!r}", (*base, "items", key),
                                     did_you_mean(key, item_ids)))
        used_sets = {i.options for i in ins.items if i.text is not None}
        for set_id in sorted(used_sets):
            if set_id not in sets:
                continue
            given = tr.option_sets.get(set_id, {})
            for opt in sets[set_id].options:
                if not float(opt.value).is_integer() or int(opt.value) not in given:
                    out.append(ctx.issue("E217", f"translation {lang!r} lacks option {_fmt(opt.value)} of "
                                         f"{set_id!r}", (*base, "option_sets")))
        for set_id in tr.option_sets:
            if set_id not in sets:
                out.append(ctx.issue("E217", f"translation {lang!r} has unknown option set {set_id!r}",
                                     (*base, "option_sets", set_id)))
        if ins.instructions and not tr.instructions:
            out.append(ctx.issue("E217", f"translation {lang!r} lacks the instructions", base))
    return out


def _loinc_ok(code: str) -> bool:
    """LOINC codes are NNNNN-C with a mod-10 check digit (LOINC Users' Guide, Appendix)."""
    if "-" not in code:
        return False
    body, check = code.rsplit("-", 1)
    if not (body.isdigit() and check.isdigit() and len(check) == 1 and 1 <= len(body) <= 7):
        return False
    digits = body
    odd = digits[::-1][0::2]  # rightmost and every second digit leftwards
    even = digits[::-1][1::2]
    doubled = str(int(odd[::-1]) * 2)
    total = sum(int(c) for c in doubled) + sum(int(c) for c in even)
    return (10 - total % 10) % 10 == int(check)


def loinc_codes_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    ins = ctx.instrument
    candidates: list[tuple[str, tuple[str | int, ...]]] = []
    if ins.loinc_panel:
        candidates.append((ins.loinc_panel, ("loinc_panel",)))
    candidates += [(s.loinc, ("scales", i, "loinc")) for i, s in enumerate(ins.scales) if s.loinc]
    candidates += [(it.loinc, ("items", i, "loinc")) for i, it in enumerate(ins.items) if it.loinc]
    for code, path in candidates:
        if not _loinc_ok(code):
            out.append(ctx.issue("E219", f"{code!r} is not a valid LOINC code (format or check digit)", path,
                                 "encode only codes verified on loinc.org"))
    return out


def change_params_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    for si, scale in enumerate(ctx.instrument.scales):
        ch = scale.change
        if ch is None:
            continue
        base = ("scales", si, "change")
        if ch.reliability and not 0 < ch.reliability.value < 1:
            out.append(ctx.issue("E220", "reliability must lie strictly between 0 and 1", (*base, "reliability")))
        for name in ("sd", "functional_sd", "dysfunctional_sd", "reliable_change", "mcid"):
            param = getattr(ch, name)
            if param is not None and param.value <= 0:
                out.append(ctx.issue("E220", f"{name} must be positive", (*base, name)))
        lo, hi = scale.range
        for name in ("clinical_cutoff", "functional_mean", "dysfunctional_mean"):
            param = getattr(ch, name)
            if param is not None and not lo <= param.value <= hi:
                out.append(ctx.issue("E220", f"{name} {_fmt(param.value)} is outside the range", (*base, name)))
    return out


def flags_valid(ctx: RuleContext) -> list[Issue]:
    scales = [s.id for s in ctx.instrument.scales]
    items = [i.id for i in ctx.instrument.items]
    out = []
    for fi, flag in enumerate(ctx.instrument.flags):
        if (flag.all_of is None) == (flag.any_of is None):
            out.append(ctx.issue("E221", f"flag {flag.id!r} needs exactly one of all_of and any_of",
                                 ("flags", fi)))
            continue
        key = "all_of" if flag.all_of is not None else "any_of"
        conditions = flag.all_of if flag.all_of is not None else flag.any_of
        if not conditions:
            out.append(ctx.issue("E221", f"flag {flag.id!r} has no conditions", ("flags", fi, key)))
            continue
        for ci, cond in enumerate(conditions):
            path = ("flags", fi, key, ci)
            if (cond.scale is None) == (cond.item is None):
                out.append(ctx.issue("E221", "a flag condition names exactly one of scale and item", path))
            elif cond.scale is not None and cond.scale not in scales:
                out.append(ctx.issue("E221", f"flag {flag.id!r} refers to unknown scale {cond.scale!r}",
                                     (*path, "scale"), did_you_mean(cond.scale, scales)))
            elif cond.item is not None and cond.item not in items:
                out.append(ctx.issue("E221", f"flag {flag.id!r} refers to unknown item {cond.item!r}",
                                     (*path, "item"), did_you_mean(cond.item, items)))
            if (cond.op == "in") != isinstance(cond.value, list):
                out.append(ctx.issue("E221", "use a list with op 'in' and a single number otherwise",
                                     (*path, "value")))
    return out


def applicability_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    for ii, item in enumerate(ctx.instrument.items):
        cond = item.applies_if
        if cond is not None and cond.op in ("in", "not_in") and not isinstance(cond.value, list):
            out.append(ctx.issue("E216", "op 'in' needs a list of values", ("items", ii, "applies_if", "value")))
    return out


def file_name_matches(ctx: RuleContext) -> list[Issue]:
    if ctx.doc is None:
        return []
    stem = Path(ctx.doc.file).name.split(".")[0].split("@")[0]
    if stem != ctx.instrument.id:
        return [ctx.issue("E222", f"file {Path(ctx.doc.file).name!r} defines id {ctx.instrument.id!r}", ("id",),
                          f"name the file {ctx.instrument.id}.yaml (or {ctx.instrument.id}@VERSION.yaml)")]
    return []


RULES: tuple[Rule, ...] = (
    unique_ids,
    option_sets_valid,
    scale_items_exist,
    scale_range_matches,
    bands_contiguous,
    reverse_keys_symmetric,
    missing_rule_consistent,
    transform_covers_range,
    cutoffs_in_range,
    critical_items_valid,
    gates_valid,
    applicability_valid,
    items_used,
    item_text_licence,
    translations_complete,
    loinc_codes_valid,
    change_params_valid,
    flags_valid,
    file_name_matches,
)


def check(instrument: Instrument, doc: SourceDoc | None = None) -> list[Issue]:
    """Run every rule; return all issues (never raises)."""
    ctx = RuleContext(instrument, doc)
    issues: list[Issue] = []
    for rule in RULES:
        issues.extend(rule(ctx))
    return issues
