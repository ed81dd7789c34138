"""FHIR Questionnaire → definition draft (YAML with TODO markers): the inverse of :func:`to_questionnaire`.

:func:`from_questionnaire` reads a Questionnaire (R4/R4B, or R5 with ``itemWeight``) and writes what FHIR
can tell of a psyscore definition: the choice items in order (linkId → item id, text verbatim, LOINC codes),
their option sets (label, translations; the option value from the ``ordinalValue``/``itemWeight`` item
score, or the code where the code is the value), reverse keying where the item scores are the codes
reversed, gates from ``enableWhen``, the languages of the ``translation`` extensions, and each scale whose
SDC ``calculatedExpression`` is a plain sum of item scores (weights, a multiplier, and psyscore's own
prorating form are read too). What FHIR cannot tell — citations, bands and cut-offs, which way is worse,
a scoring rule that is not a plain sum, the licence — is marked: a ``# TODO: …`` comment line above the
entry, or a text value starting with ``TODO`` where the format needs a text. ``psyscore validate`` reports
each as ``E229`` at its line (:mod:`scoring.definitions.rules.drafts`), so a draft never enters a library
until someone has completed it from the published source. A score is never inferred from the order of the
options: without an item score the draft says so.

Hostile input ends in a :class:`FhirImportError` naming what is wrong and where (JSON path or linkId):
malformed JSON, another resource type, items nested deeper than :data:`MAX_DEPTH`, more than
:data:`MAX_ITEMS` items, input over :data:`MAX_INPUT_BYTES`, a draft larger than a definition may be.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scoring.definitions.drafts import is_todo_value
from scoring.definitions.loading import MAX_YAML_BYTES, format_path, parse_yaml
from scoring.fhir import urls
from scoring.fhir.questionnaire import FhirError

#: largest Questionnaire read (the LOINC form library's largest are a few MB)
MAX_INPUT_BYTES = 16 * 1024 * 1024
#: deepest item nesting accepted (groups inside groups); a definition is flat
MAX_DEPTH = 16
#: most items (questions, groups, display items) accepted
MAX_ITEMS = 2000
#: longest expression read (psyscore's own are a few kB)
MAX_EXPRESSION = 100_000
#: most problems listed in one error
MAX_PROBLEMS = 20

VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"
_CHOICE_TYPES = ("choice", "open-choice", "coding")
_NUMBER_TYPES = ("decimal", "integer", "quantity")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none"})
_LICENCES = ("public_domain", "attribution", "non_commercial", "no_item_text")
_OUR_LICENCE = re.compile(r"^(?P<copyright>.*)\n\nLicence \((?P<kind>" + "|".join(_LICENCES) + r")\): (?P<rest>.*)$",
                          re.DOTALL)
_NO_TEXT_NOTE = " Item wording is not included (licence: no_item_text)"
_ANSWER = re.compile(
    r"^%(?:resource|questionnaireResponse|context)"
    r"(?:\.(?:repeat\(item\)|item(?:\.where\(linkId\s*=\s*'[^']*'\))?))*?"
    r"\.(?:repeat\(item\)|item)\.where\(linkId\s*=\s*'(?P<id>[^']+)'\)\.answer\.value"
    r"(?P<tail>\.code\.toDecimal\(\)|\.ordinal\(\)|\.weight\(\)|\.toDecimal\(\))?$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class FhirImportError(FhirError):
    """The Questionnaire cannot be read into a draft; ``problems`` lists every reason found."""

    def __init__(self, problems: list[str]):
        self.problems = problems[:MAX_PROBLEMS]
        more = f"\n  … {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        super().__init__("cannot import the Questionnaire:\n" + "\n".join(f"  {p}" for p in self.problems) + more)


@dataclass(frozen=True)
class Todo:
    """One thing a draft leaves to complete: its line in the draft, the entry, and what to do."""

    line: int
    path: str
    text: str


@dataclass(frozen=True)
class Draft:
    """A definition draft: the YAML text, the instrument id it defines, and its TODOs in line order."""

    text: str
    instrument_id: str
    todos: tuple[Todo, ...]

    @property
    def file_name(self) -> str:
        """The name ``psyscore validate`` expects the draft to be saved under (``<id>.yaml``)."""
        return f"{self.instrument_id}.yaml"


# --------------------------------------------------------------------------------------------------- reading


def _fail(problems: list[str]) -> None:
    if problems:
        raise FhirImportError(problems)


def _parse(source: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(source, Mapping):
        doc: Any = dict(source)
    else:
        if len(source) > MAX_INPUT_BYTES:
            raise FhirImportError([f"the input is larger than {MAX_INPUT_BYTES // 2**20} MB; a Questionnaire is "
                                   "far smaller (give one Questionnaire, not a whole library)"])
        try:
            text = source.decode("utf-8") if isinstance(source, bytes) else source
            doc = json.loads(text)
        except UnicodeDecodeError as exc:
            raise FhirImportError([f"the input is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSON"]) from None
        except json.JSONDecodeError as exc:
            raise FhirImportError([f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} — fix the "
                                   "JSON (a FHIR resource is one JSON object)"]) from None
        except RecursionError:
            raise FhirImportError(["the JSON is nested too deeply to read; a Questionnaire nests a few levels"]
                                  ) from None
    if not isinstance(doc, dict):
        raise FhirImportError([f"a JSON {type(doc).__name__}, not a FHIR resource — give one Questionnaire"])
    kind = doc.get("resourceType")
    if kind == "Bundle":
        raw_entries = doc.get("entry")
        entries: list[Any] = raw_entries if isinstance(raw_entries, list) else []
        found = [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                 and e["resource"].get("resourceType") == "Questionnaire"]
        if len(found) != 1:
            raise FhirImportError([f"a Bundle with {len(found)} Questionnaires — give exactly one Questionnaire "
                                   "(extract it from the Bundle)"])
        doc = found[0]
    elif kind != "Questionnaire":
        got = f"a {kind}" if isinstance(kind, str) and kind else "a JSON object without resourceType"
        raise FhirImportError([f"{got}, not a Questionnaire — give a FHIR Questionnaire resource "
                               '("resourceType": "Questionnaire")'])
    return doc


def read_questionnaire(path: Path | str) -> Draft:
    """:func:`from_questionnaire` of a ``.json`` file (a regular file of at most :data:`MAX_INPUT_BYTES`)."""
    p = Path(path)
    try:
        if not p.is_file():
            raise FhirImportError([f"{p}: no such file (or not a regular file)"])
        if p.stat().st_size > MAX_INPUT_BYTES:
            raise FhirImportError([f"{p}: the file is larger than {MAX_INPUT_BYTES // 2**20} MB; a Questionnaire "
                                   "is far smaller"])
        with open(p, "rb") as fh:
            raw = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise FhirImportError([f"{p}: cannot read the file: {exc.strerror or type(exc).__name__}"]) from None
    try:
        return from_questionnaire(raw)
    except FhirImportError as exc:
        raise FhirImportError([f"{p}: {m}" for m in exc.problems]) from None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _plain(value: float) -> int | float:
    """2.0 → 2 (definitions write whole numbers as integers)."""
    return int(value) if float(value).is_integer() else float(value)


def _ordinal(*holders: object) -> tuple[float | None, bool]:
    """The item score of an answer option (``ordinalValue`` or R5 ``itemWeight`` on the coding or the option)."""
    for holder in holders:
        exts = holder.get("extension") if isinstance(holder, dict) else None
        for ext in exts if isinstance(exts, list) else []:
            if isinstance(ext, dict) and ext.get("url") in (urls.ORDINAL_VALUE, urls.ITEM_WEIGHT):
                return _number(ext.get("valueDecimal", ext.get("valueInteger"))), True
    return None, False


def _translations(holder: object) -> dict[str, str]:
    """``{lang: text}`` of the ``translation`` extensions of a primitive's ``_element``."""
    out: dict[str, str] = {}
    exts = holder.get("extension") if isinstance(holder, dict) else None
    for ext in exts if isinstance(exts, list) else []:
        if not isinstance(ext, dict) or ext.get("url") != urls.TRANSLATION:
            continue
        if not isinstance(ext.get("extension"), list):
            continue
        parts = {e["url"]: e for e in ext["extension"] if isinstance(e, dict) and isinstance(e.get("url"), str)}
        lang = parts["lang"].get("valueCode") if "lang" in parts else None
        content = parts["content"].get("valueString") if "content" in parts else None
        if isinstance(lang, str) and _LANGUAGE.match(lang) and _text(content):
            out[lang] = str(content)
    return out


