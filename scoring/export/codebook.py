"""Variables of an export and the codebook that documents them, generated from the definitions.

Every written column is a :class:`Variable`: its name (valid in SPSS, unique ignoring case), label, item
text where the licence allows it (``licence.redistribution != "no_item_text"``; otherwise our descriptor),
value labels, missing codes and, for scores, the scoring rule (method, items, reverse keys, weights,
missing-data rule, multiplier, conversion table, range, bands with their source). The codebook is one row
per variable, written as CSV, Markdown and a sheet of the XLSX workbook.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypedDict

import pandas as pd

from scoring.definitions.library import Definition
from scoring.engine.reasons import REASON_CODES
from scoring.export.anonymizer import SEX_CODES, SUPPRESSED, AgeBands, neutralise

if TYPE_CHECKING:
    from scoring.definitions.schema import FlagCondition, Scale

#: SPSS reserved words cannot be variable names
SPSS_RESERVED = frozenset({"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with"})
SPSS_MAX_NAME = 64
_VALID_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

MISSING_EMPTY = "empty: not answered, not scorable, not administered or not recorded"
MISSING_SUPPRESSED = {SUPPRESSED: "withheld by k-anonymity suppression (disclosure control)"}
YES_NO: dict[float, str] = {0: "No", 1: "Yes"}  # value labels are keyed by float (Variable.value_labels)

CODEBOOK_COLUMNS: tuple[str, ...] = (
    "variable", "label", "kind", "type", "measure", "instrument", "instrument_version", "instrument_hash",
    "occasion", "source_id", "text", "text_kind", "value_labels", "missing_codes", "method", "items",
    "reverse_keyed", "weights", "missing_rule", "multiplier", "transform", "range", "bands", "bands_source",
    "rule", "source",
)


@dataclass(frozen=True)
class Variable:
    """One exported column and everything the codebook says about it."""

    name: str
    label: str
    kind: str  # research_id | time | demographic | instrument | item | score | band | indicator
    type: str  # string | integer | float
    measure: str = "nominal"  # nominal | ordinal | scale (SPSS measurement level)
    instrument: str = ""
    versions: tuple[str, ...] = ()
    hashes: tuple[str, ...] = ()
    occasion: int | None = None
    source_id: str = ""  # item, scale, cut-off or flag id in the definition
    text: str = ""
    text_kind: str = ""  # "item text" | "descriptor"
    value_labels: dict[float, str] = field(default_factory=dict)
    missing_codes: dict[int, str] = field(default_factory=dict)
    rule: dict[str, str] = field(default_factory=dict)

    def for_occasion(self, name: str, occasion: int) -> Variable:
        return replace(self, name=name, occasion=occasion, label=f"{self.label} (occasion {occasion})")

    def row(self) -> dict[str, object]:
        values = "; ".join(f"{_num(v)} = {lab}" for v, lab in self.value_labels.items())
        missing = "; ".join([MISSING_EMPTY, *(f"{c} = {lab}" for c, lab in self.missing_codes.items())])
        out: dict[str, object] = {
            "variable": self.name, "label": self.label, "kind": self.kind, "type": self.type,
            "measure": self.measure, "instrument": self.instrument,
            "instrument_version": ", ".join(self.versions), "instrument_hash": ", ".join(self.hashes),
            "occasion": self.occasion, "source_id": self.source_id, "text": self.text,
            "text_kind": self.text_kind, "value_labels": values, "missing_codes": missing,
        }
        for key in CODEBOOK_COLUMNS[len(out):]:
            out[key] = self.rule.get(key, "")
        return out


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


class Namer:
    """Variable names valid in SPSS (≤ 64 characters, a letter first, letters, digits and ``_``, no
    reserved word) and unique ignoring case; a name that needs changing keeps a readable stem plus a short
    hash, so the same definitions always give the same names."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def __call__(self, wanted: str) -> str:
        name = re.sub(r"[^A-Za-z0-9_]", "_", wanted)
        if not name or not name[0].isalpha():
            name = f"v_{name}"
        if name.lower() in SPSS_RESERVED:
            name = f"{name}_"
        if len(name) > SPSS_MAX_NAME:
            digest = hashlib.sha256(wanted.encode("utf-8")).hexdigest()[:8]
            name = f"{name[:SPSS_MAX_NAME - 9]}_{digest}"
        base, n = name, 2
        while name.lower() in self._taken:
            suffix = f"_{n}"
            name = f"{base[:SPSS_MAX_NAME - len(suffix)]}{suffix}"
            n += 1
        self._taken.add(name.lower())
        return name


def valid_spss_name(name: str) -> bool:
    return bool(_VALID_NAME.match(name)) and len(name) <= SPSS_MAX_NAME and name.lower() not in SPSS_RESERVED


