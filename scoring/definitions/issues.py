"""The issue catalogue: every message the definition checks write, as a template with its hint.

Two levels:

* :data:`scoring.errors.CATALOG` — issue **code** → (severity, title): the stable, documented codes
  (``E208`` "bands do not cover the range contiguously").
* :data:`MESSAGES` — message **key** → :class:`Template` (code, message template, hint template). One code
  has one or more messages (``E208.overlap``, ``E208.gap``, …); a rule reports ``ctx.report(key, path,
  **fields)`` and the template's ``{fields}`` are filled with ``str.format`` (``{item!r}`` quotes).

A hint given at the call site (a "did you mean 'x'?" that depends on the data) replaces the template's hint;
when it is ``None`` the template's hint is used, so every issue with a catalogued hint has one.
``psyscore validate --codes`` prints the catalogue; ``tests/definitions/test_issue_catalogue.py`` checks
that every key used by a rule is here, every entry here is used, and the fields of each call match its
template.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from scoring.errors import CATALOG, Severity


@dataclass(frozen=True)
class Template:
    """One message of the catalogue: its issue code, message template and hint template."""

    code: str
    message: str
    hint: str | None = None

    @property
    def severity(self) -> Severity:
        return CATALOG[self.code][0]

    @property
    def title(self) -> str:
        return CATALOG[self.code][1]

    @property
    def fields(self) -> frozenset[str]:
        """Names of the ``{fields}`` in the message and the hint."""
        names: set[str] = set()
        for text in (self.message, self.hint or ""):
            names.update(name for _, name, _, _ in string.Formatter().parse(text) if name)
        return frozenset(names)

    def render(self, hint: str | None = None, /, **fields: object) -> tuple[str, str | None]:
        """(message, hint) with ``fields`` filled in; an explicit ``hint`` replaces the template's."""
        missing = self.fields - set(fields)
        if missing:
            raise KeyError(f"message {self.code} needs the fields {sorted(missing)}")
        message = self.message.format(**fields)
        if hint is None and self.hint is not None:
            hint = self.hint.format(**fields)
        return message, hint


_HINT_INTERNAL = ("this is a bug in psyscore, not necessarily in your file: please report it with this message "
                  "(the other checks of this file and the other files were run)")

