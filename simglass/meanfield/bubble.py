"""Particle–hole bubble Π⁰(Ω, q) of Eq. 36 on the d-dimensional hypercubic lattice
(docs/conventions.md), on an L^d momentum grid: exactly the periodic L^d cluster.

    Π⁰(Ω, q) = -(1/L^d) Σ_k [f(ξ_k) - f(ξ_{k+q})] Δ / (Ω² + Δ²),  Δ = ξ_{k+q} - ξ_k,
    ξ_k = -2t Σ_a cos k_a - μ,

Ω a (bosonic) imaginary frequency, T >= 0.  Terms with Δ = 0 contribute their limit
f'(ξ_k) at Ω = 0 and nothing at Ω ≠ 0.  Π⁰ <= 0.  Deterministic: a finite sum, exact to
rounding.  At T = 0 the chemical potential must fall in a gap of the cluster spectrum
(closed shell), otherwise Π⁰ is not defined and a ValueError says so.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

__all__ = ["grid_momenta", "dispersion", "grid_chemical_potential", "bubble_grid", "fermi"]


def grid_momenta(L: int, d: int = 3) -> np.ndarray:
    """(L^d, d) momenta 2π m / L, m_a = 0..L-1, in C order of m."""
    m = np.array(np.unravel_index(np.arange(L ** d), (L,) * d)).T
    return 2 * np.pi * m / L


def dispersion(k, t: float) -> np.ndarray:
    """-2t Σ_a cos k_a (without μ), Eq. 37."""
    return -2 * t * np.cos(np.atleast_2d(k)).sum(axis=1)


def fermi(x, T):
    """Fermi function 1/(e^{x/T} + 1) of energies x (any shape) at temperature T >= 0
    (T = 0: the step θ(-x))."""
    if T == 0:
        return (x < 0).astype(float)
    return 0.5 * (1 - np.tanh(x / (2 * T)))


def grid_chemical_potential(density: float, t: float, L: int, d: int = 3, T: float = 0.0) -> float:
    """μ giving ``density`` on the L^d grid: at T = 0 the midpoint of the gap between the
    N_f-th and (N_f+1)-th level (N_f = density L^d must be an integer filling a closed
    shell); at T > 0 the root of (1/L^d) Σ_k f(ξ_k) = density.

    Raises ValueError for a density outside (0, 1), T < 0, a density that is not an
    integer number of particles on the grid, or (T = 0) a Fermi level inside a degenerate
    shell.
    """
    if not 0 < density < 1:
        raise ValueError(f"density must lie in (0, 1), got {density!r}")
    if T < 0 or not np.isfinite(T):
        raise ValueError(f"T must be >= 0, got {T!r}")
    e = np.sort(dispersion(grid_momenta(L, d), t))
    N = e.size
    if T == 0:
        nf = density * N
        if abs(nf - round(nf)) > 1e-9:
            raise ValueError(f"density {density} times L^d = {N} is not an integer number of particles")
        nf = int(round(nf))
        if e[nf] - e[nf - 1] < 1e-12 * max(t, 1.0):
            raise ValueError(f"density {density} on L = {L}: the Fermi level lies inside a degenerate "
                             "shell (Π⁰ undefined at T = 0); use T > 0 or a closed-shell filling")
        return 0.5 * (e[nf - 1] + e[nf])
    return brentq(lambda mu: fermi(e - mu, T).mean() - density, e[0] - 50 * T - 1, e[-1] + 50 * T + 1,
                  xtol=1e-15)


def bubble_grid(omega, q_index, density: float, t: float, L: int, d: int = 3, T: float = 0.0,
                mu: float | None = None) -> np.ndarray:
    """Π⁰(Ω, q) on the L^d grid for every Ω in ``omega`` (array) and every grid momentum
    q = 2π m / L with integer vectors m in ``q_index`` ((n_q, d) array).
    Returns an array (len(omega), n_q).

    Raises ValueError for ``q_index`` without d integer columns, a degenerate
    particle-hole pair at the Fermi level, and as ``grid_chemical_potential``.
    """
    omega = np.atleast_1d(np.asarray(omega, float))
    qi = np.atleast_2d(np.asarray(q_index))
    if qi.shape[1] != d:
        raise ValueError(f"q_index must have {d} columns (integer grid momenta), got shape {qi.shape}")
    if mu is None:
        mu = grid_chemical_potential(density, t, L, d, T)
    m = np.array(np.unravel_index(np.arange(L ** d), (L,) * d)).T
    xi = dispersion(2 * np.pi * m / L, t) - mu
    f = fermi(xi, T)
    fp = -f * (1 - f) / T if T > 0 else np.zeros_like(f)
    out = np.empty((omega.size, qi.shape[0]))
    for c, qv in enumerate(qi):
        kq = np.ravel_multi_index(((m + qv) % L).T, (L,) * d)
        D = xi[kq] - xi
        df = f - f[kq]
        zero = np.abs(D) < 1e-13 * max(t, 1.0)
        if T == 0 and np.any(zero & (np.abs(df) > 0)):
            raise ValueError("degenerate particle-hole pair at the Fermi level")
        for w_i, W in enumerate(omega):
            with np.errstate(divide="ignore", invalid="ignore"):
                term = np.where(zero, 0.0, df * D / (W * W + D * D))
            if W == 0:
                term = np.where(zero, -fp, term)  # lim_{D->0} (f_k - f_k+q)/D = -f'
            out[w_i, c] = -term.mean()
    return out
