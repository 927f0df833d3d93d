"""Landau damping of the free particle–hole bubble of the infinite cubic lattice: the
coefficient of its linear decrease in imaginary frequency (docs/conventions.md, "Landau
damping at the fold").

With c_q(Ω) = -Π⁰(Ω, q) = 2 ∫_k f(ξ_k)[1 - f(ξ_{k+q})] Δ/(Ω² + Δ²), Δ = ξ_{k+q} - ξ_k
(meanfield.infinite, T = 0),

    c_q(0) - c_q(Ω) = 2 ∫_k f(1 - f') Ω² / [Δ (Ω² + Δ²)] = γ_q |Ω| + o(Ω),
    γ_q = π J(q),   J(q) = ∫ d³k/(2π)³ δ(ξ_k) δ(ξ_{k+q}):

as Ω → 0 only pairs with both ξ_k = -a < 0 and ξ_{k+q} = b > 0 near the Fermi surface
count, d³k = da db dl / |∇ξ_k × ∇ξ_{k+q}| there, and ∫∫_{a,b>0} da db Ω²/[s(Ω² + s²)]
(s = a + b) = πΩ/2.  J(q) is finite wherever the Fermi surface and its copy shifted by
-q intersect transversally, so γ_q is the finite slope of Landau damping and, at the
glass instability, A(Ω) = ∫_q [c_q(0) - c_q(Ω)]/(1 + s0 c_q(0))² = Γ |Ω| + o(Ω) with
Γ = ∫_q γ_q/(1 + s0 c_q(0))² (``fold_landau``; Eq. 47 is the square root of A).

J(q) is a line integral over the curve C where both surfaces meet,
J = (2π)⁻³ ∫_C dl/|T|, T = ∇ξ_k × ∇ξ_{k+q} (the tangent of C).  It is computed over the
three families of planes k_a = const with the partition of unity φ_a = T_a⁴/Σ_b T_b⁴:

    J = (2π)⁻³ Σ_a ∫ dk_a Σ_{p ∈ C ∩ {k_a}} |T_a|³ / Σ_b T_b⁴,

whose integrand vanishes like |k_a - k_0|^(3/2) where C turns in a plane (no 1/√
singularity there), so Gauss nodes in k_a converge fast.  In each plane the points of C
are found from the cells of an n_grid × n_grid grid where both ξ_k and ξ_{k+q} change
sign, refined by Newton's method in the plane to |ξ| < 1e-11 t; points that the grid
misses lie where C is nearly tangent to the plane, where the weight vanishes.
"""

from __future__ import annotations

import numpy as np

from .infinite import _check, chemical_potential

__all__ = ["fermi_surface_overlap", "landau_coefficient", "fold_landau"]

_NEWTON_STEPS = 40
_RESIDUAL = 1e-11


def _plane_weights(q, mu, t, ka, n_grid):
    """Σ over the points p of C ∩ {k_x = ka_i} of |T_x|³/Σ_b T_b⁴, for each plane (array
    like ka)."""
    g = -np.pi + 2 * np.pi * np.arange(n_grid) / n_grid
    h = 2 * np.pi / n_grid
    cy, cz = np.cos(g)[None, :, None], np.cos(g)[None, None, :]
    f1 = -2 * t * (np.cos(ka)[:, None, None] + cy + cz) - mu
    f2 = -2 * t * (np.cos(ka + q[0])[:, None, None] + np.cos(g + q[1])[None, :, None]
                   + np.cos(g + q[2])[None, None, :]) - mu

    def sign_change(f):                     # a cell [g_i, g_i+1] × [g_j, g_j+1] (periodic)
        s = f > 0
        s_y, s_z = np.roll(s, -1, 1), np.roll(s, -1, 2)
        return (s != s_y) | (s != s_z) | (s != np.roll(s_y, -1, 2))

    ip, iy, iz = np.nonzero(sign_change(f1) & sign_change(f2))
    del f1, f2
    kx, ky, kz = ka[ip], g[iy] + h / 2, g[iz] + h / 2

    def residuals(ky, kz):
        return (-2 * t * (np.cos(kx) + np.cos(ky) + np.cos(kz)) - mu,
                -2 * t * (np.cos(kx + q[0]) + np.cos(ky + q[1]) + np.cos(kz + q[2])) - mu)

    for _ in range(_NEWTON_STEPS):
        r1, r2 = residuals(ky, kz)
        a, b = 2 * t * np.sin(ky), 2 * t * np.sin(kz)
        c, d = 2 * t * np.sin(ky + q[1]), 2 * t * np.sin(kz + q[2])
        det = a * d - b * c
        det = np.where(np.abs(det) < 1e-300, 1e-300, det)
        ky = ky - np.clip((d * r1 - b * r2) / det, -h, h)
        kz = kz - np.clip((a * r2 - c * r1) / det, -h, h)
    r1, r2 = residuals(ky, kz)
    ok = (np.abs(r1) < _RESIDUAL * t) & (np.abs(r2) < _RESIDUAL * t)
    ip, kx = ip[ok], kx[ok]
    ky = np.mod(ky[ok] + np.pi, 2 * np.pi) - np.pi
    kz = np.mod(kz[ok] + np.pi, 2 * np.pi) - np.pi
    # a point reached from two neighbouring cells counts once
    key = np.stack([ip, np.round(ky * 1e7), np.round(kz * 1e7)], axis=1)
    _, first = np.unique(key, axis=0, return_index=True)
    ip, kx, ky, kz = ip[first], kx[first], ky[first], kz[first]
    n1 = np.stack([np.sin(kx), np.sin(ky), np.sin(kz)], axis=1)
    n2 = np.stack([np.sin(kx + q[0]), np.sin(ky + q[1]), np.sin(kz + q[2])], axis=1)
    T = 4 * t * t * np.cross(n1, n2)
    return np.bincount(ip, weights=np.abs(T[:, 0]) ** 3 / np.sum(T ** 4, axis=1), minlength=ka.size)