#: message key -> template. Keys are ``<code>.<short name>``.
MESSAGES: Mapping[str, Template] = MappingProxyType({
    # what kind of file (scoring.definitions.library)
    "E106.norm_file": Template("E106", "this is a norm-table file (it has {keys} and no items), not an instrument "
                               "definition",
                               "check it with 'psyscore norms --validate {file}' (or 'psyscore validate {file}', "
                               "which recognises norm files); keep norm files in a norms folder "
                               "(PSYSCORE_NORMS_PATH), not among the definitions"),
    # shape (first pass): pydantic's errors in the YAML author's words (scoring.definitions.loading)
    "E110.unknown_key": Template("E110", "unknown key {key!r}", "allowed keys here: {allowed}"),
    "E111.missing_key": Template("E111", "required key {key!r} is missing", "add it; see instruments/README.md"),
    "E111.list_too_short": Template("E111", "this list has too few entries: entry [{index}] is missing",
                                    "give every entry of the list (a range is [lowest, highest], e.g. [0, 27])"),
    "E112.whole_number": Template("E112", "expected a whole number, found {shown}",
                                  "write digits only, e.g. 3 (no words, units or quotes)"),
    "E112.number": Template("E112", "expected a number, found {shown}",
                            "write digits with an optional decimal point, e.g. 0.84 (no words, units or quotes)"),
    "E112.text": Template("E112", "expected text, found {shown}", "{fix}"),
    "E112.true_false": Template("E112", "expected true or false, found {shown}", "write true or false"),
    "E112.list": Template("E112", "expected a list, found {shown}",
                          "write [a, b] or one '- a' line per entry, even for a single entry"),
    "E112.mapping": Template("E112", "expected a mapping (indented key: value lines), found {shown}",
                             "write the keys of {what} on the lines below, indented; see instruments/README.md"),
    "E112.not_allowed": Template("E112", "{shown} is not allowed here; allowed: {allowed}",
                                 "use one of the allowed values (they are case-sensitive)"),
    "E112.too_few": Template("E112", "needs at least {min} {entries}, found {actual}", "add the missing entries"),
    "E112.too_many": Template("E112", "takes at most {max} {entries}, found {actual}", "remove the extra entries"),
    "E112.empty_text": Template("E112", "must not be empty", "write the text, or remove the key if it is optional"),
    "E112.bound": Template("E112", "must be {relation} {limit}, found {shown}",
                          "check the published value (a sign or a misplaced decimal point?)"),
    "E112.id": Template("E112", "{shown} is not a valid id",
                        "ids are lowercase snake_case (a-z, 0-9, _), starting with a letter"),
    "E112.version": Template("E112", "{shown} is not a valid version", "write MAJOR.MINOR.PATCH, e.g. 1.0.0"),
    "E112.other": Template("E112", "{detail} (got {shown})", "see instruments/README.md for this key"),
    # structure: ids and file names
    "E200.id_twice": Template("E200", "{kind} id {id!r} is used twice", "ids must be unique within an instrument"),
    "E200.flag_is_scale": Template("E200", "flag id {id!r} is also a scale id",
                                   "flag and scale ids become output columns: rename the flag"),
    "E200.is_item_id": Template("E200", "{kind} id {id!r} is also an item id",
                                "scale and flag ids become output columns: they must differ from item ids"),
    "E222.file_name": Template("E222", "file {file!r} defines id {id!r}",
                               "name the file {id}.yaml (or {id}@VERSION.yaml)"),
    "W300.item_unused": Template("W300", "item {item!r} enters no scale",
                                 "add it to a scale, or mark it scored: false if it is asked but not scored"),
    # option sets and reverse keying
    "E201.unknown_option_set": Template("E201", "item {item!r} uses unknown option set {options!r}",
                                        "defined option sets: {sets}"),
    "E202.value_twice": Template("E202", "value {value} appears twice in option set {option_set!r}",
                                 "each answer needs its own code"),
    "E209.asymmetric": Template("E209", "item {item!r} is reverse keyed but its option values {values} are not "
                                "symmetric, so (min + max − answer) would produce codes that are not options",
                                "use a separate option set with the reversed values instead of reverse: true"),
    # scales: items, weights, range, missing data, conversion tables, cut-offs
    "E203.scale_item": Template("E203", "unknown item {item!r} in scale {scale!r}", "list only ids from `items`"),
    "E204.unscored_item": Template("E204", "item {item!r} is marked scored: false but is in scale {scale!r}",
                                   "remove it from the scale or mark it scored"),
    "E205.item_twice": Template("E205", "item {item!r} appears more than once in scale {scale!r}",
                                "use a weight instead"),
    "E206.weight": Template("E206", "weight given for {key!r}, which is not in scale {scale!r}",
                            "give weights only for items listed in the scale's items"),
    "E206.count_threshold": Template("E206", "count threshold given for {key!r}, not in scale {scale!r}",
                                     "give per_item thresholds only for items listed in the scale's items"),
    "E207.reversed": Template("E207", "range [{lo}, {hi}] is reversed", "write the range as [lowest, highest]"),
    "E207.mismatch": Template("E207", "scale {scale!r} declares range [{lo}, {hi}] but its items, weights, "
                              "multiplier and table give [{item_lo}, {item_hi}]",
                              "check the option values, reverse keys, weights and multiplier, or correct the range"),
    "E210.prorate_needs_max_missing": Template("E210", "rule prorate needs max_missing",
                                               "say how many items may be missing, e.g. max_missing: 2"),
    "E210.max_missing_too_high": Template("E210", "max_missing {max_missing} allows a score with no answers "
                                          "({n} items)", "use at most {most}"),
    "E210.prorate_min_answered": Template("E210", "rule prorate takes max_missing, not min_answered",
                                          "remove min_answered, or use rule: min_answered"),
    "E210.not_proratable": Template("E210", "a {method} cannot be prorated", "use min_answered or complete"),
    "E210.min_answered_needed": Template("E210", "rule min_answered needs min_answered",
                                         "say how many answers are needed, e.g. min_answered: 4"),
    "E210.min_answered_too_high": Template("E210", "min_answered {min_answered} exceeds the {n} items",
                                           "use at most {n}"),
    "E210.min_answered_max_missing": Template("E210", "rule min_answered takes min_answered, not max_missing",
                                              "remove max_missing, or use rule: prorate"),
    "E210.partial_sum": Template("E210", "a sum over a subset of answered items is not comparable between "
                                 "respondents", "use prorate, or method mean"),
    "E210.complete_takes_nothing": Template("E210", "rule complete takes neither max_missing nor min_answered",
                                            "remove them, or use rule: prorate or rule: min_answered"),
    "E210.rounding": Template("E210", "rounding {rounding!r} only applies to prorated scores",
                              "remove rounding, or use rule: prorate"),
    "E211.count_needs_count_if": Template("E211", "scale {scale!r} counts items but has no count_if",
                                          "add count_if: {{op: '>=', value: 2}}"),
    "E211.count_if_unused": Template("E211", "count_if given but scale {scale!r} uses method {method}",
                                     "remove count_if, or use method: count"),
    "E212.table_gap": Template("E212", "conversion table lacks raw scores {missing}{more}",
                               "every raw score the scale can produce needs a row"),
    "E212.table_extra": Template("E212", "conversion table has raw scores outside the raw range: {extra}",
                                 "remove those rows, or check the items' option values and the multiplier"),
    "E212.table_rounding": Template("E212", "a conversion table needs whole raw scores: prorate with rounding "
                                    "half_up", "set missing.rounding: half_up"),
    "E213.cutoff_range": Template("E213", "cut-off {cutoff!r} at {value} is outside the range [{lo}, {hi}]",
                                  "check the published cut-point and the scale's range"),
    "E200.cutoff_twice": Template("E200", "cut-off id {cutoff!r} is repeated in scale {scale!r}",
                                  "one id may have one entry for any sex, or one entry per sex"),
    "E227.range_order": Template("E227", "cut-off {cutoff!r} has the range [{r_lo}, {r_hi}]: the low end must be "
                                 "below the high end", "give the published range low end first (31-33: [31, 33])"),
    "E227.range_outside": Template("E227", "cut-off {cutoff!r} range [{r_lo}, {r_hi}] reaches outside the range "
                                   "[{lo}, {hi}] of scale {scale!r}", "check the published range of cut-points"),
    "E227.value_outside": Template("E227", "cut-off {cutoff!r} chooses {value}, outside its published range "
                                   "[{r_lo}, {r_hi}]", "choose a value within the range (or correct the range)"),
    "E227.range_per_sex": Template("E227", "cut-off {cutoff!r} has a published range and entries per sex",
                                   "a range of cut-points is for one entry (sex: any); give each sex its own id"),
    # bands
    "E226.set_id_missing": Template("E226", "a band set of scale {scale!r} has no id",
                                    "give each of band_sets an id: it names the column <scale>_band_<id>"),
    "E226.set_id_twice": Template("E226", "band set id {set_id!r} is used twice in scale {scale!r}",
                                  "give each band set of a scale its own id"),
    "E226.set_id_reserved": Template("E226", "band set id {set_id!r} is reserved", "choose another id"),
    "E226.sets_without_default": Template("E226", "scale {scale!r} has band_sets but no default bands",
                                          "move the set the scale is normally reported with to bands"),
    "W301.no_bands": Template("W301", "scale {scale!r} has no bands",
                              "fine where none are published (say so in the description)"),
    "E208.min_above_max": Template("E208", "band {label!r} has min {min} > max {max}", "swap min and max"),
    "E224.fractional": Template("E224", "band {label!r} has non-integer bounds on an integer-valued scale",
                                "use the published whole-number cut-points"),
    "E208.first_start": Template("E208", "first band starts at {start}, the range at {lo}",
                                 "the bands must cover the whole score range"),
    "E208.last_end": Template("E208", "last band ends at {end}, the range at {hi}",
                              "the bands must cover the whole score range"),
    "E208.overlap": Template("E208", "band {label!r} starts at {start}, inside {prev!r} ({prev_min}–{prev_max}): "
                             "bands overlap", "list bands in ascending order without overlap"),
    "E208.gap_integer": Template("E208", "gap between {prev!r} (max {prev_max}) and {label!r} (min {start})",
                                 "on an integer scale the next band must start at {next}"),
    "E208.gap": Template("E208", "gap between {prev!r} (max {prev_max}) and {label!r} (min {start})",
                         "bands must be contiguous; scores between two published cut-points belong to the lower "
                         "band"),
    # alerts: critical items and flags
    "E203.critical_item": Template("E203", "critical item refers to unknown item {item!r}",
                                   "name an item id from `items`"),
    "E214.value_shape": Template("E214", "use a list with op 'in' and a single number otherwise",
                                 "e.g. {{op: in, value: [2, 3]}} or {{op: '>=', value: 2}}"),
    "E214.never": Template("E214", "no answer to {item!r} meets the condition, so it never fires",
                           "the item's codes are {codes}"),
    "E214.always": Template("E214", "every answer to {item!r} meets the condition, so it always fires",
                            "narrow the condition to the answers that need the clinician's attention"),
    "E221.one_of": Template("E221", "flag {flag!r} needs exactly one of all_of and any_of",
                            "keep all_of (every condition) or any_of (at least one), not both"),
    "E221.no_conditions": Template("E221", "flag {flag!r} has no conditions", "list at least one condition"),
    "E221.scale_or_item": Template("E221", "a flag condition names exactly one of scale and item",
                                   "write {{scale: <id>, …}} or {{item: <id>, …}}"),
    "E221.unknown_scale": Template("E221", "flag {flag!r} refers to unknown scale {scale!r}",
                                   "name a scale id from `scales`"),
    "E221.unknown_item": Template("E221", "flag {flag!r} refers to unknown item {item!r}",
                                  "name an item id from `items`"),
    "E221.value_shape": Template("E221", "use a list with op 'in' and a single number otherwise",
                                 "e.g. {{op: in, value: [2, 3]}} or {{op: '>=', value: 2}}"),
    # visibility: gates (shown_if) and applicability (applies_if)
    "E203.gate_item": Template("E203", "gate of {item!r} refers to unknown item {gate!r}",
                               "name an item asked before this one"),
    "E215.gate_after": Template("E215", "gate item {gate!r} is not asked before {item!r}",
                                "move the gate item earlier"),
    "E215.nested": Template("E215", "gate item {gate!r} is itself gated; nested gates are not supported",
                            "gate on an item that is always asked"),
    "E216.no_gate": Template("E216", "{item!r} has value_if_not_shown but no shown_if gate",
                             "add shown_if, or remove value_if_not_shown"),
    "E216.not_an_option": Template("E216", "value_if_not_shown {value} is not one of the item's codes {codes}",
                                   "use one of the item's option values"),
    "E216.in_needs_list": Template("E216", "op 'in' needs a list of values", "write value: [a, b]"),
    # gate and applicability values have the type they are compared with (rules/gates.py)
    "E225.gate_list": Template("E225", "the gate of {item!r} uses op {op!r} with a list of values",
                               "give one number, or use op 'in' / 'not_in' with a list"),
    "E225.gate_not_number": Template("E225", "the gate of {item!r} compares the answer to {gate!r} with {value!r}, "
                                     "which is not a number (answers are numeric codes)",
                                     "write the gate item's answer code (a number), e.g. value: 1"),
    "E225.applies_list": Template("E225", "applies_if of {item!r} uses op {op!r} with a list of values",
                                  "give one value, or use op 'in' / 'not_in' with a list"),
    "E225.applies_boolean": Template("E225", "applies_if of {item!r} compares {respondent} with a boolean ({value!r})",
                                     "YAML reads yes/no/true/false/on/off as booleans: quote the text, "
                                     "e.g. value: \"yes\""),
    "E225.applies_not_number": Template("E225", "applies_if of {item!r} orders {respondent} with {op!r} against "
                                        "{value!r}, which is not a number",
                                        "'>', '>=', '<', '<=' compare numbers; compare text with '==', '!=', "
                                        "'in' or 'not_in'"),
    "E225.applies_mixed": Template("E225", "applies_if of {item!r} mixes numbers and text in its values",
                                   "use numbers only (compared as numbers) or text only (compared ignoring case)"),
    "E225.sex_ordered": Template("E225", "applies_if of {item!r} orders sex with {op!r}",
                                 "compare sex with '==', '!=', 'in' or 'not_in'"),
    "E225.sex_unknown": Template("E225", "applies_if of {item!r} compares sex with {value!r}, which is not a "
                                 "recognised sex", "sex-specific items name female or male (f, w, woman / m, man)"),
    "E225.sex_neither": Template("E225", "applies_if of {item!r} compares sex with {value!r}, which is neither "
                                 "female nor male", "sex-specific rules know female and male only"),
    # licence, item text and codes
    "E218.text_not_allowed": Template("E218", "item {item!r} carries text, but the licence is no_item_text",
                                      "replace it with a short descriptor"),
    "E218.descriptor_needed": Template("E218", "item {item!r} needs a descriptor",
                                       "add a short paraphrase so clinicians can tell the items apart"),
    "E218.text_needed": Template("E218", "item {item!r} has no text",
                                 "add the verbatim wording, or set licence.redistribution: no_item_text"),
    "E218.translations_not_allowed": Template("E218", "translations carry item text, which the licence does not "
                                              "allow", "remove the translations"),
    "E218.text_source": Template("E218", "verbatim item text needs its text_source",
                                 "say where the wording was taken from"),
    "E219.loinc": Template("E219", "{code!r} is not a valid LOINC code (format or check digit)",
                           "encode only codes verified on loinc.org"),
    # translations
    "E217.own_language": Template("E217", "translation {lang!r} is the definition's own language",
                                  "remove it, or correct the definition's language"),
    "E217.lacks_item": Template("E217", "translation {lang!r} lacks item {item!r}",
                                "translate every item that has text"),
    "E217.unknown_item": Template("E217", "translation {lang!r} has unknown item {item!r}",
                                  "translate only the items of this definition"),
    "E217.lacks_option": Template("E217", "translation {lang!r} lacks option {value} of {option_set!r}",
                                  "translate every option of the option sets that items with text use"),
    "E217.unknown_option_set": Template("E217", "translation {lang!r} has unknown option set {option_set!r}",
                                        "use the ids under option_sets"),
    "E217.lacks_instructions": Template("E217", "translation {lang!r} lacks the instructions",
                                        "translate the instructions too"),
    # change parameters
    "E220.reliability": Template("E220", "reliability must lie strictly between 0 and 1",
                                 "give the coefficient (e.g. 0.84), not a percentage"),
    "E220.not_positive": Template("E220", "{name} must be positive", "check the published value"),
    "E220.outside_range": Template("E220", "{name} {value} is outside the range",
                                   "it must lie within the scale's range [{lo}, {hi}]"),
    "E228.empty_stratum": Template("E228", "change parameters for {sex} give neither reliability nor sd",
                                   "give the published values for that stratum, or remove it"),
    "E228.stratum_without_general": Template("E228", "{name} is given for {sex} but not for the whole sample",
                                             "give the general {name} too: respondents of unknown sex use it"),
    # drafts (psyscore fhir import): TODO markers left to complete
    "E229.todo": Template("E229", "draft: TODO {todo}",
                          "complete it from the instrument's published source, then delete the TODO line"),
    "E229.placeholder": Template("E229", "draft: placeholder 'TODO: {todo}'",
                                 "replace the placeholder with the real value from the published source"),
    # a rule that failed
    "E900.rule_failed": Template("E900", "internal error: rule {rule} failed ({error}: {detail})", _HINT_INTERNAL),
})