# --- fixed variables ------------------------------------------------------------------------------------


def research_id_variable(profile: str) -> Variable:
    how = ("random surrogate drawn for this export, not derived from any identifier (HIPAA 45 CFR "
           "164.514(c)); it does not link to other exports" if profile == "safe_harbor" else
           "HMAC-SHA256 pseudonym of the internal patient id under the study key (GDPR Art. 4(5)); the same "
           "patient has the same id in every export of this study")
    return Variable("research_id", f"Research id: {how}", "research_id", "string")


def time_variables(dates: str, layout: str) -> list[Variable]:
    """The time variables of a long export (a wide export repeats them per instrument and occasion)."""
    out = [Variable("occasion", "Occasion: order of this administration among the patient's administrations "
                    "of the same instrument in this export (1 = first)", "time", "integer", "ordinal")] \
        if layout == "long" else []
    if dates == "year":
        out.append(Variable("year", "Year of the administration", "time", "integer", "scale",
                            missing_codes=dict(MISSING_SUPPRESSED)))
    elif dates == "relative":
        out.append(Variable("baseline_year", "Year of the patient's first administration in this export", "time",
                            "integer", "scale", missing_codes=dict(MISSING_SUPPRESSED)))
        if layout == "long":
            out.append(Variable("days_since_first", "Days since the patient's first administration in this "
                                "export (0 = that day); derived from the administration dates, so written under "
                                "the pseudonymised profile only, never under Safe Harbor (as HIPAA data it needs "
                                "an Expert Determination or a data use agreement)", "time", "integer", "scale"))
    return out


def demographic_variables(demographics: Sequence[str], bands: AgeBands) -> list[Variable]:
    out = []
    for d in demographics:
        if d == "sex":
            out.append(Variable("sex", "Sex as recorded (1 female, 2 male, 3 other)", "demographic", "integer",
                                "nominal", value_labels={v: k for k, v in SEX_CODES.items()},
                                missing_codes=dict(MISSING_SUPPRESSED)))
        elif d == "age_band":
            out.append(Variable("age_band", "Age band at the patient's first administration in this export "
                                "(ages over 89 as 90+)", "demographic", "integer", "ordinal",
                                value_labels={k: lab for k, lab in bands.value_labels().items()},
                                missing_codes=dict(MISSING_SUPPRESSED)))
    return out


def instrument_variables(layout: str) -> list[Variable]:
    if layout != "long":
        return []
    return [Variable("instrument_id", "Instrument id of this administration", "instrument", "string"),
            Variable("instrument_version", "Version of the instrument definition that scored it "
                     "(the codebook gives each version's content hash)", "instrument", "string")]


# --- instrument blocks ----------------------------------------------------------------------------------


class InstrumentFields(TypedDict):
    """The fields every variable of one instrument shares (passed to :class:`Variable` as ``**fields``)."""

    instrument: str
    versions: tuple[str, ...]
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """The variables of one instrument and where each comes from in the score output."""

    instrument: str
    abbreviation: str
    variables: tuple[Variable, ...]
    #: variable name -> (origin, key): ("item", item id) | ("score", scale id) | ("band", scale id) |
    #: ("bool", score column) | ("count", score column) | ("reason_code", scale id)
    origin: dict[str, tuple[str, str]]
    #: variable name -> numpy dtype the column is stored in (integers are nullable)
    storage: dict[str, str]


def _join(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values)


