"""Property tests (hypothesis) for the reliability statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring
from scoring.reliability import (
    alpha_from_cov,
    analyze,
    cronbach_alpha,
    item_statistics,
    moments,
    omega_from_cor,
    omega_total,
    scale_reliability,
)

DEFINITIONS = Path(__file__).parent / "definitions"
LO, HI = 0, 4
SETTINGS = settings(max_examples=40, deadline=None)


def simulate(seed: int, n: int, loadings: np.ndarray, missing_rate: float) -> np.ndarray:
    """Likert 0–4 answers from one common factor; NaN cells missing completely at random."""
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((n, 1))
    latent = factor * loadings + rng.standard_normal((n, loadings.size)) * np.sqrt(1 - loadings**2)
    x = (latent[:, :, None] > np.array([-1.2, -0.4, 0.4, 1.2])).sum(axis=2).astype(float)
    x[rng.random(x.shape) < missing_rate] = np.nan
    return x


@st.composite
def factor_data(draw: st.DrawFn, min_loading: float = 0.3, min_n: int = 30) -> np.ndarray:
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(min_n, 300))
    k = draw(st.integers(3, 10))
    loadings = np.array(draw(st.lists(st.floats(min_loading, 0.9), min_size=k, max_size=k)))
    missing_rate = draw(st.sampled_from([0.0, 0.03, 0.1]))
    return simulate(seed, n, loadings, missing_rate)


def same(a: float, b: float, tol: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or abs(a - b) <= tol


@SETTINGS
@given(x=factor_data(), data=st.data())
def test_results_do_not_depend_on_item_order(x: np.ndarray, data: st.DataObject) -> None:
    perm = np.array(data.draw(st.permutations(range(x.shape[1]))))
    for missing in ("pairwise", "listwise"):
        a, b = cronbach_alpha(x, missing=missing), cronbach_alpha(x[:, perm], missing=missing)
        for field in ("alpha", "alpha_std", "se", "feldt_lower", "feldt_upper"):
            assert same(getattr(a, field), getattr(b, field), 1e-10), field
        assert same(omega_total(x, missing=missing).omega_total, omega_total(x[:, perm], missing=missing).omega_total,
                    1e-8)
        ia = item_statistics(x, missing=missing)
        ib = item_statistics(x[:, perm], missing=missing)
        for field in ("mean", "sd", "r_drop", "alpha_if_deleted", "pc1_loading"):
            np.testing.assert_allclose(ia[field].to_numpy()[perm], ib[field].to_numpy(), atol=1e-9, rtol=0)
        assert ia["miskeyed"].to_numpy()[perm].tolist() == ib["miskeyed"].tolist()


@SETTINGS
@given(x=factor_data(min_loading=0.6, min_n=150), data=st.data())
def test_reversing_a_miskeyed_item_restores_alpha_and_clears_the_warning(x: np.ndarray, data: st.DataObject) -> None:
    j = data.draw(st.integers(0, x.shape[1] - 1))
    good = scale_reliability(x, item_range=(LO, HI))
    assert "miskeyed" not in good.warnings["code"].tolist() and not good.items["miskeyed"].any()
    miskeyed = x.copy()
    miskeyed[:, j] = LO + HI - miskeyed[:, j]
    bad = scale_reliability(miskeyed, item_range=(LO, HI))
    assert bad.items["miskeyed"].iloc[j]
    assert f"V{j + 1}" in bad.warnings.loc[bad.warnings["code"] == "miskeyed", "item"].tolist()
    assert bad.alpha.alpha < good.alpha.alpha
    assert bad.items["r_drop"].iloc[j] < 0
    restored = miskeyed.copy()
    restored[:, j] = LO + HI - restored[:, j]
    again = scale_reliability(restored, item_range=(LO, HI))
    assert again.warnings["code"].tolist() == good.warnings["code"].tolist()
    assert abs(again.alpha.alpha - good.alpha.alpha) < 1e-12
    assert abs(again.omega.omega_total - good.omega.omega_total) < 1e-10


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_definition_reverse_key_repairs_a_reversed_item(seed: int) -> None:
    """Data whose i6 was answered on the reversed scale: the definition's reverse key makes it consistent."""
    definition = scoring.load_library([DEFINITIONS])["likert8"]
    x = simulate(seed, 200, np.array([0.8, 0.7, 0.7, 0.8, 0.7, -0.75, 0.7, 0.8]), 0.05)
    frame = pd.DataFrame(x, columns=[f"i{k}" for k in range(1, 9)])
    report = analyze(definition, frame, missing=("pairwise",))
    assert "miskeyed" not in report.warnings["code"].tolist()
    flipped = frame.assign(i6=LO + HI - frame["i6"])
    bad = analyze(definition, flipped, missing=("pairwise",))
    total = bad.warnings.query("scale_id == 'total'")
    assert total["item"].tolist() == ["i6"] and total["code"].tolist() == ["miskeyed"]
    assert bad.scales["alpha"].iloc[0] < report.scales["alpha"].iloc[0]


@SETTINGS
@given(x=factor_data())
def test_pairwise_equals_listwise_without_missing_answers(x: np.ndarray) -> None:
    x = x[~np.isnan(x).any(axis=1)]
    a, b = cronbach_alpha(x, missing="pairwise"), cronbach_alpha(x, missing="listwise")
    assert same(a.alpha, b.alpha, 1e-12) and same(a.feldt_lower, b.feldt_lower, 1e-12)


@SETTINGS
@given(x=factor_data())
def test_pairwise_moments_equal_a_pair_by_pair_computation(x: np.ndarray) -> None:
    m = moments(x)
    k = x.shape[1]
    for i in range(k):
        for j in range(k):
            both = ~np.isnan(x[:, i]) & ~np.isnan(x[:, j])
            assert m.n_pairs[i, j] == both.sum()
            if both.sum() < 2:
                continue
            xi, xj = x[both, i], x[both, j]
            cov = ((xi - xi.mean()) * (xj - xj.mean())).sum() / (both.sum() - 1)
            assert abs(m.cov[i, j] - cov) < 1e-12
            if xi.std() > 0 and xj.std() > 0:
                assert abs(m.cor[i, j] - np.corrcoef(xi, xj)[0, 1]) < 1e-12


@SETTINGS
@given(k=st.integers(2, 30), r=st.floats(0.01, 0.95))
def test_standardized_alpha_is_spearman_brown_of_the_average_correlation(k: int, r: float) -> None:
    cor = np.full((k, k), r)
    np.fill_diagonal(cor, 1.0)
    res = alpha_from_cov(cor, 100)
    assert abs(res.alpha_std - k * r / (1 + (k - 1) * r)) < 1e-12
    assert abs(res.alpha - res.alpha_std) < 1e-12 and abs(res.average_r - r) < 1e-12


@SETTINGS
@given(loadings=st.lists(st.floats(0.2, 0.9), min_size=3, max_size=12))
def test_omega_of_an_exact_one_factor_matrix(loadings: list[float]) -> None:
    lam = np.array(loadings)
    cor = np.outer(lam, lam)
    np.fill_diagonal(cor, 1.0)
    res = omega_from_cor(cor)
    assert res.converged
    np.testing.assert_allclose(res.loadings, lam, atol=1e-8)
    assert abs(res.omega_total - lam.sum() ** 2 / cor.sum()) < 1e-10
