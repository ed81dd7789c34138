"""Definitions → a REDCap data dictionary (the CSV a REDCap project is built from).

The file has REDCap's 18 columns (:data:`HEADERS`, spelled as REDCap writes them). The first row is the
record identifier (``record_id``, a text field on the first form); then, per definition, one form named by the
instrument id with

* one ``radio`` field per item, named by :func:`field_name` of the item id, choices ``code, label | …`` (the
  answer codes as stored and scored; reverse keying is applied by the calc field, never by the codes);
* the instructions as the section header of the first item and the copyright and licence in the field note of
  the first item (``no_item_text`` instruments: no wording at all — the labels are the psyscore descriptors or
  the item code, as in the FHIR Questionnaire — and no instructions);
* a gate (``shown_if``) as branching logic on the gated item, listing the answer codes that open it:
  ``[audit_1] = '1' or [audit_1] = '2' …``. REDCap hides the item until the gate is answered; the engine would
  count an answer given before the gate is answered, but REDCap cannot record one, so the scores agree;
* one ``calc`` field per scale, named ``<instrument id>_<scale id>`` (shortened by :func:`field_name` when
  needed), whose equation reproduces the engine's rule exactly (:func:`calc_equation`), or, where REDCap's
  calc syntax cannot, no equation: a ``descriptive`` field whose note says why (psyscore scores the export).

Field names: REDCap wants lowercase letters, digits and underscores, a letter first, and at most 26 characters
(longer names are accepted with a warning and break some exports); ``___`` is how REDCap names the export
columns of checkbox options. :func:`field_name` keeps an item id that satisfies these rules and otherwise
shortens it deterministically: lowercase, other characters to ``_``, runs of underscores to one, no trailing
underscore, a leading ``f_`` when it does not start with a letter, and when it is still longer than 26, its first
19 characters plus ``_`` plus the first 6 hex digits of the SHA-1 of the original name (26 characters).
Every shipped item id is kept as it is; ``mini_ipip_conscientiousness`` is the one scale field shortened.

Translations: REDCap has no standard column for other languages (its Multi-Language Management module keeps
them in the project, outside the data dictionary), so the dictionary is written in one language: the
definition's own or a translation chosen with ``language``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from scoring.definitions.library import Definition
from scoring.definitions.schema import Instrument, Item, Scale
from scoring.engine.files import neutralise
from scoring.errors import PsyscoreError

HEADERS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
"""REDCap's 18 data dictionary columns, in order and spelled exactly as REDCap writes them."""

MAX_NAME = 26
"""REDCap's recommended maximum length of a field (variable) name."""

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
RECORD_ID = "record_id"