def instrument_block(definitions: Sequence[Definition], namer: Namer) -> Block:
    """Variables for one instrument; ``definitions`` are its versions in the export, oldest first.

    Rules and texts come from the newest version; the versions and hashes of all are listed.
    """
    latest = definitions[-1]
    ins = latest.instrument
    iid = ins.id
    versions = tuple(d.version for d in definitions)
    hashes = tuple(d.hash for d in definitions)
    abbr = ins.abbreviation
    text_allowed = ins.licence.redistribution != "no_item_text"
    sets = {s.id: s for s in ins.option_sets}
    items = {it.id: it for it in ins.items}
    variables: list[Variable] = []
    origin: dict[str, tuple[str, str]] = {}
    storage: dict[str, str] = {}
    common: InstrumentFields = {"instrument": iid, "versions": versions, "hashes": hashes}

    def add(var: Variable, how: tuple[str, str], dtype: str = "int8") -> None:
        variables.append(var)
        origin[var.name] = how
        storage[var.name] = "float64" if var.type == "float" else dtype

    seen_items: list[str] = []
    for d in definitions[::-1]:  # newest first decides the order; older-only items follow
        for it in d.instrument.items:
            if it.id not in seen_items:
                seen_items.append(it.id)
    newest_items = [it.id for it in ins.items]
    seen_items = newest_items + [i for i in seen_items if i not in newest_items]
    for item_id in seen_items:
        it = items.get(item_id) or next(i for d in definitions for i in d.instrument.items if i.id == item_id)
        opts = (sets.get(it.options) or next(s for d in definitions for s in d.instrument.option_sets
                                             if s.id == it.options)).options
        integral = all(float(o.value).is_integer() for o in opts)
        text = it.text if (text_allowed and it.text) else (it.descriptor or "")
        kind = "item text" if (text_allowed and it.text) else ("descriptor" if it.descriptor else "")
        position = seen_items.index(item_id) + 1
        name = namer(item_id if item_id.startswith(f"{iid}_") else f"{iid}_{item_id}")
        rule = {"reverse_keyed": "yes" if it.reverse else "no"}
        if not it.scored:
            rule["rule"] = "asked, not part of any scale"
        add(Variable(name, f"{abbr} item {position}: {text}" if text else f"{abbr} item {position}", "item",
                     "integer" if integral else "float", "ordinal", source_id=item_id, text=text, text_kind=kind,
                     value_labels={o.value: o.label for o in opts}, rule=rule, **common), ("item", item_id),
            _int_storage([o.value for o in opts]))

    for s in ins.scales:
        reverse = [i for i in s.items if items[i].reverse]
        rule = {
            "method": s.method,
            "items": _join(s.items),
            "reverse_keyed": _join(reverse) if reverse else "none",
            "weights": _join(f"{k}={_num(v)}" for k, v in s.weights.items()) if s.weights else "1 for every item",
            "missing_rule": _missing_text(s),
            "multiplier": _num(s.multiplier),
            "transform": f"conversion table ({len(s.transform.table)} entries); source: {s.transform.source}"
            if s.transform else "",
            "range": f"{_num(s.range[0])}–{_num(s.range[1])}",
            "bands": "; ".join(f"{_num(b.min)}–{_num(b.max)} {b.label}" for b in s.bands.ranges) if s.bands else "",
            "bands_source": s.bands.source if s.bands else "",
            "rule": f"higher is {s.higher_is}" + (f"; count of items {s.count_if.op} {_num(s.count_if.value)}"
                                                  if s.count_if else ""),
        }
        base = f"{abbr} {s.name}"
        score_name = namer(f"{iid}_{s.id}")
        add(Variable(score_name, f"{base} ({s.id}): score", "score", "float", "scale", source_id=s.id,
                     text=s.description or "", rule=rule, **common), ("score", s.id))
        if s.bands:
            add(Variable(namer(f"{iid}_{s.id}_band"), f"{base}: band", "band", "integer", "ordinal",
                         source_id=s.id, value_labels={k + 1: b.label for k, b in enumerate(s.bands.ranges)},
                         rule={"bands": rule["bands"], "bands_source": rule["bands_source"],
                               "rule": "band with the largest lower bound not above the score"}, **common),
                ("band", s.id))
        add(Variable(namer(f"{iid}_{s.id}_valid"), f"{base}: scorable under its missing-data rule", "indicator",
                     "integer", "nominal", source_id=s.id, value_labels=dict(YES_NO),
                     rule={"missing_rule": rule["missing_rule"]}, **common), ("bool", f"{s.id}_valid"))
        add(Variable(namer(f"{iid}_{s.id}_prorated"), f"{base}: missing answers were prorated", "indicator",
                     "integer", "nominal", source_id=s.id, value_labels=dict(YES_NO),
                     rule={"missing_rule": rule["missing_rule"]}, **common), ("bool", f"{s.id}_prorated"))
        add(Variable(namer(f"{iid}_{s.id}_n_answered"), f"{base}: items answered", "indicator", "integer", "scale",
                     source_id=s.id, **common), ("count", f"{s.id}_n_answered"), "int16")
        add(Variable(namer(f"{iid}_{s.id}_reason_code"), f"{base}: why not scored (reason code)", "indicator",
                     "integer", "nominal", source_id=s.id,
                     value_labels={k + 1: f"{code}: {meaning}" for k, (code, meaning) in enumerate(REASON_CODES)},
                     rule={"missing_rule": rule["missing_rule"],
                           "rule": "empty when the scale is scored; the stable code of <scale>_reason_code "
                                   "(scoring.engine.reasons.REASON_CODES)"}, **common),
            ("reason_code", s.id))
        for cut_id in dict.fromkeys(c.id for c in s.cutoffs):
            cuts = [c for c in s.cutoffs if c.id == cut_id]
            text = "; ".join(f"{s.id} {c.op} {_num(c.value)}" + (f" ({c.sex})" if c.sex != "any" else "")
                             + ("" if c.range is None else
                                f" (published range {_num(c.range[0])}-{_num(c.range[1])}; {_num(c.value)} is the "
                                "definition's choice, a deployment may choose another within the range and the "
                                "value used is stored with each result)")
                             for c in cuts)
            add(Variable(namer(f"{iid}_{s.id}_{cut_id}"), f"{base}: {cuts[0].label}", "indicator", "integer",
                         "nominal", source_id=f"{s.id}.{cut_id}", value_labels=dict(YES_NO),
                         rule={"rule": text, "source": "; ".join(dict.fromkeys(c.source for c in cuts))}, **common),
                ("bool", f"{s.id}_{cut_id}"))
    for flag in ins.flags:
        conds: Sequence[FlagCondition] = flag.all_of or flag.any_of or []
        joiner = " and " if flag.all_of else " or "
        text = joiner.join(f"{c.scale or c.item} {c.op} {list(c.value) if isinstance(c.value, tuple) else c.value}"
                           for c in conds)  # a list value reads as written: [1, 2]
        add(Variable(namer(f"{iid}_{flag.id}"), f"{abbr}: {flag.label}", "indicator", "integer", "nominal",
                     source_id=flag.id, value_labels=dict(YES_NO), rule={"rule": text, "source": flag.source},
                     **common), ("bool", flag.id))
    return Block(iid, abbr, tuple(variables), origin, storage)


