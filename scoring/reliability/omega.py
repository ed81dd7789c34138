"""McDonald's omega total from a one-factor minimum-residual (minres) model.

Matches ``psych::omega(x, nfactors = 1, fm = "minres", flip = FALSE)$omega.tot`` (psych 2.2.9): the
factor model is fitted to the pairwise-complete correlation matrix ``R`` by minimum residual (unweighted
least squares on the off-diagonal elements), and omega total is

.. math:: \\omega_t = 1 - \\frac{\\sum_i u^2_i}{\\mathbf 1^\\top R \\mathbf 1}, \\qquad u^2_i = 1 - \\lambda_i^2,

the share of the variance of the unit-weighted sum of standardized items that the common factor explains
(McDonald 1999, ch. 6; psych divides by the observed variance :math:`\\mathbf 1^\\top R \\mathbf 1`
rather than the model-implied :math:`(\\sum\\lambda)^2 + \\sum u^2`).

``flip = FALSE`` because a scale is analysed as keyed: psych's default ``flip = TRUE`` silently reverses
items that load negatively and so reports the omega of a different scale. On a correctly keyed scale (no
negative loading) both agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.reliability._moments import as_item_matrix, moments, select_rows

#: psych's lower bound on uniquenesses in its minres fit (``lower = 0.005`` in ``fa``)
MIN_UNIQUENESS = 0.005


@dataclass(frozen=True)
class OmegaResult:
    """Omega total and the one-factor solution behind it.

    Attributes
    ----------
    omega_total
        :math:`1 - \\sum u^2 / \\mathbf 1^\\top R \\mathbf 1`.
    loadings
        Minres loadings on the single factor (signed so that they sum to a non-negative value).
    communalities
        :math:`h^2 = \\lambda^2` (psych ``schmid$sl[, "h2"]``).
    heywood
        True when the unconstrained solution has a communality above ``1 − 0.005``; the solution is then
        that of psych's bounded problem (uniquenesses at least 0.005), whose communalities may exceed 1.
    converged
        Whether Newton's method met its tolerance.
    n_obs, n_items, missing
        What was analysed.
    """

    omega_total: float
    loadings: np.ndarray
    communalities: np.ndarray
    heywood: bool
    converged: bool
    n_obs: int
    n_items: int
    missing: str


def _smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations, 1 − 1/diag(R⁻¹); the usual starting communalities."""
    try:
        inv = np.linalg.inv(r)
        smc = 1.0 - 1.0 / np.diag(inv)
    except np.linalg.LinAlgError:
        smc = np.full(r.shape[0], np.nan)
    if not np.isfinite(smc).all() or (smc < 0).any() or (smc > 1).any():
        off = np.abs(r - np.diag(np.diag(r)))
        smc = off.max(axis=1)
    return smc


def _objective(r: np.ndarray, lam: np.ndarray) -> float:
    resid = r - np.outer(lam, lam)
    np.fill_diagonal(resid, 0.0)
    return float((resid**2).sum() / 2.0)