def _loinc(codes: object) -> list[str]:
    return [c["code"] for c in codes if isinstance(c, dict) and c.get("system") == urls.LOINC
            and isinstance(c.get("code"), str)] if isinstance(codes, list) else []


def _snake(text: str) -> str:
    out = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return out[:64].rstrip("_")


# ------------------------------------------------------------------------------------------------ the draft


@dataclass
class _Option:
    value: float | None  # None: no item score and no numeric code
    label: str | None
    code: str | None
    labels: dict[str, str]  # translations


@dataclass
class _Question:
    link_id: str
    id: str
    entry: dict[str, Any]
    where: str
    options: list[_Option] = field(default_factory=list)
    reverse: bool = False
    values_known: bool = True
    option_todo: str | None = None
    codes: dict[str, float] = field(default_factory=dict)  # code → option value (for enableWhen)
    set_id: str = ""


@dataclass
class _Builder:
    q: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    comments: dict[tuple[str | int, ...], list[str]] = field(default_factory=dict)
    languages: set[str] = field(default_factory=set)

    def todo(self, path: tuple[str | int, ...], text: str) -> None:
        self.comments.setdefault(path, []).append("TODO: " + " ".join(text.split()))

    def note(self, path: tuple[str | int, ...], text: str) -> None:
        self.comments.setdefault(path, []).append(" ".join(text.split()))


def _flatten(items: object, depth: int, where: str, out: list[tuple[dict[str, Any], str]], b: _Builder) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        b.problems.append(f"{where} is not a list (Questionnaire.item is a JSON array)")
        return
    for n, item in enumerate(items):
        here = f"{where}[{n}]"
        if not isinstance(item, dict):
            b.problems.append(f"{here} is not an object (each item is a JSON object with a linkId)")
            continue
        if depth > MAX_DEPTH:
            b.problems.append(f"{here}: items are nested more than {MAX_DEPTH} levels deep; a definition is flat "
                              "(flatten the groups)")
            return
        out.append((item, here))
        if len(out) > MAX_ITEMS:
            b.problems.append(f"more than {MAX_ITEMS} items; an instrument definition has far fewer (split it)")
            return
        _flatten(item.get("item"), depth + 1, f"{here}.item", out, b)
        if len(out) > MAX_ITEMS or (b.problems and "nested more than" in b.problems[-1]):
            return


def _options_of(b: _Builder, qn: _Question) -> None:
    """The answer options of a choice item: labels, codes, item scores → option values and reverse keying."""
    entry, where = qn.entry, qn.where
    raw = entry.get("answerOption")
    if raw is None:
        vs = entry.get("answerValueSet")
        concepts = _contained_value_set(b.q, vs) if isinstance(vs, str) else None
        if concepts is None:
            b.problems.append(f"item {qn.link_id!r} ({where}): its answers are in the ValueSet {vs!r}, which the "
                              "Questionnaire does not contain — give the options inline (answerOption) or as a "
                              "contained ValueSet")
            return
        raw = concepts
    if not isinstance(raw, list) or len(raw) < 2:
        b.problems.append(f"item {qn.link_id!r} ({where}): a choice item needs a list of at least 2 answer options")
        return
    scores: list[float | None] = []
    has_all = True
    for n, opt in enumerate(raw):
        if not isinstance(opt, dict):
            b.problems.append(f"item {qn.link_id!r} answerOption[{n}] is not an object")
            return
        coding = opt.get("valueCoding")
        if isinstance(coding, dict):
            code = coding.get("code")
            label = _text(coding.get("display"))
            labels = _translations(coding.get("_display"))
            score, given = _ordinal(coding, opt)
        elif "valueInteger" in opt or "valueDecimal" in opt:
            number = _number(opt.get("valueInteger", opt.get("valueDecimal")))
            if number is None:
                b.problems.append(f"item {qn.link_id!r} answerOption[{n}]: the value is not a number")
                return
            code, label, labels, (score, given) = urls.option_code(number), None, {}, (number, True)
        elif "valueString" in opt and _text(opt["valueString"]):
            code, label, labels = None, str(opt["valueString"]), _translations(opt.get("_valueString"))
            score, given = _ordinal(opt)
        else:
            kinds = [k for k in opt if k.startswith("value")]
            b.problems.append(f"item {qn.link_id!r} answerOption[{n}]: an answer of type "
                              f"{kinds[0] if kinds else 'none'} (give valueCoding, valueInteger or valueString)")
            return
        if not isinstance(code, str):
            code = None
        qn.options.append(_Option(None, label, code, labels))
        scores.append(score if given else None)
        has_all = has_all and given and score is not None
        b.languages.update(labels)
    numeric = [(_number(float(o.code)) if o.code is not None and _NUMBER.match(o.code) else None) for o in qn.options]
    if has_all:
        s = [float(x) for x in scores if x is not None]
        codes = [c for c in numeric if c is not None]
        if len(codes) == len(s):
            lo, hi = min(codes), max(codes)
            if s == codes:
                values = codes
            elif s == [lo + hi - c for c in codes] and len(set(codes)) > 1:
                values, qn.reverse = codes, True
            else:
                values = s
        else:
            values = s
    elif all(c is not None for c in numeric):
        values = [float(c) for c in numeric if c is not None]
        qn.option_todo = ("the Questionnaire gives no item score (ordinalValue/itemWeight) for the answers of "
                          f"{qn.link_id}: the codes were taken as the option values; check them against the "
                          "published scoring")
    else:
        qn.values_known = False
        qn.option_todo = (f"the Questionnaire gives no item score (ordinalValue/itemWeight) for the answers of "
                          f"{qn.link_id} and its codes are not numbers: write each option's published score")
        values = []
    for n, opt in enumerate(qn.options):
        if values:
            opt.value = values[n]
        if opt.code is not None and opt.value is not None:
            qn.codes[opt.code] = opt.value
        if opt.value is not None:
            qn.codes.setdefault(urls.option_code(opt.value), opt.value)


