"""Gate and applicability values have the type they are compared with (E225, pass 2), and the compiled plan
compares them that way in the engine and the kiosk.

A gate compares the gate item's answer code, a number; ``applies_if`` compares canonical sex words for
``sex``, numbers for a numeric value (``age >= 18``), text otherwise. Before, ``value: abc`` passed
validation and ``score()`` raised a raw ValueError; ``age >= 18`` silently excluded everybody.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import scoring
from scoring.definitions.library import Definition, load_definition
from scoring.definitions.plan import PlanError
from scoring.definitions.schema import Instrument
from scoring.engine.visibility import visible_items
from scoring.errors import Issue

ITEM_LINE = 21  # the line of the conditioned item in the file written by _write


def _write(tmp_path: Path, condition: str) -> Path:
    """A valid 3-item definition whose second item carries ``condition`` (a flow mapping) on line 21."""
    text = f"""\
# a definition to test condition value types
id: demo
version: 1.0.0
name: Demo scale
abbreviation: DEMO
citations: ["Test fixture"]
source_url: https://example.org
text_source: test fixture
copyright: none
licence:
  redistribution: public_domain
  statement: test fixture
option_sets:
  - id: freq
    options:
      - {{value: 0, label: "Never"}}
      - {{value: 1, label: "Sometimes"}}
      - {{value: 2, label: "Often"}}
items:
  - {{id: demo_1, text: "One", options: freq, reverse: false}}
  - {{id: demo_2, text: "Two", options: freq, reverse: false, {condition}}}
  - {{id: demo_3, text: "Three", options: freq, reverse: false}}
scales:
  - id: total
    name: Total
    items: [demo_1, demo_2, demo_3]
    method: sum
    range: [0, 6]
    higher_is: worse
    missing: {{rule: complete}}
    bands:
      source: test
      ranges:
        - {{min: 0, max: 2, label: Low, severity: 0}}
        - {{min: 3, max: 6, label: High, severity: 1}}
