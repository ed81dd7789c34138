"""One list of missing-value tokens: score, explain, analyze and history read every token the same way."""

from __future__ import annotations

import pandas as pd
import pytest

import scoring
from scoring.change.timeline import HistoryInputError
from scoring.engine.responses import DEFAULT_MISSING, MISSING_WORDS
from scoring.reliability.report import analyze
from tests.support.shipped import shipped_library

ANSWERS = [3, 0, 1, 2, 0, 0, 1, 0, 2]
#: each token as written, upper-cased and padded; then text that is NOT a missing token
TOKENS = sorted({*MISSING_WORDS, *(w.upper() for w in MISSING_WORDS), *(f" {w.title()} " for w in MISSING_WORDS)})
NOT_TOKENS = ["-", "--", ".", "?", "n.a.", "missing", "nil", "NaN!", "999"]


@pytest.fixture(scope="module")
def phq9() -> scoring.Definition:
    return shipped_library()["phq9"]


def _frame(phq9: scoring.Definition, cell: object) -> pd.DataFrame:
    return pd.DataFrame({item: [v] for item, v in _answers(cell).items()})


def _answers(cell: object) -> dict[str, object]:
    row: dict[str, object] = {f"phq9_{k}": v for k, v in enumerate(ANSWERS, start=1)}
    row["phq9_2"] = cell
    return row


def test_one_list() -> None:
    assert DEFAULT_MISSING is MISSING_WORDS


@pytest.mark.parametrize("cell", TOKENS + NOT_TOKENS, ids=repr)
def test_explain_and_score_agree_on_every_token(phq9: scoring.Definition, cell: str) -> None:
    res = scoring.score(phq9, _frame(phq9, cell))
    receipt = scoring.explain(phq9, _answers(cell))
    row = res.scores.iloc[0]
    total = receipt.scales[0]
    assert (total.score is None) == pd.isna(row["total"])
    if total.score is not None:
        assert total.score == float(row["total"])
    assert int(row["total_n_answered"]) == 8
    # the same problems, in the same words: none for a token, not_a_number for other text
    expected = [f"{r['item']}: {r['value']!r} — {r['message']} [{r['code']}]" for _, r in res.failures.iterrows()]
    assert receipt.failures == expected
    is_token = cell.strip().lower() in MISSING_WORDS
    assert res.failures.empty == is_token
    if not is_token:
        assert list(res.failures["code"]) == ["out_of_range" if cell == "999" else "not_a_number"]


@pytest.mark.parametrize("cell", TOKENS + NOT_TOKENS, ids=repr)
def test_analyze_reads_tokens_as_score_does(phq9: scoring.Definition, cell: str) -> None:
    frame = pd.concat([_frame(phq9, cell), pd.DataFrame([_answers(1)])],
                      ignore_index=True)
    report = analyze(phq9, frame, missing=("pairwise",))
    assert report.failures.empty == (cell.strip().lower() in MISSING_WORDS)
    assert list(report.failures["code"]) == list(scoring.score(phq9, frame).failures["code"])


@pytest.mark.parametrize("cell", TOKENS + NOT_TOKENS, ids=repr)
def test_history_reads_tokens_in_score_columns_as_score_does(cell: str) -> None:
    """``history`` on a table of given scores: a missing token is "no score given", other text an error."""
    lib = shipped_library()
    data = pd.DataFrame({"patient": "a", "date": ["2024-01-01", "2024-02-01"], "instrument": "gad7",
                         "total": pd.Series([cell, "7"], dtype=object)})
    if cell.strip().lower() in MISSING_WORDS:
        h = scoring.history(lib, data).frame
        assert pd.isna(h["score"].iloc[0]) and h["score"].iloc[1] == 7
    elif cell == "999":
        with pytest.raises(HistoryInputError, match="outside the scale's range"):
            scoring.history(lib, data)
    else:
        with pytest.raises(HistoryInputError, match="is not a number"):
            scoring.history(lib, data)
