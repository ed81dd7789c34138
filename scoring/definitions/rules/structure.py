"""Structure: ids are unique and distinct from each other, every item is used, the file name is the id."""

from __future__ import annotations

from pathlib import Path

from scoring.definitions.rules.base import RuleContext, dupes
from scoring.errors import Issue


def unique_ids(ctx: RuleContext) -> list[Issue]:
    ins = ctx.instrument
    out = []
    for kind, ids in (
        ("option_sets", [e.id for e in ins.option_sets]),
        ("items", [e.id for e in ins.items]),
        ("scales", [e.id for e in ins.scales]),
        ("flags", [e.id for e in ins.flags]),
    ):
        repeated = dupes(ids)
        for i, entry_id in enumerate(ids):
            if entry_id in repeated:
                out.append(ctx.report("E200.id_twice", (kind, i, "id"), kind=kind[:-1].replace("_", " "),
                                      id=entry_id))
    for fi, flag in enumerate(ins.flags):
        if flag.id in {s.id for s in ins.scales}:
            out.append(ctx.report("E200.flag_is_scale", ("flags", fi, "id"), id=flag.id))
    for group_name, names in (("scales", [s.id for s in ins.scales]), ("flags", [f.id for f in ins.flags])):
        clash = set(names) & {i.id for i in ins.items}
        for name in sorted(clash):
            idx = names.index(name)
            out.append(ctx.report("E200.is_item_id", (group_name, idx, "id"), kind=group_name[:-1], id=name))
    return out


def items_used(ctx: RuleContext) -> list[Issue]:
    in_scales = {i for s in ctx.instrument.scales for i in s.items}
    gates = {i.shown_if.item for i in ctx.instrument.items if i.shown_if}
    out = []
    for ii, item in enumerate(ctx.instrument.items):
        if item.scored and item.id not in in_scales and item.id not in gates:
            out.append(ctx.report("W300.item_unused", ("items", ii), item=item.id))
    return out


def file_name_matches(ctx: RuleContext) -> list[Issue]:
    if ctx.doc is None:
        return []
    stem = Path(ctx.doc.file).name.split(".")[0].split("@")[0]
    if stem != ctx.instrument.id:
        return [ctx.report("E222.file_name", ("id",), file=Path(ctx.doc.file).name, id=ctx.instrument.id)]
    return []
