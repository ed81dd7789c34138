"""Translations: complete (every item with text, every option of the sets they use, the instructions) and
naming only ids of the definition."""

from __future__ import annotations

from collections.abc import Mapping

from scoring.definitions.rules.base import RuleContext, fmt
from scoring.errors import Issue, did_you_mean


def translations_complete(ctx: RuleContext) -> list[Issue]:
    out = []
    ins = ctx.instrument
    item_ids = [i.id for i in ins.items if i.text is not None]
    sets = {s.id: s for s in ins.option_sets}
    for lang, tr in ins.translations.items():
        base = ("translations", lang)
        if lang == ins.language:
            out.append(ctx.report("E217.own_language", base, lang=lang))
        for item_id in item_ids:
            if item_id not in tr.items:
                out.append(ctx.report("E217.lacks_item", (*base, "items"), lang=lang, item=item_id))
        for key in tr.items:
            if key not in item_ids:
                out.append(ctx.report("E217.unknown_item", (*base, "items", key), hint=did_you_mean(key, item_ids),
                                      lang=lang, item=key))
        used_sets = {i.options for i in ins.items if i.text is not None}
        for set_id in sorted(used_sets):
            if set_id not in sets:
                continue
            given: Mapping[int, str] = tr.option_sets.get(set_id, {})
            for opt in sets[set_id].options:
                if not float(opt.value).is_integer() or int(opt.value) not in given:
                    out.append(ctx.report("E217.lacks_option", (*base, "option_sets"), lang=lang,
                                          value=fmt(opt.value), option_set=set_id))
        for set_id in tr.option_sets:
            if set_id not in sets:
                out.append(ctx.report("E217.unknown_option_set", (*base, "option_sets", set_id),
                                      hint=did_you_mean(set_id, sets), lang=lang, option_set=set_id))
        if ins.instructions and not tr.instructions:
            out.append(ctx.report("E217.lacks_instructions", base, lang=lang))
    return out
