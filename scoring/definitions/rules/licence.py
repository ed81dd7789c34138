"""Licence, citation and codes: item text only where the licence allows it, with its source; LOINC codes
pass their check digit."""

from __future__ import annotations

from scoring.definitions.rules.base import RuleContext
from scoring.errors import Issue


def item_text_licence(ctx: RuleContext) -> list[Issue]:
    out = []
    no_text = ctx.instrument.licence.redistribution == "no_item_text"
    for ii, item in enumerate(ctx.instrument.items):
        if no_text and item.text is not None:
            out.append(ctx.report("E218.text_not_allowed", ("items", ii, "text"), item=item.id))
        if no_text and item.descriptor is None:
            out.append(ctx.report("E218.descriptor_needed", ("items", ii), item=item.id))
        if not no_text and item.text is None:
            out.append(ctx.report("E218.text_needed", ("items", ii), item=item.id))
    if no_text and ctx.instrument.translations:
        out.append(ctx.report("E218.translations_not_allowed", ("translations",)))
    if ctx.instrument.licence.redistribution != "no_item_text" and not ctx.instrument.text_source:
        out.append(ctx.report("E218.text_source", ("text_source",)))
    return out


def loinc_ok(code: str) -> bool:
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
        if not loinc_ok(code):
            out.append(ctx.report("E219.loinc", path, code=code))
    return out
