"""Property tests over answer matrices drawn by hypothesis, for every shipped instrument.

tests/engine/test_properties.py draws a random seed and builds the matrix with numpy; here hypothesis draws
the matrix itself (every cell a valid option code of its item, or missing), so a failure shrinks to the
smallest matrix that shows it. Checked for every scale of every instrument:

- a score is within the scale's declared range, and ``_valid`` is exactly "has a score";
- ``_band`` is the band of the score (``assign_bands`` of the score column), none without a score;
- reverse keying: a scale score equals the weighted sum of the hand-keyed answers (``lo + hi − x`` for a
  reversed item); and answering every item at its mirror code (``lo + hi − x``) mirrors a complete sum score
  about the midpoint of its range;
- the missing-data rule: ``complete`` scores only complete rows, ``prorate`` scores rows with at most
  ``max_missing`` missing as ``sum × n_items / n_answered`` rounded half-up, ``min_answered`` needs that many
  answers; ``_prorated`` is set exactly on the scored rows with something missing (prorate/mean).

Scales whose items are gated or conditionally applicable, count and max scales and conversion tables are
left to the golden cases where a property would only restate the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoring
from scoring.definitions.plan import ScalePlan
from scoring.engine.compute import assign_bands, round_half_up
from tests.support.shipped import shipped_library

pytestmark = pytest.mark.slow

LIB = shipped_library()
IDS = sorted(LIB)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def answer_matrices(definition: scoring.Definition, *, max_rows: int = 6,
                    missing: bool = True) -> st.SearchStrategy[pd.DataFrame]:
    """Frames of 1..max_rows respondents: each cell one of the item's allowed codes or (if ``missing``) NaN."""
    plan = definition.plan
    cells = [st.sampled_from([float(v) for v in allowed]) for allowed in plan.allowed]
    if missing:
        cells = [st.one_of(st.just(np.nan), c) for c in cells]
    rows = st.lists(st.tuples(*cells), min_size=1, max_size=max_rows)
    return rows.map(lambda r: pd.DataFrame(r, columns=list(plan.item_ids), dtype=float))


def plain_scales(definition: scoring.Definition, methods: tuple[str, ...] = ("sum", "mean")) -> list[ScalePlan]:
    """Scales scored as a (weighted) sum or mean of keyed answers: no gates, applicability or conversion table."""
    plan = definition.plan
    conditional = {g.item for g in plan.gates} | {g.gate for g in plan.gates} | {a.item for a in plan.applicability}
    return [sp for sp in plan.scales
            if sp.method in methods and sp.transform_keys is None and not conditional & {int(k) for k in sp.index}]


def mirrorable_scales(definition: scoring.Definition) -> list[ScalePlan]:
    """Plain sum scales whose every item's mirror code lo+hi−x is again one of its option codes."""
    plan = definition.plan
    return [sp for sp in plain_scales(definition, ("sum",))
            if all(np.isin(plan.lo[k] + plan.hi[k] - plan.allowed[k], plan.allowed[k]).all() for k in sp.index)]


WITH_SUM = [i for i in IDS if plain_scales(LIB[i], ("sum",))]
WITH_MIRROR = [i for i in IDS if mirrorable_scales(LIB[i])]
WITH_RULE = [i for i in IDS if plain_scales(LIB[i])]


def test_the_properties_cover_most_instruments() -> None:
    assert len(WITH_SUM) >= len(IDS) // 2 and len(WITH_MIRROR) >= len(IDS) // 2 and len(WITH_RULE) >= len(IDS) // 2


def keyed_answers(definition: scoring.Definition, data: pd.DataFrame, sp: ScalePlan) -> np.ndarray:
    plan = definition.plan
    raw = data[[plan.item_ids[k] for k in sp.index]].to_numpy(dtype=float)
    lo, hi, rev = plan.lo[sp.index], plan.hi[sp.index], plan.reverse[sp.index]
    return np.where(rev, lo + hi - raw, raw)


