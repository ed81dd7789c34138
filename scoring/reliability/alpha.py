"""Cronbach's alpha with its confidence intervals, and the item statistics that go with it.

Every statistic is a function of the item covariance matrix ``C`` (and of the correlation matrix
``R = cov2cor(C)``), so it is computed with a handful of matrix operations whatever the number of
respondents. The definitions follow R's ``psych::alpha`` (Revelle), version 2.2.9, and agree with it to
1e-6 or better (``tests/reference/reliability`` holds the comparison).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from scoring.reliability._distributions import f_ppf
from scoring.reliability._moments import Moments, as_item_matrix, cov_to_cor, moments, select_rows

#: Columns of :func:`item_statistics`, in order (stable whatever the options).
ITEM_STAT_COLUMNS: tuple[str, ...] = (
    "item", "n", "mean", "sd", "r_drop", "alpha_if_deleted", "alpha_if_deleted_std", "pc1_loading", "miskeyed",
)


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha of one set of items.

    Attributes
    ----------
    alpha
        Raw alpha from the covariance matrix (psych ``raw_alpha``).
    alpha_std
        Standardized alpha from the correlation matrix (psych ``std.alpha``).
    average_r
        Mean inter-item correlation (psych ``average_r``).
    se
        Asymptotic standard error (psych ``ase``; Duhachek & Iacobucci 2004).
    feldt_lower, feldt_upper
        Feldt (1965) confidence interval (psych ``alpha.ci``, the ``Feldt`` row of the printout).
    duhachek_lower, duhachek_upper
        ``alpha ± z·se`` (the ``Duhachek`` row of psych's printout; z = 1.96 for 95%).
    n_obs
        Respondents analysed (rows; for ``listwise`` the complete rows).
    n_items
        Items analysed.
    ci_level
        Coverage of both intervals.
    missing
        ``"pairwise"`` or ``"listwise"``.
    """

    alpha: float
    alpha_std: float
    average_r: float
    se: float
    feldt_lower: float
    feldt_upper: float
    duhachek_lower: float
    duhachek_upper: float
    n_obs: int
    n_items: int
    ci_level: float
    missing: str

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _z(ci_level: float) -> float:
    """Normal quantile for a two-sided interval; psych prints its Duhachek interval with exactly 1.96."""
    if abs(ci_level - 0.95) < 1e-12:
        return 1.96
    return NormalDist().inv_cdf(0.5 + ci_level / 2.0)


def _check_level(ci_level: float) -> None:
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be between 0 and 1, not {ci_level}")


def alpha_from_cov(cov: np.ndarray, n_obs: int, *, ci_level: float = 0.95, missing: str = "pairwise"
                   ) -> AlphaResult:
    """Alpha, its standard error and both confidence intervals from an item covariance matrix.

    Parameters
    ----------
    cov
        Items × items covariance matrix (already keyed: reverse items reversed).
    n_obs
        Number of respondents behind ``cov`` (psych uses the number of rows of the data).
    ci_level
        Coverage of the intervals.
    missing
        Recorded in the result only.

    Returns
    -------
    AlphaResult

    Notes
    -----
    With *k* items, :math:`V = \\mathbf 1^\\top C \\mathbf 1` and *n* respondents (Cronbach 1951):

    .. math::

        \\alpha = \\frac{k}{k-1}\\Bigl(1 - \\frac{\\operatorname{tr} C}{V}\\Bigr), \\qquad
        \\alpha_{std} = \\frac{k}{k-1}\\Bigl(1 - \\frac{k}{\\mathbf 1^\\top R \\mathbf 1}\\Bigr),

    Feldt (1965), with :math:`F_p` the *p* quantile of F(n − 1, (n − 1)(k − 1)) and level 1 − a:

    .. math:: [\\,1 - (1-\\alpha) F_{1-a/2},\\; 1 - (1-\\alpha) F_{a/2}\\,]

    Asymptotic variance (van Zyl, Neudecker & Nel 2000; Duhachek & Iacobucci 2004), as psych computes it:

    .. math::

        Q = \\frac{2k^2}{(k-1)^2 V^3}\\Bigl[V\\bigl(\\operatorname{tr} C^2 + (\\operatorname{tr} C)^2\\bigr)
            - 2 \\operatorname{tr} C \\; \\mathbf 1^\\top C^2 \\mathbf 1\\Bigr],
        \\qquad se = \\sqrt{Q / n}.

    Examples
    --------
    >>> c = np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]])
    >>> r = alpha_from_cov(c, 100)
    >>> round(r.alpha, 6), round(r.alpha_std, 6), round(r.average_r, 6)
    (0.75, 0.75, 0.5)
    """
    _check_level(ci_level)
    cov = np.asarray(cov, dtype=float)
    k = cov.shape[0]
    nan = float("nan")
    if k < 2 or n_obs < 2 or not np.isfinite(cov).all():
        return AlphaResult(nan, nan, nan, nan, nan, nan, nan, nan, int(n_obs), k, ci_level, missing)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = cov.sum()
        trace = np.trace(cov)
        alpha = k / (k - 1) * (1.0 - trace / total)
        r = cov_to_cor(cov)
        sum_r = r.sum()
        alpha_std = k / (k - 1) * (1.0 - k / sum_r)
        average_r = (sum_r - k) / (k * (k - 1))
        c2 = cov @ cov
        q = (2 * k**2 / ((k - 1) ** 2 * total**3)) * (total * (np.trace(c2) + trace**2) - 2 * trace * c2.sum())
        se = float(np.sqrt(q / n_obs)) if q >= 0 else nan
    tail = (1.0 - ci_level) / 2.0
    if np.isfinite(alpha) and k > 1 and n_obs > 1:
        dfn, dfd = n_obs - 1.0, (n_obs - 1.0) * (k - 1.0)
        feldt_lower = 1.0 - (1.0 - alpha) * f_ppf(1.0 - tail, dfn, dfd)
        feldt_upper = 1.0 - (1.0 - alpha) * f_ppf(tail, dfn, dfd)
    else:
        feldt_lower = feldt_upper = nan
    z = _z(ci_level)
    return AlphaResult(
        alpha=float(alpha), alpha_std=float(alpha_std), average_r=float(average_r), se=se,
        feldt_lower=float(feldt_lower), feldt_upper=float(feldt_upper),
        duhachek_lower=float(alpha - z * se), duhachek_upper=float(alpha + z * se),
        n_obs=int(n_obs), n_items=k, ci_level=ci_level, missing=missing,
    )


