"""Second validation pass: the meaning of a definition.

Each rule is a small function ``rule(ctx) -> list[Issue]`` in the module of its family; it reports through
``ctx.report(key, path, **fields)`` with a message key of the catalogue
(:data:`scoring.definitions.issues.MESSAGES`). :data:`RULES` is the registry: the tuple the validator runs,
in this order, so every issue in a definition is reported at once.

Families: :mod:`.structure` (ids, unused items, file name), :mod:`.options` (option sets, reverse keying),
:mod:`.scales` (items, range, missing data, conversion tables, cut-offs), :mod:`.bands`,
:mod:`.visibility` (gates and applicability), :mod:`.alerts` (critical items and flags), :mod:`.licence`
(item text, text source, LOINC), :mod:`.translations`, :mod:`.change` (change parameters), :mod:`.drafts`
(TODOs a draft of ``psyscore fhir import`` leaves to complete);
:mod:`.facts` holds what rules and the compiler both derive from a definition.

:func:`check` runs each rule on its own: a rule that raises (a bug) becomes one ``E900`` issue located at the
file and naming the rule, and the other rules still run.
"""

from __future__ import annotations

from collections.abc import Sequence

from scoring.definitions.loading import SourceDoc
from scoring.definitions.rules.alerts import critical_items_valid, flags_valid
from scoring.definitions.rules.bands import bands_contiguous
from scoring.definitions.rules.base import Rule, RuleContext
from scoring.definitions.rules.change import change_params_valid
from scoring.definitions.rules.drafts import draft_todos_resolved
from scoring.definitions.rules.gates import applicability_values_typed, gate_values_typed
from scoring.definitions.rules.licence import item_text_licence, loinc_codes_valid
from scoring.definitions.rules.options import option_sets_valid, reverse_keys_symmetric
from scoring.definitions.rules.scales import (
    cutoffs_in_range,
    missing_rule_consistent,
    scale_items_exist,
    scale_range_matches,
    transform_covers_range,
)
from scoring.definitions.rules.structure import file_name_matches, items_used, unique_ids
from scoring.definitions.rules.translations import translations_complete
from scoring.definitions.rules.visibility import applicability_valid, gates_valid
from scoring.definitions.schema import Instrument
from scoring.errors import Issue

#: every rule, in the order the validator runs them (the order of the issues reported)
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
    gate_values_typed, applicability_values_typed,
    items_used,
    item_text_licence,
    translations_complete,
    loinc_codes_valid,
    change_params_valid,
    flags_valid,
    file_name_matches,
    draft_todos_resolved,
)


def rule_name(rule: Rule) -> str:
    """``scoring.definitions.rules.bands.bands_contiguous`` for a rule function."""
    module = getattr(rule, "__module__", None) or "?"
    return f"{module}.{getattr(rule, '__qualname__', repr(rule))}"


def run_rule(rule: Rule, ctx: RuleContext) -> list[Issue]:
    """Run one rule; if it raises, return one ``E900`` issue naming it instead of the exception."""
    try:
        return list(rule(ctx))
    except Exception as exc:  # a failing rule must not stop the other rules and files
        detail = str(exc).splitlines()[0] if str(exc) else "no message"
        if len(detail) > 200:
            detail = detail[:197] + "..."
        return [ctx.report("E900.rule_failed", (), rule=rule_name(rule), error=type(exc).__name__,
                           detail=detail)]


def check(instrument: Instrument, doc: SourceDoc | None = None, rules: Sequence[Rule] | None = None
          ) -> list[Issue]:
    """Run every rule (``rules``, default :data:`RULES`); return all issues. Never raises."""
    ctx = RuleContext(instrument, doc)
    issues: list[Issue] = []
    for rule in RULES if rules is None else rules:
        issues.extend(run_rule(rule, ctx))
    return issues


__all__ = ["RULES", "Rule", "RuleContext", "check", "rule_name", "run_rule"]
