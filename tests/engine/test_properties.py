"""Property tests of the engine over every bundled instrument (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoring
from scoring.engine.compute import assign_bands, round_half_up
from tests.support.shipped import shipped_library

LIB = shipped_library()
IDS = sorted(LIB)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_answers(definition: scoring.Definition, seed: int, n: int, missing: float) -> pd.DataFrame:
    """Valid answer codes for every item, with a share of cells left unanswered."""
    rng = np.random.default_rng(seed)
    plan = definition.plan
    cols = {}
    for k, item in enumerate(plan.item_ids):
        values = rng.choice(plan.allowed[k], size=n)
        values = np.where(rng.random(n) < missing, np.nan, values)
        cols[item] = values
    return pd.DataFrame(cols)


@pytest.mark.parametrize("instrument", IDS)
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), missing=st.sampled_from([0.0, 0.05, 0.3]))
def test_scores_stay_in_range(instrument: str, seed: int, missing: float) -> None:
    d = LIB[instrument]
    out = scoring.score(d, random_answers(d, seed, 40, missing)).scores
    for scale in d.instrument.scales:
        s = out[scale.id].dropna()
        lo, hi = scale.range
        assert ((s >= lo - 1e-9) & (s <= hi + 1e-9)).all(), (scale.id, s[(s < lo) | (s > hi)].tolist())
        assert (out[f"{scale.id}_valid"] == out[scale.id].notna()).all()


@pytest.mark.parametrize("instrument", IDS)
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_column_order_does_not_matter(instrument: str, seed: int) -> None:
    d = LIB[instrument]
    data = random_answers(d, seed, 20, 0.1)
    shuffled = data[list(np.random.default_rng(seed).permutation(data.columns))]
    pd.testing.assert_frame_equal(scoring.score(d, data).scores, scoring.score(d, shuffled).scores)


@pytest.mark.parametrize("instrument", IDS)
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_prorated_equals_raw_when_nothing_missing(instrument: str, seed: int) -> None:
    d = LIB[instrument]
    data = random_answers(d, seed, 20, 0.0)
    out = scoring.score(d, data).scores
    gated = {d.plan.item_ids[g.item] for g in d.plan.gates} | {d.plan.item_ids[a.item] for a in d.plan.applicability}
    for scale in d.instrument.scales:
        assert not out[f"{scale.id}_prorated"].any()
        if scale.method != "sum" or scale.transform is not None or gated & set(scale.items):
            continue  # gates and applicability are covered by the golden cases
        plan = next(sp for sp in d.plan.scales if sp.id == scale.id)
        keyed = data[list(scale.items)].to_numpy(dtype=float)
        rev = d.plan.reverse[plan.index]
        lo, hi = d.plan.lo[plan.index], d.plan.hi[plan.index]
        keyed = np.where(rev, lo + hi - keyed, keyed)
        applicable = out[f"{scale.id}_valid"].to_numpy()
        expected = (keyed @ plan.weights) * plan.multiplier
        np.testing.assert_allclose(out[scale.id].to_numpy()[applicable], expected[applicable])


@pytest.mark.parametrize("instrument", IDS)
def test_bands_monotone_in_score(instrument: str) -> None:
    for sp in LIB[instrument].plan.scales:
        if not sp.band_labels:
            continue
        grid = np.linspace(sp.range[0], sp.range[1], 501)
        labels, _ = assign_bands(sp, grid)
        order = {label: k for k, label in enumerate(sp.band_labels)}
        idx = np.array([order[label] for label in labels])
        assert (np.diff(idx) >= 0).all()
        assert idx[0] == 0 and idx[-1] == len(sp.band_labels) - 1


@SETTINGS
@given(values=st.lists(st.integers(0, 2), min_size=3, max_size=3))
def test_reverse_keying_is_an_involution(values: list[int]) -> None:
    """Scoring x with item 2 reversed equals scoring (min+max−x) with item 2 not reversed."""
    from pathlib import Path

    src = Path(__file__).parents[1] / "fixtures" / "definitions" / "good" / "demo_scale.yaml"
    keyed, _ = scoring.load_definition(src)
    assert keyed is not None and keyed.plan.reverse[1]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        plain_path = Path(tmp) / "demo_scale.yaml"
        plain_path.write_text(src.read_text().replace("reverse: true", "reverse: false"))
        plain, _ = scoring.load_definition(plain_path)
    assert plain is not None
    cols = [f"demo_scale_{i}" for i in (1, 2, 3)]
    x = pd.DataFrame([values], columns=cols)
    flipped = x.copy()
    flipped["demo_scale_2"] = 2 - flipped["demo_scale_2"]
    a = scoring.score(keyed, x).scores["total"]
    b = scoring.score(plain, flipped).scores["total"]
    pd.testing.assert_series_equal(a, b)
    twice = flipped.copy()
    twice["demo_scale_2"] = 2 - twice["demo_scale_2"]
    pd.testing.assert_frame_equal(twice, x)


@given(x=st.floats(0, 1000, allow_nan=False), decimals=st.integers(0, 3))
def test_round_half_up_matches_decimal(x: float, decimals: int) -> None:
    from decimal import ROUND_HALF_UP, Decimal

    expected = float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))
    assert round_half_up(np.array([x]), decimals)[0] == pytest.approx(expected, abs=10 ** -(decimals + 6))
