"""Round trip for every shipped instrument: definition → Questionnaire (valid R4B) → QuestionnaireResponses
built from random answers (every way an answer can be written) → read_responses → scores equal score() on the
same answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from scoring.definitions.library import Library
from scoring.engine import score
from scoring.fhir import read_responses, score_responses, to_questionnaire
from scoring.fhir.responses import META_COLUMNS
from tests.fhir.responses import bundle, random_answers, response
from tests.support.shipped import shipped_library

IDS = sorted(shipped_library())
STYLES = ["code", "ordinal", "weight", "integer", "decimal", "mixed"]


@pytest.mark.parametrize("instrument", IDS)
def test_round_trip(library: Library, instrument: str) -> None:
    d = library[instrument]
    to_questionnaire(d)  # validated by the R4B model inside
    rng = np.random.default_rng(len(instrument) * 7919 + sum(map(ord, instrument)))
    rows = [random_answers(d, rng, missing=[0.0, 0.1, 0.3][n % 3]) for n in range(36)]
    responses = [response(d, a, rid=f"r{n}", style=STYLES[n % len(STYLES)]) for n, a in enumerate(rows)]
    for qr in responses[:3]:
        QuestionnaireResponse.model_validate(qr)
    frame, failures = read_responses(library, bundle(responses))
    assert failures.empty, failures.to_dict("records")
    assert list(frame["response"]) == [f"entry {n + 1} (r{n})" for n in range(len(rows))]
    items = [i.id for i in d.instrument.items]
    want = pd.DataFrame(rows, columns=items)
    pd.testing.assert_frame_equal(frame[items].reset_index(drop=True), want, check_dtype=False)
    got, _ = score_responses(library, frame)
    expected = score(d, want).scores
    cols = [c for c in expected.columns if c not in items]
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), expected[cols])
    assert tuple(got.columns[: len(META_COLUMNS)]) == META_COLUMNS


def test_a_folder_of_files_and_several_instruments(library: Library, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    phq9, gad7 = library["phq9"], library["gad7"]
    a, b = random_answers(phq9, rng, 0.0), random_answers(gad7, rng, 0.0)
    (tmp_path / "one.json").write_text(json.dumps(response(phq9, a, rid="p")), encoding="utf-8")
    sub = tmp_path / "more"
    sub.mkdir()
    (sub / "two.json").write_text(json.dumps(bundle([response(gad7, b, rid="g")])), encoding="utf-8")
    frame, failures = read_responses(library, tmp_path)
    assert failures.empty
    assert list(frame["instrument"]) == ["gad7", "phq9"]  # more/two.json sorts before one.json
    scores, _ = score_responses(library, frame)
    assert scores.loc[scores["instrument"] == "phq9", "total"].iloc[0] == score(phq9, pd.DataFrame([a])).scores[
        "total"].iloc[0]
    assert scores.loc[scores["instrument"] == "gad7", "total"].iloc[0] == score(gad7, pd.DataFrame([b])).scores[
        "total"].iloc[0]


def test_a_response_without_version_uses_the_only_version(library: Library) -> None:
    d = library["who5"]
    assert [v for i, v in library.definitions if i == "who5"] == [d.version]
    answers = dict.fromkeys([i.id for i in d.instrument.items], 1.0)
    frame, failures = read_responses(library, response(d, answers, version=False))
    assert failures.empty and frame["version"].tolist() == [d.version]


def test_a_response_without_version_is_refused_where_several_ship(library: Library) -> None:
    d = library["phq9"]  # 1.0.0 is kept for rescoring beside the latest
    answers = dict.fromkeys([i.id for i in d.instrument.items], 1.0)
    frame, failures = read_responses(library, response(d, answers, version=False))
    assert frame.empty and failures["code"].tolist() == ["ambiguous_version"]
    assert f"|{d.version}" in failures["hint"].iloc[0] and "1.0.0" in failures["message"].iloc[0]


def test_scores_of_the_response_items_are_ignored(library: Library) -> None:
    """A filler writes the calculated total into the response: it is not an unknown linkId, nor trusted."""
    d = library["phq9"]
    answers = dict.fromkeys([i.id for i in d.instrument.items], 2.0)
    qr = response(d, answers)
    qr["item"].append({"linkId": "score.total", "answer": [{"valueDecimal": 99}]})
    frame, failures = read_responses(library, qr)
    assert failures.empty
    assert score_responses(library, frame)[0]["total"].tolist() == [18.0]
