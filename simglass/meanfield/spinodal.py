"""The Hartree spinodal J_s of the Fermi liquid on the W̃ = 0 axis: where the uniform
state of the compensated model stops being a local minimum of the Hartree energy
(docs/conventions.md "Hartree spinodal").

With compensated couplings and W = 0 the Hartree field of the uniform density vanishes,
so the clean lattice's Fermi sea is a Hartree solution at every J (at a closed-shell
filling).  The Hessian of E_H there, in the particle-conserving space, is χ⁰⁻¹ − V
with χ⁰ the clean static response, χ⁰(q) = c_q = −Π⁰(0, q) >= 0.  It loses positivity
when λ_max(A V A) = 1, A = (χ⁰)^½: per realisation J_s = J / λ_max(A V A)
(:func:`spinodal_samples`).

For N → ∞, V = J × (Wigner matrix of variance 1/N), and the spectrum of A V A follows
from Pastur's equation for the resolvent, G(z) ≈ (z − J² h(z) χ⁰)⁻¹ with
h(z) = (1/N) tr χ⁰ G(z).  Writing u = J² h and z = u w, the self-consistency reads
u² = J² S(w), S(w) = ⟨c/(w − c)⟩_q, so z(w) = J w √S(w) for real w > max c; the upper
edge of the spectrum is min_w z(w), and

    J_s = 1 / min_{w > max_q c_q} w √S(w)                 (:func:`hartree_spinodal`).

The minimum condition, 2⟨c²/(w − c)²⟩ = w⟨c/(w − c)²⟩, is the fold of the saddle
point's Ω = 0 equation (Eqs. 38 and 43) with the constraint's λ set to 0
(D(0) = w S(w), J² D(0) = 1/w): J_s is the saddle point's glass line without the
quantum constraint, and the ratio J_c,met / J_s measures what the constraint adds.  At n = ½ the
nested Fermi surface makes c_Q diverge at Q = (π, π, π) on the infinite lattice, so
J_s → 0 there as the momentum rule is refined.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["hartree_spinodal", "hartree_spinodal_table", "hartree_spinodal_infinite", "response_root",
           "spinodal_samples"]


def hartree_spinodal(c, weights=None) -> float:
    """J_s (units of the c's inverse, i.e. t when c is in 1/t) of the module docstring
    from the static bubble c_q = −Π⁰(0, q) >= 0 on a momentum grid (plain mean) or rule
    (``weights`` summing to 1).  Returns inf when every c_q is 0.

    Raises ValueError for negative or non-finite c or weights of another shape."""
    c = np.asarray(c, float).ravel()
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("c must be finite and >= 0 (c_q = -Π⁰(0, q))")
    w = np.full(c.size, 1.0 / c.size) if weights is None else np.asarray(weights, float).ravel()
    if w.shape != c.shape:
        raise ValueError(f"weights must have the shape of c, {c.shape}, got {w.shape}")
    cmax = c.max(initial=0.0)
    if cmax == 0:
        return float("inf")

    def log_z2(y):   # w = cmax (1 + e^y) > cmax; log of (w √S)²
        ww = cmax * (1.0 + np.exp(y))
        return 2 * np.log(ww) + np.log(w @ (c / (ww - c)))
    r = minimize_scalar(log_z2, bounds=(-40.0, 12.0), method="bounded", options={"xatol": 1e-10})
    return float(np.exp(-0.5 * r.fun))


def hartree_spinodal_table(table) -> float:
    """J_s from the Ω = 0 row of a saddle-point BubbleTable (grid or infinite-lattice
    rule), the same bubble as the table's J_c,met (meanfield.saddle)."""
    return hartree_spinodal(table.c[0], table.qweights)


def hartree_spinodal_infinite(density, t=1.0, n_q=12, n_k=12, T=0.0) -> float:
    """J_s of the infinite cubic lattice: the static bubble on ``momentum_rule(n_q, μ)``,
    the rule of the saddle point's J_c,met (meanfield.critical_coupling).  At n = ½ it
    falls as n_q grows (nesting, module docstring).  T > 0 (energy units): the static
    bubble and μ at temperature T on ``momentum_rule(n_q, μ(T), t, T)``, where the
    uniform state stops being a local minimum of the Hartree free energy (T cuts the
    nesting off: at n = ½ it stays finite; about 30 s at n_q = 8).

    Raises ValueError for a density outside (0, 1) or a T that is negative or not finite."""
    from .infinite import bubble, chemical_potential
    from .saddle import momentum_rule
    if not (np.isfinite(density) and 0 < density < 1):
        raise ValueError(f"density must lie in (0, 1), got {density!r}")
    if not (np.isfinite(T) and T >= 0):
        raise ValueError(f"T must be a finite temperature >= 0, got {T!r}")
    mu = chemical_potential(density, t, T=T)
    q, wq = momentum_rule(n_q, mu, t, T)
    c = -bubble(np.array([0.0]), q, density, t, T, mu=mu, n_k=n_k)[0]
    return hartree_spinodal(np.maximum(c, 0.0), wq)


def response_root(L: int, n_particles: int, t: float = 1.0, d: int = 3, T: float = 0.0) -> np.ndarray:
    """A = (χ⁰)^½ in real space, (N, N) with N = L^d: the square root of the clean
    periodic lattice's static response at N_f particles, built from c_q (bubble_grid)
    as A_ij = (1/N) Σ_q √c_q cos(q·(r_i − r_j)).

    T > 0 (energy units): the response at temperature T at fixed N_f (any N_f: the
    uniform Fermi–Dirac density is a Hartree solution of the compensated model at every
    filling), with c_0 = 0 (the uniform density change, which fixed N_f excludes), so
    that 1/λ_max(A V₁ A) is where the uniform state stops being a local minimum of the
    Hartree free energy (ed.hartree_thermal: its stability there is 1 − J λ_max).

    Raises ValueError (from grid_chemical_potential) when N_f does not close a shell at
    T = 0, or for T < 0."""
    from .bubble import bubble_grid, grid_chemical_potential
    N = L ** d
    density = n_particles / N
    mu = grid_chemical_potential(density, t, L, d, T)
    if T == 0 and abs(np.mean(_levels(L, t, d) < mu) - density) > 1e-12:
        raise ValueError(f"N_f = {n_particles} on L = {L}: not a closed shell")
    m = np.array(np.unravel_index(np.arange(N), (L,) * d)).T
    c = -bubble_grid([0.0], m, density, t, L, d, T=T, mu=mu)[0]
    c[0] = 0.0        # q = 0 (m = 0): zero at T = 0 on a closed shell; excluded by fixed N_f at T > 0
    a = np.real(np.fft.ifftn(np.sqrt(np.maximum(c, 0.0)).reshape((L,) * d)))   # a(r), r = m
    diff = (m[:, None, :] - m[None, :, :]) % L
    return a[tuple(diff[..., k] for k in range(d))]


def _levels(L, t, d):
    from .bubble import dispersion
    m = np.array(np.unravel_index(np.arange(L ** d), (L,) * d)).T
    return dispersion(2 * np.pi * m / L, t)


def spinodal_samples(L: int, n_particles: int, realizations, seed: int = 0, t: float = 1.0,
                     d: int = 3, T: float = 0.0) -> np.ndarray:
    """J_s/t = 1/λ_max(A V₁ A) of each realisation r of ``realizations`` (V₁: the model's
    couplings at J = 1, simglass.sample_disorder with ``seed``), on the periodic L^d
    lattice at the closed-shell filling N_f (T = 0), or at temperature T > 0 at any N_f
    (``response_root``).  Shape (len(realizations),)."""
    from scipy.linalg import eigvalsh

    from simglass import Lattice, sample_disorder
    A = response_root(L, n_particles, t, d, T)
    lat = Lattice((L,) * d)
    out = []
    for r in realizations:
        V = sample_disorder(lat, J=1.0, seed=seed, realization=int(r)).V
        M = A @ V @ A
        lam = eigvalsh(0.5 * (M + M.T), subset_by_index=[M.shape[0] - 1, M.shape[0] - 1])[0]
        out.append(1.0 / lam)
    return np.array(out)
