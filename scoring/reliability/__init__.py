"""Reliability analysis: Cronbach's alpha, McDonald's omega total, item statistics, mis-keying checks.

Every statistic is defined as in R's ``psych`` package (Revelle; checked against version 2.2.9 to 1e-6 in
``tests/reference/reliability``) and computed with numpy from the item covariance and correlation
matrices, so the cost grows with respondents × items² through a few matrix products, with no loop over
respondents.

* :func:`cronbach_alpha` — raw and standardized alpha, Feldt and Duhachek 95% intervals
  (``psych::alpha``; pairwise by default as psych, or listwise);
* :func:`omega_total` — one-factor minres omega total (``psych::omega(x, nfactors = 1, flip = FALSE)``);
* :func:`item_statistics` — item means and SDs, corrected item-total correlations (``r.drop``), alpha if
  item deleted, first-component loadings and mis-keying flags;
* :func:`scale_reliability` — all of that for one scale, with floor/ceiling percentages and warnings as data;
* :func:`analyze` — every scale of an instrument definition (reverse keying applied) as a
  :class:`ReliabilityReport` that writes Markdown, CSV or JSON.

>>> import numpy as np
>>> x = np.array([[0, 1, 1], [1, 1, 2], [2, 2, 2], [3, 2, 4], [4, 4, 3]])
>>> round(cronbach_alpha(x).alpha, 4)
0.9023
"""

from scoring.reliability._moments import MISSING_METHODS, Moments, moments
from scoring.reliability.alpha import (
    ITEM_STAT_COLUMNS,
    AlphaResult,
    alpha_from_cov,
    alpha_if_deleted,
    corrected_item_total,
    cronbach_alpha,
    first_component_loadings,
    item_statistics,
)
from scoring.reliability.omega import OmegaResult, minres_one_factor, omega_from_cor, omega_total
from scoring.reliability.report import (
    ITEM_COLUMNS,
    REPORT_SUFFIXES,
    SCALE_COLUMNS,
    WARNING_COLUMNS,
    ReliabilityReport,
    analyze,
)
from scoring.reliability.scale import WARNING_CODES, ScaleReliability, floor_ceiling, scale_reliability

__all__ = [
    "ITEM_COLUMNS",
    "ITEM_STAT_COLUMNS",
    "MISSING_METHODS",
    "REPORT_SUFFIXES",
    "SCALE_COLUMNS",
    "WARNING_CODES",
    "WARNING_COLUMNS",
    "AlphaResult",
    "Moments",
    "OmegaResult",
    "ReliabilityReport",
    "ScaleReliability",
    "alpha_from_cov",
    "alpha_if_deleted",
    "analyze",
    "corrected_item_total",
    "cronbach_alpha",
    "first_component_loadings",
    "floor_ceiling",
    "item_statistics",
    "minres_one_factor",
    "moments",
    "omega_from_cor",
    "omega_total",
    "scale_reliability",
]
