"""Disorder averages and bootstrap errors over realisations."""

from __future__ import annotations

import numpy as np

__all__ = ["mean_sem", "bootstrap", "first_crossing", "weighted_line", "power_law_fit"]


def mean_sem(samples, axis=0):
    """Mean and standard error of the mean over ``axis`` (realisations)."""
    x = np.asarray(samples, dtype=float)
    n = x.shape[axis]
    m = x.mean(axis=axis)
    if n < 2:
        return m, np.full_like(m, np.nan)
    return m, x.std(axis=axis, ddof=1) / np.sqrt(n)


def bootstrap(stat, samples, n_boot: int = 1000, seed: int = 0):
    """Bootstrap over realisations: ``stat(samples[idx])`` for resampled index sets.
    Returns (stat on all samples, bootstrap standard deviation)."""
    samples = np.asarray(samples)
    n = len(samples)
    value = stat(samples)
    if n < 2:
        return value, np.nan
    rng = np.random.default_rng(seed)
    boots = np.array([stat(samples[rng.integers(0, n, n)]) for _ in range(n_boot)])
    return value, boots.std(axis=0, ddof=1)


def first_crossing(x, S, level: float, falling: bool = False, transform=None, n_boot: int = 500,
                   seed: int = 0):
    """Where the disorder average first crosses a level, with a bootstrap error.

    x : (n_x,) ascending scan values; S : (n_x, R) per-realisation values, the same
    realisation in each column (so resampling takes whole columns: jointly across x).
    y(x_j) = transform(mean of the finite entries of S[j]) - level (-inf where none is
    finite); the first j where y changes sign upwards (``falling``: downwards) gives the
    crossing by linear interpolation between x_j and x_j+1 (x_j+1 itself when y there is
    not finite).  Returns (crossing, bootstrap standard deviation over the resamples that
    cross); NaN when there is no crossing.  Used by the ED glass onset (Eq. 42) and the
    stiffness drop points."""
    x = np.asarray(x, float)
    S = np.asarray(S, float)
    f = (lambda m: m) if transform is None else transform

    def one(s):
        fin = np.isfinite(s)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(fin.any(axis=1), np.where(fin, s, 0.0).sum(axis=1) / np.maximum(fin.sum(axis=1), 1),
                         -np.inf)
            y = f(m) - level
            k = np.flatnonzero((y[:-1] > 0) & (y[1:] <= 0) if falling else (y[:-1] < 0) & (y[1:] >= 0))
        if k.size == 0:
            return np.nan
        k = k[0]
        if not np.isfinite(y[k + 1]):
            return x[k + 1]
        return x[k] + y[k] * (x[k + 1] - x[k]) / (y[k] - y[k + 1])

    value = one(S)
    R = S.shape[1]
    if R < 2:
        return float(value), np.nan
    rng = np.random.default_rng(seed)
    boots = np.array([one(S[:, rng.integers(0, R, R)]) for _ in range(n_boot)])
    ok = np.isfinite(boots)
    return float(value), float(boots[ok].std(ddof=1)) if ok.sum() > 1 else np.nan


def weighted_line(x, y, sigma):
    """Weighted least squares y = a + b x with standard errors ``sigma`` (n,).
    Returns (a, b, cov (2, 2) of (a, b) from the sigmas, chi²/dof with dof = max(n - 2, 1)).
    Used by the N^(-2/3) extrapolation, the power-law exponents and the finite-size
    crossings."""
    x, y, s = (np.asarray(v, float) for v in (x, y, sigma))
    A = np.c_[np.ones_like(x), x] / s[:, None]
    coef, *_ = np.linalg.lstsq(A, y / s, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    chi2 = float(np.sum((A @ coef - y / s) ** 2) / max(x.size - 2, 1))
    return float(coef[0]), float(coef[1]), cov, chi2


def power_law_fit(x, y, err):
    """Weighted fit ln y = a + b ln x: (b, error of b, chi²/dof); the error is the one
    propagated from ``err``, scaled by sqrt(chi²/dof) when that exceeds 1 (the points
    are not on one power law: the scatter, not the quadrature, sets the error).  Used
    for the Eq. 44 and Eq. 19 exponents."""
    x, y, err = (np.asarray(v, float) for v in (x, y, err))
    _, b, cov, chi2 = weighted_line(np.log(x), np.log(y), np.maximum(err / y, 1e-12))
    return b, float(np.sqrt(cov[1, 1]) * max(1.0, np.sqrt(chi2))), chi2
