"""QuestionnaireResponse → the engine's wide input, and scores.

:func:`read_responses` reads one QuestionnaireResponse, a Bundle of them, or a folder of such ``.json`` files.
Each response is matched to a definition by its canonical ``questionnaire`` (``url|version``) and its answers
by linkId; a coded answer is read by its code within the item's option set, else by its item score (the
``ordinalValue`` extension, or R5's ``itemWeight``) mapped back to the one option that gives it; ``valueInteger``
and ``valueDecimal`` are taken as the option value. The respondent's sex (for sex-specific rules) comes from a
Patient of the same Bundle that the response's ``subject`` names; Patient entries are context, not failures.
A response with any problem (an unknown questionnaire, a
code not in the option set, a linkId the questionnaire does not have, two answers to one question, nesting
deeper than :data:`MAX_DEPTH`, …) is left out of the frame and gets one failure row per problem — it is
never scored with the bad answer dropped. Malformed JSON and resources of another type are failures too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scoring.definitions.library import Definition, Library
from scoring.errors import PsyscoreError
from scoring.fhir import urls

#: columns of the failures table
FAILURE_COLUMNS = ("file", "response", "link_id", "value", "code", "message", "hint")
#: columns of the frame ahead of the item columns
META_COLUMNS = ("file", "response", "questionnaire", "instrument", "version", "subject", "sex", "authored",
                "status")
#: deepest item nesting accepted (our Questionnaires are flat; form fillers may wrap them in a group or two)
MAX_DEPTH = 16
# Bundle entries read as context, never as failures: the respondents (sex), the forms and earlier scores, as in
# the Bundles psyscore itself exports (scoring.fhir.bundle).
CONTEXT_TYPES = frozenset({"Patient", "Questionnaire", "Observation"})
#: largest file read (a Bundle of 10,000 PHQ-9 responses is about 30 MB)
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class _Form:
    """What the reader needs of one definition: its items' option values, systems and item scores."""

    definition: Definition
    values: dict[str, dict[str, float]]  # item → code → option value
    systems: dict[str, str]  # item → CodeSystem url
    by_score: dict[str, dict[float, list[float]]]  # item → item score → option values giving it
    scales: frozenset[str]
    display: frozenset[str]

    @classmethod
    def of(cls, d: Definition) -> _Form:
        ins = d.instrument
        sets = {s.id: s for s in ins.option_sets}
        values, systems, by_score = {}, {}, {}
        for item in ins.items:
            opts = sets[item.options].options
            lo, hi = min(o.value for o in opts), max(o.value for o in opts)
            values[item.id] = {urls.option_code(o.value): float(o.value) for o in opts}
            systems[item.id] = urls.answer_system(ins.id, item.options)
            scores: dict[float, list[float]] = {}
            for o in opts:
                scores.setdefault(float(lo + hi - o.value if item.reverse else o.value), []).append(float(o.value))
            by_score[item.id] = scores
        scales = frozenset(f"{urls.SCORE_PREFIX}{s.id}" for s in ins.scales)
        notes = frozenset(f"{urls.SCORE_PREFIX}{s.id}.note" for s in ins.scales) | {f"{ins.id}.instructions"}
        return cls(d, values, systems, by_score, scales, frozenset(notes))


@dataclass
class _Reading:
    file: str
    response: str
    failures: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, code: str, message: str, hint: str, link_id: str = "", value: object = "") -> None:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)[:200]
        self.failures.append({"file": self.file, "response": self.response, "link_id": link_id, "value": shown,
                              "code": code, "message": message, "hint": hint})


class FhirInputError(PsyscoreError):
    """The source given to :func:`read_responses` cannot be read at all (no such file or folder)."""


def _files(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.rglob("*.json") if p.is_file())
    if source.is_file():
        return [source]
    raise FhirInputError(f"no such file or folder: {source}")


def _load(path: Path, rows: list[dict[str, Any]]) -> Any:
    reading = _Reading(str(path), "")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            reading.fail("file_too_large", f"the file is larger than {MAX_FILE_BYTES // 2**20} MB",
                         "split it into several Bundles or a folder of responses")
            rows.extend(reading.failures)
            return None
        text = path.read_text(encoding="utf-8")
        return json.loads(text)
    except UnicodeDecodeError:
        reading.fail("not_utf8", "the file is not UTF-8 text", "save it as UTF-8 JSON")
    except json.JSONDecodeError as exc:
        reading.fail("malformed_json", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                     "fix the JSON (a FHIR resource is one JSON object)")
    except RecursionError:
        reading.fail("too_deep", "the JSON is nested too deeply to read", "a QuestionnaireResponse nests a few levels")
    except OSError as exc:
        reading.fail("unreadable", f"cannot read the file: {exc.strerror}", "check the path and its permissions")
    rows.extend(reading.failures)
    return None