def minres_one_factor(r: np.ndarray, *, tol: float = 1e-14, max_iter: int = 200) -> tuple[np.ndarray, bool]:
    """Loadings of the one-factor minres solution for a correlation matrix.

    Minimizes :math:`f(\\lambda) = \\sum_{i<j} (r_{ij} - \\lambda_i \\lambda_j)^2` (Harman & Jones 1966). At
    its minimum λ is the first eigenvector of ``R`` with communalities λ² on the diagonal, which is the
    solution psych's ``fa(fm = "minres")`` searches over uniquenesses. Start: 25 principal-axis iterations
    from squared multiple correlations; then Newton's method with the exact gradient and Hessian

    .. math::

        g_k = -2 \\sum_{j \\ne k} (r_{kj} - \\lambda_k\\lambda_j)\\lambda_j, \\quad
        H_{kk} = 2\\sum_{j\\ne k}\\lambda_j^2, \\quad H_{kl} = 2(2\\lambda_k\\lambda_l - r_{kl}),

    with step halving whenever a step does not lower *f*.

    >>> r = np.array([[1.0, 0.42, 0.35], [0.42, 1.0, 0.30], [0.35, 0.30, 1.0]])
    >>> lam, ok = minres_one_factor(r)
    >>> np.round(lam, 6).tolist(), ok
    ([0.7, 0.6, 0.5], True)
    """
    k = r.shape[0]
    h2 = _smc(r)
    lam = np.zeros(k)
    for _ in range(25):  # principal-axis iterations: a good start for Newton
        reduced = r.copy()
        np.fill_diagonal(reduced, h2)
        values, vectors = np.linalg.eigh(reduced)
        lam = vectors[:, -1] * np.sqrt(max(values[-1], 0.0))
        h2 = lam**2
    off = ~np.eye(k, dtype=bool)
    f = _objective(r, lam)
    for _ in range(max_iter):
        outer = np.outer(lam, lam)
        resid = np.where(off, r - outer, 0.0)
        grad = -2.0 * resid @ lam
        hess = 2.0 * (2.0 * outer - r)
        np.fill_diagonal(hess, 2.0 * ((lam**2).sum() - lam**2))
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = grad
        if not np.isfinite(step).all() or step @ grad <= 0:  # not a descent direction: steepest descent
            step = grad
        t = 1.0
        new = lam - step
        f_new = _objective(r, new)
        slack = 1e-12 * abs(f)  # near the optimum f changes below its rounding error: do not halve for that
        while f_new > f + slack and t > 1e-12:
            t /= 2.0
            new = lam - t * step
            f_new = _objective(r, new)
        moved = np.abs(new - lam).max()
        lam, f = (new, f_new) if f_new <= f + slack else (lam, f)
        if np.abs(grad).max() <= 1e-13 or moved <= tol:
            break
    resid = np.where(off, r - np.outer(lam, lam), 0.0)
    converged = bool(np.abs(resid @ lam).max() <= 1e-9)  # the gradient vanishes: a stationary point
    if lam.sum() < 0:
        lam = -lam
    return lam, converged