def fermi_surface_overlap(q, density=0.5, t=1.0, *, mu=None, n_planes=400, n_grid=96):
    """J(q) = ∫ d³k/(2π)³ δ(ξ_k) δ(ξ_{k+q}), ξ_k = -2t Σ_a cos k_a - μ, at T = 0 (module
    docstring), for momenta ``q`` of shape (3,) or (n, 3) (radians); a float or an array
    (n,), units 1/t².  ``mu`` (units of t) overrides the chemical potential of ``density``;
    n_planes Gauss nodes per plane family, n_grid² cells per plane for the search.

    Raises ValueError for a density outside (0, 1), t <= 0, q not of shape (3,) or (n, 3)
    or not finite, n_planes < 8 or n_grid < 16."""
    _check(density, t)
    q = np.asarray(q, dtype=float)
    single = q.ndim == 1
    qs = np.atleast_2d(q)
    if qs.ndim != 2 or qs.shape[1] != 3 or not np.all(np.isfinite(qs)):
        raise ValueError(f"q must be finite with shape (3,) or (n, 3), got shape {q.shape}")
    if n_planes < 8 or n_grid < 16:
        raise ValueError(f"n_planes must be >= 8 and n_grid >= 16, got {n_planes} and {n_grid}")
    mu = chemical_potential(density, t) if mu is None else float(mu)
    x, w = np.polynomial.legendre.leggauss(n_planes)
    ka, wa = np.pi * x, np.pi * w
    out = np.empty(len(qs))
    for i, qi in enumerate(qs):
        # the y and z families are the x family of the momentum with that axis swapped to x
        out[i] = sum(wa @ _plane_weights(qi[list(p)], mu, t, ka, n_grid)
                     for p in ((0, 1, 2), (1, 0, 2), (2, 1, 0))) / (2 * np.pi) ** 3
    return float(out[0]) if single else out


def landau_coefficient(q, density=0.5, t=1.0, **kw):
    """γ_q = π J(q): c_q(0) - c_q(Ω) = γ_q |Ω| + o(Ω) (module docstring), units 1/t², same
    shapes, options and errors as ``fermi_surface_overlap``."""
    return np.pi * fermi_surface_overlap(q, density, t, **kw)


def fold_landau(density, n_q=12, n_k=12, s0=None, t=1.0, n_planes=400, n_grid=96):
    """Γ = ∫_q γ_q/(1 + s0 c_q(0))² at the glass instability on the momentum rule of
    ``saddle.fold_response`` (``momentum_rule(n_q, μ)``, static bubble with n_k): the
    Ω → 0 limit of A(Ω)/Ω there, units 1/t².  ``s0``: the fold's mass (as returned by
    fold_response; computed when None).  Returns a dict of floats Gamma, s0 and
    sum_rule = ∫_q J(q) on the rule with rho2 = ρ(μ)², which it equals on an exact rule.
    Raises ValueError as fermi_surface_overlap."""
    from .nesting import density_of_states
    from .saddle import bubble_table_infinite, critical_coupling_table, fold_mass, momentum_rule
    from .infinite import bubble
    _check(density, t)
    mu = chemical_potential(density, t)
    q, wq = momentum_rule(n_q, mu, t)
    if s0 is None:
        table = bubble_table_infinite(density, t, n_q, n_k)
        s0 = fold_mass(critical_coupling_table(table, t, 1e6 * t, what=f"density {density}"), table)
    c0 = np.maximum(-bubble(np.zeros(1), q, density, t, mu=mu, n_k=n_k)[0], 0.0)
    J = fermi_surface_overlap(q, density, t, mu=mu, n_planes=n_planes, n_grid=n_grid)
    return {"Gamma": float(np.pi * wq @ (J / (1 + s0 * c0) ** 2)), "s0": float(s0),
            "sum_rule": float(wq @ J), "rho2": float(density_of_states(mu, t) ** 2)}
