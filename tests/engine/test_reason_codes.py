"""``<scale>_reason_code``: a closed set of stable codes beside the English ``<scale>_reason``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.engine.reasons import (
    REASON_CODE_NAMES,
    REASON_CODES,
    UnknownReasonError,
    reason_code,
    reason_code_indices,
)
from tests.support.shipped import shipped_library

LIB = shipped_library()
DEFINITIONS = [LIB.get_version(i, v) for i in LIB for v in LIB.versions(i)]


def test_codes_are_unique_identifiers_with_a_meaning() -> None:
    assert len(set(REASON_CODE_NAMES)) == len(REASON_CODE_NAMES) == len(REASON_CODES)
    for code, meaning in REASON_CODES:
        assert code.isidentifier() and code == code.lower() and meaning


@pytest.mark.parametrize("d", DEFINITIONS, ids=lambda d: f"{d.id}-{d.version}")
def test_every_reason_text_the_plan_can_write_maps_to_exactly_one_code(d: scoring.Definition) -> None:
    for sp in d.plan.scales:
        texts = list(sp.reason_categories)
        by_text = [reason_code(t) for t in texts]  # raises UnknownReasonError unless exactly one code matches
        assert by_text[0] is None and all(c is not None for c in by_text[1:])
        by_index = reason_code_indices(np.arange(len(texts)), sp.rule)
        assert [None if k < 0 else REASON_CODE_NAMES[k] for k in by_index] == by_text, sp.id


def test_unknown_and_ambiguous_texts_are_refused() -> None:
    with pytest.raises(UnknownReasonError, match="matches 0 reason codes"):
        reason_code("the moon was full")
    assert reason_code(None) is None and reason_code(float("nan")) is None
    assert reason_code("no score given") == "no_score_given"


@pytest.mark.parametrize("d", DEFINITIONS, ids=lambda d: f"{d.id}-{d.version}")
def test_scores_carry_the_code_of_their_reason(d: scoring.Definition) -> None:
    """Random answers with holes: each row's code is the code of its reason text, missing exactly when scored."""
    plan = d.plan
    rng = np.random.default_rng(11)
    n = 60
    data = {}
    for k, item in enumerate(plan.item_ids):
        allowed = np.asarray(plan.allowed[k], dtype=float)
        values = rng.choice(allowed, size=n)
        values[rng.random(n) < np.linspace(0.0, 0.9, n)] = np.nan  # from complete rows to nearly empty ones
        data[item] = values
    data[plan.item_ids[0]][0] = np.nan
    frame = pd.DataFrame(data)
    frame.iloc[-1] = np.nan  # nothing answered
    frame["sex"] = np.where(np.arange(n) % 2 == 0, "female", "male")
    scores = scoring.score(d, frame).scores
    for sp in plan.scales:
        codes = scores[f"{sp.id}_reason_code"]
        assert list(codes.cat.categories) == list(REASON_CODE_NAMES)
        expected = [reason_code(t) for t in scores[f"{sp.id}_reason"].astype(str)]
        got = [None if pd.isna(c) else c for c in codes]
        assert got == expected, sp.id
        assert (codes.isna().to_numpy() == scores[f"{sp.id}_valid"].to_numpy()).all(), sp.id
    assert scores[f"{plan.scales[0].id}_reason_code"].iloc[-1] in ("none_answered", "none_applicable")


def test_column_sits_beside_the_reason() -> None:
    cols = list(LIB["phq9"].plan.output_columns)
    assert cols[cols.index("total_reason") + 1] == "total_reason_code"
