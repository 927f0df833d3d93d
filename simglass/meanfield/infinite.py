"""Particle–hole bubble of the infinite 3D cubic lattice at T = 0 (Eq. 36, PHYSICS.md §4),
deterministic, with an error estimate.

With f the T = 0 occupation and inversion symmetry ξ_{-k} = ξ_k,

    -Π⁰(Ω, q) = 2 ∫_k f(ξ_k) [1 - f(ξ_{k+q})] Δ / (Ω² + Δ²),   Δ = ξ_{k+q} - ξ_k >= 0,

an integral over the Fermi sea only, with a non-negative integrand and no principal
value.  For fixed (k_x, k_y) the occupied k_z form the arc cos k_z >= a_1 and the
occupied k_z + q_z the arc cos(k_z + q_z) >= a_2 (a = -μ/2t - cos k_x - cos k_y and its
shifted partner), so the k_z integral runs exactly over the arcs of "k in, k+q out",
with Gauss–Legendre nodes on each piece (smooth integrand).  The (k_x, k_y) integral
uses Gauss–Legendre nodes on the bounding square of the projected Fermi sea
(|k_a| <= arccos(-μ/2t - 2)); the integrand has square-root kinks on curves inside, so
that rule converges algebraically: ``bubble(..., error=True)`` returns the difference
between n_k and 2 n_k nodes as the error estimate.

μ(n) and ρ(μ) of the infinite lattice come from the same arcs (``chemical_potential``,
``density_of_states``).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.optimize import brentq

__all__ = ["bubble", "chemical_potential", "density_of_states", "fermi_sea_half_width"]

_TWO_PI3 = (2 * np.pi) ** 3


def _check(density, t):
    if not (np.isfinite(density) and 0 < density < 1):
        raise ValueError(f"density must lie in (0, 1), got {density!r}")
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"t must be > 0, got {t!r}")


def _leggauss(n):
    x, w = np.polynomial.legendre.leggauss(n)
    return np.ascontiguousarray(x), np.ascontiguousarray(w)


def fermi_sea_half_width(mu, t):
    """Half width K of the square |k_x|, |k_y| <= K holding the projected Fermi sea."""
    m = -mu / (2 * t)
    return float(np.arccos(np.clip(m - 2.0, -1.0, 1.0)))


def _filling(mu, t, n):
    """(density, density of states per site) at μ from n x n Gauss nodes on the square."""
    K = fermi_sea_half_width(mu, t)
    x, w = _leggauss(n)
    kx = K * x
    c = np.cos(kx)
    a = -mu / (2 * t) - c[:, None] - c[None, :]
    ww = (K * w)[:, None] * (K * w)[None, :]
    z = np.where(a <= -1, np.pi, np.arccos(np.clip(a, -1, 1)))
    dens = (ww * 2 * z).sum() / _TWO_PI3
    # dn/dμ: dz/dμ = 1/(2t sin z) on the Fermi surface (two ends of the arc)
    inside = (a > -1) & (a < 1)
    s = np.sqrt(np.clip(1 - a * a, 1e-300, None))
    rho = (ww * np.where(inside, 2 / (2 * t * s), 0.0)).sum() / _TWO_PI3
    return float(dens), float(rho)


def chemical_potential(density, t=1.0, n=400):
    """μ of the infinite cubic lattice at T = 0 for filling ``density``."""
    _check(density, t)
    if abs(density - 0.5) < 1e-15:
        return 0.0
    return brentq(lambda mu: _filling(mu, t, n)[0] - density, -6 * t, 6 * t, xtol=1e-14)


def density_of_states(mu, t=1.0, n=400):
    """ρ(μ) per site (the (k_x, k_y) rule has 1/√ edges: use it as a cross-check only)."""
    return _filling(mu, t, n)[1]


@njit(cache=True)
def _column(kx, ky, qx, qy, qz, omega, m, t, xz, wz, w2, out, pts):
    """Add w2 * ∫ dk_z over {k occupied, k + q empty} of Δ/(Ω² + Δ²) to out[Ω]."""
    cx, cxq = np.cos(kx), np.cos(kx + qx)
    cy, cyq = np.cos(ky), np.cos(ky + qy)
    a1 = m - cx - cy
    if a1 >= 1.0:
        return
    a2 = m - cxq - cyq
    if a2 <= -1.0:
        return  # every k + q of this column is occupied
    z1 = np.pi if a1 <= -1.0 else np.arccos(a1)
    npt = 0
    pts[npt] = -z1
    npt += 1
    if a2 < 1.0:
        z2 = np.arccos(a2)
        for e in (-qz - z2, -qz + z2):
            e = (e + np.pi) % (2 * np.pi) - np.pi
            if -z1 < e < z1:
                pts[npt] = e
                npt += 1
    pts[npt] = z1
    npt += 1
    p = np.sort(pts[:npt])
    dxy = -2.0 * t * ((cxq - cx) + (cyq - cy))
    for s in range(npt - 1):
        lo, hi = p[s], p[s + 1]
        if hi - lo <= 0.0:
            continue
        mid = 0.5 * (lo + hi)
        if a2 < 1.0 and np.cos(mid + qz) >= a2:
            continue  # k + q occupied
        half = 0.5 * (hi - lo)
        for j in range(xz.size):  # x = lo + (hi - lo)(1 - cos θ)/2: nodes crowd at the ends
            kz = lo + half * (1.0 - np.cos(xz[j]))
            d = dxy - 2.0 * t * (np.cos(kz + qz) - np.cos(kz))
            w = w2 * half * np.sin(xz[j]) * wz[j]
            for o in range(omega.size):
                W = omega[o]
                den = W * W + d * d
                if den > 0.0:
                    out[o] += w * d / den


@njit(cache=True)
def _breaks(c, shift, m, out, n):
    """Append ±arccos(m - c ∓ 1) - shift (wrapped to [-π, π)) for the arguments in (-1, 1):
    where a column's arc appears (a = 1) or fills the circle (a = -1)."""
    for r in (m - c - 1.0, m - c + 1.0):
        if -1.0 < r < 1.0:
            b = np.arccos(r)
            for e in (b - shift, -b - shift):
                out[n] = (e + np.pi) % (2 * np.pi) - np.pi
                n += 1
    return n