def issue_text(key: str, hint: str | None = None, /, **fields: object) -> tuple[str, str, str | None]:
    """(code, message, hint) of catalogue entry ``key`` with ``fields`` filled in (see :meth:`Template.render`)."""
    entry = template(key)
    message, hint = entry.render(hint, **fields)
    return entry.code, message, hint


def template(key: str) -> Template:
    """The catalogue entry ``key`` (KeyError naming the key when it is not catalogued)."""
    try:
        return MESSAGES[key]
    except KeyError:
        raise KeyError(f"message key {key!r} is not in scoring.definitions.issues.MESSAGES") from None


def codes_table() -> str:
    """The catalogue as a Markdown table: code, severity, title, then each message and hint template."""
    rows = ["| code | severity | title | messages (template — hint) |", "|---|---|---|---|"]
    by_code: dict[str, list[Template]] = {}
    for entry in MESSAGES.values():
        by_code.setdefault(entry.code, []).append(entry)
    for code, (severity, title) in CATALOG.items():
        texts = "<br>".join(f"`{t.message}`" + (f" — {t.hint}" if t.hint else "") for t in by_code.get(code, []))
        rows.append(f"| {code} | {severity} | {title} | {texts.replace('|', '&#124;')} |")
    return "\n".join(rows)


def codes_markdown() -> str:
    """The page ``docs/issue-codes.md``: what the codes are, then :func:`codes_table`."""
    return (
        "# Issue codes\n\n"
        "Every problem `psyscore validate` and `psyscore norms --validate` report carries one of these codes.\n"
        "The message and hint templates of the definition checks (E1xx, E2xx, W3xx, E900) come from\n"
        "`scoring.definitions.issues.MESSAGES`; the norm-table checks (E4xx) and the file-reading checks\n"
        "(E100-E105) write their messages where they detect them. `{name!r}` is the name quoted.\n\n"
        "Generated: `psyscore validate --codes --markdown > docs/issue-codes.md` (a test keeps it in sync).\n\n"
        + codes_table() + "\n"
    )