def cronbach_alpha(data: pd.DataFrame | np.ndarray, *, missing: str = "pairwise", ci_level: float = 0.95
                   ) -> AlphaResult:
    """Cronbach's alpha of an item matrix, with Feldt and Duhachek confidence intervals.

    Parameters
    ----------
    data
        Respondents × items (DataFrame or array), already keyed; NaN = not answered.
    missing
        ``"pairwise"`` (default): covariances from pairwise-complete observations, as
        ``psych::alpha(x)`` (its default ``use = "pairwise"``); every row counts in *n*.
        ``"listwise"``: complete rows only, as ``psych::alpha(na.omit(x))``.
    ci_level
        Coverage of the confidence intervals (0.95 gives psych's intervals).

    Returns
    -------
    AlphaResult

    Notes
    -----
    Formulas: see :func:`alpha_from_cov`. Items without variance are kept here (psych drops them);
    :func:`~scoring.reliability.scale_reliability` drops them and says so.

    References
    ----------
    Cronbach LJ (1951). Coefficient alpha and the internal structure of tests. Psychometrika 16:297–334.
    Feldt LS (1965). The approximate sampling distribution of Kuder-Richardson reliability coefficient
    twenty. Psychometrika 30:357–370.
    Duhachek A, Iacobucci D (2004). Alpha's standard error (ASE). J Appl Psychol 89:792–808.
    Revelle W. psych: Procedures for Psychological, Psychometric, and Personality Research (``alpha``).

    Examples
    --------
    >>> x = np.array([[0, 1, 1], [1, 1, 2], [2, 2, 2], [3, 2, 4], [4, 4, 3], [2, np.nan, 3]])
    >>> res = cronbach_alpha(x)
    >>> round(res.alpha, 4), round(res.feldt_lower, 4), round(res.feldt_upper, 4)
    (0.925, 0.6823, 0.9887)
    >>> round(cronbach_alpha(x, missing="listwise").alpha, 4), cronbach_alpha(x, missing="listwise").n_obs
    (0.9023, 5)
    """
    x, _ = as_item_matrix(data)
    x = select_rows(x, missing)
    m = moments(x, correlations=False)
    return alpha_from_cov(m.cov, m.n_obs, ci_level=ci_level, missing=missing)


