"""Particle–hole bubble of the infinite 3D cubic lattice (Eq. 36, docs/conventions.md),
deterministic, with an error estimate; T = 0 directly, T > 0 as a thermal average of
T = 0 bubbles over the chemical potential (``thermal_rule``).

With f the T = 0 occupation and inversion symmetry ξ_{-k} = ξ_k,

    -Π⁰(Ω, q) = 2 ∫_k f(ξ_k) [1 - f(ξ_{k+q})] Δ / (Ω² + Δ²),   Δ = ξ_{k+q} - ξ_k >= 0,

an integral over the Fermi sea only, with a non-negative integrand and no principal
value.  For fixed (k_x, k_y) the occupied k_z form the arc cos k_z >= a_1 and the
occupied k_z + q_z the arc cos(k_z + q_z) >= a_2 (a = -μ/2t - cos k_x - cos k_y and its
shifted partner), so the k_z integral runs exactly over the arcs of "k in, k+q out",
with Gauss nodes on each piece.  The k_y integral (for each k_x node) is split where a
column's arc appears or fills the circle (cos k_y = -μ/2t - cos k_x ∓ 1, and the same
for k + q) and where the two arcs swap order for q along an axis; the k_x integral is
split where that structure changes (cos k_x ∈ {m - 2, m, m + 2}, m = -μ/2t, and the
q-shifted points).  Each piece uses x = lo + (hi - lo)(1 - cos θ)/2 with Gauss nodes in
θ, which removes the square-root behaviour at the ends.  For a general q an end of the
k arc and an end of the k + q arc cross at some k_y (a piece of the column appears or
vanishes there; at Ω = 0 the column integral also has a log singularity, since Δ = 0
where both ends meet): these k_y are found per k_x node (``_crossings``) and split the
k_y integral too.  What remains unsplit are the k_x where such a crossing curve turns
(two crossings merge), which makes the rule converge algebraically, slowest at Ω = 0:
``bubble(..., error=True)`` returns |result(n_k) - result(2 n_k)| as the error estimate.

μ(n) of the infinite lattice comes from the same arcs and rule (``chemical_potential``).

T > 0: Π⁰ and n are linear in the occupation function, and f_T(ε - μ) is the average
of θ(μ' - ε) over μ' with weight -f_T'(μ' - μ); so Π⁰_T(Ω, q; μ) is the same average of
Π⁰_0(Ω, q; μ') (Maldague), computed with Gauss nodes in u = tanh((μ' - μ)/2T).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from simglass.jit import njit
from scipy.optimize import brentq

__all__ = ["bubble", "chemical_potential"]

_TWO_PI3 = (2 * np.pi) ** 3


def _check(density, t):
    if not (np.isfinite(density) and 0 < density < 1):
        raise ValueError(f"density must lie in (0, 1), got {density!r}")
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"t must be > 0, got {t!r}")


@njit(cache=True)
def _filling_nb(m, fx, gx):
    """∫ dk_x dk_y 2 z(k_x, k_y), z = arccos(m - cos k_x - cos k_y) the half length of the
    occupied k_z arc, with the same split and cos-mapped nodes as the bubble."""
    bx = np.empty(10)
    by = np.empty(12)
    nb = 0
    bx[nb] = -np.pi
    nb += 1
    bx[nb] = np.pi
    nb += 1
    for r in (m - 2.0, m, m + 2.0):
        if -1.0 < r < 1.0:
            b = np.arccos(r)
            bx[nb] = b
            bx[nb + 1] = -b
            nb += 2
    px = np.sort(bx[:nb])
    dens = 0.0
    for sx in range(nb - 1):
        lox, hix = px[sx], px[sx + 1]
        if hix - lox <= 1e-15 or np.cos(0.5 * (lox + hix)) < m - 2.0:
            continue
        for ix in range(fx.size):
            kx = lox + (hix - lox) * fx[ix]
            wx = (hix - lox) * gx[ix]
            n = 0
            by[n] = -np.pi
            n += 1
            by[n] = np.pi
            n += 1
            n = _breaks(np.cos(kx), 0.0, m, by, n)
            py = np.sort(by[:n])
            for sy in range(n - 1):
                loy, hiy = py[sy], py[sy + 1]
                if hiy - loy <= 1e-15:
                    continue
                for iy in range(fx.size):
                    ky = loy + (hiy - loy) * fx[iy]
                    wy = (hiy - loy) * gx[iy]
                    a = m - np.cos(kx) - np.cos(ky)
                    if a >= 1.0:
                        continue
                    z = np.pi if a <= -1.0 else np.arccos(a)
                    dens += wx * wy * 2.0 * z
    return dens


def _filling(mu, t, n=48):
    """Density of the infinite lattice at μ (T = 0)."""
    return float(_filling_nb(-mu / (2 * t), *_mapped_nodes(n)) / _TWO_PI3)


def thermal_rule(mu, T, t, n_T=16):
    """Nodes μ' and weights for ∫ dμ' [-∂f_T(μ' - μ)/∂μ'] F(μ') over the band [-6t, 6t]
    of a function F of the chemical potential, and the weight above the band.

    Because Π⁰ and n are linear in the occupation function and f_T(ε - μ) =
    ∫ dμ' [-f_T'(μ' - μ)] θ(μ' - ε), the T > 0 bubble and filling are these averages of
    their T = 0 values (Maldague's identity).  In u = tanh((μ' - μ)/2T) the kernel is the
    flat weight du/2; u is split at the band edges and at the van Hove energies ±2t
    (kinks of the T = 0 functions of μ') with ``n_T`` cos-mapped Gauss nodes per piece."""
    fr, fw = _mapped_nodes(n_T)
    edges = np.tanh((np.array([-6.0, -2.0, 2.0, 6.0]) * t - mu) / (2 * T))
    nodes, weights = [np.zeros(0)], [np.zeros(0)]
    for lo, hi in zip(edges[:-1], edges[1:]):
        if hi - lo <= 1e-15:
            continue
        u = lo + (hi - lo) * fr
        keep = np.abs(u) < 1.0
        nodes.append(mu + 2 * T * np.arctanh(u[keep]))
        weights.append(((hi - lo) * fw / 2)[keep])  # the kernel du/2
    return np.concatenate(nodes), np.concatenate(weights), (1 - edges[-1]) / 2


def _filling_T(mu, t, T, n=48, n_T=16):
    if T == 0:
        return _filling(mu, t, n)
    mus, w, above = thermal_rule(mu, T, t, n_T)
    return float(sum(wi * _filling(m, t, n) for m, wi in zip(mus, w)) + above)


def chemical_potential(density, t=1.0, n=96, T=0.0, n_T=16):
    """μ of the infinite cubic lattice at filling ``density`` and temperature T (T > 0:
    the thermal average of ``thermal_rule`` over T = 0 fillings)."""
    _check(density, t)
    _check_T(T)
    if abs(density - 0.5) < 1e-15:
        return 0.0
    return brentq(lambda mu: _filling_T(mu, t, T, n, n_T) - density, -6 * t - 40 * T, 6 * t + 40 * T,
                  xtol=1e-15)


def _check_T(T):
    if not (np.isfinite(T) and T >= 0):
        raise ValueError(f"T must be >= 0, got {T!r}")


@njit(cache=True)
def _column(cx, cxq, ky, qy, qz, omega, m, t, fz, gz, w2, out, p):
    """Add w2 * ∫ dk_z over {k occupied, k + q empty} of Δ/(Ω² + Δ²) to out[Ω] for the
    column (k_x, k_y) (cx, cxq = cos k_x, cos(k_x + q_x)), with the cos-mapped nodes
    (fz, gz) of ``_mapped_nodes`` on each piece of the arc."""
    cy, cyq = np.cos(ky), np.cos(ky + qy)
    a1 = m - cx - cy
    if a1 >= 1.0:
        return
    a2 = m - cxq - cyq
    if a2 <= -1.0:
        return  # every k + q of this column is occupied
    z1 = np.pi if a1 <= -1.0 else np.arccos(a1)
    npt = 0
    p[npt] = -z1
    npt += 1
    if a2 < 1.0:
        z2 = np.arccos(a2)
        for e in (-qz - z2, -qz + z2):
            e = (e + np.pi) % (2 * np.pi) - np.pi
            if -z1 < e < z1:
                p[npt] = e
                npt += 1
        if npt == 3 and p[1] > p[2]:
            p[1], p[2] = p[2], p[1]
    p[npt] = z1
    npt += 1
    dxy = -2.0 * t * ((cxq - cx) + (cyq - cy))
    sq, hq = 4.0 * t * np.sin(0.5 * qz), 0.5 * qz  # -2t[cos(k_z + q_z) - cos k_z]
    for s in range(npt - 1):
        lo, hi = p[s], p[s + 1]
        if hi - lo <= 0.0:
            continue
        mid = 0.5 * (lo + hi)
        if a2 < 1.0 and np.cos(mid + qz) >= a2:
            continue  # k + q occupied
        for j in range(fz.size):
            d = dxy + sq * np.sin(lo + (hi - lo) * fz[j] + hq)
            w = w2 * (hi - lo) * gz[j]
            for o in range(omega.size):
                W = omega[o]
                den = W * W + d * d
                if den > 0.0:
                    out[o] += w * d / den


@njit(cache=True)
def _breaks(c, shift, m, out, n, cz=1.0):
    """Append ±arccos(r) - shift (wrapped to [-π, π)) for r = m - c - 1, m - c + 1 and
    m - c ± cz in (-1, 1): where a column's arc appears (a = 1), fills the circle (a = -1)
    or, for cz = cos(q_z/2), where arcs of k and k + q of equal length (q_x = q_y = 0)
    stop overlapping (a = cz) or start to overlap across ±π (a = -cz)."""
    for r in (m - c - 1.0, m - c + 1.0, m - c + cz, m - c - cz):
        if -1.0 < r < 1.0:
            b = np.arccos(r)
            for e in (b - shift, -b - shift):
                out[n] = (e + np.pi) % (2 * np.pi) - np.pi
                n += 1
    return n


@njit(cache=True)
def _endpoint_gaps(cx, cxq, ky, q, m, d):
    """d[0:4] = the four gaps (wrapped to [-π, π)) between an end ±z1 of the occupied
    k_z arc of column (k_x, k_y) (cx, cxq = cos k_x, cos(k_x + q_x)) and an end
    -q_z ± z2 of the arc where k + q is occupied; NaN where either arc has no ends
    (a ∉ (-1, 1))."""
    a1 = m - cx - np.cos(ky)
    a2 = m - cxq - np.cos(ky + q[1])
    if not (-1.0 < a1 < 1.0 and -1.0 < a2 < 1.0):
        d[:] = np.nan
        return
    z1, z2 = np.arccos(a1), np.arccos(a2)
    i = 0
    for e1 in (z1, -z1):
        for e2 in (-q[2] - z2, -q[2] + z2):
            d[i] = (e1 - e2 + np.pi) % (2 * np.pi) - np.pi
            i += 1


@njit(cache=True)
def _crossings(cx, cxq, q, m, lo, hi, out, n, n_scan):
    """Append the k_y in (lo, hi) where an end of the k arc crosses an end of the k + q
    arc: there a piece of the column appears or vanishes, so the column integral has a
    kink (at Ω = 0 a jump and a log singularity, since Δ = 0 where both ends meet).
    Sign changes of the gaps on n_scan points, refined by regula falsi (Illinois); a
    jump of a gap across ±π is a wrap, not a crossing."""
    da = np.empty(4)
    db = np.empty(4)
    dm = np.empty(4)
    _endpoint_gaps(cx, cxq, lo, q, m, da)
    y0 = lo
    for s in range(1, n_scan + 1):
        y1 = lo + (hi - lo) * s / n_scan
        _endpoint_gaps(cx, cxq, y1, q, m, db)
        for i in range(4):
            if not (da[i] * db[i] < 0.0 and abs(da[i]) < 0.5 * np.pi and abs(db[i]) < 0.5 * np.pi):
                continue
            a, b, fa, fb = y0, y1, da[i], db[i]
            for _ in range(100):
                c = (a * fb - b * fa) / (fb - fa)
                _endpoint_gaps(cx, cxq, c, q, m, dm)
                if not np.isfinite(dm[i]):
                    b = np.nan
                    break
                if dm[i] * fb < 0.0:
                    a, fa = b, fb
                else:
                    fa *= 0.5
                b, fb = c, dm[i]
                if abs(b - a) < 1e-14 or fb == 0.0:
                    break
            if n < out.size and np.isfinite(b):
                out[n] = b
                n += 1
        y0 = y1
        da[:] = db
    return n


@njit(cache=True)
def _bubble(q, omega, m, t, fx, gx, fz, gz, out):
    """Σ over k_x, k_y of the column integrals: both split at the square-root edges of
    the arcs (computed), each piece mapped by x = lo + (hi - lo)(1 - cos θ)/2 with Gauss
    nodes in θ (removes the square-root endpoint behaviour)."""
    qx, qy, qz = q[0], q[1], q[2]
    pts = np.empty(6)
    bx = np.empty(40)
    by = np.empty(160)
    nb = 0
    bx[nb] = -np.pi
    nb += 1
    bx[nb] = np.pi
    nb += 1
    cz = np.cos(0.5 * qz)
    for r in (m - 2.0, m, m + 2.0, m + cz - 1.0, m + cz + 1.0, m - cz - 1.0, m - cz + 1.0):
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
        for ix in range(fx.size):
            kx = lox + (hix - lox) * fx[ix]
            wx = (hix - lox) * gx[ix]
            cx, cxq = np.cos(kx), np.cos(kx + qx)
            n = 0
            by[n] = -np.pi
            n += 1
            by[n] = np.pi
            n += 1
            n = _breaks(cx, 0.0, m, by, n, cz)
            n = _breaks(cxq, qy, m, by, n, cz)
            for e in (-0.5 * qy, np.pi - 0.5 * qy):
                by[n] = (e + np.pi) % (2 * np.pi) - np.pi
                n += 1
            py = np.sort(by[:n])
            nc = n
            for sy in range(n - 1):
                if py[sy + 1] - py[sy] > 1e-15:
                    nc = _crossings(cx, cxq, q, m, py[sy], py[sy + 1], by, nc, 16)
            if nc > n:
                py = np.sort(by[:nc])
                n = nc
            for sy in range(n - 1):
                loy, hiy = py[sy], py[sy + 1]
                if hiy - loy <= 1e-15:
                    continue
                for iy in range(fx.size):
                    ky = loy + (hiy - loy) * fx[iy]
                    wy = (hiy - loy) * gx[iy]
                    _column(cx, cxq, ky, qy, qz, omega, m, t, fz, gz, wx * wy, out, pts)
    return out


@njit(cache=True, parallel=True)
def _bubble_many(qs, omega, m, t, fx, gx, fz, gz, out):
    for i in prange(qs.shape[0]):
        _bubble(qs[i], omega, m, t, fx, gx, fz, gz, out[i])
    return out


def _mapped_nodes(n):
    """Nodes and weights on [0, 1] of x = (1 - cos θ)/2 with n Gauss nodes in θ ∈ (0, π):
    the piecewise rule used throughout (it crowds the nodes at both ends of a piece and
    removes square-root endpoint behaviour)."""
    x, w = np.polynomial.legendre.leggauss(n)
    th, tw = np.pi / 2 * (x + 1), np.pi / 2 * w
    return np.ascontiguousarray((1 - np.cos(th)) / 2), np.ascontiguousarray(tw * np.sin(th) / 2)


def _bubble_rows(q, omega, mu, t, n_k, n_z):
    """(n_q, n_omega) of -Π⁰, threaded over q."""
    out = np.zeros((q.shape[0], omega.size))
    _bubble_many(np.ascontiguousarray(q), omega, -mu / (2 * t), float(t), *_mapped_nodes(n_k),
                 *_mapped_nodes(n_z), out)
    return 2 * out / _TWO_PI3


def bubble(omega, q, density=0.5, t=1.0, T=0.0, *, mu=None, n_k=16, n_z=12, n_T=16, error=False):
    """Π⁰(Ω, q) (<= 0) of the infinite cubic lattice at temperature T for every Ω in
    ``omega`` and every momentum row of ``q`` ((n_q, 3) or (3,)); returns (len(omega), n_q)
    (and, with ``error=True``, the estimate |result(n_k, n_T) - result(2 n_k, 2 n_T)| of
    the (k_x, k_y) and thermal quadratures, same shape).  T > 0 averages T = 0 bubbles
    over the chemical potential with ``thermal_rule`` (n_T nodes per piece); the
    frequencies are then the bosonic Matsubara ones the caller passes.

    Raises ValueError for momenta q without 3 components per row.
    """
    _check(density, t)
    _check_T(T)
    omega = np.atleast_1d(np.asarray(omega, float))
    q = np.atleast_2d(np.asarray(q, float))
    if q.shape[1] != 3:
        raise ValueError(f"q must have 3 components per row, got shape {q.shape}")
    mu = chemical_potential(density, t, T=T) if mu is None else mu
    # cubic symmetry: |q_a| sorted so that the smallest component lies along k_z, the
    # direction integrated over arcs (the rule is most accurate there)
    q = -np.sort(-np.abs(q), axis=1)

    def rows(nk, nT):
        if T == 0:
            return -_bubble_rows(q, omega, mu, t, nk, n_z).T
        out = np.zeros((q.shape[0], omega.size))
        for m, wi in zip(*thermal_rule(mu, T, t, nT)[:2]):
            out += wi * _bubble_rows(q, omega, m, t, nk, n_z)
        return -out.T
    out = rows(n_k, n_T)
    if not error:
        return out
    fine = rows(2 * n_k, 2 * n_T)
    return fine, np.abs(fine - out)
