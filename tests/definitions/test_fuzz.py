"""Fuzzing the parsers: whatever the input, only the project's own validation results come out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoring
from scoring.definitions.library import definition_from_doc
from scoring.definitions.loading import parse_yaml
from scoring.engine.responses import DEFAULT_MISSING
from tests.support.shipped import shipped_library

GOOD = (Path(__file__).parents[1] / "fixtures" / "definitions" / "good" / "demo_scale.yaml").read_text()
PHQ9 = shipped_library()["phq9"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _validate_text(text: str) -> list[scoring.Issue]:
    doc, issues = parse_yaml(text, "fuzz.yaml")
    if doc is None:
        return issues
    _, issues = definition_from_doc(doc, issues)
    return issues


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text_never_raises(text: str) -> None:
    issues = _validate_text(text)
    assert all(isinstance(i, scoring.Issue) for i in issues)


@FUZZ
@given(data=st.data())
def test_mutated_definitions_never_raise(data: st.DataObject) -> None:
    """Delete, duplicate or garble lines of a valid definition: every outcome is a located issue list."""
    lines = GOOD.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["delete", "duplicate", "garble", "retype"]))
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "garble":
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))] + data.draw(st.text(max_size=8))
        else:
            lines[i] = lines[i].replace("0", data.draw(st.sampled_from(["-1", "x", "1.5", "[]", "{}", "yes", "null"])))
        if not lines:
            lines = [""]
    issues = _validate_text("\n".join(lines) + "\n")
    for issue in issues:
        assert issue.code and issue.message
        if issue.code != "E101":
            assert issue.file == "fuzz.yaml"


CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["1e0", "0x1", " 2 ", "NA", "", "+1", "١", "2.0", "-0"]),
)


@FUZZ
@given(st.lists(st.lists(CELL, min_size=9, max_size=9), min_size=1, max_size=8))
def test_arbitrary_cells_are_scored_or_reported(rows: list[list[object]]) -> None:
    frame = pd.DataFrame(rows, columns=[f"phq9_{i}" for i in range(1, 10)], dtype=object)
    result = scoring.score(PHQ9, frame)
    scores = result.scores
    assert len(scores) == len(rows)
    total = scores["total"].to_numpy(dtype=float)
    ok = ~np.isnan(total)
    assert ((total[ok] >= 0) & (total[ok] <= 27)).all()
    # every non-missing cell either counted as an answer or was reported as a failure
    reported = {(r, i) for r, i in zip(result.failures["row"], result.failures["item"], strict=True)}
    answered = scores["total_n_answered"].to_numpy()
    for r, row in enumerate(rows):
        valid_cells = 0
        for i, value in enumerate(row):
            item = f"phq9_{i + 1}"
            if (r, item) in reported:
                continue
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if isinstance(value, str) and value.strip().lower() in DEFAULT_MISSING:
                continue
            valid_cells += 1
        assert valid_cells == answered[r], (row, result.failures)
