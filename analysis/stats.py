"""Disorder averages and bootstrap errors over realisations."""

from __future__ import annotations

import numpy as np

__all__ = ["mean_sem", "bootstrap"]


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
