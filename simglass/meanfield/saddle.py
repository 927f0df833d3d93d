"""Saddle point of the Fermi liquid (q_EA = 0) and of the metallic glass (q_EA > 0) on an
L^d momentum grid (the periodic L^d cluster) or on a momentum rule of the infinite
lattice (Eqs. 38-43; docs/conventions.md), at T = 0 or on the Matsubara frequencies at T > 0
(``frequency_nodes``), with static couplings J or the retarded J(Ω) of Eq. 11
(``BubbleTable.omega0``; J² below then means J(Ω)²).

With c_q(Ω) = -Π⁰(Ω, q) >= 0 (bubble_grid) and s = 2λ - J² D(Ω), Eq. 38 reads

    D = (1/L^d) Σ_q c_q / (1 + s c_q)          ([-Π⁰]⁻¹ + 2λ - J² D = (1 + s c_q)/c_q),

solved at every Ω for the branch connected to J = 0 (the smaller root; no root means the
Fermi liquid is unstable), by Newton's iteration from D = 0 on all frequency rows at once
(``_solve_D``; monotone, since the right-hand side is convex in D).  The constraint
Eq. 39, ∫ dΩ/2π D(Ω) = n(1 - n), fixes λ; the Ω integral runs over Ω = ω_s tan θ with
Gauss–Legendre nodes in θ ∈ (0, π/2), which maps the 1/Ω² tail onto a finite interval
exactly.  The glass instability Eq. 43,
J² (1/L^d) Σ_q c_q(0)² / (1 + s c_q(0))² = 1, is where the Ω = 0 equation loses its
root; ``critical_coupling_table`` follows that fold line (``critical_coupling_bisection``
is the slow cross-check) and ``glass_solution`` continues it into the glass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .bubble import bubble_grid, grid_chemical_potential

__all__ = ["SaddleGrid", "saddle_grid", "critical_coupling_grid", "bubble_table", "GlassPoint", "glass_solution",
           "fold_response"]


@dataclass
class BubbleTable:
    omega: np.ndarray     # quadrature nodes Ω_k (plus Ω = 0 first)
    weights: np.ndarray   # ∫_0^∞ dΩ g(Ω) ≈ Σ_k w_k g(Ω_k) (weight 0 for Ω = 0)
    c: np.ndarray         # (n_omega, n_q) -Π⁰(Ω_k, q)
    density: float
    qweights: np.ndarray | None = None  # ∫_q g ≈ Σ_q w_q g(q); None: the plain grid mean
    omega0: float | None = None  # retarded couplings J(Ω) = J ω0²/(Ω² + ω0²) (Eq. 11); None: static

    def qmean(self, x):
        return np.mean(x, axis=-1) if self.qweights is None else x @ self.qweights

    def couplings(self, J):
        """J(Ω_k) on the frequency nodes: J (static) or Eq. 11 with J(0) = J (Eq. 12)."""
        if self.omega0 is None:
            return np.full(self.omega.size, float(J))
        return J * self.omega0 ** 2 / (self.omega ** 2 + self.omega0 ** 2)


def frequency_nodes(t, n_omega=96, omega_scale=None, T=0.0, n_matsubara=64):
    """Frequency nodes Ω_k (Ω = 0 first) and weights w_k with Σ_k w_k D(Ω_k) / π =
    ∫ dΩ/2π D(Ω) over the whole axis (T = 0) or T Σ_n D(Ω_n) (T > 0).

    T = 0: Ω = 0 (weight 0) and the tan-mapped Gauss–Legendre nodes Ω = ω_s tan θ.
    T > 0: the bosonic Matsubara frequencies Ω_n = 2πnT, n < n_matsubara (weights πT for
    n = 0, 2πT otherwise), and the rest of the sum as (1/π)∫ dΩ D beyond
    Ω_c = 2π(n_matsubara - ½)T (midpoint rule, relative error ~ 1/(4 n_matsubara²) of
    that tail), on tan-mapped nodes Ω = Ω_c + ω_s tan θ."""
    s = 4.0 * t if omega_scale is None else omega_scale
    x, w = np.polynomial.legendre.leggauss(n_omega)
    th = (x + 1) * np.pi / 4
    tail_w = w * np.pi / 4 * s / np.cos(th) ** 2
    if T == 0:
        return np.concatenate([[0.0], s * np.tan(th)]), np.concatenate([[0.0], tail_w])
    n = np.arange(n_matsubara)
    matsubara = 2 * np.pi * T * n
    mw = np.where(n == 0, np.pi * T, 2 * np.pi * T)
    cut = 2 * np.pi * T * (n_matsubara - 0.5)
    return np.concatenate([matsubara, cut + s * np.tan(th)]), np.concatenate([mw, tail_w])


def bubble_table(density, t, L, d=3, T=0.0, n_omega=96, omega_scale=None) -> BubbleTable:
    """-Π⁰ on the grid at Ω = 0 and at the quadrature nodes, for every q."""
    mu = grid_chemical_potential(density, t, L, d, T)
    omega, weights = frequency_nodes(t, n_omega, omega_scale, T)
    qs = np.array(np.unravel_index(np.arange(L ** d), (L,) * d)).T
    c = -bubble_grid(omega, qs, density, t, L, d, T, mu=mu)
    return BubbleTable(omega, weights, np.maximum(c, 0.0), density)


def _solve_D_scalar(c, J, lam, mean=np.mean):
    """Smaller root of F(D) = D - mean c/(1 + (2λ - J² D) c), or None (no root), by
    bracketing: the fallback of ``_solve_D`` where Newton's iteration leaves the
    increasing side of F."""
    if J == 0:
        return float(mean(c / (1 + 2 * lam * c)))
    cmax = c.max()
    if 1 + 2 * lam * cmax <= 0:
        return None
    Dmax = (2 * lam + 1 / cmax) / J ** 2  # pole of the largest term

    def F(D):
        return D - mean(c / (1 + (2 * lam - J ** 2 * D) * c))

    def dF(D):
        with np.errstate(divide="ignore"):  # at the pole D = Dmax: -inf, the right sign
            return 1 - J ** 2 * mean(c ** 2 / (1 + (2 * lam - J ** 2 * D) * c) ** 2)
    # F is concave on [0, Dmax): its maximum is where dF = 0
    if dF(0.0) <= 0:
        return None
    hi = Dmax * (1 - 1e-12)
    Dstar = hi if dF(hi) > 0 else brentq(dF, 0.0, hi, xtol=1e-15 * max(hi, 1e-300))
    if F(Dstar) < 0:
        return None
    return brentq(F, 0.0, Dstar, xtol=1e-15) if F(0.0) < 0 else 0.0


def _row_mean(x):
    return np.mean(x, axis=-1)


def _solve_D(c, J, lam, mean=_row_mean, max_iter=200):
    """Smaller roots D_k of F_k(D) = D - mean_q c_kq/(1 + (2λ - J_k² D) c_kq), Eq. 38, for
    every row k of ``c`` (shape (n_omega, n_q), or (n_q,) for one row, with J of shape
    (n_omega,) or a scalar); None when some row has no root (the Fermi liquid does not
    exist at this λ).

    F_k is concave and increasing from F_k(0) = -D_k(J = 0) < 0 up to its maximum, so
    Newton's iteration from D = 0 rises monotonically to the smaller root (each tangent
    lies above F_k): all rows are iterated at once.  Rows where an iterate leaves the
    increasing side of F_k (no root, or rounding at a double root) are decided by
    ``_solve_D_scalar``'s bracketing."""
    c = np.asarray(c, dtype=float)
    one = c.ndim == 1
    c2 = c[None] if one else c
    J2 = np.broadcast_to(np.asarray(J, dtype=float) ** 2, c2.shape[:1]).copy()
    if np.any(1 + 2 * lam * c2.max(axis=-1) <= 0):
        return None
    a = 1 + 2 * lam * c2                      # 1 + 2λ c > 0
    D = np.zeros(c2.shape[0])
    active = np.ones(D.size, dtype=bool)
    fallback = np.zeros(D.size, dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        ck, Dk = c2[idx], D[idx]
        den = a[idx] - (J2[idx] * Dk)[:, None] * ck
        bad = np.any(den <= 0, axis=-1)       # past the pole of the largest term
        den = np.where(den > 0, den, 1.0)
        g = ck / den
        f = Dk - mean(g)
        fp = 1 - J2[idx] * mean(g * g)
        bad |= ~(fp > 0) | ~np.isfinite(f)
        step = np.where(bad, 0.0, -f / np.where(bad, 1.0, fp))
        D[idx] = Dk + step
        done = bad | (f >= 0) | (step <= 2e-15 * np.abs(D[idx]) + 1e-300)
        fallback[idx[bad]] = True             # (their step is 0: D stays at the last good iterate)
        active[idx[done]] = False
    fallback |= active                        # not converged: bracket it
    for k in np.flatnonzero(fallback):
        d = _solve_D_scalar(c2[k], float(np.sqrt(J2[k])), lam, mean)  # mean of one row
        if d is None:
            return None
        D[k] = d
    return float(D[0]) if one else D


@dataclass
class SaddleGrid:
    J: float
    lam: float
    omega: np.ndarray
    D: np.ndarray
    stability: float  # J² mean c(0)²/(1 + s c(0))²: < 1 Fermi liquid, -> 1 at J_c


def saddle_grid(J, table: BubbleTable) -> SaddleGrid | None:
    """λ and D(Ω) of the Fermi liquid at coupling J, or None when no Fermi-liquid
    solution exists (beyond the glass instability)."""
    target = table.density * (1 - table.density)

    Jw = table.couplings(J)

    def Ds(lam):
        return _solve_D(table.c, Jw, lam, table.qmean)

    def G(lam):
        D = Ds(lam)
        return None if D is None else (table.weights @ D) / np.pi - target

    # D exists for λ above some λ* (larger λ stabilises) and decreases with λ
    lo = 0.0
    g_lo = G(lo)
    if g_lo is None:
        bad, good = 0.0, max(J ** 2, 1e-3)
        while G(good) is None:
            bad, good = good, 2 * good
            if good > 1e6:
                return None
        for _ in range(200):  # λ* to rounding
            mid = 0.5 * (bad + good)
            if G(mid) is None:
                bad = mid
            else:
                good = mid
            if good - bad <= 1e-12 * good:
                break
        lo, g_lo = good, G(good)
        if g_lo < 0:
            return None  # the constraint needs λ < λ*: no Fermi-liquid solution
    if g_lo < 0:  # λ < 0 (only at J ≈ 0, by quadrature rounding)
        hi, lo = lo, -1e-3
        while G(lo) is not None and G(lo) < 0 and lo > -1e3:
            lo *= 2
    else:
        hi = lo + 1e-3 + J
        while G(hi) > 0:
            hi = lo + 2 * (hi - lo)

    def G_or_high(lam):
        g = G(lam)
        return 1.0 if g is None else g
    lam = brentq(G_or_high, lo, hi, xtol=1e-15, rtol=1e-13)
    D = Ds(lam)
    if D is None:
        return None
    c0 = table.c[0]
    s0 = 2 * lam - J ** 2 * D[0]
    stab = J ** 2 * table.qmean(c0 ** 2 / (1 + s0 * c0) ** 2)
    return SaddleGrid(J=J, lam=lam, omega=table.omega, D=D, stability=float(stab))


def critical_coupling_grid(density, t, L, d=3, T=0.0, J_max=50.0, tol=1e-6, n_omega=96):
    """J_c of the Fermi-liquid → glass instability on the L^d grid (bisection between the
    largest J with a Fermi-liquid solution and the smallest without)."""
    table = bubble_table(density, t, L, d, T, n_omega)
    return critical_coupling_table(table, t, J_max, tol, f"density {density}, L = {L}")


def _fold_point(table: BubbleTable, s0):
    """(constraint residual ∫dΩ/π D - n(1 - n), J, λ, D) on the marginal line: Eq. 38 at
    Ω = 0 with a double root (Eq. 43 / Eq. 40 with q_EA > 0), parametrised by the Ω = 0
    mass s0 = 2λ - J² D(0) (> -1/max c(0)); residual NaN when Eq. 38 has no root at some
    Ω > 0."""
    c0 = table.c[0]
    J = table.qmean(c0 ** 2 / (1 + s0 * c0) ** 2) ** -0.5
    D = [table.qmean(c0 / (1 + s0 * c0))]
    lam = 0.5 * (s0 + J ** 2 * D[0])
    rest = _solve_D(table.c[1:], table.couplings(J)[1:], lam, table.qmean)
    if rest is None:
        return np.nan, J, lam, None
    D = np.concatenate([D, rest])
    return (table.weights @ D) / np.pi - table.density * (1 - table.density), J, lam, D


def critical_coupling_table(table: BubbleTable, t=1.0, J_max=50.0, tol=1e-9, what=""):
    """J_c from a bubble table, by the fold parametrisation: at the instability the Ω = 0
    equation of Eq. 38 has a double root (Eq. 43).  With its mass s0 = 2λ - J² D(0)
    (> -1/max c(0)) as the parameter,

        J(s0) = [∫_q c0²/(1 + s0 c0)²]^(-1/2),  D(0) = ∫_q c0/(1 + s0 c0),
        λ = (s0 + J² D(0))/2,

    and the constraint Eq. 39, ∫ dΩ/π D(Ω; J, λ) = n(1 - n), fixes s0 (one root find;
    D(Ω > 0) from Eq. 38 at that J, λ).  ``critical_coupling_bisection`` finds the same
    J_c by bisection on the existence of the Fermi-liquid solution (tests compare)."""
    c0 = table.c[0]
    s_min = -1.0 / c0.max()

    def G(s0):
        return _fold_point(table, s0)[:2]

    # G > 0 near s_min (J -> 0, D(0) large), G -> -n(1-n) as s0 -> inf (J -> inf)
    offsets = np.abs(s_min) * np.logspace(-10, 6, 65)
    prev = None
    for off in offsets:
        g, J = G(s_min + off)
        if np.isfinite(g) and g < 0:
            if prev is None:
                raise ValueError(f"no Fermi-liquid side of the instability found ({what})")
            lo, hi = prev, s_min + off
            break
        if np.isfinite(g):
            prev = s_min + off
    else:
        raise ValueError(f"no glass instability found ({what})")
    s0 = brentq(lambda x: G(x)[0], lo, hi, xtol=1e-15, rtol=1e-14)
    J = float(G(s0)[1])
    if J > J_max:
        raise ValueError(f"no glass instability below J_max = {J_max} ({what}): J_c = {J:.4g}")
    return J


def fold_mass(J, table: BubbleTable) -> float:
    """The Ω = 0 mass s0 = 2λ - J² D(0) on the fold line at coupling J (J(s0) = J; at J_c
    the mass of the Fermi liquid at its instability).  It lies above the pole
    -1/max_q c(0): a static bubble that diverges somewhere (nesting at n = ½) pins it
    to s0 >= 0."""
    s_min = -1.0 / table.c[0].max()
    lo, hi = s_min * (1 - 1e-14), s_min + 1.0
    while _fold_point(table, hi)[1] < J:  # J(s0) grows with s0 (J ≈ s0 at large s0)
        lo, hi = hi, s_min + 2 * (hi - s_min)
    return brentq(lambda x: _fold_point(table, x)[1] - J, lo, hi, xtol=1e-15, rtol=1e-14)


@dataclass
class GlassPoint:
    J: float
    q_ea: float          # Edwards–Anderson parameter (Eq. 40), > 0 in the glass
    lam: float
    omega: np.ndarray
    D: np.ndarray        # D(Ω) on the frequency nodes (the Ω = 0 entry is D(0))


def glass_solution(J, table: BubbleTable) -> GlassPoint:
    """The metallic glass at J > J_c (replica symmetric, q_EA > 0, Eqs. 38-40): Eq. 40
    with q_EA ≠ 0 is the marginality condition J² ∫_q c0²/(1 + s0 c0)² = 1, so the
    solution lies on the fold line of ``critical_coupling_table``: s0 solves J(s0) = J,
    λ and D(Ω) follow, and Eq. 39 gives q_EA = n(1 - n) - ∫ dΩ/2π D(Ω).  Below J_c the
    marginal solution would need q_EA < 0: ValueError."""
    g, _, lam, D = _fold_point(table, fold_mass(J, table))
    if D is None or not g < 0:
        raise ValueError(f"J = {J:g} is not in the glass phase (marginal solution has q_EA = {-g:.3g})")
    return GlassPoint(J=float(J), q_ea=float(-g), lam=float(lam), omega=table.omega, D=D)


def critical_coupling_bisection(table: BubbleTable, t=1.0, J_max=50.0, tol=1e-7, what=""):
    """J_c by bisection between the largest J with a Fermi-liquid solution
    (``saddle_grid``) and the smallest without; the slow cross-check of
    ``critical_coupling_table``."""
    lo, hi = 0.0, None
    J = 0.5 * t
    while J <= J_max:
        if saddle_grid(J, table) is None:
            hi = J
            break
        lo, J = J, J * 1.5
    if hi is None:
        raise ValueError(f"no glass instability below J_max = {J_max} ({what})")
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        if saddle_grid(mid, table) is None:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _gauss(n, a, b):
    x, w = np.polynomial.legendre.leggauss(n)
    return a + (b - a) / 2 * (x + 1), w * (b - a) / 2


def q_quadrature(n_q, split=None):
    """Tensor momentum rule for ∫_q over the cubic Brillouin zone of a function with the
    full cubic symmetry (even in each q_a, symmetric under permutations): Gauss–Legendre
    nodes in [0, π] per axis, one node per permutation class q_1 >= q_2 >= q_3 with the
    summed weight of its class.  With ``split`` in (0, π), [0, split] and [split, π]
    get their own Gauss nodes (n_q in all, in proportion to their lengths, at least 2
    each).  Returns (q (n, 3), weights summing to 1)."""
    if split is None or not 0 < split < np.pi:
        g, gw = _gauss(n_q, 0.0, np.pi)
    else:
        a = min(max(2, round(n_q * split / np.pi)), n_q - 2)
        (g1, w1), (g2, w2) = _gauss(a, 0.0, split), _gauss(n_q - a, split, np.pi)
        g, gw = np.concatenate([g1, g2]), np.concatenate([w1, w2])
    gw = gw / np.pi
    n = g.size
    qs, ws = [], []
    for i in range(n):
        for j in range(i + 1):
            for k in range(j + 1):
                idx = (i, j, k)
                mult = 6 // {1: 6, 2: 2, 3: 1}[len(set(idx))]
                qs.append((g[i], g[j], g[k]))
                ws.append(mult * gw[i] * gw[j] * gw[k])
    return np.array(qs), np.array(ws)


_SIGNS = np.array([(a, b, c) for a in (1, -1) for b in (1, -1) for c in (1, -1)], float)


def _kohn_radii(d, m, n_scan=64):
    """s in (0, π) where the ray q = s d (d = (1, u, uv)) crosses a folded 2k_F surface
    Σ_a σ_a cos(q_a/2) = m, σ in {±1}³ (the Fermi surface scaled by 2 and its mirror
    images in the faces q_a = π; m = -μ/2t)."""
    s = np.linspace(0.0, np.pi, n_scan + 1)
    f = np.cos(np.outer(s, d) / 2) @ _SIGNS.T - m          # (n_scan + 1, 8)
    out = []
    for i, k in zip(*np.nonzero(f[:-1] * f[1:] < 0)):
        sig = _SIGNS[k]
        out.append(brentq(lambda x: sig @ np.cos(x * d / 2) - m, s[i], s[i + 1], xtol=1e-15))
    return sorted(out)


def _face_breaks(m, u=None):
    """Angles where a folded 2k_F surface meets the face q_1 = π, across which the ray
    integrand changes form: with u given, the v in (0, 1) with
    σ2 cos(πu/2) + σ3 cos(πuv/2) = m; without, the u in (0, 1) where such a v reaches
    0 or 1."""
    out = []
    for s2 in (1, -1):
        for s3 in (1, -1):
            if u is None:
                cs = [s2 * (m - s3)] + ([m / (s2 + s3)] if s2 + s3 else [])
                out += [2 * np.arccos(c) / np.pi for c in cs if -1 < c < 1]
            else:
                c = s3 * (m - s2 * np.cos(np.pi * u / 2))
                if -1 < c < 1:
                    out.append(2 * np.arccos(c) / (np.pi * u))
    return sorted(x for x in set(out) if 0 < x < 1)


def ray_quadrature(n_s, n_a, mu, t=1.0):
    """Momentum rule adapted to the Kohn singularities of a convex Fermi surface
    (|μ| > 2t): the wedge π >= q_1 >= q_2 >= q_3 >= 0 (1/48 of the zone) as rays
    q = s (1, u, uv), s in [0, π], u, v in [0, 1], d³q = s² u ds du dv.

    For a convex, inversion-symmetric Fermi surface the static bubble is singular
    (|q - 2k_F| log|q - 2k_F|) only where the Fermi surface and its q-shifted copy touch,
    i.e. on the Fermi surface scaled by 2 and its mirror images in the zone faces,
    Σ σ_a cos(q_a/2) = -μ/2t.  Along each ray s is split where it crosses these
    surfaces (cos-mapped Gauss nodes per piece, n_s each, clustering at the kinks and at
    s = 0, where c(Ω, q) varies on the scale Ω/v_F); u and v (Gauss–Legendre, n_a per
    piece) are split where the surfaces meet the face q_1 = π.
    Returns (q (n, 3), weights summing to 1)."""
    from .infinite import _mapped_nodes  # the bubble's cos-mapped nodes
    m = -mu / (2 * t)
    fr, fw = _mapped_nodes(n_s)
    qs, ws = [], []
    ub = [0.0] + _face_breaks(m) + [1.0]
    for ua, ub_ in zip(ub[:-1], ub[1:]):
        for u, wu in zip(*_gauss(n_a, ua, ub_)):
            vb = [0.0] + _face_breaks(m, u) + [1.0]
            for va, vb_ in zip(vb[:-1], vb[1:]):
                for v, wv in zip(*_gauss(n_a, va, vb_)):
                    d = np.array([1.0, u, u * v])
                    sb = [0.0] + _kohn_radii(d, m) + [np.pi]
                    for lo, hi in zip(sb[:-1], sb[1:]):
                        sn = lo + (hi - lo) * fr
                        qs.append(np.outer(sn, d))
                        ws.append(wu * wv * (hi - lo) * fw * sn ** 2 * u * 48 / (2 * np.pi) ** 3)
    return np.concatenate(qs), np.concatenate(ws)


def convex_fermi_surface(mu, t=1.0):
    """True where the Fermi surface of the cubic lattice is convex, |μ| > 2t (n < 0.213 or
    n > 0.787): it does not reach the zone faces."""
    return abs(mu) > 2 * t


def edge_cusp(mu, t=1.0):
    """q* = 2 arccos(|μ|/2t) of an open Fermi surface (|μ| < 2t): on the zone edge
    q = (π, π, q*) the Fermi surface and its q-shifted copy touch along the curve
    k_z = -q*/2, cos k_x + cos k_y = 0 (ξ_{k+q} - ξ_k = 4t(cos k_x + cos k_y) there), and
    the static bubble has a cusp, its maximum.  None for a convex Fermi surface."""
    return None if convex_fermi_surface(mu, t) else 2 * np.arccos(abs(mu) / (2 * t))


def momentum_rule(n_q, mu, t=1.0, T=0.0):
    """The momentum rule of the infinite-lattice solver.  At T = 0 where the Fermi
    surface is convex (|μ| > 2t, n < 0.213 or n > 0.787): ``ray_quadrature(n_q,
    n_q // 3 + 1)``, which follows its Kohn kinks.  At T = 0 where it is open: the tensor
    rule with n_q + 4 nodes per axis, split at the edge cusp q* (``edge_cusp``), so that
    the cusp points (π, π, q*) and their images are corners of the tensor cells.  Kohn
    surfaces other than the folded 2k_F ones also cross the zone there, and no ray
    construction here follows them; this rule gives the rays' 4 digits
    (benchmarks/open_fermi_surface.py).  At T > 0: ``q_quadrature(n_q)`` (the kinks are
    smeared over k_B T / v_F and the thermal average over μ' has no single Fermi surface
    to follow).  docs/validation.md §6 compares them."""
    if T > 0:
        return q_quadrature(n_q)
    if convex_fermi_surface(mu, t):
        return ray_quadrature(n_q, n_q // 3 + 1, mu, t)
    return q_quadrature(n_q + 4, split=edge_cusp(mu, t))


def bubble_table_infinite(density, t=1.0, n_q=12, n_k=12, n_omega=48, omega_scale=None, T=0.0,
                          n_matsubara=64, n_T=16) -> BubbleTable:
    """-Π⁰ of the infinite cubic lattice (meanfield.infinite.bubble) at Ω = 0 and the
    frequency nodes (Matsubara ones at T > 0), on ``momentum_rule(n_q, μ)``."""
    from .infinite import bubble, chemical_potential
    mu = chemical_potential(density, t, T=T, n_T=n_T)
    omega, weights = frequency_nodes(t, n_omega, omega_scale, T, n_matsubara)
    q, wq = momentum_rule(n_q, mu, t, T)
    c = -bubble(omega, q, density, t, T, mu=mu, n_k=n_k, n_T=n_T)
    return BubbleTable(omega, weights, np.maximum(c, 0.0), density, qweights=wq)


def fold_response(density, omega, t=1.0, n_q=12, n_k=12, n_omega=48):
    """D(Ω) of the Fermi liquid exactly at its glass instability (Eq. 47), on the
    infinite-lattice rules of ``critical_coupling`` (``momentum_rule(n_q, μ)``, n_k, the
    n_omega constraint nodes), at the imaginary frequencies ``omega`` (1-D, > 0, units of t).

    At J_c Eq. 38 has a double root at Ω = 0 (the fold, Eq. 43).  With s0 the Ω = 0 mass
    there and A(Ω) = ∫_q [c_q(0) - c_q(Ω)] / (1 + s0 c_q(0))² the change of the free
    bubble (c = -Π⁰) weighted at the fold, the expansion of Eq. 38 about the double root
    gives D(0) - D(Ω) = [2 A(Ω) / F'']^½ (1 + O(A^½)), F'' = 2 J⁴ ∫_q c0³/(1 + s0 c0)³: a
    square root of A, whatever the rule, and A(Ω) ∝ |Ω| (Landau damping) turns it into
    the Ω^½ of Eq. 47.

    Returns a dict of floats J_c, s0, lam (λ), D0 (D(0)) and arrays (len(omega),) omega,
    D (D(Ω)), A (A(Ω)), all in units of t (D, A in 1/t), and c0 (nodes of the rule,),
    the static bubble there (1/t).  Raises ValueError for a
    density outside (0, 1), an omega that is not positive and finite, or where Eq. 38
    has no root at some Ω (not at the fold of the rule)."""
    from .infinite import bubble, chemical_potential
    omega = np.atleast_1d(np.asarray(omega, dtype=float))
    if not (np.isfinite(density) and 0 < density < 1):
        raise ValueError(f"density must lie in (0, 1), got {density!r}")
    if omega.ndim != 1 or omega.size == 0 or not np.all(np.isfinite(omega) & (omega > 0)):
        raise ValueError("omega must be a non-empty 1-D array of finite frequencies > 0")
    table = bubble_table_infinite(density, t, n_q, n_k, n_omega)
    jc = critical_coupling_table(table, t, 1e6 * t, what=f"density {density}, infinite lattice")
    s0 = fold_mass(jc, table)
    _, J, lam, D = _fold_point(table, s0)
    mu = chemical_potential(density, t)
    q, _ = momentum_rule(n_q, mu, t)
    c = np.maximum(-bubble(omega, q, density, t, mu=mu, n_k=n_k), 0.0)
    c0 = table.c[0]
    Dw = _solve_D(c, J, lam, table.qmean)
    if Dw is None:
        raise ValueError(f"Eq. 38 has no root at some Ω at the fold (density {density})")
    A = np.array([table.qmean((c0 - row) / (1 + s0 * c0) ** 2) for row in c])
    return {"J_c": float(J), "s0": float(s0), "lam": float(lam), "D0": float(D[0]), "omega": omega,
            "D": np.array(Dw, dtype=float), "A": A, "c0": c0}


def critical_coupling(density, t=1.0, n_q=12, n_k=12, n_omega=48, tol=1e-6, J_max=200.0, T=0.0):
    """(J/t)_c·t of the Fermi-liquid → metallic-glass instability (Eq. 43) of the infinite
    cubic lattice at temperature T (``simglass.meanfield.critical_coupling``).
    Convergence in n_q, n_k, n_omega: docs/validation.md (benchmarks/saddle.py)."""
    if not (np.isfinite(density) and 0 < density < 1):
        raise ValueError(f"density must lie in (0, 1), got {density!r}")
    table = bubble_table_infinite(density, t, n_q, n_k, n_omega, T=T)
    return critical_coupling_table(table, t, J_max * t, tol, f"density {density}, T = {T}, infinite lattice")


def closed_form_critical_coupling(density, t=1.0, Q=None, n_k=64, n_omega=96):
    """The approximation of Eqs. 45-46: the bubble at one momentum Q replaces its q
    dependence, Eq. 38 becomes quadratic, D_Q(Ω) = a/2J² - sqrt((a/2J²)² - 1/J²) with
    a = [-Π⁰(Ω, Q)]⁻¹ + 2λ, and the instability is a(0) = 2J, i.e. λ_c = J - ½[-Π⁰(0, Q)]⁻¹,
    D_Q(0) = 1/J.  The constraint Eq. 39 with D_Q then fixes J_c,Q.
    Q: default |Q| = k_F of the continuum, (6π² n)^(1/3) (holes above ½), along (1, 1, 1),
    each component capped at 0.9 π/√3 (|Q| < 2 k_F, away from the nesting vector).
    Returns (J_c,Q, Ω nodes, D_Q(Ω) at J_c,Q)."""
    from .infinite import bubble
    if not (np.isfinite(density) and 0 < density < 1):
        raise ValueError(f"density must lie in (0, 1), got {density!r}")
    if Q is None:
        kf = (6 * np.pi ** 2 * min(density, 1 - density)) ** (1 / 3)
        Q = np.full(3, min(kf / np.sqrt(3), 0.9 * np.pi / np.sqrt(3)))
    omega, weights = frequency_nodes(t, n_omega)
    c = -bubble(omega, np.asarray(Q, float), density, t, n_k=n_k)[:, 0]
    target = density * (1 - density)

    def DQ(J):
        a = 1 / c + 2 * (J - 0.5 / c[0])  # λ = λ_c(J); a >= 2J since c(Ω) <= c(0)
        return 2 / (a + np.sqrt(np.maximum(a * a - 4 * J ** 2, 0.0)))  # = Eq. 45, no cancellation

    def G(J):
        return weights @ DQ(J) / np.pi - target
    lo, hi = 1e-3 * t, t
    while G(hi) > 0:
        lo, hi = hi, 2 * hi
        if hi > 1e6 * t:
            raise ValueError(f"no closed-form instability found (density {density})")
    J = brentq(G, lo, hi, xtol=1e-14 * t, rtol=1e-13)
    return J, omega, DQ(J)
