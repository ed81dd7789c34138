"""Receipts render the scoring's own trace: on random data for every shipped instrument, each receipt's
numbers equal the columns score() produced for the same row of a whole data set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.engine.scorer import traced_score
from tests.support.shipped import shipped_library

LIB = shipped_library()
SEXES = ["female", "m", "Woman", "x", None, "unknown"]


def _data(instrument: str, n: int = 24, seed: int = 0) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    plan = LIB[instrument].plan
    rng = np.random.default_rng(seed + sum(map(ord, instrument)))
    rows: list[dict[str, object]] = []
    for r in range(n):
        p_missing = (0.0, 0.1, 0.4)[r % 3]
        rows.append({item: (None if rng.random() < p_missing else float(rng.choice(plan.allowed[k])))
                     for k, item in enumerate(plan.item_ids)})
    frame = pd.DataFrame(rows).astype(float)
    frame["sex"] = pd.Series([SEXES[r % len(SEXES)] for r in range(n)], dtype=object)
    return frame, rows


def _flag_state(value: object) -> str:
    return "unknown" if pd.isna(value) else ("yes" if bool(value) else "no")


@pytest.mark.parametrize("instrument", sorted(LIB))
def test_receipt_numbers_equal_score_columns(instrument: str) -> None:
    d = LIB[instrument]
    plan = d.plan
    frame, rows = _data(instrument)
    scores = scoring.score(d, frame).scores
    for r, answers in enumerate(rows):
        sex = frame["sex"].iloc[r]
        receipt = scoring.explain(d, answers, respondent={"sex": sex})
        text = str(receipt)
        assert "WARNING" not in text
        out = scores.iloc[r]
        for sp, sr in zip(plan.scales, receipt.scales, strict=True):
            where = f"{instrument} row {r} scale {sp.id}: {sr.lines}"
            if pd.isna(out[sp.id]):
                assert sr.score is None, where
                assert any(line == f"not scorable: {out[f'{sp.id}_reason']}" for line in sr.lines), where
            else:
                assert sr.score == float(out[sp.id]), where
            assert sr.band == (None if pd.isna(out[f"{sp.id}_band"]) else str(out[f"{sp.id}_band"])), where
            assert any(("prorated:" in line) for line in sr.lines) == (
                bool(out[f"{sp.id}_prorated"]) and sp.method != "mean"), where
            first = sr.lines[1] if sr.lines[0].startswith("left out:") else sr.lines[0]
            if sp.method in ("sum", "mean"):
                assert first.startswith(f"{sp.method} of {int(out[f'{sp.id}_n_answered'])} item(s)"), where
            for cut in sp.cutoffs:
                state = "unknown (needs sex)" if pd.isna(out[cut.column]) else (
                    "met" if bool(out[cut.column]) else "not met")
                if not pd.isna(out[sp.id]):
                    assert any(line.startswith(f"cut-off {cut.id} ") and line.endswith(state)
                               for line in sr.lines), where
        for flag, line in zip(plan.flags, receipt.flags, strict=True):
            assert line.startswith(f"{flag.id}: {_flag_state(out[flag.id])}"), (instrument, r, line)
        hit = [c for c in str(out["critical_items"]).split(",") if c]
        assert [c.split(" ", 1)[0] for c in receipt.critical] == hit, (instrument, r)


def test_trace_is_the_scoring_run() -> None:
    """traced_score returns the same scores and failures as score(), and stages that end in the score."""
    d = LIB["phq9"]
    frame, _ = _data("phq9", n=30)
    plain = scoring.score(d, frame)
    traced, trace = traced_score(d, frame)
    pd.testing.assert_frame_equal(traced.scores, plain.scores)
    pd.testing.assert_frame_equal(traced.failures, plain.failures)
    st = trace.stages["total"]
    valid = plain.scores["total_valid"].to_numpy(dtype=bool)
    np.testing.assert_array_equal(st.multiplied[valid], plain.scores["total"].to_numpy()[valid])
    np.testing.assert_array_equal(st.counted.sum(axis=1), plain.scores["total_n_answered"].to_numpy())