@njit(cache=True)
def _bubble(q, omega, m, t, xs, ws, xz, wz, out):
    """Σ over k_x, k_y of the column integrals: both split at the square-root edges of
    the arcs (computed), each piece mapped by x = lo + (hi - lo)(1 - cos θ)/2 with Gauss
    nodes in θ (removes the square-root endpoint behaviour)."""
    qx, qy, qz = q[0], q[1], q[2]
    pts = np.empty(6)
    bx = np.empty(20)
    by = np.empty(20)
    nb = 0
    bx[nb] = -np.pi
    nb += 1
    bx[nb] = np.pi
    nb += 1
    for r in (m - 2.0, m, m + 2.0):  # columns change their structure in k_y
        if -1.0 < r < 1.0:
            b = np.arccos(r)
            for e in (b, -b, b - qx, -b - qx):
                bx[nb] = (e + np.pi) % (2 * np.pi) - np.pi
                nb += 1
    for e in (-0.5 * qx, np.pi - 0.5 * qx):  # cos k_x = cos(k_x + q_x): the arcs swap order
        bx[nb] = (e + np.pi) % (2 * np.pi) - np.pi
        nb += 1
    px = np.sort(bx[:nb])
    for sx in range(nb - 1):
        lox, hix = px[sx], px[sx + 1]
        if hix - lox <= 1e-15:
            continue
        if np.cos(0.5 * (lox + hix)) < m - 2.0:
            continue  # no occupied k in these columns
        for ix in range(xs.size):
            th = xs[ix]
            kx = lox + (hix - lox) * (1.0 - np.cos(th)) * 0.5
            wx = ws[ix] * (hix - lox) * 0.5 * np.sin(th)
            n = 0
            by[n] = -np.pi
            n += 1
            by[n] = np.pi
            n += 1
            n = _breaks(np.cos(kx), 0.0, m, by, n)
            n = _breaks(np.cos(kx + qx), qy, m, by, n)
            for e in (-0.5 * qy, np.pi - 0.5 * qy):
                by[n] = (e + np.pi) % (2 * np.pi) - np.pi
                n += 1
            py = np.sort(by[:n])
            for sy in range(n - 1):
                loy, hiy = py[sy], py[sy + 1]
                if hiy - loy <= 1e-15:
                    continue
                for iy in range(xs.size):
                    th2 = xs[iy]
                    ky = loy + (hiy - loy) * (1.0 - np.cos(th2)) * 0.5
                    wy = ws[iy] * (hiy - loy) * 0.5 * np.sin(th2)
                    _column(kx, ky, qx, qy, qz, omega, m, t, xz, wz, wx * wy, out, pts)
    return out


def _theta_nodes(n):
    x, w = _leggauss(n)
    return np.ascontiguousarray(np.pi / 2 * (x + 1)), np.ascontiguousarray(np.pi / 2 * w)


def _bubble_one(q, omega, mu, t, n_k, n_z):
    xs, ws = _theta_nodes(n_k)
    xz, wz = _theta_nodes(n_z)
    out = np.zeros(omega.size)
    _bubble(np.asarray(q, float), omega, -mu / (2 * t), float(t), xs, ws, xz, wz, out)
    return 2 * out / _TWO_PI3


def bubble(omega, q, density=0.5, t=1.0, T=0.0, *, mu=None, n_k=16, n_z=12, error=False):
    """Π⁰(Ω, q) (<= 0) of the infinite cubic lattice at T = 0 for every Ω in ``omega``
    and every momentum row of ``q`` ((n_q, 3) or (3,)); returns (len(omega), n_q)
    (and, with ``error=True``, the estimate |result(n_k) - result(2 n_k)| of the
    (k_x, k_y) quadrature, same shape)."""
    _check(density, t)
    if not (np.isfinite(T) and T >= 0):
        raise ValueError(f"T must be >= 0, got {T!r}")
    if T > 0:
        raise ValueError("the infinite-lattice bubble is implemented at T = 0 only; use "
                         "bubble_grid (finite L^3 grid) for T > 0")
    omega = np.atleast_1d(np.asarray(omega, float))
    q = np.atleast_2d(np.asarray(q, float))
    if q.shape[1] != 3:
        raise ValueError(f"q must have 3 components per row, got shape {q.shape}")
    mu = chemical_potential(density, t) if mu is None else mu
    out = np.stack([-_bubble_one(qq, omega, mu, t, n_k, n_z) for qq in q], axis=1)
    if not error:
        return out
    fine = np.stack([-_bubble_one(qq, omega, mu, t, 2 * n_k, n_z) for qq in q], axis=1)
    return fine, np.abs(fine - out)
