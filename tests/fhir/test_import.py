"""FHIR Questionnaire → definition draft (``scoring.fhir.importer``, ``psyscore fhir import``).

Round trip for every shipped definition: definition → Questionnaire → draft keeps the items (ids, text or
descriptor, reverse keying, LOINC codes), the options (values, labels), the gates (the answers that open
them), the languages (name, instructions, item and option text), and every scale whose calculatedExpression
is a plain sum; ``psyscore validate`` reports the draft's TODOs (E229, at their lines) and nothing else.
Questionnaires of other origins (LOINC-style linkIds and answer codes, R5 itemWeight, SDC variables) and
hostile input.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scoring.definitions.library import Definition, Library, load_definition
from scoring.definitions.loading import parse_yaml, to_model
from scoring.definitions.plan import compare
from scoring.definitions.schema import Instrument, Item
from scoring.fhir import to_questionnaire, urls
from scoring.fhir.expressions import scale_expression
from scoring.fhir.importer import (
    MAX_DEPTH,
    MAX_INPUT_BYTES,
    MAX_ITEMS,
    Draft,
    FhirImportError,
    from_questionnaire,
    read_questionnaire,
)
from tests.conftest import Cli
from tests.support.shipped import shipped_library

VERSIONS = sorted(shipped_library().definitions)  # every shipped (id, version), older versions too


def _model(draft: Draft) -> Instrument:
    doc, issues = parse_yaml(draft.text, draft.file_name)
    assert doc is not None and not issues, issues
    model, shape = to_model(Instrument, doc)
    assert model is not None, [str(i) for i in shape]
    return model


def _validate(draft: Draft, folder: Path) -> list[Any]:
    path = folder / draft.file_name
    path.write_text(draft.text, encoding="utf-8")
    definition, issues = load_definition(path)
    assert definition is None, "a draft with TODOs never enters a library"
    return issues


def _opening(ins: Instrument, item: Item) -> set[float]:
    gate = item.shown_if
    assert gate is not None
    gate_item = next(i for i in ins.items if i.id == gate.item)
    values = [o.value for o in next(s for s in ins.option_sets if s.id == gate_item.options).options]
    holds = compare(np.array(values, dtype=float), gate.op, gate.value)
    return {float(v) for v, ok in zip(values, holds, strict=True) if ok}


def _options(ins: Instrument, item: Item) -> list[tuple[float, str]]:
    return [(float(o.value), o.label) for o in next(s for s in ins.option_sets if s.id == item.options).options]


@pytest.mark.parametrize(("instrument", "version"), VERSIONS, ids=[f"{i}@{v}" for i, v in VERSIONS])
def test_round_trip_every_shipped_definition(library: Library, instrument: str, version: str, tmp_path: Path
                                             ) -> None:
    d: Definition = library.get_version(instrument, version)
    orig = d.instrument
    draft = from_questionnaire(json.dumps(to_questionnaire(d)))
    assert draft.instrument_id == orig.id and draft.file_name == f"{orig.id}.yaml"
    got = _model(draft)
    todo_paths = {t.path for t in draft.todos}
    assert (got.id, got.version, got.name, got.language) == (orig.id, orig.version, orig.name, orig.language)
    assert got.loinc_panel == orig.loinc_panel
    assert got.licence.redistribution == orig.licence.redistribution
    assert got.licence.statement == orig.licence.statement and got.copyright == orig.copyright.strip()
    no_text = orig.licence.redistribution == "no_item_text"
    assert got.instructions == (None if no_text else orig.instructions)
    # items: ids, order, text, options (values and labels), reverse keying, codes, gates
    assert [i.id for i in got.items] == [i.id for i in orig.items]
    for ii, (a, b) in enumerate(zip(got.items, orig.items, strict=True)):
        assert (a.text, a.descriptor) == ((None, b.descriptor or b.id) if no_text else (b.text, None))
        assert _options(got, a) == _options(orig, b), a.id
        assert a.reverse == b.reverse and a.loinc == b.loinc, a.id
        assert (a.shown_if is None) == (b.shown_if is None), a.id
        if b.shown_if is not None:
            assert a.shown_if is not None and a.shown_if.item == b.shown_if.item
            assert _opening(got, a) == _opening(orig, b), a.id
            if a.value_if_not_shown != b.value_if_not_shown:  # unknown to the draft: said at the gate
                assert a.value_if_not_shown is None and f"items[{ii}].shown_if" in todo_paths, a.id
        if not a.scored:
            assert f"items[{ii}]" in todo_paths
    # languages: every translation's name, instructions, item and option text
    assert set(got.translations) == set(orig.translations)
    for lang, tr in orig.translations.items():
        mine = got.translations[lang]
        assert (mine.name, mine.instructions, dict(mine.items)) == (tr.name, tr.instructions, dict(tr.items))
        assert {k: dict(v) for k, v in mine.option_sets.items()} == {k: dict(v) for k, v in tr.option_sets.items()
                                                                     if k in mine.option_sets}
    # scales: ids, names, codes; a plain sum read back exactly (items, weights, multiplier, missing rule)
    assert [(s.id, s.name, s.loinc) for s in got.scales] == [(s.id, s.name, s.loinc) for s in orig.scales]
    for si, (a, b) in enumerate(zip(got.scales, orig.scales, strict=True)):
        assert f"scales[{si}]" in todo_paths  # higher_is and bands, at least
        expr = scale_expression(orig, b).expression
        if expr is not None and b.method == "sum" and not re.search(r"count|max\(\)", expr):
            assert (a.items, dict(a.weights), a.multiplier) == (b.items, dict(b.weights), b.multiplier), a.id
            assert (a.missing.rule, a.missing.max_missing) == (b.missing.rule, b.missing.max_missing), a.id
            assert a.range == b.range, a.id
            gated = [i for i in orig.items if i.id in b.items and i.shown_if is not None]
            for item in gated:  # read back from the expression; the gate itself is compared above
                assert next(i for i in got.items if i.id == item.id).value_if_not_shown == item.value_if_not_shown
            if not gated:  # a gate comes back as the answers that open it ('> 0' as 'in [1, 2, 3, 4]')
                assert scale_expression(got, a).expression == expr, "the draft's scale gives the same expression"
            assert not any(t.path.startswith(f"scales[{si}].missing") for t in draft.todos)
    # validate: the TODOs, each at its own line, and nothing else
    issues = _validate(draft, tmp_path)
    assert [(i.code, i.line) for i in issues] == [("E229", t.line) for t in draft.todos], [str(i) for i in issues]
    lines = draft.text.splitlines()
    for t in draft.todos:
        assert "TODO" in lines[t.line - 1]


def test_phq9_in_spanish_keeps_both_languages(library: Library) -> None:
    d = library["phq9"]
    got = _model(from_questionnaire(to_questionnaire(d, language="es")))
    assert got.language == "es" and set(got.translations) == {"en", *d.instrument.translations} - {"es"}
    assert got.items[0].text == d.instrument.translations["es"].items["phq9_1"]
    assert got.translations["en"].items["phq9_1"] == d.instrument.items[0].text
    assert got.translations["en"].source.startswith("TODO")


def test_completing_the_todos_makes_a_valid_definition(library: Library, tmp_path: Path) -> None:
    """Deleting every TODO line and filling every placeholder is all that stands between draft and definition."""
    draft = from_questionnaire(to_questionnaire(library["gad7"]))
    out = []
    for line in draft.text.splitlines():
        if re.match(r"^\s*# TODO", line):
            continue
        out.append(re.sub(r'"TODO:[^"]*"', '"Completed from the published source"', line))
    path = tmp_path / "gad7.yaml"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    definition, issues = load_definition(path)
    assert definition is not None, [str(i) for i in issues]
    assert [i.code for i in issues] == ["W301"]  # no bands: the generic warning once the TODO is gone


def test_cli_import_then_validate(cli: Cli, library: Library, tmp_path: Path) -> None:
    q = tmp_path / "q.json"
    q.write_text(json.dumps(to_questionnaire(library["dass21"])), encoding="utf-8")
    folder = tmp_path / "drafts"
    folder.mkdir()
    code, out, err = cli("fhir", "import", q, "-o", folder)
    assert code == 0, err
    draft = from_questionnaire(q.read_text(encoding="utf-8"))
    written = folder / "dass21.yaml"
    assert written.read_text(encoding="utf-8") == draft.text
    assert f"{len(draft.todos)} TODO(s)" in err and "E229" in err
    code, out, err = cli("validate", written, "--json")
    assert code == 1
    issues = json.loads(out)
    issues = issues["issues"] if isinstance(issues, dict) else issues
    assert [(i["code"], i["line"]) for i in issues] == [("E229", t.line) for t in draft.todos]
    assert all(i["file"] == str(written) and i["message"].startswith("draft: ") for i in issues)
    code, out, err = cli("fhir", "import", q)
    assert code == 0 and out == draft.text
    code, _, err = cli("fhir", "import", q, "-o", tmp_path / "draft.yaml")
    assert code == 0 and "dass21.yaml" in err and "E222" in err


def test_cli_import_of_bad_input_exits_1(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Questionnaire", ', encoding="utf-8")
    code, out, err = cli("fhir", "import", bad)
    assert code == 1 and out == ""
    assert f"{bad}: not valid JSON" in err and "line 1" in err
    code, _, err = cli("fhir", "import", tmp_path / "missing.json")
    assert code == 1 and "no such file" in err


# ------------------------------------------------------------------------------------------------ other origins


def _coding(code: str, display: str, score: float | None, *, where: str = "coding") -> dict[str, Any]:
    coding: dict[str, Any] = {"system": "http://loinc.org", "code": code, "display": display}
    option: dict[str, Any] = {"valueCoding": coding}
    if score is not None:
        ext = [{"url": urls.ORDINAL_VALUE if where == "coding" else urls.ITEM_WEIGHT, "valueDecimal": score}]
        (coding if where == "coding" else option)["extension"] = ext
    return option


def _foreign(**changes: Any) -> dict[str, Any]:
    """An invented three-question form in the shape the LOINC/NLM form library uses (path-like linkIds,
    LA answer codes with ordinalValue, SDC variables, missing answers counted as 0). Not a real instrument."""
    answers = [_coding("LA1-1", "Never", 0), _coding("LA2-2", "Sometimes", 1), _coding("LA3-3", "Often", 2)]
    var = [{"url": "http://hl7.org/fhir/StructureDefinition/variable",
            "valueExpression": {"name": n, "language": "text/fhirpath",
                                "expression": f"%resource.item.where(linkId='/g/{q}').answer.value.ordinal()"}}
           for n, q in (("a", "q1"), ("b", "q2"), ("c", "q3"))]
    q: dict[str, Any] = {
        "resourceType": "Questionnaire", "status": "draft", "name": "ExampleForm", "title": "Example form",
        "language": "en", "version": "2.01", "url": "http://example.org/Questionnaire/example",
        "copyright": "Example copyright notice", "code": [{"system": "http://loinc.org", "code": "44249-1"}],
        "extension": var,
        "item": [{"linkId": "/g", "type": "group", "text": "Answer every question.", "item": [
            {"linkId": "/g/q1", "type": "choice", "text": "First question?", "answerOption": answers,
             "code": [{"system": "http://loinc.org", "code": "44250-9"}]},
            {"linkId": "/g/intro", "type": "display", "text": "A display between the questions"},
            {"linkId": "/g/q2", "type": "choice", "text": "Second question?", "answerOption": answers},
            {"linkId": "/g/q3", "type": "choice", "text": "Third question?", "answerOption": answers,
             "enableWhen": [{"question": "/g/q1", "operator": "!=", "answerCoding": {"code": "LA1-1"}}]},
            {"linkId": "/g/score", "type": "decimal", "readOnly": True, "text": "Total score",
             "extension": [{"url": urls.CALCULATED, "valueExpression": {
                 "language": "text/fhirpath",
                 "expression": "iif(%a.exists(), %a, 0) + iif(%b.exists(), %b, 0) + iif(%c.exists(), %c, 0)"}}]},
        ]}],
    }
    q.update(changes)
    return q


def test_a_loinc_style_form(tmp_path: Path) -> None:
    draft = from_questionnaire(_foreign())
    got = _model(draft)
    assert got.id == "exampleform" and got.version == "1.0.0" and got.loinc_panel == "44249-1"
    assert [i.id for i in got.items] == ["q1", "q2", "q3"]
    assert [i.text for i in got.items] == ["First question?", "Second question?", "Third question?"]
    assert got.items[0].loinc == "44250-9" and _options(got, got.items[0]) == [(0, "Never"), (1, "Sometimes"),
                                                                               (2, "Often")]
    assert len(got.option_sets) == 1 and all(i.options == got.option_sets[0].id for i in got.items)
    assert got.items[2].shown_if is not None and _opening(got, got.items[2]) == {1.0, 2.0}
    assert got.copyright == "Example copyright notice" and got.licence.statement.startswith("TODO")
    assert got.instructions == "Answer every question."  # the group heading; a display between questions is not
    (scale,) = got.scales
    assert (scale.items, scale.method, scale.missing.rule, scale.range) == (("q1", "q2", "q3"), "sum", "complete",
                                                                             (0, 6))
    paths = {t.path: t.text for t in draft.todos}
    assert "scales[0].missing" in paths and "as 0" in paths["scales[0].missing"]
    assert "licence" in paths and "citations[0]" in paths and "items[2].shown_if" in paths and "instructions" in paths
    assert any("/g/intro" in t for t in paths.values())
    assert '# linkId "/g/q1"' in draft.text
    issues = _validate(draft, tmp_path)
    assert [(i.code, i.line) for i in issues] == [("E229", t.line) for t in draft.todos], [str(i) for i in issues]


def test_r5_item_weight_on_the_answer_option_and_reverse_keyed_codes() -> None:
    options = [{"valueCoding": {"code": str(v), "display": f"answer {v}"},
                "extension": [{"url": urls.ITEM_WEIGHT, "valueDecimal": 4 - v}]} for v in range(5)]
    q = _foreign(item=[{"linkId": "r1", "type": "coding", "text": "Reversed?", "answerOption": options},
                       {"linkId": "r2", "type": "coding", "text": "Forward?", "answerOption": [
                           {**o, "extension": [{"url": urls.ITEM_WEIGHT, "valueDecimal": v}]}
                           for v, o in enumerate(options)]}],
                 extension=[])
    got = _model(from_questionnaire(q))
    assert [(i.id, i.reverse) for i in got.items] == [("r1", True), ("r2", False)]
    assert _options(got, got.items[0]) == [(v, f"answer {v}") for v in range(5)]
    assert got.items[0].options == got.items[1].options  # same codes and labels: one option set


def test_no_item_score_is_never_guessed_from_the_order(tmp_path: Path) -> None:
    """Numeric codes without ordinalValue are taken as the values with a TODO; text codes get no value at all."""
    numeric = [{"valueCoding": {"code": str(v), "display": f"answer {v}"}} for v in (1, 2, 3)]
    q = _foreign(item=[{"linkId": "n1", "type": "choice", "text": "Numeric codes?", "answerOption": numeric}],
                 extension=[])
    draft = from_questionnaire(q)
    assert _options(_model(draft), _model(draft).items[0]) == [(1, "answer 1"), (2, "answer 2"), (3, "answer 3")]
    assert any(t.path == "option_sets[0]" and "no item score" in t.text for t in draft.todos)
    coded = [_coding(f"LA{v}-0", f"answer {v}", None) for v in (1, 2, 3)]
    draft = from_questionnaire(_foreign(item=[{"linkId": "t1", "type": "choice", "text": "Text codes?",
                                               "answerOption": coded}], extension=[]))
    assert "value: \"TODO: the score of answer 'answer 1'" in draft.text
    issues = _validate(draft, tmp_path)  # a value the format needs as a number: the shape pass says so
    assert {i.code for i in issues} == {"E112"} and all(i.line for i in issues)


def test_a_scale_that_is_not_a_plain_sum_is_a_todo(library: Library) -> None:
    draft = from_questionnaire(to_questionnaire(library["pc_ptsd5"]))  # a count of Yes answers
    todo = next(t for t in draft.todos if t.path == "scales[0]")
    assert "not a plain sum" in todo.text and "placeholder" in todo.text
    assert _model(draft).scales[0].higher_is == "neutral"


# ------------------------------------------------------------------------------------------------ hostile input


@pytest.mark.parametrize(("source", "needle"), [
    ('{"resourceType": "Questionnaire", "item": [', "not valid JSON: Expecting value at line 1"),
    (b"\xff\xfe{}", "not UTF-8"),
    ("[1, 2]", "a JSON list, not a FHIR resource"),
    ('{"resourceType": "Patient"}', "a Patient, not a Questionnaire"),
    ('{"item": []}', "without resourceType"),
    ('{"resourceType": "Bundle", "entry": []}', "a Bundle with 0 Questionnaires"),
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ('{"resourceType": "Questionnaire", "item": {"linkId": "x"}}', "item is not a list"),
    ('{"resourceType": "Questionnaire", "item": [3]}', "item[0] is not an object"),
    ('{"resourceType": "Questionnaire", "item": [{"type": "choice"}]}', "item[0] has no linkId"),
    ('{"resourceType": "Questionnaire", "item": [{"linkId": "a", "type": "display", "text": "hi"}]}',
     "no choice questions"),
])
def test_hostile_input_is_a_clear_error(source: str | bytes, needle: str) -> None:
    with pytest.raises(FhirImportError) as err:
        from_questionnaire(source)
    assert needle in str(err.value)


def _choice(link: str, **extra: Any) -> dict[str, Any]:
    return {"linkId": link, "type": "choice", "text": link,
            "answerOption": [_coding("a", "A", 0), _coding("b", "B", 1)], **extra}


def test_deep_nesting_many_items_and_huge_input() -> None:
    deep: dict[str, Any] = _choice("leaf")
    for n in range(MAX_DEPTH + 2):
        deep = {"linkId": f"g{n}", "type": "group", "item": [deep]}
    with pytest.raises(FhirImportError, match=f"nested more than {MAX_DEPTH} levels"):
        from_questionnaire(_foreign(item=[deep]))
    with pytest.raises(FhirImportError, match=f"more than {MAX_ITEMS} items"):
        from_questionnaire(_foreign(item=[_choice(f"i{n}") for n in range(MAX_ITEMS + 1)]))
    with pytest.raises(FhirImportError, match="larger than 16 MB"):
        from_questionnaire(" " * (MAX_INPUT_BYTES + 1))
    with pytest.raises(FhirImportError, match="draft would be"):  # within the limits, but no definition that big
        from_questionnaire(_foreign(item=[_choice(f"i{n}", text="x" * 1000) for n in range(MAX_ITEMS - 1)]))


def test_every_problem_of_the_items_is_listed() -> None:
    q = _foreign(item=[
        _choice("a"), _choice("a"),
        _choice("m", repeats=True),
        {"linkId": "vs", "type": "choice", "text": "vs", "answerValueSet": "http://example.org/ValueSet/x"},
        {"linkId": "one", "type": "choice", "text": "one", "answerOption": [_coding("a", "A", 0)]},
        {"linkId": "bad", "type": "choice", "text": "bad", "answerOption": [{"valueDate": "2020-01-01"},
                                                                           _coding("b", "B", 1)]},
    ])
    with pytest.raises(FhirImportError) as err:
        from_questionnaire(q)
    text = str(err.value)
    for needle in ("linkId 'a' is used twice", "'m'", "repeats", "ValueSet 'http://example.org/ValueSet/x'",
                   "item 'one'", "at least 2 answer options", "valueDate"):
        assert needle in text, needle


def test_odd_text_is_kept_verbatim_and_safely_quoted() -> None:
    tricky = 'He said: "no" # not a comment\n\tnext line \\ done\u2028 — ü, 日本, \x07'
    q = _foreign(item=[_choice("a", text=tricky), _choice("b", text="# TODO: looks like a marker")], extension=[])
    draft = from_questionnaire(q)
    got = _model(draft)
    assert [i.text for i in got.items] == [tricky, "# TODO: looks like a marker"]
    assert all(t.path != "items[1].text" for t in draft.todos), "text of the form is not a TODO marker"
    with pytest.raises(FhirImportError, match="invalid character"):
        from_questionnaire(_foreign(item=[_choice("a", text="bad \ud800 surrogate")], extension=[]))


def test_a_contained_value_set_and_a_bundle_of_one() -> None:
    vs = {"resourceType": "ValueSet", "id": "answers", "status": "active", "expansion": {
        "timestamp": "2024-01-01", "contains": [
            {"system": "http://example.org/cs", "code": "n", "display": "No",
             "extension": [{"url": urls.ORDINAL_VALUE, "valueDecimal": 0}]},
            {"system": "http://example.org/cs", "code": "y", "display": "Yes",
             "extension": [{"url": urls.ORDINAL_VALUE, "valueDecimal": 1}]}]}}
    q = _foreign(contained=[vs], extension=[], item=[
        {"linkId": "x", "type": "choice", "text": "Question?", "answerValueSet": "#answers"}])
    got = _model(from_questionnaire({"resourceType": "Bundle", "entry": [{"resource": q}]}))
    assert _options(got, got.items[0]) == [(0, "No"), (1, "Yes")]


def test_read_questionnaire_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text('{"resourceType": "Observation"}', encoding="utf-8")
    with pytest.raises(FhirImportError, match=re.escape(f"{path}: a Observation, not a Questionnaire")):
        read_questionnaire(path)
    with pytest.raises(FhirImportError, match="no such file"):
        read_questionnaire(tmp_path)


# ------------------------------------------------------------------------------------------------ the TODO rule


def test_todo_markers_in_a_hand_written_file(library: Library, tmp_path: Path) -> None:
    """A '# TODO' line inside a block scalar is text, not a marker; one right after it is a marker; a text
    value starting with TODO is a placeholder; each is E229 at its line, in line order."""
    path = tmp_path / "gad7.yaml"
    text = (library["gad7"].path or Path()).read_text(encoding="utf-8")
    text = text.replace("\nscales:\n", "\nscales:\n  # TODO: write the bands\n", 1)
    text = re.sub(r"\ncopyright: .*?\n(?=licence:)", '\ncopyright: "TODO: the notice"\n', text, count=1,
                  flags=re.DOTALL)
    text = text.replace("\ninstructions: ", "\nnotes: |-\n  # TODO: not a marker, a line of text\n# TODO: after the "
                        "block\ninstructions: ", 1)
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    definition, issues = load_definition(path)
    assert definition is None
    got = [(i.code, lines[i.line - 1].strip(), i.path) for i in issues]
    assert [(c, line) for c, line, _ in got] == [
        ("E229", 'copyright: "TODO: the notice"'),
        ("E229", "# TODO: after the block"),
        ("E229", "# TODO: write the bands")], got
    assert got[1][2] == "instructions" and got[2][2] == "scales[0]"
    assert issues[2].message == "draft: TODO write the bands"
    assert issues[0].message == "draft: placeholder 'TODO: the notice'"


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*path, i))
    return out


def test_mutated_questionnaires_never_crash(library: Library) -> None:
    """Any value of a real Questionnaire replaced by junk (or removed): a draft or a FhirImportError, nothing else;
    a draft always reads back as YAML (checked inside) and holds no character YAML cannot read."""
    import copy
    import random

    rng = random.Random(20261204)
    bases = [to_questionnaire(library[i]) for i in ("phq9", "pc_ptsd5", "audit", "who5", "epds")]
    junk: list[Any] = [None, True, 0, -1, 1.5, "", "x", "TODO: x", [], {}, [1], {"a": 1}, "a\u2028b: c", "\ud800",
                       "\x07", 10**30, float("nan")]
    drafts = 0
    for _ in range(120):
        q = copy.deepcopy(rng.choice(bases))
        paths = _paths(q)[1:]
        for _ in range(rng.randint(1, 6)):
            *parents, last = rng.choice(paths)
            node: Any = q
            try:
                for part in parents:
                    node = node[part]
                if rng.random() < 0.2 and isinstance(node, dict):
                    del node[last]
                else:
                    node[last] = copy.deepcopy(rng.choice(junk))
            except (KeyError, IndexError, TypeError):
                continue
        try:
            draft = from_questionnaire(q)
        except FhirImportError as exc:
            assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
            continue
        drafts += 1
        draft.text.encode("utf-8")
    assert drafts > 20  # many mutations still give a draft