def _contained_value_set(q: dict[str, Any], ref: str) -> list[dict[str, Any]] | None:
    """The concepts of a contained ValueSet (``#id``) as answerOption-like entries, or None."""
    if not ref.startswith("#") or not isinstance(q.get("contained"), list):
        return None
    for res in q["contained"]:
        if not isinstance(res, dict) or res.get("resourceType") != "ValueSet" or res.get("id") != ref[1:]:
            continue
        expansion = res.get("expansion")
        contains = expansion.get("contains") if isinstance(expansion, dict) else None
        if isinstance(contains, list):
            return [{"valueCoding": c} for c in contains if isinstance(c, dict)]
        compose = res.get("compose")
        include = compose.get("include") if isinstance(compose, dict) else None
        out = []
        for inc in include if isinstance(include, list) else []:
            for concept in inc.get("concept", []) if isinstance(inc, dict) else []:
                if isinstance(concept, dict):
                    out.append({"valueCoding": {**concept, "system": inc.get("system")}})
        return out or None
    return None


def _item_ids(b: _Builder, questions: list[_Question], instrument_id: str) -> None:
    seen: set[str] = set()
    for qn in questions:
        link = qn.link_id
        base = link if _ID.match(link) and len(link) <= 64 else _snake(link.rsplit("/", 1)[-1] or link)
        if not base or not base[0].isalpha():
            base = _snake(f"{instrument_id}_{base}") or "item"
        candidate, n = base, 2
        while candidate in seen:
            candidate = f"{base[:60]}_{n}"
            n += 1
        seen.add(candidate)
        qn.id = candidate


def _option_sets(b: _Builder, questions: list[_Question], instrument_id: str) -> list[dict[str, Any]]:
    """One option set per distinct list of options (psyscore's own CodeSystems name theirs)."""
    sets: list[dict[str, Any]] = []
    by_key: dict[tuple[Any, ...], str] = {}
    prefix = urls.answer_system(instrument_id, "")
    for qn in questions:
        key = tuple((o.value, o.label, tuple(sorted(o.labels.items()))) for o in qn.options)
        if key in by_key:
            qn.set_id = by_key[key]
            continue
        systems = {o_sys for o_sys in _systems(qn.entry)}
        wanted = ""
        if len(systems) == 1:
            system = next(iter(systems))
            if system.startswith(prefix) and _ID.match(system[len(prefix):]):
                wanted = system[len(prefix):]
        taken = {s["id"] for s in sets}
        if not wanted or wanted in taken:
            n = len(sets) + 1
            wanted = f"options_{n}"
            while wanted in taken:
                n += 1
                wanted = f"options_{n}"
        by_key[key] = wanted
        qn.set_id = wanted
        si = len(sets)
        options = []
        for oi, o in enumerate(qn.options):
            label = o.label
            if label is None:
                label = f"TODO: the label of answer {urls.option_code(o.value) if o.value is not None else oi + 1}"
            value: Any = _plain(o.value) if o.value is not None else (
                f"TODO: the score of answer {label!r} (the Questionnaire gives none)")
            options.append({"value": value, "label": label})
        sets.append({"id": wanted, "options": options})
        if qn.option_todo:
            b.todo(("option_sets", si), qn.option_todo)
    return sets


def _systems(entry: dict[str, Any]) -> list[str]:
    out = []
    for opt in entry.get("answerOption") or []:
        coding = opt.get("valueCoding") if isinstance(opt, dict) else None
        if isinstance(coding, dict) and isinstance(coding.get("system"), str):
            out.append(coding["system"])
    return out


# ------------------------------------------------------------------------------------------------ enableWhen


def _gate(qn: _Question, by_link: dict[str, _Question]) -> tuple[dict[str, Any] | None, str | None]:
    """``shown_if`` from ``enableWhen``, or why it cannot be written."""
    conditions = qn.entry.get("enableWhen")
    if not isinstance(conditions, list) or not conditions or not all(isinstance(c, dict) for c in conditions):
        return None, "enableWhen is not a list of conditions"
    behavior = qn.entry.get("enableBehavior", "any" if len(conditions) == 1 else None)
    if behavior not in ("any", "all"):
        return None, "enableWhen has several conditions but no enableBehavior"
    asked = [c.get("question") for c in conditions]
    questions = {q for q in asked if isinstance(q, str)}
    if len(questions) != 1 or len(asked) != sum(isinstance(q, str) for q in asked):
        return None, "enableWhen depends on several questions (psyscore gates on one)"
    gate_link = next(iter(questions))
    gate = by_link.get(gate_link) if isinstance(gate_link, str) else None
    if gate is None or not gate.values_known:
        return None, f"enableWhen depends on {gate_link!r}, which is not a choice question with known values"
    values = sorted({o.value for o in gate.options if o.value is not None})
    opening: set[float] | None = None
    for c in conditions:
        op = c.get("operator")
        if "answerCoding" in c and isinstance(c["answerCoding"], dict):
            v = gate.codes.get(str(c["answerCoding"].get("code")))
        elif "answerInteger" in c or "answerDecimal" in c:
            v = _number(c.get("answerInteger", c.get("answerDecimal")))
        else:
            return None, "an enableWhen condition compares with something other than an answer code or number"
        if v is None or op not in ("=", "!=", ">", ">=", "<", "<="):
            return None, f"an enableWhen condition ({op} {v}) is not a comparison with one of the gate's answers"
        holds = {x for x in values if {"=": x == v, "!=": x != v, ">": x > v, ">=": x >= v, "<": x < v,
                                      "<=": x <= v}[op]}
        opening = holds if opening is None else (opening | holds if behavior == "any" else opening & holds)
    if not opening or opening == set(values):
        return None, "the enableWhen conditions open the item for no answer or for every answer"
    shown = sorted(opening)
    if len(shown) == 1:
        return {"item": gate.id, "op": "==", "value": _plain(shown[0])}, None
    return {"item": gate.id, "op": "in", "value": [_plain(v) for v in shown]}, None