"""
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    assert text.splitlines()[ITEM_LINE - 1].startswith("  - {id: demo_2")
    return path


def _e225(tmp_path: Path, condition: str) -> Issue:
    definition, issues = load_definition(_write(tmp_path, condition))
    found = [i for i in issues if i.code == "E225"]
    assert definition is None, f"{condition} should not validate; issues: {issues}"
    assert len(found) == 1, issues
    issue = found[0]
    assert issue.severity == "error"
    assert issue.file and issue.file.endswith("demo.yaml")
    assert issue.line == ITEM_LINE
    assert issue.hint
    return issue


def _valid(tmp_path: Path, condition: str) -> Definition:
    definition, issues = load_definition(_write(tmp_path, condition))
    assert definition is not None, issues
    assert not [i for i in issues if i.severity == "error"]
    return definition


# --- gates (shown_if): numbers only -------------------------------------------------------------------------

def test_gate_value_text_is_refused_with_the_answer_codes(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "shown_if: {item: demo_1, op: '>=', value: abc}")
    assert issue.path == "items[1].shown_if.value"
    assert "'abc', which is not a number" in issue.message
    assert "0, 1, 2" in (issue.hint or "")


def test_gate_value_quoted_number_is_refused_with_a_hint(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "shown_if: {item: demo_1, op: '==', value: '1'}")
    assert "without quotes" in (issue.hint or "")


def test_gate_value_yaml_boolean_is_refused(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "shown_if: {item: demo_1, op: '==', value: yes}")
    assert "True" in issue.message
    assert "booleans" in (issue.hint or "")


def test_gate_text_inside_an_in_list_is_located_at_its_entry(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "shown_if: {item: demo_1, op: in, value: [1, two]}")
    assert issue.path == "items[1].shown_if.value[1]"
    assert "'two'" in issue.message


def test_gate_list_with_a_comparison_op_is_refused(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "shown_if: {item: demo_1, op: '>=', value: [1, 2]}")
    assert "list of values" in issue.message


@pytest.mark.parametrize("condition", [
    "shown_if: {item: demo_1, op: '>=', value: 1}",
    "shown_if: {item: demo_1, op: '>', value: 0.5}",
    "shown_if: {item: demo_1, op: in, value: [1, 2]}",
    "shown_if: {item: demo_1, op: not_in, value: [0]}",
])
def test_numeric_gates_validate_and_compile_to_numbers(tmp_path: Path, condition: str) -> None:
    gate = _valid(tmp_path, condition).plan.gates[0]
    values = gate.value if isinstance(gate.value, tuple) else (gate.value,)
    assert all(type(v) is float for v in values)


def test_gate_scores_and_shows_the_same_items(tmp_path: Path) -> None:
    definition = _valid(tmp_path, "shown_if: {item: demo_1, op: in, value: [1, 2]}")
    data = pd.DataFrame({"demo_1": [0, 2], "demo_2": [np.nan, 1], "demo_3": [1, 1]})
    result = scoring.score(definition, data)
    assert result.scores["total"].tolist() == [1, 4]
    assert visible_items(definition, {"demo_1": 0}, {}) == ("demo_1", "demo_3")
    assert visible_items(definition, {"demo_1": 2}, {}) == ("demo_1", "demo_2", "demo_3")


def test_an_unvalidated_text_gate_is_a_plan_error_naming_the_item_not_a_raw_value_error(tmp_path: Path) -> None:
    data = yaml.safe_load(_write(tmp_path, "shown_if: {item: demo_1, op: '>=', value: abc}").read_text())
    definition = Definition(Instrument.model_validate(data))  # pass 2 skipped on purpose
    with pytest.raises(PlanError, match=r"demo_2.*not a number"):
        scoring.score(definition, pd.DataFrame({"demo_1": [1], "demo_2": [1], "demo_3": [1]}))


# --- applicability (applies_if) -----------------------------------------------------------------------------

def test_sex_value_that_is_not_a_sex_is_refused(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "applies_if: {respondent: sex, op: '==', value: femal}")
    assert "not a recognised sex" in issue.message


def test_sex_value_other_is_refused(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "applies_if: {respondent: sex, op: in, value: [female, other]}")
    assert issue.path == "items[1].applies_if.value[1]"
    assert "neither female nor male" in issue.message


def test_sex_ordered_is_refused(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "applies_if: {respondent: sex, op: '>', value: female}")
    assert issue.path == "items[1].applies_if.op"


def test_ordering_a_respondent_column_against_text_is_refused(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "applies_if: {respondent: age, op: '>=', value: adult}")
    assert "'adult', which is not a number" in issue.message


def test_ordering_against_a_quoted_number_is_refused_with_a_hint(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "applies_if: {respondent: age, op: '>=', value: '18'}")
    assert "without quotes" in (issue.hint or "")


def test_mixed_numbers_and_text_are_refused(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "applies_if: {respondent: group, op: in, value: [1, a]}")
    assert issue.path == "items[1].applies_if.value[1]"


def test_yaml_boolean_respondent_value_is_refused(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "applies_if: {respondent: pregnant, op: '==', value: yes}")
    assert "boolean" in issue.message


def test_respondent_list_with_a_comparison_op_is_refused(tmp_path: Path) -> None:
    issue = _e225(tmp_path, "applies_if: {respondent: group, op: '==', value: [a, b]}")
    assert "list of values" in issue.message


def test_numeric_applicability_compares_numbers(tmp_path: Path) -> None:
    """``age >= 18``: 17 excludes the item, 18 and ' 30 ' keep it, a missing or unreadable age leaves it."""
    definition = _valid(tmp_path, "applies_if: {respondent: age, op: '>=', value: 18}")
    rule = definition.plan.applicability[0]
    assert rule.numeric and rule.target == 18.0
    data = pd.DataFrame({"demo_1": [1] * 5, "demo_2": [1] * 5, "demo_3": [1] * 5,
                         "age": pd.Series([17, 18, " 30 ", None, "unknown"], dtype=object)})
    result = scoring.score(definition, data)
    assert result.scores["total_n_answered"].tolist() == [2, 3, 3, 3, 3]
    assert visible_items(definition, {}, {"age": 17}) == ("demo_1", "demo_3")
    assert visible_items(definition, {}, {"age": 40}) == ("demo_1", "demo_2", "demo_3")


def test_sex_applicability_accepts_every_sex_word_for_female(tmp_path: Path) -> None:
    """``value: w`` compiles to ``female``: it applies to women however their sex was recorded."""
    definition = _valid(tmp_path, "applies_if: {respondent: sex, op: '==', value: w}")
    assert definition.plan.applicability[0].target == "female"
    data = pd.DataFrame({"demo_1": [1] * 3, "demo_2": [1] * 3, "demo_3": [1] * 3, "sex": ["F", "woman", "m"]})
    assert scoring.score(definition, data).scores["total_n_answered"].tolist() == [3, 3, 2]
    assert visible_items(definition, {}, {"sex": "female"}) == ("demo_1", "demo_2", "demo_3")
    assert visible_items(definition, {}, {"sex": "male"}) == ("demo_1", "demo_3")


def test_text_applicability_ignores_case(tmp_path: Path) -> None:
    definition = _valid(tmp_path, "applies_if: {respondent: setting, op: in, value: [Inpatient, day_clinic]}")
    assert definition.plan.applicability[0].target == ("inpatient", "day_clinic")
    data = pd.DataFrame({"demo_1": [1] * 3, "demo_2": [1] * 3, "demo_3": [1] * 3,
                         "setting": ["INPATIENT", "outpatient", None]})
    assert scoring.score(definition, data).scores["total_n_answered"].tolist() == [3, 2, 3]
