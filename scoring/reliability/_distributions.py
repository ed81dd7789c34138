"""Quantiles of the F distribution without scipy (for Feldt's confidence interval of alpha).

The regularized incomplete beta function :math:`I_x(a, b)` is evaluated with its continued fraction
(Abramowitz & Stegun 1964, formula 26.5.8) by the modified Lentz method, and inverted by safeguarded Newton
steps on :math:`x`. The F quantile follows from :math:`F = (d_2 X) / (d_1 (1 - X))` with
:math:`X \\sim \\mathrm{Beta}(d_1/2, d_2/2)`. Accuracy is close to machine precision, far inside the 1e-6
the reliability tests ask for; only a few scalars are computed per scale.
"""

from __future__ import annotations

import math

_TINY = 1e-300
_EPS = 1e-15


def _log_beta_prefactor(a: float, b: float, x: float) -> float:
    """log of x^a (1-x)^b / B(a, b)."""
    return a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)


def _continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of I_x(a, b) (A&S 26.5.8), modified Lentz; converges fast for x < (a+1)/(a+b+2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """Regularized incomplete beta function :math:`I_x(a, b)`.

    >>> round(beta_cdf(0.5, 2.0, 2.0), 12)
    0.5
    >>> round(beta_cdf(0.3, 1.0, 1.0), 12)
    0.3
    """
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(_log_beta_prefactor(a, b, x)) * _continued_fraction(a, b, x) / a
    return 1.0 - math.exp(_log_beta_prefactor(a, b, x)) * _continued_fraction(b, a, 1.0 - x) / b


def _beta_log_pdf(x: float, a: float, b: float) -> float:
    return (a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)


def beta_ppf(p: float, a: float, b: float) -> float:
    """Quantile of Beta(a, b): the x with :math:`I_x(a, b) = p`.

    Newton steps on the CDF, kept inside a bracket that bisection shrinks whenever a step would leave it.

    >>> round(beta_ppf(0.5, 2.0, 2.0), 12)
    0.5
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), not {p}")
    lo, hi = 0.0, 1.0
    # start at the mean, a reasonable point for the moderate-to-large degrees of freedom used here
    x = a / (a + b)
    for _ in range(500):
        f = beta_cdf(x, a, b) - p
        if f > 0:
            hi = x
        else:
            lo = x
        step = f / math.exp(_beta_log_pdf(x, a, b))
        new = x - step
        if not lo < new < hi:
            new = 0.5 * (lo + hi)
        if abs(new - x) <= 1e-15 * max(1.0, abs(x)) or hi - lo < 1e-17:
            return new
        x = new
    return x


def f_ppf(p: float, dfn: float, dfd: float) -> float:
    """Quantile of the F distribution with ``dfn`` and ``dfd`` degrees of freedom (R's ``qf``).

    >>> round(f_ppf(0.975, 299.0, 2093.0), 6)
    1.180616
    """
    x = beta_ppf(p, dfn / 2.0, dfd / 2.0)
    return (dfd * x) / (dfn * (1.0 - x))