# ------------------------------------------------------------------------------------------------ expressions


def _strip(expr: str) -> str:
    e = expr.strip()
    while e.startswith("(") and _closing(e, 0) == len(e) - 1:
        e = e[1:-1].strip()
    return e


def _closing(e: str, start: int) -> int:
    depth, quote = 0, False
    for i in range(start, len(e)):
        ch = e[i]
        if ch == "'":
            quote = not quote
        elif quote:
            continue
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split(e: str, sep: str) -> list[str]:
    """``e`` split at ``sep`` outside brackets and quotes."""
    parts, depth, quote, last = [], 0, False, 0
    i = 0
    while i < len(e):
        ch = e[i]
        if ch == "'":
            quote = not quote
        elif not quote:
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif depth == 0 and e.startswith(sep, i):
                parts.append(e[last:i])
                last = i + len(sep)
                i = last
                continue
        i += 1
    parts.append(e[last:])
    return [p.strip() for p in parts]


def _call(e: str, name: str) -> list[str] | None:
    if not e.startswith(name + "(") or _closing(e, len(name)) != len(e) - 1:
        return None
    return _split(e[len(name) + 1:-1], ",")


@dataclass
class _Term:
    link_id: str
    basis: str  # "score": the item score (ordinal/weight); "value": the answer code
    reversed_by: float | None = None  # N in (N - code)
    weight: float = 1.0
    not_shown: float | None = None  # value when the gate is closed
    zero_if_missing: bool = False


def _term(e: str, variables: Mapping[str, str], depth: int = 0) -> _Term | None:
    e = _strip(e)
    if depth > 8:
        return None
    if e.startswith("%") and e[1:] in variables:
        return _term(variables[e[1:]], variables, depth + 1)
    m = _ANSWER.match(e)
    if m:
        return _Term(m.group("id"), "score" if m.group("tail") in (".ordinal()", ".weight()") else "value")
    args = _call(e, "iif")
    if args is not None and len(args) == 3:
        test, then, other = args
        inner = _term(then, variables, depth + 1)
        if inner is not None and _strip(test) == f"{_strip(then)}.exists()" and _strip(other) == "0":
            inner.zero_if_missing = True
            return inner
        conds = _split(_strip(test), " and ")
        value = _number(float(then)) if _NUMBER.match(_strip(then)) else None
        inner = _term(other, variables, depth + 1)
        if (inner is not None and value is not None and len(conds) == 2 and conds[0].endswith(".exists()")
                and conds[1].endswith(".not()")):
            inner.not_shown = value
            return inner
        return None
    parts = _split(e, "*")
    if len(parts) == 2:
        for a, w in (parts, parts[::-1]):
            if _NUMBER.match(w):
                inner = _term(a, variables, depth + 1)
                if inner is not None:
                    inner.weight *= float(w)
                    return inner
        return None
    parts = _split(e, " - ")
    if len(parts) == 2 and _NUMBER.match(parts[0]):
        inner = _term(parts[1], variables, depth + 1)
        if inner is not None and inner.basis == "value" and inner.reversed_by is None:
            inner.reversed_by = float(parts[0])
            return inner
    return None


@dataclass
class _Sum:
    terms: list[_Term]
    multiplier: float = 1.0
    max_missing: int | None = None  # psyscore's prorating form
    wrapped: bool = False  # iif(<condition>, <sum>, {}): a condition the draft cannot read


def _sum(expr: str, variables: Mapping[str, str]) -> _Sum | None:
    """A plain sum of item scores (weights, a multiplier, psyscore's prorating form), or None."""
    e = _strip(expr)
    multiplier = 1.0
    parts = _split(e, "*")
    if len(parts) == 2 and _NUMBER.match(parts[1]) and parts[0].startswith("("):
        inner = _sum(parts[0], variables)
        if inner is not None and len(inner.terms) > 1:
            inner.multiplier *= float(parts[1])
            return inner
    args = _call(e, "iif")
    if args is not None and len(args) == 3:
        prorated = _prorated(args, variables)
        if prorated is not None:
            return prorated
        if _strip(args[2]) == "{}":
            inner = _sum(args[1], variables)
            if inner is not None:
                inner.wrapped = True
                return inner
    terms = []
    for part in _split(e, "+"):
        term = _term(part, variables)
        if term is None:
            return None
        terms.append(term)
    return _Sum(terms, multiplier)


def _prorated(args: list[str], variables: Mapping[str, str]) -> _Sum | None:
    """``iif((answered) = n, total, iif((answered) > 0 and (answered) >= k, (((total) * n / (answered)) + 0.5)
    .floor(), {}))`` as :func:`scoring.fhir.expressions.scale_expression` writes it."""
    head = _split(_strip(args[0]), " = ")
    inner = _call(_strip(args[2]), "iif")
    if len(head) != 2 or not head[1].isdigit() or inner is None or len(inner) != 3 or _strip(inner[2]) != "{}":
        return None
    k = re.search(r">=\s*(\d+)\s*$", _strip(inner[0]))
    if k is None:
        return None
    terms = []
    for part in _split(_strip(args[1]), "+"):
        wrapper = _call(_strip(part), "iif")
        if wrapper is None or len(wrapper) != 3 or _strip(wrapper[2]) != "0":
            return None
        term = _term(wrapper[1], variables)
        if term is None:
            return None
        terms.append(term)
    n = int(head[1])
    if n != len(terms):
        return None
    return _Sum(terms, max_missing=n - int(k.group(1)))


