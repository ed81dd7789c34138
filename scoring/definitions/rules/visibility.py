"""Visibility: gates (``shown_if``) refer to earlier, ungated items; ``value_if_not_shown`` is an option of a
gated item; applicability conditions (``applies_if``) are well formed.

(Type checks of gate values live in :mod:`scoring.definitions.rules.gates`.)
"""

from __future__ import annotations

from scoring.definitions.rules.base import RuleContext, fmt
from scoring.definitions.rules.facts import option_values
from scoring.errors import Issue, did_you_mean


def gates_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    order = [i.id for i in ctx.instrument.items]
    for ii, item in enumerate(ctx.instrument.items):
        if item.shown_if is not None:
            gate = item.shown_if.item
            path = ("items", ii, "shown_if", "item")
            if gate not in order:
                out.append(ctx.report("E203.gate_item", path, hint=did_you_mean(gate, order), item=item.id,
                                      gate=gate))
            elif order.index(gate) >= ii:
                out.append(ctx.report("E215.gate_after", path, gate=gate, item=item.id))
            elif ctx.instrument.items[order.index(gate)].shown_if is not None:
                out.append(ctx.report("E215.nested", path, gate=gate))
        if item.value_if_not_shown is not None:
            if item.shown_if is None:
                out.append(ctx.report("E216.no_gate", ("items", ii, "value_if_not_shown"), item=item.id))
            values = option_values(ctx.instrument, item.id)
            if values is not None and float(item.value_if_not_shown) not in values:
                out.append(ctx.report("E216.not_an_option", ("items", ii, "value_if_not_shown"),
                                      value=fmt(item.value_if_not_shown), codes=[fmt(v) for v in values]))
    return out


def applicability_valid(ctx: RuleContext) -> list[Issue]:
    out = []
    for ii, item in enumerate(ctx.instrument.items):
        cond = item.applies_if
        if cond is not None and cond.op in ("in", "not_in") and not isinstance(cond.value, (list, tuple)):
            out.append(ctx.report("E216.in_needs_list", ("items", ii, "applies_if", "value")))
    return out
