"""First-pass (shape) errors in the YAML author's words: pydantic's own wording never reaches the user.

One case per common type error, each located (file, line, path) with a hint on how to fix it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring import load_definition

GOOD = Path(__file__).parents[1] / "fixtures" / "definitions" / "good" / "demo_scale.yaml"

# (case, text replaced, replacement, code, path, message fragment, hint fragment)
CASES = [
    ("text for a whole number", "range: [0, 6]", "range: [0, six]", "E112", "scales[0].range[1]",
     "expected a whole number, found 'six'", "write digits only"),
    ("fraction for a whole number", "max_missing: 1", "max_missing: 1.5", "E112", "scales[0].missing.max_missing",
     "expected a whole number, found 1.5", "digits only"),
    ("list for text", "name: Total", "name: [Total]", "E112", "scales[0].name",
     "expected text, found a list ['Total']", "a single text"),
    ("empty value for text", "name: Demo scale", "name:", "E112", "name",
     "expected text, found nothing", "write the text after the colon"),
    ("yes for text", 'label: "Never"', "label: yes", "E112", "option_sets[0].options[0].label",
     "expected text, found true", "quote the text"),
    ("number for a version", "version: 1.0.0", "version: 1.0", "E112", "version",
     "expected text, found 1.0", 'in quotes, e.g. version: "1.0.0"'),
    ("scalar for a list", "items: [demo_scale_1, demo_scale_2, demo_scale_3]", "items: demo_scale_1", "E112",
     "scales[0].items", "expected a list, found 'demo_scale_1'", "even for a single entry"),
    ("text for a mapping", "licence:\n  redistribution: public_domain\n  statement: test fixture\n",
     "licence: public\n", "E112", "licence", "expected a mapping", "keys of 'licence'"),
    ("text for true/false", "reverse: false}", "reverse: maybe}", "E112", "items[0].reverse",
     "expected true or false, found 'maybe'", "write true or false"),
    ("value not allowed", "method: sum", "method: summ", "E112", "scales[0].method",
     "'summ' is not allowed here; allowed: sum, mean, count, max", "did you mean 'sum'?"),
    ("value not allowed, no close match", "redistribution: public_domain", "redistribution: free", "E112",
     "licence.redistribution", "allowed: public_domain, attribution", "case-sensitive"),
    ("list too short", "items: [demo_scale_1, demo_scale_2, demo_scale_3]", "items: []", "E112", "scales[0].items",
     "needs at least 1 entry, found 0", "add the missing entries"),
    ("fixed list too short", "range: [0, 6]", "range: [0]", "E111", "scales[0].range[1]",
     "too few entries: entry [1] is missing", "[lowest, highest]"),
    ("below a bound", "max_missing: 1", "max_missing: -1", "E112", "scales[0].missing.max_missing",
     "must be at least 0, found -1", "published value"),
    ("not an id", "id: demo_scale\n", "id: Demo Scale\n", "E112", "id", "'Demo Scale' is not a valid id",
     "lowercase snake_case"),
    ("missing field", "    higher_is: worse\n", "", "E111", "scales[0].higher_is",
     "required key 'higher_is' is missing", "instruments/README.md"),
    ("extra field", "    higher_is: worse\n", "    higher_is: worse\n    highr: 1\n", "E110", "scales[0].highr",
     "unknown key 'highr'", "did you mean 'higher_is'?"),
    ("extra field, no close match", "    higher_is: worse\n", "    higher_is: worse\n    colour: red\n", "E110",
     "scales[0].colour", "unknown key 'colour'", "allowed keys here:"),
]


@pytest.mark.parametrize(("old", "new", "code", "path", "message", "hint"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_shape_error_is_located_and_in_plain_words(tmp_path: Path, old: str, new: str, code: str, path: str,
                                                   message: str, hint: str) -> None:
    text = GOOD.read_text(encoding="utf-8")
    assert old in text
    file = tmp_path / "demo_scale.yaml"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
    definition, issues = load_definition(file)
    assert definition is None
    found = [i for i in issues if i.code == code and i.path == path]
    assert found, "\n".join(map(str, issues))
    issue = found[0]
    assert issue.file == str(file) and issue.line is not None
    assert message in issue.message, str(issue)
    assert hint in (issue.hint or ""), str(issue)
    for i in issues:
        assert "Input should" not in i.message and "should have at least" not in i.message, str(i)