@pytest.mark.parametrize("instrument", IDS)
@SETTINGS
@given(data=st.data())
def test_scores_in_range_and_band_of_the_score(instrument: str, data: st.DataObject) -> None:
    d = LIB[instrument]
    frame = data.draw(answer_matrices(d), label="answers")
    out = scoring.score(d, frame).scores
    for sp in d.plan.scales:
        score = out[sp.id].to_numpy(dtype=float)
        has = ~np.isnan(score)
        lo, hi = sp.range
        assert ((score[has] >= lo - 1e-9) & (score[has] <= hi + 1e-9)).all(), (sp.id, score[has])
        assert (out[f"{sp.id}_valid"].to_numpy(dtype=bool) == has).all(), sp.id
        if sp.band_labels:
            expected, _ = assign_bands(sp, score)
            got = out[f"{sp.id}_band"].astype(object).where(out[f"{sp.id}_band"].notna(), None).tolist()
            assert got == list(expected), (sp.id, score.tolist())


@pytest.mark.parametrize("instrument", WITH_SUM)
@SETTINGS
@given(data=st.data())
def test_scores_are_the_sum_of_hand_keyed_answers(instrument: str, data: st.DataObject) -> None:
    d = LIB[instrument]
    scales = plain_scales(d, ("sum",))
    frame = data.draw(answer_matrices(d, missing=False), label="answers")
    out = scoring.score(d, frame).scores
    for sp in scales:
        expected = keyed_answers(d, frame, sp) @ sp.weights * sp.multiplier
        np.testing.assert_allclose(out[sp.id].to_numpy(dtype=float), expected, err_msg=sp.id)


@pytest.mark.parametrize("instrument", WITH_MIRROR)
@SETTINGS
@given(data=st.data())
def test_mirrored_answers_mirror_the_score(instrument: str, data: st.DataObject) -> None:
    """Reverse-keying symmetry: x ↦ lo+hi−x on every item maps a complete sum score S to (sum of item
    weight × (lo+hi)) × multiplier − S, whichever items are reversed; applied twice it is the identity."""
    d = LIB[instrument]
    plan = d.plan
    mirrorable = mirrorable_scales(d)
    frame = data.draw(answer_matrices(d, missing=False), label="answers")
    mirrored = frame.copy()
    for k, item in enumerate(plan.item_ids):
        mirrored[item] = plan.lo[k] + plan.hi[k] - frame[item]
    a = scoring.score(d, frame).scores
    b = scoring.score(d, mirrored).scores
    for sp in mirrorable:
        span = float((sp.weights * (plan.lo[sp.index] + plan.hi[sp.index])).sum()) * sp.multiplier
        np.testing.assert_allclose(a[sp.id].to_numpy(dtype=float) + b[sp.id].to_numpy(dtype=float), span,
                                   err_msg=sp.id)
    twice = mirrored.copy()
    for k, item in enumerate(plan.item_ids):
        twice[item] = plan.lo[k] + plan.hi[k] - mirrored[item]
    pd.testing.assert_frame_equal(twice, frame)


@pytest.mark.parametrize("instrument", WITH_RULE)
@SETTINGS
@given(data=st.data())
def test_missing_data_rule(instrument: str, data: st.DataObject) -> None:
    d = LIB[instrument]
    scales = plain_scales(d)
    frame = data.draw(answer_matrices(d), label="answers")
    out = scoring.score(d, frame).scores
    for sp in scales:
        keyed = keyed_answers(d, frame, sp)
        answered = ~np.isnan(keyed)
        n_items = keyed.shape[1]
        n_answered = answered.sum(axis=1)
        n_missing = n_items - n_answered
        total = np.where(answered, keyed, 0.0) @ sp.weights
        if sp.rule == "complete":
            valid = n_missing == 0
        elif sp.rule == "prorate":
            valid = (n_missing <= (sp.max_missing or 0)) & (n_answered > 0)
        else:
            valid = n_answered >= (sp.min_answered or 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            if sp.method == "mean":
                expected = total / n_answered
            else:
                expected = np.where(n_missing > 0, total * n_items / n_answered, total)
        prorated = valid & (n_missing > 0) & (sp.rule == "prorate" or sp.method == "mean")
        if sp.rule == "prorate" and sp.rounding == "half_up" and prorated.any():
            expected[prorated] = round_half_up(expected[prorated], sp.decimals)
        expected = np.where(valid, expected * sp.multiplier, np.nan)
        got = out[sp.id].to_numpy(dtype=float)
        assert (np.isnan(got) == ~valid).all(), (sp.id, sp.rule, n_missing.tolist(), got.tolist())
        np.testing.assert_allclose(got[valid], expected[valid], err_msg=sp.id)
        assert (out[f"{sp.id}_prorated"].to_numpy(dtype=bool) == prorated).all(), sp.id
        assert (out[f"{sp.id}_n_answered"].to_numpy() == n_answered).all(), sp.id
