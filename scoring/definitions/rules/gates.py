"""Gate and applicability values have the type they are compared with (``E225``).

* ``shown_if`` compares the gate item's answer code, a number: every value must be a number
  (``value: 1``, ``value: [1, 2]``), never text (``"1"``, ``abc``) or a YAML boolean (``yes``).
* ``applies_if`` on ``sex`` compares the recorded sex: every value must be a sex word meaning female or male
  (:data:`scoring.definitions.respondent.SEX_WORDS`); sex-specific rules know no other.
* ``applies_if`` on any other respondent column compares numbers when the value is a number (``age >= 18``)
  and text otherwise (ignoring case); ``>``, ``>=``, ``<``, ``<=`` need a single number, and one condition
  may not mix numbers and text.

The compiler (:mod:`scoring.definitions.plan`) relies on these checks: it compiles the values to exactly
these types, and the engine and the kiosk compare them the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from scoring.definitions.respondent import Sex, SexValueError, parse_sex
from scoring.definitions.rules.facts import option_values
from scoring.errors import Issue

if TYPE_CHECKING:
    from scoring.definitions.rules.base import RuleContext

ORDERING = (">", ">=", "<", "<=")
_YAML_BOOL = "YAML reads yes/no/true/false/on/off as booleans"  # the catalogued E225.applies_boolean hint says it too


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _looks_numeric(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value.strip())
    except ValueError:
        return False
    return True


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _values(value: object) -> tuple[tuple[object, ...], bool]:
    """(the values, whether written as a list)."""
    if isinstance(value, (list, tuple)):
        return tuple(value), True
    return (value,), False


def _as_written(ctx: RuleContext, path: Sequence[str | int], validated: object) -> object:
    """The value as the YAML file wrote it: the shape pass turns a YAML boolean (``yes``) into the number 1
    where a number is allowed, so booleans are looked up in the parsed document."""
    node: object = ctx.doc.data if ctx.doc is not None else None
    for part in path:
        in_map = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_map or in_list):
            return validated
        node = node[part]  # type: ignore[index]
    if isinstance(validated, (list, tuple)) != isinstance(node, list):
        return validated
    if isinstance(node, list) and len(node) != len(validated):  # type: ignore[arg-type]
        return validated
    return node


def _path(base: Sequence[str | int], as_list: bool, k: int) -> tuple[str | int, ...]:
    return (*base, "value", k) if as_list else (*base, "value")


def gate_values_typed(ctx: RuleContext) -> list[Issue]:
    """``shown_if`` values are numbers (the gate item's answer codes)."""
    out: list[Issue] = []
    for ii, item in enumerate(ctx.instrument.items):
        cond = item.shown_if
        if cond is None:
            continue
        base = ("items", ii, "shown_if")
        values, as_list = _values(_as_written(ctx, (*base, "value"), cond.value))
        if as_list and cond.op not in ("in", "not_in"):
            out.append(ctx.report("E225.gate_list", (*base, "value"), item=item.id, op=cond.op))
            continue
        codes = option_values(ctx.instrument, cond.item)
        shown_codes = (f"the answer codes of {cond.item!r} are {', '.join(_fmt(c) for c in codes)}" if codes
                       else None)
        hint: str | None
        for k, value in enumerate(values):
            if _is_number(value):
                continue
            if isinstance(value, bool):
                hint = f"{_YAML_BOOL}: write the answer code, e.g. value: 1"
            elif _looks_numeric(value):
                hint = f"write the number without quotes: value: {str(value).strip()}"
            else:
                hint = shown_codes
            out.append(ctx.report("E225.gate_not_number", _path(base, as_list, k), hint=hint, item=item.id,
                                  gate=cond.item, value=value))
    return out


def applicability_values_typed(ctx: RuleContext) -> list[Issue]:
    """``applies_if`` values: sex words for ``sex``; numbers for ordering ops; numbers or text, not both."""
    out: list[Issue] = []
    for ii, item in enumerate(ctx.instrument.items):
        cond = item.applies_if
        if cond is None:
            continue
        base = ("items", ii, "applies_if")
        values, as_list = _values(_as_written(ctx, (*base, "value"), cond.value))
        if as_list and cond.op not in ("in", "not_in"):
            out.append(ctx.report("E225.applies_list", (*base, "value"), item=item.id, op=cond.op))
            continue
        if any(isinstance(v, bool) for v in values):
            k = next(k for k, v in enumerate(values) if isinstance(v, bool))
            out.append(ctx.report("E225.applies_boolean", _path(base, as_list, k), item=item.id,
                                  respondent=cond.respondent, value=values[k]))
            continue
        if cond.respondent == "sex":
            out.extend(_sex_values(ctx, item.id, cond.op, values, as_list, base))
            continue
        if cond.op in ORDERING:
            value = values[0]
            if not _is_number(value):
                hint = (f"write the number without quotes: value: {str(value).strip()}"
                        if _looks_numeric(value) else None)
                out.append(ctx.report("E225.applies_not_number", _path(base, as_list, 0), hint=hint, item=item.id,
                                      respondent=cond.respondent, op=cond.op, value=value))
            continue
        numbers = [_is_number(v) for v in values]
        if any(numbers) and not all(numbers):
            k = numbers.index(False)
            out.append(ctx.report("E225.applies_mixed", _path(base, as_list, k), item=item.id))
    return out


def _sex_values(ctx: RuleContext, item_id: str, op: str, values: tuple[object, ...], as_list: bool,
                base: tuple[str | int, ...]) -> list[Issue]:
    if op in ORDERING:
        return [ctx.report("E225.sex_ordered", (*base, "op"), item=item_id, op=op)]
    out = []
    for k, value in enumerate(values):
        try:
            sex = parse_sex(value)
        except SexValueError:
            sex = None
            known = False
        else:
            known = True
        if sex in (Sex.FEMALE, Sex.MALE):
            continue
        if known:
            out.append(ctx.report("E225.sex_neither", _path(base, as_list, k), item=item_id, value=value))
        else:
            out.append(ctx.report("E225.sex_unknown", _path(base, as_list, k), item=item_id, value=value))
    return out