def _int_storage(values: Sequence[float]) -> str:
    lo, hi = min(values), max(values)
    for dtype, (a, b) in (("int8", (-128, 127)), ("int16", (-32768, 32767))):
        if a <= lo and hi <= b:
            return dtype
    return "int32"


def _missing_text(s: Scale) -> str:
    m = s.missing
    if m.rule == "complete":
        text = "complete: every applicable item answered"
    elif m.rule == "prorate":
        rounding = (f", rounded half-up to {m.decimals} decimal(s)" if m.rounding == "half_up" else ", not rounded")
        text = (f"prorate: at most {m.max_missing} missing; sum × applicable items ÷ answered items{rounding}")
    else:
        text = f"min_answered: at least {m.min_answered} answered, no scaling"
    return text + (f"; source: {m.source}" if m.source else "")


# --- rendering ------------------------------------------------------------------------------------------


def codebook_frame(variables: Sequence[Variable]) -> pd.DataFrame:
    """One row per variable, text neutralised against formula injection."""
    frame = pd.DataFrame([v.row() for v in variables], columns=list(CODEBOOK_COLUMNS))
    frame["occasion"] = pd.array(frame["occasion"].tolist(), dtype="Int64")
    for col in frame.columns:
        if col != "occasion":
            frame[col] = frame[col].astype(object).map(lambda x: neutralise(str(x)) if isinstance(x, str) else x)
    return frame


def instruments_table(definitions: Sequence[Definition]) -> list[dict[str, str]]:
    out = []
    for d in definitions:
        ins = d.instrument
        out.append({"id": ins.id, "version": ins.version, "hash": d.hash, "name": ins.name,
                    "abbreviation": ins.abbreviation, "licence": ins.licence.redistribution,
                    "copyright": ins.copyright.strip(), "citations": "; ".join(c.strip() for c in ins.citations)})
    return out


def _md(value: object) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _filter_text(key: str, value: object) -> str:
    if value is None:
        return "all" if key == "instruments" else "—"
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def codebook_markdown(codebook: pd.DataFrame, definitions: Sequence[Definition], summary: dict[str, object]) -> str:
    """The codebook as Markdown: the export's settings, the instruments (licence, citation), the variables."""
    lines = ["# Codebook", ""]
    for key, value in summary.items():
        if isinstance(value, dict):
            value = "; ".join(f"{k}: {_filter_text(k, v)}" for k, v in value.items())
        lines.append(f"- **{key}**: {_md(value)}")
    lines += ["", "Missing data: an empty cell means not answered, not scorable, not administered or not "
              f"recorded; {SUPPRESSED} means withheld by k-anonymity suppression.", "", "## Instruments", ""]
    for d, row in zip(definitions, instruments_table(definitions), strict=True):
        lines += [f"### {_md(row['abbreviation'])} — {_md(row['name'])} ({row['id']} {row['version']})", "",
                  f"- content hash: `{row['hash']}`", f"- licence: {_md(row['licence'])}",
                  f"- copyright: {_md(row['copyright'])}", "- citations:"]
        lines += [f"  - {_md(c.strip())}" for c in d.instrument.citations]
        lines.append("")
    lines += ["## Variables", ""]
    cols = [c for c in codebook.columns if codebook[c].astype(str).str.len().gt(0).any()
            and not codebook[c].isna().all()]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for rec in codebook[cols].itertuples(index=False):
        lines.append("| " + " | ".join(_md(v) for v in rec) + " |")
    return "\n".join(lines) + "\n"
