"""Item matrices and their second moments with missing values, by matrix algebra (no loop over rows).

Pairwise-complete moments follow R's ``cov(x, use = "pairwise")`` and ``cor(x, use = "pairwise")``: the
covariance of items *i* and *j* uses the rows where both are answered, with the means of *those* rows; the
pairwise correlation also takes both standard deviations from those rows (so it is not ``cov2cor`` of the
pairwise covariance matrix, whose diagonal uses every answer of an item).

With ``M`` the 0/1 matrix of answered cells and ``Z`` the centred answers with 0 where missing, every sum
needed is one matrix product: ``N = MᵀM`` (pair counts), ``S = ZᵀM`` (sum of item *i* over the rows where
*j* is answered), ``P = ZᵀZ`` (cross-products), ``Q = (Z∘Z)ᵀM`` (sums of squares). Then

.. math::

    \\mathrm{cov}_{ij} = \\frac{P_{ij} - S_{ij} S_{ji} / N_{ij}}{N_{ij} - 1}, \\qquad
    \\mathrm{var}_{i \\mid j} = \\frac{Q_{ij} - S_{ij}^2 / N_{ij}}{N_{ij} - 1}.

Columns are centred on their mean first, so the one-pass formulas lose no precision on Likert data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Missing = Literal["pairwise", "listwise"]
MISSING_METHODS: tuple[str, ...] = ("pairwise", "listwise")


def as_item_matrix(data: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Float matrix (NaN = missing) and item names from a DataFrame or a 2-D array.

    >>> x, names = as_item_matrix(pd.DataFrame({"a": [1, None], "b": [2, 3]}))
    >>> x.tolist(), names
    ([[1.0, 2.0], [nan, 3.0]], ['a', 'b'])
    """
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        bad = [n for n, dt in zip(names, data.dtypes, strict=True)
               if not (pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt))]
        if bad:
            raise TypeError(f"item columns must be numeric; not numeric: {', '.join(bad)}")
        matrix = data.to_numpy(dtype=float, na_value=np.nan)
    else:
        matrix = np.asarray(data, dtype=float)
        if matrix.ndim != 2:
            raise ValueError(f"item data must be 2-dimensional (respondents × items), not {matrix.ndim}-D")
        names = [f"V{k + 1}" for k in range(matrix.shape[1])]
    if np.isinf(matrix).any():
        raise ValueError("item data contain infinite values")
    return matrix, names


def check_missing(missing: str) -> None:
    if missing not in MISSING_METHODS:
        raise ValueError(f"missing must be 'pairwise' or 'listwise', not {missing!r}")


def select_rows(x: np.ndarray, missing: str) -> np.ndarray:
    """The rows analysed: all rows (pairwise) or the complete rows (listwise)."""
    check_missing(missing)
    if missing == "listwise":
        return x[~np.isnan(x).any(axis=1)]
    return x


@dataclass(frozen=True)
class Moments:
    """Second moments of an item matrix: what every reliability statistic here is computed from.

    Attributes
    ----------
    n_obs
        Number of rows (respondents) analysed; psych's ``nsub``.
    n_pairs
        Items × items counts of rows where both items are answered (the diagonal: answers per item).
    cov
        Pairwise-complete covariance matrix (R ``cov(x, use = "pairwise")``).
    cor
        Pairwise-complete correlation matrix (R ``cor(x, use = "pairwise")``).
    mean, sd
        Item means and standard deviations over each item's answers.
    """

    n_obs: int
    n_pairs: np.ndarray
    cov: np.ndarray
    cor: np.ndarray
    mean: np.ndarray
    sd: np.ndarray


def moments(x: np.ndarray, *, correlations: bool = True) -> Moments:
    """Pairwise-complete means, covariances and correlations of ``x`` (rows × items, NaN = missing).

    Parameters
    ----------
    x
        Float matrix, NaN where not answered.
    correlations
        Also compute the pairwise correlation matrix (one more matrix product); NaN-filled when False.

    Examples
    --------
    >>> x = np.array([[1., 2.], [2., np.nan], [3., 5.], [4., 4.]])
    >>> m = moments(x)
    >>> m.n_pairs.tolist()
    [[4.0, 3.0], [3.0, 3.0]]
    >>> np.round(m.cov, 4).tolist()   # cov[0, 1] uses rows 1, 3, 4 only
    [[1.6667, 1.8333], [1.8333, 2.3333]]
    """
    n_obs, k = x.shape
    answered = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        counts = answered.sum(axis=0)
        mean = np.where(counts > 0, np.nansum(x, axis=0) / np.maximum(counts, 1), np.nan)
    complete = bool(answered.all())
    z = x - np.where(np.isnan(mean), 0.0, mean)
    if not complete:
        z[~answered] = 0.0
    if complete:
        n_pairs = np.full((k, k), float(n_obs))
        s = np.zeros((k, k))  # columns are exactly centred: every sum of z over all rows is 0 (up to rounding)
        s[:] = z.sum(axis=0)[:, None]
        p = z.T @ z
    else:
        m = answered.astype(np.float64)
        n_pairs = m.T @ m
        s = z.T @ m
        p = z.T @ z
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.where(n_pairs > 1, n_pairs - 1.0, np.nan)
        safe_n = np.where(n_pairs > 0, n_pairs, np.nan)
        cov = (p - s * s.T / safe_n) / denom
        var = np.diag(cov).copy()
        sd = np.sqrt(var)
        if correlations:
            if complete:
                cor = cov / np.sqrt(np.outer(var, var))
            else:
                q = (z * z).T @ m
                var_given = (q - s * s / safe_n) / denom  # var of item i over the rows where j is answered
                cor = cov / np.sqrt(var_given * var_given.T)
            np.fill_diagonal(cor, np.where(var > 0, 1.0, np.nan))
        else:
            cor = np.full((k, k), np.nan)
    return Moments(n_obs=n_obs, n_pairs=n_pairs, cov=cov, cor=cor, mean=mean, sd=sd)


def cov_to_cor(cov: np.ndarray) -> np.ndarray:
    """Rescale a covariance matrix to correlations with its own diagonal (R ``cov2cor``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        d = 1.0 / np.sqrt(np.diag(cov))
        r = cov * d[:, None] * d[None, :]
    np.fill_diagonal(r, np.where(np.isfinite(d), 1.0, np.nan))
    return r
