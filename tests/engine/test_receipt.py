"""Score receipts (``scoring.explain``, ``psyscore explain``) are the trace of the scoring itself.

Every golden case of every shipped instrument is explained and checked against the engine: the numbers the
receipt states are the scores, no value is printed as a numpy repr or ``nan``, and the derivation's own
arithmetic ends on the engine's score (the receipt warns otherwise, and no case may warn).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import scoring
from scoring.cli import main
from tests.support.shipped import shipped_library

LIB = shipped_library()
GOLDEN = Path(__file__).parents[1] / "golden"
CASES = [(f.stem, i, c) for f in sorted(GOLDEN.glob("*.yaml"))
         for i, c in enumerate(yaml.safe_load(f.read_text(encoding="utf-8"))["cases"])]
BAD_TEXT = re.compile(r"np\.|numpy|\bnan\b|\bNaN\b|<NA>|float64|int64|=None\b")


def _answers(definition: scoring.Definition, case: dict) -> dict:
    resp = case["responses"]
    items = [i.id for i in definition.instrument.items]
    return dict(zip(items, resp, strict=False)) if isinstance(resp, list) else dict(resp)


@pytest.mark.parametrize(("instrument", "index", "case"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_receipt_agrees_with_the_engine(instrument: str, index: int, case: dict) -> None:
    d = LIB[instrument]
    answers = _answers(d, case)
    respondent = case.get("respondent") or None
    receipt = scoring.explain(d, answers, respondent=respondent)
    frame = pd.DataFrame([{**{k: (np.nan if v is None else v) for k, v in answers.items()}, **(respondent or {})}])
    row = scoring.score(d, frame).scores.iloc[0]
    text = str(receipt)
    as_json = json.dumps(receipt.to_dict(), ensure_ascii=False)
    assert not BAD_TEXT.search(text), BAD_TEXT.search(text).group(0) + "\n" + text  # type: ignore[union-attr]
    assert not re.search(r"np\.|\bNaN\b|\bnan\b", as_json)
    assert "WARNING" not in text, text
    for s in receipt.scales:
        expected = row[s.id]
        assert (s.score is None) == bool(pd.isna(expected)), s.id
        if s.score is not None:
            assert s.score == pytest.approx(float(expected), abs=1e-9)
    for f in d.plan.flags:
        stated = next(line for line in receipt.flags if line.startswith(f"{f.id}: "))
        value = row[f.id]
        word = "unknown" if value is pd.NA else ("yes" if bool(value) else "no")
        assert stated.startswith(f"{f.id}: {word}"), stated


def test_gated_answers_are_shown_as_ignored_not_added() -> None:
    """Issue 10 item 6: 'audit_c_1=0 + audit_c_2=2 + audit_c_3=1 = 0' looked like 2 + 1 made 0."""
    receipt = scoring.explain(LIB["audit_c"], [0, 2, 1])
    text = str(receipt)
    assert "audit_c_2=2" not in text and "audit_c_3=1 " not in text
    derivation = receipt.scales[0].lines[0]
    assert derivation.startswith("sum of 3 item(s): audit_c_1=0 + audit_c_2=0 (not asked: audit_c_1 = 0")
    assert "the answer 2 was ignored" in derivation and "the answer 1 was ignored" in derivation
    assert derivation.endswith("= 0")
    assert "audit_c_2: '2' — answered although its gate question excluded it" in text
    assert "np.float64" not in text and "np.float64" not in json.dumps(receipt.to_dict(), default=str)


def test_not_applicable_item_names_why() -> None:
    """An item that does not apply leaves the scale; the receipt says why and that its answer was ignored."""
    d = LIB["phq15"]
    rule = d.plan.applicability[0]
    item = d.plan.item_ids[rule.item]
    receipt = scoring.explain(d, dict.fromkeys(d.plan.item_ids, 1), respondent={"sex": "male"})
    text = str(receipt)
    assert f"left out: {item} (does not apply: sex = 'male', applies if" in text
    assert "the answer 1 was ignored" in text
    assert f"{item}=1" not in text


def test_unanswered_critical_item_is_named() -> None:
    """Issue 10 item 7: PHQ-9 with item 9 unanswered said 'Critical items: none'."""
    receipt = scoring.explain(LIB["phq9"], [3, 0, 1, 2, 0, 0, 1, 0, None])
    text = str(receipt)
    assert "Critical items: none\n" not in text + "\n"
    assert "Critical items: none endorsed; phq9_9 not answered" in text
    assert receipt.critical == [] and receipt.critical_unanswered[0].startswith("phq9_9 not answered")
    assert receipt.to_dict()["critical_unanswered"] == receipt.critical_unanswered
    answered = scoring.explain(LIB["phq9"], [3, 0, 1, 2, 0, 0, 1, 0, 0])
    assert "Critical items: none" in str(answered) and not answered.critical_unanswered


def test_pcl5_rule_decided_with_a_missing_item_is_explained() -> None:
    """Issue 10 item 8: the rule is met whatever item 20 is; the receipt says so and why."""
    receipt = scoring.explain(LIB["pcl5"], [3] * 19 + [None])
    flag = receipt.flags[0]
    assert flag.startswith("dsm5_provisional: yes (decided although pcl5_20 is unanswered")
    open_ = scoring.explain(LIB["pcl5"], [3] * 15 + [1, 1, 1, 1, None])
    assert open_.flags[0].startswith("dsm5_provisional: unknown (depends on the unanswered pcl5_20)")


@pytest.mark.parametrize(("instrument", "answers", "line"), [
    ("dass21", [1, 2, 3] * 7, "multiplied by 2: 13 × 2 = 26"),
    ("who5", [1, 2, 1, 2, 1], "multiplied by 4: 7 × 4 = 28"),
])
def test_multiplier_shows_its_result(instrument: str, answers: list[int], line: str) -> None:
    """Issue 10 item 9: 'multiplied by 2' without the result."""
    lines = [x.strip() for x in str(scoring.explain(LIB[instrument], answers)).splitlines()]
    assert line in lines


def test_prorated_then_doubled_dass21() -> None:
    answers = [1, 2, 3] * 7
    answers[2] = None  # dass21_3, a depression item
    text = str(scoring.explain(LIB["dass21"], answers))
    assert "prorated: 10 × 7/6 = 1.6667" not in text  # the sum, not the mean, is scaled
    assert "prorated: 10 × 7/6 = 11.6667 → rounded half-up to 12" in text
    assert "multiplied by 2: 12 × 2 = 24" in text


def test_cli_explain_shows_no_numpy_reprs(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explain", "audit_c", "--responses", "0,2,1"])
    out = capsys.readouterr().out
    assert code == 1  # answers to questions that were not asked are input problems
    assert "np.float64" not in out and "audit_c_2=2 +" not in out
    code = main(["explain", "audit_c", "--responses", "0,2,1", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert all("np." not in f for f in data["failures"])