_OPS = MappingProxyType({"==": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="})


class RedcapError(PsyscoreError):
    """A definition cannot be written as, or an export cannot be read against, a REDCap project."""


def valid_field_name(name: str) -> bool:
    """REDCap's rules for a field name (see the module docstring)."""
    return (bool(NAME_RE.match(name)) and len(name) <= MAX_NAME and not name.endswith("_")
            and "___" not in name)


def field_name(name: str) -> str:
    """``name`` if it is a valid REDCap field name, else its deterministic shortening (module docstring).

    >>> field_name("phq9_1"), field_name("mini_ipip_conscientiousness")
    ('phq9_1', 'mini_ipip_conscient_444390')
    """
    if valid_field_name(name):
        return name
    out = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", name.lower())).strip("_")
    if not out[:1].isalpha():
        out = "f_" + out
    if len(out) > MAX_NAME:
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:6]
        out = out[:MAX_NAME - 7].rstrip("_") + "_" + digest
    return out


def item_fields(instrument: Instrument) -> dict[str, str]:
    """Item id → REDCap field name."""
    return {item.id: field_name(item.id) for item in instrument.items}


def scale_fields(instrument: Instrument) -> dict[str, str]:
    """Scale id → REDCap calc field name (``<instrument id>_<scale id>``, shortened when needed)."""
    return {scale.id: field_name(f"{instrument.id}_{scale.id}") for scale in instrument.scales}


def option_code(value: float, *, where: str) -> str:
    """An answer code as REDCap writes it (whole numbers only: REDCap's choice codes are text matched exactly,
    and a decimal code would not round-trip)."""
    f = float(value)
    if not f.is_integer():
        raise RedcapError(f"{where}: answer code {value} is not a whole number; REDCap choice codes are written "
                          "as text and psyscore writes whole-number codes only")
    return str(int(f))


@dataclass(frozen=True)
class Calc:
    """A REDCap calc equation reproducing a scale's score, or why there is none."""

    equation: str | None
    reason: str | None = None


def _num(value: object) -> str:
    f = float(value)  # type: ignore[arg-type]
    return str(int(f)) if f.is_integer() else repr(f)


def _opening_codes(instrument: Instrument, item: Item) -> tuple[list[str], list[str]]:
    """The gate item's answer codes that open ``item``'s gate, and those that close it (the engine's compare)."""
    from scoring.definitions.plan import compare  # the engine's comparison, so form and engine agree

    gate = item.shown_if
    if gate is None:
        return [], []
    gate_item = next(i for i in instrument.items if i.id == gate.item)
    oset = next(s for s in instrument.option_sets if s.id == gate_item.options)
    values = [o.value for o in oset.options]
    holds = compare(np.array(values, dtype=float), gate.op, gate.value)
    where = f"{instrument.id} {gate_item.id}"
    opening = [option_code(v, where=where) for v, ok in zip(values, holds, strict=True) if ok]
    closing = [option_code(v, where=where) for v, ok in zip(values, holds, strict=True) if not ok]
    return opening, closing


def _any_of(field: str, codes: Sequence[str]) -> str:
    return " or ".join(f"[{field}] = '{c}'" for c in codes)


def branching_logic(instrument: Instrument, item: Item) -> str:
    """REDCap branching logic showing ``item`` only when its gate is open ('' for an item without a gate)."""
    if item.shown_if is None:
        return ""
    opening, _ = _opening_codes(instrument, item)
    if not opening:
        raise RedcapError(f"{instrument.id} {item.id}: no answer to {item.shown_if.item} opens its gate")
    return _any_of(field_name(item.shown_if.item), opening)


def _item_terms(instrument: Instrument, item: Item) -> tuple[str, str, str | None] | str:
    """(answered, value, closed-gate test) of one item in REDCap calc syntax, or why it cannot be written.

    ``answered`` is 1 when the item counts as answered (an answer, or its gate closed with a not-shown value),
    ``value`` its score value after reverse keying (0 when unanswered, so sums stay defined). A missing-data code
    is unanswered, as in the engine: ``isblankormissingcode()`` is REDCap's test for blank or a missing-data code.
    """
    if item.applies_if is not None:
        return (f"{item.id} applies only to some respondents ({item.applies_if.respondent}), which a REDCap "
                "calculation cannot see")
    f = field_name(item.id)
    blank = f"isblankormissingcode([{f}])"
    opts = next(s for s in instrument.option_sets if s.id == item.options).options
    lo, hi = min(o.value for o in opts), max(o.value for o in opts)
    for v in (lo, hi):
        if not float(v).is_integer():
            return f"{item.id} has decimal answer codes"
    keyed = f"({_num(lo + hi)} - [{f}])" if item.reverse else f"[{f}]"
    answered = f"if({blank}, 0, 1)"
    value = f"if({blank}, 0, {keyed})"
    if item.shown_if is None:
        return answered, value, None
    if item.value_if_not_shown is None:
        return f"{item.id} leaves the scale when its gate is closed (the number of items then varies)"
    if not float(item.value_if_not_shown).is_integer():
        return f"{item.id} scores a decimal when its gate is closed"
    _, closing = _opening_codes(instrument, item)
    if not closing:
        return answered, value, None
    closed = f"({_any_of(field_name(item.shown_if.item), closing)})"
    return (f"if({closed}, 1, {answered})", f"if({closed}, {_num(item.value_if_not_shown)}, {value})", closed)


def _whole(x: object) -> bool:
    return float(x).is_integer()  # type: ignore[arg-type]


def calc_equation(instrument: Instrument, scale: Scale) -> Calc:
    """The REDCap calc equation of ``scale``'s score, exactly the engine's rule, or the reason there is none.

    Written: sums, counts and maxima of whole-number item values with whole-number weights and multiplier,
    under the ``complete`` rule (blank unless every item is answered), ``min_answered`` for sums and counts
    (the sum of the answered items once enough are answered), and ``prorate`` with half-up rounding to a whole
    number (``rounddown(total * n / answered + 0.5, 0)``, the engine's order of operations; the scores are never
    negative there). Gates with a not-shown value score that value when the gate is closed. Not written (reason
    returned): a mean, prorating without rounding or to decimals, a conversion table, respondent applicability,
    an item that leaves the scale when its gate is closed, decimal codes, weights or multiplier.
    """
    if scale.transform is not None:
        return Calc(None, "the score is read from a published conversion table")
    if scale.method == "mean":
        return Calc(None, "the score is a mean over the answered items, a decimal that REDCap would store with "
                          "its own precision")
    rule = scale.missing.rule
    if rule == "prorate" and (scale.missing.rounding != "half_up" or scale.missing.decimals != 0
                              or scale.method != "sum"):
        return Calc(None, "missing answers are prorated without rounding to a whole number")
    if rule == "min_answered" and scale.method not in ("sum", "count"):
        return Calc(None, f"a {scale.method} over the answered items cannot be written exactly")
    if not _whole(scale.multiplier) or not all(_whole(w) for w in scale.weights.values()):
        return Calc(None, "the weights or the multiplier are not whole numbers")
    items = {i.id: i for i in instrument.items}
    answered: list[str] = []
    values: list[str] = []
    closed: list[str | None] = []
    for item_id in scale.items:
        terms = _item_terms(instrument, items[item_id])
        if isinstance(terms, str):
            return Calc(None, terms)
        answered.append(terms[0])
        values.append(terms[1])
        closed.append(terms[2])
    weights = [scale.weights.get(i, 1) for i in scale.items]
    weighted = [v if w == 1 else f"{v} * {_num(w)}" for v, w in zip(values, weights, strict=True)]
    n = len(values)
    count = f"({' + '.join(answered)})"
    mult = "" if scale.multiplier == 1 else f" * {_num(scale.multiplier)}"
    if rule == "prorate":
        for item_id in scale.items:
            item = items[item_id]
            opts = next(s for s in instrument.option_sets if s.id == item.options).options
            if min(o.value for o in opts) < 0 or weights[scale.items.index(item_id)] < 0:
                return Calc(None, "prorating a sum that can be negative (REDCap's rounddown is not the engine's "
                                  "half-up rounding there)")
    if scale.method == "count":
        if scale.count_if is None:
            return Calc(None, "a count scale without a counting rule")
        op = _OPS[scale.count_if.op]
        hits = []
        for item_id, v, a in zip(scale.items, values, answered, strict=True):
            threshold = scale.count_if.per_item.get(item_id, scale.count_if.value)
            hits.append(f"if({a} = 1 and {v} {op} {_num(threshold)}, 1, 0)")
        core = f"({' + '.join(hits)})"
    elif scale.method == "max":
        core = f"max({', '.join(weighted)})"
    else:
        core = f"({' + '.join(weighted)})"
    if rule == "complete":
        equation = f"if({count} = {n}, {core}{mult}, '')"
    elif rule == "min_answered":
        equation = f"if({count} >= {scale.missing.min_answered or 1}, {core}{mult}, '')"
    else:
        most = scale.missing.max_missing or 0
        equation = (f"if({count} = {n}, {core}{mult}, if({count} > 0 and {count} >= {n - most}, "
                    f"rounddown({core} * {n} / {count} + 0.5, 0){mult}, ''))")
    return Calc(equation)


def _licence_note(instrument: Instrument) -> str:
    lic = instrument.licence
    note = f"{instrument.copyright.strip()} Licence ({lic.redistribution}): {lic.statement.strip()}"
    return note + (f" {lic.url}" if lic.url else "")


def _texts(instrument: Instrument, language: str | None) -> tuple[dict[str, str], dict[str, dict[int, str]],
                                                                    str | None]:
    """Item wording, option labels by option set and instructions in ``language`` (the definition's by default)."""
    if language is None or language == instrument.language:
        return ({i.id: i.text for i in instrument.items if i.text}, {}, instrument.instructions)
    translation = instrument.translations.get(language)
    if translation is None:
        known = ", ".join(sorted({instrument.language, *instrument.translations}))
        raise RedcapError(f"{instrument.id} {instrument.version} has no {language!r} translation (languages: "
                          f"{known})")
    missing = [i.id for i in instrument.items if i.text and i.id not in translation.items]
    if missing:
        raise RedcapError(f"{instrument.id} {language!r} translation lacks the wording of {', '.join(missing)}")
    labels = {k: dict(v) for k, v in translation.option_sets.items()}
    return dict(translation.items), labels, translation.instructions


def _label(text: str) -> str:
    """One line: a REDCap label or choice label holds no line break."""
    return " ".join(text.split())


def definition_rows(definition: Definition, *, language: str | None = None) -> list[dict[str, str]]:
    """The dictionary rows of one definition's form (without the record identifier row)."""
    inst = definition.instrument
    no_text = inst.licence.redistribution == "no_item_text"
    wording, translated_labels, instructions = _texts(inst, language)
    fields = item_fields(inst)
    sets = {s.id: s for s in inst.option_sets}
    form = field_name(inst.id)
    rows: list[dict[str, str]] = []
    tag = f"psyscore {inst.id} {inst.version} ({definition.hash[:12]})"
    for k, item in enumerate(inst.items):
        oset = sets[item.options]
        labels = translated_labels.get(oset.id, {})
        choices = []
        for option in oset.options:
            code = option_code(option.value, where=f"{inst.id} {item.id}")
            label = labels.get(int(option.value), option.label)
            if "|" in label:
                raise RedcapError(f"{inst.id} option set {oset.id}: label {label!r} holds '|', REDCap's choice "
                                  "separator")
            choices.append(f"{code}, {_label(label)}")
        label = (item.descriptor or item.id) if no_text else (wording.get(item.id) or item.descriptor or item.id)
        notes = []
        if k == 0:
            notes.append(_licence_note(inst))
            if no_text:
                notes.append("Item wording is not included (licence: no_item_text): the labels are psyscore's "
                             "short descriptors; administer from the rights holder's form.")
        if item.applies_if is not None:
            cond = item.applies_if
            notes.append(f"Applies only when {cond.respondent} {cond.op} {cond.value}.")
        if not item.scored:
            notes.append("Not scored.")
        rows.append({
            "Variable / Field Name": fields[item.id],
            "Form Name": form,
            "Section Header": _label(instructions) if k == 0 and instructions and not no_text else "",
            "Field Type": "radio",
            "Field Label": _label(label),
            "Choices, Calculations, OR Slider Labels": " | ".join(choices),
            "Field Note": " ".join(notes),
            "Branching Logic (Show field only if...)": branching_logic(inst, item),
            "Field Annotation": f"{tag} item {item.id}",
        })
    for scale, name in zip(inst.scales, scale_fields(inst).values(), strict=True):
        calc = calc_equation(inst, scale)
        lo, hi = scale.range
        if calc.equation is not None:
            rows.append({
                "Variable / Field Name": name, "Form Name": form, "Field Type": "calc",
                "Field Label": _label(f"{scale.name} ({inst.abbreviation}, {_num(lo)}–{_num(hi)})"),
                "Choices, Calculations, OR Slider Labels": calc.equation,
                "Field Note": "Calculated with psyscore's scoring rule for this scale (missing answers as the "
                              "definition says); blank when psyscore gives no score.",
                "Field Annotation": f"{tag} scale {scale.id}",
            })
        else:
            rows.append({
                "Variable / Field Name": name, "Form Name": form, "Field Type": "descriptive",
                "Field Label": _label(f"{scale.name} ({inst.abbreviation}): not calculated in REDCap"),
                "Field Note": f"No REDCap calculation: {calc.reason}. Score the export with psyscore "
                              f"(psyscore score {inst.id} export.csv --redcap).",
                "Field Annotation": f"{tag} scale {scale.id}",
            })
    # text cells through the project's formula guard (a label REDCap users open in a spreadsheet could run as a
    # formula); the choices, equations and branching logic are psyscore's own syntax and start with a code or '['
    texts = ("Section Header", "Field Label", "Field Note", "Field Annotation")
    return [{h: neutralise(row.get(h, "")) if h in texts else row.get(h, "") for h in HEADERS} for row in rows]


def data_dictionary(definitions: Iterable[Definition], *, language: str | None = None,
                    record_id: str = RECORD_ID) -> list[dict[str, str]]:
    """Every row of a data dictionary for ``definitions`` (one form each, in the order given), the record
    identifier first. Field names are checked unique across the forms (a clash is an error naming both)."""
    defs = list(definitions)
    if not defs:
        raise RedcapError("no definition given")
    if not valid_field_name(record_id):
        raise RedcapError(f"record identifier {record_id!r} is not a valid REDCap field name (lowercase letters, "
                          f"digits and underscores, a letter first, at most {MAX_NAME} characters)")
    ids = [d.id for d in defs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise RedcapError(f"instrument {', '.join(dup)} given twice; a REDCap project holds one form per instrument")
    first_form = field_name(defs[0].id)
    rows = [{h: "" for h in HEADERS} | {"Variable / Field Name": record_id, "Form Name": first_form,
                                        "Field Type": "text", "Field Label": "Record ID"}]
    owner = {record_id: "the record identifier"}
    for d in defs:
        for row in definition_rows(d, language=language):
            name = row["Variable / Field Name"]
            if name in owner:
                raise RedcapError(f"field name {name!r} of {d.id} is already used by {owner[name]}; a REDCap "
                                  "project needs unique field names")
            owner[name] = d.id
            rows.append(row)
    return rows


def write_dictionary(rows: Sequence[dict[str, str]], path: Path | None = None) -> str:
    """The rows as REDCap's CSV (UTF-8, every field quoted as REDCap writes it); written to ``path`` if given."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(HEADERS), quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    text = buf.getvalue()
    if path is not None:
        path.write_text(text, encoding="utf-8")
    return text