def _bounded_loadings(r: np.ndarray, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loadings from the first eigenpair of R with 1 − ψ on the diagonal (psych's ``FAout.wls``)."""
    reduced = r.copy()
    np.fill_diagonal(reduced, 1.0 - psi)
    values, vectors = np.linalg.eigh(reduced)
    top = max(values[-1], 100 * np.finfo(float).eps)
    return vectors[:, -1] * np.sqrt(top), values, vectors


def minres_bounded(r: np.ndarray, start: np.ndarray, *, max_iter: int = 100) -> tuple[np.ndarray, bool]:
    """One-factor solution with uniquenesses bounded below by 0.005, as psych's minres search ends in a
    Heywood case.

    psych's ``fa`` hands L-BFGS-B the direction :math:`\\mathrm{diag}(\\Lambda\\Lambda^\\top + \\Psi - R)` as
    the gradient, so its search heads for the point where, for every uniqueness not at the bound,
    :math:`\\psi_i = 1 - \\lambda_i^2(\\psi)` with λ(ψ) the first eigenpair of R with 1 − ψ on the diagonal;
    uniquenesses that would fall below 0.005 stay there, and their λ² may exceed 1. That fixed point is solved
    here by Newton's method with the exact Jacobian
    :math:`J_{ik} = \\delta_{ik} - v_i^2 v_k^2 - 2 e\\, v_i v_k W_{ik}`,
    :math:`W = \\sum_{m \\ge 2} v_m v_m^\\top / (e - e_m)`, with an active-set update of the bound items.
    psych's optimiser stops near, not at, this point (about 1e-4 away in omega in the cases tried).
    """
    k = r.shape[0]
    at_bound = start <= MIN_UNIQUENESS
    psi = np.clip(start, MIN_UNIQUENESS, 1.0)
    converged = False
    for _ in range(10):  # active-set rounds
        for _ in range(max_iter):
            lam, values, vectors = _bounded_loadings(r, psi)
            phi = np.where(at_bound, 0.0, psi - (1.0 - lam**2))
            if np.abs(phi).max() < 1e-14:
                converged = True
                break
            v, top = vectors[:, -1], values[-1]
            gaps = top - values[:-1]
            gaps = np.where(np.abs(gaps) < 1e-300, 1e-300, gaps)
            w = (vectors[:, :-1] / gaps) @ vectors[:, :-1].T
            jac = np.eye(k) - np.outer(v**2, v**2) - 2.0 * top * np.outer(v, v) * w
            free = np.flatnonzero(~at_bound)
            step = np.zeros(k)
            try:
                step[free] = np.linalg.solve(jac[np.ix_(free, free)], phi[free])
            except np.linalg.LinAlgError:
                step[free] = phi[free]
            psi = np.clip(psi - step, MIN_UNIQUENESS, 1.0)
        lam = _bounded_loadings(r, psi)[0]
        newly_bound = ~at_bound & (psi <= MIN_UNIQUENESS)
        released = at_bound & (1.0 - lam**2 > MIN_UNIQUENESS)
        if not newly_bound.any() and not released.any():
            break
        converged = False
        at_bound = (at_bound | newly_bound) & ~released
        psi = np.where(at_bound, MIN_UNIQUENESS, psi)
    lam = _bounded_loadings(r, psi)[0]
    return (-lam if lam.sum() < 0 else lam), converged


def omega_from_cor(r: np.ndarray, *, n_obs: int = 0, missing: str = "pairwise") -> OmegaResult:
    """Omega total of a correlation matrix (see the module docstring for the definition).

    The unconstrained minres solution is used when every uniqueness 1 − λ² is at least 0.005. Otherwise (a
    Heywood case) ``heywood`` is set and the uniquenesses are bounded below by 0.005 as in psych
    (:func:`minres_bounded`); psych's answer then depends on where its optimiser stops and agrees with ours
    only to about 1e-4.

    >>> r = np.array([[1.0, 0.42, 0.35], [0.42, 1.0, 0.30], [0.35, 0.30, 1.0]])
    >>> round(omega_from_cor(r).omega_total, 6)
    0.63035
    """
    r = np.asarray(r, dtype=float)
    k = r.shape[0]
    nan = float("nan")
    if k < 2 or not np.isfinite(r).all():
        empty = np.full(k, np.nan)
        return OmegaResult(nan, empty, empty, False, False, int(n_obs), k, missing)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        lam, converged = minres_one_factor(r)
        heywood = bool((lam**2 > 1.0 - MIN_UNIQUENESS).any())
        if heywood:
            lam, converged = minres_bounded(r, np.where(lam**2 > 1.0 - MIN_UNIQUENESS, 0.0, 1.0 - lam**2))
        h2 = lam**2
        total = r.sum()
        omega = 1.0 - (1.0 - h2).sum() / total if total > 0 else nan
    return OmegaResult(float(omega), lam, h2, heywood, converged, int(n_obs), k, missing)


def omega_total(data: pd.DataFrame | np.ndarray, *, missing: str = "pairwise") -> OmegaResult:
    """McDonald's omega total of an item matrix from a one-factor minres model.

    Parameters
    ----------
    data
        Respondents × items, already keyed; NaN = not answered.
    missing
        ``"pairwise"``: correlations from pairwise-complete observations, as
        ``psych::omega(x, nfactors = 1, flip = FALSE)`` (which uses ``cor(x, use = "pairwise")``);
        ``"listwise"``: complete rows only, as ``psych::omega(na.omit(x), nfactors = 1, flip = FALSE)``.

    Returns
    -------
    OmegaResult

    References
    ----------
    McDonald RP (1999). Test Theory: A Unified Treatment. Mahwah, NJ: Erlbaum.
    Harman HH, Jones WH (1966). Factor analysis by minimizing residuals (minres). Psychometrika 31:351–368.
    Revelle W. psych: ``omega``, ``fa``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = rng.standard_normal((500, 1))
    >>> x = np.round(f * [0.8, 0.7, 0.6, 0.5] + rng.standard_normal((500, 4)) * 0.6)
    >>> round(omega_total(x).omega_total, 3)
    0.767
    """
    x, _ = as_item_matrix(data)
    x = select_rows(x, missing)
    m = moments(x)
    return omega_from_cor(m.cor, n_obs=m.n_obs, missing=missing)
