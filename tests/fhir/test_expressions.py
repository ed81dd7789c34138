"""The SDC calculatedExpression of every scale, evaluated by fhirpathpy on random responses, gives exactly
the engine's score (reverse keys, gates with a not-shown value, weights, prorating, counts, maxima,
multipliers), and is empty exactly when the engine gives no score."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models

from scoring.definitions.library import Library
from scoring.engine import score
from scoring.fhir import to_questionnaire, urls
from tests.fhir.responses import random_answers, response
from tests.support.shipped import shipped_library

CASES = []
for _id in sorted(shipped_library()):
    _q = to_questionnaire(shipped_library()[_id])
    for _item in _q["item"]:
        if _item["linkId"].startswith(urls.SCORE_PREFIX) and _item["extension"][0]["url"] == urls.CALCULATED:
            CASES.append(_id)
            break
RESPONSES = 24


def _expressions(q: dict) -> dict[str, str]:
    return {i["linkId"][len(urls.SCORE_PREFIX):]: i["extension"][0]["valueExpression"]["expression"]
            for i in q["item"] if i["linkId"].startswith(urls.SCORE_PREFIX)
            and i["extension"][0]["url"] == urls.CALCULATED}


def test_most_instruments_have_expressions() -> None:
    assert len(CASES) >= 25
    assert {"phq9", "gad7", "rses", "pswq", "audit", "pc_ptsd5", "cssrs_screener", "dass21", "who5"} <= set(CASES)


@pytest.mark.parametrize("instrument", CASES)
def test_expression_equals_engine_score(library: Library, instrument: str) -> None:
    d = library[instrument]
    exprs = {scale: fhirpath_compile(text, models["r4"]) for scale, text in _expressions(to_questionnaire(d)).items()}
    rng = np.random.default_rng(sum(map(ord, instrument)))
    rows = [random_answers(d, rng, missing=[0.0, 0.0, 0.1, 0.25, 0.5][n % 5]) for n in range(RESPONSES)]
    # respondents who give the lowest (gates closed) and the highest answer everywhere: reverse keys at both ends
    sets = {s.id: s for s in d.instrument.option_sets}
    rows.append({i.id: float(min(o.value for o in sets[i.options].options)) for i in d.instrument.items})
    rows.append({i.id: float(max(o.value for o in sets[i.options].options)) for i in d.instrument.items})
    engine = score(d, pd.DataFrame(rows, columns=[i.id for i in d.instrument.items])).scores
    reverse_seen = False
    for n, answers in enumerate(rows):
        qr = response(d, answers, rid=f"r{n}")
        for scale, expr in exprs.items():
            got = expr(qr, {"resource": qr})
            want = engine[scale].iloc[n]
            if math.isnan(want):
                assert got == [], (scale, answers, got)
            else:
                assert len(got) == 1 and float(got[0]) == want, (scale, answers, got, want)
                reverse_seen |= any(i.reverse for i in d.instrument.items)
    assert reverse_seen == any(i.reverse for i in d.instrument.items)


def test_reverse_keys_and_prorating_by_hand(library: Library) -> None:
    """RSES item 2 is reverse keyed (1..4 → 4..1); PHQ-9 with two missing is prorated half-up."""
    rses = library["rses"]
    expr = _expressions(to_questionnaire(rses))["total"]
    answers = {i.id: 1.0 for i in rses.instrument.items}
    qr = response(rses, answers)
    from fhirpathpy import evaluate

    want = score(rses, pd.DataFrame([answers])).scores["total"].iloc[0]
    assert float(evaluate(qr, expr, {"resource": qr}, models["r4"])[0]) == want
    n_reverse = sum(i.reverse for i in rses.instrument.items)
    assert n_reverse and want != len(answers) * 1.0
    phq9 = library["phq9"]
    expr = _expressions(to_questionnaire(phq9))["total"]
    answers = dict.fromkeys([f"phq9_{k}" for k in range(1, 11)], math.nan)
    answers.update({"phq9_1": 1.0, "phq9_2": 1.0, "phq9_3": 1.0, "phq9_4": 1.0, "phq9_5": 0.0, "phq9_6": 0.0,
                    "phq9_7": 0.0})  # 4 over 7 items × 9 = 5.14 → 5
    qr = response(phq9, answers)
    assert evaluate(qr, expr, {"resource": qr}, models["r4"]) == [5]
    assert score(phq9, pd.DataFrame([answers])).scores["total"].iloc[0] == 5
    answers.update({"phq9_8": 0.0})  # 4 over 8 items × 9 = 4.5 → 5 (half-up, not to even)
    qr = response(phq9, answers)
    assert evaluate(qr, expr, {"resource": qr}, models["r4"]) == [5]
    assert score(phq9, pd.DataFrame([answers])).scores["total"].iloc[0] == 5
