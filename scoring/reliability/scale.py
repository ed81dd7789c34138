"""Everything about one scale at once: alpha, omega, item statistics, floor and ceiling, warnings as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.reliability._moments import Moments, as_item_matrix, moments, select_rows
from scoring.reliability.alpha import ITEM_STAT_COLUMNS, AlphaResult, alpha_from_cov, item_table
from scoring.reliability.omega import OmegaResult, omega_from_cor

#: Columns of :attr:`ScaleReliability.items`.
SCALE_ITEM_COLUMNS: tuple[str, ...] = (*ITEM_STAT_COLUMNS, "floor_pct", "ceiling_pct")
#: Columns of :attr:`ScaleReliability.warnings`.
WARNING_FIELDS: tuple[str, ...] = ("item", "code", "message")

#: warning code -> what it means (the report and the docs read this table)
WARNING_CODES: dict[str, str] = {
    "miskeyed": "the item correlates negatively with the rest of the scale or loads negatively on its first "
                "principal component: check whether it should be reverse keyed",
    "no_variance": "the item has no variance (or fewer than two answers) and is left out of the analysis",
    "too_few_items": "fewer than two items with variance: alpha and omega are undefined",
    "too_few_respondents": "fewer than three respondents: the statistics are undefined",
    "heywood": "a communality reached its bound in the one-factor model: omega total is approximate",
    "not_converged": "the one-factor model did not converge: omega total is approximate",
}


@dataclass(frozen=True)
class ScaleReliability:
    """Reliability of one scale under one missing-data method.

    Attributes
    ----------
    alpha
        :class:`~scoring.reliability.AlphaResult`.
    omega
        :class:`~scoring.reliability.OmegaResult`.
    items
        One row per item, columns :data:`SCALE_ITEM_COLUMNS` (see
        :func:`~scoring.reliability.item_statistics`; ``floor_pct``/``ceiling_pct``: percentage of the
        item's answers at its lowest / highest possible value).
    floor_pct, ceiling_pct
        Percentage of scored respondents at the scale's minimum / maximum possible score.
    n_scored, score_mean, score_sd
        Respondents with a score, and the mean and SD of the score.
    score_range
        The possible minimum and maximum of the score.
    warnings
        Columns :data:`WARNING_FIELDS`; codes from :data:`WARNING_CODES`. Data, never Python warnings.
    missing
        ``"pairwise"`` or ``"listwise"``.
    """

    alpha: AlphaResult
    omega: OmegaResult
    items: pd.DataFrame
    floor_pct: float
    ceiling_pct: float
    n_scored: int
    score_mean: float
    score_sd: float
    score_range: tuple[float, float]
    warnings: pd.DataFrame
    missing: str


def floor_ceiling(scores: np.ndarray | pd.Series, score_range: tuple[float, float]) -> tuple[float, float]:
    """Percentages of scores at the minimum and at the maximum possible score (NaN scores left out).

    Floor and ceiling effects are commonly judged present when more than 15% of respondents obtain the
    lowest or highest possible score (Terwee et al. 2007, J Clin Epidemiol 60:34–42). Scores are compared
    with a tolerance of 1e-9.

    >>> floor_ceiling(np.array([0, 0, 3, 27, np.nan]), (0, 27))
    (50.0, 25.0)
    """
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    if s.size == 0:
        return float("nan"), float("nan")
    lo, hi = float(score_range[0]), float(score_range[1])
    return (float(np.mean(np.abs(s - lo) <= 1e-9) * 100.0), float(np.mean(np.abs(s - hi) <= 1e-9) * 100.0))


def _item_floor_ceiling(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    answered = ~np.isnan(x)
    counts = answered.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        at_lo = (np.abs(x - lo) <= 1e-9).sum(axis=0) / counts * 100.0
        at_hi = (np.abs(x - hi) <= 1e-9).sum(axis=0) / counts * 100.0
    return np.where(counts > 0, at_lo, np.nan), np.where(counts > 0, at_hi, np.nan)


def item_analysis(m: Moments, names: Sequence[str], item_floor_pct: np.ndarray, item_ceiling_pct: np.ndarray, *,
                  missing: str, ci_level: float = 0.95
                  ) -> tuple[AlphaResult, OmegaResult, pd.DataFrame, list[dict[str, Any]]]:
    """Alpha, omega, the item table (:data:`SCALE_ITEM_COLUMNS`) and the warnings of one scale from its moments.

    The part of :func:`scale_reliability` that needs no raw answers: the Spark analysis
    (:mod:`scoring.spark`) calls it with moments combined from per-partition sums.
    """
    names = list(names)
    warnings: list[dict[str, Any]] = []
    varies = np.isfinite(m.sd) & (m.sd > 0)
    for name in np.asarray(names, dtype=object)[~varies]:
        warnings.append({"item": name, "code": "no_variance",
                         "message": f"{name} has no variance (or fewer than two answers) and was left out"})
    idx = np.flatnonzero(varies)
    sub_cov = m.cov[np.ix_(idx, idx)]
    sub_cor = m.cor[np.ix_(idx, idx)]
    alpha = alpha_from_cov(sub_cov, m.n_obs, ci_level=ci_level, missing=missing)
    omega = omega_from_cor(sub_cor, n_obs=m.n_obs, missing=missing)

    items = pd.DataFrame({
        "item": pd.Series(names, dtype=object),
        "n": np.diag(m.n_pairs).astype(np.int64),
        "mean": m.mean,
        "sd": m.sd,
    })
    for col in ITEM_STAT_COLUMNS[4:]:
        items[col] = False if col == "miskeyed" else np.nan
    if idx.size:
        sub = item_table(Moments(m.n_obs, m.n_pairs[np.ix_(idx, idx)], sub_cov, sub_cor, m.mean[idx], m.sd[idx]),
                         [names[i] for i in idx])
        for col in ITEM_STAT_COLUMNS[4:]:
            items.loc[idx, col] = sub[col].to_numpy()
    items["miskeyed"] = items["miskeyed"].astype(bool)
    items["floor_pct"], items["ceiling_pct"] = item_floor_pct, item_ceiling_pct
    items = items[list(SCALE_ITEM_COLUMNS)]

    if idx.size < 2:
        warnings.append({"item": None, "code": "too_few_items",
                         "message": f"{idx.size} item(s) with variance: alpha and omega are undefined"})
    if m.n_obs < 3:
        warnings.append({"item": None, "code": "too_few_respondents",
                         "message": f"{m.n_obs} respondent(s) analysed ({missing}): the statistics are undefined"})
    miskeyed = items.loc[items["miskeyed"]]
    for item, r_drop, loading in zip(miskeyed["item"], miskeyed["r_drop"].to_numpy(dtype=float),
                                     miskeyed["pc1_loading"].to_numpy(dtype=float), strict=True):
        warnings.append({"item": item, "code": "miskeyed", "message": (
            f"{item} correlates negatively with the rest of the scale (corrected item-total r = "
            f"{_fmt(r_drop)}, first-component loading {_fmt(loading)}); should it be reverse keyed?"
        )})
    if omega.heywood:
        warnings.append({"item": None, "code": "heywood", "message": WARNING_CODES["heywood"]})
    elif idx.size >= 2 and np.isfinite(omega.omega_total) and not omega.converged:
        warnings.append({"item": None, "code": "not_converged", "message": WARNING_CODES["not_converged"]})
    return alpha, omega, items, warnings


def _fmt(v: float) -> str:
    return "NA" if not np.isfinite(v) else f"{v:.3f}"


def scale_reliability(
    data: pd.DataFrame | np.ndarray,
    *,
    missing: str = "pairwise",
    ci_level: float = 0.95,
    item_range: tuple[Any, Any] | None = None,
    scores: np.ndarray | pd.Series | None = None,
    score_range: tuple[float, float] | None = None,
) -> ScaleReliability:
    """Alpha, omega total, item statistics, floor/ceiling and mis-keying warnings of one scale.

    Parameters
    ----------
    data
        Respondents × items, already keyed (reverse items reversed); NaN = not answered.
    missing
        ``"pairwise"`` (as ``psych::alpha(x)``) or ``"listwise"`` (as ``psych::alpha(na.omit(x))``).
    ci_level
        Coverage of alpha's confidence intervals.
    item_range
        Lowest and highest possible answer, as two scalars or two per-item sequences. Default: each item's
        observed minimum and maximum.
    scores
        Scale scores for the floor/ceiling percentages (one per row of ``data``; NaN = not scored). Default:
        the unit-weighted sum of the items over the rows analysed with every item answered.
    score_range
        The possible minimum and maximum of ``scores``. Default: the sums of the item ranges.

    Returns
    -------
    ScaleReliability

    Notes
    -----
    Differences from calling psych on the same matrix, all deliberate: rows with no answer to any item are
    left out (psych counts them in *n*); items without variance are left out and reported (psych drops
    them too, with a Python-less ``warning()``). With no empty rows and no constant items the numbers are
    psych's: :func:`~scoring.reliability.cronbach_alpha`, :func:`~scoring.reliability.item_statistics`
    and :func:`~scoring.reliability.omega_total` give the definitions.

    Examples
    --------
    Item ``d`` was entered without its reversal:

    >>> rng = np.random.default_rng(7)
    >>> f = rng.standard_normal((200, 1))
    >>> latent = 2 + f * [1, 1, 1, -1] + rng.standard_normal((200, 4))
    >>> x = pd.DataFrame(np.clip(np.round(latent), 0, 4), columns=list("abcd"))
    >>> res = scale_reliability(x, item_range=(0, 4))
    >>> round(res.alpha.alpha, 3), res.items["miskeyed"].tolist(), res.warnings["code"].tolist()
    (0.078, [False, False, False, True], ['miskeyed'])
    >>> x["d"] = 4 - x["d"]   # reverse it
    >>> res = scale_reliability(x, item_range=(0, 4))
    >>> round(res.alpha.alpha, 3), round(res.omega.omega_total, 3), res.warnings.empty
    (0.752, 0.753, True)
    >>> res.n_scored, res.floor_pct, res.ceiling_pct   # % of the 200 sum scores at 0 and at 16
    (200, 2.0, 0.5)
    """
    x, names = as_item_matrix(data)
    keep_rows = ~np.isnan(x).all(axis=1)
    x = x[keep_rows]
    score_input = None if scores is None else np.asarray(scores, dtype=float)[keep_rows]
    analysed = select_rows(x, missing)
    k = x.shape[1]

    if item_range is None:
        with np.errstate(invalid="ignore"):
            lo = np.nanmin(np.where(np.isnan(x), np.inf, x), axis=0) if x.size else np.full(k, np.nan)
            hi = np.nanmax(np.where(np.isnan(x), -np.inf, x), axis=0) if x.size else np.full(k, np.nan)
    else:
        lo = np.broadcast_to(np.asarray(item_range[0], dtype=float), (k,)).copy()
        hi = np.broadcast_to(np.asarray(item_range[1], dtype=float), (k,)).copy()

    m = moments(analysed)
    alpha, omega, items, warnings = item_analysis(m, names, *_item_floor_ceiling(analysed, lo, hi),
                                                  missing=missing, ci_level=ci_level)

    if score_input is None:
        complete = analysed[~np.isnan(analysed).any(axis=1)]
        score_values = complete.sum(axis=1)
    else:
        score_values = score_input
    rng = (float(lo.sum()), float(hi.sum())) if score_range is None else (float(score_range[0]),
                                                                         float(score_range[1]))
    floor, ceiling = floor_ceiling(score_values, rng)
    valid = score_values[~np.isnan(score_values)]
    return ScaleReliability(
        alpha=alpha,
        omega=omega,
        items=items,
        floor_pct=floor,
        ceiling_pct=ceiling,
        n_scored=int(valid.size),
        score_mean=float(valid.mean()) if valid.size else float("nan"),
        score_sd=float(valid.std(ddof=1)) if valid.size > 1 else float("nan"),
        score_range=rng,
        warnings=pd.DataFrame(warnings, columns=list(WARNING_FIELDS)).astype(object),
        missing=missing,
    )