def alpha_if_deleted(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw and standardized alpha of the scale without each item (psych ``alpha.drop``).

    Vectorized: with ``c`` the column sums of ``C``, dropping item *i* leaves
    :math:`V_{-i} = V - 2c_i + C_{ii}` and :math:`\\operatorname{tr}_{-i} = \\operatorname{tr} C - C_{ii}`,
    so :math:`\\alpha_{-i} = \\frac{k-1}{k-2}(1 - \\operatorname{tr}_{-i}/V_{-i})`; likewise on ``R``.
    Undefined (NaN) with fewer than three items.

    >>> c = np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]])
    >>> np.round(alpha_if_deleted(c)[0], 6).tolist()
    [0.666667, 0.666667, 0.666667]
    """
    cov = np.asarray(cov, dtype=float)
    k = cov.shape[0]
    if k < 3:
        return np.full(k, np.nan), np.full(k, np.nan)

    def drop(mat: np.ndarray) -> np.ndarray:
        diag = np.diag(mat)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = mat.sum() - 2 * mat.sum(axis=0) + diag
            return (k - 1) / (k - 2) * (1.0 - (np.trace(mat) - diag) / v)

    r = cov_to_cor(cov)
    return drop(cov), drop(r)


def corrected_item_total(cov: np.ndarray) -> np.ndarray:
    """Correlation of each item with the sum of the other items (psych ``r.drop``).

    .. math:: r_{i,-i} = \\frac{c_i - C_{ii}}{\\sqrt{C_{ii}\\, V_{-i}}}

    with :math:`c_i` the column sum of ``C`` and :math:`V_{-i}` the variance of the sum without item *i*.

    >>> c = np.array([[1.0, 0.5, -0.5], [0.5, 1.0, -0.5], [-0.5, -0.5, 1.0]])
    >>> np.round(corrected_item_total(c), 4).tolist()
    [0.0, 0.0, -0.5774]
    """
    cov = np.asarray(cov, dtype=float)
    k = cov.shape[0]
    if k < 2:
        return np.full(k, np.nan)
    diag = np.diag(cov)
    with np.errstate(invalid="ignore", divide="ignore"):
        v_drop = cov.sum() - 2 * cov.sum(axis=0) + diag
        return (cov.sum(axis=0) - diag) / np.sqrt(diag * v_drop)


def first_component_loadings(cor: np.ndarray) -> np.ndarray:
    """Loadings on the first principal component of a correlation matrix (psych ``principal(x)``).

    The eigenvector of the largest eigenvalue λ, times √λ, signed so that the loadings sum to a non-negative
    value. ``psych::alpha`` warns that items "probably should be reversed" when any loading is negative.

    >>> r = np.array([[1.0, 0.6, -0.5], [0.6, 1.0, -0.4], [-0.5, -0.4, 1.0]])
    >>> np.round(first_component_loadings(r), 4).tolist()
    [0.8683, 0.821, -0.7592]
    """
    cor = np.asarray(cor, dtype=float)
    k = cor.shape[0]
    if k == 0 or not np.isfinite(cor).all():
        return np.full(k, np.nan)
    values, vectors = np.linalg.eigh(cor)
    load = vectors[:, -1] * np.sqrt(max(values[-1], np.finfo(float).eps))
    return -load if load.sum() < 0 else load


def item_statistics(data: pd.DataFrame | np.ndarray, *, missing: str = "pairwise") -> pd.DataFrame:
    """Item means and SDs, corrected item-total correlations, alpha if deleted and mis-keying flags.

    Parameters
    ----------
    data
        Respondents × items, already keyed; NaN = not answered.
    missing
        ``"pairwise"`` (psych ``alpha(x)``) or ``"listwise"`` (psych ``alpha(na.omit(x))``).

    Returns
    -------
    pandas.DataFrame
        One row per item with columns :data:`ITEM_STAT_COLUMNS`: ``n`` answers, ``mean``, ``sd`` (psych
        ``item.stats``), ``r_drop`` (:func:`corrected_item_total`), ``alpha_if_deleted`` and
        ``alpha_if_deleted_std`` (:func:`alpha_if_deleted`), ``pc1_loading``
        (:func:`first_component_loadings` of the pairwise correlations) and ``miskeyed``: True when the item
        correlates negatively with the rest of the scale (``r_drop < 0``) or loads negatively on the first
        principal component (psych's reversal warning).

    Examples
    --------
    Item ``d`` below was entered without its reversal:

    >>> rng = np.random.default_rng(7)
    >>> f = rng.standard_normal((200, 1))
    >>> latent = 2 + f * [1, 1, 1, -1] + rng.standard_normal((200, 4))
    >>> x = pd.DataFrame(np.clip(np.round(latent), 0, 4), columns=list("abcd"))
    >>> item_statistics(x)[["item", "r_drop", "pc1_loading", "miskeyed"]].round(3)
      item  r_drop  pc1_loading  miskeyed
    0    a   0.307        0.777     False
    1    b   0.327        0.756     False
    2    c   0.354        0.770     False
    3    d  -0.513       -0.727      True
    """
    x, names = as_item_matrix(data)
    x = select_rows(x, missing)
    return item_table(moments(x), names)


def item_table(m: Moments, names: list[str]) -> pd.DataFrame:
    """:func:`item_statistics` from precomputed :class:`~scoring.reliability._moments.Moments`."""
    drop_raw, drop_std = alpha_if_deleted(m.cov)
    r_drop = corrected_item_total(m.cov)
    pc1 = first_component_loadings(m.cor)
    with np.errstate(invalid="ignore"):
        miskeyed = (r_drop < 0) | (pc1 < 0)
    return pd.DataFrame({
        "item": pd.Series(names, dtype=object),
        "n": np.diag(m.n_pairs).astype(np.int64),
        "mean": m.mean,
        "sd": m.sd,
        "r_drop": r_drop,
        "alpha_if_deleted": drop_raw,
        "alpha_if_deleted_std": drop_std,
        "pc1_loading": pc1,
        "miskeyed": miskeyed.astype(bool),
    }, columns=list(ITEM_STAT_COLUMNS))
