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

J(q) is finite where the two surfaces meet transversally.  Where they touch (T = 0 on C,
below) it is singular: at a crossing point of C it diverges logarithmically, e.g. at
n = 0.3 for q = (a, a, 0), where ξ_k = ξ_{k+q} on two planes; near such momenta (q = (a,
a, b) with small b) it is large and converges slowly in n_planes.  ``error=True``
returns |J(n_planes) - J(n_planes/2)| as a check; a momentum rule whose nodes come
close to these sets integrates γ_q poorly, and the bubble reaches its linear regime
there only at Ω small against v_F times the distance.

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

from functools import lru_cache

import numpy as np

from .infinite import _check, chemical_potential
from .nesting import density_of_states
from .saddle import bubble_table_infinite, critical_coupling_table, fold_mass, momentum_rule

__all__ = ["fermi_surface_overlap", "landau_coefficient", "fold_landau"]

_NEWTON_STEPS = 40      # Newton steps from a cell centre, each clipped to one cell
_RESIDUAL = 1e-11       # |ξ| / t below which a Newton end point is a point of C
_SAME_POINT = 1e7       # points of a plane equal to 1e-7 in cos and sin of k_y, k_z are one
_PLANES_PER_CHUNK = 32  # planes searched at once (arrays of chunk × n_grid²)


def _plane_weights(q, mu, t, ka, n_grid):
    """Σ over the points p of C ∩ {k_x = ka_i} of |T_x|³/Σ_b T_b⁴, for each plane (array
    like ka), in chunks of planes."""
    return np.concatenate([_chunk_weights(q, mu, t, ka[i:i + _PLANES_PER_CHUNK], n_grid)
                           for i in range(0, ka.size, _PLANES_PER_CHUNK)])


def _chunk_weights(q, mu, t, ka, n_grid):
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
    ky, kz = ky[ok], kz[ok]
    # a point reached from two neighbouring cells counts once (keys periodic in k_y, k_z)
    key = np.column_stack([ip] + [np.round(f(k) * _SAME_POINT) for k in (ky, kz) for f in (np.cos, np.sin)])
    _, first = np.unique(key, axis=0, return_index=True)
    ip, kx, ky, kz = ip[first], kx[first], ky[first], kz[first]
    n1 = np.stack([np.sin(kx), np.sin(ky), np.sin(kz)], axis=1)
    n2 = np.stack([np.sin(kx + q[0]), np.sin(ky + q[1]), np.sin(kz + q[2])], axis=1)
    T = 4 * t * t * np.cross(n1, n2)
    t4 = np.sum(T ** 4, axis=1)
    # a touching point (T = 0) has measure zero in the line integral
    w = np.divide(np.abs(T[:, 0]) ** 3, t4, out=np.zeros_like(t4), where=t4 > 0)
    return np.bincount(ip, weights=w, minlength=ka.size)