def _responses(doc: Any, file: str, failures: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every QuestionnaireResponse of a resource (itself, or a Bundle's entries), with where it sits."""
    if not isinstance(doc, dict):
        failures.append({"file": file, "response": "", "link_id": "", "value": "", "code": "wrong_resource_type",
                         "message": f"a JSON {type(doc).__name__}, not a FHIR resource",
                         "hint": "give a QuestionnaireResponse or a Bundle of them"})
        return
    kind = doc.get("resourceType")
    if kind == "QuestionnaireResponse":
        yield str(doc.get("id") or "(no id)"), doc
        return
    if kind == "Bundle":
        entries = doc.get("entry") or []
        if not isinstance(entries, list):
            entries = []
        found = other = False
        for n, entry in enumerate(entries, start=1):
            res = entry.get("resource") if isinstance(entry, dict) else None
            where = f"entry {n}"
            if isinstance(res, dict) and res.get("resourceType") == "QuestionnaireResponse":
                found = True
                yield f"{where} ({res.get('id') or 'no id'})", res
            elif isinstance(res, dict) and res.get("resourceType") in CONTEXT_TYPES:
                continue  # context (the respondents' sex, the forms, earlier scores), not a response
            else:
                got = res.get("resourceType") if isinstance(res, dict) else None
                other = True
                failures.append({"file": file, "response": where, "link_id": "", "value": str(got or ""),
                                 "code": "wrong_resource_type",
                                 "message": f"the entry is {'a ' + str(got) if got else 'not a resource'}, not a "
                                            "QuestionnaireResponse",
                                 "hint": "only QuestionnaireResponse entries are scored (Patient, Questionnaire and "
                                         "Observation entries are context); remove the others"})
        if not found and not other:
            failures.append({"file": file, "response": "", "link_id": "", "value": "", "code": "no_responses",
                             "message": "the Bundle holds no QuestionnaireResponse",
                             "hint": "give a Bundle with QuestionnaireResponse entries (Patient, Questionnaire and "
                                     "Observation entries are read as context only)"})
        return
    failures.append({"file": file, "response": str(doc.get("id") or ""), "link_id": "", "value": str(kind or ""),
                     "code": "wrong_resource_type",
                     "message": f"a {kind or 'JSON object without resourceType'}, not a QuestionnaireResponse "
                                "or Bundle",
                     "hint": "give a QuestionnaireResponse, a Bundle of them, or a folder of such files"})


def _genders(doc: Any) -> dict[str, str]:
    """``Patient/<id>`` (and each entry's ``fullUrl``) → ``female``/``male`` for the Patients of a Bundle, so
    sex-specific rules (PHQ-15 item 4, sex-specific cut-offs) apply; other genders are left unknown."""
    out: dict[str, str] = {}
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle" or not isinstance(doc.get("entry"), list):
        return out
    for entry in doc["entry"]:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict) or res.get("resourceType") != "Patient":
            continue
        gender = res.get("gender")
        if gender not in ("female", "male"):
            continue
        if isinstance(res.get("id"), str):
            out[f"Patient/{res['id']}"] = gender
        if isinstance(entry.get("fullUrl"), str):
            out[entry["fullUrl"]] = gender
    return out


def _match(lib: Library, canonical: object, forms: dict[str, _Form], reading: _Reading) -> _Form | None:
    if not isinstance(canonical, str) or not canonical:
        reading.fail("no_questionnaire", "the response names no questionnaire",
                     f"set questionnaire to the canonical url, e.g. {urls.questionnaire_url('phq9')}|1.0.0")
        return None
    url, _, version = canonical.partition("|")
    prefix = urls.questionnaire_url("")
    instrument = url[len(prefix):] if url.startswith(prefix) else ""
    if not instrument or instrument not in lib:
        reading.fail("unknown_questionnaire", f"no psyscore definition has the canonical url {url}",
                     "score only responses to Questionnaires made by 'psyscore fhir questionnaire' (see "
                     "'psyscore instruments' for the ids)", value=canonical)
        return None
    if not version:
        versions = lib.versions(instrument)
        if len(versions) != 1:
            reading.fail("ambiguous_version", f"{instrument} has several versions ({', '.join(versions)}) and the "
                         "response names none", f"write the version after '|': {url}|{versions[-1]}", value=canonical)
            return None
        version = versions[0]
    try:
        d = lib.get_version(instrument, version)
    except PsyscoreError:
        reading.fail("unknown_version", f"{instrument} has no version {version} "
                     f"(known: {', '.join(lib.versions(instrument))})",
                     "add the definition of that version with --definitions, or fix the version", value=canonical)
        return None
    key = f"{d.id}|{d.version}"
    if key not in forms:
        forms[key] = _Form.of(d)
    return forms[key]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _ordinal(coding: dict[str, Any]) -> tuple[float | None, bool]:
    """The item score a coding carries (ordinalValue or itemWeight), and whether one was given at all."""
    for ext in coding.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") in (urls.ORDINAL_VALUE, urls.ITEM_WEIGHT):
            return _number(ext.get("valueDecimal", ext.get("valueInteger"))), True
    return None, False


def _answer_value(form: _Form, link_id: str, answer: dict[str, Any], reading: _Reading) -> float | None:
    codes = form.values[link_id]
    allowed = ", ".join(codes)
    if "valueCoding" in answer:
        coding = answer["valueCoding"]
        if not isinstance(coding, dict):
            reading.fail("bad_answer", "valueCoding is not a Coding", "a Coding is an object with system and code",
                         link_id, coding)
            return None
        system, code = coding.get("system"), coding.get("code")
        score, has_score = _ordinal(coding)
        ours = system in (None, form.systems[link_id])
        if ours and isinstance(code, str) and code in codes:
            value = codes[code]
            if has_score and value not in form.by_score[link_id].get(score if score is not None else math.nan, []):
                reading.fail("conflicting_answer", f"code {code} and item score {score} name different options",
                             "fix the coding: the code and its ordinalValue must be of the same option",
                             link_id, coding)
                return None
            return value
        if has_score and score is not None and (not ours or code is None):
            options = form.by_score[link_id].get(score, [])
            if len(options) == 1:
                return options[0]
            reading.fail("not_an_option", f"no single option of {link_id} has the item score {score}",
                         f"item scores of {link_id}: {', '.join(urls.option_code(s) for s in form.by_score[link_id])}",
                         link_id, coding)
            return None
        reading.fail("not_an_option", f"the code {code!r} (system {system or 'none'}) is not an answer of {link_id}",
                     f"use one of the codes {allowed} of {form.systems[link_id]}, or give the item score in the "
                     "ordinalValue extension", link_id, coding)
        return None
    for key in ("valueInteger", "valueDecimal"):
        if key in answer:
            number = _number(answer[key])
            if number is not None and urls.option_code(number) in codes:
                return number
            reading.fail("not_an_option", f"{key} {answer[key]!r} is not an answer value of {link_id}",
                         f"the answer values of {link_id} are {allowed}", link_id, answer[key])
            return None
    kinds = [k for k in answer if k.startswith("value")]
    reading.fail("unsupported_answer", f"an answer of type {kinds[0] if kinds else 'none'} to a choice question",
                 "answer with valueCoding (or valueInteger/valueDecimal with the option value)", link_id, answer)
    return None


def _walk(items: object, depth: int, out: list[tuple[Any, Any]], reading: _Reading) -> bool:
    """Every (linkId, answers) of a response's item tree; False when it is nested too deeply."""
    if not isinstance(items, list):
        reading.fail("bad_item", "item is not a list", "QuestionnaireResponse.item is a JSON array", value=items)
        return True
    for item in items:
        if not isinstance(item, dict):
            reading.fail("bad_item", "an item is not an object", "each item is a JSON object with a linkId", value=item)
            continue
        if depth > MAX_DEPTH:
            reading.fail("too_deep", f"items are nested more than {MAX_DEPTH} levels deep",
                         "flatten the response: psyscore's Questionnaires are flat", str(item.get("linkId", "")))
            return False
        out.append((item.get("linkId"), item.get("answer")))
        if "item" in item and not _walk(item["item"], depth + 1, out, reading):
            return False
        answers = item.get("answer")
        for answer in answers if isinstance(answers, list) else []:
            if isinstance(answer, dict) and "item" in answer and not _walk(answer["item"], depth + 1, out, reading):
                return False
    return True


def _read_one(lib: Library, doc: dict[str, Any], reading: _Reading, forms: dict[str, _Form],
              genders: dict[str, str]) -> dict[str, Any] | None:
    form = _match(lib, doc.get("questionnaire"), forms, reading)
    status = doc.get("status")
    if status == "entered-in-error":
        reading.fail("entered_in_error", "the response is marked entered-in-error", "it is not scored; send the "
                     "corrected response instead", value=status)
    if form is None:
        return None
    found: list[tuple[Any, Any]] = []
    _walk(doc.get("item") or [], 1, found, reading)
    d = form.definition
    subject = doc.get("subject")
    reference = subject.get("reference", "") if isinstance(subject, dict) else ""
    row: dict[str, Any] = {
        "file": reading.file, "response": reading.response, "questionnaire": doc.get("questionnaire"),
        "instrument": d.id, "version": d.version, "subject": reference,
        "sex": genders.get(reference) if isinstance(reference, str) else None,
        "authored": doc.get("authored", ""), "status": status or "",
    }
    seen: set[str] = set()
    for link_id, answers in found:
        if not isinstance(link_id, str):
            reading.fail("bad_item", "an item has no linkId", "every item needs the linkId of its question",
                         value=link_id)
            continue
        if link_id in form.scales or link_id in form.display:
            continue  # calculated scores and display text: the engine scores the answers itself
        if link_id not in form.values:
            if answers:
                reading.fail("unknown_link_id", f"{d.id} {d.version} has no question {link_id!r}",
                             f"answer the questions {next(iter(form.values))} … of the Questionnaire "
                             f"{urls.questionnaire_url(d.id)}|{d.version}", link_id)
            continue  # a group around the questions
        if link_id in seen:
            reading.fail("duplicate_answer", f"{link_id} appears twice", "give each question once", link_id)
            continue
        seen.add(link_id)
        if not answers:
            row[link_id] = math.nan
            continue
        if not isinstance(answers, list) or len(answers) != 1 or not isinstance(answers[0], dict):
            reading.fail("several_answers", f"{link_id} has {len(answers) if isinstance(answers, list) else 'no'} "
                         "answers; it takes exactly one", "give one answer per question", link_id, answers)
            continue
        row[link_id] = _answer_value(form, link_id, answers[0], reading)
    if reading.failures:
        return None
    for item_id in form.values:
        row.setdefault(item_id, math.nan)
    return row


def read_responses(lib: Library, source: Path | str | dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read QuestionnaireResponses into the engine's wide input: one row per response.

    ``source`` is a ``.json`` file (a QuestionnaireResponse or a Bundle), a folder of such files (read
    recursively, in name order) or an already-parsed resource. Returns ``(frame, failures)``: the frame has
    :data:`META_COLUMNS` then every answered instrument's item columns (answers as option values, NaN when
    unanswered); a response with any problem is not in it, and ``failures`` (:data:`FAILURE_COLUMNS`) says what,
    where and how to fix it.
    """
    failures: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    forms: dict[str, _Form] = {}
    def documents() -> Iterator[tuple[str, Any]]:
        if isinstance(source, dict):
            yield "(resource)", source
            return
        for path in _files(Path(source)):  # one file at a time: failures stay in file order
            doc = _load(path, failures)
            if doc is not None:
                yield str(path), doc

    for file, doc in documents():
        genders = _genders(doc)
        for response, qr in _responses(doc, file, failures):
            reading = _Reading(file, response)
            row = _read_one(lib, qr, reading, forms, genders)
            failures.extend(reading.failures)
            if row is not None:
                rows.append(row)
    item_cols: list[str] = []
    for form in forms.values():
        item_cols.extend(c for c in form.values if c not in item_cols)
    frame = pd.DataFrame(rows, columns=[*META_COLUMNS, *item_cols])
    for col in item_cols:
        frame[col] = frame[col].astype(float)
    return frame, pd.DataFrame(failures, columns=list(FAILURE_COLUMNS))


def score_responses(lib: Library, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score a :func:`read_responses` frame with the engine, one definition at a time.

    Returns ``(scores, failures)``: the engine's score columns after :data:`META_COLUMNS` (rows of different
    instruments stacked, each with its own columns), and the engine's cell failures (an answer to an item that
    was not shown or does not apply: ignored) with the file and response named.
    """
    from scoring.engine import score

    parts, fails = [], []
    if frame.empty:
        return pd.DataFrame(columns=list(META_COLUMNS)), pd.DataFrame(columns=["file", "response", "item", "value",
                                                                         "code", "message"])
    for (instrument, version), group in frame.groupby(["instrument", "version"], sort=False):
        d = lib.get_version(str(instrument), str(version))
        items = list(d.plan.item_ids)
        result = score(d, group[[*META_COLUMNS, *items]].reset_index(drop=True))
        out = result.scores.drop(columns=items, errors="ignore")
        parts.append(out)
        if not result.failures.empty:
            f = result.failures.copy()
            rows = [None if pd.isna(r) else int(r) for r in f["row"]]  # missing: a whole-column problem
            f.insert(0, "response", [group["response"].iloc[r] if r is not None else "" for r in rows])
            f.insert(0, "file", [group["file"].iloc[r] if r is not None else "" for r in rows])
            fails.append(f.drop(columns=["row"]))
    scores = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(META_COLUMNS))
    failures = pd.concat(fails, ignore_index=True) if fails else pd.DataFrame(
        columns=["file", "response", "item", "value", "code", "message"])
    return scores, failures
