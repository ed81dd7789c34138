"""One argument order across score, explain, apply_norms and history: definitions, then data, then options."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

import scoring
from tests.support.shipped import shipped_library, shipped_norms

LIB = shipped_library()


@pytest.mark.parametrize(("func", "first", "second"), [
    (scoring.score, "definition", "data"),
    (scoring.explain, "definition", "responses"),
    (scoring.apply_norms, "definition", "scores"),
    (scoring.history, "library", "data"),
])
def test_definitions_first_then_data_then_keyword_options(func, first: str, second: str) -> None:
    params = list(inspect.signature(func).parameters.values())
    assert [p.name for p in params[:2]] == [first, second]
    positional = [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert positional == [first, second, *(["table"] if func is scoring.apply_norms else [])]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[len(positional):])


def test_apply_norms_old_order_still_works_for_one_release_with_a_warning() -> None:
    table = shipped_norms().get("phq9_kocalevent2013_de_sex")
    scores = pd.DataFrame({"total": [3.1, 2.7], "sex": ["female", "m"]})
    new = scoring.apply_norms(LIB["phq9"], scores, table)
    with pytest.warns(DeprecationWarning, match=r"call apply_norms\(definition, scores, table\)"):
        old = scoring.apply_norms(scores, LIB["phq9"], table)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(old, new)
    with pytest.raises(TypeError, match="takes a Definition"):
        scoring.apply_norms("phq9", scores, table)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes a pandas DataFrame"):
        scoring.apply_norms(LIB["phq9"], scores.to_dict(), table)  # type: ignore[arg-type]


def test_score_and_history_results_have_the_same_shape() -> None:
    for name in ("failures", "ok", "summary"):
        assert hasattr(scoring.ScoreResult, name) or name == "failures"
        assert hasattr(scoring.change.HistoryResult, name) or name == "failures"
    data = pd.DataFrame({"patient": "p", "date": ["2024-01-01"], "instrument": "phq9",
                         **{f"phq9_{i}": [1] for i in range(1, 10)}})
    h = scoring.history(LIB, data)
    s = scoring.score(LIB["phq9"], data)
    assert list(h.failures.columns) == ["instrument", *s.failures.columns]
    assert h.ok and s.ok