def fermi_surface_overlap(q, density=0.5, t=1.0, *, mu=None, n_planes=400, n_grid=96, error=False):
    """J(q) = ∫ d³k/(2π)³ δ(ξ_k) δ(ξ_{k+q}), ξ_k = -2t Σ_a cos k_a - μ, at T = 0 (module
    docstring), for momenta ``q`` of shape (3,) or (n, 3) (radians); a float or an array
    (n,), units 1/t².  ``mu`` (units of t) overrides the chemical potential of ``density``;
    n_planes Gauss nodes per plane family, n_grid² cells per plane for the search.  With
    ``error``: (J, |J - J with n_planes/2|), the second of the same shape.

    Raises ValueError for a density outside (0, 1), t <= 0, q not of shape (3,) or (n, 3)
    or not finite, n_planes < 16 or n_grid < 16."""
    _check(density, t)
    q = np.asarray(q, dtype=float)
    single = q.ndim == 1
    qs = np.atleast_2d(q)
    if qs.ndim != 2 or qs.shape[1] != 3 or not np.all(np.isfinite(qs)):
        raise ValueError(f"q must be finite with shape (3,) or (n, 3), got shape {q.shape}")
    if n_planes < 16 or n_grid < 16:
        raise ValueError(f"n_planes and n_grid must be >= 16, got {n_planes} and {n_grid}")
    mu = chemical_potential(density, t) if mu is None else float(mu)

    def overlap(n):
        x, w = np.polynomial.legendre.leggauss(n)
        ka, wa = np.pi * x, np.pi * w
        # the y and z families are the x family of the momentum with that axis swapped to x
        return np.array([sum(wa @ _plane_weights(qi[list(p)], mu, t, ka, n_grid)
                             for p in ((0, 1, 2), (1, 0, 2), (2, 1, 0))) for qi in qs]) / (2 * np.pi) ** 3

    J = overlap(n_planes)
    err = np.abs(J - overlap(n_planes // 2)) if error else None
    if single:
        return (float(J[0]), float(err[0])) if error else float(J[0])
    return (J, err) if error else J


def landau_coefficient(q, density=0.5, t=1.0, **kw):
    """γ_q = π J(q): c_q(0) - c_q(Ω) = γ_q |Ω| + o(Ω) (module docstring), units 1/t², same
    shapes, options and errors as ``fermi_surface_overlap`` (with ``error``, both scaled)."""
    r = fermi_surface_overlap(q, density, t, **kw)
    return tuple(np.pi * x for x in r) if isinstance(r, tuple) else np.pi * r


@lru_cache(maxsize=4)
def _rule_overlap(density, n_q, t, n_planes, n_grid):
    """(J, |ΔJ|) on the nodes of momentum_rule(n_q, μ): independent of the k quadrature,
    so the fold of every n_k shares it (read-only arrays)."""
    mu = chemical_potential(density, t)
    q, _ = momentum_rule(n_q, mu, t)
    J, dJ = fermi_surface_overlap(q, density, t, mu=mu, n_planes=n_planes, n_grid=n_grid, error=True)
    J.flags.writeable = dJ.flags.writeable = False
    return J, dJ


def fold_landau(density, n_q=12, n_k=12, s0=None, c0=None, t=1.0, n_planes=400, n_grid=96):
    """Γ = ∫_q γ_q/(1 + s0 c_q(0))² at the glass instability on the momentum rule of
    ``saddle.fold_response`` (``momentum_rule(n_q, μ)``, static bubble c = -Π⁰ with n_k):
    the Ω -> 0 limit of A(Ω)/Ω there.  ``s0``, ``c0``: the fold's mass and the static
    bubble on the rule's nodes, as fold_response returns them (found from the rule's
    bubble table when None).  The line integrals on the rule are computed once per
    (density, n_q, t, n_planes, n_grid) and shared by the calls for other n_k.

    Returns a dict of floats: Gamma and Gamma_error (the same sum over |ΔJ| of
    ``fermi_surface_overlap(error=True)``), units 1/t²; s0 (units of t); sum_rule = ∫_q J(q)
    on the rule and rho2 = ρ(μ)², which it equals on an exact rule (units 1/t²).
    Raises ValueError as fermi_surface_overlap, or from the fold search."""
    _check(density, t)
    mu = chemical_potential(density, t)
    q, wq = momentum_rule(n_q, mu, t)
    if s0 is None or c0 is None:
        table = bubble_table_infinite(density, t, n_q, n_k)
        s0 = fold_mass(critical_coupling_table(table, t, 1e6 * t, what=f"density {density}"), table)
        c0 = table.c[0]
    J, dJ = _rule_overlap(float(density), int(n_q), float(t), int(n_planes), int(n_grid))
    weight = np.pi * wq / (1 + s0 * c0) ** 2
    return {"Gamma": float(weight @ J), "Gamma_error": float(weight @ dJ), "s0": float(s0),
            "sum_rule": float(wq @ J), "rho2": float(density_of_states(mu, t) ** 2)}