def _variables(*holders: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for holder in holders:
        exts = holder.get("extension") if isinstance(holder, dict) else None
        for ext in exts if isinstance(exts, list) else []:
            if isinstance(ext, dict) and ext.get("url") == VARIABLE and isinstance(ext.get("valueExpression"), dict):
                ve = ext["valueExpression"]
                if isinstance(ve.get("name"), str) and isinstance(ve.get("expression"), str):
                    out[ve["name"]] = ve["expression"][:MAX_EXPRESSION]
    return out


def _extension(entry: dict[str, Any], url: str) -> Any:
    exts = entry.get("extension")
    for ext in exts if isinstance(exts, list) else []:
        if isinstance(ext, dict) and ext.get("url") == url:
            return ext
    return None


# ------------------------------------------------------------------------------------------------ assembly


def from_questionnaire(source: Mapping[str, Any] | str | bytes) -> Draft:
    """A definition draft from a FHIR Questionnaire (a parsed resource, or its JSON text).

    Returns the draft's YAML text, the instrument id and the TODOs with their lines; raises
    :class:`FhirImportError` listing every problem when the input is not a Questionnaire that can be read.

    >>> import scoring
    >>> from scoring.fhir import to_questionnaire
    >>> draft = from_questionnaire(to_questionnaire(scoring.load_library()["gad7"]))
    >>> draft.instrument_id, draft.file_name, draft.todos[0].path
    ('gad7', 'gad7.yaml', 'abbreviation')
    """
    q = _parse(source)
    b = _Builder(q)
    flat: list[tuple[dict[str, Any], str]] = []
    _flatten(q.get("item"), 1, "item", flat, b)
    _fail(b.problems)
    canonical = _text(q.get("url")) or ""
    prefix = urls.questionnaire_url("")
    ours = canonical.startswith(prefix) and bool(_ID.match(canonical[len(prefix):]))
    instrument_id = (canonical[len(prefix):] if ours else
                     _snake(_text(q.get("name")) or _text(q.get("id")) or _text(q.get("title")) or "questionnaire"))
    if not instrument_id or not instrument_id[0].isalpha():
        instrument_id = _snake(f"q_{instrument_id}") or "questionnaire"
    copyright_text = _text(q.get("copyright"))
    licence_match = _OUR_LICENCE.match(copyright_text) if ours and copyright_text else None
    no_text = licence_match is not None and licence_match.group("kind") == "no_item_text"

    questions: list[_Question] = []
    scales: list[tuple[dict[str, Any], str]] = []
    displays: list[tuple[dict[str, Any], str, bool]] = []  # display items (and early group headings), early?
    links: set[str] = set()
    for entry, where in flat:
        link = entry.get("linkId")
        if not isinstance(link, str) or not link:
            b.problems.append(f"{where} has no linkId (every item needs one)")
            continue
        if link in links:
            b.problems.append(f"linkId {link!r} is used twice ({where}); linkIds are unique in a Questionnaire")
            continue
        links.add(link)
        kind = entry.get("type")
        is_score = (link.startswith(urls.SCORE_PREFIX) and not link.endswith(".note")) or (
            kind in _NUMBER_TYPES and (entry.get("readOnly") is True or _extension(entry, urls.CALCULATED)))
        if kind in _CHOICE_TYPES and not is_score:
            if entry.get("repeats") is True:
                b.problems.append(f"item {link!r} ({where}) allows several answers (repeats); a definition's item "
                                  "takes one")
                continue
            questions.append(_Question(link, "", entry, where))
        elif is_score and kind in _NUMBER_TYPES:
            scales.append((entry, where))
        elif kind == "display" or (kind == "group" and not questions):
            displays.append((entry, where, not questions))
        elif kind != "group":
            displays.append((entry, where, False))  # not a scored choice question: said in a TODO below
    if not questions:
        b.problems.append("the Questionnaire has no choice questions (type choice/coding with answer options); a "
                          "definition scores choice items only")
    if not questions:
        _fail(b.problems)
    _item_ids(b, questions, instrument_id)
    for qn in questions:
        _options_of(b, qn)
    _fail(b.problems)
    by_link = {qn.link_id: qn for qn in questions}

    data: dict[str, Any] = {"id": instrument_id}
    version = _text(q.get("version"))
    data["version"] = version if version and _SEMVER.match(version) else "1.0.0"
    if not (version and _SEMVER.match(version)):
        b.note(("version",), f"the Questionnaire's version is {version!r}: a definition's version is MAJOR.MINOR."
                             "PATCH, this draft starts at 1.0.0" if version else "the Questionnaire has no version")
    title = _text(q.get("title"))
    data["name"] = title or "TODO: the instrument's name (the Questionnaire has no title)"
    b.languages.update(_translations(q.get("_title")))
    data["abbreviation"] = (_text(q.get("name")) or "").replace("_", "-") or "TODO: the abbreviation"
    if ours and data["abbreviation"].startswith("Q-"):
        data["abbreviation"] = data["abbreviation"][2:]
    b.todo(("abbreviation",), "check the abbreviation (read from Questionnaire.name, a computer name) and the name")
    description = _text(q.get("description"))
    if description and no_text and _NO_TEXT_NOTE in description:
        description = description.split(_NO_TEXT_NOTE)[0].strip() or None
    if description:
        data["description"] = description
    data["citations"] = ["TODO: the instrument's published source (a FHIR Questionnaire carries no citation)"]
    data["source_url"] = "TODO: where the instrument is published (Questionnaire.url is the form's address" + (
        f", {canonical})" if canonical else ")")
    form = f"{canonical}|{version}" if canonical and version else canonical or _text(q.get("id")) or "(no url)"
    if not no_text:
        data["text_source"] = f"FHIR Questionnaire {form} (imported by psyscore fhir import)"
        b.todo(("text_source",), "check the item wording against the published instrument and say where it "
                                 "was checked (the text was copied from the Questionnaire)")
    if licence_match is not None:
        data["copyright"] = licence_match.group("copyright").strip() or "TODO: the copyright notice"
        rest = licence_match.group("rest").strip()
        url_match = re.search(r"\s(https?://\S+)$", rest)
        licence: dict[str, Any] = {"redistribution": licence_match.group("kind"),
                                   "statement": rest[: url_match.start()].strip() if url_match else rest}
        if url_match:
            licence["url"] = url_match.group(1)
        b.todo(("copyright",), "check the copyright notice and the licence (read back from a psyscore Questionnaire) "
                               "against the rights holder's published terms; commercial_use is unclear")
    else:
        data["copyright"] = copyright_text or "TODO: the copyright notice (the Questionnaire has none)"
        licence = {"redistribution": "non_commercial",
                   "statement": "TODO: the licence terms in the rights holder's words (FHIR carries none"
                   + (f"; Questionnaire.copyright says: {copyright_text}" if copyright_text else "") + ")"}
        b.todo(("licence",), "redistribution is a placeholder: FHIR cannot tell whether the item text may be "
                             "shipped (public_domain, attribution, non_commercial, or no_item_text with "
                             "descriptors instead of the wording); check the copyright too")
    licence["commercial_use"] = "unclear"
    data["licence"] = licence
    language = _text(q.get("language"))
    if language and _LANGUAGE.match(language):
        data["language"] = language
    else:
        data["language"] = "en"
        b.todo(("language",), f"the Questionnaire's language is {language!r}: write the language of the text"
                              if language else "the Questionnaire names no language: check that the text is English")
    instructions, instr_langs = _instructions(b, displays, instrument_id, no_text)
    if instructions:
        data["instructions"] = instructions
    if _loinc(q.get("code")):
        data["loinc_panel"] = _loinc(q.get("code"))[0]

    sets = _option_sets(b, questions, instrument_id)
    data["option_sets"] = sets
    items: list[dict[str, Any]] = []
    for ii, qn in enumerate(questions):
        text = _text(qn.entry.get("text"))
        item: dict[str, Any] = {"id": qn.id}
        if no_text:
            item["descriptor"] = text or f"TODO: a short descriptor of {qn.link_id}"
        else:
            item["text"] = text if text else f"TODO: the wording of {qn.link_id} (the Questionnaire has no text)"
            b.languages.update(_translations(qn.entry.get("_text")))
        item["options"] = qn.set_id
        item["reverse"] = qn.reverse
        if qn.link_id != qn.id:
            b.note(("items", ii), f"linkId {json.dumps(qn.link_id, ensure_ascii=False)}")
        if "enableWhen" in qn.entry:
            gate, why = _gate(qn, by_link)
            if gate is not None:
                item["shown_if"] = gate
            else:
                b.todo(("items", ii), f"the item's enableWhen could not be written as a gate ({why}): write "
                                      "shown_if from the published form")
        codes = _loinc(qn.entry.get("code"))
        if codes:
            item["loinc"] = codes[0]
        items.append(item)
    data["items"] = items
    data["scales"] = _scales(b, scales, questions, items, instrument_id)
    _unused_items(b, data)
    for entry, where, _early in displays:
        if entry.get("type") not in ("display", "group"):
            b.todo(("items",), f"item {entry.get('linkId')!r} ({where}, type {entry.get('type')!r}) is not a choice "
                               "question and was left out: a definition scores choice items only")
    if not no_text and b.languages - {data["language"]}:
        data["translations"] = _translation_block(b, data, questions, q, instr_langs)
    data = _ordered(data)
    text = _emit(data, b.comments, header=(
        f"Draft definition written by psyscore fhir import from the FHIR Questionnaire {form}.",
        "Complete every TODO below from the instrument's published source and delete its marker;",
        f"psyscore validate lists them (E229). Save the file as {instrument_id}.yaml."))
    return _finish(text, instrument_id)


def _instructions(b: _Builder, displays: list[tuple[dict[str, Any], str, bool]], instrument_id: str,
                  no_text: bool) -> tuple[str | None, dict[str, str]]:
    """The instructions (psyscore's ``<id>.instructions`` display item, or the display items and group
    headings before the first question) and their translations; other display text is said to be left out."""
    found: list[tuple[str, dict[str, str]]] = []
    ours = False
    for entry, where, early in displays:
        kind = entry.get("type")
        if kind not in ("display", "group"):
            continue
        link = str(entry.get("linkId"))
        text = _text(entry.get("text"))
        if not text or (link.startswith(urls.SCORE_PREFIX) and link.endswith(".note")):
            continue
        if link == f"{instrument_id}.instructions" or early:
            ours = ours or link == f"{instrument_id}.instructions"
            found.append((text, _translations(entry.get("_text"))))
        elif kind == "display":
            b.todo(("items",), f"the display text {link!r} ({where}) was left out: a definition holds instructions "
                               "only")
    if no_text or not found:
        return None, {}
    if len(found) > 1 or not ours:
        b.todo(("instructions",), "the instructions were read from the display text and group headings before the "
                                  "first question: check them against the published form")
    text = "\n\n".join(t for t, _ in found)
    langs: dict[str, str] = {}
    for lang in set().union(*(set(tr) for _, tr in found)):
        if all(lang in tr for _, tr in found):
            langs[lang] = "\n\n".join(tr[lang] for _, tr in found)
    b.languages.update(langs)
    return text, langs


def _scales(b: _Builder, entries: list[tuple[dict[str, Any], str]], questions: list[_Question],
            items: list[dict[str, Any]], instrument_id: str) -> list[dict[str, Any]]:
    by_link = {qn.link_id: (qn, item) for qn, item in zip(questions, items, strict=True)}
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    variables = _variables(b.q)
    for entry, _where in entries:
        link = str(entry["linkId"])
        sid = link[len(urls.SCORE_PREFIX):] if link.startswith(urls.SCORE_PREFIX) else _snake(link)
        if not _ID.match(sid) or sid in used or sid in {i["id"] for i in items}:
            sid = f"score_{len(out) + 1}"
        used.add(sid)
        si = len(out)
        scale: dict[str, Any] = {"id": sid, "name": _text(entry.get("text")) or f"TODO: the name of score {link!r}"}
        calc = _extension(entry, urls.CALCULATED)
        expr = calc.get("valueExpression", {}).get("expression") if isinstance(calc, dict) and isinstance(
            calc.get("valueExpression"), dict) else None
        if not isinstance(expr, str):
            expr = None
        parsed = _sum(expr, {**variables, **_variables(entry)}) if isinstance(expr, str) and len(
            expr) <= MAX_EXPRESSION else None
        why = _why_not(parsed, by_link, expr, entry)
        if parsed is not None and why is None:
            ids = [by_link[t.link_id][1]["id"] for t in parsed.terms]
            scale["items"] = ids
            scale["method"] = "sum"
            weights = {by_link[t.link_id][1]["id"]: _plain(t.weight) for t in parsed.terms if t.weight != 1}
            if weights:
                scale["weights"] = weights
            if parsed.multiplier != 1:
                scale["multiplier"] = _plain(parsed.multiplier)
            for t in parsed.terms:
                item = by_link[t.link_id][1]
                if t.not_shown is not None:
                    item["value_if_not_shown"] = _plain(t.not_shown)
            if parsed.max_missing is not None:
                scale["missing"] = {"rule": "prorate", "max_missing": parsed.max_missing, "rounding": "half_up"}
            else:
                scale["missing"] = {"rule": "complete"}
            if any(t.zero_if_missing for t in parsed.terms) or parsed.wrapped:
                b.todo(("scales", si, "missing"), "the Questionnaire's expression scores unanswered items its own "
                       "way (as 0, or under a condition), which no psyscore rule is: write the published "
                       "missing-data rule")
            b.todo(("scales", si), "higher_is, bands and cut-offs: the Questionnaire carries none; write the "
                                   "published ones (or keep higher_is: neutral and say in the description that no "
                                   "bands are published) and check the missing-data rule against the publication")
        else:
            referenced = set(re.findall(r"linkId\s*=\s*'([^']+)'", expr or ""))
            ids = [item["id"] for qn, item in by_link.values() if qn.link_id in referenced and qn.values_known]
            if not ids:
                ids = [item["id"] for qn, item in by_link.values() if qn.values_known] or [items[0]["id"]]
            scale["items"] = ids
            scale["method"] = "sum"
            scale["missing"] = {"rule": "complete"}
            b.todo(("scales", si), f"the scoring rule: {why}; this scale is a placeholder (a complete sum of "
                                   "the items it names): write the published items, method, weights and "
                                   "missing-data rule, then higher_is, bands and cut-offs")
        scale["range"] = [0, 0]  # filled in by _ranges
        scale["higher_is"] = "neutral"
        codes = _loinc(entry.get("code"))
        if codes:
            scale["loinc"] = codes[0]
        out.append(scale)
    if not out:
        ids = [item["id"] for qn, item in by_link.values() if qn.values_known] or [items[0]["id"]]
        out.append({"id": "total", "name": "TODO: the name of the score", "items": ids, "method": "sum",
                    "missing": {"rule": "complete"}, "range": [0, 0], "higher_is": "neutral"})
        b.todo(("scales", 0), "the Questionnaire has no score (no calculated item): this scale is a placeholder; "
                              "write the published scales (items, method, missing-data rule, higher_is, bands)")
    _ranges(questions, items, out)
    _gate_values(b, questions, items, out)
    return out


def _why_not(parsed: _Sum | None, by_link: Mapping[str, tuple[_Question, dict[str, Any]]], expr: object,
             entry: dict[str, Any]) -> str | None:
    """Why a read expression is not a plain sum of item scores the draft can write (None: it is)."""
    if not isinstance(expr, str):
        note = _extension(entry, urls.NOT_CALCULATED)
        reason = note.get("valueString") if isinstance(note, dict) else None
        return (f"the Questionnaire does not calculate it ({reason})" if isinstance(reason, str)
                else "the Questionnaire gives no calculatedExpression")
    if parsed is None:
        return "the calculatedExpression is not a plain sum of item scores"
    seen = set()
    for t in parsed.terms:
        if t.link_id not in by_link:
            return f"the expression reads {t.link_id!r}, which is not a choice question"
        if t.link_id in seen:
            return f"the expression reads {t.link_id!r} twice"
        seen.add(t.link_id)
        qn = by_link[t.link_id][0]
        if not qn.values_known:
            return f"the answers of {t.link_id!r} have no known scores"
        values = [o.value for o in qn.options if o.value is not None]
        if t.basis == "score" and t.reversed_by is None:
            continue
        if t.basis == "value" and t.reversed_by is None and not qn.reverse:
            continue
        if t.reversed_by is not None and qn.reverse and t.reversed_by == min(values) + max(values):
            continue
        return f"the expression keys {t.link_id!r} otherwise than its item scores (ordinalValue) do"
    return None


def _ranges(questions: list[_Question], items: list[dict[str, Any]], scales: list[dict[str, Any]]) -> None:
    scored: dict[str, list[float]] = {}
    for qn, item in zip(questions, items, strict=True):
        values = [float(o.value) for o in qn.options if o.value is not None]
        if not values:
            continue
        lo, hi = min(values), max(values)
        s = [lo + hi - v for v in values] if qn.reverse else values
        if "value_if_not_shown" in item:
            s.append(float(item["value_if_not_shown"]))
        scored[item["id"]] = s
    for scale in scales:
        lows, highs = [], []
        for item_id in scale["items"]:
            w = float(scale.get("weights", {}).get(item_id, 1))
            values = scored.get(item_id, [0.0])
            a, b = w * min(values), w * max(values)
            lows.append(min(a, b))
            highs.append(max(a, b))
        m = float(scale.get("multiplier", 1))
        lo, hi = math.fsum(lows) * m, math.fsum(highs) * m
        scale["range"] = [_plain(min(lo, hi)), _plain(max(lo, hi))]


def _gate_values(b: _Builder, questions: list[_Question], items: list[dict[str, Any]],
                 scales: list[dict[str, Any]]) -> None:
    """A gated item whose closed-gate value the expressions do not give is said to be unknown."""
    in_scales = {i for s in scales for i in s["items"]}
    for ii, item in enumerate(items):
        if "shown_if" in item and "value_if_not_shown" not in item and item["id"] in in_scales:
            b.todo(("items", ii, "shown_if"), "what the item scores when its gate is closed: add "
                   "value_if_not_shown from the published rule, or leave it out if the item then does not count")


def _unused_items(b: _Builder, data: dict[str, Any]) -> None:
    in_scales = {i for s in data["scales"] for i in s["items"]}
    gates = {i["shown_if"]["item"] for i in data["items"] if "shown_if" in i}
    for ii, item in enumerate(data["items"]):
        if item["id"] not in in_scales and item["id"] not in gates:
            item["scored"] = False
            b.todo(("items", ii), "no score of the Questionnaire uses this item, so it is marked scored: false: "
                                  "check that it is not scored")


def _translation_block(b: _Builder, data: dict[str, Any], questions: list[_Question], q: dict[str, Any],
                       instructions: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    titles = _translations(q.get("_title"))
    for lang in sorted(b.languages - {data["language"]}):
        tr: dict[str, Any] = {"source": f"TODO: where the {lang} translation comes from (its text was read from "
                                        "the Questionnaire's translation extensions)"}
        if lang in titles:
            tr["name"] = titles[lang]
        if lang in instructions:
            tr["instructions"] = instructions[lang]
        texts = {qn.id: _translations(qn.entry.get("_text")).get(lang) for qn in questions}
        tr["items"] = {k: v for k, v in texts.items() if v}
        option_sets: dict[str, dict[int, str]] = {}
        for qn in questions:
            if qn.set_id in option_sets:
                continue
            labels = {int(o.value): o.labels[lang] for o in qn.options
                      if o.value is not None and float(o.value).is_integer() and lang in o.labels}
            if labels:
                option_sets[qn.set_id] = labels
        if option_sets:
            tr["option_sets"] = option_sets
        out[lang] = tr
    return out


_ORDER = ("id", "version", "name", "abbreviation", "description", "citations", "source_url", "text_source",
          "copyright", "licence", "language", "instructions", "loinc_panel", "translations", "option_sets", "items",
          "scales")

_ITEM_KEYS = ("id", "text", "descriptor", "options", "reverse", "scored", "shown_if", "value_if_not_shown", "loinc")
_SCALE_KEYS = ("id", "name", "items", "method", "weights", "multiplier", "missing", "range", "higher_is", "loinc")


def _ordered(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: data[k] for k in _ORDER if k in data}
    items = []
    for item in data["items"]:
        items.append({k: item[k] for k in _ITEM_KEYS if k in item})
    out["items"] = items
    scales = []
    for scale in data["scales"]:
        scales.append({k: scale[k] for k in _SCALE_KEYS if k in scale})
    out["scales"] = scales
    return out


# ------------------------------------------------------------------------------------------------ YAML out

_PRINTABLE = re.compile("[\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _quote(text: str) -> str:
    """A YAML double-quoted scalar of ``text`` (printable characters as they are, the rest escaped)."""
    out = ['"']
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif "\ud800" <= ch <= "\udfff":
            raise FhirImportError([f"the text {text[:40]!r}… holds an invalid character (a lone UTF-16 surrogate)"])
        elif _PRINTABLE.match(ch) and ch not in "\x85\u2028\u2029\ufeff":
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _one_line(text: str) -> str:
    """Text for a comment line: whitespace (also YAML's other line breaks) collapsed, characters YAML cannot
    read escaped as ``\\uXXXX`` (so nothing from the Questionnaire can end the comment or break the file)."""
    out = []
    for ch in " ".join(text.split()):
        ok = _PRINTABLE.match(ch) and ch not in "\x85\u2028\u2029\ufeff" and not "\ud800" <= ch <= "\udfff"
        out.append(ch if ok else (f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"))
    return "".join(out)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if _PLAIN_KEY.match(text) and text.lower() not in _YAML_WORDS:
        return text  # an id or a single word: plain, as the bundled definitions write them
    return _quote(text)


def _key(key: object) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    text = str(key)
    return text if _PLAIN_KEY.match(text) and text.lower() not in _YAML_WORDS else _quote(text)


def _flow(value: object) -> str | None:
    """A short list or mapping of scalars on one line, else None."""
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        text = "[" + ", ".join(_scalar(v) for v in value) + "]"
    elif isinstance(value, dict) and value and all(not isinstance(v, (dict, list)) for v in value.values()):
        text = "{" + ", ".join(f"{_key(k)}: {_scalar(v)}" for k, v in value.items()) + "}"
    else:
        return None
    ids_only = isinstance(value, list) and all(isinstance(v, str) and _ID.match(v) for v in value)
    return text if len(text) <= 100 or ids_only else None


@dataclass
class _Out:
    lines: list[str] = field(default_factory=list)


def _emit(data: dict[str, Any], comments: Mapping[tuple[str | int, ...], list[str]], header: tuple[str, ...]) -> str:
    out = _Out([f"# {_one_line(h)}" for h in header])

    def comment(path: tuple[str | int, ...], pad: str) -> None:
        for text in comments.get(path, ()):
            out.lines.append(f"{pad}# {_one_line(text)}")

    def mapping(node: dict[str, Any], path: tuple[str | int, ...], indent: int, first_prefix: str | None = None
                ) -> None:
        pad = " " * indent
        for n, (key, value) in enumerate(node.items()):
            here = (*path, key)
            lead = first_prefix if (n == 0 and first_prefix is not None) else pad
            if not (n == 0 and first_prefix is not None):
                comment(here, pad)
            head = f"{lead}{_key(key)}:"
            if isinstance(value, (dict, list)):
                flow = _flow(value) if not any(p[: len(here)] == here and len(p) > len(here) for p in comments) \
                    else None
                if not value:
                    out.lines.append(f"{head} {'{}' if isinstance(value, dict) else '[]'}")
                elif flow is not None:
                    out.lines.append(f"{head} {flow}")
                elif isinstance(value, dict):
                    out.lines.append(head)
                    mapping(value, here, indent + 2)
                else:
                    out.lines.append(head)
                    sequence(value, here, indent + 2)
            else:
                out.lines.append(f"{head} {_scalar(value)}")

    def sequence(node: list[Any], path: tuple[str | int, ...], indent: int) -> None:
        pad = " " * indent
        for i, value in enumerate(node):
            here = (*path, i)
            comment(here, pad)
            if isinstance(value, dict) and value:
                first = next(iter(value))
                comment((*here, first), pad)
                flow = _flow(value) if not any(p[: len(here)] == here and len(p) > len(here) for p in comments) \
                    else None
                if flow is not None:
                    out.lines.append(f"{pad}- {flow}")
                else:
                    mapping(value, here, indent + 2, first_prefix=f"{pad}- ")
            elif isinstance(value, list):
                flow = _flow(value)
                out.lines.append(f"{pad}- {flow if flow is not None else _scalar(str(value))}")
            else:
                out.lines.append(f"{pad}- {_scalar(value)}")

    comment((), "")
    mapping(data, (), 0)
    return "\n".join(out.lines) + "\n"


def _finish(text: str, instrument_id: str) -> Draft:
    """Check the draft reads back as YAML (its size within what a definition may be) and list its TODOs."""
    size = len(text.encode("utf-8"))
    if size > MAX_YAML_BYTES:
        raise FhirImportError([f"the draft would be {size:,} bytes, more than a definition may be "
                               f"({MAX_YAML_BYTES:,}): the Questionnaire is too large for one definition"])
    doc, issues = parse_yaml(text, f"{instrument_id}.yaml")
    if doc is None or issues:
        raise FhirImportError([f"internal error: the draft does not read back as YAML ({issues[0] if issues else ''})"
                               " — please report it"])
    todos: list[Todo] = []
    from scoring.definitions.rules.drafts import path_below

    for line, what in doc.todos:
        todos.append(Todo(line, format_path(path_below(doc, line)), what))
    for path, line in doc.lines.items():
        value = _at(doc.data, path)
        if is_todo_value(value) and path and not (isinstance(path[-1], str) and path[-1].isdigit()):
            todos.append(Todo(line, format_path(path), str(value).strip()[4:].lstrip(": ").strip()))
    unique = {(t.line, t.path): t for t in todos}
    return Draft(text, instrument_id, tuple(sorted(unique.values(), key=lambda t: (t.line, t.path))))


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_list or (isinstance(data, dict) and part in data)):
            return None
        data = data[part]
    return data
